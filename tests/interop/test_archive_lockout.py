"""Lock-out, from outside: idle and stalled peers cannot keep `dicomkit serve` from answering.

With the node's default limits, DCMTK's echoscu is still answered while 64 idle associations
(one calling AE title) and 200 stalled connections (half an A-ASSOCIATE-RQ each) are open;
a peer trickling one byte at a time is dropped; an oversized A-ASSOCIATE-RQ is refused at its
header, not buffered.
"""

from __future__ import annotations

import socket
import struct
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "archive"))
import raw_peer as rp
from archive_helpers import serving
from peers import dcmtk, free_port, run_dcmtk

pytestmark = pytest.mark.interop


def _echoscu(port: int) -> int:
    proc = run_dcmtk(
        "echoscu",
        "-aet",
        "ECHOSCU",
        "-aec",
        "DICOMKIT",
        "-to",
        "10",
        "127.0.0.1",
        str(port),
        check=False,
        timeout=30,
    )
    return proc.returncode


def test_echoscu_answered_while_64_idle_and_200_stalled(tmp_path: Path) -> None:
    dcmtk("echoscu")
    port = free_port()
    idle: list[socket.socket] = []
    stalled: list[socket.socket] = []
    with serving(tmp_path / "arch", port):
        try:
            kinds = []
            for _ in range(64):
                sock, kind = rp.associate(port, calling=b"IDLER")
                idle.append(sock)
                kinds.append(kind)
            assert kinds.count(0x02) >= 1  # some were admitted and now sit idle
            rq = rp.associate_rq(calling=b"STALLER")
            for _ in range(200):
                sock = rp.connect(port)
                sock.sendall(rq[: len(rq) // 2])
                stalled.append(sock)
            assert _echoscu(port) == 0
        finally:
            for sock in idle + stalled:
                sock.close()


def test_echoscu_locked_out_without_per_aet_limit(tmp_path: Path) -> None:
    """The check above can fail: with the per-host / per-AE limits off, 64 idle associations
    fill the node and echoscu is rejected."""
    dcmtk("echoscu")
    port = free_port()
    idle: list[socket.socket] = []
    with serving(tmp_path / "arch", port, "--max-per-aet", "0", "--max-per-host", "0"):
        try:
            for _ in range(64):
                sock, kind = rp.associate(port, calling=b"IDLER")
                assert kind == 0x02
                idle.append(sock)
            assert _echoscu(port) != 0
        finally:
            for sock in idle:
                sock.close()


def test_one_byte_at_a_time_cannot_hold_an_association(tmp_path: Path) -> None:
    port = free_port()
    with serving(tmp_path / "arch", port, "--dimse-timeout", "2", "--idle-timeout", "600"):
        sock, kind = rp.associate(port)
        assert kind == 0x02
        echo = rp.p_data(1, rp.echo_rq(), is_command=True)
        sock.settimeout(0.5)
        closed = False
        for i in range(len(echo) - 1):  # never the last byte
            try:
                sock.sendall(echo[i : i + 1])
                data = sock.recv(64)
                if data == b"" or data[:1] == b"\x07":  # closed, or A-ABORT
                    closed = True
                    break
            except TimeoutError:
                continue
            except OSError:
                closed = True
                break
            time.sleep(0.5)
        sock.close()
    assert closed, "the node kept an association fed one byte every 0.5 s"


def test_oversized_associate_rq_is_refused_at_its_header(tmp_path: Path) -> None:
    port = free_port()
    with serving(tmp_path / "arch", port):
        sock = rp.connect(port)
        sock.sendall(struct.pack(">BBI", 0x01, 0, 1 << 20) + bytes(1000))
        sock.settimeout(10)
        kind, _ = rp.read_pdu(sock)
        sock.close()
        assert kind in (0, 0x03, 0x07)  # closed, rejected or aborted: not waiting for more
        # and the node still answers
        sock, kind = rp.associate(port)
        sock.close()
        assert kind == 0x02


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as fp:
        for line in fp:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_stalled_nearly_complete_requests_cost_bounded_memory(tmp_path: Path) -> None:
    """200 connections each send all but the last byte of the longest A-ASSOCIATE-RQ the node
    takes (max_request_bytes, 128 KiB): the node keeps at most max_pending of them (16 MiB of
    partial requests in all at most), so its memory stays bounded and echoscu is answered.
    (Before the cap and the shared read buffer: ~1 MB per connection.)"""
    dcmtk("echoscu")
    port = free_port()
    stalled: list[socket.socket] = []
    with serving(tmp_path / "arch", port) as proc:
        try:
            assert _echoscu(port) == 0
            before = _rss_kib(proc.pid)
            length = 128 * 1024 - 6  # the PDU's length field: header + body = 128 KiB
            body = bytes(length - 1)  # all but the last byte
            for _ in range(200):
                sock = rp.connect(port)
                try:
                    sock.sendall(struct.pack(">BBI", 0x01, 0, length) + body)
                except OSError:
                    sock.close()  # already dropped (oldest first): fine
                    continue
                stalled.append(sock)
            assert _echoscu(port) == 0
            during = _rss_kib(proc.pid)
            print(f"RSS {before / 1024:.1f} MiB -> {during / 1024:.1f} MiB under 200 stalled")
            # 200 x 128 KiB would be 25 MiB of requests alone; the caps keep it well below
            assert during - before < 48 * 1024, (before, during)
        finally:
            for sock in stalled:
                sock.close()
