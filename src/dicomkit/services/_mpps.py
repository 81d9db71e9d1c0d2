"""Modality Performed Procedure Step (PS3.4 Annex F), both sides.

The modality (SCU) creates the MPPS instance with N-CREATE when it starts the procedure,
Performed Procedure Step Status (0040,0252) "IN PROGRESS", and updates it with N-SET until it
sets "COMPLETED" or "DISCONTINUED"; after that the instance may no longer be changed.

SCP: :class:`MPPSSCP` keeps instances in a pluggable :class:`MPPSStore` (a dict by default)
and enforces the state machine with the standard's statuses (PS3.4 F.7.2.1.4, F.7.2.2.4,
PS3.7 C): N-CREATE with another status -> 0x0106 (invalid attribute value), without one ->
0x0120 (missing attribute), an existing instance -> 0x0111 (duplicate SOP instance); N-SET on
an unknown instance -> 0x0112, on a COMPLETED / DISCONTINUED one -> 0x0110 (processing
failure: "Performed Procedure Step Object may no longer be updated"), to a status value that
does not exist -> 0x0106. N-GET (MPPS Retrieve behaviour) returns the stored attributes.

SCU: :func:`create`, :func:`update`, :func:`complete`, :func:`discontinue`, :func:`get`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

from dicomkit.core._dataset import Dataset
from dicomkit.core._uid import generate_uid
from dicomkit.dictionary import status_codes, uids
from dicomkit.net import Association, Incoming, response_for
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services._n_common import apply_modifications, n_request, select, text

log = logging.getLogger("dicomkit.services._mpps")

MPPS = uids.ModalityPerformedProcedureStep
IN_PROGRESS = "IN PROGRESS"
COMPLETED = "COMPLETED"
DISCONTINUED = "DISCONTINUED"
STATES = frozenset({IN_PROGRESS, COMPLETED, DISCONTINUED})
FINAL_STATES = frozenset({COMPLETED, DISCONTINUED})

PPS_STATUS = 0x00400252
SOP_CLASS_UID = 0x00080016
SOP_INSTANCE_UID = 0x00080018

#: Where the SCP keeps instances: SOP Instance UID -> Dataset (a dict, a shelf, the archive).
MPPSStore = MutableMapping[str, Dataset]


class MPPSSCP:
    """N-CREATE / N-SET / N-GET handlers of the MPPS SOP class (PS3.4 F.7, F.8).

    ``on_change(uid, dataset)`` is called after each successful create or set (e.g. to tell
    the archive a study is complete). Handlers may run on worker threads: a lock guards the
    store's read-modify-write.
    """

    sop_class = MPPS

    def __init__(
        self,
        store: MPPSStore | None = None,
        *,
        on_change: Callable[[str, Dataset], None] | None = None,
    ) -> None:
        self.store: MPPSStore = store if store is not None else {}
        self.on_change = on_change
        self._lock = threading.Lock()

    def handlers(self) -> dict[type[dimse.DimseRequest], Any]:
        """The handlers to give an AE: N-CREATE, N-SET and N-GET of MPPS."""
        return {
            dimse.NCreateRequest: self.create,
            dimse.NSetRequest: self.set,
            dimse.NGetRequest: self.get,
        }

    def create(self, incoming: Incoming) -> Any:
        """The N-CREATE handler: a new Modality Performed Procedure Step (PS3.4 F.7.2.1)."""
        msg = incoming.message
        assert isinstance(msg, dimse.NCreateRequest)
        if msg.affected_sop_class_uid != MPPS:
            return response_for(msg, status_codes.NoSuchSOPClass)
        ds = incoming.dataset
        if ds is None:
            return response_for(
                msg, status_codes.MissingAttribute, error_comment="no attribute list"
            )
        if PPS_STATUS not in ds or not text(ds.get(PPS_STATUS)):
            return response_for(
                msg,
                0x0120,
                offending_element=(PPS_STATUS,),
                error_comment="Performed Procedure Step Status missing",
            )
        status = text(ds.get(PPS_STATUS)).upper()
        if status != IN_PROGRESS:
            return response_for(
                msg,
                0x0106,
                offending_element=(PPS_STATUS,),
                error_comment=f"N-CREATE status must be IN PROGRESS, not {status}",
            )
        uid = text(msg.affected_sop_instance_uid) or str(generate_uid())
        stored = ds.copy()
        stored.set(SOP_CLASS_UID, MPPS, vr="UI")
        stored.set(SOP_INSTANCE_UID, uid, vr="UI")
        with self._lock:
            if uid in self.store:
                return response_for(
                    msg, status_codes.DuplicateSOPInstance, affected_sop_instance_uid=uid
                )
            self.store[uid] = stored
        self._changed(uid, stored)
        # the response names the instance (the SCP chose it when the SCU did not) and
        # returns the attribute list as created (PS3.7 10.1.5.1.6)
        return response_for(msg, status_codes.Success, affected_sop_instance_uid=uid), ds

    def set(self, incoming: Incoming) -> Any:
        """The N-SET handler: update an MPPS instance that is still IN PROGRESS (PS3.4 F.7.2.2)."""
        msg = incoming.message
        assert isinstance(msg, dimse.NSetRequest)
        if msg.requested_sop_class_uid != MPPS:
            return response_for(msg, status_codes.NoSuchSOPClass)
        uid = text(msg.requested_sop_instance_uid)
        mods = incoming.dataset
        if mods is None:
            return response_for(
                msg, status_codes.MissingAttribute, error_comment="no modification list"
            )
        with self._lock:
            current = self.store.get(uid)
            if current is None:
                return response_for(msg, status_codes.NoSuchSOPInstance)
            state = text(current.get(PPS_STATUS)).upper()
            if state in FINAL_STATES:
                return response_for(
                    msg,
                    0x0110,
                    error_comment=(
                        f"Performed Procedure Step is {state}: may no longer be updated"
                    ),
                )
            new_state = text(mods.get(PPS_STATUS)).upper() if PPS_STATUS in mods else state
            if new_state not in STATES:
                return response_for(
                    msg,
                    0x0106,
                    offending_element=(PPS_STATUS,),
                    error_comment=f"no such status {new_state!r}",
                )
            updated = current.copy()
            apply_modifications(updated, mods)
            updated.set(PPS_STATUS, new_state, vr="CS")
            self.store[uid] = updated
        self._changed(uid, updated)
        return response_for(msg, status_codes.Success), mods

    def get(self, incoming: Incoming) -> dimse.DimseResponse | tuple[Any, Dataset]:
        """The N-GET handler: the requested attributes of a stored MPPS instance."""
        msg = incoming.message
        assert isinstance(msg, dimse.NGetRequest)
        uid = text(msg.requested_sop_instance_uid)
        with self._lock:
            current = self.store.get(uid)
            found = current.copy() if current is not None else None
        if found is None:
            return response_for(msg, status_codes.NoSuchSOPInstance)
        return response_for(msg, status_codes.Success), select(found, msg.attribute_identifier_list)

    def _changed(self, uid: str, ds: Dataset) -> None:
        if self.on_change is not None:
            try:
                self.on_change(uid, ds)
            except Exception:  # a listener's bug must not fail the DIMSE
                log.exception("MPPS on_change callback failed for %s", uid)


# -- SCU -------------------------------------------------------------------------------------


async def create(
    assoc: Association, dataset: Dataset, *, sop_instance_uid: str | None = None
) -> str:
    """N-CREATE an MPPS instance (status set to IN PROGRESS when absent); returns its UID,
    the one we gave or the one the SCP chose. Raises ``DimseError`` on a failure."""
    ds = dataset.copy()
    if PPS_STATUS not in ds or not text(ds.get(PPS_STATUS)):
        ds.set(PPS_STATUS, IN_PROGRESS, vr="CS")
    uid = sop_instance_uid or str(generate_uid())
    msg = dimse.NCreateRequest(affected_sop_class_uid=MPPS, affected_sop_instance_uid=uid)
    rsp, _ = await n_request(assoc, msg, ds, what="MPPS N-CREATE")
    chosen = getattr(rsp.message, "affected_sop_instance_uid", None)
    return text(chosen) or uid


async def update(
    assoc: Association, sop_instance_uid: str, modifications: Dataset
) -> dimse.NSetResponse:
    """N-SET modifications on an MPPS instance; returns the response (success or warning:
    check ``status``). A failure status raises ``DimseError``."""
    msg = dimse.NSetRequest(
        requested_sop_class_uid=MPPS, requested_sop_instance_uid=sop_instance_uid
    )
    rsp, _ = await n_request(assoc, msg, modifications, what="MPPS N-SET")
    assert isinstance(rsp.message, dimse.NSetResponse)
    return rsp.message


def _final(state: str, extra: Dataset | None) -> Dataset:
    ds = extra.copy() if extra is not None else Dataset()
    ds.set(PPS_STATUS, state, vr="CS")
    return ds


async def complete(
    assoc: Association, sop_instance_uid: str, final: Dataset | None = None
) -> dimse.NSetResponse:
    """N-SET the status to COMPLETED (with ``final`` attributes, e.g. end date / time and
    the Performed Series Sequence); returns the response (a failure raises)."""
    return await update(assoc, sop_instance_uid, _final(COMPLETED, final))


async def discontinue(
    assoc: Association, sop_instance_uid: str, final: Dataset | None = None
) -> dimse.NSetResponse:
    """N-SET the status to DISCONTINUED; returns the response (a failure raises)."""
    return await update(assoc, sop_instance_uid, _final(DISCONTINUED, final))


async def get(
    assoc: Association, sop_instance_uid: str, tags: Iterable[int] | None = None
) -> Dataset:
    """N-GET attributes of an MPPS instance (all when ``tags`` is None)."""
    msg = dimse.NGetRequest(
        requested_sop_class_uid=MPPS,
        requested_sop_instance_uid=sop_instance_uid,
        attribute_identifier_list=tuple(tags) if tags else None,
    )
    _, ds = await n_request(assoc, msg, what="MPPS N-GET")
    return ds if ds is not None else Dataset()


def in_progress(
    *,
    patient_name: str = "",
    patient_id: str = "",
    modality: str = "",
    station_ae: str = "",
    start_date: str = "",
    start_time: str = "",
    procedure_step_id: str = "",
    study_instance_uid: str = "",
) -> Dataset:
    """A minimal N-CREATE attribute list (PS3.4 F.7.2.1, Table F.7.2-1 type 1/2 keys)."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    ds.Modality = modality
    ds.PerformedStationAETitle = station_ae
    ds.PerformedStationName = ""
    ds.PerformedLocation = ""
    ds.PerformedProcedureStepStartDate = start_date
    ds.PerformedProcedureStepStartTime = start_time
    ds.PerformedProcedureStepEndDate = ""
    ds.PerformedProcedureStepEndTime = ""
    ds.PerformedProcedureStepID = procedure_step_id
    ds.PerformedProcedureStepDescription = ""
    ds.PerformedProcedureTypeDescription = ""
    ds.PerformedProcedureStepStatus = IN_PROGRESS
    ds.StudyID = ""
    from dicomkit.core._sequence import Sequence

    attr = Dataset()
    attr.StudyInstanceUID = study_instance_uid
    attr.AccessionNumber = ""
    attr.RequestedProcedureID = ""
    attr.RequestedProcedureDescription = ""
    attr.ScheduledProcedureStepID = ""
    attr.ScheduledProcedureStepDescription = ""
    ds.ScheduledStepAttributesSequence = Sequence([attr])
    ds.ProcedureCodeSequence = Sequence()
    ds.PerformedSeriesSequence = Sequence()
    return ds


__all__ = [
    "COMPLETED",
    "DISCONTINUED",
    "IN_PROGRESS",
    "MPPS",
    "MPPSSCP",
    "MPPSStore",
    "complete",
    "create",
    "discontinue",
    "get",
    "in_progress",
    "update",
]
