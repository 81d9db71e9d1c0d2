"""RT Machine Verification (PS3.4 Annex DD): RT Conventional and RT Ion, both sides.

A treatment delivery system (TDS, the SCU) asks a machine parameter verifier (MPV, the SCP)
to check its settings against the plan before it irradiates:

1. N-CREATE a Machine Verification instance naming the RT (Ion) Plan, fraction group and
   patient (Table DD.3.2.1-1) -- state ``CREATED``;
2. N-SET the beam parameters to verify (repeatable) -- ``PARAMETERS_SET``;
3. N-ACTION "Request Machine Verification" (Action Type ID 1) -- ``VERIFYING``; the MPV
   answers at once and runs its verifier;
4. N-EVENT-REPORT (Event Type ID :data:`EVENT_VERIFICATION_DONE`) on the same association
   with the Treatment Verification Status -- ``VERIFIED``, ``VERIFIED_OVR`` or
   ``NOT_VERIFIED`` -- and the Failed / Overridden Attributes Sequences (PS3.3 C.31.1.1);
5. N-GET reads the same result at any time (DD.3.2.2.4); N-DELETE ends the instance.

SCP: :class:`MachineVerificationSCP` with a pluggable :data:`Verifier` (default
:class:`RangeVerifier`, tolerance ranges per attribute). Statuses: an instance it does not
hold -> 0x0112 (N-SET, N-GET, N-DELETE) or 0xC112 (N-ACTION, Table DD.3.2.3-2); N-CREATE
without Referenced RT Plan Sequence / Patient ID -> 0x0120 naming the tag; a plan of the
other kind (an RT Plan to the Ion class ...) or a sequence of more than one item -> 0x0106
naming the tag; N-SET of an attribute only N-CREATE may carry -> 0x0106 naming it; N-SET
while verifying, N-ACTION before any parameters were set or while verifying -> 0x0110
(wrong state); another action type -> 0x0123; an existing instance -> 0x0111.

SCU: :class:`VerificationListener` (the N-EVENT-REPORT handler), :func:`create`,
:func:`set_parameters`, :func:`request_verification`, :func:`get_result`, :func:`delete`,
and :func:`verify` doing the whole flow.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence
from dicomkit.core._uid import generate_uid
from dicomkit.dictionary import status_codes, tags, uids
from dicomkit.net import Association, Incoming, response_for
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services._n_common import (
    apply_modifications,
    install_handlers,
    n_request,
    select,
    text,
)

log = logging.getLogger("dicomkit.services.rt_verification")

RT_CONVENTIONAL_MACHINE_VERIFICATION = uids.RTConventionalMachineVerification
RT_ION_MACHINE_VERIFICATION = uids.RTIonMachineVerification
MACHINE_VERIFICATION_CLASSES = (RT_CONVENTIONAL_MACHINE_VERIFICATION, RT_ION_MACHINE_VERIFICATION)
#: the plan each class verifies (Referenced RT Plan Sequence > Referenced SOP Class UID)
PLAN_CLASS = {
    RT_CONVENTIONAL_MACHINE_VERIFICATION: uids.RTPlanStorage,
    RT_ION_MACHINE_VERIFICATION: uids.RTIonPlanStorage,
}
REQUEST_MACHINE_VERIFICATION = 1
#: Event Type ID of the report carrying the verification result
EVENT_VERIFICATION_DONE = 1

CREATED = "CREATED"
PARAMETERS_SET = "PARAMETERS_SET"
VERIFYING = "VERIFYING"
VERIFIED = "VERIFIED"
VERIFIED_OVR = "VERIFIED_OVR"
NOT_VERIFIED = "NOT_VERIFIED"
RESULTS = frozenset({VERIFIED, VERIFIED_OVR, NOT_VERIFIED})

#: the sequence holding the parameters of each class (PS3.3 C.36.2/3); the other class's
#: sequence is refused in N-SET
PARAMETER_SEQUENCE = {
    RT_CONVENTIONAL_MACHINE_VERIFICATION: tags.ConventionalMachineVerificationSequence,
    RT_ION_MACHINE_VERIFICATION: tags.IonMachineVerificationSequence,
}
#: attributes only N-CREATE may carry ("Not allowed" in N-SET, Table DD.3.2.1-1)
CREATE_ONLY = frozenset(
    {
        tags.ReferencedRTPlanSequence,
        tags.ReferencedFractionGroupNumber,
        tags.PatientID,
        tags.IssuerOfPatientID,
    }
)


@dataclass(frozen=True, slots=True)
class ParameterResult:
    """One failed or overridden parameter: the attribute's tag and, when it sits in a
    sequence, the sequence's tag and the 1-based item number (PS3.3 C.31.1.1)."""

    tag: int
    sequence: int | None = None
    item: int | None = None

    def to_item(self) -> Dataset:
        """The Failed / Overridden Attributes Sequence item."""
        ds = Dataset()
        ds.set(tags.SelectorAttribute, self.tag, vr="AT")
        if self.sequence is not None:
            ds.set(tags.SelectorSequencePointer, self.sequence, vr="AT")
            ds.set(tags.SelectorSequencePointerItems, self.item or 1, vr="IS")
        return ds

    @classmethod
    def from_item(cls, item: Dataset) -> ParameterResult:
        """Read one item of a Failed / Overridden Attributes Sequence."""
        seq = item.get(tags.SelectorSequencePointer)
        n = item.get(tags.SelectorSequencePointerItems)
        return cls(
            int(_first(item.get(tags.SelectorAttribute))),
            int(_first(seq)) if seq is not None else None,
            int(_first(n)) if n is not None else None,
        )


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) else value


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """What the verifier decided (the N-GET / N-EVENT-REPORT attributes of DD.3.2.2.4)."""

    status: str
    failed: tuple[ParameterResult, ...] = ()
    overridden: tuple[ParameterResult, ...] = ()

    def to_dataset(self) -> Dataset:
        """Treatment Verification Status with the Failed / Overridden Attributes Sequences."""
        ds = Dataset()
        ds.TreatmentVerificationStatus = self.status
        ds.FailedAttributesSequence = Sequence([p.to_item() for p in self.failed])
        ds.OverriddenAttributesSequence = Sequence([p.to_item() for p in self.overridden])
        return ds

    @classmethod
    def from_dataset(cls, ds: Dataset) -> VerificationResult:
        """Read the result from an N-GET response or an N-EVENT-REPORT."""
        return cls(
            text(ds.get(tags.TreatmentVerificationStatus)),
            tuple(
                ParameterResult.from_item(i) for i in ds.get(tags.FailedAttributesSequence) or ()
            ),
            tuple(
                ParameterResult.from_item(i)
                for i in ds.get(tags.OverriddenAttributesSequence) or ()
            ),
        )


#: The MPV's check: the instance's attributes (plan reference + parameters set) -> result;
#: a plain or async function.
Verifier: TypeAlias = "Callable[[Dataset], VerificationResult | Awaitable[VerificationResult]]"


@dataclass
class RangeVerifier:
    """Verify numeric parameters against ranges: ``ranges`` maps an attribute (keyword or
    tag) to (low, high); each occurrence, top level or in an item of a sequence, out of its
    range fails -- unless ``overrides`` names it, then it counts as overridden. A required
    attribute (``required``) that is absent fails too."""

    ranges: Mapping[int | str, tuple[float, float]]
    required: Iterable[int | str] = ()
    overrides: Iterable[int | str] = ()
    _tags: dict[int, tuple[float, float]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._tags = {_tag(k): v for k, v in self.ranges.items()}

    def __call__(self, ds: Dataset) -> VerificationResult:
        failed: list[ParameterResult] = []
        overridden: list[ParameterResult] = []
        allowed = {_tag(k) for k in self.overrides}
        seen: set[int] = set()
        required = [_tag(k) for k in self.required]
        for where, value in _occurrences(ds, {**dict.fromkeys(required), **self._tags}):
            seen.add(where.tag)
            if where.tag not in self._tags:
                continue
            low, high = self._tags[where.tag]
            try:
                number = float(_first(value))
            except (TypeError, ValueError):
                failed.append(where)
                continue
            if not low <= number <= high:
                (overridden if where.tag in allowed else failed).append(where)
        failed.extend(ParameterResult(t) for t in required if t not in seen)
        if failed:
            status = NOT_VERIFIED
        elif overridden:
            status = VERIFIED_OVR
        else:
            status = VERIFIED
        return VerificationResult(status, tuple(failed), tuple(overridden))


def _tag(key: int | str) -> int:
    return key if isinstance(key, int) else int(getattr(tags, key))


def _occurrences(
    ds: Dataset, wanted: Mapping[int, Any], seq: int | None = None, item: int | None = None
) -> Iterable[tuple[ParameterResult, Any]]:
    for el in ds.elements():
        if el.tag in wanted:
            yield ParameterResult(el.tag, seq, item), el.value
        elif isinstance(el.value, Sequence):
            for n, sub in enumerate(el.value, 1):
                yield from _occurrences(sub, wanted, el.tag, n)


@dataclass
class _Instance:
    sop_class: str
    data: Dataset
    state: str = CREATED
    result: VerificationResult | None = None


class MachineVerificationSCP:
    """The MPV: N-CREATE / N-SET / N-ACTION / N-GET / N-DELETE of both Machine Verification
    SOP classes, reporting each result with N-EVENT-REPORT (PS3.4 DD.3.2)."""

    def __init__(self, verifier: Verifier | None = None) -> None:
        self.verifier: Verifier = verifier or RangeVerifier({})
        self.instances: dict[str, _Instance] = {}
        self._lock = threading.Lock()

    def handlers(self) -> dict[type[dimse.DimseRequest], Any]:
        """The handlers to give an AE (for both SOP classes)."""
        return {
            dimse.NCreateRequest: self.create,
            dimse.NSetRequest: self.set,
            dimse.NActionRequest: self.action,
            dimse.NGetRequest: self.get,
            dimse.NDeleteRequest: self.delete,
        }

    def add_to(self, ae: Any) -> None:
        """Serve this SCP on ``ae`` (an AE or a SyncAE), offering its SOP classes."""
        install_handlers(ae, self.handlers(), MACHINE_VERIFICATION_CLASSES)

    def state(self, sop_instance_uid: str) -> str | None:
        """The state of an instance (None when unknown)."""
        inst = self.instances.get(sop_instance_uid)
        return inst.state if inst is not None else None

    def _find(self, msg: Any) -> _Instance | None:
        inst = self.instances.get(text(msg.requested_sop_instance_uid))
        if inst is None or inst.sop_class != msg.requested_sop_class_uid:
            return None
        return inst

    def create(self, incoming: Incoming) -> Any:
        """N-CREATE (PS3.4 DD.3.2.1)."""
        msg = incoming.message
        assert isinstance(msg, dimse.NCreateRequest)
        sop_class = msg.affected_sop_class_uid
        if sop_class not in MACHINE_VERIFICATION_CLASSES:
            return response_for(msg, status_codes.NoSuchSOPClass)
        ds = incoming.dataset if incoming.dataset is not None else Dataset()
        for tag, name in (
            (tags.ReferencedRTPlanSequence, "Referenced RT Plan Sequence"),
            (tags.PatientID, "Patient ID"),
        ):
            if not ds.get(tag):
                return response_for(
                    msg,
                    status_codes.MissingAttribute,
                    offending_element=(tag,),
                    error_comment=f"{name} is required in N-CREATE",
                )
        plans = ds.get(tags.ReferencedRTPlanSequence)
        if len(plans) != 1:
            return response_for(
                msg,
                status_codes.InvalidAttributeValue,
                offending_element=(tags.ReferencedRTPlanSequence,),
                error_comment="Referenced RT Plan Sequence takes exactly one item",
            )
        plan_class = text(plans[0].get(tags.ReferencedSOPClassUID))
        if plan_class != PLAN_CLASS[sop_class]:
            return response_for(
                msg,
                status_codes.InvalidAttributeValue,
                offending_element=(tags.ReferencedSOPClassUID,),
                error_comment=f"this SOP class verifies plans of class {PLAN_CLASS[sop_class]},"
                f" not {plan_class or 'none'}",
            )
        uid = text(msg.affected_sop_instance_uid) or str(generate_uid())
        with self._lock:
            if uid in self.instances:
                return response_for(
                    msg, status_codes.DuplicateSOPInstance, affected_sop_instance_uid=uid
                )
            self.instances[uid] = _Instance(sop_class, ds.copy())
        return response_for(msg, status_codes.Success, affected_sop_instance_uid=uid), ds

    def set(self, incoming: Incoming) -> Any:
        """N-SET the parameters to verify (PS3.4 DD.3.2.1)."""
        msg = incoming.message
        assert isinstance(msg, dimse.NSetRequest)
        mods = incoming.dataset if incoming.dataset is not None else Dataset()
        with self._lock:
            inst = self._find(msg)
            if inst is None:
                return response_for(msg, status_codes.NoSuchSOPInstance)
            other = {v for k, v in PARAMETER_SEQUENCE.items() if k != inst.sop_class}
            wrong_kind = [el.tag for el in mods.elements() if el.tag in other]
            if wrong_kind:
                return response_for(
                    msg,
                    status_codes.InvalidAttributeValue,
                    offending_element=tuple(wrong_kind),
                    error_comment="parameters of the other machine kind (conventional / ion)",
                )
            bad = [el.tag for el in mods.elements() if el.tag in CREATE_ONLY]
            if bad:
                return response_for(
                    msg,
                    status_codes.InvalidAttributeValue,
                    offending_element=tuple(bad),
                    error_comment="not allowed in N-SET (set only by N-CREATE)",
                )
            if inst.state == VERIFYING:
                return response_for(
                    msg,
                    status_codes.ProcessingFailure,
                    error_comment="verification in progress: parameters cannot change now",
                )
            apply_modifications(inst.data, mods)
            inst.state = PARAMETERS_SET
            inst.result = None
        return response_for(msg, status_codes.Success), mods

    def action(self, incoming: Incoming) -> Any:
        """N-ACTION Request Machine Verification (PS3.4 DD.3.2.3): answered at once; the
        result follows as an N-EVENT-REPORT."""
        msg = incoming.message
        assert isinstance(msg, dimse.NActionRequest)
        if msg.action_type_id != REQUEST_MACHINE_VERIFICATION:
            return response_for(msg, status_codes.NoSuchActionType)
        uid = text(msg.requested_sop_instance_uid)
        with self._lock:
            inst = self._find(msg)
            if inst is None:
                return response_for(msg, status_codes.MachineVerificationInstanceNotFound)
            if inst.state == CREATED:
                return response_for(
                    msg,
                    status_codes.ProcessingFailure,
                    error_comment="no parameters to verify: N-SET them first",
                )
            if inst.state == VERIFYING:
                return response_for(
                    msg, status_codes.ProcessingFailure, error_comment="already verifying"
                )
            inst.state = VERIFYING
            data = inst.data.copy()
        incoming.after_response(self._verify(incoming, uid, inst, data))
        return response_for(msg, status_codes.Success)

    async def _verify(self, incoming: Incoming, uid: str, inst: _Instance, data: Dataset) -> None:
        try:
            result = self.verifier(data)
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:  # a broken verifier verifies nothing
            log.exception("verifier failed for %s", uid)
            result = VerificationResult(NOT_VERIFIED)
            log.warning("machine verification of %s: NOT_VERIFIED (%s)", uid, exc)
        assert isinstance(result, VerificationResult)
        with self._lock:
            inst.result = result
            inst.state = result.status
        msg = dimse.NEventReportRequest(
            affected_sop_class_uid=inst.sop_class,
            affected_sop_instance_uid=uid,
            event_type_id=EVENT_VERIFICATION_DONE,
        )
        assoc = incoming.association
        if assoc.is_closed:
            return  # the TDS reads the result with N-GET
        try:
            rsp = await assoc.request(msg, result.to_dataset(), context=incoming.context)
            if rsp.status != status_codes.Success:
                log.warning("verification report for %s answered 0x%04X", uid, rsp.status)
        except Exception as exc:  # noqa: BLE001 -- the result stays readable by N-GET
            log.warning("verification report for %s not delivered: %s", uid, exc)

    def get(self, incoming: Incoming) -> Any:
        """N-GET the verification status and results (PS3.4 DD.3.2.2.4)."""
        msg = incoming.message
        assert isinstance(msg, dimse.NGetRequest)
        with self._lock:
            inst = self._find(msg)
            if inst is None:
                return response_for(msg, status_codes.NoSuchSOPInstance)
            ds = inst.data.copy()
            result = inst.result
            state = inst.state
        if result is not None:
            for el in result.to_dataset().elements():
                ds.set(el.tag, el.value, vr=el.vr)
        else:
            # not verified (yet): the status says so, the sequences are empty
            ds.set(tags.TreatmentVerificationStatus, NOT_VERIFIED, vr="CS")
            ds.set(tags.FailedAttributesSequence, Sequence(), vr="SQ")
            ds.set(tags.OverriddenAttributesSequence, Sequence(), vr="SQ")
            log.debug("N-GET of %s in state %s", msg.requested_sop_instance_uid, state)
        return response_for(msg, status_codes.Success), select(ds, msg.attribute_identifier_list)

    def delete(self, incoming: Incoming) -> Any:
        """N-DELETE the instance."""
        msg = incoming.message
        assert isinstance(msg, dimse.NDeleteRequest)
        with self._lock:
            inst = self._find(msg)
            if inst is None:
                return response_for(msg, status_codes.NoSuchSOPInstance)
            if inst.state == VERIFYING:
                return response_for(
                    msg, status_codes.ProcessingFailure, error_comment="verification in progress"
                )
            del self.instances[text(msg.requested_sop_instance_uid)]
        return response_for(msg, status_codes.Success)


# -- SCU -------------------------------------------------------------------------------------


class VerificationListener:
    """The TDS's N-EVENT-REPORT handler: keeps each reported result by SOP Instance UID;
    open the association with ``handlers=listener.handlers()`` and :meth:`wait` for it."""

    def __init__(self) -> None:
        self.results: dict[str, VerificationResult] = {}
        self._waiters: dict[str, asyncio.Future[VerificationResult]] = {}

    def handlers(self) -> dict[type[dimse.DimseRequest], Any]:
        """``{NEventReportRequest: self}``."""
        return {dimse.NEventReportRequest: self}

    async def __call__(self, incoming: Incoming) -> dimse.DimseResponse:
        msg = incoming.message
        assert isinstance(msg, dimse.NEventReportRequest)
        if msg.affected_sop_class_uid not in MACHINE_VERIFICATION_CLASSES:
            return response_for(msg, status_codes.NoSuchSOPClass)
        if msg.event_type_id != EVENT_VERIFICATION_DONE:
            return response_for(msg, status_codes.NoSuchEventType)
        result = VerificationResult.from_dataset(incoming.dataset or Dataset())
        uid = text(msg.affected_sop_instance_uid)
        self.results[uid] = result
        waiter = self._waiters.pop(uid, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(result)
        return response_for(msg, status_codes.Success)

    async def wait(self, sop_instance_uid: str, timeout: float | None = 60.0) -> VerificationResult:
        """The reported result of an instance (``TimeoutError`` after ``timeout`` s)."""
        if sop_instance_uid in self.results:
            return self.results[sop_instance_uid]
        fut = self._waiters.setdefault(sop_instance_uid, asyncio.get_running_loop().create_future())
        async with asyncio.timeout(timeout):
            return await asyncio.shield(fut)


def creation_attributes(
    plan_uid: str,
    patient_id: str,
    *,
    ion: bool = False,
    fraction_group: int | None = None,
) -> Dataset:
    """The N-CREATE attributes: the plan (an RT Plan, or an RT Ion Plan with ``ion``),
    its fraction group and the patient (Table DD.3.2.1-1)."""
    ds = Dataset()
    plan = Dataset()
    plan.ReferencedSOPClassUID = uids.RTIonPlanStorage if ion else uids.RTPlanStorage
    plan.ReferencedSOPInstanceUID = plan_uid
    ds.ReferencedRTPlanSequence = Sequence([plan])
    if fraction_group is not None:
        ds.ReferencedFractionGroupNumber = fraction_group
    ds.PatientID = patient_id
    return ds


async def create(
    assoc: Association, sop_class: str, attributes: Dataset, *, sop_instance_uid: str | None = None
) -> str:
    """N-CREATE a Machine Verification instance; returns its UID."""
    uid = sop_instance_uid or str(generate_uid())
    msg = dimse.NCreateRequest(affected_sop_class_uid=sop_class, affected_sop_instance_uid=uid)
    rsp, _ = await n_request(assoc, msg, attributes, what="Machine Verification N-CREATE")
    return text(getattr(rsp.message, "affected_sop_instance_uid", None)) or uid


async def set_parameters(
    assoc: Association, sop_class: str, sop_instance_uid: str, parameters: Dataset
) -> None:
    """N-SET the parameters to verify."""
    msg = dimse.NSetRequest(
        requested_sop_class_uid=sop_class, requested_sop_instance_uid=sop_instance_uid
    )
    await n_request(assoc, msg, parameters, what="Machine Verification N-SET")


async def request_verification(assoc: Association, sop_class: str, sop_instance_uid: str) -> None:
    """N-ACTION Request Machine Verification (the result comes as an N-EVENT-REPORT)."""
    msg = dimse.NActionRequest(
        requested_sop_class_uid=sop_class,
        requested_sop_instance_uid=sop_instance_uid,
        action_type_id=REQUEST_MACHINE_VERIFICATION,
    )
    await n_request(assoc, msg, what="Machine Verification N-ACTION")


async def get_result(
    assoc: Association, sop_class: str, sop_instance_uid: str
) -> VerificationResult:
    """N-GET the Treatment Verification Status and the parameter sequences."""
    msg = dimse.NGetRequest(
        requested_sop_class_uid=sop_class,
        requested_sop_instance_uid=sop_instance_uid,
        attribute_identifier_list=(
            tags.TreatmentVerificationStatus,
            tags.FailedAttributesSequence,
            tags.OverriddenAttributesSequence,
        ),
    )
    _, ds = await n_request(assoc, msg, what="Machine Verification N-GET")
    return VerificationResult.from_dataset(ds if ds is not None else Dataset())


async def delete(assoc: Association, sop_class: str, sop_instance_uid: str) -> None:
    """N-DELETE the instance."""
    msg = dimse.NDeleteRequest(
        requested_sop_class_uid=sop_class, requested_sop_instance_uid=sop_instance_uid
    )
    await n_request(assoc, msg, what="Machine Verification N-DELETE")


async def verify(
    assoc: Association,
    listener: VerificationListener,
    sop_class: str,
    attributes: Dataset,
    parameters: Dataset,
    *,
    timeout: float = 60.0,
    keep: bool = False,
) -> VerificationResult:
    """The whole flow on an association opened with ``handlers=listener.handlers()``:
    N-CREATE, N-SET, N-ACTION, wait for the N-EVENT-REPORT, then N-DELETE (unless
    ``keep``). Returns the result."""
    uid = await create(assoc, sop_class, attributes)
    await set_parameters(assoc, sop_class, uid, parameters)
    await request_verification(assoc, sop_class, uid)
    result = await listener.wait(uid, timeout)
    if not keep:
        await delete(assoc, sop_class, uid)
    return result


__all__ = [
    "EVENT_VERIFICATION_DONE",
    "MACHINE_VERIFICATION_CLASSES",
    "NOT_VERIFIED",
    "PARAMETER_SEQUENCE",
    "REQUEST_MACHINE_VERIFICATION",
    "RT_CONVENTIONAL_MACHINE_VERIFICATION",
    "RT_ION_MACHINE_VERIFICATION",
    "VERIFIED",
    "VERIFIED_OVR",
    "MachineVerificationSCP",
    "ParameterResult",
    "RangeVerifier",
    "VerificationListener",
    "VerificationResult",
    "Verifier",
    "create",
    "creation_attributes",
    "delete",
    "get_result",
    "request_verification",
    "set_parameters",
    "verify",
]
