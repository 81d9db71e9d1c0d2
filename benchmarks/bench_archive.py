"""Archive benchmarks: ingest rate, and study-level C-FIND latency over a 100,000-instance index.

    python benchmarks/bench_archive.py [--instances 100000] [--ingest 300]

The index is populated directly (records, no files) in one transaction; queries then run both
in-process (parse + SQL + response building) and over the network (dicomkit SCU -> the archive
node on 127.0.0.1), reporting the median and 95th percentile of several runs each. Ingest
measures the whole durable path: temporary file -> header read -> index transaction -> fsync ->
rename -> fsync directory -> commit.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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


async def over_network(arch: Archive, repeat: int) -> None:
    from dicomkit.archive.app import ArchiveNode
    from dicomkit.archive.config import NodeConfig
    from dicomkit.net import AE
    from dicomkit.services import query_retrieve as qr

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
    finally:
        await server.close()
        node.archive.close()


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=100_000)
    ap.add_argument("--ingest", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        rate = ingest(args.ingest, tmp)
        print(f"ingest (durable: fsync file + dir, WAL synchronous=FULL): {rate:7.1f} instances/s")
        arch = Archive(tmp / "big", check=False)
        rate = populate(arch.index, args.instances)
        print(f"index populated directly: {arch.index.count()} instances, "
              f"{arch.index.count(STUDY)} studies ({rate:,.0f} rows/s)")
        print("study-level queries, in process:")
        for label, keys in QUERIES.items():
            times, n = [], 0
            for _ in range(args.repeat):
                n, dt = in_process(arch.index, keys)
                times.append(dt)
            print(f"  {label:43s} {n:5d} matches  {stats(times)}")
        arch.close()
        print("study-level queries, over the network (C-FIND, 127.0.0.1):")
        asyncio.run(over_network(Archive(tmp / "big", check=False), args.repeat))


if __name__ == "__main__":
    main()
