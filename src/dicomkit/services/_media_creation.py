"""Media Creation Management (PS3.4 Annex S), both sides.

The SCU sends the instances to the SCP (C-STORE, or they are already there), then:

1. N-CREATE a Media Creation Management instance with the Referenced SOP Sequence (0008,1199)
   of the instances, optionally a File-set ID, label text and a Requested Media Application
   Profile (Table S.3.2.1.1-1) -- Execution Status (2100,0020) ``IDLE``;
2. N-ACTION "Initiate Media Creation" (Action Type ID 1, Number of Copies, Request
   Priority) -- ``PENDING``, then ``CREATING`` while the builder runs, then ``DONE`` or
   ``FAILURE``;
3. N-GET the Execution Status, Execution Status Info, Total Number of Pieces of Media Created,
   Failed SOP Sequence and Referenced Storage Media Sequence (S.3.2.4);
4. N-ACTION "Cancel Media Creation" (Action Type ID 2) while it is pending (or creating,
   when the SCP can interrupt).

SCP: :class:`MediaCreationSCP` finds instances with ``locate(sop_instance_uid)`` and builds
with a :data:`MediaBuilder` -- :func:`dicomkit.media.build_media` writes the File-set (with its
DICOMDIR) as a folder and as an ISO 9660 image. Statuses: N-CREATE without Referenced SOP
Sequence -> 0x0120; an item without its UIDs or a profile the builder cannot make -> 0x0106
naming the tag; an attribute that is not in Table S.3.2.1.1-1 -> 0x0105 naming it; a
File-set ID that does not fit PS3.10 (16 of A-Z 0-9 _) is coerced: 0x0116 warning naming
(0088,0130). N-ACTION on an instance the SCP does not hold -> 0x0112; a second Initiate ->
0xA510; Cancel of a finished request -> 0xC201, of one being built by an SCP that cannot
interrupt -> 0xC202; another action type -> 0x0123; a Request Priority other than HIGH,
MED, LOW or Number of Copies below 1 -> 0x0115. Pending requests are built one at a time,
highest Request Priority first. Referenced instances the SCP does not
hold go to the Failed SOP Sequence with Failure Reason 0x0112; none held -> ``FAILURE``.

SCU: :func:`media_request`, :func:`create_request`, :func:`initiate`, :func:`cancel`,
:func:`status`, and :func:`create_media` doing the whole flow.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence
from dicomkit.core._uid import generate_uid
from dicomkit.dictionary import status_codes, tags, uids
from dicomkit.errors import DicomError
from dicomkit.net import Association, Incoming, response_for
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services._n_common import install_handlers, n_request, select, text

log = logging.getLogger("dicomkit.services.media_creation")

MEDIA_CREATION_MANAGEMENT = uids.MediaCreationManagement
INITIATE_MEDIA_CREATION = 1
CANCEL_MEDIA_CREATION = 2

IDLE = "IDLE"
PENDING = "PENDING"
CREATING = "CREATING"
DONE = "DONE"
FAILURE = "FAILURE"

#: attributes an N-CREATE may carry (PS3.4 Table S.3.2.1.1-1)
CREATE_ATTRIBUTES = frozenset(
    {
        tags.SpecificCharacterSet,
        tags.StorageMediaFileSetID,
        tags.StorageMediaFileSetUID,
        tags.LabelUsingInformationExtractedFromInstances,
        tags.LabelText,
        tags.LabelStyleSelection,
        tags.BarcodeValue,
        tags.BarcodeSymbology,
        tags.MediaDisposition,
        tags.AllowMediaSplitting,
        tags.AllowLossyCompression,
        tags.IncludeNonDICOMObjects,
        tags.IncludeDisplayApplication,
        tags.PreserveCompositeInstancesAfterMediaCreation,
        tags.ReferencedSOPSequence,
        tags.RequestedMediaApplicationProfile,
        tags.IconImageSequence,
    }
)
_FILESET_ID = re.compile(r"^[A-Z0-9_ ]{0,16}$")


@dataclass
class MediaJob:
    """One media creation request as the builder sees it."""

    sop_instance_uid: str
    #: the instance files to put on the media (those the SCP holds)
    files: list[Path]
    #: where the builder writes (a folder of this request's own)
    output: Path
    fileset_id: str = ""
    fileset_uid: str = ""
    label: str = ""
    profile: str = "STD-GEN-CD"
    copies: int = 1
    #: set when the SCU cancels: a builder checks it between steps and stops
    cancelled: threading.Event = field(default_factory=threading.Event)


@dataclass
class MediaResult:
    """What the builder made."""

    #: the File-set folder (it holds the DICOMDIR)
    folder: Path
    #: the ISO 9660 image of the File-set
    image: Path | None = None
    #: source file path (of ``MediaJob.files``) -> why it is not on the media
    failed: dict[str, str] = field(default_factory=dict)
    pieces: int = 1


class MediaCancelled(DicomError):
    """Raised by a builder that saw :attr:`MediaJob.cancelled`."""


#: Builds the media of a request: a plain function (run in a worker thread).
MediaBuilder: TypeAlias = Callable[[MediaJob], MediaResult]


@dataclass
class MediaRequest:
    """The SCP's record of one request."""

    sop_instance_uid: str
    attributes: Dataset
    status: str = IDLE
    info: str = "NORMAL"
    job: MediaJob | None = None
    result: MediaResult | None = None
    failed: list[tuple[str, str, int]] = field(default_factory=list)
    #: Request Priority (2200,0020) rank: 0 HIGH, 1 MED, 2 LOW; then the order initiated
    priority: int = 1
    order: int = 0


#: Request Priority (2200,0020) values and their rank (PS3.4 S.3.2.2.1.1)
PRIORITIES = {"HIGH": 0, "MED": 1, "LOW": 2}


class MediaCreationSCP:
    """N-CREATE / N-ACTION / N-GET of Media Creation Management (PS3.4 S.3).

    ``locate(sop_instance_uid)`` returns the file of an instance the SCP holds (or None);
    ``builder`` makes the media in ``output/<request UID>/``; ``profiles`` are the Media
    Application Profiles the builder makes (the first is the default); ``interruptible``:
    whether a request being built can be cancelled. Requests are built one at a time: the
    pending one of highest Request Priority first (HIGH, MED, LOW), then in the order
    initiated. ``journal``: a folder keeping each request on disk (one JSON file, rewritten at
    each change of state), so N-GET status survives a restart; requests pending or being
    built when the SCP stopped are built again by :meth:`resume`.
    """

    sop_class = MEDIA_CREATION_MANAGEMENT

    def __init__(
        self,
        locate: Callable[[str], Path | None],
        builder: MediaBuilder,
        output: str | Path,
        *,
        profiles: Iterable[str] = ("STD-GEN-CD",),
        interruptible: bool = True,
        on_done: Callable[[MediaRequest], None] | None = None,
        journal: str | Path | None = None,
    ) -> None:
        self.locate = locate
        self.builder = builder
        self.output = Path(output)
        self.profiles = tuple(profiles)
        self.interruptible = interruptible
        self.on_done = on_done
        self.requests: dict[str, MediaRequest] = {}
        self._lock = threading.Lock()
        self._serial: asyncio.Lock | None = None
        self._initiated = 0
        self.journal: Any = None
        if journal is not None:
            from dicomkit.services._media_journal import MediaJournal

            self.journal = MediaJournal(journal)
            for req in self.journal.load():
                self.requests[req.sop_instance_uid] = req
                self._initiated = max(self._initiated, req.order)

    def _save(self, req: MediaRequest) -> None:
        """Keep the request's state in the journal (if any); called with the lock held."""
        if self.journal is None:
            return
        try:
            self.journal.save(req)
        except OSError as exc:  # a full disk must not stop the service; N-GET still answers
            log.warning("media creation request %s not saved: %s", req.sop_instance_uid, exc)

    async def resume(self) -> int:
        """Build the requests the journal held as pending (those a restart interrupted), one
        at a time in priority order; returns how many were built."""
        with self._lock:
            n = sum(1 for r in self.requests.values() if r.status == PENDING and r.job)
        for _ in range(n):
            await self._run()
        return n

    def handlers(self) -> dict[type[dimse.DimseRequest], Any]:
        """The handlers to give an AE."""
        return {
            dimse.NCreateRequest: self.create,
            dimse.NActionRequest: self.action,
            dimse.NGetRequest: self.get,
        }

    def add_to(self, ae: Any) -> None:
        """Serve this SCP on ``ae`` (an AE or a SyncAE), offering its SOP classes."""
        install_handlers(ae, self.handlers(), [MEDIA_CREATION_MANAGEMENT])

    def create(self, incoming: Incoming) -> Any:
        """N-CREATE a media creation request (PS3.4 S.3.2.1)."""
        msg = incoming.message
        assert isinstance(msg, dimse.NCreateRequest)
        ds = incoming.dataset if incoming.dataset is not None else Dataset()
        unknown = tuple(
            el.tag
            for el in ds.elements()
            if el.tag not in CREATE_ATTRIBUTES and el.tag >> 16 not in (0x0000, 0x0002)
        )
        if unknown:
            return response_for(
                msg,
                status_codes.NoSuchAttribute,
                offending_element=unknown,
                error_comment="not a Media Creation Management attribute (Table S.3.2.1.1-1)",
            )
        refs = ds.get(tags.ReferencedSOPSequence)
        if not refs:
            return response_for(
                msg,
                status_codes.MissingAttribute,
                offending_element=(tags.ReferencedSOPSequence,),
                error_comment="Referenced SOP Sequence lists the instances to put on the media",
            )
        for n, item in enumerate(refs, 1):
            for tag in (tags.ReferencedSOPClassUID, tags.ReferencedSOPInstanceUID):
                if not text(item.get(tag)):
                    return response_for(
                        msg,
                        status_codes.InvalidAttributeValue,
                        offending_element=(tags.ReferencedSOPSequence, tag),
                        error_comment=f"Referenced SOP Sequence item {n} lacks {tag:08X}",
                    )
        profile = text(ds.get(tags.RequestedMediaApplicationProfile)) or self.profiles[0]
        if profile not in self.profiles:
            return response_for(
                msg,
                status_codes.InvalidAttributeValue,
                offending_element=(tags.RequestedMediaApplicationProfile,),
                error_comment=f"profile {profile} not made here; we make {', '.join(self.profiles)}",
            )
        status = status_codes.Success
        coerced: tuple[int, ...] = ()
        fileset_id = text(ds.get(tags.StorageMediaFileSetID))
        if not _FILESET_ID.match(fileset_id):
            fixed = re.sub(r"[^A-Z0-9_]", "_", fileset_id.upper())[:16]
            ds.set(tags.StorageMediaFileSetID, fixed, vr="CS")
            status, coerced = status_codes.AttributeValueOutOfRange, (tags.StorageMediaFileSetID,)
        uid = text(msg.affected_sop_instance_uid) or str(generate_uid())
        stored = ds.copy()
        stored.SOPClassUID = MEDIA_CREATION_MANAGEMENT
        stored.SOPInstanceUID = uid
        stored.RequestedMediaApplicationProfile = profile
        with self._lock:
            if uid in self.requests:
                return response_for(
                    msg, status_codes.DuplicateSOPInstance, affected_sop_instance_uid=uid
                )
            self.requests[uid] = MediaRequest(uid, stored)
            self._save(self.requests[uid])
        kw: dict[str, Any] = {"affected_sop_instance_uid": uid}
        if coerced:
            kw["offending_element"] = coerced
            kw["error_comment"] = "File-set ID coerced to A-Z, 0-9 and _ (PS3.10 8.5)"
        return response_for(msg, status, **kw), self._view(self.requests[uid])

    def action(self, incoming: Incoming) -> Any:
        """N-ACTION Initiate (1) or Cancel (2) Media Creation (PS3.4 S.3.2.2, S.3.2.3)."""
        msg = incoming.message
        assert isinstance(msg, dimse.NActionRequest)
        if msg.action_type_id not in (INITIATE_MEDIA_CREATION, CANCEL_MEDIA_CREATION):
            return response_for(msg, status_codes.NoSuchActionType)
        with self._lock:
            req = self.requests.get(text(msg.requested_sop_instance_uid))
            if req is None:
                return response_for(msg, status_codes.NoSuchSOPInstance)
            if msg.action_type_id == CANCEL_MEDIA_CREATION:
                return self._cancel(msg, req)
            if req.status != IDLE:
                return response_for(msg, status_codes.InitiateMediaCreationAlreadyReceived)
            info = incoming.dataset if incoming.dataset is not None else Dataset()
            copies = info.get(tags.NumberOfCopies)
            priority = text(info.get(tags.RequestPriority)).upper() or "MED"
            if priority not in PRIORITIES or (copies is not None and int(copies) < 1):
                bad = "Request Priority (2200,0020) must be HIGH, MED or LOW"
                if priority in PRIORITIES:
                    bad = "Number of Copies (2000,0010) must be 1 or more"
                return response_for(msg, status_codes.InvalidArgumentValue, error_comment=bad)
            self._initiated += 1
            req.priority, req.order = PRIORITIES[priority], self._initiated
            req.job = MediaJob(
                req.sop_instance_uid,
                [],
                self.output / req.sop_instance_uid,
                fileset_id=text(req.attributes.get(tags.StorageMediaFileSetID)),
                fileset_uid=text(req.attributes.get(tags.StorageMediaFileSetUID))
                or str(generate_uid()),
                label=text(req.attributes.get(tags.LabelText)),
                profile=text(req.attributes.get(tags.RequestedMediaApplicationProfile)),
                copies=int(copies) if copies else 1,
            )
            req.status = PENDING
            self._save(req)
        incoming.after_response(self._run())
        return response_for(msg, status_codes.Success)

    def _cancel(self, msg: dimse.NActionRequest, req: MediaRequest) -> Any:
        if req.status in (DONE, FAILURE):
            return response_for(msg, status_codes.MediaCreationAlreadyCompleted)
        if req.status == CREATING and not self.interruptible:
            return response_for(msg, status_codes.MediaCreationInProgressCannotInterrupt)
        if req.job is not None:
            req.job.cancelled.set()
        if req.status in (IDLE, PENDING):
            req.status, req.info = FAILURE, "CANCELED"
            self._save(req)
        return response_for(msg, status_codes.Success)

    async def _run(self) -> None:
        if self._serial is None:
            self._serial = asyncio.Lock()
        async with self._serial:  # one request at a time (each initiate builds one)
            with self._lock:
                pending = [r for r in self.requests.values() if r.status == PENDING and r.job]
                if not pending:
                    return  # cancelled meanwhile
                req = min(pending, key=lambda r: (r.priority, r.order))
                job = req.job
                assert job is not None
                req.status = CREATING
                self._save(req)
            await asyncio.to_thread(self._build, req, job)
        if self.on_done is not None:
            try:
                self.on_done(req)
            except Exception:  # a listener's bug must not stop the queue
                log.exception("on_done callback failed")

    def _build(self, req: MediaRequest, job: MediaJob) -> None:
        failed: list[tuple[str, str, int]] = []
        by_path: dict[str, tuple[str, str]] = {}
        for item in req.attributes.get(tags.ReferencedSOPSequence) or ():
            cls = text(item.get(tags.ReferencedSOPClassUID))
            inst = text(item.get(tags.ReferencedSOPInstanceUID))
            path = self.locate(inst)
            if path is None:
                failed.append((cls, inst, status_codes.NoSuchSOPInstance))
            else:
                job.files.append(path)
                by_path[str(path)] = (cls, inst)
        result: MediaResult | None = None
        try:
            if not job.files:
                raise DicomError("none of the referenced instances is held here")
            result = self.builder(job)
        except MediaCancelled:
            status, info = FAILURE, "CANCELED"
        except Exception as exc:  # noqa: BLE001 -- the request fails, the SCP goes on
            log.warning("media creation %s failed: %s", req.sop_instance_uid, exc)
            status, info = FAILURE, "PROC_FAILURE"
        else:
            status, info = DONE, "NORMAL"
            for source, why in result.failed.items():
                log.info("media %s: %s left out: %s", req.sop_instance_uid, source, why)
                cls, inst = by_path.get(source, ("", ""))
                failed.append((cls, inst, status_codes.ProcessingFailure))
        with self._lock:
            req.status, req.info, req.result, req.failed = status, info, result, failed
            self._save(req)

    def _view(self, req: MediaRequest) -> Dataset:
        ds = req.attributes.copy()
        ds.set(tags.ExecutionStatus, req.status, vr="CS")
        ds.set(tags.ExecutionStatusInfo, req.info, vr="CS")
        if req.status in (DONE, FAILURE):
            pieces = req.result.pieces * (req.job.copies if req.job else 1) if req.result else 0
            ds.set(tags.TotalNumberOfPiecesOfMediaCreated, pieces, vr="US")
            items = []
            for cls, inst, reason in req.failed:
                item = Dataset()
                item.ReferencedSOPClassUID = cls
                item.ReferencedSOPInstanceUID = inst
                item.set(tags.FailureReason, reason, vr="US")
                items.append(item)
            ds.set(tags.FailedSOPSequence, Sequence(items), vr="SQ")
            media = []
            if req.result is not None and req.job is not None:
                item = Dataset()
                item.StorageMediaFileSetID = req.job.fileset_id
                item.StorageMediaFileSetUID = req.job.fileset_uid
                media.append(item)
            ds.set(tags.ReferencedStorageMediaSequence, Sequence(media), vr="SQ")
        return ds

    def get(self, incoming: Incoming) -> Any:
        """N-GET the request's attributes and status (PS3.4 S.3.2.4)."""
        msg = incoming.message
        assert isinstance(msg, dimse.NGetRequest)
        with self._lock:
            req = self.requests.get(text(msg.requested_sop_instance_uid))
            if req is None:
                return response_for(msg, status_codes.NoSuchSOPInstance)
            ds = self._view(req)
        return response_for(msg, status_codes.Success), select(ds, msg.attribute_identifier_list)


# -- SCU -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MediaStatus:
    """The N-GET answer: where the request stands."""

    status: str
    info: str
    pieces: int
    #: (SOP Instance UID, Failure Reason) of the instances left out
    failed: tuple[tuple[str, int], ...]
    fileset_uid: str = ""

    @classmethod
    def from_dataset(cls, ds: Dataset) -> MediaStatus:
        """Read the N-GET response."""
        media = ds.get(tags.ReferencedStorageMediaSequence) or ()
        return cls(
            text(ds.get(tags.ExecutionStatus)),
            text(ds.get(tags.ExecutionStatusInfo)),
            int(ds.get(tags.TotalNumberOfPiecesOfMediaCreated) or 0),
            tuple(
                (text(i.get(tags.ReferencedSOPInstanceUID)), int(i.get(tags.FailureReason) or 0))
                for i in ds.get(tags.FailedSOPSequence) or ()
            ),
            text(media[0].get(tags.StorageMediaFileSetUID)) if media else "",
        )

    @property
    def finished(self) -> bool:
        """DONE or FAILURE."""
        return self.status in (DONE, FAILURE)


def media_request(
    instances: Iterable[tuple[str, str]],
    *,
    fileset_id: str = "",
    label: str = "",
    profile: str | None = None,
) -> Dataset:
    """N-CREATE attributes for ``instances`` ((SOP Class UID, SOP Instance UID) pairs)."""
    ds = Dataset()
    items = []
    for cls, inst in instances:
        item = Dataset()
        item.ReferencedSOPClassUID = cls
        item.ReferencedSOPInstanceUID = inst
        items.append(item)
    ds.ReferencedSOPSequence = Sequence(items)
    if fileset_id:
        ds.StorageMediaFileSetID = fileset_id
    if label:
        ds.LabelText = label
    if profile:
        ds.RequestedMediaApplicationProfile = profile
    return ds


async def create_request(assoc: Association, attributes: Dataset) -> str:
    """N-CREATE the request; returns its SOP Instance UID."""
    uid = str(generate_uid())
    msg = dimse.NCreateRequest(
        affected_sop_class_uid=MEDIA_CREATION_MANAGEMENT, affected_sop_instance_uid=uid
    )
    rsp, _ = await n_request(assoc, msg, attributes, what="Media Creation N-CREATE")
    return text(getattr(rsp.message, "affected_sop_instance_uid", None)) or uid


async def initiate(
    assoc: Association, sop_instance_uid: str, *, copies: int = 1, priority: str = ""
) -> None:
    """N-ACTION Initiate Media Creation."""
    info = Dataset()
    info.NumberOfCopies = copies
    if priority:
        info.RequestPriority = priority
    msg = dimse.NActionRequest(
        requested_sop_class_uid=MEDIA_CREATION_MANAGEMENT,
        requested_sop_instance_uid=sop_instance_uid,
        action_type_id=INITIATE_MEDIA_CREATION,
    )
    await n_request(assoc, msg, info, what="Initiate Media Creation")


async def cancel(assoc: Association, sop_instance_uid: str) -> None:
    """N-ACTION Cancel Media Creation."""
    msg = dimse.NActionRequest(
        requested_sop_class_uid=MEDIA_CREATION_MANAGEMENT,
        requested_sop_instance_uid=sop_instance_uid,
        action_type_id=CANCEL_MEDIA_CREATION,
    )
    await n_request(assoc, msg, what="Cancel Media Creation")


async def status(assoc: Association, sop_instance_uid: str) -> MediaStatus:
    """N-GET where the request stands."""
    msg = dimse.NGetRequest(
        requested_sop_class_uid=MEDIA_CREATION_MANAGEMENT,
        requested_sop_instance_uid=sop_instance_uid,
    )
    _, ds = await n_request(assoc, msg, what="Media Creation N-GET")
    return MediaStatus.from_dataset(ds if ds is not None else Dataset())


async def create_media(
    assoc: Association,
    attributes: Dataset,
    *,
    copies: int = 1,
    poll: float = 0.2,
    timeout: float = 600.0,
) -> tuple[str, MediaStatus]:
    """N-CREATE, Initiate, then N-GET every ``poll`` seconds until DONE or FAILURE;
    returns the request UID and its final status."""
    uid = await create_request(assoc, attributes)
    await initiate(assoc, uid, copies=copies)
    async with asyncio.timeout(timeout):
        while True:
            got = await status(assoc, uid)
            if got.finished:
                return uid, got
            await asyncio.sleep(poll)


__all__ = [
    "CANCEL_MEDIA_CREATION",
    "CREATING",
    "DONE",
    "FAILURE",
    "IDLE",
    "INITIATE_MEDIA_CREATION",
    "MEDIA_CREATION_MANAGEMENT",
    "PENDING",
    "PRIORITIES",
    "MediaBuilder",
    "MediaCancelled",
    "MediaCreationSCP",
    "MediaJob",
    "MediaRequest",
    "MediaResult",
    "MediaStatus",
    "cancel",
    "create_media",
    "create_request",
    "initiate",
    "media_request",
    "status",
]
