"""Small image studies for the web page, thumbnail and WADO-URI tests (and the Orthanc
comparison): real pixel values, windows, rescale, a multi-frame instance."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dicomkit.core._dataset import Dataset
from dicomkit.dictionary import uids

ROOT = "1.2.826.0.1.3680043.10.543.77"


@dataclass
class Study:
    uid: str
    patient: str
    patient_id: str
    date: str
    accession: str
    modality: str
    series: dict[str, list[Dataset]] = field(default_factory=dict)

    @property
    def instances(self) -> list[Dataset]:
        return [ds for group in self.series.values() for ds in group]


def _image(rows: int, columns: int, seed: int, lo: int, hi: int) -> np.ndarray:
    """A gradient with a bright disc and noise: every window shows something different."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:rows, 0:columns]
    img = lo + (hi - lo) * (x + y) / (rows + columns - 2)
    disc = (y - rows / 2 - seed % 5) ** 2 + (x - columns / 3) ** 2 < (min(rows, columns) / 4) ** 2
    img[disc] = hi - (hi - lo) / 4
    img += rng.normal(0, (hi - lo) / 50, img.shape)
    return np.clip(np.rint(img), lo, hi)


def _base(study: Study, series_uid: str, number: int, sop_class: str, inst: int) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = f"{series_uid}.{inst}"
    ds.StudyInstanceUID = study.uid
    ds.SeriesInstanceUID = series_uid
    ds.PatientName = study.patient
    ds.PatientID = study.patient_id
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.StudyDate = study.date
    ds.StudyTime = "101500"
    ds.StudyID = "1"
    ds.AccessionNumber = study.accession
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = f"{study.modality} study"
    ds.Modality = study.modality
    ds.SeriesNumber = str(number)
    ds.SeriesDescription = f"series {number}"
    ds.InstanceNumber = str(inst)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    return ds


def _ct(study: Study, series_uid: str, inst: int) -> Dataset:
    ds = _base(study, series_uid, 1, uids.CTImageStorage, inst)
    ds.Rows, ds.Columns = 48, 64
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleIntercept, ds.RescaleSlope = "-1024", "1"
    ds.WindowCenter, ds.WindowWidth = "40", "400"
    ds.SliceLocation = str(inst * 2.5)
    stored = _image(48, 64, inst, 0, 2048).astype("<i2")
    ds.PixelData = stored.tobytes()
    return ds


def _multiframe(study: Study, series_uid: str, frames: int) -> Dataset:
    ds = _base(study, series_uid, 2, uids.MultiFrameGrayscaleWordSecondaryCaptureImageStorage, 1)
    ds.Rows, ds.Columns, ds.NumberOfFrames = 40, 40, str(frames)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.WindowCenter, ds.WindowWidth = "2048", "4096"
    stack = np.stack([_image(40, 40, 10 + k, 0, 4095) for k in range(frames)]).astype("<u2")
    ds.PixelData = stack.tobytes()
    return ds


def _mr(study: Study, series_uid: str, inst: int) -> Dataset:
    ds = _base(study, series_uid, 1, uids.MRImageStorage, inst)
    ds.Rows, ds.Columns = 32, 32
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = _image(32, 32, 20 + inst, 0, 800).astype("<u2").tobytes()
    return ds


def studies() -> list[Study]:
    """Two patients: a CT study (4 single-frame CT + a 3-frame series) and an MR study."""
    ct = Study(f"{ROOT}.1", "DOE^JANE", "P001", "20240102", "A100", "CT")
    ct.series[f"{ct.uid}.1"] = [_ct(ct, f"{ct.uid}.1", i) for i in range(1, 5)]
    ct.series[f"{ct.uid}.2"] = [_multiframe(ct, f"{ct.uid}.2", 3)]
    mr = Study(f"{ROOT}.2", "ROE^RICHARD", "P002", "20230505", "B200", "MR")
    mr.series[f"{mr.uid}.1"] = [_mr(mr, f"{mr.uid}.1", i) for i in range(1, 3)]
    return [ct, mr]
