"""Small builders for pixel tests."""

from __future__ import annotations

from typing import Any

from dicomkit import DataElement, Dataset

EXPLICIT_LE = "1.2.840.10008.1.2.1"
EXPLICIT_BE = "1.2.840.10008.1.2.2"


def make_ds(
    data: bytes,
    *,
    rows: int,
    cols: int,
    ba: int = 8,
    bs: int | None = None,
    hb: int | None = None,
    pr: int = 0,
    spp: int = 1,
    planar: int = 0,
    photometric: str | None = None,
    frames: int | None = None,
    ts: str = EXPLICIT_LE,
    tag: int = 0x7FE00010,
    vr: str | None = None,
    undefined_length: bool = False,
    **extra: Any,
) -> Dataset:
    ds = Dataset()
    ds.Rows = rows
    ds.Columns = cols
    ds.BitsAllocated = ba
    if tag == 0x7FE00010:
        ds.BitsStored = bs if bs is not None else ba
        ds.HighBit = hb if hb is not None else (bs if bs is not None else ba) - 1
        ds.PixelRepresentation = pr
    ds.SamplesPerPixel = spp
    if spp > 1:
        ds.PlanarConfiguration = planar
    ds.PhotometricInterpretation = photometric or ("RGB" if spp == 3 else "MONOCHROME2")
    if frames is not None:
        ds.NumberOfFrames = frames
    for k, v in extra.items():
        setattr(ds, k, v)
    if vr is None:
        vr = {0x7FE00008: "OF", 0x7FE00009: "OD"}.get(tag, "OB" if ba <= 8 else "OW")
    ds.add(DataElement(tag, vr, data, undefined_length=undefined_length))
    ds.transfer_syntax = ts
    return ds
