"""Decoding a data set's pixel data: all frames, or one frame without touching the others.

``pixel_array(ds)`` returns the stored values (shape ``(frames, rows, columns[, samples])``,
no frame axis for a single frame) in the colour space the codec delivers; ``as_rgb=True``
converts YBR to RGB unless the codec already did. Modality / VOI LUTs and palette expansion are
separate, explicit steps (:mod:`dicomkit.pixels._lut`, :mod:`dicomkit.pixels._colour`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from dicomkit.errors import PixelDataError
from dicomkit.pixels import _colour as colour
from dicomkit.pixels import _encapsulation as encapsulation
from dicomkit.pixels import _native as native
from dicomkit.pixels import _syntax as syntax
from dicomkit.pixels._codecs import CodecRegistry, default_registry
from dicomkit.pixels._info import (
    EXTENDED_OFFSET_TABLE,
    EXTENDED_OFFSET_TABLE_LENGTHS,
    PixelInfo,
)
from dicomkit.pixels._native import Buffer


@dataclass(frozen=True, slots=True)
class Decoded:
    """Decoded pixels and what they are: ``photometric`` is the colour space of ``array``
    (e.g. ``"RGB"`` for a YBR_FULL_422 JPEG that the codec converted)."""

    array: np.ndarray
    photometric: str
    info: PixelInfo

    def as_rgb(self) -> Decoded:
        """The same frames with YBR colour converted to RGB (itself when already RGB or not
        colour)."""
        if not self.photometric.startswith("YBR") or self.info.samples_per_pixel != 3:
            return self
        return Decoded(
            colour.ybr_to_rgb(self.array, self.photometric, self.info.bits_stored), "RGB", self.info
        )


def _element_bytes(ds: Any, tag: int) -> tuple[Buffer, str]:
    data, vr, _ = _element_data(ds, tag)
    return data, vr


def _element_data(ds: Any, tag: int) -> tuple[Buffer, str, bool | None]:
    """The value bytes, the VR, and the byte order of raw bytes (None: unknown)."""
    elem = ds[tag]
    raw = getattr(elem, "raw", None)
    little = getattr(elem, "is_little_endian", None) if raw is not None else None
    data = raw if raw is not None else elem.value
    if data is None:
        raise PixelDataError("the pixel data element is empty")
    if isinstance(data, np.ndarray):
        data = data.tobytes()
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise PixelDataError(f"pixel data value is a {type(data).__name__}, not bytes")
    return data, str(getattr(elem, "vr", "OB")), little if isinstance(little, bool) else None


def _offset_tables(ds: Any) -> tuple[list[int] | None, list[int] | None]:
    if EXTENDED_OFFSET_TABLE not in ds:
        return None, None
    eot = encapsulation.decode_offset_table(_element_bytes(ds, EXTENDED_OFFSET_TABLE)[0])
    lengths = None
    if EXTENDED_OFFSET_TABLE_LENGTHS in ds:
        lengths = encapsulation.decode_offset_table(
            _element_bytes(ds, EXTENDED_OFFSET_TABLE_LENGTHS)[0]
        )
    return eot or None, lengths or None


def pixel_info(ds: Any) -> PixelInfo:
    """The :class:`PixelInfo` of a data set."""
    return PixelInfo.from_dataset(ds)


def _decode_encapsulated(
    data: bytes, info: PixelInfo, registry: CodecRegistry
) -> tuple[np.ndarray, str]:
    decoder = registry.decoder(info.transfer_syntax)
    arr, photometric = decoder(data, info)
    if arr.shape != info.frame_shape:
        raise PixelDataError(f"decoded frame has shape {arr.shape}, {info.frame_shape} expected")
    return arr, photometric


def decode(
    ds: Any, *, frames: list[int] | range | None = None, registry: CodecRegistry | None = None
) -> Decoded:
    """Decode the given frames (all by default) to ``(n, rows, columns[, samples])``."""
    info = pixel_info(ds)
    registry = registry or default_registry()
    data, vr, little = _element_data(ds, info.pixel_tag)
    wanted = list(range(info.number_of_frames)) if frames is None else list(frames)
    for i in wanted:
        if not 0 <= i < info.number_of_frames:
            raise PixelDataError(
                f"frame {i} out of range: the data set has {info.number_of_frames} frame(s)"
            )
    undefined = bool(getattr(ds[info.pixel_tag], "is_undefined_length", False))
    if undefined and not info.is_encapsulated:
        raise PixelDataError(
            f"the pixel data is encapsulated but the transfer syntax "
            f"{info.transfer_syntax} is a native one: the file is inconsistent"
        )
    if not info.is_encapsulated:
        if little is None:
            little = info.syntax.little_endian
        ow_be = not little and vr == "OW"
        if frames is None:
            arr = native.unpack(data, info, little=little, ow_big_endian=ow_be)
        elif len(wanted) == 1:
            # one frame: no stacking copy; a read-only view of the file is copied once
            one = native.unpack_frame(data, info, wanted[0], little=little, ow_big_endian=ow_be)
            if not _owns_memory(one):
                one = one.copy()
            arr = one[np.newaxis]
        else:
            arr = (
                np.stack(
                    [
                        native.unpack_frame(data, info, i, little=little, ow_big_endian=ow_be)
                        for i in wanted
                    ]
                )
                if wanted
                else np.empty((0, *info.frame_shape), info.dtype)
            )
        return Decoded(arr, info.photometric_interpretation, info)
    eot, lengths = _offset_tables(ds)
    family = syntax.family(info.syntax)
    if frames is None or len(wanted) > 1:
        chunks = encapsulation.frames(
            data, info.number_of_frames, family=family, eot=eot, eot_lengths=lengths
        )
        chunks = [chunks[i] for i in wanted]
    else:
        chunks = [
            encapsulation.frame(
                data, i, info.number_of_frames, family=family, eot=eot, eot_lengths=lengths
            )
            for i in wanted
        ]
    out = np.empty((len(chunks), *info.frame_shape), dtype=info.dtype)
    photometric = info.photometric_interpretation
    for k, chunk in enumerate(chunks):
        arr, photometric = _decode_encapsulated(chunk, info, registry)
        out[k] = arr
    return Decoded(out, photometric, info)


def _owns_memory(arr: np.ndarray) -> bool:
    """Whether ``arr`` is backed by numpy-allocated memory (not a view of the source buffer,
    which may be a read-only memory map)."""
    base = arr
    while isinstance(base.base, np.ndarray):
        base = base.base
    return base.base is None and arr.flags.writeable


def pixel_array(
    ds: Any, *, as_rgb: bool = False, registry: CodecRegistry | None = None
) -> np.ndarray:
    """Every frame as one array: ``(frames, rows, columns[, samples])``, or
    ``(rows, columns[, samples])`` for a single frame."""
    dec = decode(ds, registry=registry)
    if as_rgb:
        dec = dec.as_rgb()
    arr = dec.array
    return arr[0] if dec.info.number_of_frames == 1 else arr


def frame(
    ds: Any, index: int, *, as_rgb: bool = False, registry: CodecRegistry | None = None
) -> np.ndarray:
    """One frame, ``(rows, columns[, samples])``, decoded without decoding the others (native
    data: only that frame's bytes are read)."""
    dec = decode(ds, frames=[index], registry=registry)
    if as_rgb:
        dec = dec.as_rgb()
    one: np.ndarray = dec.array[0]
    return one


def iter_frames(
    ds: Any, *, as_rgb: bool = False, registry: CodecRegistry | None = None
) -> Iterator[np.ndarray]:
    """Each frame in turn, one decoded at a time (memory stays at one frame)."""
    info = pixel_info(ds)
    for i in range(info.number_of_frames):
        yield frame(ds, i, as_rgb=as_rgb, registry=registry)
