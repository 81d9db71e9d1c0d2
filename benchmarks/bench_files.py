#!/usr/bin/env python3
"""File reading/writing speed: dicomkit vs pydicom (and dicomsdl when installed). Issue #2.

    python benchmarks/bench_files.py                  # full corpus, 3 repeats, all workloads
    BENCH_SIZE=quick python benchmarks/bench_files.py --repeat 1
    python benchmarks/bench_files.py --impl dicomkit --impl pydicom --only a --only e

Workloads (each timed over a whole directory; median of --repeat runs, the implementations
alternating within each round so load changes hit all alike):
  a  open without pixel data (stop_before_pixels) and read 10 common attributes
  b  full read (and touch the Pixel Data value)
  c  walk: decode every value, recursing into every sequence item
  d  write the CT series: the 300 data sets are read once beforehand (outside the timing) and
     each run writes all of them, into a new folder (new files) and over the previous run's
     files; then read+write, where each run reads each file again and writes it out
  e  header (stop_before_pixels) of the 100 MB and the 1 GiB multi-frame file, in a fresh
     subprocess: time and peak RSS (should stay ~constant with file size); also the peak RSS
     of a full read of the 1 GiB file
  h  issue #17's header-parse row: header + 10 attributes of the 300-file CT series, in
     process; dicomkit with its C element scan, dicomkit pure Python (DICOMKIT_PURE_PYTHON's
     path), dicomsdl and pydicom; 3 runs (--repeat) of best-of-5 passes, CPU time
     (process_time) and wall time, each run's files/s and the spread, ratios vs dicomsdl and
     pydicom:  python benchmarks/bench_files.py --only h

dicomkit-py is dicomkit with the C element scan switched off (the same process, alternating).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
import corpus
from common import Result

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
BASELINE = "pydicom"


# --- adapters: header(path), full(path), walk(path), rewrite(src, dst) --------------------
class PydicomImpl:
    name = "pydicom"

    def __init__(self):
        import pydicom

        self.m = pydicom

    def header(self, p):
        ds = self.m.dcmread(p, stop_before_pixels=True)
        return [ds.get(k) for k in ATTRS]

    def full(self, p):
        ds = self.m.dcmread(p)
        v = ds.get("PixelData")
        return len(v) if v is not None else 0

    def walk(self, p, stop_before_pixels=False):
        def rec(ds):
            n = 0
            for el in ds:
                v = el.value
                n += 1
                if el.VR == "SQ":
                    for item in v:
                        n += rec(item)
            return n

        return rec(self.m.dcmread(p, stop_before_pixels=stop_before_pixels))

    def rewrite(self, src, dst):
        self.m.dcmread(src).save_as(dst)

    def load(self, p):
        return self.m.dcmread(p)

    def save(self, ds, dst):
        ds.save_as(dst)


class DicomsdlImpl:
    name = "dicomsdl"

    def __init__(self):
        import dicomsdl

        self.m = dicomsdl
        self.SQ = dicomsdl.VR.SQ

    def header(self, p):
        ds = self.m.open(p, 0x7FDFFFFF)  # load_until: stop before (7FE0,0010)
        return [getattr(ds, k) for k in ATTRS]

    def full(self, p):
        ds = self.m.open(p)
        v = ds.PixelData
        return len(v) if v is not None else 0

    def walk(self, p, stop_before_pixels=False):
        SQ = self.SQ

        def rec(ds):
            n = 0
            for el in ds:
                n += 1
                if el.vr() == SQ:
                    for item in el.toSequence():
                        n += rec(item)
                else:
                    el.value()
            return n

        return rec(self.m.open(p, 0x7FDFFFFF) if stop_before_pixels else self.m.open(p))

    def rewrite(self, src, dst):
        self.m.open(src).save(dst)

    def load(self, p):
        return self.m.open(p)

    def save(self, ds, dst):
        ds.save(dst)


class DicomkitImpl:
    name = "dicomkit"
    pure = False  # the C element scan on (when built); DicomkitPureImpl: off

    def __init__(self):
        import dicomkit
        from dicomkit.io import _decoder

        if not hasattr(dicomkit, "read") or not hasattr(dicomkit, "write"):
            raise ImportError("dicomkit.read/write not exported yet (src/dicomkit/__init__.py)")
        self.m = dicomkit
        self.dec = _decoder
        self.ext = None if self.pure else _decoder._load_extension()
        if not self.pure and self.ext is None:
            raise ImportError(
                "the C element scan is not built (or DICOMKIT_PURE_PYTHON is set): "
                "python setup.py build_ext --inplace; dicomkit-py measures the Python loops"
            )

    def header(self, p):
        self.dec._EXT = self.ext  # one attribute store per file: with or without the C scan
        ds = self.m.read(p, stop_before_pixels=True)
        return [ds.get(k) for k in ATTRS]

    def full(self, p):
        self.dec._EXT = self.ext
        ds = self.m.read(p)
        v = ds.get("PixelData")
        return len(v) if v is not None else 0

    def walk(self, p, stop_before_pixels=False):
        self.dec._EXT = self.ext

        def rec(ds):  # a Dataset is a Mapping[int, DataElement]: walk its values()
            n = 0
            for el in ds.values():
                v = el.value
                n += 1
                if el.vr == "SQ" and v:
                    for item in v:
                        n += rec(item)
            return n

        return rec(self.m.read(p, stop_before_pixels=stop_before_pixels))

    def rewrite(self, src, dst):
        self.dec._EXT = self.ext
        self.m.write(self.m.read(src), dst)

    def load(self, p):
        self.dec._EXT = self.ext
        return self.m.read(p)

    def save(self, ds, dst):
        self.m.write(ds, dst)


class DicomkitPureImpl(DicomkitImpl):
    name = "dicomkit-py"
    pure = True


IMPLS = {
    "dicomkit": DicomkitImpl,
    "dicomkit-py": DicomkitPureImpl,
    "pydicom": PydicomImpl,
    "dicomsdl": DicomsdlImpl,
}


# --- (h): issue #17's header-parse row --------------------------------------------------------
def header_row(impls, paths, runs, passes=5):
    """Each run: every impl in turn (alternating, so load changes hit all alike), best of
    ``passes`` passes over ``paths``, CPU (process_time) and wall (perf_counter) files/s."""
    for impl in impls.values():  # warm-up: page cache, lazy imports, dictionary caches
        for p in paths:
            impl.header(p)
    rates = {n: {"cpu": [], "wall": []} for n in impls}
    for _ in range(runs):
        best = {n: [float("inf"), float("inf")] for n in impls}
        for _ in range(passes):
            for n, impl in impls.items():
                f = impl.header
                c, w = time.process_time(), time.perf_counter()
                for p in paths:
                    f(p)
                c, w = time.process_time() - c, time.perf_counter() - w
                best[n] = [min(best[n][0], c), min(best[n][1], w)]
        for n in impls:
            rates[n]["cpu"].append(len(paths) / best[n][0])
            rates[n]["wall"].append(len(paths) / best[n][1])
    return rates


def print_header_row(rates, nfiles):
    med = {n: {k: statistics.median(v) for k, v in r.items()} for n, r in rates.items()}
    print(
        f"\n== h: header + 10 attributes, {nfiles} CT files, in process "
        f"(files/s; best of 5 passes per run; median of {len(next(iter(rates.values()))['cpu'])}"
        f" runs [min-max]; {common.load()})"
    )
    peers = [p for p in ("dicomsdl", "pydicom") if p in rates]
    head = f"{'impl':12s} {'CPU files/s':>12s} {'CPU runs':>24s} {'wall files/s':>13s} "
    head += f"{'wall runs':>24s} " + " ".join(f"{'x ' + p + ' cpu/wall':>21s}" for p in peers)
    print(head)
    for n, r in rates.items():
        cells = [f"{n:12s}"]
        for k in ("cpu", "wall"):
            runs = " ".join(f"{v:,.0f}" for v in r[k])
            cells.append(f"{med[n][k]:>12,.0f} {'[' + runs + ']':>24s}")
        for p in peers:
            # ratio per run (the same round), then the median and the spread of those
            rc = [a / b for a, b in zip(r["cpu"], rates[p]["cpu"], strict=True)]
            rw = [a / b for a, b in zip(r["wall"], rates[p]["wall"], strict=True)]
            cells.append(
                f"{statistics.median(rc):5.2f} ({min(rc):.2f}-{max(rc):.2f})/"
                f"{statistics.median(rw):.2f}".rjust(21)
            )
        print(" ".join(cells))


def load_impls(args) -> tuple[dict, list[str]]:
    impls, missing = {}, []
    for name, cls in IMPLS.items():
        if not common.wanted(args, impl=name):
            continue
        try:
            impls[name] = cls()
        except Exception as e:  # noqa: BLE001 - report, keep benchmarking the others
            missing.append(f"{name}: not available ({type(e).__name__}: {e})")
    return impls, missing


def dir_workload(label, impls, op, paths, repeat, nbytes, results, warmup=1):
    """Time op over all paths for each impl; an impl that raises is reported, not timed."""
    fns, notes = {}, {}
    for name, impl in impls.items():
        f = getattr(impl, op)
        try:
            f(paths[0])  # smoke test: one file
        except Exception as e:  # noqa: BLE001
            notes[name] = f"error: {type(e).__name__}: {str(e)[:60]}"
            continue
        fns[name] = lambda f=f: [f(p) for p in paths]
    timed = common.interleaved(fns, repeat=repeat, warmup=warmup) if fns else {}
    for name in impls:
        if name in timed:
            t, runs = timed[name]
            results.append(Result("files", label, name, t, len(paths), nbytes, runs=runs))
        else:
            results.append(Result("files", label, name, None, note=notes[name]))
    print(f"  done: {label}  [{common.load()}]", flush=True)


def _settle(tmp: Path) -> None:
    """Between timed write runs: drop the folders of earlier "new files" runs, then sync."""
    for run_dir in tmp.glob("*/run*"):
        shutil.rmtree(run_dir, ignore_errors=True)
    os.sync()


def write_workload(label, impls, paths, repeat, nbytes, results, fresh=False, preload=False):
    """Write the CT series, each run into a new folder (``fresh``: new files) or over the
    previous run's files. ``preload``: the data sets are read once, before timing, with the
    pixel data in memory for every library (pydicom and dicomsdl read it eagerly; dicomkit's
    value is touched), and each run only writes them -- the issue's "writing the CT series";
    otherwise each run reads every file again and writes it out."""
    tmp = Path(tempfile.mkdtemp(prefix="dicomkit-bench-"))
    names = [Path(p).name for p in paths]
    try:
        fns, notes = {}, {}
        for name, impl in impls.items():
            out = tmp / name
            out.mkdir()
            try:
                if preload:
                    sources = [impl.load(p) for p in paths]
                    if name == "dicomkit":
                        for ds in sources:
                            ds.get("PixelData")
                    one = impl.save
                else:
                    sources, one = paths, impl.rewrite
                one(sources[0], str(out / "probe.dcm"))
            except Exception as e:  # noqa: BLE001
                notes[name] = f"error: {type(e).__name__}: {str(e)[:60]}"
                continue
            if fresh:

                def run(one=one, out=out, sources=sources, n=itertools.count(1)):  # noqa: B008 - one counter per closure
                    sub = out / f"run{next(n)}"
                    sub.mkdir()
                    for src, nm in zip(sources, names, strict=True):
                        one(src, str(sub / nm))

                fns[name] = run
            else:
                dsts = [str(out / nm) for nm in names]
                fns[name] = lambda one=one, sources=sources, dsts=dsts: [
                    one(src, d) for src, d in zip(sources, dsts, strict=True)
                ]
        # every run starts with no dirty pages queued and no earlier run's files piling up
        # in the page cache (untimed): each library pays for its own writing only
        timed = common.interleaved(fns, repeat=repeat, before=lambda: _settle(tmp)) if fns else {}
        for name in impls:
            if name in timed:
                t, runs = timed[name]
                results.append(
                    Result(
                        "files",
                        label,
                        name,
                        t,
                        len(paths),
                        nbytes if preload else nbytes * 2,
                        runs=runs,
                        note="MB/s counts bytes written"
                        if preload
                        else "MB/s counts bytes read + written",
                    )
                )
            else:
                results.append(Result("files", label, name, None, note=notes[name]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"  done: {label}  [{common.load()}]", flush=True)


# --- (e): one fresh interpreter per measurement ------------------------------------------
SUB = r"""
import json, sys, time
sys.path.insert(0, sys.argv[4])
from bench_files import IMPLS, ATTRS
impl = IMPLS[sys.argv[1]]()
impl.header(sys.argv[5])  # warm-up on a small file: lazy imports and tables load here
def rss():
    for l in open('/proc/self/status'):
        if l.startswith('VmRSS:'): return int(l.split()[1]) / 1024
base = rss()
ts = []
for _ in range(5 if sys.argv[3] == 'header' else 1):  # median of 5 in-process for a header
    t = time.perf_counter()
    impl.header(sys.argv[2]) if sys.argv[3] == 'header' else impl.full(sys.argv[2])
    ts.append(time.perf_counter() - t)
t = sorted(ts)[len(ts) // 2]
for l in open('/proc/self/status'):
    if l.startswith('VmHWM:'): hwm = int(l.split()[1]) / 1024
print(json.dumps({"t": t, "base": base, "hwm": hwm}))
"""


def sub_workload(label, impls, path, mode, repeat, results, args):
    if not common.wanted(args, workload=label):
        return
    here = str(Path(__file__).resolve().parent)
    for name in impls:
        times, rss, base = [], [], 0.0
        try:
            for _ in range(repeat):
                _, _, out = common.py_measured(SUB, name, path, mode, here, corpus.files("hdr")[0])
                d = json.loads(out.strip().splitlines()[-1])
                times.append(d["t"])
                rss.append(d["hwm"])
                base = d["base"]
        except Exception as e:  # noqa: BLE001
            results.append(
                Result(
                    "files",
                    label,
                    name,
                    None,
                    note=f"error: {str(e).strip().splitlines()[-1][:70]}",
                )
            )
            continue
        times.sort()
        results.append(
            Result(
                "files",
                label,
                name,
                times[len(times) // 2],
                1,
                os.path.getsize(path) if mode == "full" else 0,
                rss_mb=max(rss),
                note=f"RSS after import+warm-up {base:.0f} MB",
                runs=times,
            )
        )
    print(f"  done: {label}  [{common.load()}]", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    common.add_common_args(ap)
    ap.set_defaults(repeat=int(os.environ.get("BENCH_REPEAT", "3")))
    args = ap.parse_args(argv)
    impls, missing = load_impls(args)
    for m in missing:
        print("  " + m)
    print(f"bench_files: {', '.join(impls)}; repeat={args.repeat}; {common.load()}")
    print(
        corpus.summary()
        if all(corpus.is_built(n) for n in ("hdr", "ct", "big", "huge"))
        else "building corpus ..."
    )
    results: list[Result] = []
    if args.only and all(o.startswith("h") for o in args.only):
        ct = corpus.files("ct")
        rates = header_row(impls, ct, args.repeat)
        print_header_row(rates, len(ct))
        for n, r in rates.items():
            runs = [len(ct) / v for v in r["cpu"]]
            results.append(
                Result(
                    "files",
                    f"h: header+10 attrs, {len(ct)} CT, CPU best of 5",
                    n,
                    statistics.median(runs),
                    len(ct),
                    runs=runs,
                )
            )
        common.save_json(results, args.json)
        return 0
    hdr, ct = corpus.files("hdr"), corpus.files("ct")
    hb, cb = common.dir_bytes(hdr), common.dir_bytes(ct)
    R = args.repeat
    warm: list[list[str]] = []
    for lab, op, paths, nb in (
        (f"a: header+10 attrs, {len(hdr)} SR (hdr)", "header", hdr, 0),
        (f"a: header+10 attrs, {len(ct)} CT (ct)", "header", ct, 0),
        (f"b: full read, {len(hdr)} SR (hdr)", "full", hdr, hb),
        (f"b: full read, {len(ct)} CT (ct)", "full", ct, cb),
        (f"c: walk all values, {len(hdr)} SR (hdr)", "walk", hdr, hb),
        (f"c: walk all values, {len(ct)} CT (ct)", "walk", ct, cb),
    ):
        if common.wanted(args, workload=lab):
            # the first pass over a directory warms the page cache and lazy imports; the
            # smoke-test call of each op warms the rest
            dir_workload(lab, impls, op, paths, R, nb, results, warmup=0 if paths in warm else 1)
            warm.append(paths)
    lab = f"d: write {len(ct)} CT (ct), new files"
    if common.wanted(args, workload=lab):
        write_workload(lab, impls, ct, R, cb, results, fresh=True, preload=True)
        write_workload(
            f"d: write {len(ct)} CT (ct), overwriting", impls, ct, R, cb, results, preload=True
        )
    lab = f"d: read+write, {len(ct)} CT (ct)"
    if common.wanted(args, workload=lab):
        write_workload(lab, impls, ct, R, cb, results)
        write_workload(
            f"d: read+write new files, {len(ct)} CT (ct)", impls, ct, R, cb, results, fresh=True
        )
    if True:
        big, huge = corpus.files("big")[0], corpus.huge_path()
        gb = os.path.getsize(huge) / 2**30
        hl = f"{gb:.2f} GiB" if gb < 0.9 else "1 GiB"
        sub_workload(
            f"e: header, {os.path.getsize(big) / 1e6:.0f} MB multi-frame",
            impls,
            big,
            "header",
            R,
            results,
            args,
        )
        sub_workload(f"e: header, {hl} multi-frame", impls, huge, "header", R, results, args)
        sub_workload(f"e: full read, {hl} multi-frame", impls, huge, "full", 1, results, args)
        lab = f"e: walk header, {hl} multi-frame"
        if common.wanted(args, workload=lab):
            dir_workload(
                lab, {n: _Bound(i) for n, i in impls.items()}, "walkhdr", [huge], R, 0, results
            )
    for m in missing:
        results.append(Result("files", "(implementation missing)", m.split(":")[0], None, note=m))
    common.print_table(
        results, BASELINE, "bench_files: ratio = pydicom time / impl time (>1: faster than pydicom)"
    )
    common.save_json(results, args.json)
    return 0


class _Bound:
    """Adapter exposing walk(stop_before_pixels=True) as a one-argument op."""

    def __init__(self, impl):
        self.impl = impl

    def walkhdr(self, p):
        return self.impl.walk(p, stop_before_pixels=True)


if __name__ == "__main__":
    sys.exit(main())
