"""The blocking Storage SCU (``dicomkit store``): files sent from their bytes on disk, converted
when the peer refuses their syntax, one bad file failing alone."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from corpus import manifest
from helpers import data_set_bytes, plain_part10_files

import dicomkit
from dicomkit.io._part10 import read_file_meta
from dicomkit.net import AEConfig
from dicomkit.net._blocking import associate
from dicomkit.net._sync import SyncAE
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services._storage import StorageSCP
from dicomkit.services._store_scu import (
    Instance,
    StoreResult,
    _scan_meta,
    contexts_for,
    read_instance,
    send_files,
)

IMPLICIT, EXPLICIT = "1.2.840.10008.1.2", "1.2.840.10008.1.2.1"


def _padded(source: Path, target: Path, extra: int) -> Path:
    """``source`` with Data Set Trailing Padding (FFFC,FFFC) OB of ``extra`` bytes appended:
    a large data set whose bytes are not all zero."""
    pad = bytes(range(256)) * (extra // 256)
    head = b"\xfc\xff\xfc\xffOB\x00\x00" + len(pad).to_bytes(4, "little")
    target.write_bytes(source.read_bytes() + head + pad)
    return target


def _send(port: int, instances: list[Instance], **kw: Any) -> list[StoreResult]:
    config = AEConfig(ae_title="SCU", **kw)
    with associate("127.0.0.1", port, config, contexts=contexts_for(instances)) as assoc:
        return send_files(assoc, instances)


def test_the_meta_scan_agrees_with_the_full_reader() -> None:
    rows = [r.path for r in manifest() if not r.broken and r.preamble][:300]
    if not rows:
        pytest.skip("corpus not available")
    scanned = 0
    for path in rows:
        try:
            inst = read_instance(path)
        except dicomkit.errors.DicomError:
            continue
        meta, offset = read_file_meta(path.read_bytes())
        if not inst.has_meta:
            continue
        scanned += 1
        assert inst.offset == offset, path
        assert inst.size == os.path.getsize(path) - offset, path
        assert inst.sop_class == str(meta.get(0x00020002)).rstrip("\x00 "), path
        assert inst.sop_instance == str(meta.get(0x00020003)).rstrip("\x00 "), path
        assert inst.transfer_syntax == str(meta.get(0x00020010)).rstrip("\x00 "), path
    assert scanned > 10


def test_odd_meta_goes_to_the_full_reader(tmp_path: Path) -> None:
    source = plain_part10_files(1)[0]
    data = source.read_bytes()
    meta, offset = read_file_meta(data)
    assert _scan_meta(data) == (
        *(str(meta.get(t)).rstrip("\x00 ") for t in (0x00020002, 0x00020003, 0x00020010)),
        offset,
    )
    # a group length that disagrees with the elements: the scan leaves it to the full reader
    bad = bytearray(data)
    assert bad[132:136] == b"\x02\x00\x00\x00"
    glen = int.from_bytes(bad[140:144], "little")
    bad[140:144] = (glen + 2).to_bytes(4, "little")
    assert _scan_meta(bytes(bad)) is None
    assert _scan_meta(data[: offset - 1]) is None  # the meta goes on past what was read
    path = tmp_path / "odd.dcm"
    path.write_bytes(bytes(bad))
    assert read_instance(path).sop_instance == read_instance(source).sop_instance


@pytest.mark.parametrize("max_pdu", [4096, 262_144, 0])
def test_files_are_sent_verbatim_in_pieces_and_pdus(
    tmp_path: Path, max_pdu: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 3 MiB data set, every byte as on disk: to a peer taking 4 KiB PDUs in pieces of
    ~1 MiB (~800 PDUs, gathering writes); to one taking 256 KiB or unlimited PDUs by
    os.sendfile."""
    sendfile, by_sendfile = os.sendfile, []

    def spy(out: int, fd: int, offset: int, count: int) -> int:
        by_sendfile.append(count)
        return sendfile(out, fd, offset, count)

    monkeypatch.setattr(os, "sendfile", spy)
    sources = plain_part10_files(2)
    big = _padded(sources[0], tmp_path / "big.dcm", 3 << 20)
    out = tmp_path / "out"
    handlers = {dimse.CStoreRequest: StorageSCP(out, fsync=False)}
    with (
        SyncAE("SCP", config=AEConfig(ae_title="SCP", max_pdu=max_pdu)) as ae,
        ae.serve(0, handlers) as server,
    ):
        instances = [read_instance(p) for p in (big, sources[1])]
        results = _send(server.port, instances)
    assert [r.status for r in results] == [0, 0], results
    assert bool(by_sendfile) == (max_pdu != 4096)  # the small file goes the gathering way
    for inst in instances:
        stored = out / f"{inst.sop_instance}.dcm"
        assert data_set_bytes(stored) == data_set_bytes(inst.path)


def test_conversion_when_the_peer_refuses_the_syntax(tmp_path: Path) -> None:
    source = plain_part10_files(1)[0]
    inst = read_instance(source)
    out = tmp_path / "out"
    handlers = {dimse.CStoreRequest: StorageSCP(out, fsync=False)}
    with (
        SyncAE("SCP", supported={inst.sop_class: [IMPLICIT]}) as ae,
        ae.serve(0, handlers) as server,
    ):
        [result] = _send(server.port, [inst])
    assert result.status == 0, result
    stored = dicomkit.read(out / f"{inst.sop_instance}.dcm")
    original = dicomkit.read(source)
    assert stored.transfer_syntax == IMPLICIT
    assert [t for t in stored if t & 0xFFFF] == [t for t in original if t & 0xFFFF]
    assert stored.get(0x7FE00010) == original.get(0x7FE00010)  # pixel data: the same bytes


def test_a_bad_file_fails_alone_with_words(tmp_path: Path) -> None:
    """Conversion needed (the peer takes implicit VR only) but the data set cannot be
    decoded; a file that shrank after the scan: each fails with its reason, the others go."""
    sources = plain_part10_files(3)
    broken = tmp_path / "broken.dcm"
    data = sources[1].read_bytes()
    _, offset = read_file_meta(data)
    broken.write_bytes(data[:offset] + b"\x08\x00\x16\x00UI\xff\x7f" + b"x" * 64)
    shrinking = tmp_path / "shrinking.dcm"
    shrinking.write_bytes(sources[2].read_bytes())
    instances = [read_instance(p) for p in (sources[0], broken, shrinking, sources[2])]
    os.truncate(shrinking, os.path.getsize(shrinking) - 100)
    out = tmp_path / "out"
    handlers = {dimse.CStoreRequest: StorageSCP(out, fsync=False)}
    supported = {i.sop_class: [IMPLICIT, EXPLICIT] for i in instances}
    supported[instances[1].sop_class] = [IMPLICIT]
    if len({i.sop_class for i in instances}) < 2:
        # one SOP class for all: the peer takes implicit only, so every file is converted
        supported = {instances[0].sop_class: [IMPLICIT]}
    with SyncAE("SCP", supported=supported) as ae, ae.serve(0, handlers) as server:
        results = _send(server.port, instances)
    good, bad, short, last = results
    assert good.ok and last.ok, results
    assert not bad.ok and bad.status is None and "cut off" in bad.error, bad
    assert not short.ok and "shorter than when it was scanned" in short.error, short
    assert (out / f"{instances[0].sop_instance}.dcm").exists()
    assert (out / f"{instances[3].sop_instance}.dcm").exists()


def test_a_meta_longer_than_the_first_read(tmp_path: Path) -> None:
    """8 KiB of Private Information (0002,0102) in the meta: the scan reads on."""
    source = plain_part10_files(1)[0]
    data = source.read_bytes()
    _, offset = read_file_meta(data)
    creator = b"1.2.3.4\x00"
    extra = (
        b"\x02\x00\x00\x01UI" + len(creator).to_bytes(2, "little") + creator
        + b"\x02\x00\x02\x01OB\x00\x00" + (8192).to_bytes(4, "little") + b"\x01" * 8192
    )  # fmt: skip
    glen = int.from_bytes(data[140:144], "little")
    big = bytearray(data[:offset] + extra + data[offset:])
    big[140:144] = (glen + len(extra)).to_bytes(4, "little")
    path = tmp_path / "long-meta.dcm"
    path.write_bytes(bytes(big))
    inst = read_instance(path)
    _, full_offset = read_file_meta(bytes(big))
    assert inst.has_meta and inst.offset == full_offset == offset + len(extra)
    assert inst.sop_instance == read_instance(source).sop_instance
    assert _scan_meta(bytes(big)[:4096]) is None  # not from the first read alone
