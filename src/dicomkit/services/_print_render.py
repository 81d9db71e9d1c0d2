"""Render a printed film box to a picture (PS3.4 H; PS3.3 C.13), and a session's films to PDF.

The "printer" is a raster at ``dpi`` dots per inch over the film's physical size. Densities are
optical densities x 100 (OD 0.20 -> 20), shown as luminance on a linear scale between the
printer's own range: its ``min_density`` is white (255), its ``max_density`` black (0).

Per image box (grayscale), from the stored value to the film:

1. P-value in 0..1: ``v / (2**bits - 1)``; MONOCHROME1 is inverted first (its 0 is white);
   ``REVERSE`` polarity inverts it (PS3.3 C.13.8).
2. Presentation LUT (PS3.4 H.4.9): a LUT from the Presentation LUT Sequence maps the value;
   the IDENTITY and LIN OD shapes leave it as it is (P-values are linear in density here).
3. Density: ``max_density - P * (max_density - min_density)`` with the image box's Min / Max
   Density, else the film box's, else the printer's -- so P = 1 prints at Min Density.
4. Magnification (REPLICATE, BILINEAR, CUBIC: the image is scaled to fill its box keeping its
   aspect ratio; NONE: printed 1:1, and an image larger than its box is decimated, cropped or
   refused as Requested Decimate/Crop Behavior (2020,0040) says, with B60A / B609 / C603;
   without one it is demagnified, B604). Requested Image Size (2020,0030) sets the printed
   width in mm (demagnified to fit, B604, when the box is smaller).

Border Density fills the film around and between the boxes, Empty Image Density the boxes
without an image; Trim YES draws a frame round each image. Colour films (Basic Color Image Box)
use the RGB values as given, with polarity, border and trim. Pillow writes the PNG and PDF files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dicomkit.dictionary import status_codes
from dicomkit.errors import PixelDataError
from dicomkit.services._print_layout import film_mm, parse_density, parse_display_format

if TYPE_CHECKING:
    from PIL.Image import Image

_MM_PER_INCH = 25.4


def _pil() -> Any:
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:  # pragma: no cover - Pillow is in the print extra
        raise PixelDataError(
            "rendering printed films needs Pillow: pip install 'dicomkit[print]'"
        ) from None
    return Image, ImageDraw, ImageFont


@dataclass(frozen=True, slots=True)
class PrinterProfile:
    """What the rendering printer can do: resolution and density range (OD x 100)."""

    dpi: float = 50.0
    min_density: int = 20
    max_density: int = 300
    #: ``CUSTOM\\i`` formats: ``{"1": "ROW\\1,2"}``
    custom_formats: Mapping[str, str] = field(default_factory=dict)
    #: gap around and between image boxes, mm
    gap_mm: float = 2.0


@dataclass(frozen=True, slots=True)
class ImageSpec:
    """One image box's picture and presentation (PS3.4 H.4.3)."""

    pixels: np.ndarray  # (rows, columns) stored values, or (rows, columns, 3) RGB uint8
    bits_stored: int = 8
    monochrome1: bool = False
    polarity: str = "NORMAL"
    magnification: str = ""
    min_density: int | None = None
    max_density: int | None = None
    requested_size_mm: float | None = None
    decimate_crop: str = ""
    #: Presentation LUT as output fractions (0..1) per input index, or None
    lut: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class FilmSpec:
    """One film box ready to print (PS3.4 H.4.2): layout and presentation."""

    display_format: str = "STANDARD\\1,1"
    film_size: str = "8INX10IN"
    orientation: str = "PORTRAIT"
    magnification: str = "BILINEAR"
    border_density: str = "BLACK"
    empty_image_density: str = "BLACK"
    min_density: int | None = None
    max_density: int | None = None
    trim: str = "NO"
    color: bool = False
    #: Image Box Position (1-based) -> image
    images: Mapping[int, ImageSpec] = field(default_factory=dict)
    #: Annotation Position (1-based) -> text
    annotations: Mapping[int, str] = field(default_factory=dict)
    lut: np.ndarray | None = None


@dataclass(slots=True)
class Rendered:
    """A rendered film: the picture, each box's pixel rectangle (x0, y0, x1, y1), where each
    printed image landed, and the print statuses met (warnings; a failure stops printing)."""

    image: Image
    boxes: list[tuple[int, int, int, int]]
    placed: dict[int, tuple[int, int, int, int]]
    warnings: list[int]
    failure: int | None = None
    reason: str = ""


def luminance(density: float, printer: PrinterProfile) -> int:
    """The 0..255 grey a density (OD x 100) prints as on this printer."""
    lo, hi = printer.min_density, printer.max_density
    value = 255.0 * (hi - density) / max(1, hi - lo)
    return round(min(255.0, max(0.0, value)))


def _gray_lut(spec: ImageSpec, film: FilmSpec, printer: PrinterProfile) -> np.ndarray:
    """uint8 luminance for every stored value 0 .. 2**bits - 1."""
    top = (1 << spec.bits_stored) - 1
    p = np.arange(top + 1, dtype=np.float64) / top
    if spec.monochrome1:
        p = 1.0 - p
    if spec.polarity.upper() == "REVERSE":
        p = 1.0 - p
    lut = spec.lut if spec.lut is not None else film.lut
    if lut is not None and len(lut):
        idx = np.clip(np.round(p * (len(lut) - 1)).astype(np.int64), 0, len(lut) - 1)
        p = lut[idx]
    lo = _pick(spec.min_density, film.min_density, printer.min_density)
    hi = _pick(spec.max_density, film.max_density, printer.max_density)
    density = hi - p * (hi - lo)
    span = max(1, printer.max_density - printer.min_density)
    out = 255.0 * (printer.max_density - density) / span
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _pick(*values: int | None) -> int:
    for v in values:
        if v is not None:
            return v
    return 0


def _picture(spec: ImageSpec, film: FilmSpec, printer: PrinterProfile) -> Any:
    Image, _, _ = _pil()
    arr = spec.pixels
    if arr.ndim == 3:
        rgb = arr.astype(np.uint8)
        if spec.polarity.upper() == "REVERSE":
            rgb = 255 - rgb
        img = Image.fromarray(np.ascontiguousarray(rgb), "RGB")
        return img if film.color else img.convert("L")
    top = (1 << spec.bits_stored) - 1
    gray = _gray_lut(spec, film, printer)[np.clip(arr.astype(np.int64), 0, top)]
    img = Image.fromarray(np.ascontiguousarray(gray), "L")
    return img.convert("RGB") if film.color else img


_RESAMPLE = {"REPLICATE": "NEAREST", "BILINEAR": "BILINEAR", "CUBIC": "BICUBIC", "NONE": "NEAREST"}


def _fit(
    img: Any, spec: ImageSpec, film: FilmSpec, printer: PrinterProfile, bw: int, bh: int
) -> tuple[Any, int | None, str]:
    """Scale / crop the picture for a box of bw x bh pixels: (picture, status, reason)."""
    Image, _, _ = _pil()
    magnification = (spec.magnification or film.magnification or "BILINEAR").upper()
    resample = getattr(Image.Resampling, _RESAMPLE.get(magnification, "BILINEAR"))
    w, h = img.size
    status: int | None = None
    reason = ""
    if spec.requested_size_mm:
        scale = spec.requested_size_mm * printer.dpi / _MM_PER_INCH / w
        if w * scale > bw or h * scale > bh:
            scale = min(bw / w, bh / h)
            status, reason = status_codes.ImageDemagnified, "requested image size > image box"
    elif magnification == "NONE":
        scale = 1.0
        if w > bw or h > bh:
            behaviour = spec.decimate_crop.upper()
            if behaviour == "FAIL":
                return (
                    img,
                    status_codes.ImageLargerThanImageBox,
                    (
                        f"image {w}x{h} is larger than its box {bw}x{bh} and Requested "
                        "Decimate/Crop Behavior is FAIL"
                    ),
                )
            if behaviour == "CROP":
                left, top = max(0, (w - bw) // 2), max(0, (h - bh) // 2)
                img = img.crop((left, top, left + min(w, bw), top + min(h, bh)))
                return img, status_codes.ImageCropped, "image cropped to its box"
            scale = min(bw / w, bh / h)
            if behaviour == "DECIMATE":
                status, reason = status_codes.ImageDecimated, "image decimated to its box"
            else:
                status, reason = status_codes.ImageDemagnified, "image demagnified to its box"
    else:
        scale = min(bw / w, bh / h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size != (w, h):
        img = img.resize(size, resample)
    return img, status, reason


def render_film(film: FilmSpec, printer: PrinterProfile | None = None) -> Rendered:
    """Lay out and render one film box (see the module docstring)."""
    printer = printer or PrinterProfile()
    Image, ImageDraw, ImageFont = _pil()
    wmm, hmm = film_mm(film.film_size, film.orientation)
    width = max(1, round(wmm * printer.dpi / _MM_PER_INCH))
    height = max(1, round(hmm * printer.dpi / _MM_PER_INCH))
    black, white = printer.max_density, printer.min_density
    border = luminance(parse_density(film.border_density, black=black, white=white), printer)
    empty = luminance(parse_density(film.empty_image_density, black=black, white=white), printer)
    mode = "RGB" if film.color else "L"
    canvas = Image.new(mode, (width, height), (border,) * 3 if film.color else border)
    draw = ImageDraw.Draw(canvas)
    gap = max(1, round(printer.gap_mm * printer.dpi / _MM_PER_INCH))
    band = round(height * 0.06) if film.annotations else 0
    area_top, area_h = band, height - 2 * band
    boxes: list[tuple[int, int, int, int]] = []
    for b in parse_display_format(
        film.display_format, film_mm=(wmm, hmm), custom=printer.custom_formats
    ):
        x0 = round(b.x * width) + gap
        y0 = area_top + round(b.y * area_h) + gap
        x1 = round((b.x + b.width) * width) - gap
        y1 = area_top + round((b.y + b.height) * area_h) - gap
        boxes.append((x0, y0, max(x0 + 1, x1), max(y0 + 1, y1)))
    warnings: list[int] = []
    placed: dict[int, tuple[int, int, int, int]] = {}
    trim = film.trim.upper() == "YES"
    trim_grey = 0 if border > 127 else 255
    for pos, (x0, y0, x1, y1) in enumerate(boxes, start=1):
        spec = film.images.get(pos)
        if spec is None:
            draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=(empty,) * 3 if film.color else empty)
            continue
        inset = 2 if trim else 0
        bw, bh = x1 - x0 - 2 * inset, y1 - y0 - 2 * inset
        img, status, reason = _fit(_picture(spec, film, printer), spec, film, printer, bw, bh)
        if status is not None and status >= 0xC000:
            return Rendered(canvas, boxes, placed, warnings, status, f"box {pos}: {reason}")
        if status is not None and status not in warnings:
            warnings.append(status)
        w, h = img.size
        left = x0 + inset + (bw - w) // 2
        top = y0 + inset + (bh - h) // 2
        canvas.paste(img, (left, top))
        placed[pos] = (left, top, left + w, top + h)
        if trim:
            grey = (trim_grey,) * 3 if film.color else trim_grey
            draw.rectangle((left - 2, top - 2, left + w + 1, top + h + 1), outline=grey)
    if film.annotations:
        font = ImageFont.load_default(size=max(8, round(band * 0.6)))
        ink = (0 if border > 127 else 255,) * (3 if film.color else 1)
        fill: Any = ink if film.color else ink[0]
        for pos, text in sorted(film.annotations.items()):
            if not text:
                continue
            y = 0 if pos % 2 else height - band
            slot = (pos - 1) // 2
            draw.text((gap + slot * width // 2, y + band // 5), text, fill=fill, font=font)
    return Rendered(canvas, boxes, placed, warnings)


def write_png(rendered: Rendered, path: Path, printer: PrinterProfile | None = None) -> Path:
    """Save a rendered film as PNG (its dpi recorded) through Pillow, written under a
    temporary name and renamed."""
    dpi = (printer or PrinterProfile()).dpi
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    rendered.image.save(tmp, "PNG", dpi=(dpi, dpi), compress_level=3)
    tmp.replace(path)
    return path


def write_pdf(
    rendered: Rendered,
    path: Path,
    copies: int = 1,
    printer: PrinterProfile | None = None,
    append: bool = False,
) -> Path:
    """Add ``copies`` pages of a rendered film to a PDF (a new one unless ``append``), each
    page the film's physical size, through Pillow. The pages hold the film as JPEG at
    quality 95 (Pillow's PDF writer); the PNG of :func:`write_png` is the lossless film."""
    dpi = float((printer or PrinterProfile()).dpi)
    image = rendered.image
    pages = max(1, copies)
    image.save(
        path,
        "PDF",
        save_all=True,
        append_images=[image] * (pages - 1),
        append=append and path.exists(),
        resolution=dpi,
        quality=95,
    )
    return path


__all__ = [
    "FilmSpec",
    "ImageSpec",
    "PrinterProfile",
    "Rendered",
    "luminance",
    "render_film",
    "write_pdf",
    "write_png",
]
