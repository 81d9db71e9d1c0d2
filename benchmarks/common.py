"""Timing helpers shared by the benchmark scripts.

Every bench records `Result`s (one per workload x implementation) and prints them with
`print_table`; `--json PATH` (see `add_common_args`) appends them as JSON lines so that
`run_all.py` can print one summary. The ratio is a speed ratio against the baseline
implementation (pydicom for files, DCMTK for the network): > 1 means faster than the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    bench: str  # "files", "net", ...
    workload: str  # "a: header+10 attrs (hdr)" ...
    impl: str  # "dicomkit", "pydicom", "dicomsdl", "dcmtk", "pynetdicom"
    seconds: float | None  # median wall time of one repeat (None: not run)
    items: int = 0  # files / messages / associations handled in one repeat
    nbytes: int = 0  # bytes handled in one repeat (for MB/s)
    rss_mb: float | None = None
    note: str = ""
    runs: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        return self.items / self.seconds if self.seconds and self.items else None

    @property
    def mbps(self) -> float | None:
        return self.nbytes / 1e6 / self.seconds if self.seconds and self.nbytes else None


def load() -> str:
    """The 1/5/15 min load average and core count, to print next to every measurement."""
    a, b, c = os.getloadavg()
    return f"load {a:.2f} {b:.2f} {c:.2f} on {os.cpu_count()} cores"


def median_time(
    fn: Callable[[], object], repeat: int = 5, warmup: int = 1
) -> tuple[float, list[float]]:
    """Median wall time of `repeat` calls of fn() after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs), runs


def interleaved(
    fns: dict[str, Callable[[], object]],
    repeat: int = 5,
    warmup: int = 1,
    before: Callable[[], object] | None = None,
) -> dict[str, tuple[float, list[float]]]:
    """Like median_time for several implementations, alternating them in each round so that
    a change in machine load hits all of them alike. ``before``: run (untimed) before each
    timed call, e.g. ``os.sync`` so that no run pays for the previous one's writeback."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    runs: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            if before is not None:
                before()
            t = time.perf_counter()
            fn()
            runs[k].append(time.perf_counter() - t)
    return {k: (statistics.median(v), v) for k, v in runs.items()}


def run_measured(
    cmd: list[str], env: dict | None = None, cwd: str | None = None, timeout: float = 600
) -> tuple[float, float | None, str]:
    """Run a command; return (wall seconds, peak RSS in MB, stdout).

    Peak RSS is the process's VmHWM sampled from /proc while it runs (the last sample before
    it exits). Not wait4()'s ru_maxrss: Linux carries the parent's high-water mark across
    fork+exec into it, so a big benchmark parent would inflate every child's number. A
    Python child should print its own VmHWM at exit for an exact figure (see hwm_self)."""
    t = time.perf_counter()
    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
        p = subprocess.Popen(cmd, stdout=fo, stderr=fe, env=env, cwd=cwd)
        deadline = t + timeout
        peak = None
        while True:
            h = vm_hwm_mb(p.pid)
            if h is not None:
                peak = h
            if p.poll() is not None:
                break
            if time.perf_counter() > deadline:
                p.kill()
                p.wait()
                raise TimeoutError(" ".join(cmd))
            time.sleep(0.005)
        wall = time.perf_counter() - t
        fo.seek(0)
        fe.seek(0)
        out = fo.read().decode(errors="replace")
        err = fe.read().decode(errors="replace")
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}:\n{err[-2000:]}\n{out[-1000:]}")
    return wall, peak, out


def hwm_self() -> float:
    """This process's own peak RSS (VmHWM) in MB."""
    return vm_hwm_mb(os.getpid()) or 0.0


def py_measured(code: str, *args: str, timeout: float = 600) -> tuple[float, float, str]:
    """run_measured on `python -c code args...` (the bench dir on sys.path)."""
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            [str(Path(__file__).parent)] + [p for p in [os.environ.get("PYTHONPATH")] if p]
        ),
    )
    return run_measured([sys.executable, "-c", code, *args], env=env, timeout=timeout)


def vm_hwm_mb(pid: int) -> float | None:
    """Peak RSS (VmHWM) of a running process, in MB; None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def tree_hwm_mb(pid: int) -> float | None:
    """Largest VmHWM among pid and its direct children (a CLI may fork/exec a worker)."""
    vals = [vm_hwm_mb(pid)]
    try:
        for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            vals.append(vm_hwm_mb(int(c)))
    except OSError:
        pass
    vals = [v for v in vals if v is not None]
    return max(vals) if vals else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    """Poll until something accepts on 127.0.0.1:port (bounded; no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listening on port {port} after {timeout}s")


def dir_bytes(paths) -> int:
    return sum(os.path.getsize(p) for p in paths)


def fmt(v: float | None, spec: str = ".1f") -> str:
    return "-" if v is None else format(v, spec)


def print_table(results: list[Result], baseline: str, title: str = "", file=None) -> None:
    """One row per (workload, impl): time, files/s, MB/s, RSS, speed ratio vs baseline."""
    file = file or sys.stdout
    if title:
        print(f"\n== {title} ({load()})", file=file)
    print(
        f"{'workload':44s} {'impl':14s} {'seconds':>9s} {'items/s':>10s} {'MB/s':>8s} "
        f"{'RSS MB':>8s} {'x ' + baseline:>12s}  note",
        file=file,
    )
    base = {r.workload: r for r in results if r.impl == baseline}
    for r in results:
        b = base.get(r.workload)
        ratio = None
        if b and b.seconds and r.seconds:
            ratio = b.seconds / r.seconds
        print(
            f"{r.workload[:44]:44s} {r.impl[:14]:14s} {fmt(r.seconds, '.3f'):>9s} "
            f"{fmt(r.rate, '.1f'):>10s} {fmt(r.mbps):>8s} {fmt(r.rss_mb):>8s} "
            f"{fmt(ratio, '.2f'):>12s}  {r.note}",
            file=file,
        )


def add_common_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument(
        "--repeat",
        type=int,
        default=int(os.environ.get("BENCH_REPEAT", "5")),
        help="timed repeats per workload; the median is reported (default 5)",
    )
    ap.add_argument("--impl", action="append", help="only these implementations (repeatable)")
    ap.add_argument("--only", action="append", help="only workloads whose name starts so")
    ap.add_argument("--json", help="append results as JSON lines to this file")


def wanted(args, impl: str | None = None, workload: str | None = None) -> bool:
    if impl and args.impl and impl not in args.impl:
        return False
    return not (workload and args.only and not any(workload.startswith(o) for o in args.only))


def save_json(results: list[Result], path: str | None) -> None:
    if not path:
        return
    with open(path, "a") as f:
        for r in results:
            d = asdict(r)
            d["load"] = os.getloadavg()
            f.write(json.dumps(d) + "\n")


def load_json(path: str) -> list[Result]:
    out = []
    for line in Path(path).read_text().splitlines():
        d = json.loads(line)
        d.pop("load", None)
        out.append(Result(**d))
    return out
