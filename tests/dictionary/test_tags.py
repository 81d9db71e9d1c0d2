"""Generated tag constants (dictionary/tags.py) agree with the data dictionary."""

from __future__ import annotations

from dicomkit.dictionary import keyword_for_tag, tag_for_keyword, tags


def test_every_constant_is_its_keywords_tag() -> None:
    names = [n for n in vars(tags) if n[:1].isupper() and n != "Final"]
    assert len(names) > 5000
    for name in names:
        value = getattr(tags, name)
        assert isinstance(value, int) and 0 <= value <= 0xFFFFFFFF
        assert tag_for_keyword(name) == value, name


def test_well_known_tags() -> None:
    assert tags.PatientName == 0x00100010 and keyword_for_tag(tags.PatientName) == "PatientName"
    assert tags.PixelData == 0x7FE00010
    assert tags.CommandField == 0x00000100  # PS3.7 E.1 command elements are included
    assert tags.OverlayData == 0x60003000  # a repeating group names its first group
