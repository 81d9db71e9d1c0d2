#!/usr/bin/env python3
"""Run every benchmark that exists and print one summary table of ratios.

    python benchmarks/run_all.py                        # full corpus (builds it first)
    BENCH_SIZE=quick python benchmarks/run_all.py --repeat 1
    python benchmarks/run_all.py --only files --only net    # some benches only
    python benchmarks/run_all.py --summary results.jsonl    # re-print a saved run

Each bench_*.py runs in its own process (its full table goes to stdout as it runs); benches
built on common.add_common_args get --json and --repeat and appear in the summary, others are
run as they are and only their own output is shown. Results go to bench-results-<time>.jsonl
(under the corpus root) so a run can be summarised again later.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import common
import corpus

ORDER = ["files", "net", "pixels", "archive"]
BASELINES = {"files": "pydicom", "net": "dcmtk", "pixels": "pydicom"}


def benches() -> list[tuple[str, Path]]:
    """The known benches, then any other bench_*.py built on common.add_common_args (so a
    one-off probe script left in the folder is not run)."""
    found = {p.stem.removeprefix("bench_"): p for p in HERE.glob("bench_*.py")}
    names = [n for n in ORDER if n in found] + sorted(
        n for n in found if n not in ORDER and "add_common_args" in found[n].read_text()
    )
    return [(n, found[n]) for n in names]


def summary(results: list[common.Result]) -> str:
    """dicomkit against every other implementation, per workload: speed ratios."""
    head = (
        f"{'bench':7s} {'workload':46s} {'dicomkit':>18s}  "
        "ratios (other time / dicomkit time; >1 = dicomkit faster)"
    )
    lines = [head]
    by_key: dict[tuple[str, str], dict[str, common.Result]] = {}
    for r in results:
        by_key.setdefault((r.bench, r.workload), {})[r.impl] = r
    for (bench, wl), impls in by_key.items():
        dk = impls.get("dicomkit")
        if dk is None:
            if any(i.startswith("dicomkit") for i in impls):
                dk = next(v for k, v in impls.items() if k.startswith("dicomkit"))
            else:
                continue
        if dk.seconds is None:
            lines.append(f"{bench:7s} {wl[:46]:46s} {'-':>18s}  {dk.note}")
            continue
        rate = f"{dk.rate:.1f}/s" if dk.rate and dk.rate >= 2 else f"{dk.seconds:.3f}s"
        if dk.mbps:
            rate += f" {dk.mbps:.0f}MB/s"
        parts = []
        base = BASELINES.get(bench)
        for name in sorted(impls, key=lambda n: (n != base, n)):
            r = impls[name]
            if r is dk or r.seconds is None:
                continue
            s = f"{name} {r.seconds / dk.seconds:.2f}x"
            if dk.rss_mb and r.rss_mb:
                s += f" (RSS {dk.rss_mb:.0f} vs {r.rss_mb:.0f} MB)"
            parts.append(s)
        lines.append(f"{bench:7s} {wl[:46]:46s} {rate:>18s}  " + ", ".join(parts))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--only", action="append", help="bench names to run (files, net, pixels, ...)")
    ap.add_argument("--repeat", type=int, help="passed to benches that take --repeat")
    ap.add_argument("--summary", help="only print the summary of a saved .jsonl")
    args = ap.parse_args(argv)
    if args.summary:
        print(summary(common.load_json(args.summary)))
        return 0
    print(
        f"run_all: {common.load()}; BENCH_SIZE={os.environ.get('BENCH_SIZE', 'full')}", flush=True
    )
    corpus.ensure()
    print(corpus.summary(), flush=True)
    out = corpus.root() / f"bench-results-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
    failed = []
    for name, path in benches():
        if args.only and name not in args.only:
            continue
        src = path.read_text()
        cmd = [sys.executable, str(path)]
        if "add_common_args" in src:
            cmd += ["--json", str(out)]
        if args.repeat and ("--repeat" in src or "add_common_args" in src):
            cmd += ["--repeat", str(args.repeat)]
        print(f"\n##### {name}: {' '.join(cmd[1:])}  [{common.load()}]", flush=True)
        t = time.perf_counter()
        rc = subprocess.call(cmd)
        print(f"##### {name}: exit {rc} after {time.perf_counter() - t:.0f}s", flush=True)
        if rc:
            failed.append(name)
    print(f"\n===== summary ({common.load()}); results in {out}")
    if out.exists():
        print(summary(common.load_json(str(out))))
    if failed:
        print(f"benches that failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
