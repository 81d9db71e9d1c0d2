"""The archive node: an atomic file store, an SQL index, and PS3.4 query matching.

``Archive(root)`` opens (or creates) an archive folder: files under
``ROOT/<Study>/<Series>/<SOP>.dcm`` and a SQLite index ``ROOT/index.sqlite`` (or PostgreSQL by
``db_url``). ``archive.ingest(temp_file)`` stores an instance durably; ``archive.find(...)``
answers C-FIND identifiers; ``archive.retrieve(...)`` lists the instances a C-MOVE / C-GET
selects.

Operating the node: :class:`AccessPolicy` (``[access]``, who may store, query, retrieve),
the audit trail (:mod:`dicomkit.archive.audit`, PS3.15 A.5 messages; :class:`AuditTrail`
sends them to a file and a syslog collector) and :class:`NodeMetrics` (Prometheus).
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
    from dicomkit.archive._config import ConfigError, NodeConfig, load_config
    from dicomkit.archive._metrics import NodeMetrics
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
    "CheckReport",
    "ConfigError",
    "DuplicateInstanceError",
    "DuplicatePolicy",
    "FileStore",
    "Index",
    "IngestResult",
    "InstanceRecord",
    "InvalidUIDError",
    "Level",
    "Model",
    "NodeConfig",
    "NodeMetrics",
    "OutboxItem",
    "Query",
    "QueryError",
    "QueryOptions",
    "Result",
    "RoutingRule",
    "RoutingSettings",
    "StoredInstance",
    "SyslogTarget",
    "audit",
    "load_config",
    "parse_query",
    "record_from_dataset",
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
