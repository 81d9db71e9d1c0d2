"""Print Management SCP (PS3.4 Annex H): a printer that renders films to PNG and PDF files.

Both Meta SOP classes (Basic Grayscale and Basic Color Print Management), with Printer
(N-GET; N-EVENT-REPORT of its status), Basic Film Session (N-CREATE, N-SET, N-DELETE, N-ACTION),
Basic Film Box (N-CREATE, N-SET, N-DELETE, N-ACTION), Basic Grayscale / Color Image Box
(N-SET), Basic Annotation Box (N-SET), Presentation LUT (N-CREATE, N-DELETE) and Print Job
(N-GET; N-EVENT-REPORT of its execution status).

State is kept per association, as Annex H has it: one film session per association (H.4.1),
film boxes belong to that session and exist only after it (H.4.2.2.1), image and annotation
boxes are created by the SCP with their film box and die with it; N-DELETE of the session
deletes its whole hierarchy, and the association's end deletes everything it made.

Printing (N-ACTION of a film box, or of the session for all its boxes) renders each film
(:mod:`._print_render`) into ``output/<film session UID>/film-NNN.png`` and rewrites that
folder's ``session.pdf`` with every film printed so far (Number of Copies pages each), creates
a Print Job whose status N-GET reports (DONE, or FAILURE with the reason) and, when the SCU
negotiated the Print Job SOP class, sends it as an N-EVENT-REPORT after the N-ACTION response.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence
from dicomkit.core._uid import generate_uid
from dicomkit.dictionary import status_codes, uids
from dicomkit.dictionary import tags as t
from dicomkit.errors import DicomError, LocalProtocolError
from dicomkit.net import Association, Incoming, response_for
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services import _print_attrs as attrs
from dicomkit.services._n_common import select, text
from dicomkit.services._print_jobs import PRINTER_EVENTS, film_spec, job_dataset, job_report
from dicomkit.services._print_jobs import AssociationState as _State
from dicomkit.services._print_jobs import FilmBoxState as _FilmBox
from dicomkit.services._print_jobs import ImageBoxState as _ImageBox
from dicomkit.services._print_jobs import ref as _ref
from dicomkit.services._print_jobs import ref_uid as _ref_uid
from dicomkit.services._print_layout import film_mm, parse_display_format
from dicomkit.services._print_render import (
    ImageSpec,
    PrinterProfile,
    render_film,
    write_pdf,
    write_png,
)

log = logging.getLogger("dicomkit.services.print")

GRAYSCALE_META = uids.BasicGrayscalePrintManagementMeta
COLOR_META = uids.BasicColorPrintManagementMeta
#: what a print SCP offers in association negotiation
PRINT_SOP_CLASSES = (
    GRAYSCALE_META,
    COLOR_META,
    uids.PrintJob,
    uids.BasicAnnotationBox,
    uids.PresentationLUT,
    uids.Printer,
)


def _fail(msg: dimse.DimseRequest, status: int, reason: str, tags: tuple[int, ...] = ()) -> Any:
    return response_for(
        msg, status, error_comment=reason[:64] or None, offending_element=tags or None
    )


class PrintSCP:
    """A Print Management SCP rendering to ``output`` (see the module docstring).

    ``handlers()`` is the table for an :class:`~dicomkit.net.AE`; the archive node installs it
    through ``add_handler``. ``jobs`` keeps the print jobs (SOP Instance UID -> attributes),
    ``printed`` the PNG files written, in order.
    """

    def __init__(
        self,
        output: str | Path,
        *,
        printer: PrinterProfile | None = None,
        printer_name: str = "DICOMKIT",
        max_copies: int = 99,
        max_image_bytes: int = 64 << 20,
        annotation_formats: Mapping[str, int] | None = None,
        session_print: bool = True,
        max_jobs: int = 1000,
    ) -> None:
        self.output = Path(output)
        self.printer = printer or PrinterProfile()
        self.printer_name = printer_name
        self.max_copies = max_copies
        self.max_image_bytes = max_image_bytes
        self.annotation_formats = dict(annotation_formats or {"ANNOTATION": 2, "LABEL": 1})
        self.session_print = session_print
        self.max_jobs = max_jobs
        self.printer_status = ("NORMAL", "NORMAL")
        self.jobs: OrderedDict[str, Dataset] = OrderedDict()
        self.printed: list[Path] = []
        self._states: weakref.WeakKeyDictionary[Association, _State] = weakref.WeakKeyDictionary()
        self._lock = threading.RLock()

    # -- wiring ---------------------------------------------------------------------------

    def handlers(self) -> dict[Any, Any]:
        """``{(request type, SOP class): handler}`` for every operation of Annex H, plus the
        Meta SOP classes so that they are offered."""
        table: dict[Any, Any] = {
            (dimse.NCreateRequest, uids.BasicFilmSession): self._create_session,
            (dimse.NSetRequest, uids.BasicFilmSession): self._set_session,
            (dimse.NDeleteRequest, uids.BasicFilmSession): self._delete_session,
            (dimse.NActionRequest, uids.BasicFilmSession): self._print_session,
            (dimse.NCreateRequest, uids.BasicFilmBox): self._create_film_box,
            (dimse.NSetRequest, uids.BasicFilmBox): self._set_film_box,
            (dimse.NDeleteRequest, uids.BasicFilmBox): self._delete_film_box,
            (dimse.NActionRequest, uids.BasicFilmBox): self._print_film_box,
            (dimse.NSetRequest, uids.BasicGrayscaleImageBox): self._set_image_box,
            (dimse.NSetRequest, uids.BasicColorImageBox): self._set_image_box,
            (dimse.NSetRequest, uids.BasicAnnotationBox): self._set_annotation_box,
            (dimse.NCreateRequest, uids.PresentationLUT): self._create_lut,
            (dimse.NDeleteRequest, uids.PresentationLUT): self._delete_lut,
            (dimse.NGetRequest, uids.Printer): self._get_printer,
            (dimse.NGetRequest, uids.PrintJob): self._get_job,
        }
        for meta in (GRAYSCALE_META, COLOR_META):
            table[(dimse.NGetRequest, meta)] = self._get_printer
        return table

    def _state(self, incoming: Incoming) -> _State:
        assoc = incoming.association
        with self._lock:
            state = self._states.get(assoc)
            if state is None:
                state = _State(calling_ae=str(assoc.calling_ae or "").strip())
                self._states[assoc] = state
            return state

    @staticmethod
    def _color(incoming: Incoming) -> bool:
        return incoming.context.abstract_syntax == COLOR_META

    # -- Basic Film Session (H.4.1) --------------------------------------------------------

    def _create_session(self, incoming: Incoming) -> Any:
        msg = incoming.message
        assert isinstance(msg, dimse.NCreateRequest)
        ds = incoming.dataset or Dataset()
        with self._lock:
            state = self._state(incoming)
            if state.session_uid is not None:
                return _fail(
                    msg,
                    status_codes.DuplicateSOPInstance
                    if msg.affected_sop_instance_uid == state.session_uid
                    else status_codes.ProcessingFailure,
                    "one Film Session per association: N-DELETE the open one first",
                )
            verdict = attrs.Verdict()
            attrs.check_film_session(ds, verdict, self.max_copies)
            if not verdict.ok:
                return response_for(msg, **verdict.response_fields())
            uid = text(msg.affected_sop_instance_uid) or str(generate_uid())
            defaults = {
                t.NumberOfCopies: ("1", "IS"),
                t.PrintPriority: ("MED", "CS"),
                t.MediumType: ("PAPER", "CS"),
                t.FilmDestination: ("PROCESSOR", "CS"),
            }
            for tag, (value, vr) in defaults.items():
                if not text(ds.get(tag)):
                    ds.set(tag, value, vr=vr)
            state.session_uid, state.session = uid, ds
        log.info("film session %s created by %s", uid, state.calling_ae)
        fields = verdict.response_fields()
        return response_for(msg, affected_sop_instance_uid=uid, **fields), ds

    def _owned_session(self, incoming: Incoming, uid: str | None) -> _State | Any:
        state = self._state(incoming)
        if state.session_uid is None or text(uid) != state.session_uid:
            return _fail(
                incoming.message,
                status_codes.NoSuchSOPInstance,
                "no such Film Session on this association",
            )
        return state

    def _set_session(self, incoming: Incoming) -> Any:
        msg = incoming.message
        assert isinstance(msg, dimse.NSetRequest)
        with self._lock:
            state = self._owned_session(incoming, msg.requested_sop_instance_uid)
            if not isinstance(state, _State):
                return state
            mods = incoming.dataset or Dataset()
            verdict = attrs.Verdict()
            attrs.check_film_session(mods, verdict, self.max_copies)
            if not verdict.ok:
                return response_for(msg, **verdict.response_fields())
            for el in mods.elements():
                state.session.set(el.tag, el.value, vr=el.vr)
        return response_for(msg, **verdict.response_fields()), mods

    def _delete_session(self, incoming: Incoming) -> Any:
        msg = incoming.message
        assert isinstance(msg, dimse.NDeleteRequest)
        with self._lock:
            state = self._owned_session(incoming, msg.requested_sop_instance_uid)
            if not isinstance(state, _State):
                return state
            state.session_uid, state.session = None, Dataset()
            state.film_boxes.clear()
            state.image_boxes.clear()
            state.annotations.clear()
            state.films = []
        return response_for(msg)

    def _print_session(self, incoming: Incoming) -> Any:
        msg = incoming.message
        assert isinstance(msg, dimse.NActionRequest)
        if msg.action_type_id != 1:
            return _fail(msg, status_codes.NoSuchActionType, "the only action is 1 (print)")
        with self._lock:
            state = self._owned_session(incoming, msg.requested_sop_instance_uid)
            if not isinstance(state, _State):
                return state
            if not self.session_print:
                return response_for(msg, status_codes.FilmSessionPrintingNotSupported)
            boxes = list(state.film_boxes.values())
            if not boxes:
                return _fail(
                    msg,
                    status_codes.FilmSessionHasNoFilmBox,
                    "N-CREATE a Film Box before printing the session",
                )
        return self._print(incoming, state, boxes, status_codes.FilmSessionEmptyPage)

    # -- Basic Film Box (H.4.2) ------------------------------------------------------------

    def _check_lut_ref(self, state: _State, ds: Dataset, verdict: attrs.Verdict) -> None:
        ref = _ref_uid(ds, t.ReferencedPresentationLUTSequence)
        if ref is not None and ref not in state.luts:
            verdict.fail(
                status_codes.InvalidAttributeValue,
                (t.ReferencedPresentationLUTSequence,),
                "no such Presentation LUT: N-CREATE it first",
            )

    def _film_box_verdict(self, state: _State, ds: Dataset, create: bool) -> attrs.Verdict:
        verdict = attrs.Verdict()
        attrs.check_film_box(
            ds,
            verdict,
            create=create,
            density_range=(self.printer.min_density, self.printer.max_density),
            custom=dict(self.printer.custom_formats),
            annotation_formats=self.annotation_formats,
        )
        self._check_lut_ref(state, ds, verdict)
        return verdict

    def _create_film_box(self, incoming: Incoming) -> Any:
        msg = incoming.message
        assert isinstance(msg, dimse.NCreateRequest)
        ds = incoming.dataset or Dataset()
        color = self._color(incoming)
        with self._lock:
            state = self._state(incoming)
            if state.session_uid is None:
                return _fail(
                    msg,
                    status_codes.ProcessingFailure,
                    "no Film Session on this association: N-CREATE one first",
                )
            if not self.session_print and any(not b.printed for b in state.film_boxes.values()):
                return _fail(
                    msg, status_codes.UnprintedFilmBoxExists, "print the open Film Box first"
                )
            ref = _ref_uid(ds, t.ReferencedFilmSessionSequence)
            if ref is None:
                return _fail(
                    msg,
                    status_codes.MissingAttribute,
                    "Referenced Film Session Sequence is required",
                    (t.ReferencedFilmSessionSequence,),
                )
            if ref != state.session_uid:
                return _fail(
                    msg,
                    status_codes.InvalidAttributeValue,
                    "references another Film Session than this association's",
                    (t.ReferencedFilmSessionSequence,),
                )
            verdict = self._film_box_verdict(state, ds, create=True)
            if not verdict.ok:
                return response_for(msg, **verdict.response_fields())
            defaults = {
                t.FilmOrientation: "PORTRAIT",
                t.FilmSizeID: "8INX10IN",
                t.MagnificationType: "BILINEAR",
                t.BorderDensity: "BLACK",
                t.EmptyImageDensity: "BLACK",
                t.Trim: "NO",
            }
            for tag, value in defaults.items():
                if not text(ds.get(tag)):
                    ds.set(tag, value, vr="CS")
            boxes = parse_display_format(
                text(ds.get(t.ImageDisplayFormat)),
                film_mm=film_mm(text(ds.get(t.FilmSizeID)), text(ds.get(t.FilmOrientation))),
                custom=self.printer.custom_formats,
            )
            uid = text(msg.affected_sop_instance_uid) or str(generate_uid())
            image_class = uids.BasicColorImageBox if color else uids.BasicGrayscaleImageBox
            image_uids = [str(generate_uid()) for _ in boxes]
            for pos, box_uid in enumerate(image_uids, start=1):
                state.image_boxes[box_uid] = _ImageBox(uid, pos, image_class)
            annotation = text(ds.get(t.AnnotationDisplayFormatID)).upper()
            annotation_uids = [
                str(generate_uid()) for _ in range(self.annotation_formats.get(annotation, 0))
            ]
            for pos, ann_uid in enumerate(annotation_uids, start=1):
                state.annotations[ann_uid] = (uid, pos, "")
            state.film_boxes[uid] = _FilmBox(uid, ds, image_uids, annotation_uids)
            reply = ds.copy()
            reply.set(
                t.ReferencedImageBoxSequence,
                Sequence([_ref(image_class, u) for u in image_uids]),
                vr="SQ",
            )
            if annotation_uids:
                reply.set(
                    t.ReferencedBasicAnnotationBoxSequence,
                    Sequence([_ref(uids.BasicAnnotationBox, u) for u in annotation_uids]),
                    vr="SQ",
                )
        fields = verdict.response_fields()
        return response_for(msg, affected_sop_instance_uid=uid, **fields), reply

    def _set_film_box(self, incoming: Incoming) -> Any:
        msg = incoming.message
        assert isinstance(msg, dimse.NSetRequest)
        with self._lock:
            state = self._state(incoming)
            box = state.film_boxes.get(text(msg.requested_sop_instance_uid))
            if box is None:
                return _fail(msg, status_codes.NoSuchSOPInstance, "no such Film Box")
            mods = incoming.dataset or Dataset()
            verdict = self._film_box_verdict(state, mods, create=False)
            if not verdict.ok:
                return response_for(msg, **verdict.response_fields())
            for el in mods.elements():
                box.ds.set(el.tag, el.value, vr=el.vr)
        return response_for(msg, **verdict.response_fields()), mods

    def _delete_film_box(self, incoming: Incoming) -> Any:
        msg = incoming.message
        assert isinstance(msg, dimse.NDeleteRequest)
        with self._lock:
            state = self._state(incoming)
            box = state.film_boxes.pop(text(msg.requested_sop_instance_uid), None)
            if box is None:
                return _fail(msg, status_codes.NoSuchSOPInstance, "no such Film Box")
            for uid in box.image_boxes:
                state.image_boxes.pop(uid, None)
            for uid in box.annotation_boxes:
                state.annotations.pop(uid, None)
        return response_for(msg)

    def _print_film_box(self, incoming: Incoming) -> Any:
        msg = incoming.message
        assert isinstance(msg, dimse.NActionRequest)
        if msg.action_type_id != 1:
            return _fail(msg, status_codes.NoSuchActionType, "the only action is 1 (print)")
        with self._lock:
            state = self._state(incoming)
            box = state.film_boxes.get(text(msg.requested_sop_instance_uid))
            if box is None:
                return _fail(msg, status_codes.NoSuchSOPInstance, "no such Film Box")
        return self._print(incoming, state, [box], status_codes.FilmBoxEmptyPage)

    # -- Image Box, Annotation Box (H.4.3, H.4.4) -------------------------------------------

    def _set_image_box(self, incoming: Incoming) -> Any:
        msg = incoming.message
        assert isinstance(msg, dimse.NSetRequest)
        mods = incoming.dataset or Dataset()
        with self._lock:
            state = self._state(incoming)
            box = state.image_boxes.get(text(msg.requested_sop_instance_uid))
            if box is None:
                return _fail(msg, status_codes.NoSuchSOPInstance, "no such Image Box")
            if box.sop_class != msg.requested_sop_class_uid:
                return _fail(
                    msg,
                    status_codes.ClassInstanceConflict,
                    "this Image Box is of the other (grayscale / color) class",
                )
            color = box.sop_class == uids.BasicColorImageBox
            seq_tag = t.BasicColorImageSequence if color else t.BasicGrayscaleImageSequence
            other = t.BasicGrayscaleImageSequence if color else t.BasicColorImageSequence
            verdict = attrs.Verdict()
            attrs.check_image_box(
                mods, verdict, (self.printer.min_density, self.printer.max_density)
            )
            if other in mods:
                verdict.fail(
                    status_codes.InvalidAttributeValue,
                    (other,),
                    "sequence of the other image box class",
                )
            position = attrs.number(mods, t.ImageBoxPosition, verdict, "Image Box Position")
            if position is not None and position != box.position:
                verdict.fail(
                    status_codes.InvalidAttributeValue,
                    (t.ImageBoxPosition,),
                    f"this Image Box is at position {box.position}",
                )
            self._check_lut_ref(state, mods, verdict)
            seq = mods.get(seq_tag)
            picture = None
            if seq:
                picture = attrs.image_from_item(
                    seq[0],
                    color=color,
                    verdict=verdict,
                    seq_tag=seq_tag,
                    max_bytes=self.max_image_bytes,
                )
            if not verdict.ok:
                return response_for(msg, **verdict.response_fields())
            for el in mods.elements():
                if el.tag != seq_tag:
                    box.ds.set(el.tag, el.value, vr=el.vr)
            if seq_tag in mods:
                box.image = None
            if picture is not None:
                arr, bits, mono1 = picture
                box.image = ImageSpec(pixels=arr, bits_stored=bits, monochrome1=mono1)
        return response_for(msg, **verdict.response_fields())

    def _set_annotation_box(self, incoming: Incoming) -> Any:
        msg = incoming.message
        assert isinstance(msg, dimse.NSetRequest)
        mods = incoming.dataset or Dataset()
        with self._lock:
            state = self._state(incoming)
            uid = text(msg.requested_sop_instance_uid)
            found = state.annotations.get(uid)
            if found is None:
                return _fail(msg, status_codes.NoSuchSOPInstance, "no such Annotation Box")
            verdict = attrs.Verdict()
            attrs.unknown_attributes(mods, attrs.ANNOTATION_BOX, verdict)
            position = attrs.number(mods, t.AnnotationPosition, verdict, "Annotation Position")
            if position is not None and position != found[1]:
                verdict.fail(
                    status_codes.InvalidAttributeValue,
                    (t.AnnotationPosition,),
                    f"this Annotation Box is at position {found[1]}",
                )
            if not verdict.ok:
                return response_for(msg, **verdict.response_fields())
            state.annotations[uid] = (found[0], found[1], text(mods.get(t.TextString)))
        return response_for(msg, **verdict.response_fields())

    # -- Presentation LUT (H.4.9) -----------------------------------------------------------

    def _create_lut(self, incoming: Incoming) -> Any:
        msg = incoming.message
        assert isinstance(msg, dimse.NCreateRequest)
        ds = incoming.dataset or Dataset()
        verdict = attrs.Verdict()
        attrs.unknown_attributes(ds, attrs.PRESENTATION_LUT, verdict)
        attrs.lut_from(ds, verdict)
        if not verdict.ok:
            return response_for(msg, **verdict.response_fields())
        uid = text(msg.affected_sop_instance_uid) or str(generate_uid())
        with self._lock:
            self._state(incoming).luts[uid] = ds
        return response_for(msg, affected_sop_instance_uid=uid, **verdict.response_fields()), ds

    def _delete_lut(self, incoming: Incoming) -> Any:
        msg = incoming.message
        assert isinstance(msg, dimse.NDeleteRequest)
        with self._lock:
            if self._state(incoming).luts.pop(text(msg.requested_sop_instance_uid), None) is None:
                return _fail(msg, status_codes.NoSuchSOPInstance, "no such Presentation LUT")
        return response_for(msg)

    # -- Printer, Print Job (H.4.6, H.4.5) ---------------------------------------------------

    def printer_attributes(self) -> Dataset:
        """The Printer SOP instance's attributes (PS3.4 Table H.4-14)."""
        ds = Dataset()
        ds.set(t.PrinterStatus, self.printer_status[0], vr="CS")
        ds.set(t.PrinterStatusInfo, self.printer_status[1], vr="CS")
        ds.set(t.PrinterName, self.printer_name, vr="LO")
        ds.set(t.Manufacturer, "dicomkit", vr="LO")
        ds.set(t.ManufacturerModelName, "dicomkit film renderer", vr="LO")
        ds.set(t.SoftwareVersions, "dicomkit", vr="LO")
        return ds

    def _get_printer(self, incoming: Incoming) -> Any:
        msg = incoming.message
        assert isinstance(msg, dimse.NGetRequest)
        self._state(incoming)  # this association now hears the printer's status reports
        if text(msg.requested_sop_instance_uid) != uids.PrinterInstance:
            return _fail(
                msg, status_codes.NoSuchSOPInstance, "the Printer is 1.2.840.10008.5.1.1.17"
            )
        found = select(self.printer_attributes(), msg.attribute_identifier_list)
        return response_for(msg, affected_sop_class_uid=uids.Printer), found

    def _get_job(self, incoming: Incoming) -> Any:
        msg = incoming.message
        assert isinstance(msg, dimse.NGetRequest)
        with self._lock:
            job = self.jobs.get(text(msg.requested_sop_instance_uid))
            found = job.copy() if job is not None else None
        if found is None:
            return _fail(msg, status_codes.NoSuchSOPInstance, "no such Print Job")
        return response_for(msg), select(found, msg.attribute_identifier_list)

    # -- printing -----------------------------------------------------------------------------

    def _print(
        self, incoming: Incoming, state: _State, boxes: list[_FilmBox], empty_status: int
    ) -> Any:
        msg = incoming.message
        assert isinstance(msg, dimse.NActionRequest)
        with self._lock:
            specs = [film_spec(state, b) for b in boxes]
            session = state.session.copy()
            session_uid = state.session_uid or "no-session"
        copies = int(text(session.get(t.NumberOfCopies)) or "1")
        folder = self.output / session_uid
        warnings: list[int] = []
        if all(not s.images for s in specs):
            warnings.append(empty_status)
        failure: tuple[int, str] | None = None
        written: list[Path] = []
        for box, spec in zip(boxes, specs, strict=True):
            try:
                rendered = render_film(spec, self.printer)
            except (DicomError, OSError, ValueError) as exc:
                failure = (status_codes.ProcessingFailure, f"rendering failed: {exc}")
                break
            if rendered.failure is not None:
                failure = (rendered.failure, rendered.reason)
                break
            warnings.extend(w for w in rendered.warnings if w not in warnings)
            with self._lock:
                number = len(state.films) + 1
                path = write_png(rendered, folder / f"film-{number:03d}.png", self.printer)
                state.films.append((path, copies))
                self.printed.append(path)
                box.printed = True
                # the session's PDF grows by this film's pages (the first film starts it)
                write_pdf(rendered, folder / "session.pdf", copies, self.printer, number > 1)
            written.append(path)
        job_uid = str(generate_uid())
        job = job_dataset(state, session, self.printer_name, failure)
        with self._lock:
            self.jobs[job_uid] = job
            while len(self.jobs) > self.max_jobs:
                self.jobs.popitem(last=False)
        log.info(
            "print job %s: %s, %d film(s) in %s", job_uid, job.get(t.ExecutionStatus),
            len(written), folder,
        )  # fmt: skip
        report = job_report(incoming.association, job_uid, job)
        if failure is not None:  # the job exists, FAILURE: N-GET and the report say why
            return _fail(msg, failure[0], failure[1]), None, report
        reply = Dataset()
        reply.set(t.ReferencedPrintJobSequence, Sequence([_ref(uids.PrintJob, job_uid)]), vr="SQ")
        status = warnings[0] if warnings else status_codes.Success
        return response_for(msg, status), reply, report

    async def report_printer_status(self, status: str, info: str = "NORMAL") -> int:
        """Set the Printer's status (NORMAL, WARNING, FAILURE) and send it as N-EVENT-REPORT
        on every association that negotiated a Print Management Meta SOP class (PS3.4
        H.4.6.2.1); returns how many were told."""
        self.printer_status = (status, info)
        ds = Dataset()
        ds.set(t.PrinterStatusInfo, info, vr="CS")
        ds.set(t.PrinterName, self.printer_name, vr="LO")
        told = 0
        with self._lock:
            targets = [a for a in self._states if not a.is_closed]
        for assoc in targets:
            for meta in (GRAYSCALE_META, COLOR_META, uids.Printer):
                try:
                    ctx = assoc.context_for(meta)
                except LocalProtocolError:
                    continue
                request = dimse.NEventReportRequest(
                    message_id=assoc.next_message_id(),
                    affected_sop_class_uid=uids.Printer,
                    affected_sop_instance_uid=uids.PrinterInstance,
                    event_type_id=PRINTER_EVENTS[status],
                )
                await assoc.request(request, ds, context=ctx)
                told += 1
                break
        return told


__all__ = ["COLOR_META", "GRAYSCALE_META", "PRINT_SOP_CLASSES", "PrintSCP"]
