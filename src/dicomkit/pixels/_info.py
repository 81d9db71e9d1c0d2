"""The Image Pixel module (PS3.3 C.7.6.3) as one frozen value: :class:`PixelInfo`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from dicomkit.dictionary import tags, uids
from dicomkit.errors import PixelDataError
from dicomkit.pixels import _syntax as syntax

PIXEL_DATA = 0x7FE00010
FLOAT_PIXEL_DATA = 0x7FE00008
DOUBLE_FLOAT_PIXEL_DATA = 0x7FE00009
EXTENDED_OFFSET_TABLE = 0x7FE00001
EXTENDED_OFFSET_TABLE_LENGTHS = 0x7FE00002
PIXEL_TAGS = (PIXEL_DATA, FLOAT_PIXEL_DATA, DOUBLE_FLOAT_PIXEL_DATA)


class PixelDataWarning(UserWarning):
    """Pixel data that was decoded by a documented repair (e.g. zero padding of a value
    shorter than Rows x Columns x frames), as DCMTK does; the message says what was done."""


def _int(value: Any, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, (list, tuple)):
        value = value[0] if value else default
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return default


def _text(value: Any, default: str) -> str:
    if value is None:
        return default
    if isinstance(value, (list, tuple)):
        value = value[0] if value else default
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("ascii", "replace")
    text = str(value).strip().rstrip("\0").strip()
    return text or default


def pixel_tag_of(ds: Any) -> int:
    """The pixel data element present in ``ds``: (7FE0,0010), (7FE0,0008) or (7FE0,0009)."""
    for tag in PIXEL_TAGS:
        if tag in ds:
            return tag
    raise PixelDataError(
        "the data set has no Pixel Data, Float Pixel Data or Double Float Pixel Data element"
    )


@dataclass(frozen=True, slots=True)
class PixelInfo:
    """How to read the pixel data of one image (PS3.3 C.7.6.3, PS3.5 8)."""

    rows: int
    columns: int
    samples_per_pixel: int = 1
    bits_allocated: int = 8
    bits_stored: int = 8
    high_bit: int = 7
    pixel_representation: int = 0
    planar_configuration: int = 0
    photometric_interpretation: str = "MONOCHROME2"
    number_of_frames: int = 1
    transfer_syntax: str = uids.ExplicitVRLittleEndian
    pixel_tag: int = PIXEL_DATA

    @classmethod
    def from_dataset(cls, ds: Any, *, transfer_syntax: str | None = None) -> PixelInfo:
        """Read the Image Pixel module from a data set (missing optional values take their
        defaults; a missing Rows/Columns/BitsAllocated raises :class:`PixelDataError`)."""
        tag = pixel_tag_of(ds)
        get = ds.get  # by tag: no keyword lookups on this hot path
        rows = _int(get(tags.Rows), 0)
        cols = _int(get(tags.Columns), 0)
        if tag == FLOAT_PIXEL_DATA:
            ba_default = 32
        elif tag == DOUBLE_FLOAT_PIXEL_DATA:
            ba_default = 64
        else:
            ba_default = 0
        ba = _int(get(tags.BitsAllocated), ba_default)
        if rows <= 0 or cols <= 0 or ba <= 0:
            raise PixelDataError(
                f"cannot read pixel data: Rows={rows}, Columns={cols}, BitsAllocated={ba} "
                "(all three are required and must be positive)"
            )
        bs = _int(get(tags.BitsStored), ba)
        if bs <= 0 or bs > ba:
            bs = ba
        hb = _int(get(tags.HighBit), bs - 1)
        spp = _int(get(tags.SamplesPerPixel), 1)
        ts = transfer_syntax
        if ts is None:
            ts = getattr(ds, "transfer_syntax", None)
        frames = _int(get(tags.NumberOfFrames), 1)
        return cls(
            rows=rows,
            columns=cols,
            samples_per_pixel=max(spp, 1),
            bits_allocated=ba,
            bits_stored=bs,
            high_bit=hb,
            pixel_representation=_int(get(tags.PixelRepresentation), 0),
            planar_configuration=_int(get(tags.PlanarConfiguration), 0),
            photometric_interpretation=_text(
                get(tags.PhotometricInterpretation), "MONOCHROME2" if spp == 1 else "RGB"
            ).upper(),
            number_of_frames=max(frames, 1),
            transfer_syntax=str(ts).strip().rstrip("\0") if ts else uids.ExplicitVRLittleEndian,
            pixel_tag=tag,
        )

    def replace(self, **changes: Any) -> PixelInfo:
        """A copy with some fields changed."""
        return replace(self, **changes)

    @property
    def syntax(self) -> syntax.Syntax:
        """The transfer syntax's encoding facts (encapsulated, byte order ...)."""
        return syntax.lookup(self.transfer_syntax)

    @property
    def is_encapsulated(self) -> bool:
        """True when the pixel data is encapsulated (a compressed transfer syntax)."""
        return self.syntax.encapsulated and self.pixel_tag == PIXEL_DATA

    @property
    def is_float(self) -> bool:
        """True for Float / Double Float Pixel Data (7FE0,0008 / 0009)."""
        return self.pixel_tag != PIXEL_DATA

    @property
    def is_signed(self) -> bool:
        """True for signed integer pixels (Pixel Representation 1)."""
        return self.pixel_representation == 1 and not self.is_float

    @property
    def is_422(self) -> bool:
        """Native YBR_FULL_422: two luminance samples share one Cb and Cr (PS3.3 C.7.6.3.1.2)."""
        return (
            self.photometric_interpretation == "YBR_FULL_422"
            and self.samples_per_pixel == 3
            and not self.is_encapsulated
        )

    @property
    def dtype(self) -> np.dtype[Any]:
        """The numpy dtype of decoded pixels (native byte order)."""
        ba = self.bits_allocated
        if self.is_float:
            return np.dtype("f4" if ba == 32 or self.pixel_tag == FLOAT_PIXEL_DATA else "f8")
        if ba == 1:
            return np.dtype("u1")
        if ba == 12:  # ACR-NEMA packed: two pixels in three bytes, decoded to 16 bits
            return np.dtype("i2" if self.is_signed else "u2")
        if ba not in (8, 16, 32, 64):
            raise PixelDataError(
                f"BitsAllocated {ba} is not supported (1, 8, 12 packed, 16, 32 or 64)"
            )
        return np.dtype(f"{'i' if self.is_signed else 'u'}{ba // 8}")

    @property
    def frame_shape(self) -> tuple[int, ...]:
        """The shape of one frame: ``(rows, columns)``, or ``(rows, columns, samples)`` for
        colour."""
        if self.samples_per_pixel == 1:
            return (self.rows, self.columns)
        return (self.rows, self.columns, self.samples_per_pixel)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of all frames: no frame axis when there is one frame (as pydicom does)."""
        if self.number_of_frames == 1:
            return self.frame_shape
        return (self.number_of_frames, *self.frame_shape)

    @property
    def frame_bits(self) -> int:
        """Bits in one native frame (frames of 1-bit data are not byte aligned, PS3.5 8.1.1)."""
        samples = self.rows * self.columns * self.samples_per_pixel
        if self.is_422:
            samples = self.rows * self.columns * 2
        return samples * self.bits_allocated

    @property
    def frame_length(self) -> int:
        """Bytes in one native frame (rounded up for 1-bit data)."""
        return (self.frame_bits + 7) // 8
