"""WADO-RS bodies of stored files: the pieces, their blocks and what is read for them."""

from __future__ import annotations

import email.parser
import email.policy
from pathlib import Path
from typing import Any

import pytest

from dicomkit.web._file_parts import _Range, blocks, read_block


def _body(pieces: list[Any], block: int) -> bytes:
    return b"".join(bytes(read_block(b)) for b in blocks(pieces, block))


@pytest.mark.parametrize("block", [7, 64, 1000, 1 << 20])
def test_blocks_read_back_to_the_whole_body(tmp_path: Path, block: int) -> None:
    files = []
    for i, size in enumerate([0, 1, 50, 333, 999]):
        path = tmp_path / f"{i}.dcm"
        path.write_bytes(bytes((i * 7 + k) % 251 for k in range(size)))
        files.append(path)
    pieces: list[Any] = []
    expected = b""
    for path in files:
        head = b"--b\r\nContent-Type: application/dicom\r\n\r\n"
        pieces += [head, _Range(path, 0, path.stat().st_size), b"\r\n"]
        expected += head + path.read_bytes() + b"\r\n"
    pieces.append(b"--b--\r\n")
    expected += b"--b--\r\n"
    grouped = blocks(pieces, block)
    sizes = [len(read_block(b)) for b in grouped]
    # a block is full unless a header did not fit (headers are not split) or it is the last
    assert all(s <= max(block, 44) for s in sizes)
    assert _body(pieces, block) == expected
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b'Content-Type: multipart/related; boundary="b"\r\n\r\n' + expected
    )
    assert [p.get_payload(decode=True) or b"" for p in msg.iter_parts()] == [
        f.read_bytes() for f in files
    ]


def test_a_file_that_shrank_is_not_sent_short(tmp_path: Path) -> None:
    path = tmp_path / "x.dcm"
    path.write_bytes(b"x" * 100)
    pieces = [_Range(path, 0, 100)]
    path.write_bytes(b"x" * 60)  # replaced after its size was taken
    with pytest.raises(OSError, match="changed while it was being sent"):
        read_block(blocks(pieces)[0])


def test_offsets_split_one_file_across_blocks(tmp_path: Path) -> None:
    path = tmp_path / "big.dcm"
    data = bytes(range(256)) * 40
    path.write_bytes(data)
    grouped = blocks([_Range(path, 0, len(data))], 1000)
    assert len(grouped) == 11
    assert [r.offset for (r,) in grouped] == list(range(0, len(data), 1000))  # type: ignore[attr-defined]
    assert b"".join(bytes(read_block(b)) for b in grouped) == data
