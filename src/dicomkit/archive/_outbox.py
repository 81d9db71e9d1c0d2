"""The node's outbox: what it must deliver to other AEs (routed instances, availability
notifications), kept in the index until each destination has taken it.

One table, ``outbox``: a row per (destination, item), written *before* the node answers the
request that caused it, so that nothing is lost when the destination is down or the node
restarts. A sender delivers each destination's rows in order, a batch per association,
retrying with exponential back-off while the destination cannot be reached. A destination
that *refuses* an item (a failure status, a file it cannot take) has that row marked
``failed`` with the reason, so one bad item cannot hold the queue; ``dicomkit archive queue``
lists the rows and puts failed ones back (``retry``) or drops them (``remove``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dicomkit.errors import NetworkError

if TYPE_CHECKING:
    from dicomkit.archive._config import Peer
    from dicomkit.archive._db import Database

log = logging.getLogger("dicomkit.archive.outbox")

#: row states
PENDING = "pending"
FAILED = "failed"


def ddl(dialect: str) -> list[str]:
    """The outbox table (idempotent; SQLite or PostgreSQL)."""
    pk = "INTEGER PRIMARY KEY" if dialect == "sqlite" else "BIGSERIAL PRIMARY KEY"
    real = "REAL" if dialect == "sqlite" else "DOUBLE PRECISION"
    return [
        (
            f"CREATE TABLE IF NOT EXISTS outbox (id {pk}, peer TEXT NOT NULL, "
            "kind TEXT NOT NULL, ref TEXT NOT NULL, data TEXT NOT NULL DEFAULT '', "
            "state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, "
            f"next_try {real} NOT NULL DEFAULT 0, created {real} NOT NULL DEFAULT 0, "
            "last_error TEXT NOT NULL DEFAULT '')"
        ),
        "CREATE INDEX IF NOT EXISTS outbox_peer ON outbox (peer, kind, state, id)",
    ]


def ensure(db: Database) -> None:
    """Create the outbox table if it is not there yet."""
    with db.transaction():
        for stmt in ddl(db.dialect):
            db.execute(stmt)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One row of the outbox: an item for one destination."""

    id: int
    peer: str
    kind: str  # "store" (a routed instance) or "ian" (an availability notification)
    ref: str  # the SOP Instance UID or Study Instance UID it concerns
    data: str
    state: str  # "pending" or "failed"
    attempts: int
    next_try: float
    created: float
    last_error: str


_COLUMNS = "id, peer, kind, ref, data, state, attempts, next_try, created, last_error"


def _item(row: Sequence[Any]) -> OutboxItem:
    return OutboxItem(
        int(row[0]),
        str(row[1]),
        str(row[2]),
        str(row[3]),
        str(row[4]),
        str(row[5]),
        int(row[6]),
        float(row[7]),
        float(row[8]),
        str(row[9]),
    )


def add(db: Database, items: Sequence[tuple[str, str, str, str]]) -> None:
    """Queue ``(peer, kind, ref, data)`` items, durably (one transaction)."""
    if not items:
        return
    now = time.time()
    with db.transaction():
        for peer, kind, ref, data in items:
            db.execute(
                "INSERT INTO outbox (peer, kind, ref, data, created) VALUES (?, ?, ?, ?, ?)",
                (peer, kind, ref, data, now),
            )


def items(
    db: Database, *, peer: str | None = None, kind: str | None = None, state: str | None = None
) -> list[OutboxItem]:
    """The queued items, oldest first, optionally only of one destination / kind / state."""
    where, params = [], []
    for column, value in (("peer", peer), ("kind", kind), ("state", state)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    sql = f"SELECT {_COLUMNS} FROM outbox"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return [_item(r) for r in db.query(sql + " ORDER BY id", params)]


def retry(db: Database, ids: Sequence[int] = (), *, peer: str | None = None) -> int:
    """Put items back to be sent at once (all failed and waiting ones, or only ``ids`` /
    those of ``peer``); returns how many."""
    sql = "UPDATE outbox SET state = 'pending', attempts = 0, next_try = 0, last_error = ''"
    where, params = _selection(ids, peer)
    with db.transaction():
        return int(db.execute(sql + where, params).rowcount)


def remove(db: Database, ids: Sequence[int] = (), *, peer: str | None = None) -> int:
    """Drop items (only ``ids`` / those of ``peer``; with neither: the failed ones)."""
    where, params = _selection(ids, peer)
    if not ids and peer is None:
        where = " WHERE state = 'failed'"
    with db.transaction():
        return int(db.execute("DELETE FROM outbox" + where, params).rowcount)


def _selection(ids: Sequence[int], peer: str | None) -> tuple[str, list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if ids:
        where.append(f"id IN ({', '.join('?' for _ in ids)})")
        params += [int(i) for i in ids]
    if peer is not None:
        where.append("peer = ?")
        params.append(peer)
    return (" WHERE " + " AND ".join(where)) if where else "", params


#: ``deliver(peer, items, done)``: send ``items`` to ``peer`` on one association, calling
#: ``await done(item, None)`` for each one taken and ``await done(item, reason)`` for each one
#: the peer refused; raise NetworkError / OSError when the peer cannot be reached (the rest
#: stays queued and is tried again later)
Deliver = Callable[
    ["Peer", list[OutboxItem], Callable[[OutboxItem, str | None], Awaitable[None]]],
    Awaitable[None],
]


class OutboxSender:
    """Delivers the outbox rows of one ``kind`` to their destinations (see the module
    docstring): started and stopped with the node."""

    def __init__(
        self,
        db: Database,
        kind: str,
        peers: Callable[[str], Peer | None],
        deliver: Deliver,
        *,
        retry_initial: float = 2.0,
        retry_max: float = 300.0,
        batch: int = 200,
    ) -> None:
        self.db = db
        self.kind = kind
        self.peers = peers
        self.deliver = deliver
        self.retry_initial = max(0.01, retry_initial)
        self.retry_max = max(self.retry_initial, retry_max)
        self.batch = batch
        ensure(db)
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """(any thread) New items are queued: look at once."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self._task is None:
            self._task = self._loop.create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            wait = 5.0  # also picks up rows put back by `dicomkit archive queue retry`
            try:
                peers = await asyncio.to_thread(
                    self.db.query,
                    "SELECT DISTINCT peer FROM outbox WHERE kind = ? AND state = 'pending'",
                    (self.kind,),
                )
                for (peer,) in peers:
                    delay = await self._deliver(str(peer))
                    if delay is not None:
                        wait = min(wait, delay)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug or a database hiccup must not end the sender
                log.exception("outbox (%s): delivery round failed; trying again", self.kind)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.02, wait)):
                    await self._wake.wait()
            self._wake.clear()

    async def _deliver(self, peer: str) -> float | None:
        """Send ``peer``'s next batch; the seconds until its next try when it cannot be
        reached (or there is more to send: 0)."""
        rows = await asyncio.to_thread(
            self.db.query,
            f"SELECT {_COLUMNS} FROM outbox WHERE peer = ? AND kind = ? AND state = 'pending' "
            f"ORDER BY id LIMIT {int(self.batch)}",
            (peer, self.kind),
        )
        if not rows:
            return None
        batch = [_item(r) for r in rows]
        now = time.time()
        if batch[0].next_try > now:
            return batch[0].next_try - now
        address = self.peers(peer)
        if address is None:
            reason = f"{peer} is not in [peers] (add [peers.{peer}] with host and port)"
            for it in batch:
                await self._done(it, reason)
            return 0.0

        async def done(it: OutboxItem, error: str | None) -> None:
            await self._done(it, error)

        try:
            await self.deliver(address, batch, done)
        except (NetworkError, OSError) as exc:
            attempts = batch[0].attempts + 1
            delay = float(min(self.retry_max, self.retry_initial * 2 ** min(attempts - 1, 30)))
            log.warning(
                "delivery (%s) to %s failed (attempt %d): %s; next try in %.1f s",
                self.kind,
                peer,
                attempts,
                exc,
                delay,
            )
            await asyncio.to_thread(
                self.db.execute,
                "UPDATE outbox SET attempts = ?, next_try = ?, last_error = ? "
                "WHERE peer = ? AND kind = ? AND state = 'pending'",
                (attempts, time.time() + delay, str(exc)[:500], peer, self.kind),
            )
            return delay
        return 0.0 if len(batch) == self.batch else None

    async def _done(self, it: OutboxItem, error: str | None) -> None:
        if error is None:
            await asyncio.to_thread(self.db.execute, "DELETE FROM outbox WHERE id = ?", (it.id,))
            return
        log.error("%s of %s refused by %s, kept as failed: %s", it.kind, it.ref, it.peer, error)
        await asyncio.to_thread(
            self.db.execute,
            "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ? "
            "WHERE id = ?",
            (error[:500], it.id),
        )
