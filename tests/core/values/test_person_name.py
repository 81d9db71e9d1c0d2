"""PersonName (PS3.5 6.2.1)."""

from __future__ import annotations

from dicomkit.core.values import Charsets, PersonName


def test_components() -> None:
    pn = PersonName("Adams^John Robert Quincy^^Rev.^B.A. M.Div.")
    assert pn == "Adams^John Robert Quincy^^Rev.^B.A. M.Div."
    assert str(pn) == "Adams^John Robert Quincy^^Rev.^B.A. M.Div."
    assert pn.family_name == "Adams"
    assert pn.given_name == "John Robert Quincy"
    assert pn.middle_name == ""
    assert pn.name_prefix == "Rev."
    assert pn.name_suffix == "B.A. M.Div."
    assert pn.family_comma_given() == "Adams, John Robert Quincy"
    assert pn.formatted("{given_name} {family_name}") == "John Robert Quincy Adams"


def test_groups() -> None:
    pn = PersonName("Yamada^Tarou=山田^太郎=やまだ^たろう")
    assert pn.alphabetic == "Yamada^Tarou"
    assert pn.ideographic == "山田^太郎"
    assert pn.phonetic == "やまだ^たろう"
    assert pn.components(1) == ("山田", "太郎", "", "", "")
    assert PersonName("=山田").family_name == ""
    assert PersonName("DOE").groups == ("DOE", "", "")


def test_from_components() -> None:
    pn = PersonName.from_components("Wang", "XiaoDong", ideographic="王^小東")
    assert pn == "Wang^XiaoDong=王^小東"
    assert PersonName.from_components("DOE") == "DOE"
    assert PersonName.from_components("", "", "", "Dr") == "^^^Dr"


def test_str_behaviour() -> None:
    pn = PersonName("DOE^JOHN")
    assert {pn: 1}["DOE^JOHN"] == 1
    assert PersonName(pn) is pn
    assert PersonName(None) == ""
    assert repr(pn) == "PersonName('DOE^JOHN')"
    assert pn.encode("ascii") == b"DOE^JOHN"


def test_encode_per_group() -> None:
    pn = PersonName("Hong^Gildong=洪^吉洞=홍^길동")
    raw = pn.encode(Charsets.from_value(["", "ISO 2022 IR 149"]))
    assert raw.count(b"\x1b$)C") == 4
    assert PersonName("X").encode() == b"X"
