"""Grayscale Softcopy Presentation States (PS3.3 A.33.1): how to show a set of images --
window (Softcopy VOI LUT, C.11.8), display shutters (C.7.6.11), graphic annotations and text
(C.10.5) on graphic layers (C.10.7), rotation and flip (C.10.6) -- without touching them.

>>> import numpy as np
>>> from dicomkit.builders import secondary_capture, presentation_state, Window, Text
>>> img = secondary_capture(np.zeros((8, 8), np.uint16))
>>> pr = presentation_state([img], window=Window(100, 50), annotations=[Text("hi", anchor=(2, 2))])
>>> pr.Modality, pr.SoftcopyVOILUTSequence[0].WindowWidth
('PR', 50.0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dicomkit.builders._header import new_instance, now, referenced_series
from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence as DicomSequence
from dicomkit.dictionary import uids
from dicomkit.errors import InvalidValueError

__all__ = ["Graphic", "Layer", "Shutters", "Text", "Window", "presentation_state"]

Point = tuple[float, float]
GRAPHIC_TYPES = ("POINT", "POLYLINE", "INTERPOLATED", "CIRCLE", "ELLIPSE")
VOI_FUNCTIONS = ("LINEAR", "LINEAR_EXACT", "SIGMOID")


@dataclass(frozen=True, slots=True)
class Window:
    """A VOI window (PS3.3 C.11.2.1.2): ``center`` and ``width`` in modality units."""

    center: float
    width: float
    function: str = "LINEAR"
    explanation: str | None = None


@dataclass(frozen=True, slots=True)
class Text:
    """A text annotation (PS3.3 C.10.5.1.1): at an ``anchor`` point and/or in a bounding
    ``box`` ((left, top), (right, bottom)); coordinates are (column, row) image pixels with
    (0, 0) the top left corner of the image."""

    text: str
    anchor: Point | None = None
    box: tuple[Point, Point] | None = None
    anchor_visible: bool = True
    justification: str = "LEFT"
    layer: str = "ANNOTATIONS"


@dataclass(frozen=True, slots=True)
class Graphic:
    """A graphic object (PS3.3 C.10.5.1.2): ``kind`` POINT, POLYLINE, INTERPOLATED, CIRCLE
    (centre, then a point on the circle) or ELLIPSE (major axis ends, then minor axis ends);
    ``points`` are (column, row) image pixels."""

    kind: str
    points: Sequence[Point]
    filled: bool = False
    layer: str = "ANNOTATIONS"


@dataclass(frozen=True, slots=True)
class Shutters:
    """Display shutters (PS3.3 C.7.6.11), any combination; the image shows only where every
    shutter given is open. Positions are 1-based pixel rows and columns as the module counts:
    ``rectangle`` = (left column, right column, upper row, lower row); ``circle`` = (centre
    row, centre column, radius); ``polygon`` = [(row, column), ...]."""

    rectangle: tuple[int, int, int, int] | None = None
    circle: tuple[int, int, int] | None = None
    polygon: Sequence[tuple[int, int]] | None = None
    value: int = 0  # Shutter Presentation Value: P-value 0 (black) .. 65535 (white)

    @property
    def shapes(self) -> list[str]:
        """The Shutter Shape (0018,1600) values of the shutters given."""
        kinds = (("RECTANGULAR", self.rectangle), ("CIRCULAR", self.circle))
        out = [name for name, v in kinds if v is not None]
        if self.polygon is not None:
            out.append("POLYGONAL")
        return out


@dataclass(frozen=True, slots=True)
class Layer:
    """A graphic layer (PS3.3 C.10.7): ``order`` (higher is drawn on top), the recommended
    display grey as a P-value 0..65535 (``gray``), a description."""

    name: str
    order: int
    gray: int | None = None  # recommended display grayscale value (P-value 0..65535)
    description: str | None = None


def _points(values: Sequence[Point]) -> list[float]:
    return [float(c) for p in values for c in p]


def _text_item(t: Text) -> Dataset:
    if t.anchor is None and t.box is None:
        raise InvalidValueError(
            f"text {t.text!r} has neither anchor nor box: give one (or both), PS3.3 C.10.5"
        )
    item = Dataset()
    if t.box is not None:
        item.set("BoundingBoxAnnotationUnits", "PIXEL", "CS")
    if t.anchor is not None:
        item.set("AnchorPointAnnotationUnits", "PIXEL", "CS")
    item.set("UnformattedTextValue", t.text, "ST")
    if t.box is not None:
        item.set("BoundingBoxTopLeftHandCorner", [float(v) for v in t.box[0]], "FL")
        item.set("BoundingBoxBottomRightHandCorner", [float(v) for v in t.box[1]], "FL")
        item.set("BoundingBoxTextHorizontalJustification", t.justification.upper(), "CS")
    if t.anchor is not None:
        item.set("AnchorPoint", [float(v) for v in t.anchor], "FL")
        item.set("AnchorPointVisibility", "Y" if t.anchor_visible else "N", "CS")
    return item


def _graphic_item(g: Graphic) -> Dataset:
    kind = g.kind.upper()
    need = {"POINT": (1, 1), "CIRCLE": (2, 2), "ELLIPSE": (4, 4)}.get(kind, (2, 1 << 16))
    if kind not in GRAPHIC_TYPES:
        raise InvalidValueError(f"graphic type {g.kind!r} is not one of {', '.join(GRAPHIC_TYPES)}")
    if not need[0] <= len(g.points) <= need[1]:
        raise InvalidValueError(
            f"a {kind} graphic takes {need[0]}{'' if need[0] == need[1] else '+'} point(s), "
            f"not {len(g.points)} (PS3.3 C.10.5.1.2)"
        )
    closed = kind in ("CIRCLE", "ELLIPSE") or (
        kind in ("POLYLINE", "INTERPOLATED") and tuple(g.points[0]) == tuple(g.points[-1])
    )
    if g.filled and not closed:
        raise InvalidValueError(
            f"only closed graphics can be filled: end the {kind} where it starts"
        )
    item = Dataset()
    item.set("GraphicAnnotationUnits", "PIXEL", "CS")
    item.set("GraphicDimensions", 2, "US")
    item.set("NumberOfGraphicPoints", len(g.points), "US")
    item.set("GraphicData", _points(g.points), "FL")
    item.set("GraphicType", kind, "CS")
    if closed:
        item.set("GraphicFilled", "Y" if g.filled else "N", "CS")
    return item


def presentation_state(
    images: list[Dataset],
    *,
    window: Window | tuple[float, float] | None = None,
    annotations: Sequence[Text | Graphic] = (),
    shutters: Shutters | None = None,
    rotation: int = 0,
    flip: bool = False,
    layers: Sequence[Layer] = (),
    label: str = "PRESENTATION",
    description: str | None = None,
    creator: str = "",
    series_number: int = 700,
    instance_number: int = 1,
    patient: Mapping[str, Any] | None = None,
) -> Dataset:
    """A Grayscale Softcopy Presentation State for ``images`` (the headers are enough).

    ``window`` defaults to the first image's own window when it has one. Annotation layers
    are made for the layer names used (or taken from ``layers``); ``rotation`` is 0, 90, 180
    or 270 degrees clockwise, ``flip`` a horizontal flip after rotation (PS3.3 C.10.6).
    """
    if not images:
        raise InvalidValueError("a presentation state needs the images it applies to")
    if rotation not in (0, 90, 180, 270):
        raise InvalidValueError(f"rotation {rotation}: use 0, 90, 180 or 270 (PS3.3 C.10.6)")
    first = images[0]
    for img in images:
        if int(img.get("SamplesPerPixel") or 1) != 1:
            raise InvalidValueError(
                "a Grayscale Softcopy Presentation State applies to grayscale images only; "
                f"{img.get('SOPInstanceUID')} has colour samples"
            )
    ds = new_instance(
        uids.GrayscaleSoftcopyPresentationStateStorage,
        "PR",
        like=first,
        patient=patient,
        series_number=series_number,
        instance_number=instance_number,
    )
    for kw in ("ContentDate", "ContentTime"):
        del ds[kw]
    date, time = now()
    # Presentation State Identification (C.11.10)
    ds.set("ContentLabel", label.upper().replace(" ", "_")[:16], "CS")
    ds.set("ContentDescription", description or "", "LO")
    ds.set("PresentationCreationDate", date, "DA")
    ds.set("PresentationCreationTime", time, "TM")
    ds.set("ContentCreatorName", creator, "PN")
    # Presentation State Relationship (C.11.11)
    ds.set(
        "ReferencedSeriesSequence",
        referenced_series(images, item_keyword="ReferencedImageSequence"),
        "SQ",
    )
    # Displayed Area (C.10.4): the whole image, true aspect ratio
    area = Dataset()
    area.set("DisplayedAreaTopLeftHandCorner", [1, 1], "SL")
    area.set(
        "DisplayedAreaBottomRightHandCorner",
        [int(first.get("Columns") or 1), int(first.get("Rows") or 1)],
        "SL",
    )
    area.set("PresentationSizeMode", "SCALE TO FIT", "CS")
    spacing = first.get("PixelSpacing")
    if spacing:
        area.set("PresentationPixelSpacing", [float(v) for v in spacing], "DS")
    else:
        area.set("PresentationPixelAspectRatio", [1, 1], "IS")
    ds.set("DisplayedAreaSelectionSequence", DicomSequence([area]), "SQ")
    # Modality LUT (C.11.1): carried over so the window's units are the image's
    if first.get("RescaleSlope") is not None and first.get("RescaleIntercept") is not None:
        ds.set("RescaleIntercept", first.get("RescaleIntercept"), "DS")
        ds.set("RescaleSlope", first.get("RescaleSlope"), "DS")
        ds.set("RescaleType", str(first.get("RescaleType") or "US"), "LO")
    # Softcopy VOI LUT (C.11.8)
    if window is None and first.get("WindowCenter") is not None:
        c, w = first.get("WindowCenter"), first.get("WindowWidth")
        window = Window(
            float(c[0] if isinstance(c, list) else c), float(w[0] if isinstance(w, list) else w)
        )
    if isinstance(window, tuple):
        window = Window(*window)
    if window is not None:
        if window.width < 1:
            raise InvalidValueError(f"window width {window.width}: it is at least 1")
        if window.function.upper() not in VOI_FUNCTIONS:
            raise InvalidValueError(f"VOI LUT function {window.function!r}: use {VOI_FUNCTIONS}")
        voi = Dataset()
        voi.set("WindowCenter", float(window.center), "DS")
        voi.set("WindowWidth", float(window.width), "DS")
        if window.explanation:
            voi.set("WindowCenterWidthExplanation", window.explanation, "LO")
        if window.function.upper() != "LINEAR":
            voi.set("VOILUTFunction", window.function.upper(), "CS")
        ds.set("SoftcopyVOILUTSequence", DicomSequence([voi]), "SQ")
    # Display Shutter (C.7.6.11) and Presentation State Shutter (C.11.12)
    if shutters is not None and shutters.shapes:
        ds.set("ShutterShape", shutters.shapes, "CS")
        if shutters.rectangle is not None:
            left, right, upper, lower = shutters.rectangle
            ds.set("ShutterLeftVerticalEdge", left, "IS")
            ds.set("ShutterRightVerticalEdge", right, "IS")
            ds.set("ShutterUpperHorizontalEdge", upper, "IS")
            ds.set("ShutterLowerHorizontalEdge", lower, "IS")
        if shutters.circle is not None:
            row, col, radius = shutters.circle
            ds.set("CenterOfCircularShutter", [row, col], "IS")
            ds.set("RadiusOfCircularShutter", radius, "IS")
        if shutters.polygon is not None:
            if len(shutters.polygon) < 3:
                raise InvalidValueError("a polygonal shutter has at least 3 vertices")
            ds.set("VerticesOfThePolygonalShutter", [v for p in shutters.polygon for v in p], "IS")
        ds.set("ShutterPresentationValue", int(shutters.value), "US")
    # Graphic Annotation (C.10.5) and Graphic Layer (C.10.7)
    if annotations:
        known = {layer.name: layer for layer in layers}
        names: list[str] = []
        for a in annotations:
            if a.layer not in names:
                names.append(a.layer)
        seq = DicomSequence()
        for name in names:
            item = Dataset()
            item.set("GraphicLayer", name, "CS")
            texts = [_text_item(a) for a in annotations if isinstance(a, Text) and a.layer == name]
            graphics = [
                _graphic_item(a) for a in annotations if isinstance(a, Graphic) and a.layer == name
            ]
            if texts:
                item.set("TextObjectSequence", DicomSequence(texts), "SQ")
            if graphics:
                item.set("GraphicObjectSequence", DicomSequence(graphics), "SQ")
            seq.append(item)
        ds.set("GraphicAnnotationSequence", seq, "SQ")
        layer_seq = DicomSequence()
        for i, name in enumerate(names):
            layer = known.get(name, Layer(name, i + 1))
            li = Dataset()
            li.set("GraphicLayer", name, "CS")
            li.set("GraphicLayerOrder", layer.order, "IS")
            if layer.gray is not None:
                li.set("GraphicLayerRecommendedDisplayGrayscaleValue", layer.gray, "US")
            if layer.description:
                li.set("GraphicLayerDescription", layer.description, "LO")
            layer_seq.append(li)
        ds.set("GraphicLayerSequence", layer_seq, "SQ")
    # Spatial Transformation (C.10.6)
    if rotation or flip:
        ds.set("ImageRotation", rotation, "US")
        ds.set("ImageHorizontalFlip", "Y" if flip else "N", "CS")
    # Softcopy Presentation LUT (C.11.6)
    inverse = str(first.get("PhotometricInterpretation") or "") == "MONOCHROME1"
    ds.set("PresentationLUTShape", "INVERSE" if inverse else "IDENTITY", "CS")
    return ds
