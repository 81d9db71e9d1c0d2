"""More PS3.4 service classes ``dicomkit serve`` hosts when its config turns them on (each is
off by default)::

    [event_log]               # Procedural Event Logging (PS3.4 P)
    enabled = true
    folder = "event-log"      # records + index (default ARCHIVE/event-log)
    known_studies_only = false  # true: refuse (0xC101) events of studies the archive lacks

    [relevant_patient]        # Relevant Patient Information Query (PS3.4 Q): from the
    enabled = true            # archive's patients and its SR documents

    [substance]               # Substance Administration Query (PS3.4 V)
    enabled = true
    path = "catalogue.json"   # the products and approvals (JSON list or DICOM file)

    [display]                 # Display System Management (PS3.4 EE)
    enabled = true
    path = "display.json"     # the display system's description (re-read on each N-GET)

    [media_creation]          # Media Creation Management (PS3.4 S): File-set + ISO image of
    enabled = true            # archived instances, in ARCHIVE/media/<request UID>/; the
    folder = "media"          # requests kept in media/requests/ (they survive a restart)
    profiles = ["STD-GEN-CD"]

    [rt_verification]         # RT Machine Verification (PS3.4 DD), conventional and ion:
    enabled = true            # each parameter set is checked against its tolerance range
    required = ["SpecifiedPrimaryMeterset"]   # absent -> NOT_VERIFIED
    overrides = []            # out of range but overridable -> VERIFIED_OVR
    [rt_verification.tolerances]
    SpecifiedPrimaryMeterset = [0, 500]       # keyword = [low, high]

Media creation needs the media layer (above the archive): ``dicomkit serve`` installs it
with :func:`install_media_creation`, giving it :func:`dicomkit.media.build_media`.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dicomkit.core._dataset import Dataset
from dicomkit.net.proto import _dimse as dimse

if TYPE_CHECKING:
    from dicomkit.archive._app import ArchiveNode
    from dicomkit.services._media_creation import MediaBuilder, MediaCreationSCP


@dataclass(frozen=True, slots=True)
class EventLogSettings:
    """``[event_log]`` of the node's config file."""

    enabled: bool = False
    folder: str = ""
    known_studies_only: bool = False


@dataclass(frozen=True, slots=True)
class RelevantPatientSettings:
    """``[relevant_patient]`` of the node's config file."""

    enabled: bool = False


@dataclass(frozen=True, slots=True)
class SubstanceSettings:
    """``[substance]`` of the node's config file."""

    enabled: bool = False
    path: str = ""


@dataclass(frozen=True, slots=True)
class DisplaySettings:
    """``[display]`` of the node's config file."""

    enabled: bool = False
    path: str = ""


@dataclass(frozen=True, slots=True)
class MediaCreationSettings:
    """``[media_creation]`` of the node's config file."""

    enabled: bool = False
    folder: str = ""
    profiles: tuple[str, ...] = ("STD-GEN-CD",)


@dataclass(frozen=True, slots=True)
class RTVerificationSettings:
    """``[rt_verification]`` of the node's config file: the ranges of
    :class:`~dicomkit.services.RangeVerifier`."""

    enabled: bool = False
    tolerances: dict[str, tuple[float, float]] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    overrides: tuple[str, ...] = ()


def check_rt_verification(value: Any) -> dict[str, Any]:
    """``[rt_verification]`` checked: raises ConfigError naming the key and what it takes."""
    from dicomkit.archive._config import ConfigError
    from dicomkit.dictionary import tags

    out: dict[str, Any] = {}
    for key, v in value.items():
        if key == "enabled":
            if not isinstance(v, bool):
                raise ConfigError(f"[rt_verification] enabled = {v!r}: use true or false")
            out[key] = v
        elif key == "tolerances":
            if not isinstance(v, dict):
                raise ConfigError(
                    "[rt_verification] tolerances: a table of KEYWORD = [low, high], "
                    "e.g. SpecifiedPrimaryMeterset = [0, 500]"
                )
            ranges: dict[str, tuple[float, float]] = {}
            for kw, pair in v.items():
                if not hasattr(tags, kw):
                    raise ConfigError(f"[rt_verification] tolerances: {kw!r} is not a keyword")
                if (
                    not isinstance(pair, list)
                    or len(pair) != 2
                    or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in pair)
                    or pair[0] > pair[1]
                ):
                    raise ConfigError(
                        f"[rt_verification] tolerances {kw} = {pair!r}: give [low, high], "
                        "two numbers, low <= high"
                    )
                ranges[kw] = (float(pair[0]), float(pair[1]))
            out[key] = ranges
        elif key in ("required", "overrides"):
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise ConfigError(f"[rt_verification] {key} = {v!r}: a list of keywords")
            for kw in v:
                if not hasattr(tags, kw):
                    raise ConfigError(f"[rt_verification] {key}: {kw!r} is not a keyword")
            out[key] = tuple(v)
        else:
            raise ConfigError(
                f"[rt_verification]: unknown key {key!r}; "
                "known: enabled, overrides, required, tolerances"
            )
    return out


SETTINGS: dict[str, Any] = {
    "event_log": EventLogSettings,
    "relevant_patient": RelevantPatientSettings,
    "substance": SubstanceSettings,
    "display": DisplaySettings,
    "media_creation": MediaCreationSettings,
    "rt_verification": RTVerificationSettings,
}
TITLES = {
    "event_log": "Procedural Event Logging",
    "relevant_patient": "Relevant Patient Information",
    "substance": "Substance Administration Query",
    "display": "Display System",
    "media_creation": "Media Creation",
    "rt_verification": "RT Machine Verification",
}


def _settings(node: ArchiveNode, name: str) -> Any:
    return SETTINGS[name](**dict(node.config.services.get(name, {})))


def _needs_path(name: str, value: str) -> str:
    from dicomkit.archive._config import ConfigError

    if not value:
        raise ConfigError(f'[{name}] is enabled: give its file, path = "..."')
    return value


class ArchivePatientRecords:
    """The archive as :class:`~dicomkit.services.PatientRecords`: patients from the index,
    reports from the SR documents stored for them."""

    def __init__(self, node: ArchiveNode) -> None:
        self.node = node

    def patients(self, query: Dataset) -> list[Dataset]:
        """Patient-level matches of the query's patient keys (PS3.4 C.6.1 Patient Root)."""
        from dicomkit.services._query_retrieve import Model, identifier

        keys: dict[str, Any] = {
            "PatientID": "",
            "PatientName": "",
            "PatientBirthDate": "",
            "PatientSex": "",
        }
        for el in query.elements():
            if el.tag >> 16 == 0x0010 and el.keyword in keys and el.value not in (None, ""):
                keys[el.keyword] = el.value
        out = []
        for result in self.node.archive.find(identifier("PATIENT", keys), Model.PATIENT_ROOT):
            ds = Dataset()
            for kw, value in result.as_dict().items():
                if kw in keys and value is not None:
                    ds.set(kw, value)
            out.append(ds)
        return out

    def reports(self, patient_id: str) -> list[Dataset]:
        """The stored SR documents of the patient."""
        import dicomkit
        from dicomkit.services._query_retrieve import Model, identifier
        from dicomkit.sr import SR_SOP_CLASSES

        archive = self.node.archive
        found = archive.retrieve(
            identifier("PATIENT", {"PatientID": patient_id}), Model.PATIENT_ROOT
        )
        return [
            dicomkit.read(archive.path_of(i)) for i in found if i.sop_class_uid in SR_SOP_CLASSES
        ]


def install(node: ArchiveNode) -> dict[str, Any]:
    """Install the enabled services of this module (all but media creation) on ``node``;
    returns them by section name."""
    from dicomkit import services

    out: dict[str, Any] = {}
    root = Path(node.archive.root)
    cfg = _settings(node, "event_log")
    if cfg.enabled:
        store = services.EventLogFolder(cfg.folder or root / "event-log")

        def known(uid: str) -> bool:
            from dicomkit.services._query_retrieve import Model, identifier

            q = identifier("STUDY", {"StudyInstanceUID": uid})
            return any(True for _ in node.archive.find(q, Model.STUDY_ROOT))

        scp = services.ProceduralEventLogSCP(
            store, known_study=known if cfg.known_studies_only else None
        )
        node.add_handler(
            dimse.NActionRequest, scp.action, sop_classes=[services.PROCEDURAL_EVENT_LOGGING]
        )
        out["event_log"] = store
    if _settings(node, "relevant_patient").enabled:
        rp = services.RelevantPatientSCP(ArchivePatientRecords(node))
        node.add_handler(dimse.CFindRequest, rp, sop_classes=services.RELEVANT_PATIENT_CLASSES)
        out["relevant_patient"] = rp
    cfg = _settings(node, "substance")
    if cfg.enabled:
        catalogue = services.SubstanceCatalogue.from_file(_needs_path("substance", cfg.path))
        sq = services.SubstanceQuerySCP(catalogue)
        node.add_handler(dimse.CFindRequest, sq, sop_classes=services.SUBSTANCE_QUERY_CLASSES)
        out["substance"] = sq
    cfg = _settings(node, "display")
    if cfg.enabled:
        display = services.DisplaySystemSCP.from_file(_needs_path("display", cfg.path))
        node.add_handler(dimse.NGetRequest, display.get, sop_classes=[services.DISPLAY_SYSTEM])
        out["display"] = display
    cfg = _settings(node, "rt_verification")
    if cfg.enabled:
        verifier = services.RangeVerifier(
            dict(cfg.tolerances), required=cfg.required, overrides=cfg.overrides
        )
        rt = services.MachineVerificationSCP(verifier)
        for kind, handler in rt.handlers().items():
            node.add_handler(kind, handler, sop_classes=services.MACHINE_VERIFICATION_CLASSES)
        out["rt_verification"] = rt
    return out


def install_media_creation(node: ArchiveNode, builder: MediaBuilder) -> MediaCreationSCP | None:
    """Install Media Creation Management over the archive's instances when ``[media_creation]``
    is enabled; ``builder`` makes the media (:func:`dicomkit.media.build_media`)."""
    from dicomkit import services

    cfg = _settings(node, "media_creation")
    if not cfg.enabled:
        return None
    archive = node.archive

    def locate(sop_instance_uid: str) -> Path | None:
        inst = archive.index.lookup(sop_instance_uid)
        return archive.path_of(inst) if inst is not None else None

    output = Path(cfg.folder or Path(archive.root) / "media")
    scp = services.MediaCreationSCP(
        locate,
        builder,
        output,
        profiles=cfg.profiles or ("STD-GEN-CD",),
        journal=output / "requests",
    )
    for kind, handler in scp.handlers().items():
        node.add_handler(kind, handler, sop_classes=[services.MEDIA_CREATION_MANAGEMENT])
    node.services.append(_ResumeMedia(scp))
    return scp


class _ResumeMedia:
    """A node service building, once the node listens, the media requests a restart
    interrupted (kept in ``MEDIA/requests/``)."""

    def __init__(self, scp: MediaCreationSCP) -> None:
        self.scp = scp
        self.task: asyncio.Task[int] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.scp.resume())

    async def stop(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


__all__ = [
    "SETTINGS",
    "TITLES",
    "ArchivePatientRecords",
    "DisplaySettings",
    "EventLogSettings",
    "MediaCreationSettings",
    "RTVerificationSettings",
    "RelevantPatientSettings",
    "SubstanceSettings",
    "check_rt_verification",
    "install",
    "install_media_creation",
]
