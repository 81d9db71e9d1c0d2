"""The decoder's optional C element scan (src/dicomkit/io/_cscan.c): built where CI runs, used
by reads, switched off by DICOMKIT_PURE_PYTHON, and giving exactly what the pure-Python loops
give -- the same data sets, the same recorded problems, the same typed errors naming the same
offset and tag -- on sound, truncated and garbled input."""

from __future__ import annotations

import os
import random
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from builders import exp, imp, item, sq

import dicomkit
from dicomkit.core import Dataset
from dicomkit.errors import InvalidDicomError
from dicomkit.io import _decoder
from dicomkit.io._decoder import PURE_PYTHON_ENV, decode_dataset


def test_extension_is_built_where_ci_runs(c_scan: None) -> None:
    # Under CI a missing extension fails here (the c_scan fixture): the editable install must
    # build it there (scripts/test also checks that the wheel holds it).
    from dicomkit.io import _cscan

    assert Path(_cscan.__file__ or "").suffix in (".so", ".pyd")
    assert _decoder.extension_active()


class _Counting:
    """Wraps the C module, counting its calls (to see that reads go through it)."""

    def __init__(self, ext: Any) -> None:
        self.ext = ext
        self.calls = {"explicit_le": 0, "implicit_le": 0}

    def __getattr__(self, name: str) -> Any:
        fn = getattr(self.ext, name)

        def call(*args: Any) -> Any:
            self.calls[name] += 1
            return fn(*args)

        return call


def test_reads_use_the_extension(c_scan: None) -> None:
    counting = _decoder._EXT = _Counting(_decoder._EXT)
    body = exp(0x00100010, "PN", b"DOE^J ") + exp(0x00100020, "LO", b"ID1 ")
    got = decode_dataset(body, implicit=False, little=True)
    assert counting.calls["explicit_le"] >= 1
    assert got.get("PatientID") == "ID1"
    decode_dataset(
        imp(0x00100010, b"DOE^J ") + imp(0x00100020, b"ID1 "), implicit=True, little=True
    )
    assert counting.calls["implicit_le"] >= 1


def _extension_active_in(env: dict[str, str]) -> str:
    code = "from dicomkit.io import _decoder; print(_decoder.extension_active())"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_environment_variable_forces_pure_python(c_scan: None) -> None:
    env = {k: v for k, v in os.environ.items() if k != PURE_PYTHON_ENV}
    assert _extension_active_in(env) == "True"
    assert _extension_active_in({**env, PURE_PYTHON_ENV: "1"}) == "False"
    assert _extension_active_in({**env, PURE_PYTHON_ENV: "0"}) == "True"


# -- the same results from both paths ----------------------------------------------------------
def _dump(ds: Dataset) -> list[Any]:
    """Every element as stored (raw entries with their value type), sequences parsed (a
    malformed one's error in its place)."""
    out: list[Any] = []
    for tag, e in ds.raw_elements.items():
        if type(e) is tuple:
            out.append((tag, e[0], type(e[1]).__name__, bytes(e[1])))
        elif e.vr == "SQ":
            try:
                out.append((tag, "SQ", [_dump(i) for i in e.value]))
            except InvalidDicomError as exc:
                out.append((tag, "SQ", type(exc).__name__, str(exc), exc.offset, exc.tag))
        else:
            raw = e.raw
            out.append((tag, e.vr, None if raw is None else bytes(raw)))
    return out


def _outcome(read: Any) -> Any:
    try:
        ds = read()
    except InvalidDicomError as exc:
        return ("raised", type(exc).__name__, str(exc), exc.offset, exc.tag)
    errors = [(type(x).__name__, str(x), x.offset, x.tag) for x in ds.read_errors]
    return ("read", _dump(ds), errors)


def _both(read: Any) -> tuple[Any, Any]:
    """The outcome of ``read`` with the C scan, and with the pure-Python loops."""
    _decoder.use_extension(True)
    with_c = _outcome(read)
    _decoder.use_extension(False)
    try:
        pure = _outcome(read)
    finally:
        _decoder.use_extension(True)
    return with_c, pure


def _explicit_body(
    pixels: bytes = b"\x01\x00" * 8, filler: bytes = bytes(range(1, 251)) * 280
) -> bytes:
    code = exp(0x00080100, "SH", b"T-0001") + exp(0x00080102, "SH", b"SRT ")
    return (
        exp(0x00080005, "CS", b"ISO_IR 100")
        + exp(0x00080016, "UI", b"1.2.840.10008.5.1.4.1.1.2\x00")
        + exp(0x00090010, "LO", b"ACME 1.0")
        + exp(0x00091001, "UN", b"\x01\x02\x03\x04")
        + exp(0x00100010, "PN", "Gr\u00fc\u00df^J".encode("latin-1"))
        + sq(0x00081110, [item(code), item(code, undefined=True)])
        + sq(0x00082218, [item(code)], undefined=True)
        + exp(0x00200032, "DS", b"-180.0\\-180.0\\-150")
        + exp(0x00280010, "US", struct.pack("<H", 512))
        + exp(0x00281201, "OW", bytes(range(256)) * 2)
        + exp(0x00291010, "OB", filler)  # by default past LARGE_VALUE: a memoryview
        + exp(0x7FE00010, "OW", pixels)
    )


def _implicit_body() -> bytes:
    code = imp(0x00080100, b"T-0001") + imp(0x00080102, b"SRT ")
    return (
        imp(0x00080005, b"ISO_IR 100")
        + imp(0x00080016, b"1.2.840.10008.5.1.4.1.1.2\x00")
        + imp(0x00090010, b"ACME 1.0")
        + imp(0x00091001, b"\x01\x02\x03\x04")
        + imp(0x00100010, b"DOE^J ")
        + imp(0x00111234, b"odd")  # a private tag with no creator: UN
        + imp(0x00211000, b"0123")  # no dictionary entry either
        + sq(0x00081110, [item(code), item(code, undefined=True)], implicit=True)
        + sq(0x00082218, [item(code)], undefined=True, implicit=True)
        + imp(0x00200032, b"-180.0\\-180.0\\-150")
        + imp(0x00280010, struct.pack("<H", 512))
        + imp(0x00291010, bytes(range(1, 251)) * 280)
        + imp(0x7FE00010, b"\x01\x00" * 8)
    )


def _part10(body: bytes, implicit: bool) -> bytes:
    ts = b"1.2.840.10008.1.2\x00" if implicit else b"1.2.840.10008.1.2.1\x00"
    meta = exp(0x00020001, "OB", b"\x00\x01") + exp(0x00020010, "UI", ts)
    meta = exp(0x00020000, "UL", struct.pack("<L", len(meta))) + meta
    return b"\x00" * 128 + b"DICM" + meta + body


def _mutants(data: bytes, seed: int, n: int) -> list[bytes]:
    """Truncations at many offsets, and bytes garbled, lengths and VRs broken (seeded)."""
    rnd = random.Random(seed)
    cuts = sorted({rnd.randrange(len(data)) for _ in range(n)} | set(range(0, 400, 3)))
    out = [data[:c] for c in cuts]
    nasty = [0xFFFFFFFF, 0x7FFFFFFF, 0, 1, 3, 0xFFFF, 0xFFFE0000, 0xFFFEE00D, 0x10000]
    head = min(len(data), 600)  # the element headers are here (the long values come after)
    for _ in range(n):
        b = bytearray(data)
        kind = rnd.randrange(4)
        at = rnd.randrange(head - 4)
        if kind == 0:
            b[at] = rnd.randrange(256)
        elif kind == 1:
            b[at : at + 4] = struct.pack("<L", rnd.choice(nasty))
        elif kind == 2:
            b[at : at + 2] = rnd.choice([b"  ", b"\x00\x00", b"ZZ", b"SQ", b"UN", b"OB", b"ox"])
        else:
            del b[at : at + rnd.randrange(1, 12)]
        out.append(bytes(b))
    return out


@pytest.mark.parametrize("implicit", [False, True], ids=["explicit", "implicit"])
def test_fuzzed_data_sets_give_identical_results(c_scan: None, implicit: bool) -> None:
    body = _implicit_body() if implicit else _explicit_body()
    sound = _both(lambda: decode_dataset(body, implicit=implicit, little=True))
    assert sound[0] == sound[1]
    assert sound[0][0] == "read" and not sound[0][2]  # sound input reads without problems
    differing = []
    for i, data in enumerate(_mutants(body, 17 + implicit, 150)):
        for lenient in (False, True):
            c, py = _both(
                lambda d=data, le=lenient: decode_dataset(
                    d, implicit=implicit, little=True, lenient=le
                )
            )
            if c != py:
                differing.append((i, lenient, c, py))
    assert not differing, differing[:2]


@pytest.mark.parametrize("implicit", [False, True], ids=["explicit", "implicit"])
def test_fuzzed_files_give_identical_results(c_scan: None, implicit: bool) -> None:
    data = _part10(_implicit_body() if implicit else _explicit_body(), implicit)
    outcomes = set()
    differing = []
    for i, d in enumerate(_mutants(data, 5 + implicit, 120)):
        for kw in ({}, {"lenient": True}, {"stop_before_pixels": True}):
            c, py = _both(lambda d=d, kw=kw: dicomkit.read(d, force=True, **kw))
            outcomes.add(c[0] if c[0] == "read" else c[1])
            if c != py:
                differing.append((i, kw, c, py))
    assert not differing, differing[:2]
    # the mutations reached both the error paths and the reading ones
    assert {"read", "InvalidDicomError", "TruncatedDataError"} <= outcomes


def test_memory_mapped_file_gives_identical_results(c_scan: None, tmp_path: Path) -> None:
    # a file past MMAP_MIN is read through an mmap (the C scan reads it via the buffer protocol)
    body = _explicit_body(b"\x01\x00" * (3 * 1024 * 1024))
    path = tmp_path / "big.dcm"
    path.write_bytes(_part10(body, False))
    for kw in ({}, {"stop_before_pixels": True}, {"specific_tags": ["PatientName", 0x00280010]}):
        c, py = _both(lambda kw=kw: dicomkit.read(path, **kw))
        assert c == py
        assert c[0] == "read"


# -- reading a path: plain system calls (io._part10._load) ---------------------------------------
@pytest.mark.parametrize(
    ("header", "reads"),
    [(3_000, 1), (30_000, 2), (70_000, 3)],
    ids=["first-chunk", "second-chunk", "whole-file"],
)
def test_header_read_of_a_path_matches_a_full_read(
    tmp_path: Path, header: int, reads: int, chunk_reads: list[int]
) -> None:
    from dicomkit.io._part10 import HEAD_CHUNK, HEAD_FIRST

    # larger than 4 x HEAD_CHUNK: a header read parses the first HEAD_FIRST bytes, then
    # HEAD_CHUNK, then the whole file, until the header fits
    assert HEAD_FIRST < 30_000 < HEAD_CHUNK < 70_000
    body = _explicit_body(b"\x01\x00" * (3 * HEAD_CHUNK), bytes(range(1, 251)) * (header // 250))
    path = tmp_path / "ct.dcm"
    path.write_bytes(_part10(body, False))
    head = dicomkit.read(path, stop_before_pixels=True)
    assert chunk_reads == [HEAD_FIRST, HEAD_CHUNK, 0][:reads]  # 0: the whole file
    full = dicomkit.read(str(path))
    assert head.filename == full.filename == str(path)
    assert _dump(head) == [e for e in _dump(full) if e[0] != 0x7FE00010]
    assert len(full.raw_elements[0x7FE00010][1]) == 6 * HEAD_CHUNK
    # a file shorter than its header chunk is read whole
    small = tmp_path / "small.dcm"
    small.write_bytes(_part10(_explicit_body(), False))
    assert _dump(dicomkit.read(small, stop_before_pixels=True)) == _dump(dicomkit.read(small))[:-1]


def test_reading_a_missing_path_or_a_folder_names_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nothing\.dcm"):
        dicomkit.read(tmp_path / "nothing.dcm", stop_before_pixels=True)
    with pytest.raises(IsADirectoryError):
        dicomkit.read(tmp_path)


def test_a_stale_build_is_not_used(c_scan: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    from dicomkit.io import _cscan

    assert _cscan.API == _decoder.CSCAN_API
    stale = types.ModuleType("dicomkit.io._cscan")
    stale.API = _decoder.CSCAN_API - 1  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "dicomkit.io._cscan", stale)
    monkeypatch.setattr(sys.modules["dicomkit.io"], "_cscan", stale)
    assert not _decoder.use_extension(True)  # the Python loops instead of a wrong call
