"""Retention rules: delete studies older than N days, or the oldest ones over a byte quota.

:func:`plan` lists the studies a :class:`RetentionPolicy` selects, oldest first, with why;
:func:`prune` deletes them (:meth:`~dicomkit.archive.Archive.delete`: index first, then files,
crash-safe beside a running node). The node runs it every ``interval`` seconds when its
``[retention]`` section is enabled; ``dicomkit archive prune ARCHIVE_DIR`` runs it on demand
(``--dry-run`` lists without deleting).

A study's age is that of its newest instance by the time it was received (``age_by =
"received"``: a study still receiving is young) or its Study Date (``"study_date"``; a study
without one counts by received time). The quota counts the bytes of the indexed files; files
hidden by rejection notes (``.rejected``) are not counted (``dicomkit archive rejected
--purge`` removes them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dicomkit.errors import ArchiveError

if TYPE_CHECKING:
    from dicomkit.archive._delete import AuditHook, DeleteReport
    from dicomkit.archive._node import Archive

log = logging.getLogger("dicomkit.archive")

AGE_BY = ("received", "study_date")


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """The ``[retention]`` section of the node's config file (0 turns a rule off)."""

    #: run in the node (``dicomkit archive prune`` works whatever this says)
    enabled: bool = False
    #: delete studies older than this many days
    max_age_days: float = 0.0
    #: "received" (when the newest instance of the study arrived) or "study_date"
    age_by: str = "received"
    #: keep the indexed files under this many bytes, deleting the oldest studies first
    max_bytes: int = 0
    #: seconds between runs in the node
    interval: float = 3600.0

    def __post_init__(self) -> None:
        from dicomkit.archive._config import ConfigError

        if self.age_by not in AGE_BY:
            raise ConfigError(f"[retention] age_by = {self.age_by!r}: use received or study_date")
        if self.enabled and self.interval < 1:
            raise ConfigError(f"[retention] interval = {self.interval!r}: at least 1 second")

    @property
    def active(self) -> bool:
        """True when a rule is set (an age or a quota)."""
        return self.max_age_days > 0 or self.max_bytes > 0


@dataclass(frozen=True, slots=True)
class StudyAge:
    """One study as retention sees it."""

    study_instance_uid: str
    age_key: str  # YYYYMMDD[HHMMSS]: compared as text, oldest first
    bytes: int
    instances: int
    reason: str = ""  # why it is selected ("older than 30 days", "over quota")


@dataclass(slots=True)
class PruneReport:
    """What :func:`prune` selected (and, unless a dry run, deleted)."""

    selected: list[StudyAge] = field(default_factory=list)
    total_bytes: int = 0  # indexed bytes before
    deleted: DeleteReport | None = None
    dry_run: bool = False

    def lines(self) -> list[str]:
        """One line per selected study, then a summary."""
        out = [
            f"{s.study_instance_uid}: {s.instances} instance(s), {s.bytes} bytes, "
            f"{s.reason} (age key {s.age_key})"
            for s in self.selected
        ]
        freed = sum(s.bytes for s in self.selected)
        verb = "would free" if self.dry_run else "freed"
        out.append(
            f"{len(self.selected)} stud{'y' if len(self.selected) == 1 else 'ies'} selected; "
            f"{verb} {freed} of {self.total_bytes} bytes"
        )
        return out


def studies_by_age(archive: Archive, age_by: str = "received") -> list[StudyAge]:
    """Every study with its age key, bytes and instance count, oldest first."""
    rows = archive.index.db.query(
        "SELECT st.study_instance_uid, st.study_date, MAX(i.received), SUM(i.size), COUNT(*) "
        "FROM studies st JOIN series se ON se.study_fk = st.id JOIN instances i ON "
        "i.series_fk = se.id GROUP BY st.id, st.study_instance_uid, st.study_date"
    )
    out = []
    for uid, study_date, received, size, n in rows:
        received = str(received or "")
        key = str(study_date or "")[:8] if age_by == "study_date" else ""
        if not (len(key) == 8 and key.isdigit()):
            key = received  # no (usable) study date: by when it arrived
        out.append(StudyAge(str(uid), key, int(size or 0), int(n)))
    out.sort(key=lambda s: (s.age_key, s.study_instance_uid))
    return out


def plan(archive: Archive, policy: RetentionPolicy, *, now: float | None = None) -> PruneReport:
    """The studies ``policy`` selects, oldest first (nothing is changed)."""
    studies = studies_by_age(archive, policy.age_by)
    report = PruneReport(total_bytes=sum(s.bytes for s in studies))
    now = time.time() if now is None else now
    chosen: dict[str, StudyAge] = {}
    if policy.max_age_days > 0:
        cutoff = time.strftime("%Y%m%d%H%M%S", time.gmtime(now - policy.max_age_days * 86400))
        for s in studies:
            if s.age_key.ljust(14, "0") < cutoff:
                chosen[s.study_instance_uid] = _with(s, f"older than {policy.max_age_days:g} days")
    if policy.max_bytes > 0:
        left = report.total_bytes - sum(s.bytes for s in chosen.values())
        for s in studies:
            if left <= policy.max_bytes:
                break
            if s.study_instance_uid not in chosen:
                chosen[s.study_instance_uid] = _with(s, f"over the {policy.max_bytes}-byte quota")
                left -= s.bytes
    report.selected = sorted(chosen.values(), key=lambda s: (s.age_key, s.study_instance_uid))
    return report


def _with(s: StudyAge, reason: str) -> StudyAge:
    return StudyAge(s.study_instance_uid, s.age_key, s.bytes, s.instances, reason)


def prune(
    archive: Archive,
    policy: RetentionPolicy,
    *,
    dry_run: bool = False,
    now: float | None = None,
    audit: AuditHook | None = None,
) -> PruneReport:
    """Delete what :func:`plan` selects (``dry_run``: only report it)."""
    if not policy.active:
        raise ArchiveError(
            "no retention rule set: give max_age_days and/or max_bytes ([retention] in the "
            "config file, or --max-age-days / --max-bytes)"
        )
    report = plan(archive, policy, now=now)
    report.dry_run = dry_run
    if report.selected:
        report.deleted = archive.delete(
            studies=[s.study_instance_uid for s in report.selected], dry_run=dry_run
        )
        if audit is not None and not dry_run:
            audit("prune", report.deleted)
    return report


class RetentionTask:
    """The node's periodic prune: first run at start, then every ``interval`` seconds, in a
    worker thread (the event loop keeps serving)."""

    def __init__(
        self, archive: Archive, policy: RetentionPolicy, audit: AuditHook | None = None
    ) -> None:
        self.archive = archive
        self.policy = policy
        self.audit = audit
        self.runs = 0
        self._task: asyncio.Task[None] | None = None
        self._running: asyncio.Future[PruneReport] | None = None

    async def start(self) -> None:
        """Start the loop (no-op when no rule is set)."""
        if self.policy.active:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """Stop the loop (a run in progress completes first)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._running is not None:  # the archive must not close under a run
            await asyncio.wait([self._running])

    def run_once(self) -> PruneReport:
        """(worker thread) One prune, logged."""
        report = prune(self.archive, self.policy, audit=self.audit)
        self.runs += 1
        if report.selected:
            log.warning("retention: %s", report.lines()[-1])
        return report

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._running = loop.run_in_executor(None, self.run_once)
            try:
                await asyncio.shield(self._running)
                self._running = None
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 -- logged; the next run tries again
                self._running = None
                log.error("retention run failed: %s (next try in %gs)", exc, self.policy.interval)
            await asyncio.sleep(self.policy.interval)
