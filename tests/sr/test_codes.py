"""The generated PS3.16 code module is current and well formed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from dicomkit.sr import Code
from dicomkit.sr._codes import CID, DCM, SCT, UCUM

ROOT = Path(__file__).resolve().parents[2]


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "gen_sr_codes", ROOT / "tools" / "gen_sr_codes.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["gen_sr_codes"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_committed_module_is_what_the_generator_makes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    gen = _generator()
    assert gen.main(["--out", str(tmp_path)]) == 0
    made = (tmp_path / "_codes.py").read_text(encoding="utf-8")
    assert made == (ROOT / "src" / "dicomkit" / "sr" / "_codes.py").read_text(encoding="utf-8")
    assert gen.main(["--check"]) == 0


def test_every_row_cites_a_cid_or_tid() -> None:
    rows = _generator().read_rows()
    assert rows and all(r[4].startswith(("CID ", "TID ")) for r in rows)
    # one code value, one meaning within a scheme
    seen: dict[tuple[str, str], str] = {}
    for scheme, value, meaning, _, _ in rows:
        assert seen.setdefault((scheme, value), meaning) == meaning


def test_codes() -> None:
    assert DCM.ImagingMeasurementReport == Code("126000", "DCM", "Imaging Measurement Report")
    assert SCT.FindingSite.value == "363698007"
    assert UCUM.Millimeter.scheme == "UCUM"
    assert DCM.RejectedForQualityReasons in CID[7011]
    assert DCM.OfInterest in CID[7010] and DCM.OfInterest not in CID[7011]
