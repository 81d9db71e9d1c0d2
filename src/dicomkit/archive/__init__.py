"""The archive node: an atomic file store, an SQL index, and PS3.4 query matching.

``Archive(root)`` opens (or creates) an archive folder: files under
``ROOT/<Study>/<Series>/<SOP>.dcm`` and a SQLite index ``ROOT/index.sqlite`` (or PostgreSQL by
``db_url``). ``archive.ingest(temp_file)`` stores an instance durably; ``archive.find(...)``
answers C-FIND identifiers; ``archive.retrieve(...)`` lists the instances a C-MOVE / C-GET
selects.
"""

from __future__ import annotations

from dicomkit.archive.index import Index, InstanceRecord, StoredInstance, record_from_dataset
from dicomkit.archive.matching import Model, Query, QueryError, QueryOptions, parse_query
from dicomkit.archive.node import Archive, CheckReport, IngestResult
from dicomkit.archive.results import Result
from dicomkit.archive.schema import Level
from dicomkit.archive.store import (
    DuplicateInstanceError,
    DuplicatePolicy,
    FileStore,
    InvalidUIDError,
)

__all__ = [
    "Archive",
    "CheckReport",
    "DuplicateInstanceError",
    "DuplicatePolicy",
    "FileStore",
    "Index",
    "IngestResult",
    "InstanceRecord",
    "InvalidUIDError",
    "Level",
    "Model",
    "Query",
    "QueryError",
    "QueryOptions",
    "Result",
    "StoredInstance",
    "parse_query",
    "record_from_dataset",
]
