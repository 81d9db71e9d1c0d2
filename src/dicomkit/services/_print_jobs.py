"""What the print SCP keeps per association, and how a printed film box becomes a film and a
Print Job (PS3.4 H.2.1 the SOP instance hierarchy; H.4.5 Print Job; H.4.6 Printer).

- :class:`AssociationState`: the film session, its film boxes, their image and annotation
  boxes, and the Presentation LUTs one association created (they die with it).
- :func:`film_spec`: a film box of that hierarchy as the renderer's :class:`FilmSpec` (the
  image box's presentation overriding the film box's, PS3.4 H.4.3.1.2.1).
- :func:`job_dataset` / :func:`job_report`: the Print Job's attributes, and its N-EVENT-REPORT
  to an SCU that negotiated the Print Job SOP class.
"""

from __future__ import annotations

import datetime
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dicomkit.core._dataset import Dataset
from dicomkit.dictionary import tags as t
from dicomkit.dictionary import uids
from dicomkit.errors import DicomError, LocalProtocolError
from dicomkit.net import Association
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services import _print_attrs as attrs
from dicomkit.services._n_common import text
from dicomkit.services._print_render import FilmSpec, ImageSpec

log = logging.getLogger("dicomkit.services.print")

#: Execution Status (2100,0020) events of a Print Job (PS3.4 H.4.5.2, event type IDs)
JOB_EVENTS = {"PENDING": 1, "PRINTING": 2, "DONE": 3, "FAILURE": 4}
#: Printer Status (2110,0010) events (PS3.4 H.4.6.2.1)
PRINTER_EVENTS = {"NORMAL": 1, "WARNING": 2, "FAILURE": 3}


@dataclass(slots=True)
class FilmBoxState:
    """A Basic Film Box: its attributes and the boxes the SCP made for it."""

    uid: str
    ds: Dataset
    image_boxes: list[str]
    annotation_boxes: list[str]
    printed: bool = False


@dataclass(slots=True)
class ImageBoxState:
    """A Basic Grayscale / Color Image Box: its film box, position and picture."""

    film_box: str
    position: int
    sop_class: str
    ds: Dataset = field(default_factory=Dataset)
    image: ImageSpec | None = None


@dataclass(slots=True)
class AssociationState:
    """What one association has made (PS3.4 H.2.1: the SOP instance hierarchy)."""

    calling_ae: str
    session_uid: str | None = None
    session: Dataset = field(default_factory=Dataset)
    film_boxes: OrderedDict[str, FilmBoxState] = field(default_factory=OrderedDict)
    image_boxes: dict[str, ImageBoxState] = field(default_factory=dict)
    #: Annotation Box UID -> (film box UID, position, text)
    annotations: dict[str, tuple[str, int, str]] = field(default_factory=dict)
    luts: dict[str, Dataset] = field(default_factory=dict)
    #: the films printed in this session: (PNG, copies)
    films: list[tuple[Path, int]] = field(default_factory=list)


def ref(sop_class: str, uid: str) -> Dataset:
    """A Referenced SOP Class / Instance UID item."""
    item = Dataset()
    item.set(t.ReferencedSOPClassUID, sop_class, vr="UI")
    item.set(t.ReferencedSOPInstanceUID, uid, vr="UI")
    return item


def ref_uid(ds: Dataset, tag: int) -> str | None:
    """The Referenced SOP Instance UID of the first item of a reference sequence, or None."""
    seq = ds.get(tag)
    if not seq:
        return None
    return text(seq[0].get(t.ReferencedSOPInstanceUID))


def _density(source: Dataset, tag: int) -> int | None:
    value = text(source.get(tag))
    return int(float(value)) if value else None


def film_spec(state: AssociationState, box: FilmBoxState) -> FilmSpec:
    """The film box ``box`` of ``state`` ready for :func:`~._print_render.render_film`."""
    ds = box.ds
    color = any(state.image_boxes[u].sop_class == uids.BasicColorImageBox for u in box.image_boxes)

    def lut_of(source: Dataset) -> Any:
        found = ref_uid(source, t.ReferencedPresentationLUTSequence)
        return attrs.lut_from(state.luts[found], attrs.Verdict()) if found else None

    images: dict[int, ImageSpec] = {}
    for uid in box.image_boxes:
        ib = state.image_boxes[uid]
        if ib.image is None:
            continue
        size = text(ib.ds.get(t.RequestedImageSize))
        images[ib.position] = ImageSpec(
            pixels=ib.image.pixels,
            bits_stored=ib.image.bits_stored,
            monochrome1=ib.image.monochrome1,
            polarity=text(ib.ds.get(t.Polarity)) or "NORMAL",
            magnification=text(ib.ds.get(t.MagnificationType)),
            min_density=_density(ib.ds, t.MinDensity),
            max_density=_density(ib.ds, t.MaxDensity),
            requested_size_mm=float(size) if size else None,
            decimate_crop=text(ib.ds.get(t.RequestedDecimateCropBehavior)),
            lut=lut_of(ib.ds),
        )
    notes = {pos: txt for (fb, pos, txt) in state.annotations.values() if fb == box.uid}
    return FilmSpec(
        display_format=text(ds.get(t.ImageDisplayFormat)),
        film_size=text(ds.get(t.FilmSizeID)),
        orientation=text(ds.get(t.FilmOrientation)),
        magnification=text(ds.get(t.MagnificationType)),
        border_density=text(ds.get(t.BorderDensity)) or "BLACK",
        empty_image_density=text(ds.get(t.EmptyImageDensity)) or "BLACK",
        min_density=_density(ds, t.MinDensity),
        max_density=_density(ds, t.MaxDensity),
        trim=text(ds.get(t.Trim)) or "NO",
        color=color,
        images=images,
        annotations=notes if box.annotation_boxes else {},
        lut=lut_of(ds),
    )


def job_dataset(
    state: AssociationState,
    session: Dataset,
    printer_name: str,
    failure: tuple[int, str] | None,
) -> Dataset:
    """A Print Job's attributes (PS3.4 Table H.4-12): DONE, or FAILURE when ``failure``."""
    now = datetime.datetime.now()
    job = Dataset()
    job.set(t.ExecutionStatus, "DONE" if failure is None else "FAILURE", vr="CS")
    job.set(t.ExecutionStatusInfo, "NORMAL" if failure is None else "PROC FAILURE", vr="CS")
    job.set(t.PrintPriority, text(session.get(t.PrintPriority)) or "MED", vr="CS")
    job.set(t.CreationDate, now.strftime("%Y%m%d"), vr="DA")
    job.set(t.CreationTime, now.strftime("%H%M%S"), vr="TM")
    job.set(t.PrinterName, printer_name, vr="LO")
    job.set(t.Originator, state.calling_ae, vr="AE")
    if text(session.get(t.FilmSessionLabel)):
        job.set(t.FilmSessionLabel, text(session.get(t.FilmSessionLabel)), vr="LO")
    return job


def job_report(assoc: Association, job_uid: str, job: Dataset) -> Any:
    """The N-EVENT-REPORT of the job's status as an after-response action, or None when the
    SCU did not negotiate the Print Job SOP class (PS3.4 H.4.5.2.1)."""
    try:
        ctx = assoc.context_for(uids.PrintJob)
    except LocalProtocolError:
        return None
    status = text(job.get(t.ExecutionStatus))
    info = Dataset()
    for tag in (t.ExecutionStatusInfo, t.PrinterName, t.FilmSessionLabel):
        if tag in job:
            info.set(tag, job.get(tag))

    async def report() -> None:
        request = dimse.NEventReportRequest(
            message_id=assoc.next_message_id(),
            affected_sop_class_uid=uids.PrintJob,
            affected_sop_instance_uid=job_uid,
            event_type_id=JOB_EVENTS[status],
        )
        try:
            await assoc.request(request, info, context=ctx)
        except DicomError as exc:  # the SCU may release at once: the report is a courtesy
            log.info("print job %s: event report not delivered: %s", job_uid, exc)

    return report


__all__ = [
    "JOB_EVENTS",
    "PRINTER_EVENTS",
    "AssociationState",
    "FilmBoxState",
    "ImageBoxState",
    "film_spec",
    "job_dataset",
    "job_report",
    "ref",
    "ref_uid",
]
