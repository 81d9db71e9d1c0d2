"""record_from_dataset reads undecoded ASCII text straight from the raw bytes: it must give
exactly what decoding every value first gives, for every file of the corpus."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import corpus

import dicomkit
from dicomkit.archive._index import record_from_dataset
from dicomkit.errors import DicomError

ROWS = [r for r in corpus.manifest() if not r.broken]


class _ByKeyword:
    """A mapping seen only through ``.get(keyword)``: every value decoded first."""

    def __init__(self, ds: Any) -> None:
        self.ds = ds
        self.file_meta = ds.file_meta
        self.transfer_syntax = ds.transfer_syntax

    def get(self, key: str, default: Any = None) -> Any:
        return self.ds.get(key, default)


@pytest.mark.parametrize("row", ROWS, ids=[r.rel for r in ROWS])
def test_raw_text_path_equals_decoded_path(row: corpus.CorpusFile) -> None:
    try:
        fast = record_from_dataset(dicomkit.read(row.path, stop_before_pixels=True))
    except DicomError as exc:  # e.g. no SOP Instance UID: the decoded path must agree
        with pytest.raises(type(exc)):
            record_from_dataset(_ByKeyword(dicomkit.read(row.path, stop_before_pixels=True)))
        return
    slow = record_from_dataset(_ByKeyword(dicomkit.read(row.path, stop_before_pixels=True)))
    assert fast.columns == slow.columns
    assert fast.extra == slow.extra


def test_padding_multiple_values_and_names() -> None:
    ds = dicomkit.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = "1.2.3.4"
    ds.StudyInstanceUID = "1.2.3"
    ds.SeriesInstanceUID = "1.2.3.5"
    ds.PatientName = "DOE^JOHN^^^"
    ds.InstanceNumber = "007"
    ds.StudyDate = "2020.01.02"
    import io

    buf = io.BytesIO()
    dicomkit.write(ds, buf)
    back = dicomkit.read(buf.getvalue())
    rec = record_from_dataset(back)
    cols = {k: v for level in rec.columns.values() for k, v in level.items()}
    assert cols["patient_name"] == "DOE^JOHN"
    assert cols["instance_number"] == "7"
    assert cols["study_date"] == "20200102"
    assert cols["sop_instance_uid"] == "1.2.3.4"
