"""MPPS forwarding: the node passes each N-CREATE / N-SET it accepted on to the AE titles of
``[mpps] forward`` (a RIS, a second PACS), through a queue in the index.

Every accepted request is written to the table ``mpps_forward`` (one row per destination)
before the node answers it; a sender delivers the rows of each destination in order (the
N-CREATE of a step before its N-SETs), on one association per batch, retrying with back-off
while the destination is unreachable, also after a restart. A destination that *refuses* a
request (a failure status) has it dropped, with the reason logged, so one bad step cannot
hold the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from dicomkit.errors import DimseError, NetworkError
from dicomkit.services._n_common import ServiceAE, text

if TYPE_CHECKING:
    from dicomkit.archive._app import ArchiveNode
    from dicomkit.net import Incoming

log = logging.getLogger("dicomkit.archive.mpps")

RETRY_INITIAL = 2.0
RETRY_MAX = 300.0


def ddl(dialect: str) -> list[str]:
    """The forwarding queue (idempotent; SQLite or PostgreSQL)."""
    pk = "INTEGER PRIMARY KEY" if dialect == "sqlite" else "BIGSERIAL PRIMARY KEY"
    real = "REAL" if dialect == "sqlite" else "DOUBLE PRECISION"
    return [
        (
            f"CREATE TABLE IF NOT EXISTS mpps_forward (id {pk}, peer TEXT NOT NULL, "
            "kind TEXT NOT NULL, sop_instance_uid TEXT NOT NULL, data TEXT NOT NULL, "
            f"attempts INTEGER NOT NULL DEFAULT 0, next_try {real} NOT NULL DEFAULT 0, "
            "last_error TEXT NOT NULL DEFAULT '')"
        )
    ]


class MPPSForwarder:
    """Queue accepted MPPS requests for ``peers`` and deliver them (see the module docstring)."""

    def __init__(self, node: ArchiveNode, peers: tuple[str, ...]) -> None:
        from dicomkit.archive._config import ConfigError

        unknown = [p for p in peers if p not in node.config.peers]
        if unknown:
            raise ConfigError(
                f"[mpps] forward: {', '.join(unknown)} not in [peers]: add [peers.AET] with "
                "host and port for each"
            )
        self.node = node
        self.peers = peers
        self.db = node.archive.index.db
        with self.db.transaction():
            for stmt in ddl(self.db.dialect):
                self.db.execute(stmt)
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def wrap(self, kind: str, handler: Any) -> Any:
        """The MPPS handler ``handler`` (``kind`` "create" or "set"), queuing what it accepts."""

        def forwarding(incoming: Incoming) -> Any:
            result = handler(incoming)
            rsp = result[0] if isinstance(result, tuple) else result
            if rsp.status == 0:
                msg = incoming.message
                uid = text(
                    getattr(rsp, "affected_sop_instance_uid", None)
                    or getattr(msg, "affected_sop_instance_uid", None)
                    or getattr(msg, "requested_sop_instance_uid", None)
                )
                self.enqueue(kind, uid, incoming.dataset)
            return result

        return forwarding

    def enqueue(self, kind: str, uid: str, ds: Any) -> None:
        """(any thread) Queue one request for every destination."""
        from dicomkit.io._json import dumps

        data = dumps(ds)
        with self.db.transaction():
            for peer in self.peers:
                self.db.execute(
                    "INSERT INTO mpps_forward (peer, kind, sop_instance_uid, data) "
                    "VALUES (?, ?, ?, ?)",
                    (peer, kind, uid, data),
                )
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

    def pending(self) -> list[tuple[str, str, str]]:
        """(destination, kind, SOP Instance UID) of every request not yet delivered."""
        rows = self.db.query("SELECT peer, kind, sop_instance_uid FROM mpps_forward ORDER BY id")
        return [(str(a), str(b), str(c)) for a, b, c in rows]

    async def _run(self) -> None:
        while True:
            wait = 5.0
            for peer in self.peers:
                delay = await self._deliver(peer)
                if delay is not None:
                    wait = min(wait, delay)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.05, wait)):
                    await self._wake.wait()
            self._wake.clear()

    async def _deliver(self, peer: str) -> float | None:
        """Send ``peer``'s queue in order; the seconds until its next try when it failed."""
        from dicomkit.io._json import from_json
        from dicomkit.services import _mpps as mpps

        rows = await asyncio.to_thread(
            self.db.query,
            "SELECT id, kind, sop_instance_uid, data, attempts, next_try FROM mpps_forward "
            "WHERE peer = ? ORDER BY id",
            (peer,),
        )
        if not rows:
            return None
        now = time.time()
        if float(rows[0][5]) > now:
            return float(rows[0][5]) - now
        address = self.node.config.peers[peer]
        ae = ServiceAE(self.node.config.ae_title, config=self.node.ae_config)
        try:
            async with ae.associate(
                address.host, address.port, contexts=[mpps.MPPS], ae_title=address.ae_title
            ) as assoc:
                for row_id, kind, uid, data, _, _ in rows:
                    ds = from_json(str(data))
                    try:
                        if kind == "create":
                            await mpps.create(assoc, ds, sop_instance_uid=str(uid))
                        else:
                            await mpps.update(assoc, str(uid), ds)
                    except DimseError as exc:  # refused: dropped, not retried
                        log.error("MPPS %s of %s refused by %s, dropped: %s", kind, uid, peer, exc)
                    await asyncio.to_thread(
                        self.db.execute, "DELETE FROM mpps_forward WHERE id = ?", (row_id,)
                    )
        except (NetworkError, OSError) as exc:
            attempts = int(rows[0][4]) + 1
            delay = float(min(RETRY_MAX, RETRY_INITIAL * 2 ** min(attempts - 1, 30)))
            log.warning(
                "MPPS forwarding to %s failed (attempt %d): %s; next try in %.0f s",
                peer,
                attempts,
                exc,
                delay,
            )
            await asyncio.to_thread(
                self.db.execute,
                "UPDATE mpps_forward SET attempts = ?, next_try = ?, last_error = ? WHERE id = ?",
                (attempts, time.time() + delay, str(exc)[:500], rows[0][0]),
            )
            return delay
        return None
