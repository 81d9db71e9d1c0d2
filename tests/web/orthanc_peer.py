"""Orthanc with its DICOMweb plugin (Debian ``orthanc`` + ``orthanc-dicomweb``) as a peer.

Orthanc listens on every interface, so it never runs in the host's network namespace: it
runs in a namespace of its own whose only interface is the loopback (``unshare -n``;
``unshare -rn`` when not root), with ``TCP_NODELAY=1`` in its environment and its own
configuration and storage in a temporary folder.

Two ways to reach it:

- :func:`orthanc` from an ordinary process (the tests): a bridge process started inside
  the namespace accepts on a socket bound to the host's 127.0.0.1 before the namespace was
  entered, and relays each connection to Orthanc on the namespace's loopback;
- :func:`orthanc_here` from a process that is itself in a loopback-only namespace (the
  benchmark re-executes itself there with :func:`reexec_in_netns`): Orthanc directly.

``python orthanc_peer.py bridge CONFIG HTTP_PORT FD`` is the bridge's entry point.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ORTHANC = Path("/usr/sbin/Orthanc")
PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
IP = "/usr/sbin/ip"


def available() -> str | None:
    """Why Orthanc cannot run here, or None."""
    if not ORTHANC.exists() or not PLUGIN.exists():
        return "orthanc and orthanc-dicomweb (apt-get install orthanc orthanc-dicomweb)"
    if not Path(IP).exists():
        return "ip (apt-get install iproute2)"
    if not _unshare():
        return (
            "a network namespace of its own for Orthanc (`unshare -n` needs root or "
            "CAP_SYS_ADMIN, `unshare -rn` user namespaces)"
        )
    return None


_UNSHARE: list[list[str]] = []


def _unshare() -> list[str]:
    """The ``unshare`` command line that works here (root: ``-n``; else ``-rn``), or []."""
    if not _UNSHARE:
        for cmd in (["unshare", "-n"], ["unshare", "-rn"]):
            try:
                done = subprocess.run([*cmd, "true"], check=False, capture_output=True, timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                continue
            if done.returncode == 0:
                _UNSHARE.append(cmd)
                break
        else:
            _UNSHARE.append([])
    return _UNSHARE[0]


def loopback_only() -> bool:
    """True when this process's network namespace has no interface but ``lo``."""
    return [name for _i, name in socket.if_nameindex()] == ["lo"]


def config(folder: Path, http_port: int, dicom_port: int) -> Path:
    """Write Orthanc's configuration (ports, storage under ``folder``) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    cfg = {
        "Name": "dicomkit-peer",
        "StorageDirectory": str(folder / "storage"),
        "IndexDirectory": str(folder / "storage"),
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "HttpCompressionEnabled": True,
        "KeepAlive": True,
        "TcpNoDelay": True,
        "StorageCompression": False,
        "SaveJobs": False,
        "Plugins": [str(PLUGIN)],
        "DicomWeb": {
            "Enable": True,
            "Root": "/dicom-web/",
            "EnableWado": True,
            "WadoRoot": "/wado",
        },
    }
    path = folder / "orthanc.json"
    path.write_text(json.dumps(cfg, indent=1))
    return path


def _start(cfg: Path, http_port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, TCP_NODELAY="1")
    log = open(cfg.parent / "orthanc.log", "wb")  # noqa: SIM115 - the process owns it
    proc = subprocess.Popen([str(ORTHANC), str(cfg)], stdout=log, stderr=log, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"Orthanc exited with {proc.returncode}: see {cfg.parent}/orthanc.log"
            )
        try:
            with socket.create_connection(("127.0.0.1", http_port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"Orthanc did not listen on {http_port} within 60 s")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def orthanc_here(folder: Path) -> Iterator[str]:
    """Orthanc in this process's namespace, which must be loopback-only; yields its base URL."""
    if not loopback_only():
        raise RuntimeError(
            "Orthanc listens on every interface: run it in a loopback-only namespace"
        )
    http, dicom = _free_port(), _free_port()
    proc = _start(config(folder, http, dicom), http)
    try:
        yield f"http://127.0.0.1:{http}"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def orthanc(folder: Path) -> Iterator[str]:
    """Orthanc in a loopback-only namespace of its own, reached through the bridge on the
    host's 127.0.0.1; yields the base URL (``http://127.0.0.1:PORT``)."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    inner = 8042  # Orthanc's port inside its namespace: nothing else is there
    cfg = config(folder, inner, 4242)
    fd = listener.fileno()
    with open(folder / "bridge.log", "wb") as log:
        proc = subprocess.Popen(
            [*_unshare(), sys.executable, __file__, "bridge", str(cfg), str(inner), str(fd)],
            pass_fds=[fd],
            stdout=subprocess.PIPE,
            stderr=log,
        )
    listener.close()
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != b"ready":
            proc.wait(10)
            text = (folder / "bridge.log").read_text(errors="replace")
            raise RuntimeError(
                f"Orthanc's bridge did not start ({proc.returncode}): {text[-2000:]}"
            )
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def reexec_in_netns() -> None:
    """Run this program again in a loopback-only network namespace (unless it is in one)."""
    if loopback_only():
        subprocess.run([IP, "link", "set", "lo", "up"], check=True)
        return
    os.execvp("unshare", [*_unshare(), sys.executable, *sys.argv])


async def _relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(1 << 18):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError):
        writer.close()


def _bridge(cfg: Path, inner: int, fd: int) -> None:
    subprocess.run([IP, "link", "set", "lo", "up"], check=True)
    assert loopback_only()
    proc = _start(cfg, inner)
    listener = socket.socket(fileno=fd)

    async def serve() -> None:
        async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            try:
                r2, w2 = await asyncio.open_connection("127.0.0.1", inner)
            except OSError:
                w.close()
                return
            for s in (w, w2):
                sock = s.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await asyncio.gather(_relay(r, w2), _relay(r2, w))

        server = await asyncio.start_server(handle, sock=listener)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        print("ready", flush=True)
        async with server:
            await stop.wait()

    try:
        asyncio.run(serve())
    finally:
        proc.kill()  # its storage is a throwaway folder; a clean stop takes ~4 s
        proc.wait()


if __name__ == "__main__" and sys.argv[1:2] == ["bridge"]:
    _bridge(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
