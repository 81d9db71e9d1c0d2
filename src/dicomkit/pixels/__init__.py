"""Pixel data: native and encapsulated frames as numpy arrays, RLE, the codec registry, colour
spaces and LUTs, and encoding (PS3.5 8, A.4, Annex G; PS3.3 C.7.6.3, C.11).

Decoding: :func:`pixel_array`, :func:`frame`, :func:`iter_frames`, :func:`decode`;
presentation steps: :func:`display_frame` (the 8-bit picture of ``dicomkit export``), :mod:`~dicomkit.pixels._lut` (modality, VOI), :mod:`~dicomkit.pixels._colour`
(YBR, palettes); encoding: :func:`set_pixels`, :func:`compress`, :func:`decompress`.
"""

from __future__ import annotations

from dicomkit.pixels._codecs import CodecRegistry, default_registry
from dicomkit.pixels._colour import (
    apply_palette,
    descriptor,
    expand_segmented,
    palette_luts,
    rgb_to_ybr,
    ybr_to_rgb,
)
from dicomkit.pixels._display import display_frame
from dicomkit.pixels._encode import compress, decompress, set_pixels
from dicomkit.pixels._frames import Decoded, decode, frame, iter_frames, pixel_array, pixel_info
from dicomkit.pixels._info import PixelDataWarning, PixelInfo
from dicomkit.pixels._lut import (
    apply_lut,
    auto_window,
    lut_data,
    modality_lut,
    voi_lut,
    window,
    window_values,
)

__all__ = [
    "CodecRegistry",
    "Decoded",
    "PixelDataWarning",
    "PixelInfo",
    "apply_lut",
    "apply_palette",
    "auto_window",
    "compress",
    "decode",
    "decompress",
    "default_registry",
    "descriptor",
    "display_frame",
    "expand_segmented",
    "frame",
    "iter_frames",
    "lut_data",
    "modality_lut",
    "palette_luts",
    "pixel_array",
    "pixel_info",
    "rgb_to_ybr",
    "set_pixels",
    "voi_lut",
    "window",
    "window_values",
    "ybr_to_rgb",
]
