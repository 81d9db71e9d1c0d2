#!/usr/bin/env python3
"""Pixel data, dicomkit side by side with pydicom in one run; prints speed ratios.

    python benchmarks/bench_pixels.py                 # full workloads (bench-data/, gitignored)
    BENCH_SIZE=quick python benchmarks/bench_pixels.py

Workloads (standard files from /work/shared/tools/make_bench_corpus.py via benchmarks/corpus.py):
  a: native 16-bit frames   read + decode each file of the CT series
  b: RLE decode             the CT series RLE-encoded once (by dicomkit, checked against
                            pydicom); decode only, data sets already in memory. dicomkit's numpy
                            PackBits, dicomkit with imagecodecs' C PackBits, and pydicom's
                            pure-Python RLE handler (decoding_plugin="pydicom").
  c: RLE encode             the same frames, dicomkit (numpy) vs pydicom's pure-Python encoder
  d: one frame of a big     frame 100 of a 200-frame Enhanced CT (100 MB), in a fresh process:
     multi-frame file       wall time, peak RSS and peak traced Python/numpy allocations.
                            pydicom: pydicom.pixels.pixel_array(path, index=...) (its own
                            one-frame reader) and dcmread(...).pixel_array (all frames).
No assertions: numbers only.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import common
import corpus
from common import Result

import dicomkit
from dicomkit.dictionary import uids
from dicomkit.pixels import CodecRegistry, pixel_array
from dicomkit.pixels._codecs import decode_rle
from dicomkit.pixels._encode import compress

warnings.simplefilter("ignore")

ONE_FRAME = r"""
import sys, time, tracemalloc
from pathlib import Path
path, impl, index, warm = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[5]
# Imports and dictionary loading happen before the clock starts, for both libraries.
import numpy
if impl == "dicomkit":
    import dicomkit
    from dicomkit.dictionary import tag_for_keyword
    from dicomkit.pixels import frame
    tag_for_keyword("Rows")
    run = lambda p=path, i=index: frame(dicomkit.read(p), i)
elif impl == "pydicom":
    import pydicom
    from pydicom.pixels import pixel_array
    run = lambda p=path, i=index: pixel_array(p, index=i)
else:
    import pydicom
    run = lambda p=path, i=index: pydicom.dcmread(p).pixel_array[i] if i else \
        pydicom.dcmread(p).pixel_array
# Warm the code paths (lazy imports, handler lookup) on a small single-frame file.
run(warm, 0)
def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
base = rss()
if sys.argv[4] == "trace":
    tracemalloc.start()
    arr = run()
    print(tracemalloc.get_traced_memory()[1] / 1e6, int(arr.sum()))
else:
    t = time.perf_counter()
    arr = run()
    wall = time.perf_counter() - t
    from common import hwm_self
    print(wall, base, hwm_self(), int(arr.sum()))
"""


def rle_series(paths: list[str]) -> list[str]:
    """The CT files RLE-encoded by dicomkit (built once next to the CT series)."""
    out_dir = corpus.root() / "ct_rle"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for p in paths:
        dst = out_dir / Path(p).name
        if not dst.exists():
            ds = dicomkit.read(p)
            compress(ds, uids.RLELossless)
            tmp = dst.with_suffix(".part")
            dicomkit.write(ds, tmp)
            os.replace(tmp, dst)
        out.append(str(dst))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    common.add_common_args(ap)
    ap.add_argument(
        "--ct",
        type=int,
        default=int(os.environ.get("BENCH_PIXELS_CT", "60")),
        help="CT files used for workloads a-c (default 60)",
    )
    args = ap.parse_args(argv)
    import pydicom
    from pydicom.pixels import pixel_array as pd_pixel_array
    from pydicom.uid import RLELossless

    results: list[Result] = []
    ct = corpus.files("ct")[: args.ct]
    nbytes = common.dir_bytes(ct)

    if common.wanted(args, workload="a"):
        label = f"a: native 16-bit frames ({len(ct)} CT)"
        fns = {
            "dicomkit": lambda: [pixel_array(dicomkit.read(p)) for p in ct],
            "pydicom": lambda: [pydicom.dcmread(p).pixel_array for p in ct],
        }
        for impl, (sec, runs) in common.interleaved(fns, args.repeat).items():
            results.append(Result("pixels", label, impl, sec, len(ct), nbytes, runs=runs))

    if common.wanted(args, workload="b") or common.wanted(args, workload="c"):
        rle_paths = rle_series(ct)
        ours = [dicomkit.read(p) for p in rle_paths]
        theirs = [pydicom.dcmread(p) for p in rle_paths]
        for o, t in zip(ours[:3], theirs[:3], strict=True):  # same pixels before timing anything
            assert np.array_equal(pixel_array(o), pd_pixel_array(t, decoding_plugin="pydicom"))
        numpy_only = CodecRegistry()
        numpy_only.register(
            uids.RLELossless, decode=functools.partial(decode_rle, accelerated=False)
        )
        raw = sum(len(bytes(d[0x7FE00010].raw)) for d in ours)
        if common.wanted(args, workload="b"):
            label = f"b: RLE decode ({len(ours)} CT frames)"
            fns = {
                "pydicom": lambda: [pd_pixel_array(t, decoding_plugin="pydicom") for t in theirs],
                "dicomkit": lambda: [pixel_array(o, registry=numpy_only) for o in ours],
                "dicomkit+C": lambda: [pixel_array(o) for o in ours],
            }
            for impl, (sec, runs) in common.interleaved(fns, args.repeat).items():
                note = {
                    "dicomkit": "numpy PackBits",
                    "dicomkit+C": "imagecodecs PackBits",
                    "pydicom": "pure-Python handler",
                }[impl]
                results.append(
                    Result("pixels", label, impl, sec, len(ours), raw, note=note, runs=runs)
                )
        if common.wanted(args, workload="c"):
            from dicomkit.pixels import _rle as rle

            frames = [pixel_array(o) for o in ours[:10]]

            def pd_encode() -> None:
                for f in frames:
                    d = pydicom.Dataset()
                    d.set_pixel_data(f, "MONOCHROME2", 12)
                    d.compress(RLELossless, encoding_plugin="pydicom")

            label = f"c: RLE encode ({len(frames)} CT frames)"
            fns = {"pydicom": pd_encode, "dicomkit": lambda: [rle.encode_frame(f) for f in frames]}
            for impl, (sec, runs) in common.interleaved(fns, max(1, args.repeat // 2)).items():
                results.append(Result("pixels", label, impl, sec, len(frames), runs=runs))

    if common.wanted(args, workload="d"):
        big = corpus.files("big")[0]
        n = dicomkit.pixels.pixel_info(
            dicomkit.read(big, stop_before_pixels=False)
        ).number_of_frames
        index = min(100, n - 1)
        label = f"d: frame {index} of {n} ({os.path.getsize(big) / 1e6:.0f} MB)"
        ref = None
        for impl in ("pydicom-all", "pydicom", "dicomkit"):
            walls, grown = [], []
            for _ in range(max(1, args.repeat // 2)):
                _, _, out = common.py_measured(ONE_FRAME, big, impl, str(index), "time", ct[0])
                wall, base, hwm, checksum = out.split()
                walls.append(float(wall))
                grown.append(float(hwm) - float(base))
                if ref is None:
                    ref = checksum
                assert checksum == ref, f"{impl} decoded a different frame"
            _, _, out = common.py_measured(ONE_FRAME, big, impl, str(index), "trace", ct[0])
            traced = float(out.split()[0])
            results.append(
                Result(
                    "pixels",
                    label,
                    impl,
                    float(np.median(walls)),
                    1,
                    rss_mb=float(np.median(grown)),
                    note=f"RSS growth; traced peak {traced:.1f} MB",
                    runs=walls,
                )
            )

    common.print_table(
        [r for r in results if r.impl != "pydicom-all"]
        + [r for r in results if r.impl == "pydicom-all"],
        "pydicom",
        "pixel data: dicomkit vs pydicom",
    )
    d_rows = [r for r in results if r.workload.startswith("d:")]
    if d_rows:
        by = {r.impl: r for r in d_rows}
        if "pydicom-all" in by and "dicomkit" in by:
            a, b = by["pydicom-all"], by["dicomkit"]
            print(
                f"\none frame vs pydicom's all-frames pixel_array: "
                f"{a.seconds / b.seconds:.1f}x faster, RSS growth {a.rss_mb:.1f} -> "
                f"{b.rss_mb:.1f} MB"
            )
    common.save_json(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
