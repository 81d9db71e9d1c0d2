"""DICOMweb of `dicomkit serve` (QIDO-RS, WADO-RS, STOW-RS) on synthetic CT instances.

Starts `dicomkit serve` (subprocess, own archive in a temporary folder) and times, with
`requests` as the client, the median of --repeat runs after one warm-up:
STOW-RS of N instances (512x512x16 bit, 0.5 MB, in batches of 10), QIDO-RS (one study, all
studies, a series' instances, all instances), study metadata, WADO-RS of the study
(transfer-syntax=*), one instance and one frame. No peer yet (Orthanc is the issue's anchor).

    python benchmarks/bench_web.py [--n 100] [--repeat 5]
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import requests

import dicomkit
from dicomkit.core._dataset import Dataset

ROOT = "1.2.826.0.1.3680043.10.543.99"
DICOM = 'multipart/related; type="application/dicom"'


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _instance(study: int, series: int, i: int, pixels: bytes) -> bytes:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = f"{ROOT}.{study}.{series}.{i + 1}"
    ds.StudyInstanceUID = f"{ROOT}.{study}"
    ds.SeriesInstanceUID = f"{ROOT}.{study}.{series}"
    ds.PatientName = f"BENCH^{study}"
    ds.PatientID = f"B{study}"
    ds.StudyDate = "20260101"
    ds.Modality = "CT"
    ds.InstanceNumber = str(i + 1)
    ds.Rows = ds.Columns = 512
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.SamplesPerPixel = 1
    ds.PixelRepresentation = 0
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = pixels
    buf = io.BytesIO()
    dicomkit.write(ds, buf)
    return buf.getvalue()


def _timed(fn: Callable[[], object], repeat: int) -> float:
    fn()
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100, help="instances (one study, 2 series)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-web-"))
    dimse, http = _port(), _port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dicomkit",
            "serve",
            str(tmp / "archive"),
            "--host",
            "127.0.0.1",
            "--port",
            str(dimse),
            "--http-port",
            str(http),
        ],
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{http}/dicom-web"
    session = requests.Session()
    try:
        for _ in range(300):
            try:
                session.get(base + "/studies", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        pixels = os.urandom(512 * 512 * 2)
        files = [_instance(1, i % 2, i, pixels) for i in range(args.n)]
        # STOW-RS: every instance once (durable: on disk and indexed when answered)
        t0 = time.perf_counter()
        for k in range(0, len(files), 10):
            boundary = uuid.uuid4().hex
            body = (
                b"".join(
                    f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
                    + f
                    + b"\r\n"
                    for f in files[k : k + 10]
                )
                + f"--{boundary}--\r\n".encode()
            )
            r = session.post(
                base + "/studies",
                data=body,
                headers={"Content-Type": f"{DICOM}; boundary={boundary}"},
            )
            assert r.status_code == 200, r.text
        stow = time.perf_counter() - t0
        # C-STORE of the same number of instances (another study), for the ratio: one
        # association from an in-process SyncAE (no process start-up in the timing)
        from dicomkit.net import SyncAE
        from dicomkit.services import contexts_for, read_instance, store

        (tmp / "cstore").mkdir()
        for i in range(args.n):
            (tmp / "cstore" / f"{i}.dcm").write_bytes(_instance(2, i % 2, i, pixels))
        instances = [read_instance(p) for p in sorted((tmp / "cstore").iterdir())]
        with (
            SyncAE("BENCH") as ae,
            ae.associate(
                "127.0.0.1", dimse, ae_title="DICOMKIT", contexts=contexts_for(instances)
            ) as assoc,
        ):
            t0 = time.perf_counter()
            for instance in instances:
                assoc.call(store, instance)
            cstore = time.perf_counter() - t0
        study = f"{ROOT}.1"
        series = f"{ROOT}.1.0"
        sop = f"{ROOT}.1.0.1"
        rows = [
            ("STOW-RS", stow, f"{args.n / stow:.0f} instances/s"),
            ("C-STORE (same data)", cstore, f"{args.n / cstore:.0f} instances/s"),
        ]

        def get(path: str, accept: str = "application/dicom+json") -> requests.Response:
            r = session.get(base + path, headers={"Accept": accept})
            assert r.status_code == 200, (path, r.status_code, r.text[:200])
            return r

        size = sum(len(f) for f in files)
        for label, path, accept, nbytes in (
            ("QIDO studies (1 match)", f"/studies?StudyInstanceUID={study}", "", 0),
            ("QIDO all studies", "/studies", "", 0),
            ("QIDO series instances", f"/studies/{study}/series/{series}/instances", "", 0),
            ("QIDO all instances", "/instances", "", 0),
            ("study metadata", f"/studies/{study}/metadata", "", 0),
            ("WADO study (as stored)", f"/studies/{study}", f"{DICOM}; transfer-syntax=*", size),
            (
                "WADO one instance",
                f"/studies/{study}/series/{series}/instances/{sop}",
                f"{DICOM}; transfer-syntax=*",
                len(files[0]),
            ),
            (
                "WADO one frame",
                f"/studies/{study}/series/{series}/instances/{sop}/frames/1",
                'multipart/related; type="application/octet-stream"',
                len(pixels),
            ),
        ):
            secs = _timed(
                lambda p=path, a=accept: get(p, a or "application/dicom+json"), args.repeat
            )
            note = f"{nbytes / 1e6 / secs:.0f} MB/s" if nbytes else ""
            rows.append((label, secs, note))
        print(f"dicomkit DICOMweb, {args.n} instances of 512x512x16 bit, median of {args.repeat}")
        for label, secs, note in rows:
            print(f"  {label:28s} {secs * 1000:9.1f} ms  {note}")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
