"""Shared helpers of the builder tests: small CT-like source slices and the peer checks."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
from peers import missing

from dicomkit.core._dataset import Dataset
from dicomkit.core._uid import generate_uid
from dicomkit.dictionary import uids
from dicomkit.pixels._encode import set_pixels

DCIODVFY = Path("/usr/bin/dciodvfy")
DCMDUMP = Path("/usr/bin/dcmdump")


def ct_slices(n: int = 3, rows: int = 16, cols: int = 12, *, seed: int = 0) -> list[Dataset]:
    """``n`` CT slices of one series, 2.5 mm apart along z, with random pixels."""
    rng = np.random.default_rng(seed)
    study, series, frame_of_ref = (str(generate_uid()) for _ in range(3))
    out = []
    for i in range(n):
        ds = Dataset()
        ds.set("SOPClassUID", uids.CTImageStorage, "UI")
        ds.set("SOPInstanceUID", str(generate_uid()), "UI")
        ds.set("PatientName", "Doe^Jane", "PN")
        ds.set("PatientID", "PID-7", "LO")
        ds.set("PatientBirthDate", "19700101", "DA")
        ds.set("PatientSex", "F", "CS")
        ds.set("StudyInstanceUID", study, "UI")
        ds.set("StudyDate", "20240102", "DA")
        ds.set("StudyTime", "101010", "TM")
        ds.set("AccessionNumber", "ACC1", "SH")
        ds.set("StudyID", "S1", "SH")
        ds.set("ReferringPhysicianName", "", "PN")
        ds.set("SeriesInstanceUID", series, "UI")
        ds.set("Modality", "CT", "CS")
        ds.set("SeriesNumber", 2, "IS")
        ds.set("InstanceNumber", i + 1, "IS")
        ds.set("FrameOfReferenceUID", frame_of_ref, "UI")
        ds.set("PositionReferenceIndicator", "", "LO")
        ds.set("ImagePositionPatient", [-10.0, -20.0, 2.5 * i], "DS")
        ds.set("ImageOrientationPatient", [1.0, 0.0, 0.0, 0.0, 1.0, 0.0], "DS")
        ds.set("PixelSpacing", [0.5, 0.5], "DS")
        ds.set("SliceThickness", 2.5, "DS")
        ds.set("RescaleIntercept", -1024, "DS")
        ds.set("RescaleSlope", 1, "DS")
        ds.set("RescaleType", "HU", "LO")
        ds.set("WindowCenter", 40, "DS")
        ds.set("WindowWidth", 400, "DS")
        set_pixels(ds, rng.integers(0, 2048, (rows, cols)).astype(np.uint16), bits_stored=12)
        out.append(ds)
    return out


def dciodvfy_errors(path: Path) -> list[str]:
    """The ``Error`` lines dciodvfy (dicom3tools) prints for ``path``."""
    if not DCIODVFY.exists():
        missing("dciodvfy (apt-get install dicom3tools)")
    proc = subprocess.run(
        [str(DCIODVFY), str(path)], check=False, capture_output=True, text=True, timeout=120
    )
    return [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith("Error")]


def dcmdump_problems(path: Path) -> list[str]:
    """What DCMTK's dcmdump complains about when reading ``path`` (exit code and E:/W: lines)."""
    if not DCMDUMP.exists():
        missing("DCMTK dcmdump (apt-get install dcmtk)")
    proc = subprocess.run(
        [str(DCMDUMP), "-q", str(path)], check=False, capture_output=True, text=True, timeout=60
    )
    bad = [ln for ln in proc.stderr.splitlines() if ln.startswith(("E:", "W:", "F:"))]
    if proc.returncode:
        bad.append(f"exit {proc.returncode}")
    return bad
