"""Showing an image through a Grayscale Softcopy Presentation State (PS3.4 N.2, the
grayscale pipeline): Modality LUT -> Softcopy VOI LUT -> Presentation LUT -> display
shutters (filled with Shutter Presentation Value) -> graphic annotations -> displayed area ->
rotation and horizontal flip. The result is an 8-bit picture of P-values for a PNG.

Annotations are drawn as lines and marks in the layer's recommended grayscale (white when it
has none): polylines, interpolated curves (as polylines), circles, ellipses, points (a small
cross), filled closed shapes; text in a small built-in 3x5 bitmap font (capitals, digits,
punctuation), scaled to its bounding box or beside its anchor point (marked by a cross).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from dicomkit.builders._draw import circle_mask, draw_points, line_points, polygon_mask
from dicomkit.builders._font import GLYPH_H, GLYPH_W, render_text
from dicomkit.core._dataset import Dataset
from dicomkit.dictionary import uids
from dicomkit.errors import InvalidValueError
from dicomkit.pixels import _lut as lut

__all__ = ["apply_presentation_state"]

_GRAYSCALE_PR = (
    uids.GrayscaleSoftcopyPresentationStateStorage,
    uids.XAXRFGrayscaleSoftcopyPresentationStateStorage,
)


def _applies(item: Dataset, sop_uid: str, frame: int) -> bool:
    """Whether an item with an optional Referenced Image Sequence covers the image frame."""
    refs = item.get("ReferencedImageSequence")
    if not refs:
        return True
    for ref in refs:
        if str(ref.get("ReferencedSOPInstanceUID") or "") != sop_uid:
            continue
        frames = ref.get("ReferencedFrameNumber")
        if frames in (None, ""):
            return True
        wanted = frames if isinstance(frames, list) else [frames]
        if frame + 1 in [int(f) for f in wanted]:
            return True
    return False


def _referenced(pr: Dataset, sop_uid: str) -> bool:
    for series in pr.get("ReferencedSeriesSequence") or ():
        for ref in series.get("ReferencedImageSequence") or ():
            if str(ref.get("ReferencedSOPInstanceUID") or "") == sop_uid:
                return True
    return False


def _ints(value: Any) -> list[int]:
    vals = value if isinstance(value, list) else [value]
    return [int(v) for v in vals]


def shutter_mask(pr: Dataset, rows: int, cols: int) -> np.ndarray:
    """True where the display shutters of ``pr`` leave the image visible (PS3.3 C.7.6.11)."""
    shapes = pr.get("ShutterShape") or []
    shapes = [shapes] if isinstance(shapes, str) else list(shapes)
    open_ = np.ones((rows, cols), bool)
    r1 = np.arange(1, rows + 1)[:, None]  # 1-based row and column numbers
    c1 = np.arange(1, cols + 1)[None, :]
    for shape in shapes:
        if shape == "RECTANGULAR":
            left = int(pr.get("ShutterLeftVerticalEdge"))
            right = int(pr.get("ShutterRightVerticalEdge"))
            upper = int(pr.get("ShutterUpperHorizontalEdge"))
            lower = int(pr.get("ShutterLowerHorizontalEdge"))
            open_ &= (c1 >= left) & (c1 <= right) & (r1 >= upper) & (r1 <= lower)
        elif shape == "CIRCULAR":
            row, col = _ints(pr.get("CenterOfCircularShutter"))
            radius = int(pr.get("RadiusOfCircularShutter"))
            open_ &= (r1 - row) ** 2 + (c1 - col) ** 2 <= radius**2
        elif shape == "POLYGONAL":
            v = _ints(pr.get("VerticesOfThePolygonalShutter"))
            # vertices are (row, column) pixel numbers: pixel (r, c) spans c-1..c, r-1..r
            pts = [(v[i + 1] - 0.5, v[i] - 0.5) for i in range(0, len(v) - 1, 2)]
            open_ &= polygon_mask(rows, cols, pts, edges_inside=True)
        else:
            raise InvalidValueError(f"unknown Shutter Shape {shape!r} in the presentation state")
    return open_


def _layers(pr: Dataset) -> dict[str, tuple[int, int]]:
    """Graphic layer name -> (order, 8-bit grey value) (PS3.3 C.10.7)."""
    out = {}
    for layer in pr.get("GraphicLayerSequence") or ():
        gray = layer.get("GraphicLayerRecommendedDisplayGrayscaleValue")
        order = int(layer.get("GraphicLayerOrder") or 0)
        out[str(layer.get("GraphicLayer"))] = (order, 255 if gray is None else int(gray) >> 8)
    return out


def _xy(values: Any, units: str, rows: int, cols: int) -> list[tuple[float, float]]:
    v = [float(x) for x in (values if isinstance(values, list) else [values])]
    pts = [(v[i], v[i + 1]) for i in range(0, len(v) - 1, 2)]
    if units == "DISPLAY":  # fractions of the displayed area (taken as the whole image)
        pts = [(x * cols, y * rows) for x, y in pts]
    return pts


def _cross(img: np.ndarray, p: tuple[float, float], value: int, size: int = 2) -> None:
    x, y = p
    draw_points(img, line_points((x - size, y), (x + size, y)), value)
    draw_points(img, line_points((x, y - size), (x, y + size)), value)


def _polyline(img: np.ndarray, pts: list[tuple[float, float]], value: int) -> None:
    for a, b in itertools.pairwise(pts):
        draw_points(img, line_points(a, b), value)


def _ellipse_points(pts: list[tuple[float, float]], n: int = 180) -> list[tuple[float, float]]:
    (ax0, ay0), (ax1, ay1), (bx0, by0), (bx1, by1) = pts[:4]
    cx, cy = (ax0 + ax1) / 2, (ay0 + ay1) / 2
    ux, uy = (ax1 - ax0) / 2, (ay1 - ay0) / 2
    vx, vy = (bx1 - bx0) / 2, (by1 - by0) / 2
    t = np.linspace(0, 2 * np.pi, n + 1)
    return [(cx + ux * np.cos(a) + vx * np.sin(a), cy + uy * np.cos(a) + vy * np.sin(a)) for a in t]


def draw_annotations(img: np.ndarray, pr: Dataset, sop_uid: str, frame: int) -> None:
    """Draw the graphic annotations of ``pr`` that apply to the image frame onto ``img``."""
    rows, cols = img.shape[:2]
    layers = _layers(pr)
    # lower Graphic Layer Order first: higher layers are drawn over them
    anns = sorted(
        pr.get("GraphicAnnotationSequence") or (),
        key=lambda a: layers.get(str(a.get("GraphicLayer")), (0, 255))[0],
    )
    for ann in anns:
        if not _applies(ann, sop_uid, frame):
            continue
        value = layers.get(str(ann.get("GraphicLayer")), (0, 255))[1]
        for g in ann.get("GraphicObjectSequence") or ():
            units = str(g.get("GraphicAnnotationUnits") or "PIXEL")
            pts = _xy(g.get("GraphicData"), units, rows, cols)
            kind = str(g.get("GraphicType") or "POLYLINE")
            filled = str(g.get("GraphicFilled") or "N") == "Y"
            if kind == "POINT":
                _cross(img, pts[0], value)
                continue
            if kind == "CIRCLE":
                (cx, cy), (px, py) = pts[:2]
                radius = float(np.hypot(px - cx, py - cy))
                if filled:
                    img[circle_mask(rows, cols, (cx, cy), radius)] = value
                t = np.linspace(0, 2 * np.pi, max(16, int(radius * 8)))
                outline = [(cx + radius * np.cos(a), cy + radius * np.sin(a)) for a in t]
                _polyline(img, outline, value)
                continue
            if kind == "ELLIPSE":
                pts = _ellipse_points(pts)
            if filled:
                img[polygon_mask(rows, cols, pts)] = value
            _polyline(img, pts, value)
        for t in ann.get("TextObjectSequence") or ():
            _draw_text(img, t, value)


def _blit(img: np.ndarray, ink: np.ndarray, top: int, left: int, value: int) -> None:
    rows, cols = img.shape[:2]
    h, w = ink.shape
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + h, rows), min(left + w, cols)
    if r0 >= r1 or c0 >= c1:
        return
    part = ink[r0 - top : r1 - top, c0 - left : c1 - left]
    img[r0:r1, c0:c1][part] = value


def _draw_text(img: np.ndarray, t: Dataset, value: int) -> None:
    """A text object (PS3.3 C.10.5.1.1): in its bounding box, justified as it says and as
    large as fits; with only an anchor point, beside it (the standard leaves where to the
    application). A visible anchor point is marked with a cross."""
    rows, cols = img.shape[:2]
    text = str(t.get("UnformattedTextValue") or "").splitlines()[0:1] or [""]
    line = text[0]
    n = max(1, len(line))
    tl = t.get("BoundingBoxTopLeftHandCorner")
    if tl is not None:
        units = str(t.get("BoundingBoxAnnotationUnits") or "PIXEL")
        (x0, y0) = _xy(tl, units, rows, cols)[0]
        (x1, y1) = _xy(t.get("BoundingBoxBottomRightHandCorner"), units, rows, cols)[0]
        x0, x1 = min(x0, x1), max(x0, x1)
        y0, y1 = min(y0, y1), max(y0, y1)
        scale = max(1, min(int((y1 - y0) // (GLYPH_H + 1)), int((x1 - x0) // (n * (GLYPH_W + 1)))))
        ink = render_text(line, scale)
        h, w = ink.shape
        just = str(t.get("BoundingBoxTextHorizontalJustification") or "LEFT")
        if just == "RIGHT":
            left = int(np.floor(x1)) - w
        elif just == "CENTER":
            left = int(np.floor((x0 + x1 - w) / 2))
        else:
            left = int(np.ceil(x0))
        top = int(np.floor((y0 + y1 - h) / 2))
        clipped = np.zeros_like(img, dtype=bool)
        clipped[
            max(int(np.ceil(y0)), 0) : int(np.floor(y1)),
            max(int(np.ceil(x0)), 0) : int(np.floor(x1)),
        ] = True
        canvas = np.zeros_like(img, dtype=bool)
        _blit(canvas, ink, top, left, True)
        img[canvas & clipped] = value
    anchor = t.get("AnchorPoint")
    if anchor is not None:
        units = str(t.get("AnchorPointAnnotationUnits") or "PIXEL")
        ax, ay = _xy(anchor, units, rows, cols)[0]
        if tl is None:
            scale = max(1, round(min(rows, cols) / 160))
            ink = render_text(line, scale)
            left = int(ax) + 2 * scale
            if left + ink.shape[1] > cols:  # no room on the right: put it on the left
                left = int(ax) - 2 * scale - ink.shape[1]
            _blit(img, ink, int(ay) + 2 * scale, left, value)
        if str(t.get("AnchorPointVisibility") or "Y") == "Y":
            _cross(img, (ax, ay), value)


def apply_presentation_state(
    image: Dataset, pr: Dataset, frame: int = 0, *, annotations: bool = True
) -> np.ndarray:
    """Frame ``frame`` (from 0) of ``image`` as the presentation state ``pr`` shows it: a
    uint8 ``(rows, columns)`` array (rows and columns swap for a 90 or 270 degree rotation)."""
    from dicomkit.pixels._frames import decode

    if str(pr.get("SOPClassUID") or "") not in _GRAYSCALE_PR:
        raise InvalidValueError(
            f"{pr.get('SOPClassUID')} is not a Grayscale Softcopy Presentation State: give a "
            "GSPS (Modality PR) instance"
        )
    sop_uid = str(image.get("SOPInstanceUID") or "")
    if not _referenced(pr, sop_uid):
        raise InvalidValueError(
            f"the presentation state does not reference image {sop_uid}: use the presentation "
            "state made for this image (its Referenced Series Sequence lists the images)"
        )
    dec = decode(image, frames=[frame])
    if dec.info.samples_per_pixel != 1:
        raise InvalidValueError("a grayscale presentation state cannot show a colour image")
    arr = dec.array[0]
    # Modality LUT: the presentation state's (PS3.3 C.11.1), else the image's
    has_lut = pr.get("ModalityLUTSequence") or pr.get("RescaleSlope") is not None
    mod_source = pr if has_lut else image
    values = lut.modality_lut(arr, mod_source, frame=frame)
    voi = next(
        (i for i in pr.get("SoftcopyVOILUTSequence") or () if _applies(i, sop_uid, frame)), None
    )
    if voi is not None:
        out = lut.voi_lut(values, voi, y_max=1.0)
    else:
        out = lut.auto_window(np.asarray(values, dtype=np.float64), y_max=1.0)
    if str(pr.get("PresentationLUTShape") or "IDENTITY") == "INVERSE":
        out = 1.0 - out
    img = np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)
    rows, cols = img.shape
    if pr.get("ShutterShape"):
        shutter_value = int(pr.get("ShutterPresentationValue") or 0) >> 8
        img[~shutter_mask(pr, rows, cols)] = shutter_value
    if annotations:
        draw_annotations(img, pr, sop_uid, frame)
    area = next(
        (i for i in pr.get("DisplayedAreaSelectionSequence") or () if _applies(i, sop_uid, frame)),
        None,
    )
    if area is not None and area.get("DisplayedAreaTopLeftHandCorner") is not None:
        c0, r0 = _ints(area.get("DisplayedAreaTopLeftHandCorner"))
        c1, r1 = _ints(area.get("DisplayedAreaBottomRightHandCorner"))
        img = img[max(r0, 1) - 1 : min(r1, rows), max(c0, 1) - 1 : min(c1, cols)]
    rotation = int(pr.get("ImageRotation") or 0)
    if rotation:
        img = np.rot90(img, k=-(rotation // 90))  # clockwise
    if str(pr.get("ImageHorizontalFlip") or "N") == "Y":
        img = img[:, ::-1]
    return np.ascontiguousarray(img)
