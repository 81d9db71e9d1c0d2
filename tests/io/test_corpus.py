"""Every file of the shared corpus: read, compare with pydicom, write back, convert, and have
pydicom and DCMTK read what we wrote."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import corpus
import peers
import pytest

import dicomkit
from dicomkit.errors import InvalidDicomError
from dicomkit.io._deflate import inflate
from dicomkit.io._part10 import read_file_meta

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

ROWS = corpus.manifest()
IDS = [r.rel for r in ROWS]
NATIVE = {
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.1.99",
}
SYNTAXES = [
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.1.99",
]
PIXEL_TAGS = {0x7FE00010, 0x7FE00008, 0x7FE00009}
WORD_VRS = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}

#: Files where pydicom is the one that is wrong, and why.
PYDICOM_WRONG = {
    "dcm4che/no_preamble_dicm_in_data": "no preamble; 'DICM' happens to sit at offset 128 inside a value and pydicom takes it "
    "for the prefix",
    "pydicom-data/emri_small_jpeg_2k_lossless_too_short.dcm": "pixel data lacks its delimiter at the end of the file; pydicom returns an empty data "
    "set, we keep every element and note the problem in read_errors",
}


def _read(row: corpus.CorpusFile) -> dicomkit.Dataset:
    if row.broken:
        with pytest.raises(InvalidDicomError):
            dicomkit.read(row.path)
        pytest.skip("broken on purpose; fails cleanly")
    return dicomkit.read(row.path)


def _norm(v: Any) -> Any:
    """A value as plain str / int / float / bytes / list for comparing two libraries."""
    if v is None:
        return None
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, str):
        return str(v)
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return float(v)
    if isinstance(v, (list, tuple)) or type(v).__name__ == "MultiValue":
        return [_norm(x) for x in v]
    return str(v)


def _empty(v: Any) -> bool:
    return v is None or v == "" or v == [] or v == b""


def _values_match(ours: Any, theirs: Any) -> bool:
    a, b = _norm(ours), _norm(theirs)
    if _empty(a) and _empty(b):
        return True
    if isinstance(a, list) and not isinstance(b, list) and len(a) == 1:
        a = a[0]
    if isinstance(b, list) and not isinstance(a, list) and len(b) == 1:
        b = b[0]
    if isinstance(a, float) and isinstance(b, (float, int)):
        return a == pytest.approx(b, rel=1e-12, nan_ok=True)
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return all(_values_match(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, str) and isinstance(b, str):
        # PN: pydicom drops empty trailing component groups ("A=B=" -> "A=B")
        return a.rstrip("\x00 =") == b.rstrip("\x00 =")
    return bool(a == b)


def _compare(ours: dicomkit.Dataset, theirs: Any, path: str, problems: list[str]) -> None:
    our_tags = set(ours.tags())
    their_tags = {int(t) for t in theirs.keys()}  # noqa: SIM118
    if our_tags != their_tags:
        problems.append(
            f"{path}: tags differ: only ours {sorted(map(hex, our_tags - their_tags))}"
            f" only pydicom {sorted(map(hex, their_tags - our_tags))}"
        )
    for tag in sorted(our_tags & their_tags):
        el = ours[tag]
        pel = theirs[tag]
        where = f"{path}{el.tag}"
        vr, pvr = el.vr, pel.VR
        replaced_un = vr == "UN" and pvr != "UN"  # pydicom replaces UN by the dictionary VR
        if vr != pvr and not replaced_un and vr not in pvr.split(" or "):
            problems.append(f"{where}: VR {vr} != pydicom {pvr}")
            continue
        if vr == "SQ":
            items, pitems = el.value, pel.value
            if len(items) != len(pitems):
                problems.append(f"{where}: {len(items)} items != pydicom {len(pitems)}")
                continue
            for i, (item, pitem) in enumerate(zip(items, pitems, strict=True)):
                _compare(item, pitem, f"{where}[{i}]", problems)
            continue
        if tag in PIXEL_TAGS:
            if len(el.value) != len(pel.value):
                problems.append(f"{where}: pixel data length {len(el.value)} != {len(pel.value)}")
            continue
        if replaced_un or vr != pvr:
            continue
        if not _values_match(el.value, pel.value):
            problems.append(f"{where} {vr}: {el.value!r:.80} != pydicom {pel.value!r:.80}")


@pytest.fixture(scope="module")
def pydicom_mod() -> Any:
    return peers.require_module("pydicom")


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_reads(row: corpus.CorpusFile) -> None:
    ds = _read(row)
    for el in ds.walk():
        _ = el.value  # every value decodes
    head = dicomkit.read(row.path, stop_before_pixels=True)
    assert set(head.tags()) == {t for t in ds.tags() if t < 0x7FE00008}


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_matches_pydicom(row: corpus.CorpusFile, pydicom_mod: Any) -> None:
    ds = _read(row)
    if row.rel in PYDICOM_WRONG:
        pytest.skip(PYDICOM_WRONG[row.rel])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pydicom_mod.dcmread(str(row.path), force=True)
    problems: list[str] = []
    _compare(ds, theirs, "", problems)
    if theirs.file_meta is not None and len(theirs.file_meta):
        assert ds.file_meta is not None
        _compare(ds.file_meta, theirs.file_meta, "meta", problems)
    assert not problems, "\n".join(problems[:20])


def _dataset_bytes(data: bytes) -> bytes:
    """The data set part of a file (after preamble and File Meta), inflated if deflated."""
    meta, pos = read_file_meta(data)
    ts = str(meta.get(0x00020010) or "").rstrip("\x00 ")
    body = data[pos:]
    return inflate(body) if ts == "1.2.840.10008.1.2.1.99" else body


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_write_back_identical(row: corpus.CorpusFile) -> None:
    ds = _read(row)
    src = row.path.read_bytes()
    out = io.BytesIO()
    if ds.file_meta is None and "SOPClassUID" not in ds:
        from dicomkit.io._encoder import encode_dataset

        assert (
            encode_dataset(ds, implicit=bool(ds.is_implicit_vr), little=ds.is_little_endian) == src
        )
        return
    dicomkit.write(ds, out)
    data = out.getvalue()
    if ds.read_errors:
        pytest.skip(f"read with errors: {ds.read_errors[0]}")
    if ds.preamble is not None and ds.file_meta is not None:
        assert data == src  # deflated files too: the stream as read is written again
    else:  # no preamble / meta to keep
        assert _dataset_bytes(data) == _dataset_bytes(src)


def _convertible(row: corpus.CorpusFile, ds: dicomkit.Dataset) -> bool:
    ts = str(ds.transfer_syntax or "")
    return ts in NATIVE


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_convert_syntaxes(row: corpus.CorpusFile, tmp_path: Path) -> None:
    ds = _read(row)
    if not _convertible(row, ds) or "SOPClassUID" not in ds:
        pytest.skip("encapsulated pixel data (or no SOP Class): conversion is transcoding")
    for ts in SYNTAXES:
        out = tmp_path / f"{ts}.dcm"
        dicomkit.write(ds, out, transfer_syntax=ts)
        back = dicomkit.read(out)
        assert str(back.transfer_syntax) == ts
        problems: list[str] = []
        _compare_own(ds, back, "", problems)
        assert not problems, f"{ts}:\n" + "\n".join(problems[:20])


def _swapped(value: Any, vr: str) -> Any:
    size = WORD_VRS.get(vr)
    if size is None or not isinstance(value, (bytes, memoryview)):
        return value
    from dicomkit.io._encoder import swap_bytes

    return swap_bytes(value, size)


def _dictionary_vrs(tag: int) -> set[str]:
    from dicomkit.dictionary import entry_for_tag

    entry = entry_for_tag(tag)
    return set(entry.vr.split(" or ")) if entry is not None else {"UN"}


def _compare_own(a: dicomkit.Dataset, b: dicomkit.Dataset, path: str, problems: list[str]) -> None:
    """Values of ``a`` and of ``b`` (``a`` written in another syntax and read back) agree."""
    tags_a = {t for t in a.tags() if t & 0xFFFF or t >> 16 == 2}
    tags_b = {t for t in b.tags() if t & 0xFFFF or t >> 16 == 2}
    if tags_a != tags_b:
        problems.append(f"{path}: tags {sorted(map(hex, tags_a ^ tags_b))}")
    for tag in sorted(tags_a & tags_b):
        ea, eb = a[tag], b[tag]
        if ea.vr == "SQ" or eb.vr == "SQ":
            va, vb = ea.value or [], eb.value or []
            if ea.vr != eb.vr or len(va) != len(vb):
                problems.append(f"{path}{ea.tag}: sequence differs")
                continue
            for i, (x, y) in enumerate(zip(va, vb, strict=True)):
                _compare_own(x, y, f"{path}{ea.tag}[{i}]", problems)
            continue
        if ea.vr == "UN" or eb.vr == "UN":
            continue  # implicit -> explicit may learn a VR; UN stays bytes
        if ea.vr != eb.vr:
            # Through implicit VR the VR comes from the dictionary (PS3.5 A.1): pixel data is
            # OW, "US or SS" follows Pixel Representation, a wrong VR in the source is fixed.
            via_implicit = b.is_implicit_vr or a.is_implicit_vr
            if via_implicit and (
                eb.vr in _dictionary_vrs(tag) | {"OW"} or ea.vr in _dictionary_vrs(tag)
            ):
                continue
            problems.append(f"{path}{ea.tag}: VR {ea.vr} != {eb.vr}")
            continue
        va, vb = ea.value, eb.value
        if a.is_little_endian != b.is_little_endian:
            va = _swapped(va, ea.vr)  # OW & co. are bytes in the file's byte order
        if not _values_match(va, vb):
            problems.append(f"{path}{ea.tag}: {ea.value!r:.60} != {eb.value!r:.60}")


_WARN = re.compile(r"^[WE]: ", re.MULTILINE)


def _dcmdump_problems(path: Path) -> list[str]:
    proc = peers.run_dcmtk("dcmdump", str(path), check=False, errors="replace")
    lines = [
        ln.replace(str(path), "FILE")
        for ln in (proc.stdout + proc.stderr).splitlines()
        if _WARN.match(ln)
    ]
    if proc.returncode != 0:
        lines.append(f"exit {proc.returncode}")
    return lines


@pytest.mark.interop
@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_peers_read_ours(row: corpus.CorpusFile, tmp_path: Path, pydicom_mod: Any) -> None:
    ds = _read(row)
    if "SOPClassUID" not in ds and ds.file_meta is None:
        pytest.skip("no SOP Class to build a File Meta from")
    original = set(_dcmdump_problems(row.path))
    targets = SYNTAXES[:3] if _convertible(row, ds) else [None]
    for ts in targets:
        out = tmp_path / f"out-{ts}.dcm"
        dicomkit.write(ds, out, transfer_syntax=ts)
        new = [p for p in _dcmdump_problems(out) if p not in original]
        assert not new, f"dcmdump on our {ts or 'copy'}: {new[:5]}"
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = pydicom_mod.dcmread(str(out))
        assert {int(t) for t in theirs.keys()}  # noqa: SIM118 == set(dicomkit.read(out).tags())


def test_manifest_not_empty() -> None:
    assert len(ROWS) > 100


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_pickle_round_trip(row: corpus.CorpusFile) -> None:
    """A data set read from a file pickles (raw values are views into the file's buffer) and
    comes back equal, writing the same bytes -- undecoded values included."""
    import pickle

    ds = _read(row)
    back = pickle.loads(pickle.dumps(ds))
    assert back == ds
    assert back.charsets.terms == ds.charsets.terms
    if ds.file_meta is not None:
        one, two = io.BytesIO(), io.BytesIO()
        dicomkit.write(ds, one)
        dicomkit.write(back, two)
        assert two.getvalue() == one.getvalue()
