"""Values checked when set (PS3.5 6.2): warn by default, raise when strict, off for speed;
every message names the element."""

from __future__ import annotations

import io
import warnings

import pytest

import dicomkit
from dicomkit.core.values._validate import InvalidValueWarning, Validation, problem
from dicomkit.errors import InvalidValueError


@pytest.mark.parametrize(
    ("vr", "value"),
    [
        ("DA", "20241399"),
        ("DA", "2024-01-01"),
        ("TM", "256100"),
        ("LO", "x" * 65),
        ("SH", "x" * 17),
        ("CS", "lower"),
        ("UI", "1.2.abc"),
        ("UI", "1.02.3"),
        ("US", "abc"),
        ("US", 70000),
        ("SS", -40000),
        ("IS", "1.5"),
        ("DS", "one"),
        ("AS", "12Y"),
        ("PN", "x" * 65),
        ("AE", "A" * 17),
    ],
)
def test_problems_found(vr: str, value: object) -> None:
    assert problem(vr, value)


@pytest.mark.parametrize(
    ("vr", "value"),
    [
        ("DA", "20240229"),
        ("DA", "20240101-20241231"),  # a range, as query keys carry
        ("DA", "-20240101"),
        ("DA", "2024.01.02"),  # ACR-NEMA form, still met
        ("DA", ""),
        ("TM", "1230"),
        ("TM", "123059.123456"),
        ("DT", "20240101120000.5-0500"),
        ("UI", "1.2.840.10008.1.2.1"),
        ("US", 65535),
        ("US", [1, 2]),
        ("CS", "ORIGINAL\\PRIMARY"),
        ("IS", 12),
        ("DS", "1.5e3"),
        ("PN", "DOE^JOHN=" + "x" * 60),
        ("LT", "a\\b" * 100),  # one value: a backslash is text
        ("OB", b"\x00" * 100000),
    ],
)
def test_valid_values_pass(vr: str, value: object) -> None:
    assert problem(vr, value) is None


def test_warn_by_default_and_the_element_is_named() -> None:
    ds = dicomkit.Dataset()
    with pytest.warns(InvalidValueWarning, match=r"\(0008,0020\) StudyDate: DA '20241399'"):
        ds.StudyDate = "20241399"
    assert ds.StudyDate == "20241399"  # kept: a warning only
    with pytest.warns(InvalidValueWarning, match=r"\(0028,0010\) Rows: US 'abc'"):
        ds.Rows = "abc"


def test_raise_when_strict_leaves_the_data_set_alone() -> None:
    ds = dicomkit.Dataset()
    ds.validation = Validation.RAISE
    ds.Rows = 512
    with pytest.raises(InvalidValueError, match=r"\(0028,0010\) Rows: US 70000 is out of range"):
        ds.Rows = 70000
    assert ds.Rows == 512
    with pytest.raises(InvalidValueError, match=r"\(0010,0020\) PatientID: LO"):
        ds.set("PatientID", "x" * 100)
    assert "PatientID" not in ds
    # per call, whatever the data set says
    ds.set("PatientID", "x" * 100, validation="off")
    assert len(ds.PatientID) == 100


def test_off_and_items_follow_their_data_set() -> None:
    ds = dicomkit.Dataset()
    ds.validation = "off"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds.StudyDate = "not a date"
        item = dicomkit.Dataset()
        ds.ReferencedSeriesSequence = [item]
        ds.ReferencedSeriesSequence[0].SeriesInstanceUID = "1.2.abc"


def test_read_with_validation_raise() -> None:
    ds = dicomkit.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.2.1125.8"
    out = io.BytesIO()
    dicomkit.write(ds, out)
    back = dicomkit.read(out.getvalue(), validation="raise")
    with pytest.raises(InvalidValueError, match="SOPInstanceUID"):
        back.SOPInstanceUID = "1.2.abc"


def test_write_error_names_the_element() -> None:
    ds = dicomkit.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.2.1125.8"
    ds.set("Rows", "abc", validation="off")
    with pytest.raises(InvalidValueError, match=r"\(0028,0010\) Rows"):
        dicomkit.write(ds, io.BytesIO())
