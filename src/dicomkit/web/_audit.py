"""The audit trail of DICOMweb requests (PS3.15 A.5.3), through the node's
:class:`~dicomkit.archive.AuditTrail`: the web user (the ``[web.users]`` name, or
``anonymous``) and the client's address are the requesting active participant, the node
(its AE title) the other one.

=====================  ==========================================================
request                messages
=====================  ==========================================================
QIDO-RS search         Query (110112): the request's path and query string kept as
                       ParticipantObjectQuery, the Study Root C-FIND SOP Class as the
                       object (a QIDO-RS search runs the C-FIND matching)
WADO-RS retrieve       Begin Transferring (110102), then Instances Transferred (110104,
                       action R), per study
WADO-URI               the same (application/dicom, also ``anonymize=yes``); a rendered
                       picture: Instances Transferred (R) alone
metadata, frames,      Instances Transferred (110104, action R) alone: one message per
rendered, thumbnail,   request, whatever the number of frames; the description names the
bulkdata               resource (``WADO-RS metadata``, ``WADO-RS frames`` ...)
STOW-RS                Instances Transferred (110104, action C) for what was stored
DELETE                 DICOM Study Deleted (110105): the instances removed, per study
=====================  ==========================================================

These messages are built by one background thread: the request only hands over who asked
and what was sent. Requests that already looked the instances up (frames, rendered,
bulkdata, WADO-URI) hand over those rows; metadata and thumbnail requests, which answer from
the metadata cache or a representative instance, hand over the UIDs, and the thread looks the
SOP classes up (results kept a few seconds for repeated requests), so the audit adds no query
to their answer. The trail writes and sends messages from its own thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from dicomkit.archive import _audit as au
from dicomkit.dictionary import uids

__all__ = ["WebAudit"]

log = logging.getLogger("dicomkit.web")

#: seconds a looked-up (study, series, instance) -> SOP classes answer is reused
_KEEP = 5.0
_CACHED = 256


class WebAudit:
    """Emits the audit messages of DICOMweb requests; does nothing without a trail (or
    with a disabled one)."""

    def __init__(
        self, trail: Any, ae_title: str, *, queries: bool = True, archive: Any = None
    ) -> None:
        self.trail = trail
        self.me = au.Actor(ae_title or "DICOMKIT")
        self.queries = queries  # [audit] queries = false: no Query messages
        self.archive = archive  # where deferred messages look their instances up
        self._worker: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._seen: OrderedDict[tuple[str, str | None, str | None], tuple[float, Any]] = (
            OrderedDict()
        )

    @property
    def enabled(self) -> bool:
        """Whether messages go anywhere."""
        return self.trail is not None and bool(getattr(self.trail, "enabled", True))

    @staticmethod
    def who(request: Any) -> au.Actor:
        """The requesting participant: the signed-in web user and the client's address."""
        user = (request.scope.get("state") or {}).get("user")
        client = request.client
        host = client.host if client is not None else None
        return au.Actor(user or "anonymous", host, user_name=user or None)

    def query(self, request: Any, *, outcome: int = au.SUCCESS, why: str | None = None) -> None:
        """A QIDO-RS search was answered (``outcome``: 0, or a failure code)."""
        if not self.enabled or not self.queries:
            return
        text = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        self.trail.emit(
            au.query(
                self.who(request),
                self.me,
                uids.StudyRootQueryRetrieveInformationModelFind,
                text.encode("utf-8"),
                None,
                outcome=outcome,
                description=why or "QIDO-RS",
            )
        )

    def retrieved(
        self, request: Any, found: Iterable[Any], *, description: str = "WADO-RS"
    ) -> None:
        """A WADO-RS (or WADO-URI) retrieve sends ``found`` (StoredInstance rows) to the
        client: Begin Transferring, then Instances Transferred."""
        if not self.enabled:
            return
        studies = _studies((i.study_instance_uid, i.sop_class_uid) for i in found)
        if not studies:
            return
        client = self.who(request)
        self.trail.emit(au.begin_transferring(self.me, client, studies, requestor=client))
        self.trail.emit(
            au.instances_transferred(
                self.me, client, studies, action="R", requestor=client, description=description
            )
        )

    def transferred(
        self,
        request: Any,
        description: str,
        found: Iterable[Any] | None = None,
        *,
        study: str | None = None,
        series: str | None = None,
        sop: str | None = None,
    ) -> None:
        """One Instances Transferred (R) for a request that sent part of what is stored
        (metadata, frames, a rendered picture, a thumbnail, bulk data), built in the
        background from ``found`` rows, else from the instances ``study``/``series``/``sop``
        name (looked up there)."""
        if not self.enabled:
            return
        rows = list(found) if found is not None else None
        if rows is None and (study is None or self.archive is None):
            return
        client = self.who(request)
        with self._lock:
            if self._worker is None:
                self._worker = ThreadPoolExecutor(1, thread_name_prefix="dicomkit-web-audit")
            worker = self._worker
        # the message is built off the event loop too: the request pays for a hand-over only
        worker.submit(self._deferred, client, description, rows, study, series, sop)

    def _emit_transferred(self, client: au.Actor, description: str, found: list[Any]) -> None:
        studies = _studies((i.study_instance_uid, i.sop_class_uid) for i in found)
        if studies:
            self.trail.emit(
                au.instances_transferred(
                    self.me, client, studies, action="R", requestor=client, description=description
                )
            )

    def _deferred(
        self,
        client: au.Actor,
        description: str,
        rows: list[Any] | None,
        study: str | None,
        series: str | None,
        sop: str | None,
    ) -> None:
        from dicomkit.web._wado import find_instances

        if rows is not None or study is None:
            self._emit_transferred(client, description, rows or [])
            return
        key = (study, series, sop)
        now = time.monotonic()
        hit = self._seen.get(key)
        if hit is not None and now - hit[0] < _KEEP:
            found = hit[1]
        else:
            try:
                found = find_instances(self.archive, study, series, sop)
            except Exception as exc:  # noqa: BLE001 -- gone since, or the index is busy
                log.debug("audit of %s %s: no instances to name (%s)", description, study, exc)
                return
            self._seen[key] = (now, found)
            self._seen.move_to_end(key)
            while len(self._seen) > _CACHED:
                self._seen.popitem(last=False)
        self._emit_transferred(client, description, found)

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until the messages handed to the background thread have been emitted."""
        worker = self._worker
        if worker is not None:
            done: Future[None] = worker.submit(lambda: None)
            done.result(timeout)

    def close(self) -> None:
        """Emit what is pending and stop the background thread."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.shutdown(wait=True)

    def stored(self, request: Any, stored: Iterable[tuple[str, str]]) -> None:
        """A STOW-RS request stored instances: ``(study UID, SOP Class UID)`` of each."""
        studies = _studies(stored)
        if not self.enabled or not studies:
            return
        self.trail.emit(
            au.instances_transferred(
                self.who(request), self.me, studies, action="C", description="STOW-RS"
            )
        )

    def deleted(self, request: Any, found: Iterable[Any]) -> None:
        """A DELETE removed ``found`` (StoredInstance rows)."""
        studies = _studies((i.study_instance_uid, i.sop_class_uid) for i in found)
        if not self.enabled or not studies:
            return
        self.trail.emit(au.study_deleted(self.who(request), studies, description="DICOMweb DELETE"))


def _studies(pairs: Iterable[tuple[str, str]]) -> list[au.StudyRef]:
    studies = au.Studies()
    for study, sop_class in pairs:
        studies.add(study or "-", sop_class)
    return studies.values()
