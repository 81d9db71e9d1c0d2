"""Audit trail messages (PS3.15 A.5): who stored, queried, retrieved and deleted what.

Each event is an :class:`AuditMessage` in the DICOM Audit Message schema (PS3.15 A.5.1, an
extension of RFC 3881), with the event identifiers of PS3.16 CID 400-404 (codes of the
``DCM`` scheme). The builders below fill in what PS3.15 A.5.3 asks of each message:

====================================  =========  ===================================
builder                               EventID    when the archive node emits it
====================================  =========  ===================================
:func:`application_activity`          110100     the node starts / stops
:func:`begin_transferring`            110102     a C-MOVE / C-GET starts sending
:func:`instances_accessed`            110103     instances read, changed or deleted
:func:`instances_transferred`         110104     stored (C), retrieved (R) per study
:func:`study_deleted`                 110105     a study (or part of it) was deleted
:func:`query`                         110112     a C-FIND
:func:`security_alert`                110113     a refused association or operation
:func:`user_authentication`           110114     an association with a user identity
====================================  =========  ===================================

:meth:`AuditMessage.to_xml` writes the XML; :class:`~dicomkit.archive.AuditTrail`
(:mod:`._audit_trail`) sends messages to a file and to a syslog collector.
"""

from __future__ import annotations

import base64
import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# -- codes (PS3.16 CID 400-405, DCM scheme; PS3.15 A.5.1.2) --------------------------------


@dataclass(frozen=True, slots=True)
class Code:
    """A coded value: ``csd-code``, ``codeSystemName`` and ``originalText`` (the code meaning)."""

    value: str
    scheme: str
    meaning: str


def _dcm(value: str, meaning: str) -> Code:
    return Code(value, "DCM", meaning)


# Audit Event ID (CID 400)
APPLICATION_ACTIVITY = _dcm("110100", "Application Activity")
AUDIT_LOG_USED = _dcm("110101", "Audit Log Used")
BEGIN_TRANSFERRING = _dcm("110102", "Begin Transferring DICOM Instances")
INSTANCES_ACCESSED = _dcm("110103", "DICOM Instances Accessed")
INSTANCES_TRANSFERRED = _dcm("110104", "DICOM Instances Transferred")
STUDY_DELETED = _dcm("110105", "DICOM Study Deleted")
QUERY = _dcm("110112", "Query")
SECURITY_ALERT = _dcm("110113", "Security Alert")
USER_AUTHENTICATION = _dcm("110114", "User Authentication")
# Audit Event Type Code (CID 401, 403)
APPLICATION_START = _dcm("110120", "Application Start")
APPLICATION_STOP = _dcm("110121", "Application Stop")
LOGIN = _dcm("110122", "Login")
LOGOUT = _dcm("110123", "Logout")
NODE_AUTHENTICATION = _dcm("110126", "Node Authentication")
USE_OF_RESTRICTED_FUNCTION = _dcm("110132", "Use of Restricted Function")
# Audit Active Participant Role ID (CID 402)
APPLICATION = _dcm("110150", "Application")
APPLICATION_LAUNCHER = _dcm("110151", "Application Launcher")
DESTINATION = _dcm("110152", "Destination Role ID")
SOURCE = _dcm("110153", "Source Role ID")
# Audit Participant Object ID Type Code (CID 404; RFC 3881 values of A.5.1.2.4)
STUDY_INSTANCE_UID = _dcm("110180", "Study Instance UID")
SOP_CLASS_UID = _dcm("110181", "SOP Class UID")
NODE_ID = _dcm("110182", "Node ID")
PATIENT_NUMBER = Code("2", "RFC-3881", "Patient Number")

#: EventOutcomeIndicator (PS3.15 A.5.1): success, minor / serious / major failure
SUCCESS, MINOR_FAILURE, SERIOUS_FAILURE, MAJOR_FAILURE = 0, 4, 8, 12

# -- the message ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Participant:
    """An ActiveParticipant: a user or process (for DICOM: an AE title) and where it was.

    ``host`` is the NetworkAccessPointID (an IP address, or a machine name with
    ``host_is_name``); ``roles`` the RoleIDCodes (CID 402)."""

    user_id: str
    is_requestor: bool
    roles: tuple[Code, ...] = ()
    alternative_user_id: str | None = None
    user_name: str | None = None
    host: str | None = None
    host_is_name: bool = False


@dataclass(frozen=True, slots=True)
class ParticipantObject:
    """A ParticipantObjectIdentification: a patient, a study, a query, a node ...

    ``type_code`` 1 person, 2 system object; ``role`` e.g. 1 patient, 3 report, 24 query;
    ``life_cycle`` 1-15 (PS3.15 A.5.1.2.3). ``sop_classes`` ((UID, number of instances))
    and ``accessions`` go into the DICOM ParticipantObjectDescription; ``details`` are
    (type, value) pairs (values base64-encoded in the XML)."""

    object_id: str
    id_type: Code
    type_code: int | None = None
    role: int | None = None
    life_cycle: int | None = None
    name: str | None = None
    query: bytes | None = None
    details: tuple[tuple[str, bytes], ...] = ()
    sop_classes: tuple[tuple[str, int], ...] = ()
    accessions: tuple[str, ...] = ()
    #: (SOP class, SOP instance UID) pairs named in the description (``SOPClass/Instance``)
    instances: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class AuditSource:
    """AuditSourceIdentification: who reports (``source_id``, e.g. our AE title), where
    (``site_id``); type code 4, an application server process (PS3.15 A.5.1.2.1)."""

    source_id: str
    site_id: str | None = None
    type_code: str = "4"


@dataclass(frozen=True, slots=True)
class AuditMessage:
    """One audited event (PS3.15 A.5.1): write it with :meth:`to_xml`.

    ``action``: EventActionCode C / R / U / D / E (or None); ``outcome``: 0, 4, 8 or 12;
    ``time``: when it happened (default: now, UTC)."""

    event_id: Code
    action: str | None
    outcome: int
    participants: tuple[Participant, ...]
    objects: tuple[ParticipantObject, ...] = ()
    event_types: tuple[Code, ...] = ()
    description: str | None = None
    time: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def to_element(self, source: AuditSource) -> ET.Element:
        """The ``AuditMessage`` element, in the order the schema gives."""
        root = ET.Element("AuditMessage")
        event = ET.SubElement(root, "EventIdentification")
        if self.action is not None:
            event.set("EventActionCode", self.action)
        event.set("EventDateTime", _datetime(self.time))
        event.set("EventOutcomeIndicator", str(self.outcome))
        _code(event, "EventID", self.event_id)
        for code in self.event_types:
            _code(event, "EventTypeCode", code)
        if self.description:
            ET.SubElement(event, "EventOutcomeDescription").text = _one_line(self.description)
        for p in self.participants:
            el = ET.SubElement(root, "ActiveParticipant")
            el.set("UserID", p.user_id)
            if p.alternative_user_id:
                el.set("AlternativeUserID", p.alternative_user_id)
            if p.user_name:
                el.set("UserName", p.user_name)
            el.set("UserIsRequestor", "true" if p.is_requestor else "false")
            if p.host:
                el.set("NetworkAccessPointID", p.host)
                el.set("NetworkAccessPointTypeCode", "1" if p.host_is_name else "2")
            for role in p.roles:
                _code(el, "RoleIDCode", role)
        src = ET.SubElement(root, "AuditSourceIdentification")
        if source.site_id:
            src.set("AuditEnterpriseSiteID", source.site_id)
        src.set("AuditSourceID", source.source_id)
        ET.SubElement(src, "AuditSourceTypeCode").set("csd-code", source.type_code)
        for obj in self.objects:
            _object(root, obj)
        return root

    def to_xml(self, source: AuditSource) -> str:
        """The message as one line of XML (UTF-8 text, no declaration, no line breaks)."""
        return ET.tostring(self.to_element(source), encoding="unicode")


def _datetime(when: dt.datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    when = when.astimezone(dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _code(parent: ET.Element, name: str, code: Code) -> None:
    el = ET.SubElement(parent, name)
    el.set("csd-code", code.value)
    el.set("codeSystemName", code.scheme)
    el.set("originalText", code.meaning)


def _object(root: ET.Element, obj: ParticipantObject) -> None:
    el = ET.SubElement(root, "ParticipantObjectIdentification")
    el.set("ParticipantObjectID", obj.object_id)
    if obj.type_code is not None:
        el.set("ParticipantObjectTypeCode", str(obj.type_code))
    if obj.role is not None:
        el.set("ParticipantObjectTypeCodeRole", str(obj.role))
    if obj.life_cycle is not None:
        el.set("ParticipantObjectDataLifeCycle", str(obj.life_cycle))
    _code(el, "ParticipantObjectIDTypeCode", obj.id_type)
    if obj.query is not None:
        ET.SubElement(el, "ParticipantObjectQuery").text = base64.b64encode(obj.query).decode()
    else:  # the schema wants a name or a query
        ET.SubElement(el, "ParticipantObjectName").text = _one_line(obj.name or "") or "-"
    for kind, value in obj.details:
        detail = ET.SubElement(el, "ParticipantObjectDetail")
        detail.set("type", kind)
        detail.set("value", base64.b64encode(value).decode())
    if obj.sop_classes or obj.accessions:
        desc = ET.SubElement(el, "ParticipantObjectDescription")
        for number in obj.accessions:
            ET.SubElement(desc, "Accession").set("Number", number)
        for uid, count in obj.sop_classes:
            sop = ET.SubElement(desc, "SOPClass")
            for klass, instance in obj.instances:
                if klass == uid:
                    ET.SubElement(sop, "Instance").set("UID", instance)
            sop.set("UID", uid)
            sop.set("NumberOfInstances", str(count))


# -- what the builders take -------------------------------------------------------------------


@dataclass(slots=True)
class StudyRef:
    """A study in an audit message: its UID, its patient, its instances by SOP class."""

    study_uid: str
    patient_id: str = ""
    patient_name: str = ""
    sop_classes: dict[str, int] = field(default_factory=dict)
    accession: str = ""
    #: (SOP class, SOP instance UID) of instances named one by one (e.g. a failed store)
    instances: list[tuple[str, str]] = field(default_factory=list)


class Studies:
    """Instances gathered per study (and patient) for one message (e.g. one association's
    stores): :meth:`add` each, then pass ``studies.values()`` to a builder."""

    def __init__(self) -> None:
        self.by_uid: dict[str, StudyRef] = {}

    def add(
        self, study_uid: str, sop_class: str, *, patient_id: str = "", patient_name: str = ""
    ) -> None:
        """Count one instance of ``sop_class`` in ``study_uid``."""
        ref = self.by_uid.get(study_uid)
        if ref is None:
            ref = self.by_uid[study_uid] = StudyRef(study_uid, patient_id, patient_name)
        ref.sop_classes[sop_class] = ref.sop_classes.get(sop_class, 0) + 1

    def values(self) -> list[StudyRef]:
        """The studies, in the order first seen."""
        return list(self.by_uid.values())

    def __len__(self) -> int:
        return len(self.by_uid)


def _study_objects(studies: Iterable[StudyRef], life_cycle: int | None) -> list[ParticipantObject]:
    objects: list[ParticipantObject] = []
    patients: dict[str, str] = {}
    for study in studies:
        objects.append(
            ParticipantObject(
                study.study_uid,
                STUDY_INSTANCE_UID,
                type_code=2,
                role=3,
                life_cycle=life_cycle,
                sop_classes=tuple(sorted(study.sop_classes.items())),
                accessions=(study.accession,) if study.accession else (),
                instances=tuple(study.instances),
            )
        )
        patients.setdefault(study.patient_id, study.patient_name)
    for pid, name in patients.items():
        objects.append(
            ParticipantObject(pid or "-", PATIENT_NUMBER, type_code=1, role=1, name=name or None)
        )
    return objects


@dataclass(frozen=True, slots=True)
class Actor:
    """A DICOM application entity (or user) taking part in an event: AE title and address."""

    ae_title: str
    host: str | None = None
    user_name: str | None = None


def _participant(actor: Actor, requestor: bool, *roles: Code) -> Participant:
    return Participant(
        actor.ae_title or "-",
        requestor,
        roles=roles,
        user_name=actor.user_name,
        host=actor.host or None,
        host_is_name=bool(actor.host) and not _is_ip(actor.host or ""),
    )


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# -- builders (PS3.15 A.5.3) ----------------------------------------------------------------


def application_activity(
    application: Actor, *, started: bool, launcher: Actor | None = None, outcome: int = SUCCESS
) -> AuditMessage:
    """Application Activity (A.5.3.1): the node started or stopped."""
    parts = [_participant(application, False, APPLICATION)]
    if launcher is not None:
        parts.append(_participant(launcher, True, APPLICATION_LAUNCHER))
    return AuditMessage(
        APPLICATION_ACTIVITY,
        "E",
        outcome,
        tuple(parts),
        event_types=(APPLICATION_START if started else APPLICATION_STOP,),
    )


def begin_transferring(
    source: Actor,
    destination: Actor,
    studies: Sequence[StudyRef],
    *,
    requestor: Actor | None = None,
) -> AuditMessage:
    """Begin Transferring DICOM Instances (A.5.3.3): a retrieve starts sending ``studies``
    from ``source`` to ``destination`` (``requestor``: who asked, for a C-MOVE)."""
    parts = [_participant(source, False, SOURCE), _participant(destination, False, DESTINATION)]
    if requestor is not None:
        parts.append(_participant(requestor, True))
    return AuditMessage(
        BEGIN_TRANSFERRING, "E", SUCCESS, tuple(parts), tuple(_study_objects(studies, None))
    )


def instances_transferred(
    source: Actor,
    destination: Actor,
    studies: Sequence[StudyRef],
    *,
    action: str,
    requestor: Actor | None = None,
    outcome: int = SUCCESS,
    description: str | None = None,
) -> AuditMessage:
    """DICOM Instances Transferred (A.5.3.4): ``action`` C when they were stored new here, U
    when they replaced stored ones, R when they were read (sent by a retrieve)."""
    parts = [
        _participant(source, requestor is None and action != "R", SOURCE),
        _participant(destination, requestor is None and action == "R", DESTINATION),
    ]
    if requestor is not None:
        parts.append(_participant(requestor, True))
    life = 2 if action in ("C", "U") else 10  # import / export
    return AuditMessage(
        INSTANCES_TRANSFERRED,
        action,
        outcome,
        tuple(parts),
        tuple(_study_objects(studies, life)),
        description=description,
    )


def store_failed(
    sender: Actor,
    node: Actor,
    sop_class: str,
    sop_instance: str,
    *,
    study_uid: str = "",
    patient_id: str = "",
    patient_name: str = "",
    description: str | None = None,
) -> AuditMessage:
    """DICOM Instances Transferred (A.5.3.4), action C, outcome 4 (minor failure): a C-STORE
    of ``sop_instance`` from ``sender`` was refused or failed at ``node``; the study
    (``-`` when it was not known: refused before it was read) names the instance, and
    ``description`` says why (the status and its comment)."""
    ref = StudyRef(study_uid or "-", patient_id, patient_name, {sop_class: 1})
    ref.instances.append((sop_class, sop_instance))
    return instances_transferred(
        sender, node, [ref], action="C", outcome=MINOR_FAILURE, description=description
    )


def instances_accessed(
    who: Actor, studies: Sequence[StudyRef], *, action: str, outcome: int = SUCCESS
) -> AuditMessage:
    """DICOM Instances Accessed (A.5.3.2): ``who`` created (C), read (R), updated (U) or
    deleted (D) instances of ``studies`` without transferring them."""
    return AuditMessage(
        INSTANCES_ACCESSED,
        action,
        outcome,
        (_participant(who, True),),
        tuple(_study_objects(studies, 6 if action == "R" else None)),
    )


def study_deleted(
    who: Actor,
    studies: Sequence[StudyRef],
    *,
    outcome: int = SUCCESS,
    description: str | None = None,
) -> AuditMessage:
    """DICOM Study Deleted (A.5.3.5): ``who`` (a user, or the node itself for a retention
    rule) deleted ``studies`` (whole, or the instances counted in each)."""
    return AuditMessage(
        STUDY_DELETED,
        "D",
        outcome,
        (_participant(who, True),),
        tuple(_study_objects(studies, 14)),
        description=description,
    )


#: the name the issue uses for :func:`study_deleted`
instances_deleted = study_deleted


def query(
    requestor: Actor,
    responder: Actor,
    sop_class: str,
    identifier: bytes,
    transfer_syntax: str | None,
    *,
    outcome: int = SUCCESS,
    description: str | None = None,
) -> AuditMessage:
    """Query (A.5.3.12): a C-FIND of ``sop_class`` with ``identifier`` (the encoded data
    set, kept base64 in ParticipantObjectQuery) in ``transfer_syntax``; a QIDO-RS search
    passes its URL as ``identifier`` and no transfer syntax."""
    return AuditMessage(
        QUERY,
        "E",
        outcome,
        (_participant(requestor, True), _participant(responder, False)),
        (
            ParticipantObject(
                sop_class,
                SOP_CLASS_UID,
                type_code=2,
                role=3,
                query=identifier,
                details=(
                    (("TransferSyntax", transfer_syntax.encode("ascii", "replace")),)
                    if transfer_syntax is not None
                    else ()
                ),
            ),
        ),
        description=description,
    )


def security_alert(
    reporter: Actor,
    performer: Actor,
    alert: Code,
    *,
    subject: str,
    outcome: int = MINOR_FAILURE,
    description: str | None = None,
) -> AuditMessage:
    """Security Alert (A.5.3.13): ``performer`` did what ``alert`` names (e.g.
    :data:`NODE_AUTHENTICATION` for a refused association, :data:`USE_OF_RESTRICTED_FUNCTION`
    for an operation it may not perform); ``subject`` is the node or object concerned."""
    return AuditMessage(
        SECURITY_ALERT,
        "E",
        outcome,
        (_participant(reporter, False), _participant(performer, True)),
        (
            ParticipantObject(
                subject or "-",
                NODE_ID,
                type_code=2,
                role=13,
                details=(("Alert Description", (description or "").encode("utf-8")),)
                if description
                else (),
            ),
        ),
        event_types=(alert,),
        description=description,
    )


def user_authentication(
    user: Actor, node: Actor, *, login: bool = True, outcome: int = SUCCESS
) -> AuditMessage:
    """User Authentication (A.5.3.14): ``user`` (with the user name its association sent)
    logged in to (or out of) ``node``; a refused identity is ``outcome`` 4."""
    return AuditMessage(
        USER_AUTHENTICATION,
        "E",
        outcome,
        (_participant(user, True), _participant(node, False)),
        event_types=(LOGIN if login else LOGOUT,),
    )


def outcome_of_status(status: int) -> int:
    """EventOutcomeIndicator for a final DIMSE status: 0 for success, 4 otherwise."""
    return SUCCESS if status == 0 else MINOR_FAILURE


__all__ = [
    "APPLICATION_ACTIVITY",
    "BEGIN_TRANSFERRING",
    "INSTANCES_ACCESSED",
    "INSTANCES_TRANSFERRED",
    "NODE_AUTHENTICATION",
    "QUERY",
    "SECURITY_ALERT",
    "STUDY_DELETED",
    "USER_AUTHENTICATION",
    "USE_OF_RESTRICTED_FUNCTION",
    "Actor",
    "AuditMessage",
    "AuditSource",
    "Code",
    "Participant",
    "ParticipantObject",
    "Studies",
    "StudyRef",
    "application_activity",
    "begin_transferring",
    "instances_accessed",
    "instances_deleted",
    "instances_transferred",
    "query",
    "security_alert",
    "store_failed",
    "study_deleted",
    "user_authentication",
]
