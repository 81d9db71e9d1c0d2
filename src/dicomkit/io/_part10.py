"""DICOM Part 10 files (PS3.10 7.1): 128-byte preamble, "DICM", File Meta Information (group
0002, explicit VR little endian, PS3.10 7.1), then the data set in its transfer syntax.

Files without preamble or without File Meta are read too: the encoding of the first element
tells implicit from explicit VR and little from big endian. Files above :data:`MMAP_MIN` bytes
are memory-mapped, so reading the header of a 1 GB file touches only its first pages; in
those, sequences are only skipped at read time (their structure is checked, and their items
parsed, on first access), while smaller input is checked completely by ``read()``.
"""

from __future__ import annotations

import contextlib
import functools
import mmap
import os
import stat
import struct
from collections.abc import Iterable
from typing import IO, Any

from dicomkit.core._dataset import Dataset, _tag_of
from dicomkit.core._element import DataElement
from dicomkit.core._mapped import is_mapped
from dicomkit.core._mapped import register as register_map
from dicomkit.core._tag import TRANSFER_SYNTAX_UID
from dicomkit.core._uid import resolve_uid
from dicomkit.dictionary import tags
from dicomkit.dictionary.syntaxes import NATIVE, encoding
from dicomkit.dictionary.uids import (
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    SecondaryCaptureImageStorage,
)
from dicomkit.errors import InvalidDicomError, InvalidValueError, PixelDataError
from dicomkit.io._atomic import create_temp
from dicomkit.io._decoder import DecodeOptions, DecodeResult, decode_into, guess_encoding
from dicomkit.io._deflate import deflate, inflate, inflates_to
from dicomkit.io._encoder import encode_dataset, iter_encoded, write_buffers
from dicomkit.io._scan import LE_EXP, LE_HHL, LE_L

__all__ = ["MMAP_MIN", "build_file_meta", "read", "read_file_meta", "write"]

_set = object.__setattr__

#: Files at least this large are memory-mapped instead of read.
MMAP_MIN = 4 * 1024 * 1024
#: A header read (``stop_before_pixels``) of a file larger than 4 x HEAD_CHUNK first tries
#: this much of the file (most headers fit), then HEAD_CHUNK, then the whole file.
HEAD_FIRST = 16 * 1024
HEAD_CHUNK = 64 * 1024

_PIXEL_TAGS = (tags.PixelData, tags.FloatPixelData, tags.DoubleFloatPixelData)
_META_OPTS = DecodeOptions()
_META_OPTS_LENIENT = DecodeOptions(lenient=True)
_ENCODING_NAMES = {
    (True, True): "Implicit VR Little Endian",
    (False, True): "Explicit VR Little Endian",
    (False, False): "Explicit VR Big Endian",
    (True, False): "Implicit VR Big Endian",
}


def _load(source: Any, head: int) -> tuple[Any, str | None, bool]:
    """The bytes to parse, the file name, and whether they are only the file's first ``head``
    bytes (a header read, ``head`` > 0, of a file larger than 4 x :data:`HEAD_CHUNK`)."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        # plain system calls, no file object: a header scan of many files is mostly opening
        # them (the rare memory-mapped file is opened again below)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            size = os.fstat(fd).st_size
            if size < MMAP_MIN:
                want = head if head and size > 4 * HEAD_CHUNK else size
                data = _read_fd(fd, want)
                return data, str(path), len(data) < size
        finally:
            os.close(fd)
        with open(path, "rb") as fp:
            size = os.fstat(fp.fileno()).st_size
            if head and size > 4 * HEAD_CHUNK:
                return fp.read(head), str(path), True
            if size >= MMAP_MIN:
                mapped = mmap.mmap(fp.fileno(), 0, access=mmap.ACCESS_READ)
                # known while it lives: write() replaces such a file instead of overwriting
                # it, and large values are read with pread rather than faulted in
                register_map(mapped, path, os.fstat(fp.fileno()))
                return mapped, str(path), False
            return fp.read(), str(path), False
    if isinstance(source, bytes):
        return source, None, False
    if isinstance(source, (bytearray, memoryview)):
        return bytes(source), None, False
    if hasattr(source, "read"):
        name = getattr(source, "name", None)
        return source.read(), name if isinstance(name, str) else None, False
    raise TypeError(f"cannot read DICOM from {type(source).__name__}")


def _read_fd(fd: int, n: int) -> bytes:
    """Up to ``n`` bytes from the start of ``fd`` (fewer only at the end of the file)."""
    data = os.read(fd, n)
    if len(data) < n:
        parts = [data]
        got = len(data)
        while got < n:
            more = os.read(fd, n - got)
            if not more:
                break
            parts.append(more)
            got += len(more)
        data = b"".join(parts)
    return data


def _plausible(buf: Any, pos: int) -> bool:
    """Whether ``buf[pos:]`` starts like a data set (or a File Meta group)."""
    if len(buf) - pos < 8:
        return False
    try:
        implicit, little = guess_encoding(buf, pos)
    except InvalidDicomError:
        return False
    b = bytes(buf[pos : pos + 8])
    group = b[0] | b[1] << 8 if little else b[0] << 8 | b[1]
    if group & 1 or not 0x0002 <= group <= 0x0028:
        return False
    if implicit:
        length = int.from_bytes(b[4:8], "little")
        return length == 0xFFFFFFFF or length <= len(buf) - pos - 8
    return True


def read_file_meta(fp: Any, *, lenient: bool = False) -> tuple[Dataset, int]:
    """Read the File Meta Information from a buffer or binary file object positioned at the
    preamble (or at "DICM", or at group 0002 when there is neither). Returns the meta data set
    and the offset where the data set starts. The meta is empty when the input has none."""
    if isinstance(fp, (bytes, bytearray, memoryview, mmap.mmap)):
        buf: Any = fp
    else:
        buf = fp.read()
    preamble, pos = _find_start(buf, force=True)
    res = DecodeResult()
    meta, pos = _read_meta(buf, pos, DecodeOptions(lenient=lenient), res)
    meta.preamble = preamble
    meta.read_errors = res.errors
    return meta, pos


def _find_start(buf: Any, force: bool) -> tuple[bytes | None, int]:
    if buf[128:132] == b"DICM" and (
        buf[132:134] == b"\x02\x00" or _plausible(buf, 132) or not _plausible(buf, 0)
    ):
        return bytes(buf[:128]), 132
    if buf[:4] == b"DICM":
        return None, 4
    if force or _plausible(buf, 0):
        return None, 0
    raise InvalidDicomError(
        "not a DICOM file: no 'DICM' prefix and no data set at the start "
        "(use force=True to try anyway)",
        offset=0,
    )


def _group_end(buf: Any, pos: int, implicit: bool) -> int:
    """Where the File Meta Information ends as its group length (0002,0000) says (PS3.10
    7.1); 0 when it starts with no group length or the length runs past the input."""
    if len(buf) - pos < 12:
        return 0
    if implicit:
        g, e, length = LE_HHL(buf, pos)
        value = pos + 8
    else:
        g, e, _vr, length = LE_EXP(buf, pos)
        value = pos + 8
    if g != 2 or e != 0 or length != 4:
        return 0
    end = value + 4 + LE_L(buf, value)[0]
    return end if end <= len(buf) else 0


def _read_meta(buf: Any, pos: int, opts: DecodeOptions, res: DecodeResult) -> tuple[Dataset, int]:
    if not (len(buf) - pos >= 8 and buf[pos] == 2 and buf[pos + 1] == 0):
        meta = Dataset()
        meta.set_encoding(True, False)
        return meta, pos
    implicit, _ = guess_encoding(buf, pos)  # some writers put the meta in implicit VR
    start = pos
    # The meta ends where its group length says (PS3.10 7.1) when that is consistent: the
    # elements up to there are whole and hold the Transfer Syntax UID. Group 0002 elements
    # after it (a second block, written by old tools) then belong to the data set. A group
    # length that does not fit (some writers get it wrong): the meta is group 0002 entire.
    end = _group_end(buf, pos, implicit)
    if end:
        meta = Dataset()
        trial = DecodeResult()
        try:
            pos = decode_into(
                meta,
                buf,
                start,
                end,
                implicit=implicit,
                little=True,
                opts=_META_OPTS,
                result=trial,
                only_group=2,
            )
        except InvalidDicomError:
            pos = -1
        if pos == end and not trial.errors and TRANSFER_SYNTAX_UID in meta.raw_elements:
            if buf[end : end + 2] == b"\x02\x00":
                res.errors.append(
                    InvalidDicomError(
                        "group 0002 elements after the File Meta Information (which ends "
                        "where (0002,0000) says): kept in the data set, not used as File Meta",
                        offset=end,
                    )
                )
            return meta, end
    # specific_tags choose data set elements: the meta is read whole (the data set is read
    # in the transfer syntax it names; a deflated one could not be read at all)
    meta = Dataset()
    mopts = _META_OPTS_LENIENT if opts.lenient else _META_OPTS
    pos = decode_into(
        meta,
        buf,
        start,
        len(buf),
        implicit=implicit,
        little=True,
        opts=mopts,
        result=res,
        only_group=2,
    )
    gl = meta.raw_elements.get(tags.FileMetaInformationGroupLength)
    if res.aborted and type(gl) is tuple and len(gl[1]) == 4:
        # lenient: a damaged meta group; its group length still says where the data set
        # starts (PS3.10 7.1), so the data set can be read.
        after = start + (8 if implicit else 12) + int.from_bytes(bytes(gl[1]), "little")
        if after <= len(buf):
            res.aborted = False
            pos = after
    return meta, pos


def read(
    source: Any,
    *,
    stop_before_pixels: bool = False,
    specific_tags: Iterable[Any] | None = None,
    lenient: bool = False,
    force: bool = False,
    known_vr_for_un: bool = False,
    validation: str | None = None,
) -> Dataset:
    """Read a DICOM file (path, bytes or binary file object) into a :class:`Dataset`.

    ``stop_before_pixels`` stops at the pixel data, ``specific_tags`` keeps only those
    elements (tags or keywords; a strict read stops after the last of them), ``lenient`` reads what it can and records the problems in
    ``ds.read_errors`` (a truncated file: every complete element, and an error naming the
    element cut off), ``force`` reads input that does not look like DICOM.
    ``known_vr_for_un`` gives UN elements the VR the data dictionary or the private
    dictionary knows (PS3.5 6.2.2); by default UN stays UN, as read.
    ``validation`` ("warn", "raise", "off") is how values later set on the data set (and its
    items) are checked; values read are not checked (they decode lazily, on first use).
    """
    tags = None if specific_tags is None else {_tag_of(t) for t in specific_tags} | {0x00080005}
    chunk = HEAD_FIRST
    buf, filename, partial = _load(source, chunk if stop_before_pixels else 0)
    while partial:
        # Header read: parse the first chunk (then a larger one); only when the header does
        # not fit (or the chunk ends badly) read the whole file. The chunk read stays strict
        # so nothing is lost.
        head_opts = DecodeOptions.make(
            stop_before_pixels=True,
            specific_tags=tags,
            known_vr_for_un=known_vr_for_un,
            check_sequences=False,  # see _read_buffer
        )
        try:
            ds, res = _read_buffer(buf, head_opts, force)
        except InvalidDicomError:
            ds = None
        if ds is not None and not res.errors and res.stopped:
            _set(ds, "filename", filename)
            if validation is not None:
                ds.validation = validation
            return ds
        if chunk >= HEAD_CHUNK:
            buf, filename, _ = _load(source, 0)
            break
        chunk = HEAD_CHUNK
        buf, filename, partial = _load(source, chunk)
    opts = DecodeOptions.make(
        stop_before_pixels=stop_before_pixels,
        lenient=lenient,
        specific_tags=tags,
        known_vr_for_un=known_vr_for_un,
        check_sequences=False,  # see _read_buffer
    )
    ds, _ = _read_buffer(buf, opts, force)
    _set(ds, "filename", filename)
    if validation is not None:
        ds.validation = validation
    return ds


def _read_buffer(buf: Any, opts: DecodeOptions, force: bool) -> tuple[Dataset, DecodeResult]:
    preamble, pos = _find_start(buf, force)
    res = DecodeResult()
    meta, pos = _read_meta(buf, pos, opts, res)
    ts_raw = meta.raw_elements.get(TRANSFER_SYNTAX_UID)
    if ts_raw is not None:
        ts = (
            bytes(ts_raw[1] if type(ts_raw) is tuple else ts_raw.raw or b"")
            .decode("ascii", "replace")
            .strip("\x00 ")
        )
    else:
        ts = ""
    ds = Dataset()
    implicit, little, deflated = encoding(ts) if ts else (False, True, False)
    stream = None
    if deflated:
        stream = memoryview(buf)[pos:]
        buf = inflate(stream, offset=pos, lenient=opts.lenient)
        pos = 0
    if len(buf) - pos >= 8:
        g_implicit, g_little = guess_encoding(buf, pos)
        if not ts:
            implicit, little = g_implicit, g_little
            if meta.raw_elements:
                # as DCMTK does: the first element of the data set tells the encoding
                res.errors.append(
                    InvalidDicomError(
                        "the File Meta Information has no Transfer Syntax UID (0002,0010): "
                        f"the data set was read as {_ENCODING_NAMES[implicit, little]}, "
                        "as its first element shows",
                        offset=pos,
                        tag=TRANSFER_SYNTAX_UID,
                    )
                )
            ts = (
                ImplicitVRLittleEndian
                if implicit
                else (ExplicitVRLittleEndian if little else ExplicitVRBigEndian)
            )
        elif g_implicit != implicit and little and g_little:
            implicit = g_implicit  # the meta says one thing, the data another: trust the data
    elif not ts:
        ts = ExplicitVRLittleEndian
    # Lazy sequences (PS3.5 7.5): a sequence is skipped by its length (an undefined length is
    # still followed item by item to its delimiter) and its items are parsed on first access.
    # A malformed sequence therefore raises InvalidDicomError, naming tag and offset, when it is
    # first used rather than in read(); lenient reads parse everything at once. This is what
    # makes header scans of SR-like files (deep content trees) cheap.
    end = -1
    if not res.aborted:
        end = decode_into(
            ds,
            buf,
            pos,
            len(buf),
            implicit=implicit,
            little=little,
            opts=opts if not opts.check_sequences else opts.but(check_sequences=False),
            result=res,
        )
    if (
        stream is not None
        and end == len(buf)
        and not implicit
        and little
        and not res.errors
        and not res.aborted
        and not res.stopped
        and opts.specific_tags is None
        and not opts.known_vr_for_un
    ):
        # The whole deflated data set was read: keep the stream as it is in the file (the
        # bytes after the File Meta), so that written back unchanged it stays byte-identical.
        ds.deflated_source = (bytes(stream), len(buf))
    # the reader's attributes (lower case: Dataset.__setattr__ would only pass them on)
    _set(ds, "file_meta", meta if meta.raw_elements else None)
    _set(ds, "preamble", preamble)
    _set(ds, "transfer_syntax", ts)
    _set(ds, "read_errors", res.errors)
    return ds, res


# -- writing -------------------------------------------------------------------------------------
@functools.cache
def _impl_ids() -> tuple[str, str]:
    from dicomkit.core._uid import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME

    return str(IMPLEMENTATION_CLASS_UID), str(IMPLEMENTATION_VERSION_NAME)


def _group_length(meta: Dataset) -> None:
    meta.raw_elements.pop(tags.FileMetaInformationGroupLength, None)
    body = encode_dataset(meta, implicit=False, little=True)
    d = meta.raw_elements  # iterating may have sorted it into a new dict
    d[tags.FileMetaInformationGroupLength] = DataElement(
        tags.FileMetaInformationGroupLength, "UL", len(body)
    )
    items = sorted(d.items())
    d.clear()
    d.update(items)


#: (0002,0001) File Meta Information Version 00\01, explicit VR little endian
_META_VERSION = b"\x02\x00\x01\x00OB\x00\x00\x02\x00\x00\x00\x00\x01"
_SHORT_HEADER = struct.Struct("<HH2sH").pack
_GROUP_LENGTH = struct.Struct("<HH2sHL").pack


def file_meta_bytes(
    sop_class: str,
    sop_instance: str,
    transfer_syntax: str,
    source_ae: str = "",
    *,
    prefix: bool = True,
) -> bytes:
    """The File Meta Information of a new file (PS3.10 7.1) as bytes: group length, version
    00\\01, Media Storage SOP Class / Instance UID, Transfer Syntax UID, this implementation's
    Class UID and Version Name, and Source AE Title (0002,0016) when ``source_ae`` is given;
    after a zero preamble and "DICM" when ``prefix``.

    The one place file meta is built: :func:`build_file_meta`, :func:`write` and the C-STORE
    receivers (once per instance, on the event loop) use it. The elements are written
    directly (the general encoder costs ~0.1 ms); values that are not plain ASCII (not valid
    in these VRs) go through the encoder so that its errors and rules apply."""
    impl_uid, impl_name = _impl_ids()
    values = (
        (0x0002, b"UI", sop_class, b"\0"),
        (0x0003, b"UI", sop_instance, b"\0"),
        (0x0010, b"UI", transfer_syntax, b"\0"),
        (0x0012, b"UI", impl_uid, b"\0"),
        (0x0013, b"SH", impl_name, b" "),
        (0x0016, b"AE", source_ae, b" "),
    )
    parts = [_META_VERSION]
    for element, vr, value, pad in values:
        value = str(value)
        if element == 0x0016 and not value:
            continue
        if not value.isascii() or len(value) > 0xFFF0:
            return _file_meta_encoded(values, prefix)
        raw = value.encode("ascii")
        if len(raw) % 2:
            raw += pad
        parts.append(_SHORT_HEADER(2, element, vr, len(raw)) + raw)
    body = b"".join(parts)
    head = _GROUP_LENGTH(2, 0, b"UL", 4, len(body))
    return (b"\0" * 128 + b"DICM" if prefix else b"") + head + body


def _file_meta_encoded(values: Any, prefix: bool) -> bytes:
    meta = Dataset()
    meta.add(DataElement(tags.FileMetaInformationVersion, "OB", b"\x00\x01"))
    for element, vr, value, _ in values:
        if value or element != 0x0016:
            meta.add(DataElement(0x00020000 | element, vr.decode(), str(value)))
    _group_length(meta)
    body = encode_dataset(meta, implicit=False, little=True)
    return (b"\0" * 128 + b"DICM" if prefix else b"") + body


def build_file_meta(
    sop_class: str, sop_instance: str, transfer_syntax: str, source_ae: str = ""
) -> Dataset:
    """File Meta Information for a new file (PS3.10 7.1), as a data set: the elements of
    :func:`file_meta_bytes`, read back (so both agree byte for byte)."""
    raw = file_meta_bytes(sop_class, sop_instance, transfer_syntax, source_ae, prefix=False)
    meta = Dataset()
    decode_into(meta, raw, 0, len(raw), implicit=False, little=True, opts=_META_OPTS)
    return meta


def _uid_value(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):  # e.g. an explicit UN element
        value = bytes(value).decode("ascii", "replace")
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "").rstrip("\x00 ")


def _file_meta_for(ds: Dataset, ts: str) -> Dataset:
    """The File Meta to write: kept byte for byte when it already names ``ts`` (PS3.10 7.1),
    otherwise rebuilt around the data set's SOP Class / Instance UIDs."""
    sop_class = _uid_value(ds.get(tags.SOPClassUID))
    sop_inst = _uid_value(ds.get(tags.SOPInstanceUID))
    fm = ds.file_meta
    if fm is None or len(fm) == 0:
        if not sop_class or not sop_inst:
            missing = " and ".join(
                name
                for name, have in (
                    ("SOP Class UID (0008,0016)", sop_class),
                    ("SOP Instance UID (0008,0018)", sop_inst),
                )
                if not have
            )
            raise InvalidValueError(
                f"cannot write a Part 10 file: the data set has no {missing} and no File Meta "
                "(an ACR-NEMA or other pre-Part 10 file?); supply them before writing, e.g. "
                f"ds.SOPClassUID = '{SecondaryCaptureImageStorage}' (the class that fits) and "
                "ds.SOPInstanceUID = dicomkit.core._uid.generate_uid(), or give ds.file_meta"
            )
        return build_file_meta(sop_class, sop_inst, ts)
    as_read = all(type(e) is tuple or e.raw is not None for e in fm.raw_elements.values())
    for tag, meta_tag in (
        (tags.SOPClassUID, tags.MediaStorageSOPClassUID),
        (tags.SOPInstanceUID, tags.MediaStorageSOPInstanceUID),
    ):
        e = ds.raw_elements.get(tag)
        set_since_read = e is not None and type(e) is not tuple and e.raw is None
        if set_since_read and e is not None and _uid_value(e.value) != _uid_value(fm.get(meta_tag)):
            as_read = False
    if (
        _uid_value(fm.get(tags.TransferSyntaxUID)) == ts
        and tags.FileMetaInformationGroupLength in fm
        and not fm.is_implicit_vr
        and as_read
    ):
        # untouched since it was read: kept byte for byte, naming the implementation that
        # wrote the file (a changed syntax or SOP Instance UID rebuilds it, naming us)
        return fm
    new = fm.copy()
    new.add(DataElement(tags.TransferSyntaxUID, "UI", ts))
    if sop_class:
        new.add(DataElement(tags.MediaStorageSOPClassUID, "UI", sop_class))
    if sop_inst:
        new.add(DataElement(tags.MediaStorageSOPInstanceUID, "UI", sop_inst))
    if tags.FileMetaInformationVersion not in new:
        new.add(DataElement(tags.FileMetaInformationVersion, "OB", b"\x00\x01"))
    # PS3.10 7.1: the Implementation Class UID / Version Name name the implementation that
    # wrote the file -- this one, whoever wrote the file it was read from (unless the caller
    # set them since)
    impl_uid, impl_name = _impl_ids()
    for tag, vr, ours in (
        (tags.ImplementationClassUID, "UI", impl_uid),
        (tags.ImplementationVersionName, "SH", impl_name),
    ):
        e = fm.raw_elements.get(tag)
        if e is None or type(e) is tuple or e.raw is not None:
            new.add(DataElement(tag, vr, ours))
    new.set_encoding(True, False)
    _group_length(new)
    return new


def write(
    ds: Dataset,
    dest: Any,
    *,
    transfer_syntax: str | None = None,
    preamble: bytes | None = None,
    atomic: bool = False,
) -> None:
    """Write ``ds`` as a Part 10 file (PS3.10 7.1) in ``transfer_syntax`` (default: the data
    set's own, else explicit VR little endian). The File Meta is kept when still right and
    rebuilt otherwise; binary values are byte-swapped and VRs looked up as the syntax needs.

    ``dest`` is a path or a binary file object. The whole data set is encoded before the
    destination is touched, so a value that cannot be encoded raises with the file as it was.
    A new path is created exclusively (and removed if writing fails). An existing file is
    overwritten in place -- its pages are reused, which costs a fraction of a new file --
    unless it is memory-mapped by a data set this process read from it (that data set must
    keep seeing its own bytes) or ``atomic`` is true: then the file is written under a
    temporary name in the same folder and renamed over ``dest``, so that readers never see
    a partial file and a failed write (a full disk) leaves the old file whole."""
    src_ts = str(ds.transfer_syntax or "") or ExplicitVRLittleEndian
    ts = resolve_uid(str(transfer_syntax or src_ts).rstrip("\x00 "), "transfer syntax")
    implicit, little, deflated = encoding(ts)
    d = ds.raw_elements
    pixel = next((d[t] for t in _PIXEL_TAGS if t in d), None)
    encapsulated = pixel is not None and type(pixel) is not tuple and pixel.is_undefined_length
    if encapsulated and ts in NATIVE:
        raise PixelDataError(
            f"pixel data is encapsulated ({src_ts}); writing it as {ts} needs "
            "decompression: use dicomkit.pixels / `dicomkit transcode`"
        )
    if not encapsulated and ts not in NATIVE and ts != src_ts and pixel is not None:
        raise PixelDataError(
            f"pixel data is native; writing it as {ts} needs compression: use `dicomkit transcode`"
        )
    meta = _file_meta_for(ds, ts)
    pre = preamble if preamble is not None else (ds.preamble or b"\x00" * 128)
    if len(pre) != 128:
        raise InvalidValueError(f"the preamble must be 128 bytes, not {len(pre)}")
    head = pre + b"DICM" + encode_dataset(meta, implicit=False, little=True)
    chunks = _encoded_body(head, ds, implicit, little, deflated)
    if not isinstance(dest, (str, os.PathLike)):
        write_buffers(dest, chunks)
        return
    path = os.fspath(dest)
    st: os.stat_result | None = None
    if not atomic:
        try:
            fp = open(path, "xb")  # noqa: SIM115 - closed below
        except FileExistsError:
            fp = None
        if fp is not None:  # a new file: nothing can be mapping it
            try:
                with fp:
                    write_buffers(fp, chunks)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(path)
                raise
            return
        with contextlib.suppress(FileNotFoundError):
            st = os.stat(path)
        if st is not None and not stat.S_ISREG(st.st_mode):
            with open(path, "wb") as fp:  # a device or a pipe: written as it is
                write_buffers(fp, chunks)
            return
        if st is not None and not is_mapped(st):  # a data set reading it lazily keeps it
            rw: IO[bytes]
            try:
                rw = open(path, "r+b")  # noqa: SIM115 - closed below
            except PermissionError:  # not readable: truncate it (or raise, not writable)
                rw = open(path, "wb")  # noqa: SIM115 - closed below
            with rw:
                write_buffers(rw, chunks)
                rw.truncate()
            return
    fd, tmp = create_temp(os.path.dirname(os.path.abspath(path)))  # the umask decides its mode
    try:
        with os.fdopen(fd, "wb") as fp:
            write_buffers(fp, chunks)
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _encoded_body(
    head: bytes, ds: Dataset, implicit: bool, little: bool, deflated: bool
) -> list[bytes | memoryview]:
    """The file after the preamble as buffers: ``head`` (preamble, DICM, meta), then the
    data set (large values not copied)."""
    if deflated:
        body = encode_dataset(ds, implicit=False, little=True)
        kept = _kept_stream(ds, body)
        return [head, kept if kept is not None else deflate(body)]
    return [head, *iter_encoded(ds, implicit=implicit, little=little)]


def _kept_stream(ds: Dataset, body: bytes) -> bytes | None:
    """The deflate stream ``ds`` was read from, when it still holds exactly ``body`` (the
    data set as it would be written now); ``None`` when the data set changed since (or was
    not read from a deflated file). Deciding by the encoding itself, not by which elements
    were touched, means that no change can go unnoticed, and a value set to what it was keeps
    the file as it was. The encoding is needed anyway; the lengths are compared first, and the
    stream is inflated only to compare (which costs a fraction of deflating)."""
    kept = ds.deflated_source
    if kept is None or kept[1] != len(body) or not inflates_to(kept[0], body):
        return None
    return kept[0]
