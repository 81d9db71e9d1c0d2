"""Bad input from the network, from outside: a raw-socket peer against `dicomkit serve`.

Every C-STORE gets a response (UIDs the node cannot echo are left out of it, PS3.7 9.1), a
non-ASCII AE title gets A-ASSOCIATE-RJ, and a flood of bad requests writes a bounded number of
log lines (one shared rate limit, no tracebacks).
"""

from __future__ import annotations

import signal
import struct
import time
from pathlib import Path

import pytest
import raw_peer as rp
from archive_helpers import serving
from peers import free_port, stop

pytestmark = pytest.mark.interop


def _store(port: int, sop_uid: bytes) -> tuple[int, dict[int, bytes]]:
    """One C-STORE over a fresh association: (PDU type of the answer, its command fields)."""
    sock, kind = rp.associate(port, abstract=rp.SC_IMAGE)
    assert kind == 0x02  # A-ASSOCIATE-AC
    with sock:
        sock.sendall(rp.p_data(1, rp.store_rq(rp.SC_IMAGE, sop_uid), is_command=True))
        sock.sendall(rp.p_data(1, rp.small_dataset(rp.SC_IMAGE, sop_uid), is_command=False))
        sock.settimeout(15)
        kind, body = rp.read_pdu(sock)
        return kind, rp.command_fields(body) if kind == 0x04 else {}


@pytest.mark.parametrize(
    "sop_uid",
    [b"1." + b"2" * 70, b"1.2.3.\xe9"],
    ids=["over-64-characters", "non-ascii-byte"],
)
def test_store_with_unencodable_uid_gets_a_failure_response(tmp_path: Path, sop_uid: bytes) -> None:
    port = free_port()
    with serving(tmp_path / "arch", port) as proc:
        kind, fields = _store(port, sop_uid)
        assert kind == 0x04, f"expected a C-STORE-RSP, got PDU type {kind}"
        status = rp.status_of(fields)
        assert status == 0xC000, f"{status:04X}"  # cannot understand: nothing stored
        # the response leaves out the SOP Instance UID it cannot encode (U(=) in PS3.7 9.1)
        assert 0x1000 not in fields
        # and the node still serves: a good instance afterwards is stored
        kind, fields = _store(port, b"1.2.826.0.1.3680043.10.543.77")
        assert kind == 0x04 and rp.status_of(fields) == 0
        _out, err = stop(proc, signal.SIGINT, timeout=15)
    assert "Traceback" not in err
    assert not list((tmp_path / "arch").rglob("*1.2222*"))


@pytest.mark.parametrize("which", ["calling", "called"])
def test_non_ascii_ae_title_is_rejected_not_aborted(tmp_path: Path, which: str) -> None:
    port = free_port()
    title = b"BAD\xe9TITLE"
    with serving(tmp_path / "arch", port) as proc:
        sock, kind = rp.associate(port, **{which: title})
        with sock:
            assert kind == 0x03, f"expected A-ASSOCIATE-RJ, got PDU type {kind}"
        _out, err = stop(proc, signal.SIGINT, timeout=15)
    assert "Traceback" not in err
    assert "internal error" not in err
    lines = [line for line in err.splitlines() if "BAD" in line]
    assert len(lines) == 1, lines  # one concise line


def test_flood_of_bad_titles_is_logged_within_a_shared_limit(tmp_path: Path) -> None:
    port = free_port()
    n = 300
    with serving(tmp_path / "arch", port) as proc:
        started = time.monotonic()
        for i in range(n):
            sock, kind = rp.associate(port, calling=b"X\xff" + str(i).encode())
            sock.close()
            assert kind == 0x03
        # refused C-STOREs draw on the same budget
        kind, fields = _store(port, b"1." + b"3" * 70)
        assert kind == 0x04 and rp.status_of(fields) >= 0xA000
        time.sleep(1.0)  # the budget refills: the next line reports what was dropped
        sock, kind = rp.associate(port, calling=b"LAST\xff")
        sock.close()
        elapsed = time.monotonic() - started
        _out, err = stop(proc, signal.SIGINT, timeout=15)
    rejected = [line for line in err.splitlines() if "association rejected" in line]
    # the shared budget (net/_loglimit.py): a burst of 20 lines, then 5 a second -- on a slow
    # machine the flood takes longer and the bucket refills more, so the bound follows the clock
    allowed = 20 + 5 * (elapsed + 1)
    assert 1 <= len(rejected) <= min(allowed, n - 1), (len(rejected), elapsed)
    # lines were dropped, and a later line (a rejection or the refused store) counted them
    assert any("suppressed" in line for line in err.splitlines())
    assert len(err) < 100 * 1024
    assert "Traceback" not in err


def test_raw_peer_echo_works(tmp_path: Path) -> None:
    """The raw peer itself is sound: a C-ECHO through it is answered with Success."""
    port = free_port()
    with serving(tmp_path / "arch", port):
        sock, kind = rp.associate(port)
        with sock:
            assert kind == 0x02
            sock.sendall(rp.p_data(1, rp.echo_rq(), is_command=True))
            kind, body = rp.read_pdu(sock)
            assert kind == 0x04
            fields = rp.command_fields(body)
            assert struct.unpack("<H", fields[0x0100])[0] == 0x8030
            assert rp.status_of(fields) == 0


def test_refused_tls_connection_is_logged(tmp_path: Path) -> None:
    from archive_helpers import make_pki

    pki = make_pki(tmp_path / "pki")
    port = free_port()
    tls = ["--tls-cert", str(pki["server"]), "--tls-key", str(pki["server_key"])]
    with serving(tmp_path / "arch", port, *tls, "--acse-timeout", "1") as proc:
        sock = rp.connect(port)
        sock.sendall(rp.associate_rq())  # plain DICOM on a TLS port: refused
        sock.settimeout(10)
        kind, _ = rp.read_pdu(sock)
        sock.close()
        assert kind == 0  # closed: the refusal was logged before the socket closed
        _out, err = stop(proc, signal.SIGINT, timeout=15)
    lines = [line for line in err.splitlines() if "TLS connection refused" in line]
    assert len(lines) == 1 and "127.0.0.1:" in lines[0], err  # names the peer
