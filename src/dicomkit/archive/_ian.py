"""Instance Availability Notification on the node (PS3.4 R), both roles::

    [ian]
    enabled = true              # accept notifications from others (kept in the index)
    subscribers = ["RIS"]       # send ours to these [peers]; none: the node sends nothing
    stable_after = 60           # seconds without a new instance before a study is announced
    on_release = true           # also announce as soon as the storing association ends
    retry_initial = 2           # back-off of an unreachable subscriber (doubles) ...
    retry_max = 300             # ... up to this

**Sending.** Each stored instance marks its study in the index (table ``ian_studies``) as due
``stable_after`` seconds later; a new instance of the study moves that on. When the
association that stored it ends (``on_release``) the study is due at once. A due study gets
one notification listing *all* its instances, ONLINE, with our AE title to retrieve them,
queued in the outbox for every subscriber (:mod:`dicomkit.archive._outbox`: retried with
back-off, kept across restarts, listed by ``dicomkit archive queue``).

**Receiving.** Notifications other AEs send are checked (:class:`~dicomkit.services.IANSCP`)
and kept in the table ``ian_received``; :meth:`NodeIAN.received` lists them (also
``dicomkit ian list ARCHIVE_DIR``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dicomkit.archive import _outbox as outbox
from dicomkit.core._dataset import Dataset
from dicomkit.errors import DicomError, DimseError, NetworkError

if TYPE_CHECKING:
    from dicomkit.archive._app import ArchiveNode
    from dicomkit.archive._config import Peer
    from dicomkit.archive._db import Database
    from dicomkit.archive._node import IngestResult
    from dicomkit.net import Association, Incoming

log = logging.getLogger("dicomkit.archive.ian")

KIND = "ian"


@dataclass(frozen=True, slots=True)
class IANSettings:
    """``[ian]`` of the node's config file."""

    enabled: bool = True
    #: AE titles from [peers] our notifications go to
    subscribers: tuple[str, ...] = ()
    #: seconds without a new instance after which a study is announced
    stable_after: float = 60.0
    #: announce the studies an association stored when it ends
    on_release: bool = True
    retry_initial: float = 2.0
    retry_max: float = 300.0


def ddl(dialect: str) -> list[str]:
    """The tables of both roles (idempotent; SQLite or PostgreSQL)."""
    real = "REAL" if dialect == "sqlite" else "DOUBLE PRECISION"
    return [
        (
            "CREATE TABLE IF NOT EXISTS ian_studies (study_uid TEXT PRIMARY KEY, "
            f"changed {real} NOT NULL, notify_at {real} NOT NULL)"
        ),
        (
            "CREATE TABLE IF NOT EXISTS ian_received (sop_instance_uid TEXT PRIMARY KEY, "
            f"study_uid TEXT NOT NULL, calling_ae TEXT NOT NULL, received {real} NOT NULL, "
            "data TEXT NOT NULL)"
        ),
        "CREATE INDEX IF NOT EXISTS ian_received_study ON ian_received (study_uid)",
    ]


class ReceivedNotifications:
    """The notifications received, kept in the table ``ian_received``."""

    def __init__(self, db: Database) -> None:
        self.db = db
        with db.transaction():
            for stmt in ddl(db.dialect):
                db.execute(stmt)

    def add(self, uid: str, ds: Dataset, calling_ae: str) -> bool:
        """Keep one notification; False when one with this SOP Instance UID is already kept."""
        from dicomkit.dictionary import tags
        from dicomkit.io._json import dumps as to_json
        from dicomkit.services._n_common import text

        with self.db.transaction():
            if (
                self.db.scalar("SELECT 1 FROM ian_received WHERE sop_instance_uid = ?", (uid,))
                is not None
            ):
                return False
            self.db.execute(
                "INSERT INTO ian_received (sop_instance_uid, study_uid, calling_ae, received, "
                "data) VALUES (?, ?, ?, ?, ?)",
                (
                    uid,
                    text(ds.get(tags.StudyInstanceUID)),
                    calling_ae.strip(),
                    time.time(),
                    to_json(ds),
                ),
            )
        return True

    def list(self, study_uid: str | None = None) -> list[tuple[str, str, float, Dataset]]:
        """(SOP Instance UID, calling AE title, time received, attribute list) of the
        notifications received, oldest first; only those of ``study_uid`` if given."""
        from dicomkit.io import from_json

        sql = "SELECT sop_instance_uid, calling_ae, received, data FROM ian_received"
        params: tuple[Any, ...] = ()
        if study_uid is not None:
            sql += " WHERE study_uid = ?"
            params = (study_uid,)
        rows = self.db.query(sql + " ORDER BY received, sop_instance_uid", params)
        return [(str(u), str(a), float(t), from_json(str(d))) for u, a, t, d in rows]


class NodeIAN:
    """The node's IAN roles (see the module docstring)."""

    def __init__(self, node: ArchiveNode, settings: IANSettings) -> None:
        from dicomkit.archive._config import ConfigError

        missing = [p for p in settings.subscribers if p not in node.config.peers]
        if missing:
            raise ConfigError(
                f"[ian] subscribers: {', '.join(missing)} not in [peers]: add [peers.AET] "
                "with host and port for each"
            )
        self.node = node
        self.settings = settings
        self.db = node.archive.index.db
        self.store = ReceivedNotifications(self.db)
        self.sender: outbox.OutboxSender | None = None
        if settings.subscribers:
            self.sender = outbox.OutboxSender(
                self.db,
                KIND,
                node.config.peers.get,
                self._deliver,
                retry_initial=settings.retry_initial,
                retry_max=settings.retry_max,
            )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        #: association -> the studies it stored (announced when it ends)
        self._batches: dict[Association, set[str]] = {}
        self._watchers: set[asyncio.Task[None]] = set()

    def handler(self, incoming: Incoming) -> Any:
        """The N-CREATE handler: a notification from another AE, checked as
        :class:`~dicomkit.services.IANSCP` does and kept with the sender's AE title."""
        from dicomkit.core._uid import generate_uid
        from dicomkit.dictionary import status_codes
        from dicomkit.net import response_for
        from dicomkit.net.proto import _dimse as dimse
        from dicomkit.services._ian import INSTANCE_AVAILABILITY_NOTIFICATION, problem
        from dicomkit.services._n_common import text

        msg = incoming.message
        assert isinstance(msg, dimse.NCreateRequest)
        if msg.affected_sop_class_uid != INSTANCE_AVAILABILITY_NOTIFICATION:
            return response_for(msg, status_codes.NoSuchSOPClass)
        wrong = problem(incoming.dataset)
        if wrong is not None:
            status, tag, comment = wrong
            extra: dict[str, Any] = {"offending_element": (tag,)} if tag is not None else {}
            return response_for(msg, status, error_comment=comment, **extra)
        assert incoming.dataset is not None
        uid = text(msg.affected_sop_instance_uid) or str(generate_uid())
        if not self.store.add(uid, incoming.dataset, incoming.association.calling_ae):
            return response_for(
                msg, status_codes.DuplicateSOPInstance, affected_sop_instance_uid=uid
            )
        return response_for(msg, status_codes.Success, affected_sop_instance_uid=uid)

    def received(self, study_uid: str | None = None) -> list[tuple[str, str, float, Dataset]]:
        """The notifications received (see :meth:`ReceivedNotifications.list`)."""
        return self.store.list(study_uid)

    # -- sending ------------------------------------------------------------------------

    def on_stored(self, incoming: Incoming, result: IngestResult) -> None:
        """(ingest thread, before the C-STORE response) Mark the instance's study as changed."""
        study = self.mark_stored(result)
        if study and self.settings.on_release and self._loop is not None:
            self._loop.call_soon_threadsafe(self._track, incoming.association, study)

    def on_other_stored(self, _source: str, result: IngestResult) -> None:
        """(ingest thread, before the STOW-RS answer) Mark the instance's study as changed."""
        self.mark_stored(result)

    def mark_stored(self, result: IngestResult) -> str:
        """(ingest thread) Mark the stored instance's study as changed (announced once stable);
        the study's UID, or ``""`` for a non-patient object. Instances from STOW-RS come here."""
        found = self.node.archive.index.lookup(result.sop_instance_uid)
        if found is None or not found.study_instance_uid:
            return ""  # a non-patient object: no study to announce
        study = found.study_instance_uid
        now = time.time()
        self._mark(study, now, now + self.settings.stable_after)
        return study

    def _mark(self, study: str, changed: float, due: float) -> None:
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO ian_studies (study_uid, changed, notify_at) VALUES (?, ?, ?) "
                "ON CONFLICT (study_uid) DO UPDATE SET changed = excluded.changed, "
                "notify_at = excluded.notify_at",
                (study, changed, due),
            )

    def _track(self, assoc: Association, study: str) -> None:
        studies = self._batches.get(assoc)
        if studies is None:
            studies = self._batches[assoc] = set()
            task = asyncio.get_running_loop().create_task(self._on_release(assoc))
            self._watchers.add(task)
            task.add_done_callback(self._watchers.discard)
        studies.add(study)

    async def _on_release(self, assoc: Association) -> None:
        await assoc.wait_closed()
        studies = self._batches.pop(assoc, set())
        now = time.time()
        for study in studies:
            await asyncio.to_thread(
                self.db.execute,
                "UPDATE ian_studies SET notify_at = ? WHERE study_uid = ?",
                (now, study),
            )
        self._wake.set()

    async def start(self) -> None:
        if self.sender is None:
            return
        self._loop = asyncio.get_running_loop()
        await self.sender.start()
        self._task = self._loop.create_task(self._run())

    async def stop(self) -> None:
        for task in [self._task, *self._watchers]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = None
        if self.sender is not None:
            await self.sender.stop()

    async def _run(self) -> None:
        while True:
            wait = max(0.05, min(5.0, self.settings.stable_after / 2))
            try:
                due = await asyncio.to_thread(self._announce_due)
                if due:
                    assert self.sender is not None
                    self.sender.wake()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("IAN: announcing stable studies failed; trying again")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            self._wake.clear()

    def _announce_due(self) -> int:
        """(worker thread) Queue a notification for each due study; how many."""
        from dicomkit.io._json import dumps as to_json

        now = time.time()
        rows = self.db.query(
            "SELECT study_uid, changed FROM ian_studies WHERE notify_at <= ?", (now,)
        )
        for study, changed in rows:
            ds = self.notification(str(study))
            with self.db.transaction():
                # only if no instance arrived meanwhile (else it waits for its new time)
                gone = self.db.execute(
                    "DELETE FROM ian_studies WHERE study_uid = ? AND changed = ?",
                    (study, changed),
                ).rowcount
                if gone and ds is not None:
                    data = to_json(ds)
                    outbox.add(
                        self.db, [(p, KIND, str(study), data) for p in self.settings.subscribers]
                    )
        return len(rows)

    def notification(self, study_uid: str) -> Dataset | None:
        """The notification for a study as the index holds it now (None: no instance)."""
        from dicomkit.archive._matching import Model
        from dicomkit.services._ian import notification

        found = self.node.archive.retrieve(
            {"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": study_uid}, Model.STUDY_ROOT
        )
        if not found:
            return None
        series: dict[str, list[tuple[str, str]]] = {}
        for inst in found:
            series.setdefault(inst.series_instance_uid, []).append(
                (inst.sop_class_uid, inst.sop_instance_uid)
            )
        return notification(study_uid, series, retrieve_aet=self.node.config.ae_title)

    async def _deliver(self, peer: Peer, batch: list[outbox.OutboxItem], done: Any) -> None:
        from dicomkit.io import from_json
        from dicomkit.services._ian import INSTANCE_AVAILABILITY_NOTIFICATION, notify
        from dicomkit.services._n_common import PLAIN_SYNTAXES

        assoc = await self.node.connect(
            peer.ae_title, [(INSTANCE_AVAILABILITY_NOTIFICATION, list(PLAIN_SYNTAXES))]
        )
        try:
            for it in batch:
                try:
                    await notify(assoc, from_json(it.data))
                except DimseError as exc:
                    await done(it, str(exc))
                    continue
                except DicomError as exc:
                    if isinstance(exc, NetworkError) or assoc.is_closed:
                        raise
                    await done(it, str(exc))
                    continue
                await done(it, None)
            await assoc.release()
        except BaseException:
            await assoc.abort()
            raise
