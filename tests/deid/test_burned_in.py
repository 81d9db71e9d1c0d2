"""De-identification warns about Burned In Annotation and takes the CLI's option names."""

from __future__ import annotations

import logging

import pytest

import dicomkit
from dicomkit.deid._engine import deidentify


def _image(burned_in: str | None) -> dicomkit.Dataset:
    ds = dicomkit.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.2.1125.9"
    ds.PatientName = "SECRET^NAME"
    ds.PatientID = "ID-1"
    ds.Rows = ds.Columns = 2
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.SamplesPerPixel = 1
    ds.PixelRepresentation = 0
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = b"\x00\x01\x02\x03"
    if burned_in is not None:
        ds.BurnedInAnnotation = burned_in
    return ds


@pytest.mark.parametrize(("value", "warned"), [("YES", True), ("NO", False), (None, False)])
def test_burned_in_annotation_warning(
    value: str | None, warned: bool, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="dicomkit.deid"):
        deidentify(_image(value))
    hits = [r for r in caplog.records if "Burned In Annotation YES" in r.getMessage()]
    assert bool(hits) is warned


def test_cli_option_names_in_the_api() -> None:
    out = deidentify(
        _image("NO"),
        options=["retain-uids", "clean-descriptors"],
        patient_id="SUBJ-01",
        patient_name="SUBJECT^ONE",
        salt="k",
    )
    assert out.PatientID == "SUBJ-01" and str(out.PatientName) == "SUBJECT^ONE"
    assert out.SOPInstanceUID == "1.2.826.0.1.3680043.2.1125.9"  # retain-uids
