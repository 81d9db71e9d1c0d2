"""Burned-in text on rendered pictures (PS3.18 9.5.1.2.2 / 8.3.5.1.1, ``annotation=patient,
technique``): short lines drawn into the 8-bit picture after it has been scaled, so the text
keeps its size whatever the output size.

- ``patient``: name, Patient ID, birth date and sex, in the top left corner;
- ``technique``: modality and study date, series / instance / frame numbers, and the
  acquisition values that are present (kVp, slice thickness), in the bottom left corner.

The text is white on a black box, in the small bitmap font of
:mod:`dicomkit.builders._font` (capitals, digits, punctuation; other characters show as
``?``), scaled by the picture's size (one font pixel per 160 picture pixels, at least one).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dicomkit.builders._font import render_text

__all__ = ["KEYWORDS", "annotate", "font_scale", "lines_for"]

#: the annotation keywords offered (PS3.18 defines these two)
KEYWORDS = ("patient", "technique")

_MARGIN = 1  # font pixels between the box's edge and the text, and between lines


def _text(ds: Any, keyword: str) -> str:
    value = ds.get(keyword)
    if value is None:
        return ""
    if isinstance(value, list):
        value = "\\".join(str(v) for v in value)
    return str(value).replace("^", " ").strip()


def _date(text: str) -> str:
    if len(text) == 8 and text.isdigit():
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text


def lines_for(ds: Any, keyword: str, frame_number: int, frames: int) -> list[str]:
    """The text lines of one annotation ``keyword`` for frame ``frame_number`` (1-based) of
    ``frames``; empty values are left out."""
    if keyword == "patient":
        who = _text(ds, "PatientName")
        pid = _text(ds, "PatientID")
        born = _date(_text(ds, "PatientBirthDate"))
        sex = _text(ds, "PatientSex")
        lines = [who, f"ID {pid}" if pid else "", " ".join(x for x in (born, sex) if x)]
    else:
        head = " ".join(x for x in (_text(ds, "Modality"), _date(_text(ds, "StudyDate"))) if x)
        numbers = []
        if _text(ds, "SeriesNumber"):
            numbers.append(f"SE {_text(ds, 'SeriesNumber')}")
        if _text(ds, "InstanceNumber"):
            numbers.append(f"IM {_text(ds, 'InstanceNumber')}")
        if frames > 1:
            numbers.append(f"FR {frame_number}/{frames}")
        acquisition = []
        if _text(ds, "KVP"):
            acquisition.append(f"{_text(ds, 'KVP')} KV")
        if _text(ds, "SliceThickness"):
            acquisition.append(f"{_text(ds, 'SliceThickness')} MM")
        lines = [head, " ".join(numbers), " ".join(acquisition)]
    return [line for line in lines if line]


def font_scale(rows: int, columns: int) -> int:
    """Font pixels per glyph pixel for a picture of ``rows`` x ``columns``."""
    return max(1, min(rows, columns) // 160)


def _block(lines: list[str], scale: int, max_width: int) -> np.ndarray:
    """The ink of ``lines`` (True = text) on a box with a margin, cut to ``max_width``."""
    inks = [render_text(line, scale) for line in lines]
    pad = _MARGIN * scale
    height = pad + sum(ink.shape[0] + pad for ink in inks)
    width = min(max_width, max(ink.shape[1] for ink in inks) + 2 * pad)
    box = np.zeros((height, width), dtype=bool)
    top = pad
    for ink in inks:
        part = ink[:, : max(0, width - pad)]
        box[top : top + ink.shape[0], pad : pad + part.shape[1]] = part
        top += ink.shape[0] + pad
    return box


def _paint(img: np.ndarray, box: np.ndarray, top: int) -> None:
    rows = min(box.shape[0], img.shape[0] - top)
    if rows <= 0:
        return
    ink = box[:rows]
    area = img[top : top + rows, : ink.shape[1]]
    area[...] = 0
    area[ink] = 255


def annotate(
    img: np.ndarray,
    ds: Any,
    keywords: tuple[str, ...],
    frame_number: int,
    frames: int,
) -> np.ndarray:
    """A copy of ``img`` (uint8, grey or RGB) with the ``keywords``' text burned in: patient
    lines at the top left, technique lines at the bottom left."""
    out = img.copy()
    rows, columns = out.shape[:2]
    scale = font_scale(rows, columns)
    if "patient" in keywords:
        lines = lines_for(ds, "patient", frame_number, frames)
        if lines:
            _paint(out, _block(lines, scale, columns), 0)
    if "technique" in keywords:
        lines = lines_for(ds, "technique", frame_number, frames)
        if lines:
            box = _block(lines, scale, columns)
            _paint(out, box, max(0, rows - box.shape[0]))
    return out
