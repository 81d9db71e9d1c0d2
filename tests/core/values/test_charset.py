"""Specific Character Set handling (PS3.5 6.1, Annexes H, I, J, K)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from helpers import pydicom_charset_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dicomkit.core.values._charset import DEFAULT_CHARSETS, Charsets
from dicomkit.core.values._codec import decode_value, encode_value
from dicomkit.errors import CharsetError

# the machine may be busy: no per-example deadline, no too-slow health check
RELAXED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

ESC = b"\x1b"

# The standard's examples. Byte sequences as given in PS3.5 (and in the example files that
# pydicom ships, written from the standard: chrH31, chrH32, chrI2, chrX1, chrX2).
EXAMPLES = [
    # H.3.1: value 1 empty (ISO-IR 6), JIS X 0208 in G0 via ESC $ B, back with ESC ( B
    (
        ["", "ISO 2022 IR 87"],
        b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B",
        "Yamada^Tarou=山田^太郎=やまだ^たろう",
    ),
    # H.3.2: value 1 ISO 2022 IR 13 (JIS X 0201 katakana in G1, romaji in G0)
    (
        ["ISO 2022 IR 13", "ISO 2022 IR 87"],
        (
            b"\xd4\xcf\xc0\xde^\xc0\xdb\xb3=\x1b$B;3ED\x1b(J^\x1b$BB@O:\x1b(J=\x1b$B$d$^$@\x1b(J^"
            b"\x1b$B$?$m$&\x1b(J"
        ),
        "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう",
    ),
    # I.2: Korean, KS X 1001 designated to G1 (ESC $ ) C) again after each delimiter
    (
        ["", "ISO 2022 IR 149"],
        (
            b"Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7=\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6"
            b"\xb5\xbf"
        ),
        "Hong^Gildong=洪^吉洞=홍^길동",
    ),
    # J.3 / J.4 (UTF-8 and GB18030: no code extensions)
    (
        ["ISO_IR 192"],
        b"Wang^XiaoDong=\xe7\x8e\x8b^\xe5\xb0\x8f\xe6\x9d\xb1=",
        "Wang^XiaoDong=王^小東=",
    ),
    (["GB18030"], b"Wang^XiaoDong=\xcd\xf5^\xd0\xa1\xb6\xab=", "Wang^XiaoDong=王^小东="),
    # K.2: GB 2312 designated to G1 by ESC $ ) A (ISO 2022 IR 58)
    (
        ["", "ISO 2022 IR 58"],
        b"Zhang^XiaoDong=\x1b$)A\xd5\xc5^\x1b$)A\xd0\xa1\xb6\xab=",
        "Zhang^XiaoDong=张^小东=",
    ),
]


@pytest.mark.parametrize("terms,raw,text", EXAMPLES)
def test_standard_examples_decode(terms: list[str], raw: bytes, text: str) -> None:
    assert Charsets.from_value(terms).decode(raw, "PN") == text


@pytest.mark.parametrize("terms,raw,text", EXAMPLES)
def test_standard_examples_encode_byte_identical(terms: list[str], raw: bytes, text: str) -> None:
    assert Charsets.from_value(terms).encode(text, "PN") == raw


def test_multiline_text_resets_at_line_end() -> None:
    # J.2-style: several lines of LT; every line starts in the initial state
    cs = Charsets.from_value(["", "ISO 2022 IR 58"])
    text = "第一行文字。\r\n第二行文字。"
    raw = cs.encode(text, "LT")
    assert raw.count(b"\x1b$)A") == 2
    assert cs.decode(raw, "LT") == text
    cs = Charsets.from_value(["", "ISO 2022 IR 87"])
    raw = cs.encode("山田\r\n太郎", "LT")
    assert raw == b"\x1b$B;3ED\x1b(B\r\n\x1b$BB@O:\x1b(B"
    assert cs.decode(raw, "LT") == "山田\r\n太郎"


def test_gb18030_lines() -> None:
    cs = Charsets.from_value("GB18030")
    text = "第一行文字。\r\n第二行文字。"
    assert cs.decode(text.encode("gb18030"), "LT") == text
    assert cs.encode(text, "LT") == text.encode("gb18030")


def test_jis_x_0212() -> None:
    cs = Charsets.from_value(["", "ISO 2022 IR 87", "ISO 2022 IR 159"])
    raw = cs.encode("丂^山", "PN")
    assert raw == b"\x1b$(D0!\x1b(B^\x1b$B;3\x1b(B"
    assert cs.decode(raw, "PN") == "丂^山"


def test_decoder_resets_state_at_delimiters() -> None:
    # G1 designated to Korean, then a "^": the following bytes are in the initial state
    cs = Charsets.from_value(["ISO 2022 IR 100", "ISO 2022 IR 149"])
    raw = b"\x1b$)C\xfb\xf3^\xe9"
    assert cs.decode(raw, "PN") == "洪^é"
    # for LO the "^" is no delimiter, only "\\" is
    assert cs.decode(b"\x1b$)C\xfb\xf3\\\xe9", "LO") == "洪\\é"


def test_latin1_g1_switches() -> None:
    cs = Charsets.from_value(["ISO 2022 IR 100", "ISO 2022 IR 144"])
    raw = cs.encode("Jérôme^Люк", "PN")
    assert raw == b"J\xe9r\xf4me^\x1b-L\xbb\xee\xda\x1b-A"
    assert cs.decode(raw, "PN") == "Jérôme^Люк"


@pytest.mark.parametrize(
    "term,text",
    [
        ("ISO_IR 100", "Buc^Jérôme"),
        ("ISO_IR 101", "Dvořák"),
        ("ISO_IR 109", "Ġgantija"),
        ("ISO_IR 110", "Ķekava"),
        ("ISO_IR 144", "Люкceмбypг"),  # noqa: RUF001 - Latin c, e, y, p mixed in on purpose
        ("ISO_IR 127", "قباني^لنزار"),
        ("ISO_IR 126", "Διονυσιος"),
        ("ISO_IR 138", "שרון^דבורה"),
        ("ISO_IR 148", "Şahin"),
        ("ISO_IR 166", "สมชาย"),
        ("ISO_IR 203", "Œuvre €"),
        ("ISO_IR 13", "ﾔﾏﾀﾞ^ﾀﾛｳ"),
        ("ISO_IR 192", "Wang^XiaoDong=王^小東"),
        ("GB18030", "王^小东"),
        ("GBK", "王^小东"),
    ],
)
def test_single_byte_and_unicode_sets(term: str, text: str) -> None:
    cs = Charsets.from_value(term)
    raw = cs.encode(text, "PN")
    assert cs.decode(raw, "PN") == text


def test_default_is_lenient() -> None:
    assert DEFAULT_CHARSETS.decode(b"J\xe9r\xf4me", "PN") == "Jérôme"
    assert DEFAULT_CHARSETS.encode("Jérôme", "PN") == b"J\xe9r\xf4me"
    with pytest.raises(CharsetError, match="SpecificCharacterSet"):
        DEFAULT_CHARSETS.encode("山田", "PN")


def test_undecodable_bytes_never_raise() -> None:
    assert Charsets.from_value("ISO_IR 192").decode(b"a\xff", "LO") == "a\ufffd"
    cs = Charsets.from_value(["", "ISO 2022 IR 87"])
    assert cs.decode(b"\x1b$B;\x1b(B", "LO")  # odd byte count in JIS mode
    assert cs.decode(b"\x1b%Gabc", "LO") == "\x1b%Gabc"


def test_unknown_term_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        cs = Charsets.from_value("ISO_IR 999")
        assert cs.decode(b"abc\xe9", "LO") == "abcé"
    assert "ISO_IR 999" in caplog.text


def test_misspelled_terms() -> None:
    assert Charsets.from_value("ISO-IR 100").terms == ("ISO_IR 100",)
    assert Charsets.from_value("ISO_IR_192").terms == ("ISO_IR 192",)
    assert Charsets.from_value("iso 2022 ir 87").terms == ("ISO 2022 IR 87",)


def test_utf8_with_others_used_alone() -> None:
    cs = Charsets.from_value(["ISO_IR 192", "ISO 2022 IR 87"])
    assert cs.decode("山田".encode(), "PN") == "山田"


def test_from_value_forms_and_identity() -> None:
    assert Charsets.from_value(None) is DEFAULT_CHARSETS
    assert Charsets.from_value("\\ISO 2022 IR 87") == Charsets.from_value(["", "ISO 2022 IR 87"])
    assert Charsets.from_value("ISO_IR 100") is Charsets.from_value("ISO_IR 100")
    assert Charsets.from_value("").is_default
    assert Charsets.from_value("ISO_IR 100").value == "ISO_IR 100"
    with pytest.raises(AttributeError):
        Charsets.from_value("ISO_IR 100").terms = ()  # type: ignore[misc]


def test_non_charset_vr_stays_ascii() -> None:
    cs = Charsets.from_value(["", "ISO 2022 IR 87"])
    assert decode_value("CS", b"ORIGINAL\\PRIMARY", True, cs) == ["ORIGINAL", "PRIMARY"]


def test_unencodable_raises() -> None:
    with pytest.raises(CharsetError):
        Charsets.from_value("ISO_IR 100").encode("山", "LO")
    with pytest.raises(CharsetError):
        Charsets.from_value(["", "ISO 2022 IR 149"]).encode("ส", "LO")


# -- properties --------------------------------------------------------------------------------
_JAPANESE = st.text(
    alphabet=st.sampled_from(
        list("abcXYZ 019^=") + list("山田太郎やまだたろうカタナ漢字") + list("ﾔﾏﾀﾞﾛｳ")
    ),
    max_size=30,
)
_KOREAN = st.text(
    alphabet=st.sampled_from(list("abc ^=") + list("洪吉洞홍길동김희중")), max_size=30
)
_CHINESE = st.text(alphabet=st.sampled_from(list("abc ^=") + list("张小东第一行文字")), max_size=30)


@given(_JAPANESE)
@RELAXED
def test_japanese_roundtrip(text: str) -> None:
    for terms in (["", "ISO 2022 IR 87", "ISO 2022 IR 13"], ["ISO 2022 IR 13", "ISO 2022 IR 87"]):
        cs = Charsets.from_value(terms)
        assert cs.decode(cs.encode(text, "PN"), "PN") == text


@given(_KOREAN)
@RELAXED
def test_korean_roundtrip(text: str) -> None:
    cs = Charsets.from_value(["", "ISO 2022 IR 149"])
    assert cs.decode(cs.encode(text, "PN"), "PN") == text


@given(_CHINESE)
@RELAXED
def test_chinese_roundtrip(text: str) -> None:
    cs = Charsets.from_value(["", "ISO 2022 IR 58"])
    assert cs.decode(cs.encode(text, "PN"), "PN") == text


@given(st.text(max_size=40).filter(lambda s: "\x1b" not in s))
@RELAXED
def test_utf8_roundtrip(text: str) -> None:
    cs = Charsets.from_value("ISO_IR 192")
    assert cs.decode(cs.encode(text, "UT"), "UT") == text


@given(_JAPANESE)
@RELAXED
def test_japanese_matches_pydicom(text: str) -> None:
    pdc = pytest.importorskip("pydicom.charset")
    terms = ["", "ISO 2022 IR 87", "ISO 2022 IR 13"]
    raw = Charsets.from_value(terms).encode(text, "PN")
    assert pdc.decode_bytes(raw, pdc.convert_encodings(terms), {0x5E, 0x3D}) == text


# -- the example files pydicom ships ------------------------------------------------------------
@pytest.mark.parametrize("path", pydicom_charset_files(), ids=lambda p: p.name)
def test_pydicom_charset_files(path: Path) -> None:
    import pydicom
    from pydicom.multival import MultiValue as PydicomMultiValue

    ds = pydicom.dcmread(path)
    cs = Charsets.from_value(ds.get("SpecificCharacterSet"))
    raw_ds = pydicom.dcmread(path)  # a second copy whose elements stay undecoded
    checked = 0
    for tag in list(raw_ds.keys()):
        raw_elem = raw_ds.get_item(tag)
        if raw_elem is None or raw_elem.VR not in ("PN", "LO", "SH", "LT", "ST"):
            continue
        ours = decode_value(raw_elem.VR, raw_elem.value or b"", True, cs)
        theirs = ds[tag].value
        ours_list = list(ours) if isinstance(ours, list) else [ours]
        theirs_list = list(theirs) if isinstance(theirs, PydicomMultiValue) else [theirs]
        # pydicom drops trailing empty PN groups ("...=") from str(); we keep the text as read
        assert [str(v).rstrip("=") for v in ours_list] == [
            str(v if v is not None else "").rstrip("=") for v in theirs_list
        ], tag
        assert (
            decode_value(raw_elem.VR, encode_value(raw_elem.VR, ours, True, cs), True, cs) == ours
        )
        checked += 1
    assert checked
