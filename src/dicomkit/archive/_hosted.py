"""The services the archive node hosts besides Storage, Q/R and Verification.

Each has a section of the config file, on by default (``enabled = false`` turns it off;
``[print]`` is off until ``enabled = true``)::

    [commitment]              # Storage Commitment Push (PS3.4 J), see archive.commitments
    enabled = true
    retry_initial = 2         # seconds before the first retry of an undelivered report
    retry_max = 300           # longest wait between retries
    give_up_after = 604800    # pending transactions older than this are dropped

    [worklist]                # Modality Worklist (PS3.4 K), see archive.worklist_items
    enabled = true
    folder = "worklist"       # also answer from the .wl files here (wlmscpfs style)

    [mpps]                    # Modality Performed Procedure Step (PS3.4 F), archive.mpps_store
    enabled = true
    forward = ["RIS"]         # pass accepted N-CREATE / N-SET on to these [peers]

    [ups]                     # Unified Procedure Step (PS3.4 CC), archive.ups_store
    enabled = true            # event reports go to subscribers listed in [peers]

    [ian]                     # Instance Availability Notification (PS3.4 R), archive._ian
    enabled = true            # accept notifications (kept in the index)
    subscribers = ["RIS"]     # announce stable studies to these [peers]; none: send nothing
    stable_after = 60         # seconds without a new instance in the study

    [[routing.rules]]         # forward arriving instances (archive._routing); no rule: off
    to = ["PACS"]
    modality = ["CT"]
    [iocm]                    # IOCM rejection notes (KOS titled from CID 7011), archive._iocm
    enabled = true
    action = "hide"           # 113001 / 113037 / 113038: hide | delete
    expired_action = "delete" # 113039 Data Retention Policy Expired

    [retention]               # retention rules, archive._retention (off by default)
    enabled = false
    max_age_days = 0          # delete studies older than this (0: no age rule)
    age_by = "received"       # or "study_date"
    max_bytes = 0             # keep the stored files under this (0: no quota)
    interval = 3600           # seconds between runs

    [print]                   # Print Management (PS3.4 H), archive._printing; OFF by default
    enabled = true
    folder = "prints"         # films as PNG, one PDF per film session

Reports that cannot go on the requesting association go on a new one to the requestor's AE
title, whose address comes from ``[peers.AET]``.

:class:`HostedServices` installs the enabled ones on an :class:`~dicomkit.archive._app.ArchiveNode`
through :meth:`~dicomkit.archive._app.ArchiveNode.add_handler`, the way a user adds a handler of
their own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dicomkit.net.proto import _dimse as dimse

if TYPE_CHECKING:
    from dicomkit.archive._app import ArchiveNode
    from dicomkit.archive._commitments import NodeCommitmentSCP
    from dicomkit.archive._ian import NodeIAN
    from dicomkit.archive._mpps_forward import MPPSForwarder
    from dicomkit.archive._mpps_store import IndexedMPPS
    from dicomkit.archive._retention import RetentionTask
    from dicomkit.archive._routing import Router
    from dicomkit.archive._ups_store import NodeUPSSCP
    from dicomkit.archive._worklist_items import WorklistItems
    from dicomkit.services import PrintSCP

#: off by default: archive._ps34_hosted (PS3.4 P, Q, V, EE, S, DD)
MORE_SECTIONS = (
    "event_log",
    "relevant_patient",
    "substance",
    "display",
    "media_creation",
    "rt_verification",
)
SECTIONS = (
    "commitment",
    "worklist",
    "mpps",
    "ups",
    "ian",
    "routing",
    "print",
    *MORE_SECTIONS,
    "iocm",
    "retention",
)


def _settings_type(name: str) -> Any:
    if name == "commitment":
        from dicomkit.archive._commitments import CommitmentSettings

        return CommitmentSettings
    if name == "worklist":
        from dicomkit.archive._worklist_items import WorklistSettings

        return WorklistSettings
    if name == "mpps":
        from dicomkit.archive._mpps_store import MPPSSettings

        return MPPSSettings
    if name == "ups":
        from dicomkit.archive._ups_store import UPSSettings

        return UPSSettings
    if name == "ian":
        from dicomkit.archive._ian import IANSettings

        return IANSettings
    if name == "routing":
        from dicomkit.archive._routing import RoutingSettings

        return RoutingSettings
    if name in MORE_SECTIONS:
        from dicomkit.archive._ps34_hosted import SETTINGS

        return SETTINGS[name]
    if name == "print":
        from dicomkit.archive._printing import PrintSettings

        return PrintSettings
    if name == "iocm":
        from dicomkit.archive._iocm import IOCMSettings

        return IOCMSettings
    if name == "retention":
        from dicomkit.archive._retention import RetentionPolicy

        return RetentionPolicy
    raise KeyError(name)


#: sections with a checker of their own (tables inside): name -> module with check_section
_OWN_CHECK = {"routing": "dicomkit.archive._routing"}


def check_section(name: str, value: Any, base: Path) -> dict[str, Any]:
    """A hosted service's config section, checked: known keys of the right types. Raises
    :class:`~dicomkit.archive._config.ConfigError` naming the key and what it takes."""
    from dicomkit.archive._config import ConfigError

    if not isinstance(value, Mapping):
        raise ConfigError(f"[{name}] must be a table of settings")
    if name == "rt_verification":  # tolerances: a table of ranges
        from dicomkit.archive._ps34_hosted import check_rt_verification

        return check_rt_verification(value)
    if name in _OWN_CHECK:
        import importlib

        checked: dict[str, Any] = importlib.import_module(_OWN_CHECK[name]).check_section(
            value, base
        )
        return checked
    fields = {f.name: f for f in dataclasses.fields(_settings_type(name))}
    out: dict[str, Any] = {}
    for key, v in value.items():
        f = fields.get(key)
        if f is None:
            raise ConfigError(f"[{name}]: unknown key {key!r}; known: {', '.join(sorted(fields))}")
        default = f.default
        if isinstance(default, bool):
            if not isinstance(v, bool):
                raise ConfigError(f"[{name}] {key} = {v!r}: use true or false")
        elif isinstance(default, int | float):
            if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
                raise ConfigError(f"[{name}] {key} = {v!r}: a number >= 0")
            v = type(default)(v)
        elif isinstance(default, tuple):
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise ConfigError(f'[{name}] {key} = {v!r}: a list of strings, e.g. ["RIS"]')
            v = tuple(x.strip() for x in v)
        elif isinstance(default, str) or default is None:
            if not isinstance(v, str):
                raise ConfigError(f"[{name}] {key} = {v!r}: a string")
            if key.endswith(("folder", "path")) and v:
                p = Path(v)
                v = str(p if p.is_absolute() else base / p)
        out[key] = v
    return out


#: how the start-up line names each hosted service
TITLES = {
    "commitment": "Storage Commitment",
    "worklist": "Modality Worklist",
    "mpps": "MPPS",
    "ups": "UPS",
    "ian": "Instance Availability Notification",
    "routing": "Routing",
    "event_log": "Procedural Event Logging",
    "relevant_patient": "Relevant Patient Information",
    "substance": "Substance Administration Query",
    "display": "Display System",
    "media_creation": "Media Creation",
    "rt_verification": "RT Machine Verification",
    "print": "Print Management",
    "iocm": "IOCM rejection notes",
    "retention": "retention rules",
}


def enabled(services: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The titles of the hosted services a config (``NodeConfig.services``) turns on."""
    out = []
    for name in SECTIONS:
        s = _settings_type(name)(**dict(services.get(name, {})))
        if getattr(s, "active", s.enabled):
            out.append(TITLES[name])
    return out


def settings(node: ArchiveNode, name: str) -> Any:
    """The settings of a hosted service from the node's config (defaults where unset)."""
    return _settings_type(name)(**dict(node.config.services.get(name, {})))


class HostedServices:
    """The enabled hosted services of one node: installed at construction, started with the
    node's server (retry loops) and stopped with it."""

    def __init__(self, node: ArchiveNode) -> None:
        self.node = node
        self.commitment: NodeCommitmentSCP | None = None
        self.worklist: WorklistItems | None = None
        self.mpps: IndexedMPPS | None = None
        self.mpps_forward: MPPSForwarder | None = None
        self.ups: NodeUPSSCP | None = None
        self.router: Router | None = None
        self.print: PrintSCP | None = None
        self.ian: NodeIAN | None = None
        self.retention: RetentionTask | None = None
        commitment = settings(node, "commitment")
        if commitment.enabled:
            from dicomkit.archive._commitments import NodeCommitmentSCP
            from dicomkit.services._commitment import LISTENER_ROLES, STORAGE_COMMITMENT

            self.commitment = NodeCommitmentSCP(node, commitment)
            node.add_handler(
                dimse.NActionRequest,
                self.commitment,
                sop_classes=[STORAGE_COMMITMENT],
                roles=LISTENER_ROLES,
            )

        worklist = settings(node, "worklist")
        if worklist.enabled:
            from dicomkit.archive._worklist_items import WorklistItems
            from dicomkit.services._worklist import MODALITY_WORKLIST_FIND, WorklistSCP

            self.worklist = WorklistItems(node.archive.index.db, worklist.folder or None)
            node.add_handler(
                dimse.CFindRequest,
                WorklistSCP(self.worklist),
                sop_classes=[MODALITY_WORKLIST_FIND],
            )

        if settings(node, "mpps").enabled:
            from dicomkit.archive._mpps_store import IndexedMPPS
            from dicomkit.services._mpps import MPPS, MPPSSCP

            mpps_settings = settings(node, "mpps")
            self.mpps = IndexedMPPS(node.archive.index.db)
            handlers = MPPSSCP(self.mpps).handlers()
            if mpps_settings.forward:
                from dicomkit.archive._mpps_forward import MPPSForwarder

                self.mpps_forward = MPPSForwarder(node, mpps_settings.forward)
                wrapped: list[tuple[type[dimse.DimseRequest], str]] = [
                    (dimse.NCreateRequest, "create"),
                    (dimse.NSetRequest, "set"),
                ]
                for request, name in wrapped:
                    handlers[request] = self.mpps_forward.wrap(name, handlers[request])
            for request, handler in handlers.items():
                node.add_handler(request, handler, sop_classes=[MPPS])

        if settings(node, "ups").enabled:
            from dicomkit.archive._ups_store import NodeUPSSCP
            from dicomkit.services._ups import UPS_PULL, UPS_PUSH, UPS_QUERY, UPS_WATCH

            self.ups = NodeUPSSCP(node)
            for kind, handler in self.ups.sop_class_handlers().items():
                node.add_handler(
                    kind, handler, sop_classes=[UPS_PUSH, UPS_WATCH, UPS_PULL, UPS_QUERY]
                )

        ian = settings(node, "ian")
        if ian.enabled:
            from dicomkit.archive._ian import NodeIAN
            from dicomkit.services._ian import INSTANCE_AVAILABILITY_NOTIFICATION

            node_ian = self.ian = NodeIAN(node, ian)
            node.add_handler(
                dimse.NCreateRequest,
                node_ian.handler,
                sop_classes=[INSTANCE_AVAILABILITY_NOTIFICATION],
            )
            if ian.subscribers:
                node.storage.observers.append(node_ian.on_stored)
                node.storage.other_observers.append(node_ian.on_other_stored)

        routing = settings(node, "routing")
        if routing.active:
            from dicomkit.archive._routing import Router

            router = self.router = Router(node, routing)
            node.storage.observers.append(
                lambda incoming, result: router.on_stored(incoming.association.calling_ae, result)
            )
            node.storage.other_observers.append(router.on_stored)  # STOW-RS: no calling AE

        print_settings = settings(node, "print")
        if print_settings.enabled:
            from dicomkit.archive._printing import install as install_print

            self.print = install_print(node, print_settings)

        from dicomkit.archive._ps34_hosted import install

        #: the services of archive._ps34_hosted by section name (event_log ...)
        self.more: dict[str, Any] = install(node)

        self._lifecycle(node)

    def _lifecycle(self, node: ArchiveNode) -> None:
        """IOCM rejection notes (``[iocm]``) and retention rules (``[retention]``)."""
        from dicomkit.archive._delete import audit_hook

        # deletes, hides and prunes go to the audit trail as DICOM Study Deleted (A.5.3.5)
        audit = audit_hook(node.audit, node.config.ae_title)
        if settings(node, "iocm").enabled:
            from dicomkit.archive._iocm import RejectionNotes

            node.archive.on_stored = RejectionNotes(
                node.archive, settings(node, "iocm"), audit=audit
            )
        retention = settings(node, "retention")
        if retention.enabled and retention.active:
            from dicomkit.archive._retention import RetentionTask

            self.retention = RetentionTask(node.archive, retention, audit)

    async def start(self) -> None:
        if self.retention is not None:
            await self.retention.start()
        if self.router is not None:
            await self.router.start()
        if self.ian is not None:
            await self.ian.start()
        if self.commitment is not None:
            await self.commitment.start()
        if self.mpps_forward is not None:
            await self.mpps_forward.start()

    async def stop(self) -> None:
        if self.retention is not None:
            await self.retention.stop()
        if self.commitment is not None:
            await self.commitment.stop()
        if self.ups is not None:
            await self.ups.join()
        if self.mpps_forward is not None:
            await self.mpps_forward.stop()
        if self.router is not None:
            await self.router.stop()
        if self.ian is not None:
            await self.ian.stop()
