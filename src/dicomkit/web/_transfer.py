"""Transfer syntax negotiation for WADO-RS (PS3.18 8.7.3.5, Tables 8.7.3-2 to -5):
instances in the syntax the client's Accept header asks for, and frames as uncompressed
bytes or in the compressed media types (``image/jls``, ``image/jp2``, ``image/jpeg`` ...).

The Accept header's media ranges are tried in order of preference (q); the first one that
can be delivered for every instance asked for wins:

- ``transfer-syntax=*``: as stored, never re-encoded;
- the stored syntax: the stored bytes (frames: the stored fragments, not decoded);
- a native syntax (Explicit / Implicit VR Little Endian): decoded by the pixel pipeline;
- another compressed syntax: decoded, then encoded with the pixel pipeline's encoder for it
  (:func:`dicomkit.pixels.compress`), when one is installed.

When none can, the answer is 406 and says what is stored and what could be asked for.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from dicomkit.archive._index import StoredInstance
from dicomkit.archive._node import Archive
from dicomkit.dictionary import uids
from dicomkit.web._wado import PIXEL_DATA_TAG, WadoError, parse_accept

__all__ = [
    "FRAME_MEDIA",
    "FramePlan",
    "choose_frame_media",
    "choose_instance_syntax",
    "frames_in",
    "transcode",
]

_NATIVE = (uids.ExplicitVRLittleEndian, uids.ImplicitVRLittleEndian)

#: media type of frames and bulk data -> the transfer syntaxes it may carry, the default
#: first (PS3.18 Table 8.7.3-5)
FRAME_MEDIA: dict[str, tuple[str, ...]] = {
    "application/octet-stream": (uids.ExplicitVRLittleEndian,),
    "image/jpeg": (
        uids.JPEGBaseline8Bit,
        uids.JPEGExtended12Bit,
        uids.JPEGLossless,
        uids.JPEGLosslessSV1,
    ),
    "image/jls": (uids.JPEGLSLossless, uids.JPEGLSNearLossless),
    "image/jp2": (uids.JPEG2000Lossless, uids.JPEG2000),
    "image/jpx": (uids.JPEG2000MCLossless, uids.JPEG2000MC),
    "image/jphc": (uids.HTJ2KLossless, uids.HTJ2KLosslessRPCL, uids.HTJ2K),
    "image/jxl": (uids.JPEGXLLossless, uids.JPEGXLJPEGRecompression, uids.JPEGXL),
    "image/dicom-rle": (uids.RLELossless,),
}
_MEDIA_OF = {ts: media for media, tss in FRAME_MEDIA.items() for ts in tss}


def _registry() -> Any:
    from dicomkit.pixels import default_registry

    return default_registry()


def _encapsulated(ts: str) -> bool:
    from dicomkit.pixels._syntax import lookup

    try:
        return bool(lookup(ts).encapsulated)
    except Exception:  # noqa: BLE001 -- an unknown UID is not something we can make
        return False


def _can_make(stored: str, wanted: str) -> bool:
    """Whether an instance stored as ``stored`` can be sent as ``wanted``."""
    if wanted in ("*", stored):
        return True
    reg = _registry()
    if _encapsulated(stored) and not reg.can_decode(stored):
        return False
    if wanted in _NATIVE:
        return True
    return _encapsulated(wanted) and reg.can_encode(wanted)


def _asked(accept: str, part_type: str) -> list[str]:
    """The transfer syntaxes asked for in order of preference (``*``: as stored)."""
    out: list[str] = []
    for m in parse_accept(accept or "*/*"):
        if m.q <= 0:
            continue
        if m.type == "*/*":
            out.append("*")
        elif m.type in ("multipart/*", "multipart/related") or m.type == part_type:
            inner = m.params.get("type", part_type).lower() if m.type != part_type else part_type
            if inner not in (part_type, "*/*", "application/*"):
                continue
            out.append(m.params.get("transfer-syntax", uids.ExplicitVRLittleEndian))
    return out


def choose_instance_syntax(accept: str, found: list[StoredInstance]) -> str:
    """The transfer syntax to send every instance of ``found`` in (``*``: each as stored).
    Raises :class:`~dicomkit.web._wado.WadoError` (406) with the reason when none of the
    asked ones can be made."""
    asked = _asked(accept, "application/dicom")
    if not asked:
        raise WadoError(
            f"none of the media types accepted ({accept}) can be sent: ask for "
            'multipart/related; type="application/dicom" (with transfer-syntax=* for the '
            "stored bytes)",
            406,
        )
    for ts in asked:
        if all(_can_make(i.transfer_syntax, ts) for i in found):
            return ts
    stored = sorted({i.transfer_syntax for i in found})
    encoders = ", ".join(sorted(_registry().encoders()))
    raise WadoError(
        f"cannot send {', '.join(asked)}: the instances are stored as {', '.join(stored)}; "
        f"ask for transfer-syntax=* (as stored), {uids.ExplicitVRLittleEndian} "
        f"(uncompressed) or one this server encodes ({encoders})",
        406,
    )


def transcode(archive: Archive, inst: StoredInstance, ts: str) -> bytes:
    """The Part 10 bytes of ``inst`` in transfer syntax ``ts`` (decoded and, for a
    compressed ``ts``, encoded again by the pixel pipeline)."""
    import dicomkit
    from dicomkit.pixels import compress, decompress

    ds = dicomkit.read(archive.path_of(inst))
    has_pixels = PIXEL_DATA_TAG in {int(t) for t in ds}
    if has_pixels and _encapsulated(inst.transfer_syntax):
        decompress(ds)
    if has_pixels and _encapsulated(ts):
        compress(ds, ts)
    buf = io.BytesIO()
    dicomkit.write(ds, buf, transfer_syntax=ts)
    return buf.getvalue()


@dataclass(frozen=True, slots=True)
class FramePlan:
    """How frames are sent: the part media type and its transfer syntax."""

    media: str
    transfer_syntax: str

    @property
    def content_type(self) -> str:
        """The Content-Type of each part."""
        return f"{self.media}; transfer-syntax={self.transfer_syntax}"


def choose_frame_media(accept: str, stored: str) -> FramePlan:
    """The media type and syntax for frames of an instance stored as ``stored``. Raises
    :class:`~dicomkit.web._wado.WadoError` (406) when nothing asked for can be made."""
    reg = _registry()
    decodable = not _encapsulated(stored) or reg.can_decode(stored)
    tried: list[str] = []
    for m in parse_accept(accept or "*/*"):
        if m.q <= 0:
            continue
        media = m.type
        if media in ("multipart/related", "multipart/*"):
            media = m.params.get("type", "application/octet-stream").lower()
        ts = m.params.get("transfer-syntax", "")
        if media == "*/*" and not ts and decodable:  # a plain client: uncompressed bytes
            return FramePlan("application/octet-stream", uids.ExplicitVRLittleEndian)
        if media in ("*/*", "image/*") or ts == "*":
            if media == "application/octet-stream":  # any syntax, as octets: as stored
                if _encapsulated(stored):
                    return FramePlan(media, stored)
                return FramePlan(media, uids.ExplicitVRLittleEndian)
            if media in FRAME_MEDIA and stored not in FRAME_MEDIA[media]:
                tried.append(media)
                continue
            if _encapsulated(stored):  # as stored
                return FramePlan(_MEDIA_OF.get(stored, "application/octet-stream"), stored)
            return FramePlan("application/octet-stream", uids.ExplicitVRLittleEndian)
        if media not in FRAME_MEDIA:
            tried.append(media)
            continue
        candidates = (ts,) if ts else FRAME_MEDIA[media]
        if stored in candidates and (not ts or ts == stored):
            return FramePlan(media, stored)  # the stored fragments as they are
        for want in candidates:
            if want not in FRAME_MEDIA[media]:
                continue
            if want == uids.ExplicitVRLittleEndian and decodable:
                return FramePlan(media, want)
            if decodable and _encapsulated(want) and reg.can_encode(want):
                return FramePlan(media, want)
        tried.append(f"{media}" + (f" ({ts})" if ts else ""))
    raise WadoError(
        f"cannot send frames as {', '.join(tried) or accept}: the instance is stored as "
        f"{stored}; ask for application/octet-stream (uncompressed), "
        f"{_MEDIA_OF.get(stored, 'application/octet-stream')} (as stored), or a type this "
        f"server encodes ({', '.join(sorted(_MEDIA_OF[t] for t in reg.encoders() if t in _MEDIA_OF))})",
        406,
    )


def frames_in(
    archive: Archive, inst: StoredInstance, numbers: list[int], plan: FramePlan
) -> list[bytes]:
    """Frames (1-based) as ``plan`` says: stored fragments, uncompressed bytes, or encoded
    again."""
    from dicomkit.web._wado import frames_of

    if plan.transfer_syntax == uids.ExplicitVRLittleEndian:
        return frames_of(archive, inst, numbers)
    import dicomkit
    from dicomkit.pixels import compress, decompress
    from dicomkit.pixels._encapsulation import frame as encapsulated_frame
    from dicomkit.pixels._info import PixelInfo

    ds = dicomkit.read(archive.path_of(inst))
    if PIXEL_DATA_TAG not in {int(t) for t in ds}:
        raise WadoError(f"instance {inst.sop_instance_uid} has no Pixel Data", 404)
    n = PixelInfo.from_dataset(ds).number_of_frames
    bad = [k for k in numbers if not 1 <= k <= n]
    if bad:
        raise WadoError(f"frame(s) {bad} out of range 1..{n}", 404)
    if plan.transfer_syntax != inst.transfer_syntax:
        if _encapsulated(inst.transfer_syntax):
            decompress(ds)
        compress(ds, plan.transfer_syntax)
    from dicomkit.pixels._syntax import family, lookup

    el = ds[PIXEL_DATA_TAG]
    value = el.raw if getattr(el, "raw", None) is not None else el.value
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise WadoError(f"instance {inst.sop_instance_uid}: its Pixel Data cannot be read", 500)
    kind = family(lookup(plan.transfer_syntax))
    return [bytes(encapsulated_frame(value, k - 1, n, family=kind)) for k in numbers]
