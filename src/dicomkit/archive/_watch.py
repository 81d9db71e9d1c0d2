"""The archive node's watch: access rules, audit trail and metrics, where requests pass.

:class:`NodeWatch` is built by :class:`~dicomkit.archive._app.ArchiveNode` from its
configuration and sits in four places:

- the storage SCP asks :meth:`NodeWatch.store_refusal` before receiving a data set and
  reports each outcome (:meth:`stored`, :meth:`store_failed`); the stores of one association
  become one DICOM Instances Transferred message per patient when it ends, and each failed
  store one at once (outcome 4, naming the instance);
- the Q/R handlers are wrapped (:meth:`guard`): the ``[access]`` rules first (0124 Not
  authorized), then Query (C-FIND) or Begin Transferring + Instances Transferred (C-MOVE,
  C-GET) messages;
- the server reports every accepted association (:meth:`association_established`: a user
  identity is a User Authentication Login) and every ended connection
  (:meth:`association_closed`): a rejected association is a Security Alert, the end of an
  accepted one with a user identity its Logout; a refused TLS handshake is a Security
  Alert naming the peer's address (:meth:`tls_refused`);
- the node's start and stop are Application Activity messages.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dicomkit.archive import _audit as au
from dicomkit.archive._access import AccessPolicy
from dicomkit.archive._audit_trail import AuditSettings, AuditTrail
from dicomkit.dictionary import status_codes
from dicomkit.dictionary.statuses import describe as describe_status
from dicomkit.dictionary.statuses import is_failure
from dicomkit.net._loglimit import bad_input
from dicomkit.net._messages import response_for
from dicomkit.net.proto import _dimse as dimse

if TYPE_CHECKING:
    from dicomkit.archive._index import StoredInstance
    from dicomkit.archive._metrics import NodeMetrics
    from dicomkit.net import Association, Incoming

log = logging.getLogger("dicomkit.archive")

_OPS = {dimse.CFindRequest: "find", dimse.CMoveRequest: "move", dimse.CGetRequest: "get"}


@dataclass(slots=True)
class Retrieval:
    """What the backend found for one C-MOVE / C-GET (for its audit messages)."""

    found: list[StoredInstance] = field(default_factory=list)
    patients: dict[str, tuple[str, str]] = field(default_factory=dict)


#: the retrieval of the request being served (set by the guard, filled by the backend)
CURRENT_RETRIEVAL: contextvars.ContextVar[Retrieval | None] = contextvars.ContextVar(
    "dicomkit_retrieval", default=None
)


def _runs_on_loop(handler: Any) -> bool:
    """Coroutine and generator functions (and objects whose ``__call__`` is one): calling them
    does no work yet; anything else may block."""
    call = (
        None if inspect.isfunction(handler) or inspect.ismethod(handler) else type(handler).__call__
    )
    return any(
        test(fn)
        for fn in (handler, call)
        if fn is not None
        for test in (
            inspect.iscoroutinefunction,
            inspect.isasyncgenfunction,
            inspect.isgeneratorfunction,
        )
    )


def _host(peer: str) -> str:
    return peer.rsplit(":", 1)[0].strip("[]")


class NodeWatch:
    """Access rules, audit trail and metrics of one node (see the module docstring)."""

    def __init__(
        self,
        ae_title: str,
        *,
        access: AccessPolicy | None = None,
        audit: AuditSettings | None = None,
        metrics: NodeMetrics | None = None,
        peers: Any = None,
    ) -> None:
        self.ae_title = ae_title
        self.me = au.Actor(ae_title)
        self.access = access or AccessPolicy()
        settings = audit or AuditSettings()
        self.audit = AuditTrail(
            settings, au.AuditSource(settings.source_id or ae_title, settings.site_id)
        )
        self.audit_queries = settings.queries
        self.metrics = metrics
        self.peers = peers or {}
        #: instances being written and indexed now
        self.in_flight = 0
        self._stores: dict[Any, au.Studies] = {}
        #: associations whose Login is written (their Logout comes when they end)
        self._logged_in: set[Any] = set()

    # -- storage ----------------------------------------------------------------------------

    def store_refusal(self, incoming: Incoming) -> str | None:
        """Why this C-STORE is refused by the ``[access]`` rules (None: allowed)."""
        assoc = incoming.association
        why = self.access.refusal(assoc.calling_ae, _host(assoc.peer), "store")
        if why is not None:
            self._refused(incoming, "store", why)
        return why

    def stored(self, incoming: Incoming, result: Any, seconds: float) -> None:
        """An instance was stored (``result``: the archive's IngestResult)."""
        if self.metrics is not None:
            self.metrics.stored.labels(result.outcome).inc()
            self.metrics.store_seconds.observe(seconds)
        if self.audit.enabled and result.outcome != "kept":
            studies = self._stores.get(incoming.association)
            if studies is None:
                studies = self._stores[incoming.association] = au.Studies()
            studies.add(
                result.study_instance_uid or "-",
                result.sop_class_uid,
                patient_id=result.patient_id,
                patient_name=result.patient_name,
            )

    def store_failed(
        self, incoming: Incoming, status: int, comment: str | None = None, study_uid: str = ""
    ) -> None:
        """A C-STORE was answered with a non-success ``status`` (counted); a failure is
        audited at once: DICOM Instances Transferred, outcome 4, naming the SOP instance and
        (``study_uid``, when it is known) its study."""
        if self.metrics is not None:
            self.metrics.store_failures.labels(f"{status:04X}").inc()
        if not self.audit.enabled or not is_failure(status, "storage"):
            return
        msg, assoc = incoming.message, incoming.association
        assert isinstance(msg, dimse.CStoreRequest)
        peer = au.Actor(assoc.calling_ae.strip() or "-", _host(assoc.peer))
        why = describe_status(status, "storage") + (f": {comment}" if comment else "")
        self.audit.emit(
            au.store_failed(
                peer,
                self.me,
                msg.affected_sop_class_uid or "-",
                msg.affected_sop_instance_uid or "-",
                study_uid=study_uid,
                description=why,
            )
        )

    # -- associations -----------------------------------------------------------------------

    def tls_refused(self, peer: str, why: str) -> None:
        """(server hook) A TLS handshake failed: a Security Alert (Node Authentication)
        naming the peer's address (no AE title: it never sent one)."""
        if not self.audit.enabled:
            return
        host = _host(peer)
        self.audit.emit(
            au.security_alert(
                self.me,
                au.Actor("-", host),
                au.NODE_AUTHENTICATION,
                subject=host or "-",
                description=f"TLS connection from {peer} refused: {why}",
            )
        )

    def association_established(self, assoc: Association) -> None:
        """(server hook) An association was accepted: a user identity is a User
        Authentication Login now (its Logout is written when it ends)."""
        identity = assoc.user_identity
        if identity is None or not self.audit.enabled:
            return
        user = au.Actor(
            assoc.calling_ae.strip() or "-",
            _host(assoc.peer),
            user_name=identity.username or None,
        )
        self.audit.emit(au.user_authentication(user, self.me, login=True))
        self._logged_in.add(assoc)

    def association_closed(self, assoc: Association) -> None:
        """(server hook) A connection ended: audit what it did, count it."""
        engine = assoc.engine
        rq, rj = engine.associate_rq, engine.associate_rj
        peer = au.Actor((rq.calling_ae.strip() if rq is not None else "") or "-", _host(assoc.peer))
        if assoc.negotiated is not None:
            if self.metrics is not None:
                self.metrics.associations.labels("accepted").inc()
            studies = self._stores.pop(assoc, None)
            if studies:
                self._emit_stores(peer, studies)
            identity = assoc.user_identity
            if identity is not None and self.audit.enabled:
                user = au.Actor(peer.ae_title, peer.host, user_name=identity.username or None)
                if assoc not in self._logged_in:  # ended before the Login was written
                    self.audit.emit(au.user_authentication(user, self.me, login=True))
                self.audit.emit(au.user_authentication(user, self.me, login=False))
            self._logged_in.discard(assoc)
            return
        self._stores.pop(assoc, None)
        if rj is None or rq is None:
            return  # dropped before a request, or aborted: logged by the server
        if self.metrics is not None:
            self.metrics.associations.labels("rejected").inc()
        if not self.audit.enabled:
            return
        from dicomkit.net import _log as netlog

        why = netlog.reject_words(rj.result, rj.source, rj.reason)
        self.audit.emit(
            au.security_alert(
                self.me,
                peer,
                au.NODE_AUTHENTICATION,
                subject=peer.host or "-",
                description=f"association from {peer.ae_title} to {rq.called_ae.strip()} {why}",
            )
        )
        if rq.user_information.user_identity is not None:
            self.audit.emit(
                au.user_authentication(peer, self.me, login=True, outcome=au.MINOR_FAILURE)
            )

    def _emit_stores(self, peer: au.Actor, studies: au.Studies) -> None:
        by_patient: dict[str, list[au.StudyRef]] = {}
        for ref in studies.values():
            by_patient.setdefault(ref.patient_id, []).append(ref)
        for refs in by_patient.values():
            self.audit.emit(au.instances_transferred(peer, self.me, refs, action="C"))

    # -- Q/R ----------------------------------------------------------------------------------

    def guard(self, kind: type, handler: Callable[[Incoming], Any]) -> Callable[[Incoming], Any]:
        """``handler`` of C-FIND / C-MOVE / C-GET behind the access rules, audited and
        counted."""
        op = _OPS[kind]
        watch = self

        async def guarded(incoming: Incoming) -> Any:
            return await watch._serve_qr(op, handler, incoming)

        classes = getattr(handler, "sop_classes", None)
        if classes is not None:  # what the AE offers for it
            guarded.sop_classes = classes  # type: ignore[attr-defined]
        return guarded

    async def _serve_qr(
        self, op: str, handler: Callable[[Incoming], Any], incoming: Incoming
    ) -> Any:
        msg, assoc = incoming.message, incoming.association
        why = self.access.refusal(
            assoc.calling_ae, _host(assoc.peer), "query" if op == "find" else "retrieve"
        )
        if why is None and isinstance(msg, dimse.CMoveRequest):
            why = self.access.move_refusal(assoc.calling_ae, msg.move_destination or "")
        if why is not None:
            self._refused(incoming, op, why)
            return response_for(msg, status_codes.NotAuthorized, error_comment=why)
        record = Retrieval()
        # filled by the backend for the audit messages only: no patient look-up without them
        token = CURRENT_RETRIEVAL.set(record if self.audit.enabled else None)
        try:
            if _runs_on_loop(handler):
                result = handler(incoming)
                if inspect.isawaitable(result):
                    result = await result
            else:  # a plain function may block: a worker thread, as the dispatcher does
                result = await asyncio.to_thread(handler, incoming)
        finally:
            CURRENT_RETRIEVAL.reset(token)
        status = int(getattr(result, "status", 0) or 0)
        if self.metrics is not None:
            self.metrics.requests.labels(op, "success" if status == 0 else "failure").inc()
        if self.audit.enabled:
            self._audit_qr(op, incoming, status, result, record)
        return result

    def _audit_qr(
        self, op: str, incoming: Incoming, status: int, result: Any, record: Retrieval
    ) -> None:
        msg, assoc = incoming.message, incoming.association
        peer = au.Actor(assoc.calling_ae.strip() or "-", _host(assoc.peer))
        outcome = au.outcome_of_status(status)
        comment = getattr(result, "error_comment", None)
        if op == "find":
            if self.audit_queries:
                self.audit.emit(
                    au.query(
                        peer,
                        self.me,
                        incoming.context.abstract_syntax,
                        incoming.data or b"",
                        incoming.context.transfer_syntax,
                        outcome=outcome,
                        description=comment,
                    )
                )
            return
        if not record.found:
            return
        if isinstance(msg, dimse.CMoveRequest):
            dest_title = (msg.move_destination or "").strip()
            known = self.peers.get(dest_title)
            dest = au.Actor(dest_title, getattr(known, "host", None))
            requestor: au.Actor | None = peer
        else:
            dest, requestor = peer, None
        studies = au.Studies()
        for inst in record.found:
            pid, name = record.patients.get(inst.study_instance_uid, ("", ""))
            studies.add(
                inst.study_instance_uid or "-",
                inst.sop_class_uid,
                patient_id=pid,
                patient_name=name,
            )
        refs = studies.values()
        self.audit.emit(au.begin_transferring(self.me, dest, refs, requestor=requestor))
        failed = int(getattr(result, "failed", 0) or 0)
        self.audit.emit(
            au.instances_transferred(
                self.me,
                dest,
                refs,
                action="R",
                requestor=requestor,
                outcome=au.SUCCESS if status == 0 and not failed else au.MINOR_FAILURE,
                description=comment,
            )
        )

    # -- refusals, node life ------------------------------------------------------------------

    def _refused(self, incoming: Incoming, op: str, why: str) -> None:
        assoc = incoming.association
        bad_input(log, "%s: %s refused: %s", assoc.peer, op, why)
        if self.metrics is not None:
            self.metrics.refused.labels(op).inc()
        if self.audit.enabled:
            peer = au.Actor(assoc.calling_ae.strip() or "-", _host(assoc.peer))
            self.audit.emit(
                au.security_alert(
                    self.me,
                    peer,
                    au.USE_OF_RESTRICTED_FUNCTION,
                    subject=peer.host or "-",
                    description=why,
                )
            )

    def started(self) -> None:
        """The node listens: Application Activity, Application Start."""
        self.started_at = time.monotonic()
        self.audit.emit(au.application_activity(self.me, started=True, launcher=_launcher()))

    def stopped(self) -> None:
        """The node stops: Application Activity, Application Stop; the trail is closed."""
        self.audit.emit(au.application_activity(self.me, started=False, launcher=_launcher()))
        self.audit.close()


def _launcher() -> au.Actor:
    import getpass

    try:
        return au.Actor(getpass.getuser())
    except (OSError, KeyError):
        return au.Actor("-")


__all__ = ["CURRENT_RETRIEVAL", "NodeWatch", "Retrieval"]
