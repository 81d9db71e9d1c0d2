"""Archive benchmarks (issue #5): ingest, and study-level C-FIND over a 100,000-instance index.

    python benchmarks/bench_archive.py [--instances 100000] [--ingest 300] [--compare 1000]
    BENCH_SIZE=quick python benchmarks/bench_archive.py --repeat 3

dicomkit alone: the index is populated directly (records, no files) in one transaction;
study-level queries then run in process (parse + SQL + responses) and over the network
(dicomkit SCU -> the archive node on 127.0.0.1); "ingest" is the whole durable path per
instance: temporary file -> header read -> index transaction -> fsync -> rename -> fsync
directory -> commit.

Against DCMTK (--compare N files): DCMTK storescu sends the same N files to `dicomkit serve`
and to dcmqrscp (which stores and indexes them too), then the same dicomkit SCU runs the same
study-level C-FINDs against both. Ratios: DCMTK time / dicomkit time (> 1: dicomkit faster).
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
from dicomkit.archive.index import InstanceRecord
from dicomkit.archive.results import make_result
from dicomkit.archive.schema import Level, attrs_at

PATIENT, STUDY, SERIES, IMAGE = Level.PATIENT, Level.STUDY, Level.SERIES, Level.IMAGE

ROOT = "1.2.826.0.1.3680043.10.543.9"
NAMES = ["DOE", "SMITH", "JONES", "MÜLLER", "GARCIA", "LEE", "NGUYEN", "BROWN"]
MODS = ["CT", "MR", "US", "CR", "PT"]


def record(p: int, s: int, e: int, i: int) -> InstanceRecord:
    rec = InstanceRecord()
    vals = {
        "PatientName": f"{NAMES[p % len(NAMES)]}^P{p}", "PatientID": f"ID{p:06d}",
        "PatientBirthDate": f"19{40 + p % 60:02d}0101", "PatientSex": "MF"[p % 2],
        "StudyDate": f"20{10 + (p + s) % 15:02d}{1 + (p * 7 + s) % 12:02d}{1 + p % 28:02d}",
        "StudyTime": f"{(p + s) % 24:02d}{p % 60:02d}00", "AccessionNumber": f"A{p}{s}",
        "StudyID": str(s), "StudyInstanceUID": f"{ROOT}.{p}.{s}",
        "StudyDescription": ["CHEST", "HEAD", "ABDOMEN"][(p + s) % 3],
        "Modality": MODS[(p + s + e) % len(MODS)], "SeriesNumber": str(e + 1),
        "SeriesInstanceUID": f"{ROOT}.{p}.{s}.{e}", "InstanceNumber": str(i + 1),
        "SOPInstanceUID": f"{ROOT}.{p}.{s}.{e}.{i}", "SOPClassUID": "1.2.840.10008.5.1.4.1.1.2",
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
    "ModalitiesInStudy=PT + date range": {"ModalitiesInStudy": "PT",
                                          "StudyDate": "20230101-20231231"},
    "StudyInstanceUID single": {"StudyInstanceUID": f"{ROOT}.1500.1"},
    "AccessionNumber exact": {"AccessionNumber": "A7771"},
}
RETURN = {"StudyInstanceUID": "", "PatientName": "", "PatientID": "", "StudyDate": "",
          "ModalitiesInStudy": "", "NumberOfStudyRelatedInstances": "", "StudyDescription": ""}


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


async def over_network(arch: Archive, repeat: int, size: int) -> list[Result]:
    from dicomkit.archive.app import ArchiveNode
    from dicomkit.archive.config import NodeConfig
    from dicomkit.net import AE
    from dicomkit.services import query_retrieve as qr

    out: list[Result] = []
    node = ArchiveNode(NodeConfig(archive=arch.root, host="127.0.0.1", port=0), archive=arch)
    server = await node.start()
    try:
        async with AE("BENCH").associate("127.0.0.1", server.port, ae_title="DICOMKIT",
                                         contexts=[qr.FIND[qr.Model.STUDY_ROOT]]) as assoc:
            for label, keys in QUERIES.items():
                times, n = [], 0
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    n = 0
                    async for _ds in qr.find(assoc, qr.identifier("STUDY", {**RETURN, **keys})):
                        n += 1
                    times.append(time.perf_counter() - t0)
                print(f"  C-FIND {label:36s} {n:5d} matches  {stats(times)}")
                out.append(Result("archive", f"find {label} ({size // 1000}k idx)",
                                  "dicomkit", statistics.median(times), items=1, runs=times,
                                  note=f"{n} matches"))
    finally:
        await server.close()
        node.archive.close()
    return out


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


def compare(n: int, repeat: int, tmp: Path) -> list[Result]:
    """storescu -> dicomkit serve vs storescu -> dcmqrscp; then C-FIND against both."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "archive"))
    from archive_helpers import synthetic, write_files

    rows: list[dict[str, Any]] = []
    seed = 0
    while len(rows) < n:  # distinct UIDs per round: the helper's root + the round number
        for r in synthetic(64, seed=seed):
            r = dict(r)
            for key in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
                r[key] = r[key].replace(HELPER_ROOT, f"{HELPER_ROOT}.{seed + 1}", 1)
            rows.append(r)
        seed += 1
    rows = rows[:n]
    src = tmp / "cmp-in"
    write_files(rows, src)
    env = dict(os.environ, TCP_NODELAY="1")
    results: list[Result] = []
    store_runs: dict[str, list[float]] = {"dicomkit": [], "dcmtk": []}
    servers: dict[str, tuple[subprocess.Popen[bytes], int, str]] = {}
    for attempt in range(max(1, min(repeat, 3))):
        for impl in ("dicomkit", "dcmtk"):
            port = common.free_port()
            root = tmp / f"cmp-{impl}-{attempt}"
            root.mkdir()
            if impl == "dicomkit":
                cmd = [sys.executable, "-m", "dicomkit", "serve", str(root), "--port",
                       str(port), "--host", "127.0.0.1"]
                aet = "DICOMKIT"
            else:
                cfg = root / "qr.cfg"
                (root / "db").mkdir()
                cfg.write_text(f"NetworkTCPPort = {port}\nMaxPDUSize = 131072\n"
                               f"MaxAssociations = 16\nHostTable BEGIN\nHostTable END\n"
                               f"VendorTable BEGIN\nVendorTable END\nAETable BEGIN\n"
                               f"QRSCP {root / 'db'} RW (100000, 100000mb) ANY\n"
                               f"AETable END\n")
                cmd = ["/usr/bin/dcmqrscp", "-c", str(cfg)]
                aet = "QRSCP"
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            common.wait_port(port, proc=proc)
            t0 = time.perf_counter()
            done = subprocess.run(["/usr/bin/storescu", "-aec", aet, "+sd", "127.0.0.1",
                                   str(port), str(src)], env=env, capture_output=True,
                                  text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"storescu -> {impl}: {done.stderr[-800:]}")
            store_runs[impl].append(time.perf_counter() - t0)
            old = servers.pop(impl, None)
            if old is not None:
                old[0].terminate()
                old[0].wait()
            servers[impl] = (proc, port, aet)
    for impl, runs in store_runs.items():
        results.append(Result("archive", f"store {n} files (storescu)", impl,
                              statistics.median(runs), items=n, runs=runs,
                              note="dcmqrscp" if impl == "dcmtk" else "dicomkit serve"))
    try:
        for label, keys in COMPARE_QUERIES.items():
            runs = {"dicomkit": [], "dcmtk": []}
            counts = {}
            for _ in range(repeat):
                for impl, (_proc, port, aet) in servers.items():
                    dt, counts[impl] = asyncio.run(_find_once(port, aet, keys))
                    runs[impl].append(dt)
            for impl, r in runs.items():
                results.append(Result("archive", f"find {label} ({n} files)", impl,
                                      statistics.median(r), items=1, runs=r,
                                      note=f"{counts[impl]} matches"))
    finally:
        for proc, _port, _aet in servers.values():
            proc.terminate()
            proc.wait()
    return results


HELPER_ROOT = "1.2.826.0.1.3680043.10.543"
COMPARE_QUERIES: dict[str, dict[str, Any]] = {
    "all studies": {},
    "PatientName=DOE*": {"PatientName": "DOE*"},
    "StudyDate range": {"StudyDate": "20200101-20200630"},
}


async def _find_once(port: int, aet: str, keys: dict[str, Any]) -> tuple[float, int]:
    from dicomkit.net import AE
    from dicomkit.services import query_retrieve as qr

    ident = {"StudyInstanceUID": "", "PatientName": "", "PatientID": "", "StudyDate": "",
             **keys}
    t0 = time.perf_counter()
    n = 0
    async with AE("BENCH").associate("127.0.0.1", port, ae_title=aet,
                                     contexts=[qr.FIND[qr.Model.STUDY_ROOT]]) as assoc:
        async for _ds in qr.find(assoc, qr.identifier("STUDY", ident)):
            n += 1
    return time.perf_counter() - t0, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_common_args(ap)
    ap.add_argument("--instances", type=int, default=20_000 if corpus.quick() else 100_000)
    ap.add_argument("--ingest", type=int, default=100 if corpus.quick() else 300)
    ap.add_argument("--compare", type=int, default=300 if corpus.quick() else 1000,
                    help="files for the DCMTK comparison (0: skip)")
    args = ap.parse_args()
    print(f"bench_archive: repeat={args.repeat}; {common.load()}")
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        rate = ingest(args.ingest, tmp)
        print(f"ingest (durable: fsync file + dir, WAL synchronous=FULL): {rate:7.1f} instances/s")
        results.append(Result("archive", "ingest (in process, durable)", "dicomkit",
                              1 / rate, items=1))
        arch = Archive(tmp / "big", check=False)
        rate = populate(arch.index, args.instances)
        print(f"index populated directly: {arch.index.count()} instances, "
              f"{arch.index.count(STUDY)} studies ({rate:,.0f} rows/s)")
        print("study-level queries, in process:")
        for label, keys in QUERIES.items():
            times, n = [], 0
            for _ in range(max(args.repeat, 5)):
                n, dt = in_process(arch.index, keys)
                times.append(dt)
            print(f"  {label:43s} {n:5d} matches  {stats(times)}")
        arch.close()
        print("study-level queries, over the network (C-FIND, 127.0.0.1):")
        results += asyncio.run(over_network(Archive(tmp / "big", check=False),
                                            max(args.repeat, 5), args.instances))
        if args.compare and Path("/usr/bin/dcmqrscp").exists():
            results += compare(args.compare, args.repeat, tmp)
    common.print_table(results, "dcmtk", "archive")
    common.save_json(results, args.json)


if __name__ == "__main__":
    main()
