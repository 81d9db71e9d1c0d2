"""Real peers for interop tests: DCMTK (by absolute path) and pynetdicom/pydicom.

A missing peer skips the test on a developer machine and fails it when ``CI`` is set, so that
CI can never go green without having run the interop tests.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

IN_CI = bool(os.environ.get("CI"))
DCMTK_DIR = Path("/usr/bin")


def missing(what: str) -> None:
    """Skip (or, under CI, fail) because a peer is not installed."""
    if IN_CI:
        pytest.fail(f"peer missing under CI: {what}")
    pytest.skip(f"peer missing: {what}")


def dcmtk(tool: str) -> str:
    """Absolute path of a DCMTK tool (pynetdicom's console scripts shadow them on PATH)."""
    path = DCMTK_DIR / tool
    if not path.exists():
        missing(f"DCMTK {tool} (apt-get install dcmtk)")
    return str(path)


def dcmtk_env() -> dict[str, str]:
    """Environment for DCMTK tools: TCP_NODELAY=1, or Debian's build leaves Nagle on."""
    env = dict(os.environ)
    env["TCP_NODELAY"] = "1"
    return env


def run_dcmtk(
    tool: str, *args: str, timeout: float = 60, check: bool = True, **kw: object
) -> subprocess.CompletedProcess[str]:
    """Run a DCMTK tool, output as text. Bytes that are not UTF-8 become U+FFFD: a tool dumping
    a damaged file may print whatever lies past its end (dcmdump on a file cut inside a value
    printed a stray 0xFD), which must not fail the test before it asserts anything."""
    kw.setdefault("errors", "replace")
    proc = subprocess.run(  # noqa: PLW1510 - the return code is checked below
        [dcmtk(tool), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dcmtk_env(),
        **kw,  # type: ignore[call-overload]
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{tool} {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def require_module(name: str):  # type: ignore[no-untyped-def]
    """Import a test-only oracle (pydicom, pynetdicom) or skip/fail."""
    try:
        return __import__(name)
    except ImportError:
        missing(f"python package {name}")


#: ports :func:`free_port` has handed out in this process (never twice)
_GIVEN: set[int] = set()


def _ephemeral_low() -> int:
    """The first port of the kernel's ephemeral range (bind to port 0, outgoing connections)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as fp:
            return int(fp.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now, for a server a test starts, never one this process
    was given before.

    It comes from below the kernel's ephemeral range: a port of that range may be handed, in
    the moment between this call and the server's bind, to any other process binding port 0
    or connecting out -- on a machine running several test sessions a node's DICOMweb port
    went to another test's server that way, and the test's STOW-RS met that server
    ("Connection reset by peer"). Only a process choosing a port the same way may still
    take it."""
    high = _ephemeral_low()
    low = 10_000
    for _ in range(200) if high - low >= 1000 else ():
        port = random.randrange(low, high)
        if port in _GIVEN:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:  # in use (or in TIME_WAIT): another one
                continue
        _GIVEN.add(port)
        return port
    while True:  # no room below the ephemeral range: let the kernel choose
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _GIVEN:
            _GIVEN.add(port)
            return port


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports (see :func:`free_port`)."""
    return [free_port() for _ in range(count)]


def wait_for_output(
    proc: subprocess.Popen[Any],
    text: str | re.Pattern[str],
    timeout: float = 20.0,
    *,
    stream: str = "err",
) -> str:
    """Poll until a server started by :func:`start_server` has written ``text`` (or a match
    of the pattern) to its stderr (or ``stream="out"``); what it wrote so far. Fails at
    once, with that output, when the server exits first. The output file is read with
    ``pread``: the server's writes share its offset."""
    files = _OUTPUT[proc]
    fp = files.err if stream == "err" and files.err is not None else files.out
    deadline = time.monotonic() + timeout
    while True:
        data = os.pread(fp.fileno(), 1 << 20, 0).decode(errors="replace")
        if (text in data) if isinstance(text, str) else text.search(data):
            return data
        if proc.poll() is not None:
            raise AssertionError(f"server exited ({proc.returncode}) before {text!r}:\n{data}")
        if time.monotonic() > deadline:
            raise AssertionError(f"server did not write {text!r} within {timeout}s:\n{data}")
        time.sleep(0.02)


def wait_for_port(
    port: int, timeout: float = 10.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    """Poll until something listens on 127.0.0.1:port (bounded; no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"server exited early with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    raise AssertionError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


@contextlib.contextmanager
def dcmtk_server(
    tool: str, *args: str, port: int, cwd: str | Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a DCMTK server tool (storescp, dcmqrscp ...) and stop it afterwards; its output
    (stdout and stderr together) is what :func:`stop_and_read` returns."""
    proc = start_server([dcmtk(tool), *args], cwd=cwd, env=dcmtk_env(), merge=True)
    try:
        wait_for_port(port, proc=proc)
        yield proc
    finally:
        stop(proc, timeout=5)


#: A server's output files, read by stop(). Not pipes: a pipe nobody reads while the server
#: runs fills up (64 KiB of log) and stalls the server in the middle of an association.
_OUTPUT: weakref.WeakKeyDictionary[subprocess.Popen[Any], _Output] = weakref.WeakKeyDictionary()


@dataclass
class _Output:
    out: IO[bytes]
    err: IO[bytes] | None
    text: bool
    result: tuple[Any, Any] | None = None


def start_server(
    argv: list[str],
    *,
    text: bool = False,
    merge: bool = False,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
) -> subprocess.Popen[Any]:
    """Start a server process with its stdout and stderr (one stream if ``merge``) going to
    temporary files; :func:`stop` ends it and returns what it wrote."""
    # the files outlive this call: stop() reads and closes them
    out = tempfile.TemporaryFile()  # noqa: SIM115
    err = None if merge else tempfile.TemporaryFile()  # noqa: SIM115
    stderr: Any = subprocess.STDOUT if merge else err
    try:
        proc = subprocess.Popen(argv, stdout=out, stderr=stderr, env=env, cwd=cwd)
    except BaseException:
        out.close()
        if err is not None:
            err.close()
        raise
    _OUTPUT[proc] = _Output(out, err, text)
    return proc


def stop(
    proc: subprocess.Popen[Any], sig: int = signal.SIGTERM, timeout: float = 10
) -> tuple[Any, Any]:
    """Stop a server process (``sig``, then SIGKILL after ``timeout``) and return what it
    printed, ``(stdout, stderr)`` (``stderr`` None when merged into stdout). Pipes are read to
    the end and closed, output files of :func:`start_server` read and closed. Calling it again
    returns the same output."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        piped = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        piped = proc.communicate()
    files = _OUTPUT.get(proc)
    if files is None:
        return piped
    if files.result is None:
        texts: list[Any] = []
        for fp in (files.out, files.err):
            if fp is None:
                texts.append(None)
                continue
            fp.seek(0)
            data = fp.read()
            fp.close()
            texts.append(data.decode(errors="replace") if files.text else data)
        files.result = (texts[0], texts[1])
    return files.result


def stop_and_read(proc: subprocess.Popen[bytes]) -> str:
    """Stop a DCMTK server started by :func:`dcmtk_server` and return its output."""
    out, _ = stop(proc)
    return (out or b"").decode(errors="replace")


def which_python_tool(name: str) -> str | None:
    return shutil.which(name)
