"""Small habits of the commands: ports out of range are usage errors, a failed bind leaves
nothing on disk, messages that advise force name the command's --force."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "archive"))
from archive_helpers import cli


@pytest.mark.parametrize(
    "argv",
    [
        ["echo", "127.0.0.1", "70000"],
        ["echo", "127.0.0.1", "0"],
        ["find", "127.0.0.1", "-1"],
        ["store", "127.0.0.1", "http", "x.dcm"],
        ["receive", "--port", "65536", "--out", "x"],
        ["serve", "x", "--port", "99999"],
    ],
)
def test_port_out_of_range_is_a_usage_error(argv: list[str]) -> None:
    code, _out, err = cli(*argv)
    assert code == 2, err
    assert "port" in err and "Traceback" not in err


@pytest.fixture
def busy_port() -> object:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_failed_bind_creates_nothing(tmp_path: Path, busy_port: int) -> None:
    out = tmp_path / "received"
    code, _o, err = cli(
        "receive", "--port", str(busy_port), "--host", "127.0.0.1", "--out", str(out)
    )
    assert code == 2 and "cannot listen" in err and "--port" in err
    assert not out.exists()
    archive = tmp_path / "archive"
    code, _o, err = cli("serve", str(archive), "--port", str(busy_port), "--host", "127.0.0.1")
    assert code == 2 and "cannot listen" in err
    assert not archive.exists()


def test_messages_name_force_and_force_is_offered(tmp_path: Path) -> None:
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"this is not a DICOM file at all, not even a bare data set" * 4)
    for argv in (
        ("transcode", str(junk), str(tmp_path / "t.dcm"), "--ts", "ExplicitVRLittleEndian"),
        ("anonymize", str(junk), str(tmp_path / "a.dcm")),
    ):
        code, _o, err = cli(*argv)
        assert code == 1 and "use --force" in err and "force=True" not in err, err
        code, _o, err = cli(*argv, "--force")  # accepted; the bytes still are no data set
        assert code == 1 and "--force" not in err, err
        assert not (tmp_path / "t.dcm").exists() and not (tmp_path / "a.dcm").exists()
