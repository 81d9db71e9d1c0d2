"""Checking the attribute lists of Print Management requests (PS3.4 H.4) against what each SOP
class takes, the way the print SCP answers them (PS3.7 10.1 statuses):

- an attribute the SOP class does not define for the operation: ignored, 0x0107 (Attribute
  List Error, a warning) naming it;
- a value out of the printer's range that can be brought in (Number of Copies, Min / Max
  Density): clamped, 0x0116 (Attribute Value Out of Range) or, for densities, 0xB605;
- a value that is not one of the defined terms: 0x0106 (Invalid Attribute Value), refused;
- a required attribute missing: 0x0120 (Missing Attribute).

Each check returns a :class:`Verdict` that the SCP turns into its response.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dicomkit.core._dataset import Dataset
from dicomkit.dictionary import status_codes
from dicomkit.dictionary import tags as t
from dicomkit.errors import InvalidValueError
from dicomkit.services._n_common import text
from dicomkit.services._print_layout import (
    DECIMATE_CROP,
    FILM_SIZES,
    MAGNIFICATIONS,
    ORIENTATIONS,
    POLARITIES,
    PRIORITIES,
    TRIMS,
    parse_density,
    parse_display_format,
)

_COMMON = {t.SpecificCharacterSet}
#: PS3.4 Table H.4-2 (N-CREATE, N-SET of the Basic Film Session)
FILM_SESSION = _COMMON | {
    t.NumberOfCopies,
    t.PrintPriority,
    t.MediumType,
    t.FilmDestination,
    t.FilmSessionLabel,
    t.MemoryAllocation,
    t.OwnerID,
    t.ProposedStudySequence,
    t.ReferencedPresentationLUTSequence,
    t.Illumination,
    t.ReflectedAmbientLight,
}
#: PS3.4 Table H.4-7 (N-SET of the Basic Film Box)
FILM_BOX_SET = _COMMON | {
    t.MagnificationType,
    t.SmoothingType,
    t.BorderDensity,
    t.EmptyImageDensity,
    t.MinDensity,
    t.MaxDensity,
    t.Trim,
    t.ConfigurationInformation,
    t.Illumination,
    t.ReflectedAmbientLight,
    t.ReferencedPresentationLUTSequence,
}
#: PS3.4 Table H.4-6 (N-CREATE of the Basic Film Box)
FILM_BOX_CREATE = FILM_BOX_SET | {
    t.ImageDisplayFormat,
    t.ReferencedFilmSessionSequence,
    t.FilmOrientation,
    t.FilmSizeID,
    t.AnnotationDisplayFormatID,
    t.RequestedResolutionID,
    t.ICCProfile,
}
#: PS3.4 Table H.4-10 / H.4-11 (N-SET of the Basic Grayscale / Color Image Box)
IMAGE_BOX = _COMMON | {
    t.ImageBoxPosition,
    t.BasicGrayscaleImageSequence,
    t.BasicColorImageSequence,
    t.Polarity,
    t.MagnificationType,
    t.SmoothingType,
    t.ConfigurationInformation,
    t.RequestedImageSize,
    t.RequestedDecimateCropBehavior,
    t.MinDensity,
    t.MaxDensity,
    t.ReferencedPresentationLUTSequence,
}
#: PS3.4 H.4.4 (N-SET of the Basic Annotation Box)
ANNOTATION_BOX = _COMMON | {t.AnnotationPosition, t.TextString}
#: PS3.4 Table H.4-23 (N-CREATE of the Presentation LUT)
PRESENTATION_LUT = _COMMON | {t.PresentationLUTSequence, t.PresentationLUTShape}


@dataclass(slots=True)
class Verdict:
    """The outcome of checking an attribute list: a failure (status, tags, reason) or the
    warnings met on the way (status -> tags)."""

    failure: int | None = None
    failure_tags: tuple[int, ...] = ()
    reason: str = ""
    warnings: dict[int, list[int]] = field(default_factory=dict)

    def fail(self, status: int, tags: Iterable[int], reason: str) -> Verdict:
        if self.failure is None:
            self.failure, self.failure_tags, self.reason = status, tuple(tags), reason
        return self

    def warn(self, status: int, tag: int) -> None:
        self.warnings.setdefault(status, []).append(tag)

    @property
    def ok(self) -> bool:
        return self.failure is None

    def response_fields(self) -> dict[str, Any]:
        """status / offending_element / error_comment for the response."""
        if self.failure is not None:
            return {
                "status": self.failure,
                "offending_element": self.failure_tags or None,
                "error_comment": self.reason[:64] or None,
            }
        if not self.warnings:
            return {"status": status_codes.Success}
        # one status per response: the print-specific warning first, then 0116, then 0107
        order = sorted(self.warnings, key=lambda s: (s < 0xB000, s != 0x0116))
        first = order[0]
        return {"status": first, "offending_element": tuple(self.warnings[first])}


def unknown_attributes(ds: Dataset, allowed: set[int], verdict: Verdict) -> None:
    """Attributes the operation does not take: dropped from ``ds``, warned 0x0107."""
    for tag in list(ds.tags()):
        if tag >> 16 in (0x0000, 0x0002) or tag in allowed:
            continue
        verdict.warn(status_codes.AttributeListWarning, tag)
        del ds[tag]


def choice(ds: Dataset, tag: int, choices: Iterable[str], verdict: Verdict, what: str) -> None:
    """A CS attribute that must be one of ``choices`` (when present and not empty)."""
    if tag not in ds:
        return
    value = text(ds.get(tag)).upper()
    allowed = tuple(choices)
    if value and value not in allowed:
        verdict.fail(
            status_codes.InvalidAttributeValue,
            (tag,),
            f"{what} {value!r} is not one of {', '.join(allowed)}",
        )


def number(ds: Dataset, tag: int, verdict: Verdict, what: str) -> float | None:
    """A numeric attribute (IS / DS / US) or None; not a number: 0x0106."""
    if tag not in ds or text(ds.get(tag)) == "":
        return None
    try:
        return float(text(ds.get(tag)))
    except ValueError:
        verdict.fail(status_codes.InvalidAttributeValue, (tag,), f"{what} is not a number")
        return None


def densities(ds: Dataset, verdict: Verdict, low: int, high: int) -> None:
    """Min / Max Density (2010,0120 / 0130): clamped to the printer's range with 0xB605."""
    for tag in (t.MinDensity, t.MaxDensity):
        value = number(ds, tag, verdict, "density")
        if value is None:
            continue
        clamped = int(min(high, max(low, value)))
        if clamped != value:
            verdict.warn(status_codes.DensityOutOfPrinterRange, tag)
            ds.set(tag, clamped, vr="US")
    lo, hi = ds.get(t.MinDensity), ds.get(t.MaxDensity)
    if isinstance(lo, int) and isinstance(hi, int) and lo >= hi:
        verdict.fail(
            status_codes.InvalidAttributeValue,
            (t.MinDensity, t.MaxDensity),
            f"Min Density {lo} is not below Max Density {hi}",
        )


def density_term(ds: Dataset, tag: int, verdict: Verdict, what: str) -> None:
    """Border / Empty Image Density: BLACK, WHITE or OD x 100."""
    if tag not in ds or not text(ds.get(tag)):
        return
    try:
        parse_density(text(ds.get(tag)), black=300, white=0)
    except InvalidValueError as exc:
        verdict.fail(status_codes.InvalidAttributeValue, (tag,), f"{what}: {exc}")


def check_film_session(ds: Dataset, verdict: Verdict, max_copies: int) -> None:
    """Basic Film Session N-CREATE / N-SET (PS3.4 H.4.1). Memory Allocation is accepted and
    not acted on: 0xB600 (memory allocation not supported, H.4.1.2.1.2)."""
    unknown_attributes(ds, FILM_SESSION, verdict)
    if text(ds.get(t.MemoryAllocation)):
        verdict.warn(status_codes.MemoryAllocationNotSupported, t.MemoryAllocation)
    copies = number(ds, t.NumberOfCopies, verdict, "Number of Copies")
    if copies is not None:
        if copies != int(copies) or copies < 1:
            verdict.fail(
                status_codes.InvalidAttributeValue, (t.NumberOfCopies,), "copies must be >= 1"
            )
        elif copies > max_copies:
            ds.set(t.NumberOfCopies, str(max_copies), vr="IS")
            verdict.warn(status_codes.AttributeValueOutOfRange, t.NumberOfCopies)
    choice(ds, t.PrintPriority, PRIORITIES, verdict, "Print Priority")
    choice(
        ds,
        t.MediumType,
        ("PAPER", "CLEAR FILM", "BLUE FILM", "MAMMO CLEAR FILM", "MAMMO BLUE FILM"),
        verdict,
        "Medium Type",
    )
    dest = text(ds.get(t.FilmDestination)).upper() if t.FilmDestination in ds else ""
    if dest and dest not in ("MAGAZINE", "PROCESSOR") and not dest.startswith("BIN_"):
        verdict.fail(
            status_codes.InvalidAttributeValue,
            (t.FilmDestination,),
            f"Film Destination {dest!r} is not MAGAZINE, PROCESSOR or BIN_i",
        )


def check_film_box(
    ds: Dataset,
    verdict: Verdict,
    *,
    create: bool,
    density_range: tuple[int, int],
    custom: dict[str, str],
    annotation_formats: dict[str, int],
) -> None:
    """Basic Film Box N-CREATE / N-SET (PS3.4 H.4.2)."""
    unknown_attributes(ds, FILM_BOX_CREATE if create else FILM_BOX_SET, verdict)
    if create:
        fmt = text(ds.get(t.ImageDisplayFormat))
        if not fmt:
            verdict.fail(
                status_codes.MissingAttribute,
                (t.ImageDisplayFormat,),
                "Image Display Format is required",
            )
        else:
            try:
                parse_display_format(fmt, custom=custom)
            except InvalidValueError as exc:
                verdict.fail(status_codes.InvalidAttributeValue, (t.ImageDisplayFormat,), str(exc))
        choice(ds, t.FilmSizeID, FILM_SIZES, verdict, "Film Size ID")
        choice(ds, t.FilmOrientation, ORIENTATIONS, verdict, "Film Orientation")
        annotation = text(ds.get(t.AnnotationDisplayFormatID)).upper()
        if annotation and annotation not in annotation_formats:
            verdict.fail(
                status_codes.InvalidAttributeValue,
                (t.AnnotationDisplayFormatID,),
                f"Annotation Display Format ID {annotation!r}: this printer has "
                + ", ".join(sorted(annotation_formats)),
            )
    choice(ds, t.MagnificationType, MAGNIFICATIONS, verdict, "Magnification Type")
    choice(ds, t.Trim, TRIMS, verdict, "Trim")
    density_term(ds, t.BorderDensity, verdict, "Border Density")
    density_term(ds, t.EmptyImageDensity, verdict, "Empty Image Density")
    densities(ds, verdict, *density_range)


def check_image_box(ds: Dataset, verdict: Verdict, density_range: tuple[int, int]) -> None:
    """Basic Grayscale / Color Image Box N-SET presentation attributes (PS3.4 H.4.3)."""
    unknown_attributes(ds, IMAGE_BOX, verdict)
    choice(ds, t.Polarity, POLARITIES, verdict, "Polarity")
    choice(ds, t.MagnificationType, MAGNIFICATIONS, verdict, "Magnification Type")
    choice(ds, t.RequestedDecimateCropBehavior, DECIMATE_CROP, verdict, "Requested Decimate/Crop")
    size = number(ds, t.RequestedImageSize, verdict, "Requested Image Size")
    if size is not None and size <= 0:
        verdict.fail(
            status_codes.InvalidAttributeValue, (t.RequestedImageSize,), "image size must be > 0"
        )
    densities(ds, verdict, *density_range)


def image_from_item(
    item: Dataset, *, color: bool, verdict: Verdict, seq_tag: int, max_bytes: int
) -> tuple[Any, int, bool] | None:
    """The pixels of a Basic Grayscale / Color Image Sequence item (PS3.4 Table H.4-10/11):
    (array, bits stored, MONOCHROME1), or None with the verdict failed (0x0106 naming the
    item's attribute; 0xC605 when larger than ``max_bytes``)."""
    import numpy as np

    def bad(tag: int, reason: str) -> bool:
        verdict.fail(status_codes.InvalidAttributeValue, (seq_tag, tag), reason)
        return False

    samples = item.get(t.SamplesPerPixel)
    photometric = text(item.get(t.PhotometricInterpretation)).upper()
    rows, cols = item.get(t.Rows), item.get(t.Columns)
    allocated, stored = item.get(t.BitsAllocated), item.get(t.BitsStored)
    data = item.get(t.PixelData)
    want = (3, ("RGB",)) if color else (1, ("MONOCHROME1", "MONOCHROME2"))
    if samples != want[0]:
        bad(t.SamplesPerPixel, f"Samples per Pixel must be {want[0]}")
        return None
    if photometric not in want[1]:
        bad(t.PhotometricInterpretation, f"Photometric {photometric!r}: use {want[1][0]}")
        return None
    if not isinstance(rows, int) or not isinstance(cols, int) or rows < 1 or cols < 1:
        bad(t.Rows, "Rows and Columns must be > 0")
        return None
    if item.get(t.PixelRepresentation) not in (0, None):
        bad(t.PixelRepresentation, "pixels must be unsigned (Pixel Representation 0)")
        return None
    allowed = ((8, 8),) if color else ((8, 8), (16, 12), (16, 16))
    if (allocated, stored) not in allowed:
        bad(t.BitsStored, f"Bits Allocated/Stored {allocated}/{stored} not supported")
        return None
    high = item.get(t.HighBit)
    if high is not None and high != stored - 1:
        bad(t.HighBit, f"High Bit must be {stored - 1}")
        return None
    size = rows * cols * samples * (allocated // 8)
    if size > max_bytes:
        verdict.fail(
            status_codes.InsufficientPrinterMemory,
            (seq_tag, t.PixelData),
            f"image of {size} bytes exceeds the printer's {max_bytes}",
        )
        return None
    if not isinstance(data, bytes | bytearray | memoryview) or len(data) < size:
        bad(t.PixelData, f"Pixel Data holds fewer than {size} bytes")
        return None
    dtype = np.uint8 if allocated == 8 else np.dtype("<u2")
    arr = np.frombuffer(bytes(data[:size]), dtype=dtype)
    if color:
        planar = item.get(t.PlanarConfiguration) == 1
        arr = (
            arr.reshape(3, rows, cols).transpose(1, 2, 0) if planar else arr.reshape(rows, cols, 3)
        )
    else:
        arr = arr.reshape(rows, cols)
        if stored < allocated:
            arr = arr & ((1 << stored) - 1)
    return arr, int(stored), photometric == "MONOCHROME1"


def lut_from(ds: Dataset, verdict: Verdict) -> Any:
    """A Presentation LUT (PS3.4 H.4.9) as output fractions, None for IDENTITY / LIN OD."""
    import numpy as np

    shape = text(ds.get(t.PresentationLUTShape)).upper()
    seq = ds.get(t.PresentationLUTSequence)
    if shape and seq:
        verdict.fail(
            status_codes.InvalidAttributeValue,
            (t.PresentationLUTShape, t.PresentationLUTSequence),
            "give a Presentation LUT Shape or a Presentation LUT Sequence, not both",
        )
        return None
    if shape:
        if shape not in ("IDENTITY", "LIN OD"):
            verdict.fail(
                status_codes.InvalidAttributeValue,
                (t.PresentationLUTShape,),
                f"Presentation LUT Shape {shape!r} is not IDENTITY or LIN OD",
            )
        return None
    if not seq:
        verdict.fail(
            status_codes.MissingAttribute,
            (t.PresentationLUTShape,),
            "a Presentation LUT Shape or Sequence is required",
        )
        return None
    item = seq[0]
    desc = item.get(t.LUTDescriptor)
    data = item.get(t.LUTData)
    try:
        entries, _first, bits = (int(v) for v in desc)
        entries = entries or 65536
        if isinstance(data, bytes | bytearray):
            values = np.frombuffer(bytes(data), dtype="<u2")[:entries]
        else:
            values = np.asarray(list(data) if isinstance(data, list) else [data])[:entries]
        if len(values) < entries or not 8 <= bits <= 16:
            raise ValueError
    except (TypeError, ValueError):
        verdict.fail(
            status_codes.InvalidAttributeValue,
            (t.PresentationLUTSequence, t.LUTDescriptor),
            "LUT Descriptor / LUT Data do not describe a LUT (entries, first, 10..16 bits)",
        )
        return None
    return values.astype(np.float64) / ((1 << bits) - 1)


__all__ = [
    "ANNOTATION_BOX",
    "FILM_BOX_CREATE",
    "FILM_BOX_SET",
    "FILM_SESSION",
    "IMAGE_BOX",
    "PRESENTATION_LUT",
    "Verdict",
    "check_film_box",
    "check_film_session",
    "check_image_box",
    "choice",
    "image_from_item",
    "lut_from",
    "number",
    "unknown_attributes",
]
