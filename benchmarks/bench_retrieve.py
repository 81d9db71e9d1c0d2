"""The archive node's retrieve and ingest rows of issue #17, side by side with their peers.

    python benchmarks/bench_retrieve.py [--rows move,ingest,orthanc,move-dk] [--repeat 3]
        [--move 1000] [--ingest 1000] [--senders 10] [--study 100] [--orthanc-senders 4]

Rows (each run starts its peers itself; runs interleaved; medians of --repeat with spread):

- ``move``: C-MOVE of one --move-instance series from `dicomkit serve` and from DCMTK
  `dcmqrscp` to the same DCMTK `storescp` (TCP_NODELAY=1, no fsync), driven by the same
  dicomkit SCU. Wall time from the C-MOVE request to the final response; the serving
  process's CPU time (utime + stime from /proc) beside it.
- ``ingest``: --senders DCMTK `storescu` at once (one study each) into `dicomkit serve`
  (each instance fdatasync'd, its folder entry fsync'd and its rows committed before its
  response, group commit across associations) and into `dcmqrscp` from one sender (it
  answers C000 to concurrent stores; it syncs nothing). Wall time of the slowest sender.
- ``orthanc``: Orthanc 1.10 (Debian, TCP_NODELAY=1): --orthanc-senders `storescu` at once
  into each, and C-MOVE of a --study-instance study from each to `storescp`. The whole
  benchmark then re-executes itself in a loopback-only network namespace (Orthanc listens
  on every interface). Orthanc 1.10 fsyncs its storage area too (SyncStorageArea).

- ``move-dk`` (not run by default): C-MOVE of one --move-instance series from one
  `dicomkit serve` to another as destination (durable: each instance synced and indexed
  before its response), the destination granting an asynchronous operations window of
  --window (`--async-ops`) vs none. Each run stores into a fresh destination archive.
  Wall time as in ``move``; the destination's CPU time beside it.

Server CPU: utime + stime of the serving process (dcmqrscp forks a child per association,
whose time is not counted: its column reads about 0), taken once the server has settled (background work such as the DICOMweb metadata cache included); C-MOVEs are
timed on a settled node.

Ratio: peer time / dicomkit time (> 1: dicomkit faster). Instances are small CT images
(2x2 pixels): per-message costs, not bandwidth.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "archive"))
sys.path.insert(0, str(HERE.parent / "tests" / "web"))

import bench_archive
import common
import orthanc_peer
from archive_helpers import synthetic, write_files

ENV = dict(os.environ, TCP_NODELAY="1")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (and its waited-for children) from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(v) for v in fields[11:15]) / ticks


def settle(proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    """Wait until a server has finished its background work (e.g. the DICOMweb metadata
    `dicomkit serve` makes once an ingest pauses): its CPU time still for 0.5 s."""
    deadline = time.monotonic() + timeout
    last = cpu_seconds(proc.pid)
    still = 0
    while time.monotonic() < deadline and still < 2:
        time.sleep(0.25)
        now = cpu_seconds(proc.pid)
        still = still + 1 if now - last < 0.01 else 0
        last = now


def series(n: int, study: int = 0) -> list[dict[str, object]]:
    """n CT instances of one series in study number ``study``."""
    base = next(r for r in synthetic(8) if r["Modality"] == "CT")
    st = f"{base['StudyInstanceUID']}.{study}"
    se = f"{st}.1"
    return [
        dict(
            base,
            StudyInstanceUID=st,
            SeriesInstanceUID=se,
            SOPInstanceUID=f"{se}.{i + 1}",
            InstanceNumber=str(i + 1),
        )
        for i in range(n)
    ]


def spread(runs: list[float], n: int) -> str:
    rates = sorted(n / r for r in runs)
    return f"{n / statistics.median(runs):7.0f}/s (runs {', '.join(f'{x:.0f}' for x in rates)})"


def report(label: str, n: int, runs: dict[str, list[float]], cpu: dict[str, list[float]]) -> None:
    ours = statistics.median(runs["dicomkit"])
    print(f"{label}:")
    for impl, r in runs.items():
        ratio = "" if impl == "dicomkit" else f"  dicomkit x{statistics.median(r) / ours:.2f}"
        c = cpu.get(impl)
        cs = f"  server CPU {statistics.median(c) * 1000 / n:.3f} ms/inst" if c else ""
        print(f"  {impl:28s} {spread(r, n)}{cs}{ratio}", flush=True)


# -- servers ------------------------------------------------------------------------------


class Server:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, aet: str) -> None:
        self.proc, self.port, self.aet = proc, port, aet

    def stop(self) -> None:
        bench_archive._stop(self.proc)


def start(impl: str, root: Path, dest_port: int | None) -> Server:
    port = common.free_port()
    if impl == "orthanc":
        return _orthanc(root, port, dest_port)
    proc, aet = bench_archive._start_scp(impl, root, port, ENV, dest_port)
    return Server(proc, port, aet)


def _orthanc(root: Path, port: int, dest_port: int | None) -> Server:
    http = common.free_port()
    cfg = orthanc_peer.config(root, http, port)
    conf = json.loads(cfg.read_text())
    conf["Plugins"] = []
    conf["DicomAet"] = "ORTHANC"
    conf["DicomModalities"] = {"BENCH": ["BENCH", "127.0.0.1", 1]}
    if dest_port:
        conf["DicomModalities"]["DEST"] = ["DEST", "127.0.0.1", dest_port]
    cfg.write_text(json.dumps(conf))
    proc = orthanc_peer._start(cfg, http)
    common.wait_port(port, proc=proc)
    return Server(proc, port, "ORTHANC")


def storescp(dest: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = common.free_port()
    dest.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        ["/usr/bin/storescp", "-aet", "DEST", "-od", str(dest), str(port)],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    common.wait_port(port, proc=proc)
    return proc, port


def send(server: Server, folders: list[Path]) -> float:
    """storescu from each folder at once; the wall time until the last one ends."""
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            ["/usr/bin/storescu", "-aec", server.aet, "+sd", "127.0.0.1", str(server.port), str(f)],
            env=ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for f in folders
    ]
    for p in procs:
        _out, err = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(f"storescu -> {server.aet}: {err[-800:]}")
    return time.perf_counter() - t0


def move(server: Server, study: str, n: int) -> tuple[float, float]:
    """C-MOVE of ``study`` to DEST: (wall seconds, serving process CPU seconds)."""
    c0 = cpu_seconds(server.proc.pid)
    dt, done = asyncio.run(bench_archive._move_once(server.port, server.aet, [study]))
    if done != n:
        raise RuntimeError(f"C-MOVE from {server.aet}: {done} of {n} moved")
    return dt, cpu_seconds(server.proc.pid) - c0


# -- rows ---------------------------------------------------------------------------------


def ingest_row(label: str, tmp: Path, impls: dict[str, int], per_sender: int, repeat: int) -> None:
    """``impls``: implementation -> number of senders (each its own study)."""
    most = max(impls.values())
    folders = []
    for k in range(most):
        folder = tmp / f"in-{per_sender}-{k}"
        if not folder.exists():
            write_files(series(per_sender, 100 + k), folder)
        folders.append(folder)
    runs: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    n = per_sender * impls["dicomkit"]
    for attempt in range(repeat):
        for impl, senders in impls.items():
            name = impl.split(" ")[0]
            server = start(name, tmp / f"ingest-{n}-{impl}-{attempt}".replace(" ", "_"), None)
            try:
                os.sync()  # no earlier run's writeback charged to this one's fsyncs
                c0 = cpu_seconds(server.proc.pid)
                dt = send(server, folders[:senders])
                settle(server.proc)  # CPU: what the instances cost, background work included
                # the same count for every column: a column with fewer senders is scaled
                runs.setdefault(impl, []).append(dt * n / (per_sender * senders))
                cpu.setdefault(impl, []).append(
                    (cpu_seconds(server.proc.pid) - c0) * n / (per_sender * senders)
                )
            finally:
                server.stop()
    report(label, n, runs, cpu)


def move_row(label: str, tmp: Path, impls: list[str], n: int, repeat: int) -> None:
    rows = series(n, 7)
    folder = tmp / f"move-src-{n}"
    write_files(rows, folder)
    study = str(rows[0]["StudyInstanceUID"])
    dest_proc, dest_port = storescp(tmp / f"move-dest-{n}")
    servers: dict[str, Server] = {}
    try:
        for impl in impls:
            servers[impl] = start(impl, tmp / f"move-{n}-{impl}", dest_port)
            send(servers[impl], [folder])
            settle(servers[impl].proc)  # moves timed on an idle node
        os.sync()
        runs: dict[str, list[float]] = {impl: [] for impl in impls}
        cpu: dict[str, list[float]] = {impl: [] for impl in impls}
        for _ in range(repeat + 1):  # the first round warms the page cache and is dropped
            for impl, server in servers.items():
                dt, c = move(server, study, n)
                runs[impl].append(dt)
                cpu[impl].append(c)
        for impl in impls:
            runs[impl], cpu[impl] = runs[impl][1:], cpu[impl][1:]
        report(label, n, runs, cpu)
    finally:
        for server in servers.values():
            server.stop()
        bench_archive._stop(dest_proc)


def _serve_dk(root: Path, port: int, *extra: str) -> subprocess.Popen[bytes]:
    """`dicomkit serve ROOT` on 127.0.0.1:PORT without DICOMweb, once it listens."""
    cmd = [sys.executable, "-m", "dicomkit", "serve", str(root), "--port", str(port)]
    cmd += ["--host", "127.0.0.1", "--http-port", "0", *extra]
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    common.wait_port(port, proc=proc)
    return proc


async def _move_to(port: int, study: str, dest: str) -> tuple[float, int]:
    from dicomkit.net import AE
    from dicomkit.services import _query_retrieve as qr

    t0 = time.perf_counter()
    async with AE("BENCH").associate(
        "127.0.0.1", port, ae_title="DICOMKIT", contexts=[qr.MOVE[qr.Model.STUDY_ROOT]]
    ) as assoc:
        res = await qr.move(assoc, qr.identifier("STUDY", {"StudyInstanceUID": study}), dest)
    return time.perf_counter() - t0, res.completed


def move_dk_row(tmp: Path, n: int, window: int, repeat: int) -> None:
    """C-MOVE dicomkit -> dicomkit, the destination granting ``window`` vs no window."""
    rows = series(n, 9)
    folder = tmp / f"move-dk-src-{n}"
    write_files(rows, folder)
    study = str(rows[0]["StudyInstanceUID"])
    dests = {f"window {window}": ("WIN", window), "no window": ("NOWIN", 1)}
    ports = {aet: common.free_port() for aet, _w in dests.values()}
    peers = [a for aet, port in ports.items() for a in ("--peer", f"{aet}=127.0.0.1:{port}")]
    src_port = common.free_port()
    src = _serve_dk(tmp / "move-dk-src", src_port, *peers)
    runs: dict[str, list[float]] = {label: [] for label in dests}
    cpu: dict[str, list[float]] = {label: [] for label in dests}
    try:
        send(Server(src, src_port, "DICOMKIT"), [folder])
        settle(src)
        for attempt in range(repeat + 1):  # the first round warms up and is dropped
            for label, (aet, w) in dests.items():
                root = tmp / f"move-dk-{aet}-{attempt}"
                dest = _serve_dk(root, ports[aet], "--async-ops", str(w))
                try:
                    settle(dest)
                    os.sync()
                    c0 = cpu_seconds(dest.pid)
                    dt, done = asyncio.run(_move_to(src_port, study, aet))
                    if done != n:
                        raise RuntimeError(f"C-MOVE to {aet}: {done} of {n} moved")
                    if attempt:
                        runs[label].append(dt)
                        cpu[label].append(cpu_seconds(dest.pid) - c0)
                finally:
                    bench_archive._stop(dest)
                    subprocess.run(["rm", "-rf", str(root)], check=False)
    finally:
        bench_archive._stop(src)
    first, second = (statistics.median(runs[label]) for label in dests)
    print(f"C-MOVE {n} instances dicomkit serve -> dicomkit serve (durable destination):")
    for label in dests:
        c = statistics.median(cpu[label]) * 1000 / n
        print(
            f"  destination {label:12s} {spread(runs[label], n)}  destination CPU {c:.3f} ms/inst"
        )
    print(f"  window {window} / no window: x{second / first:.2f} inst/s", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="move,ingest,orthanc")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--move", type=int, default=1000, help="instances in the C-MOVE row")
    ap.add_argument("--ingest", type=int, default=1000, help="instances in the ingest row")
    ap.add_argument("--senders", type=int, default=10)
    ap.add_argument("--study", type=int, default=100, help="instances of the Orthanc C-MOVE")
    ap.add_argument("--orthanc-senders", type=int, default=4)
    ap.add_argument("--orthanc-ingest", type=int, default=400)
    ap.add_argument("--window", type=int, default=16, help="the move-dk destination's window")
    args = ap.parse_args()
    rows = set(args.rows.split(","))
    if "orthanc" in rows:
        why = orthanc_peer.available()
        if why is not None:
            print(f"no Orthanc rows: needs {why}")
            rows.discard("orthanc")
        else:
            orthanc_peer.reexec_in_netns()
    print(f"bench_retrieve: repeat={args.repeat}; {common.load()}", flush=True)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        jobs: list[tuple[str, Callable[[], None]]] = []
        if "move" in rows:
            jobs.append(
                (
                    "move",
                    lambda: move_row(
                        f"C-MOVE {args.move} instances -> storescp",
                        tmp,
                        ["dicomkit", "dcmtk"],
                        args.move,
                        args.repeat,
                    ),
                )
            )
        if "ingest" in rows:
            per = args.ingest // args.senders
            jobs.append(
                (
                    "ingest",
                    lambda: ingest_row(
                        f"ingest {per * args.senders} instances, {args.senders} storescu at once "
                        "(dicomkit durable; dcmqrscp no sync, and from one sender: it answers C000 to "
                        "concurrent stores)",
                        tmp,
                        {"dicomkit": args.senders, "dcmtk 1 sender": 1},
                        per,
                        args.repeat,
                    ),
                )
            )
        if "orthanc" in rows:
            per = args.orthanc_ingest // args.orthanc_senders
            k = args.orthanc_senders
            jobs.append(
                (
                    "orthanc ingest",
                    lambda: ingest_row(
                        f"ingest {per * k} instances, {k} storescu at once, vs Orthanc",
                        tmp,
                        {"dicomkit": k, "orthanc": k},
                        per,
                        args.repeat,
                    ),
                )
            )
            jobs.append(
                (
                    "orthanc move",
                    lambda: move_row(
                        f"C-MOVE of a {args.study}-instance study -> storescp, vs Orthanc",
                        tmp,
                        ["dicomkit", "orthanc"],
                        args.study,
                        args.repeat,
                    ),
                )
            )
        if "move-dk" in rows:
            jobs.append(("move-dk", lambda: move_dk_row(tmp, args.move, args.window, args.repeat)))
        for _name, job in jobs:
            job()
    print(f"done; {common.load()}")


if __name__ == "__main__":
    main()
