#!/usr/bin/env python3
"""Build (once) and locate the standard benchmark workloads.

    python benchmarks/corpus.py            # build whatever is missing, print a summary
    python benchmarks/corpus.py --rebuild  # throw away the stamps and build again

Layout under $BENCH_CORPUS (default: <repo>/bench-data/, gitignored):
  hdr/   2,000 Comprehensive SR files, no pixel data (~5-20 KB)
  ct/    300-file CT series, 512x512 uint16 (~0.5 MB each)
  big/   5 Enhanced CT files, 200 frames each (~100 MB each)
  huge/  huge.dcm: one Enhanced CT file of 2,048 frames (1 GiB of pixel data)

The first three come from /work/shared/tools/make_bench_corpus.py (run as a subprocess, with
pydicom; deterministic). huge.dcm is assembled from raw bytes: big_01's header (per-frame
functional groups extended to the new frame count, written by pydicom) followed by a Pixel
Data element header and big_01's frames repeated, streamed, so building it needs little memory.

Sizes for quick runs: BENCH_SIZE=quick gives 200 SR, 30 CT, 1 big of 20 frames and a 64 MiB
"huge" file (in <root>/quick/ so it never mixes with the full corpus). Each count can also be
set on its own: HDR_N, CT_N, BIG_N, BIG_FRAMES, HUGE_FRAMES. A stamp file per subset records
the parameters it was built with; a subset is rebuilt when they change.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOOL = Path(os.environ.get("BENCH_CORPUS_TOOL", "/work/shared/tools/make_bench_corpus.py"))

FULL = {"HDR_N": 2000, "CT_N": 300, "BIG_N": 5, "BIG_FRAMES": 200, "HUGE_FRAMES": 2048}
QUICK = {"HDR_N": 200, "CT_N": 30, "BIG_N": 1, "BIG_FRAMES": 20, "HUGE_FRAMES": 128}


def quick() -> bool:
    return os.environ.get("BENCH_SIZE", "full").lower() == "quick"


def params() -> dict[str, int]:
    base = QUICK if quick() else FULL
    return {k: int(os.environ.get(k, v)) for k, v in base.items()}


def root() -> Path:
    r = Path(os.environ.get("BENCH_CORPUS", REPO / "bench-data"))
    return r / "quick" if quick() else r


def _stamp(name: str) -> Path:
    return root() / f".{name}.stamp"


def _wanted(name: str) -> dict:
    p = params()
    keys = {
        "hdr": ["HDR_N"],
        "ct": ["CT_N"],
        "big": ["BIG_N", "BIG_FRAMES"],
        "huge": ["BIG_FRAMES", "HUGE_FRAMES"],
    }[name]
    return {k: p[k] for k in keys}


def is_built(name: str) -> bool:
    s = _stamp(name)
    return s.exists() and json.loads(s.read_text()) == _wanted(name)


def files(name: str) -> list[str]:
    """Sorted paths of one subset ("hdr", "ct", "big", "huge"); builds it when missing."""
    ensure([name])
    d = root() / name
    return sorted(str(p) for p in d.iterdir() if p.suffix == ".dcm")


def huge_path() -> str:
    return files("huge")[0]


def _run_tool(name: str) -> None:
    d = root() / name
    if d.exists():
        for p in d.iterdir():
            p.unlink()
    env = dict(os.environ, BENCH_CORPUS=str(root()), **{k: str(v) for k, v in params().items()})
    print(f"[corpus] building {name}/ with {TOOL.name} ...", flush=True)
    subprocess.run([sys.executable, str(TOOL), name], env=env, check=True)


def _build_huge() -> None:
    """Header of big_01 with NumberOfFrames and per-frame groups extended, then raw frames."""
    import pydicom  # corpus building only; never imported by dicomkit
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    src = files("big")[0]
    nfr = params()["HUGE_FRAMES"]
    out = root() / "huge" / "huge.dcm"
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"[corpus] assembling huge/huge.dcm: {nfr} frames from {Path(src).name} ...", flush=True)
    ds = pydicom.dcmread(src, stop_before_pixels=True)
    src_frames = int(ds.NumberOfFrames)
    frame_len = int(ds.Rows) * int(ds.Columns) * 2
    per = ds.PerFrameFunctionalGroupsSequence
    items = []
    for k in range(nfr):
        it = Dataset()
        fc = Dataset()
        fc.StackID = "1"
        fc.InStackPositionNumber = k + 1
        fc.DimensionIndexValues = [1, k + 1]
        fc.FrameAcquisitionDateTime = per[0].FrameContentSequence[0].FrameAcquisitionDateTime
        it.FrameContentSequence = Sequence([fc])
        pp = Dataset()
        pp.ImagePositionPatient = [-180.0, -180.0, -150.0 + k * 0.25]
        it.PlanePositionSequence = Sequence([pp])
        items.append(it)
    ds.PerFrameFunctionalGroupsSequence = Sequence(items)
    ds.NumberOfFrames = nfr
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.10.999.4.1.1"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.10.999.4.0.1"
    tmp = out.with_suffix(".tmp")
    ds.save_as(tmp, enforce_file_format=True)
    # locate the source pixel data: the last element, (7FE0,0010) OW with a 32-bit length
    size = os.path.getsize(src)
    src_pix_off = size - src_frames * frame_len
    with open(src, "rb") as f:
        f.seek(src_pix_off - 12)
        hdr = f.read(12)
    assert hdr[:6] == b"\xe0\x7f\x10\x00OW", hdr
    with open(tmp, "ab") as o, open(src, "rb") as f:
        o.write(b"\xe0\x7f\x10\x00OW\x00\x00" + struct.pack("<I", nfr * frame_len))
        written = 0
        while written < nfr:
            f.seek(src_pix_off)
            for _ in range(min(src_frames, nfr - written)):
                o.write(f.read(frame_len))
                written += 1
    tmp.replace(out)


def ensure(names=("hdr", "ct", "big", "huge")) -> None:
    root().mkdir(parents=True, exist_ok=True)
    for name in names:
        if is_built(name):
            continue
        t = time.perf_counter()
        if name == "huge":
            _build_huge()
        else:
            _run_tool(name)
        _stamp(name).write_text(json.dumps(_wanted(name)))
        print(f"[corpus] {name}/ ready in {time.perf_counter() - t:.0f}s", flush=True)


def summary() -> str:
    lines = [f"corpus: {root()}  params: {params()}"]
    for name in ("hdr", "ct", "big", "huge"):
        d = root() / name
        if not is_built(name):
            lines.append(f"  {name:5s} (not built)")
            continue
        fs = [p for p in d.iterdir() if p.suffix == ".dcm"]
        tot = sum(p.stat().st_size for p in fs)
        lines.append(f"  {name:5s} {len(fs):5d} files  {tot / 1e6:9.1f} MB")
    return "\n".join(lines)


if __name__ == "__main__":
    if "--rebuild" in sys.argv:
        for n in ("hdr", "ct", "big", "huge"):
            _stamp(n).unlink(missing_ok=True)
    wanted = [a for a in sys.argv[1:] if not a.startswith("-")] or ["hdr", "ct", "big", "huge"]
    ensure(wanted)
    print(summary())
