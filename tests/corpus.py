"""The shared corpus of real DICOM files written by others (../shared/corpus)."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path


def _find_shared() -> Path:
    env = os.environ.get("DICOMKIT_SHARED")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        cand = parent.parent / "shared"
        if (cand / "corpus" / "MANIFEST.csv").exists():
            return cand
        cand = parent / "shared"
        if (cand / "corpus" / "MANIFEST.csv").exists():
            return cand
    return Path("/work/shared")


SHARED = _find_shared()
CORPUS = SHARED / "corpus"
STANDARD = SHARED / "standard"


@dataclass(frozen=True)
class CorpusFile:
    path: Path
    rel: str
    ts: str
    sop: str
    charset: str
    frames: str
    encapsulated: bool
    preamble: bool
    error: str

    @property
    def broken(self) -> bool:
        return bool(self.error)


def manifest() -> list[CorpusFile]:
    rows = []
    with open(CORPUS / "MANIFEST.csv", newline="") as fp:
        for row in csv.DictReader(fp):
            rows.append(
                CorpusFile(
                    path=CORPUS / row["path"],
                    rel=row["path"],
                    ts=row["ts"],
                    sop=row["sop"],
                    charset=row["charset"],
                    frames=row["frames"],
                    encapsulated=row["encapsulated"] == "True",
                    preamble=row["preamble"] == "True",
                    error=row["error"],
                )
            )
    return rows
