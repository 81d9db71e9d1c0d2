"""The content tree: build, navigate, search, write and read back; constraint checks."""

from __future__ import annotations

import pytest
from allkinds import FINDING, MM, all_kinds

from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence
from dicomkit.errors import InvalidValueError
from dicomkit.sr import Code, ContentItem, check, new_document, read
from dicomkit.sr import _items as items
from dicomkit.sr._constraints import constraints_for
from dicomkit.sr._model import ValueType


def test_code_equality_ignores_meaning() -> None:
    assert Code("121071", "DCM", "Finding") == Code("121071", "DCM", "finding (other text)")
    assert Code("121071", "DCM", "Finding") != Code("121071", "SCT", "Finding")
    long = Code("x" * 20, "99X", "long one")
    assert 0x00080119 in long.to_item() and 0x00080100 not in long.to_item()
    assert Code.from_item(long.to_item()) == long


def test_every_value_type_round_trips(tmp_path) -> None:  # type: ignore[no-untyped-def]
    doc = all_kinds()
    kinds = {item.value_type for _, item in doc.root.walk()} - {""}
    assert kinds == {v.value for v in ValueType} - {"TABLE"}
    path = tmp_path / "all.dcm"
    doc.save(path)
    again = read(path)
    assert again.root == doc.root
    assert again.root.find(FINDING).value == "a <b>mass</b> & more\nsecond line"  # type: ignore[union-attr]
    num = again.root.find("Length")
    assert num is not None and num.value == "12.5" and num.units == MM
    assert again.root.item_at((1, 4, 7)).ref == (1, 4, 1)
    assert again.root.template == ("99TEST", "1")


def test_table_round_trips_through_a_dataset() -> None:
    table = Dataset()
    table.set(0x0040A802, 2, "UL")
    table.set(0x0040A803, 3, "UL")
    root = items.container(Code("1", "99T", "Root"))
    root.add("CONTAINS", ContentItem("TABLE", Code("2", "99T", "Doses"), table))
    ds = Dataset()
    ds.set(0x00080016, "1.2.840.10008.5.1.4.1.1.88.35", "UI")
    from dicomkit.sr._reader import read_content
    from dicomkit.sr._writer import write_content

    write_content(root, ds)
    back = read_content(ds)
    assert back == root
    assert back[0].value.get(0x0040A803) == 3


def test_navigation_by_path_and_search() -> None:
    root = all_kinds().root
    assert root.path("Findings/Length") is root.item_at((1, 4, 2))
    assert [i.value for i in root.paths("Findings/Length")] == ["12.5", None]
    assert root.path("*/Finding") is root.item_at((1, 4, 1))
    assert root.path("Findings/Nothing here") is None
    assert len(list(root.find_all("111030"))) == 3  # by code value
    assert root.find("Findings", recursive=False) is root[3]
    positions = [p for p, _ in root.walk()]
    assert positions[:3] == [(1,), (1, 1), (1, 2)]
    with pytest.raises(InvalidValueError, match="no item 9"):
        root.item_at((1, 9))


def test_a_clean_document_has_no_problems() -> None:
    doc = all_kinds()
    assert check(doc.root, doc.sop_class) == []


def test_iod_constraints_are_enforced() -> None:
    doc = all_kinds()
    # SCOORD3D is not an Enhanced SR value type, by-reference not allowed there either
    enhanced = check(doc.root, "1.2.840.10008.5.1.4.1.1.88.22")
    text = "\n".join(map(str, enhanced))
    assert "value type SCOORD3D is not allowed in the Enhanced SR IOD" in text
    assert "by-reference relationships are not allowed in the Enhanced SR IOD" in text
    basic = "\n".join(map(str, check(doc.root, "1.2.840.10008.5.1.4.1.1.88.11")))
    assert "content item 1.4.2: value type NUM is not allowed" in basic
    # a relationship no IOD allows: a TEXT that CONTAINS something
    doc.root.item_at((1, 4, 1)).add("CONTAINS", items.text(FINDING, "x"))
    problems = check(doc.root, doc.sop_class)
    assert [str(p) for p in problems] == [
        "content item 1.4.1.5: TEXT CONTAINS TEXT is not allowed in the Comprehensive 3D SR IOD"
    ]


def test_generic_rules() -> None:
    root = items.container(Code("1", "99T", "Root"))
    root.add("CONTAINS", ContentItem("NUM", Code("2", "99T", "n"), "3"))
    root.add("CONTAINS", ContentItem.by_reference("INFERRED FROM", (1, 5)))
    root.add("CONTAINS", items.scoord(None, "TRIANGLE", [1, 2]))
    root.add("CONTAINS", ContentItem("TEXT", None, "x"))
    msgs = "\n".join(map(str, check(root, "1.2.840.10008.5.1.4.1.1.88.33")))
    assert "1.1: NUM content item without Measurement Units" in msgs
    assert "1.2: by-reference target 1.5 does not exist" in msgs
    assert "1.3: SCOORD Graphic Type 'TRIANGLE'" in msgs
    assert "1.4: TEXT content item without a Concept Name" in msgs


def test_kos_table() -> None:
    kos = constraints_for("1.2.840.10008.5.1.4.1.1.88.59")
    assert kos is not None and not kos.by_reference
    assert kos.allows("CONTAINER", "CONTAINS", "IMAGE")
    assert not kos.allows("CONTAINER", "CONTAINS", "NUM")


def test_bad_input_is_a_typed_error() -> None:
    ds = Dataset()
    with pytest.raises(InvalidValueError, match="not an SR document"):
        read(ds)
    ds.set(0x0040A040, "CONTAINER", "CS")
    child = Dataset()
    child.set(0x0040A040, "TEXT", "CS")
    ds.set(0x0040A730, Sequence([child]), "SQ")
    with pytest.raises(InvalidValueError, match="no Relationship Type"):
        read(ds)
    with pytest.raises(InvalidValueError, match="needs units"):
        items.num(Code("1", "99T", "n"), 3, None)


def test_repeated_subtrees_read_as_independent_items(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # the reader decodes a repeated encoded subtree once (see reader._Values): the copies it
    # hands out must be equal to what was written and independent of each other
    root = items.container(Code("1", "99T", "Root"))
    for n in range(4):
        num = root.add("CONTAINS", items.num(Code("2", "99T", "n"), n, MM))
        num.add(
            "HAS CONCEPT MOD", items.code(Code("3", "99T", "Derivation"), Code("4", "99T", "Mean"))
        )
        num.add("INFERRED FROM", items.image(None, "1.2.840.10008.5.1.4.1.1.2", "1.2.3.4"))
    doc = new_document(root)
    path = tmp_path / "rep.dcm"
    doc.save(path)
    back = read(path).root
    assert back == root
    back[0][0].value = Code("5", "99T", "Max")
    assert back[1][0].value == Code("4", "99T", "Mean")
    assert back[0][0] is not back[1][0]
    assert back[2][1].reference == back[3][1].reference


def test_extensible_and_template_driven_iods() -> None:
    ext = constraints_for("1.2.840.10008.5.1.4.1.1.88.35")
    assert ext is not None
    assert ext.allows("CONTAINER", "CONTAINS", "TABLE")
    assert ext.allows("IMAGE", "HAS OBS CONTEXT", "IMAGE")  # PS3.3 Table A.35.15-2
    assert not ext.allows("TEXT", "CONTAINS", "TEXT")
    root = items.container(Code("113701", "DCM", "X-Ray Radiation Dose Report"))
    root.add("CONTAINS", items.scoord(Code("111030", "DCM", "Image Region"), "POINT", [1, 2]))
    dose = [str(p) for p in check(root, "1.2.840.10008.5.1.4.1.1.88.67")]
    assert dose == [
        "content item 1.1: value type SCOORD is not allowed in the X-Ray Radiation Dose SR IOD"
    ]


@pytest.mark.parametrize(
    "ts", ["1.2.840.10008.1.2", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"]
)
def test_every_transfer_syntax_reads_the_same_tree(tmp_path, ts) -> None:  # type: ignore[no-untyped-def]
    import dicomkit

    doc = all_kinds()
    path = tmp_path / "ts.dcm"
    dicomkit.write(doc.to_dataset(), path, transfer_syntax=dicomkit.UID(ts))
    assert read(path).root == doc.root


@pytest.mark.parametrize("charset", ["ISO_IR 192", "ISO_IR 100"])
def test_text_in_the_documents_character_set(tmp_path, charset) -> None:  # type: ignore[no-untyped-def]
    root = items.container(Code("1", "99T", "Befund"))
    root.add("CONTAINS", items.text(Code("2", "99T", "Größe"), "Läsion à droite"))
    root.add("HAS OBS CONTEXT", items.pname(Code("3", "99T", "Arzt"), "Müller^Jörg"))
    doc = new_document(root)
    doc.dataset.set(0x00080005, charset, "CS")
    path = tmp_path / "cs.dcm"
    doc.save(path)
    back = read(path).root
    assert back[0].concept is not None and back[0].concept.meaning == "Größe"
    assert back[0].value == "Läsion à droite" and back[1].value == "Müller^Jörg"
