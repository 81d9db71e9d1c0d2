#!/usr/bin/env python3
"""Soak: a `dicomkit serve` node under mixed traffic from several peers for a long time, with
its memory (RSS) and open file descriptors sampled; prints whether they stay flat. Issue #11.

    python benchmarks/bench_soak.py                  # 60 minutes (the default)
    python benchmarks/bench_soak.py --minutes 10 --sample 5

Peers, each a loop in its own thread (with a short pause between iterations: a steady,
realistic load rather than a flood):

  dcmtk-store    DCMTK storescu: a new study (5 small CT instances, fresh UIDs) per iteration
  dk-store       `dicomkit store`: the same, through dicomkit's storage SCU (a subprocess)
  dcmtk-find     DCMTK findscu: a STUDY-level query (Patient Name wildcard, counts)
  dk-find        dicomkit's synchronous SCU: STUDY then IMAGE level queries, in this process
  dcmtk-move     DCMTK movescu: a recent study to a DCMTK storescp (--ignore) destination
  dcmtk-get      DCMTK getscu: a recent study over the same association
  dk-get         `dicomkit get`: a recent study
  reject         every 20th store loop: a rejection note (KOS, CID 7011) for one instance

The node runs with `[retention] max_bytes` (3 MB: about 70 of these small studies) checked every 30
seconds, so the archive stays bounded and deletes run all along. The node's VmRSS and its
number of open fds are read from /proc every --sample seconds. At the end: the first and
last samples, min / max, and the slope (least squares) over the second half of the run
(after warm-up: caches, thread pools and SQLite's page cache fill during the first half),
extrapolated per hour. "flat" means the second half grew less than 5 MB + 2 % (RSS) and
less than 2 fds over its span.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
DCMTK_ENV = dict(os.environ, TCP_NODELAY="1")
CT = "1.2.840.10008.5.1.4.1.1.2"
STUDY_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
ROOT = "1.2.826.0.1.3680043.10.543.77"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port} after {timeout}s")


class Soak:
    def __init__(self, work: Path, minutes: float, sample: float) -> None:
        self.work = work
        self.end = time.monotonic() + minutes * 60
        self.sample_every = sample
        self.port = free_port()
        self.dest_port = free_port()
        self.ops: Counter[str] = Counter()
        self.fails: Counter[str] = Counter()
        self.errors: dict[str, str] = {}
        self.samples: list[tuple[float, int, int]] = []  # (seconds, RSS bytes, fds)
        self.studies: list[tuple[str, str, list[str]]] = []  # (study, patient id, SOP UIDs)
        self.lock = threading.Lock()
        self.serial = 0
        self.node: subprocess.Popen[bytes] | None = None

    # -- set-up ---------------------------------------------------------------------------

    def start(self) -> None:
        arch = self.work / "archive"
        cfg = self.work / "node.toml"
        cfg.write_text(
            "[server]\nhttp_port = 0\nidle_timeout = 60\n"
            f'[peers.STORESCP]\nhost = "127.0.0.1"\nport = {self.dest_port}\n'
            "[retention]\nenabled = true\nmax_bytes = 3000000\ninterval = 30\n"
        )
        self.dest = subprocess.Popen(
            ["/usr/bin/storescp", "--ignore", "-aet", "STORESCP", str(self.dest_port)],
            env=DCMTK_ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.node_log = open(self.work / "node.log", "wb")  # noqa: SIM115 -- closed in stop()
        self.node = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dicomkit",
                "serve",
                str(arch),
                "--port",
                str(self.port),
                "--host",
                "127.0.0.1",
                "--config",
                str(cfg),
            ],
            stdout=self.node_log,
            stderr=subprocess.STDOUT,
        )
        wait_port(self.port, self.node)
        wait_port(self.dest_port, self.dest)

    def stop(self) -> None:
        if self.node is not None:
            self.node.send_signal(signal.SIGINT)
            try:
                self.node.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.node.kill()
        self.dest.terminate()
        self.dest.wait(timeout=10)
        self.node_log.close()

    # -- data -----------------------------------------------------------------------------

    def new_study(self, folder: Path) -> list[Path]:
        """Five small CT instances of a new study, as files in ``folder``."""
        import dicomkit
        from dicomkit.core import Dataset

        with self.lock:
            self.serial += 1
            n = self.serial
        patient = n % 37
        study = f"{ROOT}.{os.getpid()}.{n}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        paths, sops = [], []
        for i in range(5):
            ds = Dataset()
            ds.SOPClassUID = CT
            ds.SOPInstanceUID = f"{study}.1.{i + 1}"
            ds.StudyInstanceUID = study
            ds.SeriesInstanceUID = f"{study}.1"
            ds.PatientName = f"SOAK^P{patient:02d}"
            ds.PatientID = f"SOAK{patient:02d}"
            ds.StudyDate = time.strftime("%Y%m%d")
            ds.StudyTime = time.strftime("%H%M%S")
            ds.AccessionNumber = f"A{n}"
            ds.StudyID = str(n)
            ds.Modality = "CT"
            ds.SeriesNumber = "1"
            ds.InstanceNumber = str(i + 1)
            ds.Rows = 64
            ds.Columns = 64
            ds.BitsAllocated = 16
            ds.BitsStored = 12
            ds.HighBit = 11
            ds.SamplesPerPixel = 1
            ds.PixelRepresentation = 0
            ds.PhotometricInterpretation = "MONOCHROME2"
            ds.PixelData = os.urandom(64 * 64 * 2)
            p = folder / f"{i}.dcm"
            dicomkit.write(ds, p)
            paths.append(p)
            sops.append(str(ds.SOPInstanceUID))
        with self.lock:
            self.studies.append((study, f"SOAK{patient:02d}", sops))
            del self.studies[:-50]
        return paths

    def recent(self) -> tuple[str, str, list[str]] | None:
        with self.lock:
            return random.choice(self.studies[-20:]) if self.studies else None

    # -- peers ----------------------------------------------------------------------------

    def run(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        proc = subprocess.run(
            argv, capture_output=True, text=True, env=env, timeout=300, check=False
        )
        if proc.returncode != 0:
            self.fail(name, f"exit {proc.returncode}: {(proc.stderr or proc.stdout)[-300:]}")
        else:
            self.ops[name] += 1

    def fail(self, name: str, why: str) -> None:
        self.fails[name] += 1
        self.errors.setdefault(name, why)

    def loop(self, name: str, body: object, pause: float) -> None:
        folder = self.work / name
        k = 0
        while time.monotonic() < self.end:
            try:
                body(folder, k)  # type: ignore[operator]
            except Exception as exc:  # noqa: BLE001 -- counted and reported
                self.fail(name, repr(exc)[:300])
            k += 1
            time.sleep(pause)

    def dcmtk_store(self, folder: Path, k: int) -> None:
        files = self.new_study(folder)
        self.run("dcmtk-store", ["/usr/bin/storescu", "-aec", "DICOMKIT", "127.0.0.1",
                                 str(self.port), *map(str, files)], DCMTK_ENV)  # fmt: skip
        if k % 20 == 19:
            self.reject(folder)

    def dk_store(self, folder: Path, _k: int) -> None:
        files = self.new_study(folder)
        self.run("dk-store", [sys.executable, "-m", "dicomkit", "store", "127.0.0.1",
                              str(self.port), "--aec", "DICOMKIT", str(folder)])  # fmt: skip
        del files

    def reject(self, folder: Path) -> None:
        import dicomkit
        from dicomkit.sr import DCM
        from dicomkit.sr.templates import rejection_note

        first = dicomkit.read(next(iter(sorted(folder.glob("*.dcm")))), stop_before_pixels=True)
        note = folder / "note.dcm"
        rejection_note([first], DCM.RejectedForQualityReasons).save(note)
        self.run("reject", ["/usr/bin/storescu", "-aec", "DICOMKIT", "127.0.0.1",
                            str(self.port), str(note)], DCMTK_ENV)  # fmt: skip

    def dcmtk_find(self, _folder: Path, k: int) -> None:
        self.run("dcmtk-find", ["/usr/bin/findscu", "-S", "-aec", "DICOMKIT",
                                "-k", "QueryRetrieveLevel=STUDY",
                                "-k", f"PatientName=SOAK^P{k % 37:02d}*",
                                "-k", "StudyInstanceUID=", "-k", "NumberOfStudyRelatedInstances=",
                                "127.0.0.1", str(self.port)], DCMTK_ENV)  # fmt: skip

    def dk_find(self, _folder: Path, k: int) -> None:
        from dicomkit.net import SyncAE
        from dicomkit.services import find, identifier

        with (
            SyncAE("DKFIND") as ae,
            ae.associate(
                "127.0.0.1", self.port, ae_title="DICOMKIT", contexts=[STUDY_FIND]
            ) as assoc,
        ):
            studies = list(assoc.iterate(find, identifier("STUDY", {
                "PatientID": f"SOAK{k % 37:02d}", "StudyInstanceUID": "",
                "NumberOfStudyRelatedInstances": "",
            })))  # fmt: skip
            recent = self.recent()
            if recent is not None:
                list(assoc.iterate(find, identifier("IMAGE", {
                    "StudyInstanceUID": recent[0], "SeriesInstanceUID": f"{recent[0]}.1",
                    "SOPInstanceUID": "",
                })))  # fmt: skip
        del studies
        self.ops["dk-find"] += 1

    def dcmtk_move(self, _folder: Path, _k: int) -> None:
        recent = self.recent()
        if recent is None:
            return
        self.run("dcmtk-move", ["/usr/bin/movescu", "-S", "-aec", "DICOMKIT", "-aem", "STORESCP",
                                "-k", "QueryRetrieveLevel=STUDY",
                                "-k", f"StudyInstanceUID={recent[0]}",
                                "127.0.0.1", str(self.port)], DCMTK_ENV)  # fmt: skip

    def dcmtk_get(self, folder: Path, _k: int) -> None:
        recent = self.recent()
        if recent is None:
            return
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.run("dcmtk-get", ["/usr/bin/getscu", "-S", "-aec", "DICOMKIT", "-od", str(folder),
                               "-k", "QueryRetrieveLevel=STUDY",
                               "-k", f"StudyInstanceUID={recent[0]}",
                               "127.0.0.1", str(self.port)], DCMTK_ENV)  # fmt: skip

    def dk_get(self, folder: Path, _k: int) -> None:
        recent = self.recent()
        if recent is None:
            return
        shutil.rmtree(folder, ignore_errors=True)
        self.run("dk-get", [sys.executable, "-m", "dicomkit", "get", "127.0.0.1",
                            str(self.port), "--aec", "DICOMKIT", "--out", str(folder),
                            "-k", "QueryRetrieveLevel=STUDY",
                            "-k", f"StudyInstanceUID={recent[0]}"])  # fmt: skip

    # -- sampling -------------------------------------------------------------------------

    def sampler(self) -> None:
        assert self.node is not None
        pid = self.node.pid
        t0 = time.monotonic()
        while time.monotonic() < self.end:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                rss = int(next(x for x in status.splitlines() if x.startswith("VmRSS:")).split()[1])
                fds = len(os.listdir(f"/proc/{pid}/fd"))
            except (OSError, StopIteration):
                self.fail("sampler", "the node is gone")
                return
            self.samples.append((time.monotonic() - t0, rss * 1024, fds))
            time.sleep(self.sample_every)


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    den = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else 0.0


def report(s: Soak, minutes: float) -> int:
    samples = s.samples
    if len(samples) < 4:
        print("too few samples")
        return 1
    half = [p for p in samples if p[0] >= samples[-1][0] / 2]
    span = half[-1][0] - half[0][0]
    rss_slope = slope([(t, r) for t, r, _ in half])  # bytes per second
    fd_slope = slope([(t, f) for t, _, f in half])
    rss_mean = sum(r for _, r, _ in half) / len(half)
    rss_growth, fd_growth = rss_slope * span, fd_slope * span
    rss_flat = rss_growth < 5e6 + 0.02 * rss_mean
    fd_flat = fd_growth < 2
    mb = 1 / (1 << 20)
    print(f"soak: {minutes:g} min, {len(samples)} samples every {s.sample_every:g} s")
    print("operations: " + ", ".join(f"{k} {v}" for k, v in sorted(s.ops.items())))
    print("failures:   " + (", ".join(f"{k} {v}" for k, v in sorted(s.fails.items())) or "none"))
    for k, v in s.errors.items():
        print(f"  first {k} failure: {v}")
    print(
        f"RSS MB: first {samples[0][1] * mb:.1f}, min {min(r for _, r, _ in samples) * mb:.1f}, "
        f"max {max(r for _, r, _ in samples) * mb:.1f}, last {samples[-1][1] * mb:.1f}; "
        f"second-half slope {rss_slope * 3600 * mb:+.2f} MB/h "
        f"({rss_growth * mb:+.2f} MB over {span / 60:.1f} min) -> {'FLAT' if rss_flat else 'GROWING'}"
    )
    print(
        f"fds: first {samples[0][2]}, min {min(f for _, _, f in samples)}, "
        f"max {max(f for _, _, f in samples)}, last {samples[-1][2]}; second-half slope "
        f"{fd_slope * 3600:+.2f}/h ({fd_growth:+.2f} over {span / 60:.1f} min) -> "
        f"{'FLAT' if fd_flat else 'GROWING'}"
    )
    return 0 if rss_flat and fd_flat and not s.fails else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--sample", type=float, default=10.0, help="seconds between samples")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (its path printed)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dicomkit-soak-"))
    s = Soak(work, args.minutes, args.sample)
    s.start()
    peers = [
        ("dcmtk-store", s.dcmtk_store, 0.5),
        ("dk-store", s.dk_store, 1.0),
        ("dcmtk-find", s.dcmtk_find, 0.5),
        ("dk-find", s.dk_find, 0.5),
        ("dcmtk-move", s.dcmtk_move, 1.0),
        ("dcmtk-get", s.dcmtk_get, 1.0),
        ("dk-get", s.dk_get, 2.0),
    ]
    threads = [threading.Thread(target=s.sampler, daemon=True)]
    threads += [threading.Thread(target=s.loop, args=p, daemon=True) for p in peers]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        s.stop()
    code = report(s, args.minutes)
    log = (work / "node.log").read_text(errors="replace")
    print(f"node log: {len(log.splitlines())} lines; tracebacks: {log.count('Traceback')}")
    if args.keep:
        print(f"work folder: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
