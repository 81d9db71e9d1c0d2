"""DICOMweb of `dicomkit serve` side by side with Orthanc 1.10 + its DICOMweb plugin.

The benchmark re-executes itself in a network namespace whose only interface is the
loopback (``unshare -n``; Orthanc listens on every interface), starts `dicomkit serve`
(subprocess, own archive) and Orthanc (own configuration and storage, TCP_NODELAY=1) in
it, stores the same 1,000 CT instances (512x512x16 bit, 0.5 MB; 10 studies of 2 series of
50, two studies per patient; and one study of --big-study 128x128 instances, for the
large-study metadata and QIDO rows) into both over STOW-RS, then times each request with
`requests` (one keep-alive session per server, ``Accept-Encoding: identity`` unless a row
says gzip): the wall time to the last byte of the body as sent (read in one call, not
decoded; the answer is parsed and checked outside the timer, after one warm-up request per
server), the median of --repeat rounds that alternate the servers, with the spread, and
each server process's CPU time per request (all its threads, from /proc). Ratio =
Orthanc's time / ours (> 1: dicomkit faster; for STOW the rates' ratio, ours / Orthanc).

    python benchmarks/bench_web.py [--studies 10] [--big-study 1000] [--repeat 3] [--no-orthanc]
"""

from __future__ import annotations

import argparse
import io
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "web"))

import orthanc_peer

import dicomkit
from dicomkit.core import Dataset
from dicomkit.dictionary import uids

ROOT = "1.2.826.0.1.3680043.10.543.99"
DICOM = 'multipart/related; type="application/dicom"'
OCTETS = 'multipart/related; type="application/octet-stream"'
JSON = "application/dicom+json"
SERIES, PER_SERIES = 2, 50


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _instance(
    study: int, series: int, i: int, pixels: bytes, matrix: int = 512, root: str = ROOT
) -> bytes:
    ds = Dataset()
    ds.SOPClassUID = uids.CTImageStorage
    ds.SOPInstanceUID = f"{root}.{study}.{series}.{i + 1}"
    ds.StudyInstanceUID = f"{root}.{study}"
    ds.SeriesInstanceUID = f"{root}.{study}.{series}"
    ds.PatientName = f"BENCH^PATIENT{study // 2}"
    ds.PatientID = f"B{study // 2}"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.StudyDate = f"202601{study + 1:02d}"
    ds.StudyTime = "101500"
    ds.StudyID = str(study)
    ds.AccessionNumber = f"ACC{study}"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = "CT CHEST"
    ds.Modality = "CT"
    ds.SeriesNumber = str(series + 1)
    ds.SeriesDescription = f"axial {series}"
    ds.InstanceNumber = str(i + 1)
    ds.ImagePositionPatient = ["0", "0", str(i * 2.5)]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.SliceThickness = "2.5"
    ds.PixelSpacing = ["0.7", "0.7"]
    ds.Rows = ds.Columns = matrix
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.SamplesPerPixel = 1
    ds.PixelRepresentation = 0
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.RescaleIntercept, ds.RescaleSlope = "-1024", "1"
    ds.WindowCenter, ds.WindowWidth = "40", "400"
    ds.PixelData = pixels
    buf = io.BytesIO()
    dicomkit.write(ds, buf)
    return buf.getvalue()


def _fetch(
    session: requests.Session, url: str, headers: dict[str, str], count: int | None = None
) -> bytes:
    """The body of a GET as sent (not decoded), read to its last byte; with ``count``, the
    answer is checked (outside any timer) to be a JSON array of that many objects."""
    r = session.get(url, headers=headers, stream=True)
    body = r.raw.read(decode_content=False)
    r.close()
    assert r.status_code == 200, (url, r.status_code, body[:300])
    if count is not None:
        import gzip
        import json

        text = gzip.decompress(body) if r.headers.get("content-encoding") == "gzip" else body
        assert len(json.loads(text)) == count, (url, len(json.loads(text)), count)
    return bytes(body)


def _cpu(pid: int) -> float:
    """Seconds of CPU a process has used, all threads (schedstat: nanoseconds)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError):
            continue
    return total / 1e9


def _child(name: str) -> int:
    """The pid of this process's child called ``name`` (Orthanc, started by orthanc_peer)."""
    import os

    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
            comm = fields[0].split("(", 1)[1]
            ppid = int(fields[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if comm == name and ppid == os.getpid():
            return int(stat.parent.name)
    raise SystemExit(f"{name} is not running")


def _settle(pids: dict[str, int], limit: float = 180.0) -> float:
    """Wait until every server is idle (under 2% of a core over half a second), so that work
    left from the stores (the metadata dicomkit makes at ingest, Orthanc's own) is not
    timed in the reads; returns the seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        before = {n: _cpu(p) for n, p in pids.items()}
        time.sleep(0.5)
        if all(_cpu(p) - before[n] < 0.01 for n, p in pids.items()):
            break
    return time.monotonic() - t0


def _timed_read(
    sessions: dict[str, requests.Session],
    servers: dict[str, str],
    pids: dict[str, int],
    path: str,
    headers: dict[str, str],
    repeat: int,
) -> dict[str, tuple[float, list[float], float]]:
    """Per server: the median wall time of ``repeat`` GETs (rounds alternate the servers,
    so a change in the machine's load hits both alike), the runs, and the server's median
    CPU per request."""
    runs: dict[str, list[float]] = {n: [] for n in servers}
    cpus: dict[str, list[float]] = {n: [] for n in servers}
    for _ in range(repeat):
        for name, base in servers.items():
            c0 = _cpu(pids[name])
            t0 = time.perf_counter()
            _fetch(sessions[name], base + path, headers)
            runs[name].append(time.perf_counter() - t0)
            cpus[name].append(_cpu(pids[name]) - c0)
    return {n: (statistics.median(runs[n]), runs[n], statistics.median(cpus[n])) for n in servers}


def _stow_alternating(
    sessions: dict[str, requests.Session],
    servers: dict[str, str],
    pids: dict[str, int],
    files: list[bytes],
    chunk: int = 100,
) -> tuple[dict[str, float], dict[str, float]]:
    """Per server: seconds and server CPU seconds to store ``files``, in chunks of
    ``chunk`` instances that alternate the servers (the first server changes each chunk),
    so that a change in the machine's load hits both alike."""
    wall = dict.fromkeys(servers, 0.0)
    cpu = dict.fromkeys(servers, 0.0)
    names = list(servers)
    for k in range(0, len(files), chunk):
        order = names if (k // chunk) % 2 == 0 else names[::-1]
        for name in order:
            c0 = _cpu(pids[name])
            wall[name] += _stow(sessions[name], servers[name], files[k : k + chunk])
            cpu[name] += _cpu(pids[name]) - c0
    return wall, cpu


def _stow(session: requests.Session, base: str, files: list[bytes]) -> float:
    """Seconds to store ``files`` over STOW-RS in requests of 10 instances."""
    t0 = time.perf_counter()
    for k in range(0, len(files), 10):
        boundary = uuid.uuid4().hex
        body = (
            b"".join(
                f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + f + b"\r\n"
                for f in files[k : k + 10]
            )
            + f"--{boundary}--\r\n".encode()
        )
        r = session.post(
            base + "/studies",
            data=body,
            headers={"Content-Type": f"{DICOM}; boundary={boundary}", "Accept": JSON},
        )
        assert r.status_code == 200, (base, r.status_code, r.text[:300])
    return time.perf_counter() - t0


def _cstore(files: list[bytes], folder: Path, port: int) -> float:
    """Seconds for DCMTK storescu (one association, TCP_NODELAY=1) to store ``files``
    into `dicomkit serve` over C-STORE (the rate STOW-RS is compared with)."""
    import os

    folder.mkdir(parents=True)
    for i, data in enumerate(files):
        (folder / f"{i:05d}.dcm").write_bytes(data)
    os.sync()
    env = dict(os.environ, TCP_NODELAY="1")
    cmd = ["/usr/bin/storescu", "-aec", "DICOMKIT", "+sd", "127.0.0.1", str(port), str(folder)]
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def _serve(tmp: Path) -> tuple[subprocess.Popen[bytes], str, int]:
    dimse, http = _port(), _port()
    cmd = [sys.executable, "-m", "dicomkit", "serve", str(tmp / "archive"), "--host"]
    cmd += ["127.0.0.1", "--port", str(dimse), "--http-port", str(http)]
    proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{http}/dicom-web"
    for _ in range(600):
        try:
            requests.get(base + "/studies", timeout=1)
            return proc, base, dimse
        except requests.ConnectionError:
            time.sleep(0.05)
    raise SystemExit("dicomkit serve did not start")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--studies", type=int, default=10, help="studies of 100 instances")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-orthanc", action="store_true", help="dicomkit only")
    ap.add_argument("--stow-only", action="store_true", help="the STOW-RS and C-STORE rows only")
    ap.add_argument(
        "--big-study",
        type=int,
        default=1000,
        metavar="N",
        help="one more study of N instances (128x128: its metadata and QIDO rows; 0: none)",
    )
    args = ap.parse_args()
    use_orthanc = not args.no_orthanc and orthanc_peer.available() is None
    if use_orthanc:
        orthanc_peer.reexec_in_netns()
    tmp = Path(tempfile.mkdtemp(prefix="bench-web-"))
    proc, ours, dimse_port = _serve(tmp)
    stack = []
    try:
        servers = {"dicomkit": ours}
        if use_orthanc:
            ctx = orthanc_peer.orthanc_here(tmp / "orthanc")
            stack.append(ctx)
            servers["Orthanc"] = ctx.__enter__() + "/dicom-web"
        rng = np.random.default_rng(1)
        files = []
        for st in range(args.studies):
            pixels = rng.integers(0, 2000, 512 * 512, dtype="<u2").tobytes()
            files += [
                _instance(st, se, i, pixels) for se in range(SERIES) for i in range(PER_SERIES)
            ]
        big = f"{ROOT}.{args.studies}"
        if args.big_study:
            small = rng.integers(0, 2000, 128 * 128, dtype="<u2").tobytes()
            files += [
                _instance(args.studies, i % SERIES, i, small, 128) for i in range(args.big_study)
            ]
        sessions = {name: requests.Session() for name in servers}
        for s in sessions.values():
            s.headers["Accept-Encoding"] = "identity"
        import os

        os.sync()
        n_ct = args.studies * SERIES * PER_SERIES
        pids = {"dicomkit": proc.pid, **({"Orthanc": _child("Orthanc")} if use_orthanc else {})}
        stow_ct, stow_ct_cpu = _stow_alternating(sessions, servers, pids, files[:n_ct])
        stow_small, stow_small_cpu = _stow_alternating(sessions, servers, pids, files[n_ct:])
        stow = {n: stow_ct[n] + stow_small[n] for n in servers}
        stow_cpu = {n: stow_ct_cpu[n] + stow_small_cpu[n] for n in servers}
        study, series = f"{ROOT}.0", f"{ROOT}.0.0"
        sop = f"{series}.1"
        inst = f"/studies/{study}/series/{series}/instances/{sop}"
        n_all = len(files)
        n_studies = args.studies + (1 if args.big_study else 0)
        rows: list[tuple[str, str, str, dict[str, str] | None, int | None]] = [
            ("QIDO 1 study", f"/studies?StudyInstanceUID={study}", JSON, None, 1),
            ("QIDO 2 studies (patient)", "/studies?PatientID=B0", JSON, None, 2),
            (f"QIDO all {n_studies} studies", "/studies", JSON, None, n_studies),
            ("QIDO 50-instance series", f"/studies/{study}/series/{series}/instances", JSON,
             None, PER_SERIES),
            (f"QIDO all {n_all} instances", "/instances", JSON, None, n_all),
            ("metadata 100-instance study", f"/studies/{study}/metadata", JSON, None, 100),
            *(
                [
                    (f"metadata {args.big_study}-instance study", f"/studies/{big}/metadata",
                     JSON, None, args.big_study),
                    (f"QIDO {args.big_study}-instance study", f"/studies/{big}/instances",
                     JSON, None, args.big_study),
                ]
                if args.big_study
                else []
            ),
            ("WADO-RS 100-instance study", f"/studies/{study}", f"{DICOM}; transfer-syntax=*",
             None, None),
            ("WADO-RS one instance", inst, f"{DICOM}; transfer-syntax=*", None, None),
            ("  same, client offers gzip", inst, f"{DICOM}; transfer-syntax=*",
             {"Accept-Encoding": "gzip, deflate"}, None),
            ("WADO-RS one frame", inst + "/frames/1", OCTETS, None, None),
            ("rendered JPEG", inst + "/rendered", "image/jpeg", None, None),
            ("rendered PNG", inst + "/rendered", "image/png", None, None),
        ]  # fmt: skip
        if args.stow_only:
            rows = []
        settled = _settle(pids) if rows else 0.0
        results: dict[str, dict[str, tuple[float, list[float], float]]] = {}
        sizes: dict[str, dict[str, int]] = {}
        for label, path, accept, extra, count in rows:
            headers = {"Accept": accept, **(extra or {})}
            for name, base in servers.items():  # warm-up, and the answer checked
                body = _fetch(sessions[name], base + path, headers, count)
                sizes.setdefault(label, {})[name] = len(body)
            results[label] = _timed_read(sessions, servers, pids, path, headers, args.repeat)
        # C-STORE of the same CT files under other UIDs, after the searches
        cstore_files = []
        if Path("/usr/bin/storescu").exists() and n_ct:
            for st in range(args.studies):
                pixels = rng.integers(0, 2000, 512 * 512, dtype="<u2").tobytes()
                cstore_files += [
                    _instance(st, se, i, pixels, root=ROOT + ".5")
                    for se in range(SERIES)
                    for i in range(PER_SERIES)
                ]
            cstore_s = _cstore(cstore_files, tmp / "cstore", dimse_port)
        names = list(servers)
        print(
            f"DICOMweb, {n_all} CT instances ({args.studies} studies x 2 series x 50 of "
            f"512x512x16, + {args.big_study} of 128x128x16 in one study), median of "
            f"{args.repeat}; ratio = Orthanc / dicomkit (> 1: dicomkit faster)"
        )
        head = "".join(f"{n:>12s}" for n in names)
        print(f"  {'':32s}{head}{'ratio':>8s}")
        rate = {n: n_all / stow[n] for n in names}
        line = "".join(f"{rate[n]:9.0f}/s " for n in names)
        ratio = f"{rate['dicomkit'] / rate['Orthanc']:8.2f}" if "Orthanc" in rate else ""
        print(f"  {'STOW-RS (durable) rate':32s}{line}{ratio}")
        line = "".join(f"{stow_cpu[n] / n_all * 1000:9.2f}ms " for n in names)
        ratio = f"{stow_cpu['Orthanc'] / stow_cpu['dicomkit']:8.2f}" if "Orthanc" in rate else ""
        print(f"  {'  server CPU per instance':32s}{line}{ratio}")
        ct_rate = {n: n_ct / stow_ct[n] for n in names}
        line = "".join(f"{ct_rate[n]:9.0f}/s " for n in names)
        ratio = f"{ct_rate['dicomkit'] / ct_rate['Orthanc']:8.2f}" if "Orthanc" in rate else ""
        print(f"  {'  of which 0.5 MB CT only':32s}{line}{ratio}")
        if cstore_files:
            c_rate = len(cstore_files) / cstore_s
            print(
                f"  {'C-STORE (storescu) rate':32s}{c_rate:9.0f}/s"
                f"   STOW-RS CT / C-STORE {ct_rate['dicomkit'] / c_rate:.2f} (same CT, durable both)"
            )
        print(
            "  read rows: wall time to the last byte of the body (client parse outside the "
            "timer), median (min-max); cpu: the server process's CPU per request (all threads);"
            f" started once both servers were idle ({settled:.0f} s after the stores)"
        )
        print(f"  {'':32s}" + "".join(f"{n:>11s}{'':15s}" for n in names) + "  ratio")
        for label, by in results.items():
            line = "".join(
                f"{by[n][0] * 1000:8.1f} ms"
                + f"({min(by[n][1]) * 1000:.1f}-{max(by[n][1]) * 1000:.1f})".ljust(15)
                for n in names
            )
            ratio = f"{by['Orthanc'][0] / by['dicomkit'][0]:7.2f}" if "Orthanc" in by else ""
            cpu = "/".join(f"{by[n][2] * 1000:.1f}" for n in names)
            cpu_ratio = (
                f" ({by['Orthanc'][2] / by['dicomkit'][2]:.2f})"
                if "Orthanc" in by and by["dicomkit"][2] > 0
                else ""
            )
            kb = "/".join(f"{sizes[label][n] // 1024}" for n in names)
            print(f"  {label:32s}{line}{ratio}   cpu {cpu} ms{cpu_ratio}   {kb} KiB")
    finally:
        for ctx in stack:
            ctx.__exit__(None, None, None)
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)  # two archives of 2,000 instances: 2 GB
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
