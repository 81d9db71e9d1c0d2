"""Query/Retrieve service class, SCU side and shared pieces (PS3.4 C).

The SOP classes of the Patient Root and Study Root information models, conversion between the
archive's matching results and Datasets, and the SCU operations over an established
:class:`~dicomkit.net._association.Association`:

- :func:`find` -- C-FIND, yielding each pending response identifier; ``limit`` sends a
  C-CANCEL once enough matches arrived (PS3.7 9.3.2.3);
- :func:`move` -- C-MOVE to a destination AE title, returning the sub-operation counts;
- :func:`get` -- C-GET; the C-STORE sub-operations arrive on the same association and are
  handled by the association's storage handler (see :mod:`dicomkit.services._qr_scp` for the
  SCP side and ``dicomkit get`` for a complete SCU).
"""

from __future__ import annotations

import mmap
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence
from dicomkit.core._vr import BINARY_VRS, STRING_VRS, padding_for
from dicomkit.dictionary import status_codes, tags, uids
from dicomkit.errors import DimseError, InvalidValueError
from dicomkit.net import check_response
from dicomkit.net.proto import _dimse as dimse


class Model(StrEnum):
    """Query/Retrieve information models (PS3.4 C.6.1 - C.6.4).

    Composite Instance Root is retrieve-only (C-MOVE, C-GET), with the Study Root's STUDY /
    SERIES / IMAGE hierarchy; Composite Instance Retrieve Without Bulk Data is C-GET only and
    sends the instances without their bulk data (:data:`BULK_DATA_TAGS`)."""

    PATIENT_ROOT = "PATIENT"
    STUDY_ROOT = "STUDY"
    COMPOSITE_INSTANCE_ROOT = "COMPOSITE_INSTANCE"
    WITHOUT_BULK_DATA = "WITHOUT_BULK_DATA"
    # the models of non-patient objects (PS3.4 U, X, HH, GG, ...): one level, the instance
    HANGING_PROTOCOL = "HANGING_PROTOCOL"
    COLOR_PALETTE = "COLOR_PALETTE"
    DEFINED_PROCEDURE_PROTOCOL = "DEFINED_PROCEDURE_PROTOCOL"
    PROTOCOL_APPROVAL = "PROTOCOL_APPROVAL"
    GENERIC_IMPLANT_TEMPLATE = "GENERIC_IMPLANT_TEMPLATE"
    IMPLANT_ASSEMBLY_TEMPLATE = "IMPLANT_ASSEMBLY_TEMPLATE"
    IMPLANT_TEMPLATE_GROUP = "IMPLANT_TEMPLATE_GROUP"


FIND = {
    Model.PATIENT_ROOT: uids.PatientRootQueryRetrieveInformationModelFind,
    Model.STUDY_ROOT: uids.StudyRootQueryRetrieveInformationModelFind,
}
MOVE = {
    Model.PATIENT_ROOT: uids.PatientRootQueryRetrieveInformationModelMove,
    Model.STUDY_ROOT: uids.StudyRootQueryRetrieveInformationModelMove,
    Model.COMPOSITE_INSTANCE_ROOT: uids.CompositeInstanceRootRetrieveMove,
}
GET = {
    Model.PATIENT_ROOT: uids.PatientRootQueryRetrieveInformationModelGet,
    Model.STUDY_ROOT: uids.StudyRootQueryRetrieveInformationModelGet,
    Model.COMPOSITE_INSTANCE_ROOT: uids.CompositeInstanceRootRetrieveGet,
    Model.WITHOUT_BULK_DATA: uids.CompositeInstanceRetrieveWithoutBulkDataGet,
}
#: The non-patient models: (FIND, MOVE, GET) SOP classes and the storage SOP classes whose
#: instances they hold.
NON_PATIENT: dict[Model, tuple[tuple[str, str, str], tuple[str, ...]]] = {
    Model.HANGING_PROTOCOL: (
        (
            uids.HangingProtocolInformationModelFind,
            uids.HangingProtocolInformationModelMove,
            uids.HangingProtocolInformationModelGet,
        ),
        (uids.HangingProtocolStorage,),
    ),
    Model.COLOR_PALETTE: (
        (
            uids.ColorPaletteQueryRetrieveInformationModelFind,
            uids.ColorPaletteQueryRetrieveInformationModelMove,
            uids.ColorPaletteQueryRetrieveInformationModelGet,
        ),
        (uids.ColorPaletteStorage,),
    ),
    Model.DEFINED_PROCEDURE_PROTOCOL: (
        (
            uids.DefinedProcedureProtocolInformationModelFind,
            uids.DefinedProcedureProtocolInformationModelMove,
            uids.DefinedProcedureProtocolInformationModelGet,
        ),
        (uids.CTDefinedProcedureProtocolStorage, uids.XADefinedProcedureProtocolStorage),
    ),
    Model.PROTOCOL_APPROVAL: (
        (
            uids.ProtocolApprovalInformationModelFind,
            uids.ProtocolApprovalInformationModelMove,
            uids.ProtocolApprovalInformationModelGet,
        ),
        (uids.ProtocolApprovalStorage,),
    ),
    Model.GENERIC_IMPLANT_TEMPLATE: (
        (
            uids.GenericImplantTemplateInformationModelFind,
            uids.GenericImplantTemplateInformationModelMove,
            uids.GenericImplantTemplateInformationModelGet,
        ),
        (uids.GenericImplantTemplateStorage,),
    ),
    Model.IMPLANT_ASSEMBLY_TEMPLATE: (
        (
            uids.ImplantAssemblyTemplateInformationModelFind,
            uids.ImplantAssemblyTemplateInformationModelMove,
            uids.ImplantAssemblyTemplateInformationModelGet,
        ),
        (uids.ImplantAssemblyTemplateStorage,),
    ),
    Model.IMPLANT_TEMPLATE_GROUP: (
        (
            uids.ImplantTemplateGroupInformationModelFind,
            uids.ImplantTemplateGroupInformationModelMove,
            uids.ImplantTemplateGroupInformationModelGet,
        ),
        (uids.ImplantTemplateGroupStorage,),
    ),
}
for _model, ((_find, _move, _get), _classes) in NON_PATIENT.items():
    FIND[_model], MOVE[_model], GET[_model] = _find, _move, _get
#: storage SOP class -> the non-patient model its instances belong to
NON_PATIENT_MODEL_OF: dict[str, Model] = {
    sop: model for model, (_sops, classes) in NON_PATIENT.items() for sop in classes
}

MODEL_OF: dict[str, Model] = {
    uid: model for table in (FIND, MOVE, GET) for model, uid in table.items()
}
QR_SOP_CLASSES: tuple[str, ...] = (*FIND.values(), *MOVE.values(), *GET.values())

#: Attributes a Composite Instance Retrieve Without Bulk Data leaves out (PS3.4 C.6.4), at any
#: depth; the repeating groups (60xx overlays, 50xx curves) are matched on their element.
BULK_DATA_TAGS = frozenset(
    {
        tags.PixelData,
        tags.FloatPixelData,
        tags.DoubleFloatPixelData,
        tags.SpectroscopyData,
        tags.EncapsulatedDocument,
        tags.WaveformData,
    }
)
_REPEATING_BULK = ((0x6000, 0x3000), (0x5000, 0x3000), (0x5000, 0x200C))  # overlay, curve, audio


def is_bulk_data(tag: int) -> bool:
    """Whether ``tag`` is bulk data a Without Bulk Data retrieve leaves out (PS3.4 C.6.4)."""
    if tag in BULK_DATA_TAGS:
        return True
    group, elem = tag >> 16, tag & 0xFFFF
    return any((group & 0xFF01) == g and elem == e for g, e in _REPEATING_BULK)


def strip_bulk_data(ds: Dataset) -> int:
    """Remove the bulk data attributes from ``ds`` and its sequence items, in place; the number
    removed."""
    removed = 0
    for tag in list(ds.keys()):
        if is_bulk_data(tag):
            del ds[tag]
            removed += 1
            continue
        value = ds[tag].value
        if isinstance(value, Sequence):
            for item in value:
                removed += strip_bulk_data(item)
    return removed


def sop_class_for(table: dict[Model, str], model: Model, verb: str) -> str:
    """The SOP class of ``model`` for ``verb`` (``"C-FIND"``, ``"C-MOVE"``, ``"C-GET"``) from
    :data:`FIND`, :data:`MOVE` or :data:`GET`; a model without that operation is an
    :class:`~dicomkit.errors.InvalidValueError` naming the ones that have it."""
    try:
        return table[model]
    except KeyError:
        have = ", ".join(m.name for m in table)
        raise InvalidValueError(
            f"the {model.name} information model has no {verb} (PS3.4 C.6); use one of: {have}"
        ) from None


FAILED_SOP_INSTANCE_UID_LIST = 0x00080058

# statuses used here (PS3.4 C.4.1.1.4, C.4.2.1.5, C.4.3.1.4)


def elements_to_dataset(elements: Iterable[tuple[int, str, str, Any]]) -> Dataset:
    """A response identifier from ``(tag, keyword, VR, value)`` tuples; sequence values are
    lists of ``{keyword: value}`` items.

    Text values (str, or a list of str for several values) become encoded element values
    directly, as a decoder would have left them: explicit VR little endian, padded to even
    length, ASCII -- or UTF-8 when the elements carry Specific Character Set ``ISO_IR 192``.
    The encoder writes such values as they are, so an identifier with a few hundred matches
    costs little to build and send. Other values go through :meth:`Dataset.set`."""
    elements = list(elements)
    utf8 = any(
        tag == tags.SpecificCharacterSet and value == "ISO_IR 192"
        for tag, _k, _v, value in elements
    )
    d: dict[int, Any] = {}
    slow: list[tuple[int, str, Any]] = []
    for tag, _kw, vr, value in elements:
        raw = _text_raw(vr, value, utf8) if vr in STRING_VRS else None
        if raw is None:
            slow.append((tag, vr, value))
        else:
            d[tag] = (vr, raw)
    ds = Dataset.from_raw(d, True, False)
    for tag, vr, value in slow:
        if vr == "SQ":
            seq = Sequence()
            for item in value or []:
                it = Dataset()
                for kw, v in item.items():
                    it.set(kw, v)
                seq.append(it)
            ds.set(tag, seq, vr="SQ")
        else:
            ds.set(tag, _typed(vr, value), vr=vr)
    return ds


def _text_raw(vr: str, value: Any, utf8: bool) -> bytes | None:
    """The padded value bytes of a text element, or ``None`` for values that need the full
    encoder (non-text types, or non-ASCII text without UTF-8 declared)."""
    if type(value) is str:
        text = value
    elif type(value) is list and all(type(v) is str for v in value):
        text = "\\".join(value)
    else:
        return None
    if text.isascii():
        data = text.encode("ascii")
    elif utf8:
        data = text.encode("utf-8")
    else:
        return None
    if len(data) & 1:
        data += padding_for(vr)
    return data


_INTS = frozenset({"US", "SS", "UL", "SL", "SV", "UV"})
_FLOATS = frozenset({"FL", "FD"})
_BYTES = BINARY_VRS


def _typed(vr: str, value: Any) -> Any:
    """Text from the index as the Python value the VR takes (binary numbers, bytes)."""
    if vr in _INTS or vr in _FLOATS:
        cast = int if vr in _INTS else float
        items = value if isinstance(value, list) else ([value] if value not in ("", None) else [])
        nums = [cast(v) for v in items if str(v).strip()]
        return None if not nums else nums[0] if len(nums) == 1 else nums
    if vr in _BYTES:
        return value if isinstance(value, bytes) else b""
    if vr == "AT" and not value:
        return None
    return value


def identifier(level: str, keys: dict[str, Any] | None = None) -> Dataset:
    """A request identifier: ``QueryRetrieveLevel`` plus ``{keyword: value}`` keys."""
    ds = Dataset()
    ds.validation = "off"  # wildcards, ranges and empty return keys are not stored values
    ds.QueryRetrieveLevel = level
    for kw, value in (keys or {}).items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            seq = Sequence()
            for item in value:
                it = Dataset()
                for k, v in item.items():
                    it.set(k, v)
                seq.append(it)
            ds.set(kw, seq)
        else:
            from dicomkit.dictionary import tag_for_keyword, vr_for_tag

            tag = tag_for_keyword(kw)
            vr = vr_for_tag(tag) if tag is not None else "UN"
            ds.set(kw, _typed(vr, value) if vr in _INTS | _FLOATS | _BYTES else value)
    return ds


# -- sub-operation payloads ---------------------------------------------------------------


def dataset_offset(path: str | Path) -> tuple[str, int]:
    """The transfer syntax of a Part 10 file and the offset of its data set."""
    from dicomkit.io._part10 import read_file_meta

    with open(path, "rb") as fp, mmap.mmap(fp.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        meta, offset = read_file_meta(mm)
        ts = str(meta.get("TransferSyntaxUID", "") or "")
        del meta
    return ts, offset


def file_chunks(path: str | Path, offset: int, size: int = 1 << 20) -> Iterator[bytes]:
    """The data set bytes of a Part 10 file, read in chunks (never loaded whole)."""
    with open(path, "rb") as fp:
        fp.seek(offset)
        while chunk := fp.read(size):
            yield chunk


# -- SCU ------------------------------------------------------------------------------------


async def find(
    assoc: Any,
    query: Dataset,
    model: Model = Model.STUDY_ROOT,
    *,
    limit: int | None = None,
    priority: int = 0,
) -> AsyncIterator[Dataset]:
    """C-FIND: yield each match. Raises :class:`DimseError` on a failure status."""
    sop_class = sop_class_for(FIND, model, "C-FIND")
    ctx = assoc.context_for(sop_class)
    msg = dimse.CFindRequest(
        message_id=assoc.next_message_id(), affected_sop_class_uid=sop_class, priority=priority
    )
    count = 0
    cancelled = False
    async for rsp in assoc.request_iter(msg, query, context=ctx):
        status = rsp.status
        if status in (status_codes.Pending, status_codes.PendingWarning):
            if rsp.dataset is not None and not cancelled:
                count += 1
                yield rsp.dataset
            if limit is not None and count >= limit and not cancelled:
                cancelled = True
                await assoc.send_message(
                    ctx, dimse.CCancelRequest(message_id_being_responded_to=msg.message_id)
                )
            continue
        if status not in (status_codes.Success, status_codes.Cancel):
            raise DimseError.from_status(
                status, "find", what="C-FIND", error_comment=rsp.message.error_comment or ""
            )


@dataclass(slots=True)
class RetrieveResult:
    """The outcome of a C-MOVE or C-GET as the SCU sees it."""

    status: int = status_codes.Success
    completed: int = 0
    failed: int = 0
    warning: int = 0
    failed_uids: list[str] = field(default_factory=list)
    responses: int = 0
    #: the final response's Error Comment (0000,0902): the SCP's reason, in its words
    error_comment: str = ""

    @property
    def ok(self) -> bool:
        """True when the final status was Success (0000): every sub-operation completed."""
        return self.status == status_codes.Success


async def _retrieve(
    assoc: Any, msg: Any, query: Dataset, cancel_after: int | None
) -> RetrieveResult:
    ctx = assoc.context_for(msg.affected_sop_class_uid)
    out = RetrieveResult()
    cancelled = False
    async for rsp in assoc.request_iter(msg, query, context=ctx, timeout=None):
        m = rsp.message
        out.responses += 1
        if m.completed is not None:
            out.completed = m.completed
        if m.failed is not None:
            out.failed = m.failed
        if m.warning is not None:
            out.warning = m.warning
        if m.is_pending:
            if cancel_after is not None and out.completed >= cancel_after and not cancelled:
                cancelled = True
                await assoc.send_message(
                    ctx, dimse.CCancelRequest(message_id_being_responded_to=msg.message_id)
                )
            continue
        out.status = m.status
        out.error_comment = m.error_comment or ""
        ds = rsp.dataset
        if ds is not None and FAILED_SOP_INSTANCE_UID_LIST in ds:
            value = ds[FAILED_SOP_INSTANCE_UID_LIST].value
            out.failed_uids = [str(v) for v in (value if isinstance(value, list) else [value]) if v]
        # the client contract of dicomkit.net: a failure status raises the typed error
        verb = "C-MOVE" if isinstance(msg, dimse.CMoveRequest) else "C-GET"
        check_response(rsp, f"{verb} ({out.completed} completed, {out.failed} failed)")
    return out


async def move(
    assoc: Any,
    query: Dataset,
    destination: str,
    model: Model = Model.STUDY_ROOT,
    *,
    priority: int = 0,
    cancel_after: int | None = None,
) -> RetrieveResult:
    """C-MOVE the matches of ``query`` to the AE titled ``destination``: the result of a
    successful or warning final status (sub-operation counts, failed UIDs); a failure status
    (A801 unknown destination, A7xx, Cxxx ...) raises :class:`DimseError`."""
    msg = dimse.CMoveRequest(
        message_id=assoc.next_message_id(),
        affected_sop_class_uid=sop_class_for(MOVE, model, "C-MOVE"),
        move_destination=destination,
        priority=priority,
    )
    return await _retrieve(assoc, msg, query, cancel_after)


async def get(
    assoc: Any,
    query: Dataset,
    model: Model = Model.STUDY_ROOT,
    *,
    priority: int = 0,
    cancel_after: int | None = None,
) -> RetrieveResult:
    """C-GET the matches of ``query``; the association must accept the storage SOP classes
    with the SCP role for us (role selection) and have a C-STORE handler. A failure status
    raises :class:`DimseError`; success and warning give the result."""
    msg = dimse.CGetRequest(
        message_id=assoc.next_message_id(),
        affected_sop_class_uid=sop_class_for(GET, model, "C-GET"),
        priority=priority,
    )
    return await _retrieve(assoc, msg, query, cancel_after)
