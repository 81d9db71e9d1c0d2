"""Writing pixel data: native pixels from an array, compression and decompression.

``set_pixels(ds, arr)`` fills the Image Pixel module (PS3.3 C.7.6.3) and a native Pixel Data
value; ``compress(ds, uid)`` re-encodes every frame with a registered encoder into encapsulated
pixel data (PS3.5 A.4); ``decompress(ds)`` turns any decodable pixel data into native explicit
VR little endian. Frames are encoded one at a time, so memory holds one decoded frame.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dicomkit.core._element import DataElement
from dicomkit.dictionary import tags, uids
from dicomkit.errors import PixelDataError
from dicomkit.pixels import _encapsulation as encapsulation
from dicomkit.pixels import _native as native
from dicomkit.pixels import _syntax as ts
from dicomkit.pixels._codecs import CodecRegistry, default_registry
from dicomkit.pixels._frames import decode, pixel_info
from dicomkit.pixels._info import (
    DOUBLE_FLOAT_PIXEL_DATA,
    EXTENDED_OFFSET_TABLE,
    EXTENDED_OFFSET_TABLE_LENGTHS,
    FLOAT_PIXEL_DATA,
    PIXEL_DATA,
    PIXEL_TAGS,
    PixelInfo,
)

_COLOUR = (
    "RGB",
    "YBR_FULL",
    "YBR_FULL_422",
    "YBR_ICT",
    "YBR_RCT",
    "YBR_PARTIAL_420",
    "YBR_PARTIAL_422",
    "HSV",
    "ARGB",
    "CMYK",
)


def set_transfer_syntax(ds: Any, uid: str) -> None:
    """Record the transfer syntax on the data set (and its File Meta, when there is one)."""
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        meta.set(tags.TransferSyntaxUID, uid, vr="UI")
    ds.transfer_syntax = uid


def _native_element(tag: int, vr: str, data: bytes) -> DataElement:
    # Kept as raw little endian bytes: the writer byte-swaps raw OW/OF/OD values when it
    # writes big endian, which it cannot know to do for a plain bytes value.
    return DataElement.from_raw(tag, vr, data, little=True)


def _drop_pixels(ds: Any) -> None:
    for tag in (*PIXEL_TAGS, EXTENDED_OFFSET_TABLE, EXTENDED_OFFSET_TABLE_LENGTHS):
        if tag in ds:
            del ds[tag]


def set_pixels(
    ds: Any,
    arr: np.ndarray,
    *,
    photometric: str | None = None,
    bits_stored: int | None = None,
    planar_configuration: int = 0,
    multi_frame: bool | None = None,
) -> PixelInfo:
    """Store ``arr`` as native pixel data in ``ds`` and set the Image Pixel attributes.

    Shapes: ``(rows, columns)``; ``(frames, rows, columns)`` for grayscale;
    ``(rows, columns, 3)`` or ``(frames, rows, columns, 3)`` for colour. ``photometric``
    defaults to MONOCHROME2, or RGB for three samples (a 3-D array whose last axis is 3 is
    taken as colour unless ``photometric`` says grayscale). bool arrays are stored with
    BitsAllocated 1, float32/float64 as Float / Double Float Pixel Data. The transfer syntax
    becomes explicit VR little endian when it was an encapsulated one.
    """
    a = np.asarray(arr)
    if a.ndim not in (2, 3, 4):
        raise PixelDataError(f"pixel arrays are 2-D to 4-D, not {a.ndim}-D")
    colour = (
        photometric.upper() in _COLOUR
        if photometric
        else (a.ndim == 4 or (a.ndim == 3 and a.shape[-1] == 3))
    )
    if colour:
        if a.shape[-1] != 3 or a.ndim == 2:
            raise PixelDataError(f"a colour image needs 3 samples on the last axis: {a.shape}")
        frames = a if a.ndim == 4 else a[np.newaxis]
        spp = 3
    else:
        if a.ndim == 4:
            raise PixelDataError(f"a grayscale array has 2 or 3 dimensions, not {a.shape}")
        frames = a if a.ndim == 3 else a[np.newaxis]
        spp = 1
    photometric = (photometric or ("RGB" if colour else "MONOCHROME2")).upper()
    kind, size = frames.dtype.kind, frames.dtype.itemsize
    tag = PIXEL_DATA
    if kind == "b":
        ba, signed = 1, False
    elif kind == "f":
        if size not in (4, 8):
            raise PixelDataError(f"float pixel data is float32 or float64, not {frames.dtype}")
        ba, signed = size * 8, False
        tag = FLOAT_PIXEL_DATA if size == 4 else DOUBLE_FLOAT_PIXEL_DATA
    elif kind in "iu" and size in (1, 2, 4, 8):
        ba, signed = size * 8, kind == "i"
    else:
        raise PixelDataError(f"cannot store {frames.dtype} pixels")
    bs = bits_stored or ba
    if kind in "iu" and bs < ba and frames.size:
        lo, hi = int(frames.min()), int(frames.max())
        top = (1 << (bs - 1)) - 1 if signed else (1 << bs) - 1
        bottom = -(1 << (bs - 1)) if signed else 0
        if lo < bottom or hi > top:
            raise PixelDataError(f"values {lo}..{hi} do not fit in {bs} bits stored")
    n, rows, cols = frames.shape[:3]
    info = PixelInfo(
        rows=rows,
        columns=cols,
        samples_per_pixel=spp,
        bits_allocated=ba,
        bits_stored=bs,
        high_bit=bs - 1,
        pixel_representation=int(signed),
        planar_configuration=planar_configuration if spp > 1 else 0,
        photometric_interpretation=photometric,
        number_of_frames=n,
        transfer_syntax=uids.ExplicitVRLittleEndian,
        pixel_tag=tag,
    )
    _drop_pixels(ds)
    ds.set("SamplesPerPixel", spp, vr="US")
    ds.set("PhotometricInterpretation", photometric, vr="CS")
    if spp > 1:
        ds.set("PlanarConfiguration", info.planar_configuration, vr="US")
    elif "PlanarConfiguration" in ds:
        del ds["PlanarConfiguration"]
    ds.set("Rows", rows, vr="US")
    ds.set("Columns", cols, vr="US")
    if tag == PIXEL_DATA:
        ds.set("BitsAllocated", ba, vr="US")
        ds.set("BitsStored", bs, vr="US")
        ds.set("HighBit", bs - 1, vr="US")
        ds.set("PixelRepresentation", int(signed), vr="US")
    else:
        ds.set("BitsAllocated", ba, vr="US")
        for kw in ("BitsStored", "HighBit", "PixelRepresentation"):
            if kw in ds:
                del ds[kw]
    if n > 1 or multi_frame or (multi_frame is None and "NumberOfFrames" in ds):
        ds.set("NumberOfFrames", n, vr="IS")
    vr = {
        PIXEL_DATA: "OB" if ba <= 8 else "OW",
        FLOAT_PIXEL_DATA: "OF",
        DOUBLE_FLOAT_PIXEL_DATA: "OD",
    }[tag]
    ds.add(_native_element(tag, vr, native.pack(frames, info)))
    current = getattr(ds, "transfer_syntax", None)
    if current is None or ts.lookup(str(current)).encapsulated:
        set_transfer_syntax(ds, uids.ExplicitVRLittleEndian)
    return info


def _photometric_for_native(photometric: str, info: PixelInfo) -> str:
    if photometric == "YBR_FULL_422":
        return "YBR_FULL"  # decoded frames are full resolution
    return photometric


def decompress(ds: Any, *, registry: CodecRegistry | None = None) -> None:
    """Decode the pixel data to native explicit VR little endian, in place. ACR-NEMA packed
    12-bit samples (BitsAllocated 12) become 16-bit ones, as PS3.5 8.1.1 allows today."""
    info = pixel_info(ds)
    if not info.is_encapsulated:
        if not info.syntax.little_endian or info.is_422 or info.bits_allocated == 12:
            dec = decode(ds, registry=registry)
            _store_native(ds, dec.array, info, _photometric_for_native(dec.photometric, info))
        set_transfer_syntax(ds, uids.ExplicitVRLittleEndian)
        return
    dec = decode(ds, registry=registry)
    _store_native(ds, dec.array, info, _photometric_for_native(dec.photometric, info))
    set_transfer_syntax(ds, uids.ExplicitVRLittleEndian)


def _store_native(ds: Any, frames: np.ndarray, info: PixelInfo, photometric: str) -> None:
    if info.bits_allocated == 12:  # packed ACR-NEMA samples: stored in 16 bits
        info = info.replace(bits_allocated=16)
        ds.set("BitsAllocated", 16, vr="US")
    out = info.replace(
        transfer_syntax=uids.ExplicitVRLittleEndian,
        planar_configuration=0,
        photometric_interpretation=photometric,
        high_bit=info.bits_stored - 1,
    )
    _drop_pixels(ds)
    if info.samples_per_pixel > 1:
        ds.set("PlanarConfiguration", 0, vr="US")
    ds.set("PhotometricInterpretation", photometric, vr="CS")
    ds.set("HighBit", info.bits_stored - 1, vr="US")
    vr = {
        PIXEL_DATA: "OB" if info.bits_allocated <= 8 else "OW",
        FLOAT_PIXEL_DATA: "OF",
        DOUBLE_FLOAT_PIXEL_DATA: "OD",
    }[info.pixel_tag]
    ds.add(_native_element(info.pixel_tag, vr, native.pack(frames, out)))


def compress(
    ds: Any, uid: str, *, registry: CodecRegistry | None = None, extended_offset_table: bool = False
) -> None:
    """Re-encode the pixel data with the encoder registered for ``uid``, in place.

    Frames are decoded and encoded one at a time. YBR_FULL_422 becomes YBR_FULL (the frames
    are encoded at full resolution). ``extended_offset_table`` writes (7FE0,0001/0002) and an
    empty Basic Offset Table, for pixel data beyond 4 GiB.
    """
    uid = ts.resolve(uid)
    target = ts.lookup(uid)
    if not target.encapsulated:
        decompress(ds, registry=registry)
        if uid != uids.ExplicitVRLittleEndian:
            set_transfer_syntax(ds, uid)
        return
    registry = registry or default_registry()
    encoder = registry.encoder(uid)
    info = pixel_info(ds)
    if info.pixel_tag != PIXEL_DATA:
        raise PixelDataError("Float and Double Float Pixel Data cannot be compressed")
    photometric = info.photometric_interpretation
    encoded: list[bytes] = []
    out_info = info.replace(
        transfer_syntax=uid,
        planar_configuration=0,
        high_bit=info.bits_stored - 1,
        bits_allocated=16 if info.bits_allocated == 12 else info.bits_allocated,
    )
    for i in range(info.number_of_frames):
        dec = decode(ds, frames=[i], registry=registry)
        photometric = _photometric_for_native(dec.photometric, info)
        out_info = out_info.replace(photometric_interpretation=photometric)
        encoded.append(encoder(dec.array[0], out_info))
    photometric = registry.photometric_after_encoding(uid, photometric)
    _drop_pixels(ds)
    if extended_offset_table:
        value, eot, lengths = encapsulation.encapsulate_extended(encoded)
        ds.add(DataElement(EXTENDED_OFFSET_TABLE, "OV", eot))
        ds.add(DataElement(EXTENDED_OFFSET_TABLE_LENGTHS, "OV", lengths))
    else:
        value = encapsulation.encapsulate(encoded)
    ds.add(DataElement(PIXEL_DATA, "OB", value, undefined_length=True))
    if info.samples_per_pixel > 1:
        ds.set("PlanarConfiguration", 0, vr="US")
    ds.set("PhotometricInterpretation", photometric, vr="CS")
    ds.set("HighBit", info.bits_stored - 1, vr="US")
    if out_info.bits_allocated != info.bits_allocated:  # packed 12-bit samples
        ds.set("BitsAllocated", out_info.bits_allocated, vr="US")
    if not target.lossless:
        ds.set("LossyImageCompression", "01", vr="CS")
    set_transfer_syntax(ds, uid)
