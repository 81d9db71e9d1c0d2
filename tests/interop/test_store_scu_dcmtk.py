"""``dicomkit store`` (the blocking SCU) against DCMTK's storescp (by absolute path,
TCP_NODELAY=1): files sent from their bytes arrive byte for byte; a refused syntax is
converted; a bad file fails alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import peers
import pytest
from helpers import data_set_bytes, plain_part10_files

from dicomkit.cli._main import main
from dicomkit.io._part10 import read_file_meta
from dicomkit.services._store_scu import read_instance

pytestmark = pytest.mark.interop
IMPLICIT, EXPLICIT = "1.2.840.10008.1.2", "1.2.840.10008.1.2.1"


def _storescp(tmp_path: Path, *options: str) -> Iterator[tuple[int, Path]]:
    out = tmp_path / "dcmtk"
    out.mkdir()
    port = peers.free_port()
    with peers.dcmtk_server(
        "storescp", "-od", str(out), "-aet", "STORESCP", *options, str(port), port=port
    ):
        yield port, out


@pytest.fixture
def bit_preserving(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """storescp writing each data set exactly as received, taking 4 KiB PDUs."""
    yield from _storescp(tmp_path, "+B", "+xa", "-pdu", "4096")


@pytest.fixture
def implicit_only(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    yield from _storescp(tmp_path, "+xi")


def _stored(out: Path, sop_instance: str) -> Path:
    matches = [p for p in out.iterdir() if p.name.endswith(sop_instance)]
    assert len(matches) == 1, list(out.iterdir())
    return matches[0]


def test_files_arrive_byte_for_byte(
    bit_preserving: tuple[int, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port, out = bit_preserving
    sources = plain_part10_files(3)
    big = tmp_path / "big.dcm"  # 2.5 MiB of trailing padding: pieces of ~1 MiB, 4 KiB PDUs
    pad = bytes(range(256)) * (10 << 10)
    big.write_bytes(
        sources[0].read_bytes()
        + b"\xfc\xff\xfc\xffOB\x00\x00"
        + len(pad).to_bytes(4, "little")
        + pad
    )
    files = [big, sources[1], sources[2]]
    code = main(["store", "-q", "--aec", "STORESCP", "127.0.0.1", str(port), *map(str, files)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "stored 3 of 3 files" in captured.out
    for path in files:
        stored = _stored(out, read_instance(path).sop_instance)
        assert data_set_bytes(stored) == data_set_bytes(path), path


def test_a_refused_syntax_is_converted_and_a_bad_file_fails_alone(
    implicit_only: tuple[int, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port, out = implicit_only
    good, other = plain_part10_files(2)
    broken = tmp_path / "broken.dcm"
    data = other.read_bytes()
    _, offset = read_file_meta(data)
    broken.write_bytes(data[:offset] + b"\x08\x00\x16\x00UI\xff\x7f" + b"x" * 64)
    code = main(["store", "--aec", "STORESCP", "127.0.0.1", str(port), str(broken), str(good)])
    captured = capsys.readouterr()
    assert code == 1
    assert f"FAILED {broken}" in captured.err and "cut off" in captured.err
    assert "stored 1 of 2 files" in captured.out and "1 failed" in captured.out
    stored = _stored(out, read_instance(good).sop_instance)
    meta, _ = read_file_meta(stored.read_bytes())
    assert str(meta.get(0x00020010)).rstrip("\x00 ") == IMPLICIT
    pydicom = peers.require_module("pydicom")
    a, b = pydicom.dcmread(good), pydicom.dcmread(stored)
    assert [e.tag for e in a if e.tag & 0xFFFF] == [e.tag for e in b if e.tag & 0xFFFF]
    assert a.PixelData == b.PixelData
