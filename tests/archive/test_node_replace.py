"""`dicomkit serve --duplicates replace`, from outside (pynetdicom): the index follows the file.

A corrected instance re-sent under the replace policy changes what C-FIND answers (the patient
name), and an instance re-sent under another study moves there: C-FIND and C-GET of the old
study no longer return it, and those of the new study return the new file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from archive_helpers import serving, synthetic
from peers import free_port
from pnd_peer import find, get, store_rows

pytestmark = pytest.mark.interop
ROWS = synthetic(2)  # two patients, several studies


def test_replace_updates_patient_name_and_moves_instance_between_studies(tmp_path: Path) -> None:
    port = free_port()
    first = ROWS[0]
    other = next(r for r in ROWS if r["StudyInstanceUID"] != first["StudyInstanceUID"])
    with serving(tmp_path / "arch", port, "--duplicates", "replace"):
        assert store_rows(port, ROWS, tmp_path) == [0] * len(ROWS)
        # 1. the same instance, corrected patient name
        renamed = {**first, "PatientName": "CORRECTED^NAME"}
        assert store_rows(port, [renamed], tmp_path) == [0]
        names = {
            str(m.PatientName)
            for m in find(port, "STUDY", StudyInstanceUID=first["StudyInstanceUID"], PatientName="")
        }
        assert names == {"CORRECTED^NAME"}
        # 2. the same SOP instance re-sent under another study (and a new series in it)
        moved = {
            **first,
            "PatientName": other["PatientName"],
            "PatientID": other["PatientID"],
            "StudyInstanceUID": other["StudyInstanceUID"],
            "SeriesInstanceUID": other["StudyInstanceUID"] + ".99",
        }
        assert store_rows(port, [moved], tmp_path) == [0]
        sop = first["SOPInstanceUID"]
        in_old = find(
            port,
            "IMAGE",
            StudyInstanceUID=first["StudyInstanceUID"],
            SeriesInstanceUID="",
            SOPInstanceUID="",
        )
        assert sop not in {m.SOPInstanceUID for m in in_old}
        in_new = find(
            port,
            "IMAGE",
            StudyInstanceUID=other["StudyInstanceUID"],
            SeriesInstanceUID=moved["SeriesInstanceUID"],
            SOPInstanceUID="",
        )
        assert {m.SOPInstanceUID for m in in_new} == {sop}
        # C-GET of the old study: never the moved instance
        statuses, received = get(port, "STUDY", StudyInstanceUID=first["StudyInstanceUID"])
        assert sop not in {ds.SOPInstanceUID for ds in received}
        assert all(ds.StudyInstanceUID == first["StudyInstanceUID"] for ds in received)
        # C-GET of the new study: the moved instance, carrying its new study
        statuses, received = get(port, "STUDY", StudyInstanceUID=other["StudyInstanceUID"])
        assert statuses[-1].Status == 0
        got = {ds.SOPInstanceUID: ds for ds in received}
        assert got[sop].StudyInstanceUID == other["StudyInstanceUID"]
        # the counts the node computes follow (Number of Study Related Instances)
        counts = {
            m.StudyInstanceUID: int(m.NumberOfStudyRelatedInstances)
            for m in find(port, "STUDY", StudyInstanceUID="", NumberOfStudyRelatedInstances="")
        }
        expect: dict[str, int] = {}
        for r in ROWS:
            if r["SOPInstanceUID"] != sop:
                expect[r["StudyInstanceUID"]] = expect.get(r["StudyInstanceUID"], 0) + 1
        expect[other["StudyInstanceUID"]] += 1
        assert counts == {k: v for k, v in expect.items() if v}
