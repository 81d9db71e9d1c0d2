"""Unified Procedure Step (PS3.4 Annex CC) hosted by the archive node: workitems and
subscriptions kept in the index.

:class:`NodeUPSSCP` is :class:`~dicomkit.services._ups.UPSSCP` (Push, Pull, Watch, Event,
Query) with its workitems in :class:`IndexedUPS` (table ``ups_workitems``: state, label,
the whole workitem as DICOM JSON, the performer's Transaction UID included) and its
subscriptions, per workitem and global with their deletion lock, in ``ups_subscriptions`` /
``ups_global_subscribers``. After every request the workitem it named and the subscriptions
are written back in one transaction, so a restart finds them as they were. Event reports go to
subscribers whose AE title ``[peers]`` lists.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dicomkit.archive._db import Database
from dicomkit.core._dataset import Dataset
from dicomkit.services._n_common import ServiceAE, text
from dicomkit.services._ups import UPSSCP

if TYPE_CHECKING:
    from dicomkit.archive._app import ArchiveNode
    from dicomkit.net import Incoming


@dataclass(frozen=True, slots=True)
class UPSSettings:
    """``[ups]`` of the node's config file."""

    enabled: bool = True


def ddl(dialect: str) -> list[str]:
    """The UPS tables (idempotent; SQLite or PostgreSQL)."""
    del dialect
    return [
        (
            "CREATE TABLE IF NOT EXISTS ups_workitems (sop_instance_uid TEXT PRIMARY KEY, "
            "state TEXT NOT NULL, label TEXT NOT NULL DEFAULT '', "
            "updated TEXT NOT NULL DEFAULT '', data TEXT NOT NULL)"
        ),
        (
            "CREATE TABLE IF NOT EXISTS ups_subscriptions (ae_title TEXT NOT NULL, "
            "sop_instance_uid TEXT NOT NULL, PRIMARY KEY (ae_title, sop_instance_uid))"
        ),
        (
            "CREATE TABLE IF NOT EXISTS ups_global_subscribers (ae_title TEXT PRIMARY KEY, "
            "deletion_lock INTEGER NOT NULL DEFAULT 0)"
        ),
    ]


class IndexedUPS(MutableMapping[str, Dataset]):
    """UPS workitems by SOP Instance UID: loaded from the index once, held in memory (the SCP
    changes them in place), written back by :meth:`flush`."""

    def __init__(self, db: Database) -> None:
        from dicomkit.io._json import from_json

        self.db = db
        with db.transaction():
            for stmt in ddl(db.dialect):
                db.execute(stmt)
        self._items: dict[str, Dataset] = {}
        self._written: dict[str, str] = {}
        for uid, data in db.query("SELECT sop_instance_uid, data FROM ups_workitems"):
            self._items[str(uid)] = from_json(str(data))
            self._written[str(uid)] = str(data)

    def __getitem__(self, uid: str) -> Dataset:
        return self._items[uid]

    def __setitem__(self, uid: str, ds: Dataset) -> None:
        self._items[uid] = ds
        self.flush([uid])

    def __delitem__(self, uid: str) -> None:
        del self._items[uid]
        self._written.pop(uid, None)
        with self.db.transaction():
            self.db.execute("DELETE FROM ups_workitems WHERE sop_instance_uid = ?", (uid,))

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def flush(self, uids: list[str] | None = None) -> None:
        """Write the workitems changed since they were last written (those of ``uids``, or
        all)."""
        from dicomkit.io._json import dumps

        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        with self.db.transaction():
            for uid in self._items if uids is None else uids:
                ds = self._items.get(uid)
                if ds is None:
                    continue
                data = dumps(ds)
                if self._written.get(uid) == data:
                    continue
                self.db.execute("DELETE FROM ups_workitems WHERE sop_instance_uid = ?", (uid,))
                self.db.execute(
                    "INSERT INTO ups_workitems (sop_instance_uid, state, label, updated, data) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (
                        uid,
                        text(ds.get("ProcedureStepState")),
                        text(ds.get("ProcedureStepLabel")),
                        now,
                        data,
                    ),
                )
                self._written[uid] = data


class NodeUPSSCP(UPSSCP):
    """The node's UPS SCP: :class:`~dicomkit.services._ups.UPSSCP` whose workitems and
    subscriptions persist in the index (see the module docstring)."""

    def __init__(self, node: ArchiveNode) -> None:
        self.workitems = IndexedUPS(node.archive.index.db)
        peers = node.config.peers

        def address(ae_title: str) -> tuple[str, int] | None:
            peer = peers.get(ae_title.strip())
            return (peer.host, peer.port) if peer is not None else None

        super().__init__(
            self.workitems,
            addresses=address,
            ae=ServiceAE(node.config.ae_title, config=node.ae_config),
        )
        self.db = self.workitems.db
        for ae_title, uid in self.db.query(
            "SELECT ae_title, sop_instance_uid FROM ups_subscriptions"
        ):
            self.subscriptions.setdefault(str(ae_title), set()).add(str(uid))
        for ae_title, lock in self.db.query(
            "SELECT ae_title, deletion_lock FROM ups_global_subscribers"
        ):
            self.global_subscribers[str(ae_title)] = bool(lock)

    def _save(self, incoming: Incoming) -> None:
        msg = incoming.message
        uid = text(
            getattr(msg, "requested_sop_instance_uid", None)
            or getattr(msg, "affected_sop_instance_uid", None)
        )
        with self.db.transaction():
            self.workitems.flush([uid] if uid in self.workitems else [])
            self.db.execute("DELETE FROM ups_subscriptions")
            for ae_title, uids in self.subscriptions.items():
                for target in sorted(uids):
                    self.db.execute(
                        "INSERT INTO ups_subscriptions (ae_title, sop_instance_uid) VALUES (?, ?)",
                        (ae_title, target),
                    )
            self.db.execute("DELETE FROM ups_global_subscribers")
            for ae_title, lock in self.global_subscribers.items():
                self.db.execute(
                    "INSERT INTO ups_global_subscribers (ae_title, deletion_lock) VALUES (?, ?)",
                    (ae_title, int(lock)),
                )

    async def n_create(self, incoming: Incoming) -> Any:
        result = await super().n_create(incoming)
        self._save(incoming)
        return result

    async def n_set(self, incoming: Incoming) -> Any:
        result = await super().n_set(incoming)
        self._save(incoming)
        return result

    async def n_action(self, incoming: Incoming) -> Any:
        result = await super().n_action(incoming)
        self._save(incoming)
        return result

    def sop_class_handlers(self) -> dict[type, Any]:
        """Request type -> handler, each to be keyed by the UPS SOP classes."""
        from dicomkit.net.proto import _dimse as dimse

        return {
            dimse.NCreateRequest: self.n_create,
            dimse.NSetRequest: self.n_set,
            dimse.NGetRequest: self.n_get,
            dimse.NActionRequest: self.n_action,
            dimse.CFindRequest: self.c_find,
        }
