"""The archive node: an atomic file store, an SQL index, and PS3.4 query matching.

``Archive(root)`` opens (or creates) an archive folder: files under
``ROOT/<Study>/<Series>/<SOP>.dcm`` and a SQLite index ``ROOT/index.sqlite`` (or PostgreSQL by
``db_url``). ``archive.ingest(temp_file)`` stores an instance durably; ``archive.find(...)``
answers C-FIND identifiers; ``archive.retrieve(...)`` lists the instances a C-MOVE / C-GET
selects.

Operating the node: :class:`AccessPolicy` (``[access]``, who may store, query, retrieve),
the audit trail (:mod:`dicomkit.archive.audit`, PS3.15 A.5 messages; :class:`AuditTrail`
sends them to a file and a syslog collector) and :class:`NodeMetrics` (Prometheus).

Lifecycle: ``archive.delete(...)``, IOCM rejection notes (:class:`RejectionNotes`),
retention (:func:`prune`), :func:`update_patient` / :func:`merge_patients`, and an online
:func:`backup` -- all crash-safe and safe beside a running node.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dicomkit.archive import _audit as audit
    from dicomkit.archive._access import AccessConfigError, AccessPolicy, AERule
    from dicomkit.archive._app import ArchiveNode
    from dicomkit.archive._audit_trail import (
        AuditConfigError,
        AuditSettings,
        AuditTrail,
        SyslogTarget,
    )
    from dicomkit.archive._backup import BackupReport, backup
    from dicomkit.archive._config import ConfigError, NodeConfig, load_config
    from dicomkit.archive._delete import (
        DeleteReport,
        RejectedInstance,
        purge_rejected,
        rejected_instances,
        restore_rejected,
    )
    from dicomkit.archive._iocm import (
        IOCMSettings,
        RejectionNote,
        RejectionNotes,
        read_rejection_note,
    )
    from dicomkit.archive._metrics import NodeMetrics
    from dicomkit.archive._patient import PatientUpdateReport, merge_patients, update_patient
    from dicomkit.archive._retention import PruneReport, RetentionPolicy, prune
from dicomkit.archive._index import Index, InstanceRecord, StoredInstance, record_from_dataset
from dicomkit.archive._matching import Model, Query, QueryError, QueryOptions, parse_query
from dicomkit.archive._node import Archive, CheckReport, IngestResult
from dicomkit.archive._outbox import OutboxItem
from dicomkit.archive._results import Result
from dicomkit.archive._routing import RoutingRule, RoutingSettings
from dicomkit.archive._schema import Level
from dicomkit.archive._store import (
    DuplicateInstanceError,
    DuplicatePolicy,
    FileStore,
    InvalidUIDError,
)

__all__ = [
    "AERule",
    "AccessConfigError",
    "AccessPolicy",
    "Archive",
    "ArchiveNode",
    "AuditConfigError",
    "AuditSettings",
    "AuditTrail",
    "BackupReport",
    "CheckReport",
    "ConfigError",
    "DeleteReport",
    "DuplicateInstanceError",
    "DuplicatePolicy",
    "FileStore",
    "IOCMSettings",
    "Index",
    "IngestResult",
    "InstanceRecord",
    "InvalidUIDError",
    "Level",
    "Model",
    "NodeConfig",
    "NodeMetrics",
    "OutboxItem",
    "PatientUpdateReport",
    "PruneReport",
    "Query",
    "QueryError",
    "QueryOptions",
    "RejectedInstance",
    "RejectionNote",
    "RejectionNotes",
    "Result",
    "RetentionPolicy",
    "RoutingRule",
    "RoutingSettings",
    "StoredInstance",
    "SyslogTarget",
    "audit",
    "backup",
    "load_config",
    "merge_patients",
    "parse_query",
    "prune",
    "purge_rejected",
    "read_rejection_note",
    "record_from_dataset",
    "rejected_instances",
    "restore_rejected",
    "update_patient",
]


#: the node and its configuration load the network and service layers, the operating pieces
#: (audit, access, metrics) more standard modules: imported on first use
_LAZY = {
    "ArchiveNode": "dicomkit.archive._app",
    "audit": "dicomkit.archive._audit",  # the module itself
    "AccessConfigError": "dicomkit.archive._access",
    "AccessPolicy": "dicomkit.archive._access",
    "AERule": "dicomkit.archive._access",
    "NodeMetrics": "dicomkit.archive._metrics",
    "AuditConfigError": "dicomkit.archive._audit_trail",
    "AuditSettings": "dicomkit.archive._audit_trail",
    "AuditTrail": "dicomkit.archive._audit_trail",
    "SyslogTarget": "dicomkit.archive._audit_trail",
    "ConfigError": "dicomkit.archive._config",
    "NodeConfig": "dicomkit.archive._config",
    "load_config": "dicomkit.archive._config",
    # the lifecycle: delete, IOCM, retention, patient update / merge, backup
    "BackupReport": "dicomkit.archive._backup",
    "backup": "dicomkit.archive._backup",
    "DeleteReport": "dicomkit.archive._delete",
    "RejectedInstance": "dicomkit.archive._delete",
    "purge_rejected": "dicomkit.archive._delete",
    "rejected_instances": "dicomkit.archive._delete",
    "restore_rejected": "dicomkit.archive._delete",
    "IOCMSettings": "dicomkit.archive._iocm",
    "RejectionNote": "dicomkit.archive._iocm",
    "RejectionNotes": "dicomkit.archive._iocm",
    "read_rejection_note": "dicomkit.archive._iocm",
    "PatientUpdateReport": "dicomkit.archive._patient",
    "merge_patients": "dicomkit.archive._patient",
    "update_patient": "dicomkit.archive._patient",
    "PruneReport": "dicomkit.archive._retention",
    "RetentionPolicy": "dicomkit.archive._retention",
    "prune": "dicomkit.archive._retention",
}


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'dicomkit.archive' has no attribute {name!r}")
    module = importlib.import_module(where)
    value = module if name == "audit" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
