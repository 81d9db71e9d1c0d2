"""Perf probe (reader / frame access / RLE): dicomkit vs pydicom, medians, interleaved, ratios.

    python benchmarks/bench_perf_probe.py frame|hdr|ct|rle [repeat]
Ratio = pydicom median / dicomkit median (>1: dicomkit faster).
"""

from __future__ import annotations

import functools
import glob
import os
import statistics
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench-data")
ATTRS = (
    "PatientID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "Modality",
    "StudyDate",
    "InstanceNumber",
    "Rows",
    "Columns",
    "ImagePositionPatient",
)


def interleaved(fns: dict, repeat: int) -> dict:
    times: dict = {k: [] for k in fns}
    for f in fns.values():
        f()  # warm-up
    for _ in range(repeat):
        for k, f in fns.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def report(label: str, med: dict) -> None:
    base = med["pydicom"]
    parts = [f"{k}={v * 1e3:.1f}ms x{base / v:.2f}" for k, v in med.items()]
    print(f"{label}: " + "  ".join(parts), flush=True)


def main() -> None:
    import pydicom

    import dicomkit
    from dicomkit.pixels import frame

    what = sys.argv[1]
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    if what == "frame":
        big = min(glob.glob(os.path.join(ROOT, "big", "*.dcm")))
        from pydicom.pixels import pixel_array

        fns = {
            "pydicom": lambda: pixel_array(big, index=100),
            "dicomkit": lambda: frame(dicomkit.read(big), 100),
        }
        report("frame 100 of big", interleaved(fns, repeat))
    elif what in ("hdr", "ct"):
        paths = sorted(glob.glob(os.path.join(ROOT, what, "*.dcm")))
        n = int(os.environ.get("PROBE_N", "600"))
        paths = paths[:n]

        def pd():
            for p in paths:
                ds = pydicom.dcmread(p, stop_before_pixels=True)
                [ds.get(k) for k in ATTRS]

        def dk():
            for p in paths:
                ds = dicomkit.read(p, stop_before_pixels=True)
                [ds.get(k) for k in ATTRS]

        report(f"header {what} x{len(paths)}", interleaved({"pydicom": pd, "dicomkit": dk}, repeat))
    elif what == "rle":
        from pydicom.pixels import pixel_array as pd_pa

        from dicomkit.pixels import pixel_array
        from dicomkit.pixels._codecs import CodecRegistry, decode_rle

        paths = sorted(glob.glob(os.path.join(ROOT, "ct_rle", "*.dcm")))[:20]
        ours = [dicomkit.read(p) for p in paths]
        theirs = [pydicom.dcmread(p) for p in paths]
        reg = CodecRegistry()
        reg.register("1.2.840.10008.1.2.5", decode=functools.partial(decode_rle, accelerated=False))
        import numpy as np

        for o, t in zip(ours[:3], theirs[:3], strict=True):
            assert np.array_equal(pixel_array(o, registry=reg), pd_pa(t, decoding_plugin="pydicom"))
        fns = {
            "pydicom": lambda: [pd_pa(t, decoding_plugin="pydicom") for t in theirs],
            "dicomkit": lambda: [pixel_array(o, registry=reg) for o in ours],
        }
        report(f"rle pure decode x{len(paths)}", interleaved(fns, repeat))


if __name__ == "__main__":
    main()
