"""Grayscale pipeline steps, each explicit (PS3.3 C.11): the Modality LUT (rescale slope /
intercept or a Modality LUT Sequence) and the VOI LUT (window centre / width with the LINEAR,
LINEAR_EXACT and SIGMOID functions, or a VOI LUT Sequence).

Values are looked up in the data set, or in the Shared / Per-Frame Functional Groups of an
enhanced multi-frame image (Pixel Value Transformation, Frame VOI LUT).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dicomkit.errors import PixelDataError
from dicomkit.pixels._colour import descriptor


def _first(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return value[0] if value else None
    return value


def _seq(ds: Any, keyword: str) -> list[Any]:
    value = ds.get(keyword)
    return list(value) if value else []


def _lookup(ds: Any, keyword: str, groups: tuple[str, ...], frame: int | None) -> Any:
    """``keyword`` from the data set, else from the per-frame then shared functional groups."""
    value = ds.get(keyword)
    if value not in (None, ""):
        return value
    per = _seq(ds, "PerFrameFunctionalGroupsSequence")
    shared = _seq(ds, "SharedFunctionalGroupsSequence")
    sources = []
    if frame is not None and frame < len(per):
        sources.append(per[frame])
    sources.extend(shared)
    for item in sources:
        for g in groups:
            for inner in _seq(item, g):
                v = inner.get(keyword)
                if v not in (None, ""):
                    return v
    return None


def lut_data(item: Any) -> tuple[np.ndarray, int, int]:
    """A LUT item's ``(values, first mapped input, bits per entry)`` (PS3.3 C.11.1.1)."""
    desc = item.get("LUTDescriptor")
    data = item.get("LUTData")
    if desc is None or data is None:
        raise PixelDataError("LUT item without LUTDescriptor / LUTData")
    entries, first, bits = descriptor(desc)
    entries = entries or 65536
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        values = (
            np.frombuffer(raw, "<u2")
            if len(raw) >= 2 * entries or bits > 8
            else np.frombuffer(raw, "u1")
        )
        values = values.astype(np.int64)
    else:
        values = np.asarray(
            data if isinstance(data, (list, tuple, np.ndarray)) else [data], dtype=np.int64
        )
    if first > 32767 and values.size:  # US or SS descriptor: negative first input value
        first -= 65536
    return values[:entries], first, bits


def apply_lut(arr: np.ndarray, values: np.ndarray, first: int) -> np.ndarray:
    """Inputs below the first mapped value use the first entry, above the last the last."""
    idx = np.clip(arr.astype(np.int64) - first, 0, values.size - 1)
    return values[idx]


def modality_lut(arr: np.ndarray, ds: Any, *, frame: int | None = None) -> np.ndarray:
    """Stored values -> modality values (e.g. Hounsfield units), PS3.3 C.11.1.

    A Modality LUT Sequence wins over Rescale Slope / Intercept. Without either, ``arr`` is
    returned unchanged. Rescaling gives float64."""
    seq = _seq(ds, "ModalityLUTSequence")
    if seq:
        values, first, _ = lut_data(seq[0])
        return apply_lut(arr, values, first)
    groups = ("PixelValueTransformationSequence",)
    slope = _first(_lookup(ds, "RescaleSlope", groups, frame))
    intercept = _first(_lookup(ds, "RescaleIntercept", groups, frame))
    if slope is None and intercept is None:
        return arr
    s = float(slope) if slope not in (None, "") else 1.0
    b = float(intercept) if intercept not in (None, "") else 0.0
    return arr.astype(np.float64) * s + b


def window(
    arr: np.ndarray,
    center: float,
    width: float,
    *,
    function: str = "LINEAR",
    y_min: float = 0.0,
    y_max: float = 1.0,
) -> np.ndarray:
    """The VOI window of PS3.3 C.11.2.1.2 (LINEAR), C.11.2.1.3.2 (LINEAR_EXACT) and
    C.11.2.1.3.1 (SIGMOID), as float64 in ``[y_min, y_max]``."""
    x = arr.astype(np.float64)
    c, w = float(center), float(width)
    span = y_max - y_min
    fn = (function or "LINEAR").strip().upper()
    if fn == "SIGMOID":
        if w <= 0:
            raise PixelDataError(f"SIGMOID window width must be > 0, not {w}")
        return span / (1.0 + np.exp(-4.0 * (x - c) / w)) + y_min
    if fn == "LINEAR_EXACT":
        if w <= 0:
            raise PixelDataError(f"LINEAR_EXACT window width must be > 0, not {w}")
        y = ((x - c) / w + 0.5) * span + y_min
        y[x <= c - w / 2] = y_min
        y[x > c + w / 2] = y_max
        return y
    if fn != "LINEAR":
        raise PixelDataError(f"unknown VOI LUT Function {function!r}")
    if w < 1:
        raise PixelDataError(f"LINEAR window width must be >= 1, not {w}")
    lo = c - 0.5 - (w - 1) / 2
    hi = c - 0.5 + (w - 1) / 2
    if w == 1:
        return np.where(x <= lo, y_min, y_max).astype(np.float64)
    y = ((x - (c - 0.5)) / (w - 1) + 0.5) * span + y_min
    y[x <= lo] = y_min
    y[x > hi] = y_max
    return y


def window_values(
    ds: Any, index: int = 0, *, frame: int | None = None
) -> tuple[float, float, str] | None:
    """The ``index``-th Window Center / Width and the VOI LUT Function, or None."""
    groups = ("FrameVOILUTSequence",)
    centers = _lookup(ds, "WindowCenter", groups, frame)
    widths = _lookup(ds, "WindowWidth", groups, frame)
    if centers in (None, "") or widths in (None, ""):
        return None
    cs = list(centers) if isinstance(centers, (list, tuple)) else [centers]
    ws = list(widths) if isinstance(widths, (list, tuple)) else [widths]
    k = min(index, len(cs) - 1, len(ws) - 1)
    fn = _lookup(ds, "VOILUTFunction", groups, frame) or "LINEAR"
    return float(cs[k]), float(ws[k]), str(_first(fn)).strip() or "LINEAR"


def voi_lut(
    arr: np.ndarray,
    ds: Any,
    *,
    index: int = 0,
    frame: int | None = None,
    y_min: float = 0.0,
    y_max: float = 1.0,
    prefer_window: bool = False,
) -> np.ndarray:
    """Modality values -> display values in ``[y_min, y_max]`` (float64), PS3.3 C.11.2.

    Uses the VOI LUT Sequence, or the window (``prefer_window`` picks the window when both are
    present); with neither, the full range of ``arr`` is stretched linearly."""
    seq = _seq(ds, "VOILUTSequence")
    win = window_values(ds, index, frame=frame)
    if seq and not (prefer_window and win):
        values, first, bits = lut_data(seq[min(index, len(seq) - 1)])
        top = float((1 << bits) - 1) if bits else float(values.max() or 1)
        out = apply_lut(arr, values, first).astype(np.float64)
        return out / top * (y_max - y_min) + y_min
    if win is not None:
        return window(arr, win[0], win[1], function=win[2], y_min=y_min, y_max=y_max)
    return auto_window(arr, y_min=y_min, y_max=y_max)


def auto_window(arr: np.ndarray, *, y_min: float = 0.0, y_max: float = 1.0) -> np.ndarray:
    """Stretch the values' own range to ``[y_min, y_max]``."""
    x = arr.astype(np.float64)
    lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 1.0)
    if hi <= lo:
        return np.full(x.shape, y_min)
    return (x - lo) / (hi - lo) * (y_max - y_min) + y_min
