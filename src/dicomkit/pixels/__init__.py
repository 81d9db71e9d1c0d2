"""Pixel data: native and encapsulated frames as numpy arrays, RLE, the codec registry, colour
spaces and LUTs, and encoding (PS3.5 8, A.4, Annex G; PS3.3 C.7.6.3, C.11).

Decoding: :func:`pixel_array`, :func:`frame`, :func:`iter_frames`, :func:`decode`;
presentation steps: :mod:`~dicomkit.pixels.lut` (modality, VOI), :mod:`~dicomkit.pixels.colour`
(YBR, palettes); encoding: :func:`set_pixels`, :func:`compress`, :func:`decompress`.
"""

from __future__ import annotations

from dicomkit.pixels.codecs import CodecRegistry, default_registry
from dicomkit.pixels.encode import compress, decompress, set_pixels
from dicomkit.pixels.frames import Decoded, decode, frame, iter_frames, pixel_array, pixel_info
from dicomkit.pixels.info import PixelDataWarning, PixelInfo

__all__ = [
    "CodecRegistry",
    "Decoded",
    "PixelDataWarning",
    "PixelInfo",
    "compress",
    "decode",
    "decompress",
    "default_registry",
    "frame",
    "iter_frames",
    "pixel_array",
    "pixel_info",
    "set_pixels",
]
