"""Print Management SCU (PS3.4 Annex H): typed requests, and :func:`print_images`.

Propose :func:`print_contexts` when associating; then either print a list of images with a
layout in one call::

    result = await print_images(assoc, ["a.dcm", "b.dcm"], FilmOptions(layout="STANDARD\\\\2,1"))

or drive the SOP instance hierarchy yourself: :func:`create_film_session`,
:func:`create_film_box` (gives the Image Box UIDs the SCP created), :func:`set_image_box`,
:func:`set_annotation_box`, :func:`create_presentation_lut`, :func:`print_film_box` /
:func:`print_film_session` (give the Print Job UID when the SCP has Print Job),
:func:`get_printer`, :func:`get_print_job`, and the ``delete_*`` calls. A failure status raises
:class:`~dicomkit.errors.DimseError` (its ``status``: e.g. 0xC600 no film box to print); a
warning (0xB603 empty page ...) returns normally, in ``PrintResult.warnings`` for
:func:`print_images`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence as DSequence
from dicomkit.core._uid import generate_uid
from dicomkit.dictionary import status_codes, uids
from dicomkit.dictionary import tags as t
from dicomkit.errors import InvalidValueError, PixelDataError
from dicomkit.net import Association
from dicomkit.net.proto import _dimse as dimse
from dicomkit.net.proto._negotiation import NegotiatedContext
from dicomkit.services._n_common import n_request, text
from dicomkit.services._print_layout import (
    FILM_SIZES,
    MAGNIFICATIONS,
    ORIENTATIONS,
    POLARITIES,
    PRIORITIES,
    TRIMS,
    check_choice,
    film_mm,
    parse_density,
    parse_display_format,
)

GRAYSCALE_META = uids.BasicGrayscalePrintManagementMeta
COLOR_META = uids.BasicColorPrintManagementMeta


def print_contexts(*, color: bool = False) -> list[str]:
    """The abstract syntaxes a print SCU proposes: the Meta SOP class (grayscale or color),
    Print Job, Presentation LUT (grayscale) and Basic Annotation Box."""
    meta = COLOR_META if color else GRAYSCALE_META
    out = [meta, uids.PrintJob, uids.BasicAnnotationBox]
    if not color:
        out.append(uids.PresentationLUT)
    return out


@dataclass(frozen=True, slots=True)
class FilmOptions:
    """How to print: the film session's and film box's attributes (PS3.4 H.4.1, H.4.2) and
    each image box's polarity. ``None`` leaves a value to the printer."""

    layout: str = "STANDARD\\1,1"
    film_size: str | None = None
    orientation: str | None = None
    copies: int = 1
    medium: str | None = None
    destination: str | None = None
    priority: str | None = None
    label: str = ""
    magnification: str | None = None
    border: str | None = None
    empty_image: str | None = None
    min_density: int | None = None
    max_density: int | None = None
    trim: str | None = None
    polarity: str | None = None
    color: bool = False
    #: Annotation Display Format ID (printer-specific) and the texts, by position
    annotation_format: str | None = None
    annotations: tuple[str, ...] = ()
    #: IDENTITY or LIN OD: a Presentation LUT created and referenced by the film box
    presentation_lut: str | None = None
    #: print with the film session's N-ACTION (all films at once) instead of each film box's
    session_print: bool = False

    def check(self) -> None:
        """Raise :class:`InvalidValueError` (saying what to use instead) for a value the
        standard does not define, before anything goes on the wire."""
        size = film_mm(self.film_size or "8INX10IN", self.orientation or "PORTRAIT")
        if not self.layout.strip().upper().startswith("CUSTOM"):  # CUSTOM: the printer's own
            parse_display_format(self.layout, film_mm=size)
        if self.film_size is not None:
            check_choice("film size", self.film_size, tuple(FILM_SIZES))
        for name, value, choices in (
            ("orientation", self.orientation, ORIENTATIONS),
            ("magnification", self.magnification, MAGNIFICATIONS),
            ("trim", self.trim, TRIMS),
            ("polarity", self.polarity, POLARITIES),
            ("priority", self.priority, PRIORITIES),
            ("presentation LUT", self.presentation_lut, ("IDENTITY", "LIN OD")),
        ):
            if value is not None:
                check_choice(name, value, choices)
        for density in (self.border, self.empty_image):
            if density is not None:
                parse_density(density, black=300, white=0)
        if not 1 <= self.copies <= 99:
            raise InvalidValueError(f"copies {self.copies}: give 1 to 99")
        if self.presentation_lut and self.color:
            raise InvalidValueError("a Presentation LUT applies to grayscale printing only")


@dataclass(frozen=True, slots=True)
class FilmBoxRef:
    """A film box the SCP created: its UID, and the image / annotation boxes it made."""

    uid: str
    image_boxes: tuple[str, ...]
    image_box_class: str
    annotation_boxes: tuple[str, ...] = ()


@dataclass(slots=True)
class PrintResult:
    """What :func:`print_images` did."""

    session_uid: str
    film_boxes: list[FilmBoxRef] = field(default_factory=list)
    print_jobs: list[str] = field(default_factory=list)
    #: warning statuses met (0xB603, 0xB605 ...), in order
    warnings: list[int] = field(default_factory=list)


def _accepted(assoc: Association, abstract_syntax: str) -> bool:
    return any(c.abstract_syntax == abstract_syntax for c in assoc.accepted_contexts)


def _meta(assoc: Association, color: bool) -> NegotiatedContext:
    return assoc.context_for(COLOR_META if color else GRAYSCALE_META)


def _ref(sop_class: str, uid: str) -> Dataset:
    item = Dataset()
    item.set(t.ReferencedSOPClassUID, sop_class, vr="UI")
    item.set(t.ReferencedSOPInstanceUID, uid, vr="UI")
    return item


def _note(warnings: list[int] | None, status: int) -> None:
    if warnings is not None and status != status_codes.Success and status not in warnings:
        warnings.append(status)


async def create_film_session(
    assoc: Association,
    options: FilmOptions | None = None,
    *,
    attributes: Dataset | None = None,
    warnings: list[int] | None = None,
) -> str:
    """N-CREATE the Basic Film Session (copies, medium, destination, priority, label from
    ``options``, plus ``attributes``); returns its SOP Instance UID."""
    opts = options or FilmOptions()
    ds = attributes.copy() if attributes is not None else Dataset()
    ds.set(t.NumberOfCopies, str(opts.copies), vr="IS")
    for tag, value in (
        (t.MediumType, opts.medium),
        (t.FilmDestination, opts.destination),
        (t.PrintPriority, opts.priority),
    ):
        if value:
            ds.set(tag, value.upper(), vr="CS")
    if opts.label:
        ds.set(t.FilmSessionLabel, opts.label, vr="LO")
    uid = str(generate_uid())
    msg = dimse.NCreateRequest(
        affected_sop_class_uid=uids.BasicFilmSession, affected_sop_instance_uid=uid
    )
    rsp, _ = await n_request(
        assoc, msg, ds, what="Film Session N-CREATE", context=_meta(assoc, opts.color)
    )
    _note(warnings, rsp.status)
    return text(getattr(rsp.message, "affected_sop_instance_uid", None)) or uid


async def create_film_box(
    assoc: Association,
    session_uid: str,
    options: FilmOptions | None = None,
    *,
    presentation_lut: str | None = None,
    attributes: Dataset | None = None,
    warnings: list[int] | None = None,
) -> FilmBoxRef:
    """N-CREATE a Basic Film Box in the session with the layout and presentation of
    ``options``; returns the film box and the image boxes the SCP created for it."""
    opts = options or FilmOptions()
    ds = attributes.copy() if attributes is not None else Dataset()
    ds.set(t.ImageDisplayFormat, opts.layout, vr="ST")
    ds.set(
        t.ReferencedFilmSessionSequence,
        DSequence([_ref(uids.BasicFilmSession, session_uid)]),
        vr="SQ",
    )
    for tag, value in (
        (t.FilmSizeID, opts.film_size),
        (t.FilmOrientation, opts.orientation),
        (t.MagnificationType, opts.magnification),
        (t.BorderDensity, opts.border),
        (t.EmptyImageDensity, opts.empty_image),
        (t.Trim, opts.trim),
        (t.AnnotationDisplayFormatID, opts.annotation_format),
    ):
        if value:
            ds.set(tag, value.upper(), vr="CS")
    for tag, number in ((t.MinDensity, opts.min_density), (t.MaxDensity, opts.max_density)):
        if number is not None:
            ds.set(tag, number, vr="US")
    if presentation_lut:
        ds.set(
            t.ReferencedPresentationLUTSequence,
            DSequence([_ref(uids.PresentationLUT, presentation_lut)]),
            vr="SQ",
        )
    msg = dimse.NCreateRequest(
        affected_sop_class_uid=uids.BasicFilmBox, affected_sop_instance_uid=str(generate_uid())
    )
    rsp, reply = await n_request(
        assoc, msg, ds, what="Film Box N-CREATE", context=_meta(assoc, opts.color)
    )
    _note(warnings, rsp.status)
    uid = text(getattr(rsp.message, "affected_sop_instance_uid", None)) or text(
        msg.affected_sop_instance_uid
    )
    reply = reply or Dataset()
    boxes = list(reply.get(t.ReferencedImageBoxSequence) or [])
    if not boxes:
        raise InvalidValueError(
            "the printer created the film box without image boxes (no Referenced Image Box "
            "Sequence in its N-CREATE response); check the layout it supports"
        )
    default_class = uids.BasicColorImageBox if opts.color else uids.BasicGrayscaleImageBox
    notes = reply.get(t.ReferencedBasicAnnotationBoxSequence) or []
    return FilmBoxRef(
        uid=uid,
        image_boxes=tuple(text(b.get(t.ReferencedSOPInstanceUID)) for b in boxes),
        image_box_class=text(boxes[0].get(t.ReferencedSOPClassUID)) or default_class,
        annotation_boxes=tuple(text(b.get(t.ReferencedSOPInstanceUID)) for b in notes),
    )


def image_item(pixels: np.ndarray, *, color: bool = False) -> Dataset:
    """A Basic Grayscale (uint8 / uint16 with 12 bits, MONOCHROME2) or Basic Color (RGB uint8)
    Image Sequence item for ``pixels`` (PS3.4 Tables H.4-10 / H.4-11)."""
    arr = np.asarray(pixels)
    item = Dataset()
    if color:
        if arr.ndim == 2:
            arr = np.repeat(arr[..., None], 3, axis=2)
        if arr.ndim != 3 or arr.shape[2] != 3:
            raise InvalidValueError(f"a color image is (rows, columns, 3), not {arr.shape}")
        arr = arr.astype(np.uint8)
        item.set(t.SamplesPerPixel, 3, vr="US")
        item.set(t.PhotometricInterpretation, "RGB", vr="CS")
        item.set(t.PlanarConfiguration, 0, vr="US")
    else:
        if arr.ndim == 3:  # RGB to luminance (ITU-R BT.601 weights)
            arr = np.round(arr[..., :3].astype(np.float64) @ [0.299, 0.587, 0.114])
            arr = arr.astype(np.uint8)
        if arr.ndim != 2:
            raise InvalidValueError(f"a grayscale image is (rows, columns), not {arr.shape}")
        item.set(t.SamplesPerPixel, 1, vr="US")
        item.set(t.PhotometricInterpretation, "MONOCHROME2", vr="CS")
    wide = arr.dtype.itemsize > 1 and not color
    arr = np.clip(arr, 0, 4095).astype("<u2") if wide else arr.astype(np.uint8)
    item.set(t.Rows, arr.shape[0], vr="US")
    item.set(t.Columns, arr.shape[1], vr="US")
    item.set(t.PixelAspectRatio, [1, 1], vr="IS")
    item.set(t.BitsAllocated, 16 if wide else 8, vr="US")
    item.set(t.BitsStored, 12 if wide else 8, vr="US")
    item.set(t.HighBit, 11 if wide else 7, vr="US")
    item.set(t.PixelRepresentation, 0, vr="US")
    item.set(t.PixelData, np.ascontiguousarray(arr).tobytes(), vr="OW" if wide else "OB")
    return item


async def set_image_box(
    assoc: Association,
    image_box_uid: str,
    pixels: np.ndarray,
    *,
    position: int,
    color: bool = False,
    polarity: str | None = None,
    attributes: Dataset | None = None,
    warnings: list[int] | None = None,
) -> dimse.NSetResponse:
    """N-SET an image box's picture (and polarity / ``attributes``)."""
    ds = attributes.copy() if attributes is not None else Dataset()
    ds.set(t.ImageBoxPosition, position, vr="US")
    if polarity:
        ds.set(t.Polarity, polarity.upper(), vr="CS")
    seq = t.BasicColorImageSequence if color else t.BasicGrayscaleImageSequence
    ds.set(seq, DSequence([image_item(pixels, color=color)]), vr="SQ")
    sop_class = uids.BasicColorImageBox if color else uids.BasicGrayscaleImageBox
    msg = dimse.NSetRequest(
        requested_sop_class_uid=sop_class, requested_sop_instance_uid=image_box_uid
    )
    rsp, _ = await n_request(assoc, msg, ds, what="Image Box N-SET", context=_meta(assoc, color))
    _note(warnings, rsp.status)
    assert isinstance(rsp.message, dimse.NSetResponse)
    return rsp.message


async def set_annotation_box(
    assoc: Association, uid: str, position: int, text_string: str
) -> dimse.NSetResponse:
    """N-SET the text of a Basic Annotation Box (PS3.4 H.4.4)."""
    ds = Dataset()
    ds.set(t.AnnotationPosition, position, vr="US")
    ds.set(t.TextString, text_string, vr="LO")
    msg = dimse.NSetRequest(
        requested_sop_class_uid=uids.BasicAnnotationBox, requested_sop_instance_uid=uid
    )
    ctx = assoc.context_for(uids.BasicAnnotationBox)
    rsp, _ = await n_request(assoc, msg, ds, what="Annotation Box N-SET", context=ctx)
    assert isinstance(rsp.message, dimse.NSetResponse)
    return rsp.message


async def create_presentation_lut(assoc: Association, shape: str = "IDENTITY") -> str:
    """N-CREATE a Presentation LUT of a shape (IDENTITY, LIN OD); returns its UID."""
    ds = Dataset()
    ds.set(t.PresentationLUTShape, check_choice("shape", shape, ("IDENTITY", "LIN OD")), vr="CS")
    uid = str(generate_uid())
    msg = dimse.NCreateRequest(
        affected_sop_class_uid=uids.PresentationLUT, affected_sop_instance_uid=uid
    )
    ctx = assoc.context_for(uids.PresentationLUT)
    rsp, _ = await n_request(assoc, msg, ds, what="Presentation LUT N-CREATE", context=ctx)
    return text(getattr(rsp.message, "affected_sop_instance_uid", None)) or uid


async def _action(
    assoc: Association, sop_class: str, uid: str, what: str, color: bool, warnings: list[int] | None
) -> str | None:
    msg = dimse.NActionRequest(
        requested_sop_class_uid=sop_class, requested_sop_instance_uid=uid, action_type_id=1
    )
    rsp, reply = await n_request(assoc, msg, None, what=what, context=_meta(assoc, color))
    _note(warnings, rsp.status)
    jobs = (reply or Dataset()).get(t.ReferencedPrintJobSequence) or []
    return text(jobs[0].get(t.ReferencedSOPInstanceUID)) if jobs else None


async def print_film_box(
    assoc: Association, uid: str, *, color: bool = False, warnings: list[int] | None = None
) -> str | None:
    """N-ACTION (print) a film box; returns the Print Job UID (None without Print Job)."""
    return await _action(assoc, uids.BasicFilmBox, uid, "Film Box N-ACTION", color, warnings)


async def print_film_session(
    assoc: Association, uid: str, *, color: bool = False, warnings: list[int] | None = None
) -> str | None:
    """N-ACTION (print) every film box of the session; returns the Print Job UID."""
    return await _action(
        assoc, uids.BasicFilmSession, uid, "Film Session N-ACTION", color, warnings
    )


async def _delete(assoc: Association, sop_class: str, uid: str, ctx: NegotiatedContext) -> None:
    msg = dimse.NDeleteRequest(requested_sop_class_uid=sop_class, requested_sop_instance_uid=uid)
    await n_request(assoc, msg, None, what="N-DELETE", context=ctx)


async def delete_film_box(assoc: Association, uid: str, *, color: bool = False) -> None:
    """N-DELETE a film box (and its image boxes)."""
    await _delete(assoc, uids.BasicFilmBox, uid, _meta(assoc, color))


async def delete_film_session(assoc: Association, uid: str, *, color: bool = False) -> None:
    """N-DELETE the film session and its whole hierarchy."""
    await _delete(assoc, uids.BasicFilmSession, uid, _meta(assoc, color))


async def delete_presentation_lut(assoc: Association, uid: str) -> None:
    """N-DELETE a Presentation LUT."""
    await _delete(assoc, uids.PresentationLUT, uid, assoc.context_for(uids.PresentationLUT))


async def get_printer(
    assoc: Association, tags: Iterable[int] | None = None, *, color: bool = False
) -> Dataset:
    """N-GET the Printer SOP instance (status, name ...; PS3.4 H.4.6)."""
    meta = COLOR_META if color else GRAYSCALE_META
    ctx = assoc.context_for(meta if _accepted(assoc, meta) else uids.Printer)
    msg = dimse.NGetRequest(
        requested_sop_class_uid=uids.Printer,
        requested_sop_instance_uid=uids.PrinterInstance,
        attribute_identifier_list=tuple(tags) if tags else None,
    )
    _, ds = await n_request(assoc, msg, None, what="Printer N-GET", context=ctx)
    return ds if ds is not None else Dataset()


async def get_print_job(assoc: Association, uid: str, tags: Iterable[int] | None = None) -> Dataset:
    """N-GET a Print Job (Execution Status, Execution Status Info ...; PS3.4 H.4.5)."""
    msg = dimse.NGetRequest(
        requested_sop_class_uid=uids.PrintJob,
        requested_sop_instance_uid=uid,
        attribute_identifier_list=tuple(tags) if tags else None,
    )
    ctx = assoc.context_for(uids.PrintJob)
    _, ds = await n_request(assoc, msg, None, what="Print Job N-GET", context=ctx)
    return ds if ds is not None else Dataset()


def load_image(source: Any, *, color: bool = False) -> np.ndarray:
    """What to print from a file path, a data set (its first frame, windowed to 8 bits as
    ``dicomkit export`` does) or an array (as is)."""
    if isinstance(source, np.ndarray):
        return source
    from dicomkit.io._part10 import read
    from dicomkit.pixels._display import display_frame

    ds = read(str(source)) if isinstance(source, str | Path) else source
    if t.PixelData not in ds:
        raise PixelDataError(
            f"{source if isinstance(source, str | Path) else 'the data set'} has no Pixel "
            "Data: only image instances can be printed"
        )
    arr = display_frame(ds)
    return arr if color or arr.ndim == 2 else _gray(arr)


def _gray(arr: np.ndarray) -> np.ndarray:
    return np.round(arr[..., :3].astype(np.float64) @ [0.299, 0.587, 0.114]).astype(np.uint8)


async def print_images(
    assoc: Association, images: Sequence[Any], options: FilmOptions | None = None
) -> PrintResult:
    """Print ``images`` (paths, data sets or arrays) with ``options``' layout: as many film
    boxes as it takes, each printed (film box N-ACTION, or one film session N-ACTION with
    ``session_print``), then the session deleted."""
    opts = options or FilmOptions()
    opts.check()
    if not images:
        raise InvalidValueError("nothing to print: give at least one image")
    pictures = [load_image(img, color=opts.color) for img in images]
    warnings: list[int] = []
    session = await create_film_session(assoc, opts, warnings=warnings)
    result = PrintResult(session_uid=session, warnings=warnings)
    shape = opts.presentation_lut
    if shape is None and not opts.color and _accepted(assoc, uids.PresentationLUT):
        # with the Presentation LUT SOP class negotiated, printers (DCMTK's) expect one to be
        # referenced: IDENTITY asks for the image as sent
        shape = "IDENTITY"
    lut = await create_presentation_lut(assoc, shape) if shape else None
    left = list(pictures)
    while left:
        box = await create_film_box(assoc, session, opts, presentation_lut=lut, warnings=warnings)
        result.film_boxes.append(box)
        color = box.image_box_class == uids.BasicColorImageBox
        for position, uid in enumerate(box.image_boxes, start=1):
            if not left:
                break
            await set_image_box(
                assoc, uid, left.pop(0), position=position, color=color,
                polarity=opts.polarity, warnings=warnings,
            )  # fmt: skip
        for position, (uid, note) in enumerate(
            zip(box.annotation_boxes, opts.annotations, strict=False), start=1
        ):
            await set_annotation_box(assoc, uid, position, note)
        if not opts.session_print:
            job = await print_film_box(assoc, box.uid, color=opts.color, warnings=warnings)
            if job:
                result.print_jobs.append(job)
    if opts.session_print:
        job = await print_film_session(assoc, session, color=opts.color, warnings=warnings)
        if job:
            result.print_jobs.append(job)
    await delete_film_session(assoc, session, color=opts.color)
    return result


__all__ = [
    "FilmBoxRef",
    "FilmOptions",
    "PrintResult",
    "create_film_box",
    "create_film_session",
    "create_presentation_lut",
    "delete_film_box",
    "delete_film_session",
    "delete_presentation_lut",
    "get_print_job",
    "get_printer",
    "image_item",
    "load_image",
    "print_contexts",
    "print_film_box",
    "print_film_session",
    "print_images",
    "set_annotation_box",
    "set_image_box",
]
