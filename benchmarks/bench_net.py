#!/usr/bin/env python3
"""Network speed on 127.0.0.1: DCMTK vs pynetdicom vs dicomkit, each talking to itself. Issue #4.

    python benchmarks/bench_net.py                       # everything, full corpus
    BENCH_SIZE=quick python benchmarks/bench_net.py --repeat 1
    python benchmarks/bench_net.py --impl dicomkit --impl dcmtk --only echo --only store-ct

Workloads (SCU -> SCP of the same implementation; median of --repeat runs):
  echo         C-ECHO round trips/s on one association (--echo-n messages)
  store-ct     C-STORE of the CT series (files/s, MB/s), one association
  store-big    C-STORE of the 100 MB multi-frame files (big/), one association
  store-1g     C-STORE of the 1 GiB instance: time and the receiving SCP's peak RSS (VmHWM)
  conc50       50 associations storing at once (the CT series split between them)

Side by side against one DCMTK ``storescp`` (issue #17's C-ECHO rows; the SCUs as users run
them, whole processes, alternating in each round; CPU = user + system of the SCU process):
  echo-dcmtk   ``dicomkit echo --repeat N`` vs ``echoscu --repeat N`` (--echo-repeat, 2000):
               messages/s of the whole process, and per message (t(N) - t(1)) / (N - 1)
  echo-procs   --echo-procs (25) separate ``dicomkit echo`` vs ``echoscu`` processes, one
               after another (one association, one C-ECHO each): processes/s
  store-dcmtk  ``dicomkit store -q`` vs ``storescu`` sending the CT series (one association,
               one process each) to the same storescp, which writes to a tmpfs (/dev/shm)
               without syncing: files/s of the whole process; CPU of the SCU and of storescp

DCMTK runs as /usr/bin/storescp, /usr/bin/storescu, /usr/bin/echoscu with TCP_NODELAY=1 (the
absolute paths matter: pynetdicom installs console scripts with the same names). DCMTK's
time is the wall time of the SCU process (echo: t(N) minus the median t(1), so process start
and association set-up cancel); the Python SCUs run in a subprocess and time themselves after
import, from association request to release. Every implementation uses its default PDU size.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import common
import corpus
from common import Result

BASELINE = "dcmtk"
DCMTK_ENV = dict(os.environ, TCP_NODELAY="1")
CT, ECT, VERIF = "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.2.1", "1.2.840.10008.1.1"


def dcmtk(tool: str) -> str:
    return f"/usr/bin/{tool}"


# --- pynetdicom peer, run as `bench_net.py _pynd ...` in its own process ---------------------
def pynd_main(argv: list[str]) -> int:
    from pynetdicom import AE, _config, evt

    role, port = argv[0], int(argv[1])
    ae = AE(ae_title="BENCH")
    ae.acse_timeout = ae.network_timeout = 900
    # a pynetdicom SCU has been seen to wait forever for one response (C-ECHO-RSP, C-STORE-RSP)
    # on a loaded machine: fail that run (it is retried once) rather than hang for 15 minutes
    ae.dimse_timeout = 30 if role == "echo" else 180
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

    syntaxes = [ExplicitVRLittleEndian, ImplicitVRLittleEndian]  # the files' own first
    if role == "scp":
        out, chunked = Path(argv[2]), argv[3] == "chunked"
        _config.STORE_RECV_CHUNKED_DATASET = chunked
        ae.maximum_associations = 64
        for uid in (CT, ECT, VERIF):
            ae.add_supported_context(uid, syntaxes)

        def on_store(event):
            dst = out / (event.request.AffectedSOPInstanceUID + ".dcm")
            if chunked:
                shutil.move(event.dataset_path, dst)
            else:
                with open(dst, "wb") as f:
                    f.write(event.encoded_dataset())
            return 0x0000

        ae.start_server(("127.0.0.1", port), block=True, evt_handlers=[(evt.EVT_C_STORE, on_store)])
        return 0
    _config.STORE_SEND_CHUNKED_DATASET = "chunked" in argv[2:3]
    for uid in (VERIF, CT, ECT):  # as storescu and dicomkit do: no transcoding
        ae.add_requested_context(uid, syntaxes)
    if role == "echo":
        n = int(argv[2])
        t = time.perf_counter()
        assoc = ae.associate("127.0.0.1", port)
        assert assoc.is_established, "association rejected"
        try:
            for _ in range(n):
                assert assoc.send_c_echo().Status == 0
        finally:
            assoc.release() if assoc.is_established else assoc.abort()
    elif role == "store":
        t = time.perf_counter()
        store_files(ae, port, argv[3:])
    elif role == "conc":
        import threading

        k, files = int(argv[3]), argv[4:]
        threads = [
            threading.Thread(target=store_files, args=(ae, port, files[i::k])) for i in range(k)
        ]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    print(json.dumps({"t": time.perf_counter() - t, "hwm": common.hwm_self()}))
    return 0


def store_files(ae, port, files):
    assoc = ae.associate("127.0.0.1", port)
    assert assoc.is_established, "association rejected"
    try:
        for f in files:
            st = assoc.send_c_store(f)
            assert st and st.Status == 0, f"C-STORE failed for {f}: {st}"
    finally:  # pynetdicom's reactor thread would keep the process alive
        assoc.release() if assoc.is_established else assoc.abort()


def py_scu(*args: str) -> tuple[float, float]:
    _, _, out = common.run_measured(
        [sys.executable, str(HERE / "bench_net.py"), *args], timeout=1800
    )
    d = json.loads(out.strip().splitlines()[-1])
    return d["t"], d["hwm"]


# --- the three implementations -------------------------------------------------------------
class Dcmtk:
    name = "dcmtk"

    def available(self):
        for t in ("storescp", "storescu", "echoscu"):
            if not os.access(dcmtk(t), os.X_OK):
                return f"{dcmtk(t)} missing (apt-get install dcmtk)"
        return None

    def scp(self, port, out, variant=""):
        cmd = [dcmtk("storescp"), "-aet", "BENCHSCP", "-od", str(out)]
        if variant == "fork":
            cmd.append("--fork")
        if variant == "bitpreserving":
            cmd.append("--bit-preserving")
        return subprocess.Popen(
            [*cmd, str(port)], env=DCMTK_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def echo(self, port, n):
        cmd = [dcmtk("echoscu"), "-aec", "BENCHSCP", "127.0.0.1", str(port)]
        t1 = sorted(
            common.run_measured([cmd[0], "--repeat", "1", *cmd[1:]], env=DCMTK_ENV)[0]
            for _ in range(3)
        )[1]  # process start + association: subtracted
        tn = common.run_measured([cmd[0], "--repeat", str(n), *cmd[1:]], env=DCMTK_ENV)[0]
        return max(tn - t1, tn / 2) * n / (n - 1)

    def store(self, port, files, variant=""):
        cmd = [dcmtk("storescu"), "-aec", "BENCHSCP", "127.0.0.1", str(port), *files]
        return common.run_measured(cmd, env=DCMTK_ENV, timeout=1800)[0]

    def concurrent(self, port, files, k):
        t = time.perf_counter()
        procs = [
            subprocess.Popen(
                [dcmtk("storescu"), "-aec", "BENCHSCP", "127.0.0.1", str(port), *files[i::k]],
                env=DCMTK_ENV,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for i in range(k)
        ]
        bad = [p.wait() for p in procs]
        if any(bad):
            raise RuntimeError(f"{sum(1 for b in bad if b)} storescu processes failed")
        return time.perf_counter() - t


class Pynetdicom:
    name = "pynetdicom"

    def available(self):
        try:
            import pynetdicom  # noqa: F401
        except ImportError as e:
            return str(e)

    def scp(self, port, out, variant=""):
        cmd = [sys.executable, str(HERE / "bench_net.py"), "_pynd", "scp", str(port), str(out)]
        return subprocess.Popen(
            [*cmd, variant or "memory"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def echo(self, port, n):
        return py_scu("_pynd", "echo", str(port), str(n))[0]

    def store(self, port, files, variant=""):
        return py_scu("_pynd", "store", str(port), variant or "memory", *files)[0]

    def concurrent(self, port, files, k):
        return py_scu("_pynd", "conc", str(port), "memory", str(k), *files)[0]


class Dicomkit:
    name = "dicomkit"
    variants_1g = ("",)

    def available(self):
        src = common.REPO / "src" / "dicomkit"
        for f in (
            "cli/_receive.py",
            "net/_association.py",
            "services/_storage.py",
            "services/_verification.py",
        ):
            if not (src / f).exists():
                return f"src/dicomkit/{f} not written yet"
        try:
            import dicomkit.cli._receive
            import dicomkit.services._storage  # noqa: F401
        except Exception as e:  # noqa: BLE001
            return f"import failed: {type(e).__name__}: {e}"
        return None

    def scp(self, port, out, variant=""):
        # `dicomkit receive` fsyncs each file by default; DCMTK and pynetdicom do not
        cmd = [
            sys.executable,
            "-m",
            "dicomkit",
            "receive",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--out",
            str(out),
            "--aet",
            "BENCHSCP",
            # conc50: 50 associations from one host and one AE title (the defaults, 48 a host
            # and 32 an AE title, are lock-out protection)
            "--max-per-host",
            "0",
            "--max-per-aet",
            "0",
        ]
        if variant != "fsync":
            cmd.append("--no-fsync")
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def echo(self, port, n):
        return py_scu("_dk", "echo", str(port), str(n))[0]

    def store(self, port, files, variant=""):
        return py_scu("_dk", "store", str(port), *files)[0]

    def concurrent(self, port, files, k):
        return py_scu("_dk", "conc", str(port), str(k), *files)[0]


def dk_main(argv: list[str]) -> int:
    """The dicomkit SCU, timed from association request to release (after imports); one
    association stores as ``dicomkit store`` does (blocking requestor), 50 at once on asyncio."""
    import asyncio

    from dicomkit.net import AE
    from dicomkit.services._storage import contexts_for, read_instance, store_files
    from dicomkit.services._verification import echo

    role, port = argv[0], int(argv[1])
    ae = AE("BENCH")

    async def store(files):
        insts = [read_instance(f) for f in files]
        async with ae.associate(
            "127.0.0.1", port, ae_title="BENCHSCP", contexts=contexts_for(insts)
        ) as assoc:
            res = await store_files(assoc, insts)
        bad = [r for r in res if not r.ok]
        assert not bad, f"{len(bad)} C-STOREs failed: {bad[0]}"

    def store_blocking(files):  # as `dicomkit store` sends: the blocking requestor
        from dicomkit.net._blocking import associate
        from dicomkit.services._store_scu import send_files

        insts = [read_instance(f) for f in files]
        with associate(
            "127.0.0.1", port, ae.config, ae_title="BENCHSCP", contexts=contexts_for(insts)
        ) as assoc:
            res = send_files(assoc, insts)
        bad = [r for r in res if not r.ok]
        assert not bad, f"{len(bad)} C-STOREs failed: {bad[0]}"

    async def go():
        if role == "echo":
            async with ae.associate("127.0.0.1", port, ae_title="BENCHSCP") as assoc:
                assert (await echo(assoc, int(argv[2]))).ok
        elif role == "store":
            store_blocking(argv[2:])
        else:
            k, files = int(argv[2]), argv[3:]
            await asyncio.gather(*(store(files[i::k]) for i in range(k)))

    t = time.perf_counter()
    asyncio.run(go())
    print(json.dumps({"t": time.perf_counter() - t, "hwm": common.hwm_self()}))
    return 0


IMPLS = [Dcmtk, Pynetdicom, Dicomkit]


# --- issue #17's C-ECHO rows: the two SCUs as users run them, against one DCMTK storescp ---
def cpu_run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU user+system) of one process, which must succeed."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {err.decode(errors='replace')[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime


def echo_rows(args) -> list[Result]:
    """echo-dcmtk and echo-procs (see the module docstring)."""
    from bench_startup import console_script

    jobs = [
        w for w in ("echo-dcmtk", "echo-procs", "store-dcmtk") if common.wanted(args, workload=w)
    ]
    if not jobs or not (common.wanted(args, impl="dcmtk") or common.wanted(args, impl="dicomkit")):
        return []
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    out = Path(tempfile.mkdtemp(prefix="bench-net-echo-"))
    received = Path(tempfile.mkdtemp(prefix="bench-net-storescp-", dir=shm))
    port = common.free_port()
    scp = Dcmtk().scp(port, received)
    pyenv = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    pyenv["PYTHONPYCACHEPREFIX"] = str(out / "pycache")  # .pyc as installed
    pyenv["PYTHONPATH"] = str(common.REPO / "src")
    dk = console_script(str(out))
    n, k = args.echo_repeat, args.echo_procs
    host = ["-aec", "BENCHSCP", "127.0.0.1", str(port)]
    cmds = {
        "dcmtk": lambda r: ([dcmtk("echoscu"), "--repeat", str(r), *host], DCMTK_ENV),
        "dicomkit": lambda r: (
            [dk, "echo", "--repeat", str(r), "--aec", "BENCHSCP", "127.0.0.1", str(port)],
            pyenv,
        ),
    }
    results: list[Result] = []
    try:
        common.wait_port(port, proc=scp)
        if "echo-dcmtk" in jobs:
            runs: dict[str, list[tuple[float, float, float]]] = {i: [] for i in cmds}
            for i in range(args.repeat + 1):  # the first round warms up
                for impl, cmd in cmds.items():
                    one = min(cpu_run(*cmd(1))[0] for _ in range(3))
                    wall, cpu = cpu_run(*cmd(n))
                    if i:
                        runs[impl].append((wall, cpu, max(wall - one, wall / 2) / (n - 1)))
            label = f"echo-dcmtk: {n} C-ECHO, one association"
            for impl, rr in runs.items():
                walls = sorted(r[0] for r in rr)
                cpu = statistics.median(r[1] for r in rr)
                per = sorted(r[2] for r in rr)
                results.append(
                    Result(
                        "net",
                        label,
                        impl,
                        statistics.median(walls),
                        items=n,
                        runs=walls,
                        note=f"whole process; CPU {cpu:.3f} s; per message "
                        f"{1 / statistics.median(per):,.0f}/s ({1 / per[-1]:,.0f}-{1 / per[0]:,.0f})",
                    )
                )
        if "echo-procs" in jobs:
            pruns: dict[str, list[tuple[float, float]]] = {i: [] for i in cmds}
            for i in range(args.repeat + 1):
                for impl, cmd in cmds.items():
                    t, cpu = time.perf_counter(), 0.0
                    for _ in range(k):
                        cpu += cpu_run(*cmd(1))[1]
                    if i:
                        pruns[impl].append((time.perf_counter() - t, cpu))
            label = f"echo-procs: {k} echo processes, one by one"
            for impl, rr in pruns.items():
                walls = sorted(r[0] for r in rr)
                cpu = statistics.median(r[1] for r in rr) / k
                results.append(
                    Result(
                        "net",
                        label,
                        impl,
                        statistics.median(walls),
                        items=k,
                        runs=walls,
                        note=f"{statistics.median(walls) / k * 1000:.0f} ms a process "
                        f"({walls[0] / k * 1000:.0f}-{walls[-1] / k * 1000:.0f}); "
                        f"CPU {cpu * 1000:.0f} ms a process",
                    )
                )
        if "store-dcmtk" in jobs:
            results += store_rows(args, dk, port, pyenv, received, scp.pid)
    finally:
        scp.terminate()
        scp.wait(10)
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(received, ignore_errors=True)
    for r in results:
        print(f"  {r.impl:10s} {r.workload}: {common.fmt(r.seconds, '.3f')} s {r.note}", flush=True)
    return [r for r in results if common.wanted(args, impl=r.impl)]


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def store_rows(args, dk: str, port: int, pyenv, received: Path, scp_pid: int) -> list[Result]:
    """store-dcmtk: each SCU sends the CT series to the one storescp, alternating."""
    corpus.ensure(("ct",))
    ct = corpus.files("ct")
    nb = common.dir_bytes(ct)
    host = ["127.0.0.1", str(port)]
    send = {
        "dcmtk": ([dcmtk("storescu"), "-aec", "BENCHSCP", *host, *ct], DCMTK_ENV),
        "dicomkit": ([dk, "store", "-q", "--aec", "BENCHSCP", *host, *ct], pyenv),
    }
    runs: dict[str, list[tuple[float, float, float]]] = {i: [] for i in send}
    for i in range(args.repeat + 1):  # the first round warms up (page cache, .pyc)
        for impl, cmd in send.items():
            for p in received.iterdir():
                p.unlink()
            before = proc_cpu(scp_pid)
            wall, cpu = cpu_run(*cmd)
            scp_cpu = proc_cpu(scp_pid) - before
            got = sum(1 for _ in received.iterdir())
            if got != len(ct):
                raise RuntimeError(f"{impl}: storescp received {got} of {len(ct)} files")
            if i:
                runs[impl].append((wall, cpu, scp_cpu))
    label = f"store-dcmtk: {len(ct)} CT files to storescp"
    results = []
    for impl, rr in runs.items():
        walls = sorted(r[0] for r in rr)
        cpus = sorted(r[1] for r in rr)
        scp_cpu = statistics.median(r[2] for r in rr)
        results.append(
            Result(
                "net",
                label,
                impl,
                statistics.median(walls),
                items=len(ct),
                nbytes=nb,
                runs=walls,
                note=f"whole process; {len(ct) / walls[-1]:.0f}-{len(ct) / walls[0]:.0f} "
                f"files/s; CPU SCU {statistics.median(cpus):.3f} s "
                f"({cpus[0]:.3f}-{cpus[-1]:.3f}), storescp {scp_cpu:.3f} s",
            )
        )
    return results


# --- running ---------------------------------------------------------------------------------
class Server:
    """One SCP process of ours, on a fresh port, receiving into its own temp dir."""

    def __init__(self, impl, variant=""):
        self.out = Path(tempfile.mkdtemp(prefix=f"bench-net-{impl.name}-"))
        self.port = common.free_port()
        self.proc = impl.scp(self.port, self.out, variant)
        common.wait_port(self.port, proc=self.proc)
        self.idle = self.hwm() or 0.0  # peak RSS after start-up, before any C-STORE

    @property
    def rss_note(self) -> str:
        return f"RSS: SCP (idle {self.idle:.0f})"

    def received(self) -> tuple[int, int]:
        """(files, bytes) in the output folder."""
        sizes = [p.stat().st_size for p in self.out.rglob("*") if p.is_file()]
        return len(sizes), sum(sizes)

    def clear(self):
        for p in self.out.iterdir():
            shutil.rmtree(p) if p.is_dir() else p.unlink()

    def hwm(self):
        return common.tree_hwm_mb(self.proc.pid)

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.out, ignore_errors=True)


def timed_runs(srv, fn, expect, repeat, warmup=1, expect_bytes=0):
    """Median of `repeat` timed calls of fn(); after each, the SCP must hold `expect` files of
    at least 99% of `expect_bytes` in all (the meta header may differ)."""
    runs = []
    for i in range(warmup + repeat):
        srv.clear()
        try:
            t = fn()
        except (RuntimeError, TimeoutError) as e:  # one retry, said out loud
            print(f"    run failed, retrying once: {str(e).strip().splitlines()[-1][:100]}")
            srv.clear()
            t = fn()
        got, nbytes = srv.received()
        if expect is not None and got < expect:
            raise RuntimeError(f"SCP stored {got} of {expect} files")
        if nbytes < 0.99 * expect_bytes:
            raise RuntimeError(f"SCP stored {nbytes} of {expect_bytes} bytes")
        if i >= warmup:
            runs.append(t)
    srv.clear()
    return sorted(runs)[len(runs) // 2], runs


def jobs_for(impl, args) -> list[tuple[str, object]]:
    """(workload label, thunk) pairs; a thunk runs one measurement and returns its Result."""
    jobs = []

    def rec(label, fn):
        if not common.wanted(args, workload=label.split(":")[0]):
            return

        def job():
            try:
                r = fn()
            except Exception as e:  # noqa: BLE001 - report, go on with the next workload
                msg = str(e).strip().splitlines()
                why = (msg[-1] if msg else type(e).__name__)[:80]
                r = Result("net", label, impl.name, None, note=f"error: {why}")
            r.workload = label
            print(
                f"  {r.impl:10s} {label}: {common.fmt(r.seconds, '.3f')} s {r.note}  "
                f"[{common.load()}]",
                flush=True,
            )
            return r

        jobs.append((label, job))

    def with_server(fn, variant=""):
        srv = Server(impl, variant)
        try:
            return fn(srv)
        finally:
            srv.close()

    n = args.echo_n
    rec(
        f"echo: {n} C-ECHO, one association",
        lambda: with_server(
            lambda s: Result(
                "net",
                "",
                impl.name,
                *timed_runs(s, lambda: impl.echo(s.port, n), None, args.repeat)[:1],
                items=n,
            )
        ),
    )
    ct, big, huge = corpus.files("ct"), corpus.files("big"), corpus.huge_path()
    for key, files in (("store-ct", ct), ("store-big", big)):
        nb = common.dir_bytes(files)

        def one(s, files=files, nb=nb):
            t, runs = timed_runs(
                s, lambda: impl.store(s.port, files), len(files), args.repeat, expect_bytes=nb
            )
            return Result(
                "net", "", impl.name, t, len(files), nb, rss_mb=s.hwm(), runs=runs, note=s.rss_note
            )

        rec(f"{key}: {len(files)} files, {nb / 1e6:.0f} MB", lambda one=one: with_server(one))
    for variant in getattr(impl, "variants_1g", [""]):

        def one_1g(s, variant=variant):
            t, _ = timed_runs(
                s,
                lambda: impl.store(s.port, [huge], variant),
                1,
                1,
                warmup=0,
                expect_bytes=os.path.getsize(huge),
            )
            return Result(
                "net",
                "",
                impl.name + (f" ({variant})" if variant else ""),
                t,
                1,
                os.path.getsize(huge),
                rss_mb=s.hwm(),
                note=s.rss_note,
            )

        rec(
            f"store-1g: {os.path.getsize(huge) / 2**30:.2g} GiB instance, SCP peak RSS",
            lambda one_1g=one_1g, variant=variant: with_server(one_1g, variant),
        )
    k = min(args.conc, len(ct))

    def conc(s):
        t, runs = timed_runs(
            s,
            lambda: impl.concurrent(s.port, ct, k),
            len(ct),
            args.repeat,
            expect_bytes=common.dir_bytes(ct),
        )
        return Result(
            "net",
            "",
            impl.name,
            t,
            len(ct),
            common.dir_bytes(ct),
            rss_mb=s.hwm(),
            runs=runs,
            note=s.rss_note,
        )

    rec(
        f"conc50: {k} assocs at once, {len(ct)} CT",
        lambda: with_server(conc, "fork" if impl.name == "dcmtk" else ""),
    )
    return jobs


Dcmtk.variants_1g = ("", "bitpreserving")
Pynetdicom.variants_1g = ("", "chunked")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_pynd":
        return pynd_main(argv[1:])
    if argv and argv[0] == "_dk":
        return dk_main(argv[1:])
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    common.add_common_args(ap)
    ap.set_defaults(repeat=int(os.environ.get("BENCH_REPEAT", "3")))
    ap.add_argument("--echo-n", type=int, default=200 if corpus.quick() else 1000)
    ap.add_argument("--conc", type=int, default=50)
    ap.add_argument("--echo-repeat", type=int, default=2000, help="echo-dcmtk: C-ECHOs (2000)")
    ap.add_argument("--echo-procs", type=int, default=25, help="echo-procs: processes (25)")
    args = ap.parse_args(argv)
    print(f"bench_net: repeat={args.repeat}; {common.load()}")
    results: list[Result] = echo_rows(args)
    if args.only and all(o.startswith(("echo-", "store-dcmtk")) for o in args.only):
        common.print_table(results, BASELINE, "bench_net: ratio = DCMTK time / impl time")
        common.save_json(results, args.json)
        return 0
    corpus.ensure()
    jobs: list[tuple[str, object]] = []
    for cls in IMPLS:
        impl = cls()
        if not common.wanted(args, impl=impl.name):
            continue
        why = impl.available()
        if why:
            print(f"  {impl.name}: not available yet: {why}")
            results.append(
                Result(
                    "net",
                    "(implementation missing)",
                    impl.name,
                    None,
                    note=f"not available yet: {why}",
                )
            )
            continue
        jobs += jobs_for(impl, args)
    # workload-major: every implementation runs one workload before the next starts, so a
    # change in machine load is shared more evenly than impl-after-impl
    order = list(dict.fromkeys(label for label, _ in jobs))
    for label in order:
        results += [job() for lab, job in jobs if lab == label]
    order = list(dict.fromkeys(r.workload for r in results))
    results.sort(key=lambda r: order.index(r.workload))
    common.print_table(
        results, BASELINE, "bench_net: ratio = DCMTK time / impl time (>1: faster than DCMTK)"
    )
    common.save_json(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
