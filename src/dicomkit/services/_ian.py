"""Instance Availability Notification (PS3.4 Annex R), both sides.

An archive tells a RIS, a reporting system or another archive that instances of a study are
available, and where to retrieve them: one N-CREATE of the Instance Availability Notification
SOP Class per notification, whose attribute list (PS3.4 R.3) names the study, its series, and
in each series the instances (SOP Class / Instance UID) with their Instance Availability
(ONLINE, NEARLINE, OFFLINE, UNAVAILABLE) and Retrieve AE Title.

SCU: :func:`notification` builds the attribute list, :func:`notify` sends it.
SCP: :class:`IANSCP` checks a notification (0120 a required attribute missing, 0106 an
invalid value) and hands it to a store (0111 for a notification already received).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import Any

from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence
from dicomkit.core._uid import generate_uid
from dicomkit.dictionary import status_codes, tags, uids
from dicomkit.net import Association, Incoming, response_for
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services._n_common import n_request, text

#: the Instance Availability Notification SOP Class
INSTANCE_AVAILABILITY_NOTIFICATION = uids.InstanceAvailabilityNotification
#: Instance Availability (0008,0056) values (PS3.3 C.4.23.1.1)
AVAILABILITY = frozenset({"ONLINE", "NEARLINE", "OFFLINE", "UNAVAILABLE"})

#: Where the SCP keeps what it received: SOP Instance UID -> attribute list
IANStore = MutableMapping[str, Dataset]


def notification(
    study_uid: str,
    series: Mapping[str, Iterable[tuple[str, str]]],
    *,
    retrieve_aet: str = "",
    availability: str = "ONLINE",
    performed_steps: Iterable[tuple[str, str]] = (),
) -> Dataset:
    """The N-CREATE attribute list of a notification (PS3.4 R.3): ``series`` maps each Series
    Instance UID to its instances as (SOP Class UID, SOP Instance UID) pairs;
    ``performed_steps`` are (SOP Class, SOP Instance) of the MPPS it reports on (the Type 2
    sequence is sent empty without)."""
    if availability not in AVAILABILITY:
        raise ValueError(f"Instance Availability {availability!r}: one of {sorted(AVAILABILITY)}")
    ds = Dataset()
    steps = Sequence()
    for cls, inst in performed_steps:
        item = Dataset()
        item.set(tags.ReferencedSOPClassUID, cls, vr="UI")
        item.set(tags.ReferencedSOPInstanceUID, inst, vr="UI")
        steps.append(item)
    ds.set(tags.ReferencedPerformedProcedureStepSequence, steps, vr="SQ")
    ds.set(tags.StudyInstanceUID, study_uid, vr="UI")
    series_seq = Sequence()
    for series_uid, instances in series.items():
        s_item = Dataset()
        s_item.set(tags.SeriesInstanceUID, series_uid, vr="UI")
        refs = Sequence()
        for cls, inst in instances:
            ref = Dataset()
            ref.set(tags.ReferencedSOPClassUID, cls, vr="UI")
            ref.set(tags.ReferencedSOPInstanceUID, inst, vr="UI")
            ref.set(tags.InstanceAvailability, availability, vr="CS")
            if retrieve_aet:
                ref.set(tags.RetrieveAETitle, retrieve_aet, vr="AE")
            refs.append(ref)
        s_item.set(tags.ReferencedSOPSequence, refs, vr="SQ")
        series_seq.append(s_item)
    ds.set(tags.ReferencedSeriesSequence, series_seq, vr="SQ")
    return ds


def instances_of(ds: Dataset) -> list[tuple[str, str, str]]:
    """(Series Instance UID, SOP Class UID, SOP Instance UID) of every instance a
    notification names."""
    out = []
    for s_item in ds.get(tags.ReferencedSeriesSequence) or []:
        series_uid = text(s_item.get(tags.SeriesInstanceUID))
        for ref in s_item.get(tags.ReferencedSOPSequence) or []:
            out.append(
                (
                    series_uid,
                    text(ref.get(tags.ReferencedSOPClassUID)),
                    text(ref.get(tags.ReferencedSOPInstanceUID)),
                )
            )
    return out


async def notify(
    assoc: Association, dataset: Dataset, *, sop_instance_uid: str | None = None
) -> str:
    """N-CREATE one notification; returns its SOP Instance UID (ours, or the one the SCP
    chose). Raises ``DimseError`` when the SCP refuses it."""
    uid = sop_instance_uid or str(generate_uid())
    msg = dimse.NCreateRequest(
        affected_sop_class_uid=INSTANCE_AVAILABILITY_NOTIFICATION, affected_sop_instance_uid=uid
    )
    rsp, _ = await n_request(assoc, msg, dataset, what="Instance Availability Notification")
    return text(getattr(rsp.message, "affected_sop_instance_uid", None)) or uid


def problem(ds: Dataset | None) -> tuple[int, int | None, str] | None:
    """What is wrong with a received notification: (status, offending tag, comment), or
    None when it has what PS3.4 R.3 requires."""
    if ds is None:
        return status_codes.MissingAttribute, None, "no attribute list"
    if not text(ds.get(tags.StudyInstanceUID)):
        return status_codes.MissingAttribute, tags.StudyInstanceUID, "Study Instance UID missing"
    series = ds.get(tags.ReferencedSeriesSequence)
    if not series:
        return (
            status_codes.MissingAttribute,
            tags.ReferencedSeriesSequence,
            "Referenced Series Sequence missing or empty",
        )
    for s_item in series:
        if not text(s_item.get(tags.SeriesInstanceUID)):
            return (
                status_codes.MissingAttribute,
                tags.SeriesInstanceUID,
                "a Referenced Series Sequence item has no Series Instance UID",
            )
        refs = s_item.get(tags.ReferencedSOPSequence)
        if not refs:
            return (
                status_codes.MissingAttribute,
                tags.ReferencedSOPSequence,
                "a series has no Referenced SOP Sequence items",
            )
        for ref in refs:
            for tag in (tags.ReferencedSOPClassUID, tags.ReferencedSOPInstanceUID):
                if not text(ref.get(tag)):
                    return status_codes.MissingAttribute, tag, "an instance reference lacks a UID"
            value = text(ref.get(tags.InstanceAvailability)).upper()
            if not value:
                return (
                    status_codes.MissingAttribute,
                    tags.InstanceAvailability,
                    "Instance Availability missing",
                )
            if value not in AVAILABILITY:
                return (
                    status_codes.InvalidAttributeValue,
                    tags.InstanceAvailability,
                    f"Instance Availability {value!r}: one of {', '.join(sorted(AVAILABILITY))}",
                )
    return None


class IANSCP:
    """The N-CREATE handler of Instance Availability Notification (PS3.4 R.4.2): checks a
    notification and keeps it in ``store`` (a dict by default). ``on_receive(uid, dataset,
    calling_ae)`` is called after each one accepted."""

    sop_class = INSTANCE_AVAILABILITY_NOTIFICATION

    def __init__(
        self,
        store: IANStore | None = None,
        *,
        on_receive: Callable[[str, Dataset, str], None] | None = None,
    ) -> None:
        self.store: IANStore = store if store is not None else {}
        self.on_receive = on_receive
        self._lock = threading.Lock()

    def handlers(self) -> dict[type[dimse.DimseRequest], Any]:
        """The handler table to give an AE (N-CREATE)."""
        return {dimse.NCreateRequest: self.create}

    def create(self, incoming: Incoming) -> Any:
        """The N-CREATE handler: one notification received."""
        msg = incoming.message
        assert isinstance(msg, dimse.NCreateRequest)
        if msg.affected_sop_class_uid != INSTANCE_AVAILABILITY_NOTIFICATION:
            return response_for(msg, status_codes.NoSuchSOPClass)
        ds = incoming.dataset
        wrong = problem(ds)
        if wrong is not None:
            status, tag, comment = wrong
            fields: dict[str, Any] = {"error_comment": comment}
            if tag is not None:
                fields["offending_element"] = (tag,)
            return response_for(msg, status, **fields)
        assert ds is not None
        uid = text(msg.affected_sop_instance_uid) or str(generate_uid())
        with self._lock:
            if uid in self.store:
                return response_for(
                    msg, status_codes.DuplicateSOPInstance, affected_sop_instance_uid=uid
                )
            self.store[uid] = ds
        if self.on_receive is not None:
            self.on_receive(uid, ds, incoming.association.calling_ae)
        return response_for(msg, status_codes.Success, affected_sop_instance_uid=uid)
