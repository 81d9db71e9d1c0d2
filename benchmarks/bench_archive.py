"""Archive benchmarks (issue #5): ingest, and study-level C-FIND over a 100,000-instance index.

    python benchmarks/bench_archive.py [--instances 100000] [--ingest 300] [--compare 1000]
    BENCH_SIZE=quick python benchmarks/bench_archive.py --repeat 3

dicomkit alone: the index is populated directly (records, no files) in one transaction;
study-level queries then run in process (parse + SQL + responses) and over the network
(a dicomkit SCU -> the archive node's SCP in another process, on 127.0.0.1); "ingest" is the whole durable path per
instance: temporary file -> header read -> fdatasync -> index transaction -> rename -> fsync
directory -> commit (one at a time: no group commit in this figure).

Against peers (--compare N files, one series): /usr/bin/storescu (TCP_NODELAY=1) sends the
same N files, runs interleaved, to
- `dicomkit serve` (each instance's file, folder entry and index rows made durable before
  its response: about 3 fsync/fdatasync calls per instance under strace),
- DCMTK dcmqrscp (stores and indexes too; no fsync or fdatasync at all under strace),
- pynetdicom's own Q/R SCP app, `python -m pynetdicom qrscp` (files plus a SQLite index
  through SQLAlchemy; SQLite's default rollback journal syncs each index commit, about 4
  fdatasync calls per instance, but the files are not synced; needs sqlalchemy, in the bench
  extra): "a pynetdicom Q/R SCP" as issue #5 names it,
- and, as a lower bound for pynetdicom, a bare pynetdicom storage SCP that only writes each
  data set to a file (no fsync, no index).
Then the same dicomkit SCU runs the same study-level C-FINDs against dicomkit and dcmqrscp,
and C-MOVEs every study from each to a DCMTK storescp (pynetdicom's qrscp sits those out: its
study-level C-FIND answers one match per instance, and its C-MOVE moves about 20/s). Ratios: peer time / dicomkit time (> 1:
dicomkit faster).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
import corpus
from common import Result

from dicomkit.archive import Archive, Index, Model, parse_query
from dicomkit.archive._index import InstanceRecord
from dicomkit.archive._results import make_result
from dicomkit.archive._schema import Level, attrs_at

PATIENT, STUDY, SERIES, IMAGE = Level.PATIENT, Level.STUDY, Level.SERIES, Level.IMAGE

ROOT = "1.2.826.0.1.3680043.10.543.9"
NAMES = ["DOE", "SMITH", "JONES", "MÜLLER", "GARCIA", "LEE", "NGUYEN", "BROWN"]
MODS = ["CT", "MR", "US", "CR", "PT"]


def record(p: int, s: int, e: int, i: int) -> InstanceRecord:
    rec = InstanceRecord()
    vals = {
        "PatientName": f"{NAMES[p % len(NAMES)]}^P{p}",
        "PatientID": f"ID{p:06d}",
        "PatientBirthDate": f"19{40 + p % 60:02d}0101",
        "PatientSex": "MF"[p % 2],
        "StudyDate": f"20{10 + (p + s) % 15:02d}{1 + (p * 7 + s) % 12:02d}{1 + p % 28:02d}",
        "StudyTime": f"{(p + s) % 24:02d}{p % 60:02d}00",
        "AccessionNumber": f"A{p}{s}",
        "StudyID": str(s),
        "StudyInstanceUID": f"{ROOT}.{p}.{s}",
        "StudyDescription": ["CHEST", "HEAD", "ABDOMEN"][(p + s) % 3],
        "Modality": MODS[(p + s + e) % len(MODS)],
        "SeriesNumber": str(e + 1),
        "SeriesInstanceUID": f"{ROOT}.{p}.{s}.{e}",
        "InstanceNumber": str(i + 1),
        "SOPInstanceUID": f"{ROOT}.{p}.{s}.{e}.{i}",
        "SOPClassUID": "1.2.840.10008.5.1.4.1.1.2",
    }
    for level in (PATIENT, STUDY, SERIES, IMAGE):
        cols: dict[str, str] = {}
        for a in attrs_at(level):
            if a.computed:
                continue
            v = vals.get(a.keyword, "")
            cols[a.col] = v
            if a.has_ci:
                cols[a.col + "_ci"] = v.upper()
            if a.has_norm:
                cols[a.col + "_n"] = (v.ljust(6, "0") + ".000000") if v else ""
        rec.columns[level] = cols
        rec.extra[level] = {}
    rec.columns[IMAGE]["transfer_syntax"] = "1.2.840.10008.1.2.1"
    return rec


def populate(index: Index, n: int) -> float:
    per_study = 5 * 5
    patients = max(1, n // (2 * per_study))
    start = time.perf_counter()
    count = 0
    with index.db.transaction():
        for p in range(patients):
            for s in range(2):
                for e in range(5):
                    for i in range(5):
                        index.add(record(p, s, e, i), f"x/{p}/{s}/{e}/{i}.dcm", 1000)
                        count += 1
    return count / (time.perf_counter() - start)


QUERIES: dict[str, dict[str, Any]] = {
    "all studies of one patient": {"PatientID": "ID000123"},
    "PatientName=SMITH* (case-folded)": {"PatientName": "smith*"},
    "StudyDate six months": {"StudyDate": "20200101-20200630"},
    "ModalitiesInStudy=PT + date range": {
        "ModalitiesInStudy": "PT",
        "StudyDate": "20230101-20231231",
    },
    "StudyInstanceUID single": {"StudyInstanceUID": f"{ROOT}.1500.1"},
    "AccessionNumber exact": {"AccessionNumber": "A7771"},
}
RETURN = {
    "StudyInstanceUID": "",
    "PatientName": "",
    "PatientID": "",
    "StudyDate": "",
    "ModalitiesInStudy": "",
    "NumberOfStudyRelatedInstances": "",
    "StudyDescription": "",
}


def in_process(index: Index, keys: dict[str, Any]) -> tuple[int, float]:
    start = time.perf_counter()
    query = parse_query({"QueryRetrieveLevel": "STUDY", **RETURN, **keys}, Model.STUDY_ROOT)
    columns, rows, post = index.select(query)
    n = sum(1 for row in rows if make_result(query, columns, row, post) is not None)
    return n, time.perf_counter() - start


def stats(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    return f"median {statistics.median(samples) * 1000:7.2f} ms   p95 {p95 * 1000:7.2f} ms"


def find_scp(port: int, root: Path) -> None:
    """(subprocess) The archive node's Q/R SCP over an index populated directly (no files, so
    no start-up check: it would drop every row), until terminated."""
    from dicomkit.archive._app import ArchiveNode
    from dicomkit.archive._config import NodeConfig

    async def run() -> None:
        arch = Archive(root, check=False)
        node = ArchiveNode(NodeConfig(archive=root, host="127.0.0.1", port=port), archive=arch)
        server = await node.start()
        try:
            await asyncio.Event().wait()
        finally:
            await server.close()
            arch.close()

    asyncio.run(run())


async def _queries(port: int, repeat: int, size: int) -> list[Result]:
    from dicomkit.net import AE
    from dicomkit.services import _query_retrieve as qr

    out: list[Result] = []
    async with AE("BENCH").associate(
        "127.0.0.1", port, ae_title="DICOMKIT", contexts=[qr.FIND[qr.Model.STUDY_ROOT]]
    ) as assoc:
        for label, keys in QUERIES.items():
            times, n = [], 0
            for _ in range(repeat):
                t0 = time.perf_counter()
                n = 0
                async for _ds in qr.find(assoc, qr.identifier("STUDY", {**RETURN, **keys})):
                    n += 1
                times.append(time.perf_counter() - t0)
            print(f"  C-FIND {label:36s} {n:5d} matches  {stats(times)}")
            out.append(
                Result(
                    "archive",
                    f"find {label} ({size // 1000}k idx)",
                    "dicomkit",
                    statistics.median(times),
                    items=1,
                    runs=times,
                    note=f"{n} matches",
                )
            )
    return out


def over_network(root: Path, repeat: int, size: int) -> list[Result]:
    """Study-level C-FIND latency as a client sees it: the archive node's SCP in its own
    process (as `dicomkit serve` runs), the dicomkit SCU here, each query timed from the
    request to the final response."""
    port = common.free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "_find_scp", str(port), str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        common.wait_port(port, proc=proc)
        return asyncio.run(_queries(port, repeat, size))
    finally:
        _stop(proc)


def ingest(n: int, tmp: Path) -> float:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "archive"))
    from archive_helpers import synthetic, to_dataset

    import dicomkit

    rows = synthetic(64)[:n]
    while len(rows) < n:
        extra = synthetic(64, seed=len(rows))
        for r in extra:
            r = dict(r)
            r["SOPInstanceUID"] += f".{len(rows)}"
            rows.append(r)
    rows = rows[:n]
    with Archive(tmp / "ingest") as arch:
        temps = []
        for row in rows:
            t = arch.incoming_path()
            dicomkit.write(to_dataset(row, pixels=True), t)
            temps.append(t)
        start = time.perf_counter()
        for t in temps:
            arch.ingest(t)
        return len(temps) / (time.perf_counter() - start)


def _dcmqrscp_cfg(root: Path, port: int, dest_port: int | None = None) -> Path:
    cfg = root / "qr.cfg"
    (root / "db").mkdir(exist_ok=True)
    hosts = f"DEST = (DEST, 127.0.0.1, {dest_port})\n" if dest_port else ""
    cfg.write_text(
        f"NetworkTCPPort = {port}\nMaxPDUSize = 131072\nMaxAssociations = 16\n"
        f"HostTable BEGIN\n{hosts}HostTable END\nVendorTable BEGIN\n"
        f"VendorTable END\nAETable BEGIN\n"
        f"QRSCP {root / 'db'} RW (100000, 100000mb) ANY\nAETable END\n"
    )
    return cfg


def _qrscp_cfg(root: Path, port: int, dest_port: int | None = None) -> Path:
    """A configuration for pynetdicom's Q/R SCP app (``python -m pynetdicom qrscp``)."""
    cfg = root / "qrscp.ini"
    dest = f"[DEST]\n    address: 127.0.0.1\n    port: {dest_port}\n" if dest_port else ""
    cfg.write_text(
        "[DEFAULT]\n    ae_title: QRSCP\n"
        f"    port: {port}\n    max_pdu: 16382\n    acse_timeout: 30\n"
        "    dimse_timeout: 30\n    network_timeout: 30\n"
        "    bind_address: 127.0.0.1\n"
        f"    instance_location: {root / 'instances'}\n"
        f"    database_location: {root / 'instances.sqlite'}\n"
        f"    log_identifier: False\n{dest}"
    )
    return cfg


def _start_scp(
    impl: str, root: Path, port: int, env: dict[str, str], dest_port: int | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    root.mkdir(parents=True, exist_ok=True)
    if impl == "dicomkit":
        cmd = [
            sys.executable,
            "-m",
            "dicomkit",
            "serve",
            str(root),
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
        ]
        if dest_port:
            cmd += ["--peer", f"DEST=127.0.0.1:{dest_port}"]
        aet = "DICOMKIT"
    elif impl == "dcmtk":
        cmd = ["/usr/bin/dcmqrscp", "-c", str(_dcmqrscp_cfg(root, port, dest_port))]
        aet = "QRSCP"
    elif impl == "pynetdicom":  # pynetdicom's own Q/R SCP app: files + SQLite (SQLAlchemy)
        cmd = [
            sys.executable,
            "-m",
            "pynetdicom",
            "qrscp",
            "-q",
            "-c",
            str(_qrscp_cfg(root, port, dest_port)),
        ]
        aet = "QRSCP"
    else:  # "pynetdicom files": a plain storage SCP writing one file per instance (no index)
        cmd = [sys.executable, __file__, "_pynd_scp", str(port), str(root)]
        aet = "PYND"
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    common.wait_port(port, proc=proc)
    return proc, aet


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def pynd_scp(port: int, out: Path) -> None:
    """The pynetdicom reference: every storage SOP class, explicit / implicit VR LE; each
    data set written as a Part 10 file (like storescp; no fsync, no index)."""
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
    from pynetdicom import AE, AllStoragePresentationContexts, evt

    ae = AE(ae_title="PYND")
    ae.maximum_associations = 16
    for cx in AllStoragePresentationContexts:
        ae.add_supported_context(
            cx.abstract_syntax, [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
        )

    def on_store(event: Any) -> int:
        name = out / f"{event.request.AffectedSOPInstanceUID}.dcm"
        with open(name, "wb") as fp:
            fp.write(event.encoded_dataset())
        return 0x0000

    ae.start_server(("127.0.0.1", port), block=True, evt_handlers=[(evt.EVT_C_STORE, on_store)])


NOTES = {
    "dicomkit": "dicomkit serve (fsync + index before each response)",
    "dcmtk": "dcmqrscp (no fsync)",
    "pynetdicom": "pynetdicom's qrscp app: files + SQLite index (index synced)",
    "pynetdicom files": "pynetdicom storage SCP, files only (no fsync, no index)",
}


def compare(n: int, repeat: int, tmp: Path, parallel: int = 1) -> list[Result]:
    """storescu -> dicomkit serve / dcmqrscp / a pynetdicom SCP, interleaved run by run; then
    C-FIND against dicomkit and dcmqrscp, and C-MOVE of everything to a DCMTK storescp."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "archive"))
    from archive_helpers import synthetic, write_files

    # issue #5's workload: one series of n instances (dcmqrscp also caps a storage area at
    # 500 studies, so many small studies would measure its quota handling instead)
    base = next(r for r in synthetic(8) if r["Modality"] == "CT")
    rows = [
        dict(base, SOPInstanceUID=f"{base['SeriesInstanceUID']}.{i + 1}", InstanceNumber=str(i + 1))
        for i in range(n)
    ]
    src = tmp / "cmp-in"
    sources = [src / f"part{k}" for k in range(parallel)]  # one storescu per folder
    for k, folder in enumerate(sources):
        write_files(rows[k::parallel], folder)
    studies = sorted({r["StudyInstanceUID"] for r in rows})
    env = dict(os.environ, TCP_NODELAY="1")
    # dcmqrscp answers C000 when several associations store into one study at once, so
    # with --parallel it sits out (and so do the C-FIND / C-MOVE comparisons)
    impls = ["dicomkit", "dcmtk"] if parallel == 1 else ["dicomkit"]
    try:
        import pynetdicom  # noqa: F401
    except ImportError:
        print("  (pynetdicom not installed: no pynetdicom column)")
    else:
        try:
            import sqlalchemy  # noqa: F401  (pynetdicom's qrscp app needs it)

            if parallel == 1:
                impls.append("pynetdicom")
        except ImportError:
            print(
                "  (sqlalchemy not installed: no pynetdicom qrscp column; pip install -e .[bench])"
            )
        impls.append("pynetdicom files")
    results: list[Result] = []
    store_runs: dict[str, list[float]] = {impl: [] for impl in impls}
    servers: dict[str, tuple[subprocess.Popen[bytes], int, str]] = {}
    dest_port = common.free_port()
    dest_dir = tmp / "cmp-dest"
    dest_dir.mkdir()
    try:
        for attempt in range(max(1, min(repeat, 3))):
            for impl in impls:
                port = common.free_port()
                proc, aet = _start_scp(impl, tmp / f"cmp-{impl}-{attempt}", port, env, dest_port)
                servers[f"new {impl}"] = (proc, port, aet)
                # start each run with no dirty pages queued: on ext4 (data=ordered) an fsync
                # also waits for other files' pending data, so a previous run's (or the 100k
                # index's) writeback would be charged to whichever SCP fsyncs next
                os.sync()
                t0 = time.perf_counter()
                procs = [
                    subprocess.Popen(
                        [
                            "/usr/bin/storescu",
                            "-aec",
                            aet,
                            "+sd",
                            "127.0.0.1",
                            str(port),
                            str(folder),
                        ],
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE,
                        text=True,
                    )
                    for folder in sources
                ]
                for sender in procs:
                    _out, err = sender.communicate()
                    if sender.returncode != 0:
                        raise RuntimeError(f"storescu -> {impl}: {err[-800:]}")
                store_runs[impl].append(time.perf_counter() - t0)
                del servers[f"new {impl}"]
                old = servers.pop(impl, None)
                if old is not None:
                    _stop(old[0])
                if impl.startswith("pynetdicom"):
                    # not in the C-FIND / C-MOVE comparisons: the qrscp app answers a
                    # study-level C-FIND with one match per instance (1,000 here, not 1),
                    # and its C-MOVE runs at about 20 instances/s (48 s per run)
                    _stop(proc)
                else:
                    servers[impl] = (proc, port, aet)
    except BaseException:
        for proc, _port, _aet in servers.values():
            _stop(proc)
        raise
    for impl, runs in store_runs.items():
        results.append(
            Result(
                "archive",
                f"store {n} files ({parallel} storescu)",
                impl,
                statistics.median(runs),
                items=n,
                runs=runs,
                note=NOTES[impl],
            )
        )
    rates = {impl: n / statistics.median(r) for impl, r in store_runs.items()}
    print(
        f"ingest from {parallel} storescu (instances/s, median of runs): "
        + ", ".join(f"{impl} {rate:.0f}" for impl, rate in rates.items())
    )
    for peer in impls[1:]:
        print(f"  dicomkit / {peer}: {rates['dicomkit'] / rates[peer]:.2f}x")
    if parallel > 1:
        for proc, _port, _aet in servers.values():
            _stop(proc)
        return results
    try:
        for label, keys in COMPARE_QUERIES.items():
            runs: dict[str, list[float]] = {impl: [] for impl in servers}
            counts = {}
            for _ in range(repeat):
                for impl, (_proc, port, aet) in servers.items():
                    dt, counts[impl] = asyncio.run(_find_once(port, aet, keys))
                    runs[impl].append(dt)
            for impl, r in runs.items():
                results.append(
                    Result(
                        "archive",
                        f"find {label} ({n} files)",
                        impl,
                        statistics.median(r),
                        items=1,
                        runs=r,
                        note=f"{counts[impl]} matches",
                    )
                )
        dest = subprocess.Popen(
            [
                "/usr/bin/storescp",
                "-aet",
                "DEST",
                "-od",
                str(dest_dir),
                "--sort-on-study-uid",
                "st",
                str(dest_port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            common.wait_port(dest_port, proc=dest)
            moves: dict[str, list[float]] = {impl: [] for impl in servers}
            for _ in range(max(1, min(repeat, 3))):
                for impl, (_proc, port, aet) in servers.items():
                    dt, done_n = asyncio.run(_move_once(port, aet, studies))
                    if done_n != n:
                        raise RuntimeError(f"C-MOVE from {impl}: {done_n} of {n} moved")
                    moves[impl].append(dt)
        finally:
            _stop(dest)
        for impl, r in moves.items():
            results.append(
                Result(
                    "archive",
                    f"C-MOVE {n} files to storescp",
                    impl,
                    statistics.median(r),
                    items=n,
                    runs=r,
                )
            )
        mrates = {impl: n / statistics.median(r) for impl, r in moves.items()}
        print(
            "C-MOVE to storescp (instances/s): "
            + ", ".join(f"{impl} {rate:.0f}" for impl, rate in mrates.items())
            + "; "
            + ", ".join(
                f"dicomkit / {impl}: {mrates['dicomkit'] / rate:.2f}x"
                for impl, rate in mrates.items()
                if impl != "dicomkit"
            )
        )
    finally:
        for proc, _port, _aet in servers.values():
            _stop(proc)
    return results


async def _move_once(port: int, aet: str, studies: list[str]) -> tuple[float, int]:
    from dicomkit.net import AE
    from dicomkit.services import _query_retrieve as qr

    t0 = time.perf_counter()
    async with AE("BENCH").associate(
        "127.0.0.1", port, ae_title=aet, contexts=[qr.MOVE[qr.Model.STUDY_ROOT]]
    ) as assoc:
        res = await qr.move(
            assoc, qr.identifier("STUDY", {"StudyInstanceUID": "\\".join(studies)}), "DEST"
        )
    return time.perf_counter() - t0, res.completed


HELPER_ROOT = "1.2.826.0.1.3680043.10.543"
COMPARE_QUERIES: dict[str, dict[str, Any]] = {
    "all studies": {},
    "PatientName=DOE*": {"PatientName": "DOE*"},
    "StudyDate range": {"StudyDate": "20200101-20200630"},
}


async def _find_once(port: int, aet: str, keys: dict[str, Any]) -> tuple[float, int]:
    from dicomkit.net import AE
    from dicomkit.services import _query_retrieve as qr

    ident = {"StudyInstanceUID": "", "PatientName": "", "PatientID": "", "StudyDate": "", **keys}
    t0 = time.perf_counter()
    n = 0
    async with AE("BENCH").associate(
        "127.0.0.1", port, ae_title=aet, contexts=[qr.FIND[qr.Model.STUDY_ROOT]]
    ) as assoc:
        async for _ds in qr.find(assoc, qr.identifier("STUDY", ident)):
            n += 1
    return time.perf_counter() - t0, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_common_args(ap)
    ap.add_argument(
        "--instances",
        type=int,
        default=20_000 if corpus.quick() else 100_000,
        help="index size for the C-FIND latencies (0: skip)",
    )
    ap.add_argument(
        "--ingest",
        type=int,
        default=100 if corpus.quick() else 300,
        help="instances for the in-process ingest rate (0: skip)",
    )
    ap.add_argument(
        "--compare",
        type=int,
        default=300 if corpus.quick() else 1000,
        help="files for the DCMTK comparison (0: skip)",
    )
    ap.add_argument(
        "--parallel",
        type=int,
        default=1,
        metavar="K",
        help="K storescu processes at once, each sending n/K of the series "
        "(several associations: the group commit at work)",
    )
    args = ap.parse_args()
    print(f"bench_archive: repeat={args.repeat}; {common.load()}")
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.ingest:
            rate = ingest(args.ingest, tmp)
            print(
                f"ingest (durable: fdatasync file, fsync dir, WAL synchronous=FULL): "
                f"{rate:7.1f} instances/s"
            )
            results.append(
                Result("archive", "ingest (in process, durable)", "dicomkit", 1 / rate, items=1)
            )
        if args.instances:
            arch = Archive(tmp / "big", check=False)
            rate = populate(arch.index, args.instances)
            print(
                f"index populated directly: {arch.index.count()} instances, "
                f"{arch.index.count(STUDY)} studies ({rate:,.0f} rows/s)"
            )
            print("study-level queries, in process:")
            for label, keys in QUERIES.items():
                times, n = [], 0
                for _ in range(max(args.repeat, 5)):
                    n, dt = in_process(arch.index, keys)
                    times.append(dt)
                print(f"  {label:43s} {n:5d} matches  {stats(times)}")
            arch.close()
            print(
                "study-level queries, over the network (C-FIND, 127.0.0.1; SCP and SCU in "
                "separate processes):"
            )
            results += over_network(tmp / "big", max(args.repeat, 5), args.instances)
        if args.compare and Path("/usr/bin/dcmqrscp").exists():
            results += compare(args.compare, args.repeat, tmp, max(1, args.parallel))
    common.print_table(results, "dcmtk", "archive")
    common.save_json(results, args.json)


if __name__ == "__main__":
    if sys.argv[1:2] == ["_pynd_scp"]:
        pynd_scp(int(sys.argv[2]), Path(sys.argv[3]))
    elif sys.argv[1:2] == ["_find_scp"]:
        find_scp(int(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()
