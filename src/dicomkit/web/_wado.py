"""WADO-RS (PS3.18 10.4): instances, metadata, frames and bulk data from the archive.

Instances are found through the same retrieve matching as C-MOVE / C-GET
(:meth:`dicomkit.archive._node.Archive.retrieve`) and sent as ``multipart/related;
type="application/dicom"`` parts, read from their files in chunks (memory stays at one
chunk per response when no transcoding is asked for). ``transfer-syntax=*`` in the Accept
header sends each instance as stored; without it (or with Explicit VR Little Endian) an
instance stored otherwise is transcoded (decompressed) first.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dicomkit.archive._index import StoredInstance
from dicomkit.archive._matching import Model
from dicomkit.archive._node import Archive
from dicomkit.dictionary import uids
from dicomkit.errors import DicomError

__all__ = [
    "CHUNK",
    "MediaRange",
    "WadoError",
    "find_instances",
    "frames_of",
    "metadata_of",
    "multipart_parts",
    "parse_accept",
    "pick_transfer_syntax",
]

#: bytes read from a file at a time while streaming an instance
CHUNK = 1 << 20
PIXEL_DATA_KW = "PixelData"
PIXEL_DATA_TAG = 0x7FE00010


class WadoError(DicomError):
    """A retrieve the server refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class MediaRange:
    """One media range of an Accept header."""

    type: str
    params: dict[str, str]
    q: float = 1.0


def parse_accept(header: str) -> list[MediaRange]:
    """The media ranges of an Accept header, best first (quoted parameters unquoted)."""
    out: list[MediaRange] = []
    for part in _split_outside_quotes(header, ","):
        fields = _split_outside_quotes(part, ";")
        mtype = fields[0].strip().lower()
        if not mtype:
            continue
        params: dict[str, str] = {}
        q = 1.0
        for p in fields[1:]:
            name, _, value = p.strip().partition("=")
            value = value.strip().strip('"')
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
            else:
                params[name.strip().lower()] = value
        out.append(MediaRange(mtype, params, q))
    out.sort(key=lambda m: -m.q)
    return out


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def pick_transfer_syntax(accept: str, part_type: str = "application/dicom") -> str:
    """The transfer syntax asked for by an Accept header for multipart parts of
    ``part_type``: a UID, ``*`` (as stored), or Explicit VR Little Endian by default
    (PS3.18 8.7.3.5.2). Raises :class:`WadoError` (406) when nothing acceptable is asked."""
    ranges = parse_accept(accept or "*/*")
    for m in ranges:
        if m.q <= 0:
            continue
        if m.type in ("*/*", "multipart/*"):
            return "*" if m.type == "*/*" else uids.ExplicitVRLittleEndian
        if m.type == "multipart/related":
            inner = m.params.get("type", part_type).lower()
            if inner not in (part_type, "*/*", part_type.split("/")[0] + "/*"):
                continue
            return m.params.get("transfer-syntax", uids.ExplicitVRLittleEndian)
        if m.type == part_type:
            return m.params.get("transfer-syntax", uids.ExplicitVRLittleEndian)
    raise WadoError(
        f"none of the media types accepted ({accept}) can be sent: ask for multipart/related; "
        f'type="{part_type}"',
        406,
    )


def find_instances(
    archive: Archive, study: str, series: str | None = None, sop: str | None = None
) -> list[StoredInstance]:
    """The stored instances of a study, series or instance (C-MOVE's retrieve matching);
    raises :class:`WadoError` (404) when there are none."""
    if sop is not None and series is not None:  # one instance: one indexed lookup
        one = archive.index.lookup(sop)
        if (
            one is not None
            and one.study_instance_uid == study
            and one.series_instance_uid == series
        ):
            return [one]
    ident: dict[str, Any] = {"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": study}
    if series is not None:
        ident.update(QueryRetrieveLevel="SERIES", SeriesInstanceUID=series)
    if sop is not None:
        ident.update(QueryRetrieveLevel="IMAGE", SOPInstanceUID=sop)
    from dicomkit.archive._matching import QueryError

    try:
        found = archive.retrieve(ident, Model.STUDY_ROOT)
    except QueryError as exc:
        raise WadoError(str(exc)) from exc
    if not found:
        what = sop or series or study
        raise WadoError(f"no instance is stored under {what}", 404)
    return found


_NATIVE_TARGETS = (uids.ExplicitVRLittleEndian, uids.ImplicitVRLittleEndian)


def check_transfer_syntax(found: list[StoredInstance], ts: str) -> None:
    """Raise :class:`WadoError` (406) when ``ts`` cannot be delivered for every instance."""
    if ts == "*" or ts in _NATIVE_TARGETS:
        return
    for inst in found:
        if inst.transfer_syntax != ts:
            raise WadoError(
                f"instance {inst.sop_instance_uid} is stored as {inst.transfer_syntax}; "
                f"transcoding to {ts} is not offered: ask for transfer-syntax=* (as stored) or "
                f"{uids.ExplicitVRLittleEndian}",
                406,
            )


def _transcoded(path: Path, ts: str) -> bytes:
    import dicomkit

    ds = dicomkit.read(path)
    from dicomkit.pixels import _syntax as syntax
    from dicomkit.pixels._encode import decompress
    from dicomkit.pixels._info import PIXEL_TAGS

    current = syntax.lookup(str(ds.transfer_syntax or uids.ExplicitVRLittleEndian))
    if current.encapsulated and any(t in ds for t in PIXEL_TAGS):
        decompress(ds)
    buf = io.BytesIO()
    dicomkit.write(ds, buf, transfer_syntax=ts)
    return buf.getvalue()


def instance_chunks(archive: Archive, inst: StoredInstance, ts: str) -> Iterator[bytes]:
    """The Part 10 bytes of one instance in ``ts`` (``*``: as stored), a chunk at a time."""
    path = archive.path_of(inst)
    if ts == "*" or ts == inst.transfer_syntax:
        with open(path, "rb") as fp:
            while chunk := fp.read(CHUNK):
                yield chunk
    else:
        from dicomkit.web._transfer import transcode

        yield transcode(archive, inst, ts)


def multipart_parts(parts: Iterator[tuple[str, Iterator[bytes]]], boundary: str) -> Iterator[bytes]:
    """A multipart/related body (RFC 2387) from ``(content type, body chunks)`` pairs."""
    delim = f"--{boundary}\r\n".encode()
    for content_type, chunks in parts:
        yield delim + f"Content-Type: {content_type}\r\n\r\n".encode()
        yield from chunks
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode()


def dicom_parts(
    archive: Archive, found: list[StoredInstance], ts: str
) -> Iterator[tuple[str, Iterator[bytes]]]:
    """``(content type, chunks)`` of each instance for :func:`multipart_parts`."""
    for inst in found:
        sent = inst.transfer_syntax if ts == "*" else ts
        yield (
            f"application/dicom; transfer-syntax={sent}",
            instance_chunks(archive, inst, ts),
        )


def metadata_of(
    archive: Archive,
    inst: StoredInstance,
    base_url: str,
    *,
    threshold: int = 1024,
    dataset: Any = None,
) -> dict[str, Any]:
    """The DICOM JSON of one instance (PS3.18 F), Pixel Data and every top-level binary
    value over ``threshold`` bytes given as a BulkDataURI under ``base_url``. ``dataset``:
    the instance's file already parsed (it is read otherwise)."""
    import dicomkit
    from dicomkit.core._element import DataElement
    from dicomkit.io._json import to_json

    ds = dataset if dataset is not None else dicomkit.read(archive.path_of(inst))
    top = {int(t) for t in ds}
    url = (
        f"{base_url}/studies/{inst.study_instance_uid}/series/{inst.series_instance_uid}"
        f"/instances/{inst.sop_instance_uid}"
    )

    def bulk(el: DataElement) -> str | None:
        tag = int(el.tag)
        if tag not in top or ds[tag] is not el:
            return None  # nested: written inline
        return f"{url}/bulkdata/{tag:08X}"

    obj = to_json(ds, threshold, bulk)
    if PIXEL_DATA_TAG in top and "7FE00010" in obj and "BulkDataURI" not in obj["7FE00010"]:
        obj["7FE00010"] = {"vr": obj["7FE00010"]["vr"], "BulkDataURI": f"{url}/bulkdata/7FE00010"}
    return obj


def bulkdata_of(archive: Archive, inst: StoredInstance, tag: int) -> bytes:
    """The value bytes of a top-level element (little endian, as in the stored file)."""
    import dicomkit

    ds = dicomkit.read(archive.path_of(inst))
    if tag not in ds:
        raise WadoError(f"instance {inst.sop_instance_uid} has no element ({tag:08X})", 404)
    el = ds[tag]
    from dicomkit.io._json import _binary_bytes

    return _binary_bytes(el)


def frames_of(archive: Archive, inst: StoredInstance, numbers: list[int]) -> list[bytes]:
    """Frames (1-based numbers) as uncompressed little endian bytes (PS3.18 8.7.3.3.2,
    application/octet-stream): native frames sliced from the Pixel Data, compressed ones
    decoded by the pixels layer. Raises :class:`WadoError` (404) for a frame not there."""
    import dicomkit
    from dicomkit.pixels import _syntax as syntax
    from dicomkit.pixels._frames import frame
    from dicomkit.pixels._info import PixelInfo

    ds = dicomkit.read(archive.path_of(inst))
    if PIXEL_DATA_TAG not in {int(t) for t in ds}:
        raise WadoError(f"instance {inst.sop_instance_uid} has no Pixel Data", 404)
    info = PixelInfo.from_dataset(ds)
    n = info.number_of_frames
    bad = [k for k in numbers if not 1 <= k <= n]
    if bad:
        raise WadoError(f"frame(s) {bad} out of range 1..{n}", 404)
    if not syntax.lookup(info.transfer_syntax).encapsulated and info.bits_allocated % 8 == 0:
        raw = ds.get(PIXEL_DATA_KW)
        view = memoryview(bytes(raw) if not isinstance(raw, (bytes, bytearray)) else raw)
        size = info.rows * info.columns * info.samples_per_pixel * info.bits_allocated // 8
        return [bytes(view[(k - 1) * size : k * size]) for k in numbers]
    out = []
    for k in numbers:
        arr = frame(ds, k - 1)
        out.append(arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes())
    return out


def parse_frame_list(text: str) -> list[int]:
    """``1,3,5`` to ``[1, 3, 5]``; raises :class:`WadoError` for anything else."""
    try:
        nums = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise WadoError(f"frame list {text!r} is not comma-separated numbers") from None
    if not nums:
        raise WadoError("no frame number given")
    return nums


def file_size(archive: Archive, inst: StoredInstance) -> int:
    """The stored file's size in bytes."""
    return os.stat(archive.path_of(inst)).st_size


def parse_window(text: str | None) -> tuple[float, float, str] | None:
    """The ``window=center,width[,function]`` parameter of a rendered request
    (PS3.18 8.3.5.1.3); raises :class:`WadoError` when it does not parse."""
    if not text:
        return None
    fields = [f.strip() for f in text.split(",")]
    try:
        center, width = float(fields[0]), float(fields[1])
    except (IndexError, ValueError):
        raise WadoError(f"window={text!r}: expected center,width[,function]") from None
    if width <= 0:
        raise WadoError(f"window={text!r}: the width must be positive")
    function = fields[2].upper() if len(fields) > 2 and fields[2] else "LINEAR"
    if function not in ("LINEAR", "LINEAR_EXACT", "SIGMOID"):
        raise WadoError(f"window function {fields[2]!r}: use linear, linear_exact or sigmoid")
    return center, width, function


def rendered_type(accept: str) -> str:
    """``image/jpeg`` or ``image/png`` from an Accept header (JPEG when either will do and
    an encoder is installed); raises :class:`WadoError` (406) for anything else."""
    jpeg = _jpeg_encoder() is not None
    for m in parse_accept(accept or "*/*"):
        if m.q <= 0:
            continue
        if m.type == "image/png":
            return "image/png"
        if m.type == "image/jpeg" and jpeg:
            return "image/jpeg"
        if m.type in ("*/*", "image/*"):
            return "image/jpeg" if jpeg else "image/png"
    raise WadoError(
        f"rendered images are image/png{' or image/jpeg' if jpeg else ''}, not {accept}", 406
    )


def _jpeg_encoder() -> Any:
    try:
        import imagecodecs
    except ImportError:
        return None
    return getattr(imagecodecs, "jpeg8_encode", None)


def rendered_of(
    archive: Archive,
    inst: StoredInstance,
    frame_number: int,
    media_type: str,
    window: tuple[float, float, str] | None = None,
    quality: int = 90,
    viewport: tuple[int, int] | None = None,
) -> bytes:
    """One frame (1-based) through the display pipeline of ``dicomkit export`` (Modality
    LUT, VOI window -- ``window`` overrides the data set's --, MONOCHROME1 inversion,
    colour to RGB), scaled to fit ``viewport`` (rows, columns; aspect ratio kept) when
    given, encoded as ``media_type``."""
    import dicomkit
    from dicomkit.pixels._display import display_frame
    from dicomkit.pixels._info import PixelInfo
    from dicomkit.pixels._png import encode_png

    ds = dicomkit.read(archive.path_of(inst))
    if PIXEL_DATA_TAG not in {int(t) for t in ds}:
        raise WadoError(f"instance {inst.sop_instance_uid} has no Pixel Data", 404)
    n = PixelInfo.from_dataset(ds).number_of_frames
    if not 1 <= frame_number <= n:
        raise WadoError(f"frame {frame_number} out of range 1..{n}", 404)
    center, width, function = window if window else (None, None, None)
    img = display_frame(ds, frame_number - 1, center=center, width=width, function=function)
    if viewport is not None:
        from dicomkit.web._render import fit, resize

        img = resize(img, *fit(img.shape[0], img.shape[1], *viewport))
    if media_type == "image/png":
        return encode_png(img, level=1)  # 6x faster than level 6, ~7% larger
    encode = _jpeg_encoder()
    if encode is None:  # pragma: no cover - rendered_type offers JPEG only with an encoder
        raise WadoError("no JPEG encoder installed (pip install imagecodecs)", 406)
    if not 1 <= quality <= 100:
        raise WadoError(f"quality={quality}: use 1..100")
    return bytes(encode(img, level=quality))
