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
STOW-RS                Instances Transferred (110104, action C) for what was stored
DELETE                 DICOM Study Deleted (110105): the instances removed, per study
=====================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dicomkit.archive import _audit as au
from dicomkit.dictionary import uids

__all__ = ["WebAudit"]


class WebAudit:
    """Emits the audit messages of DICOMweb requests; does nothing without a trail (or
    with a disabled one)."""

    def __init__(self, trail: Any, ae_title: str, *, queries: bool = True) -> None:
        self.trail = trail
        self.me = au.Actor(ae_title or "DICOMKIT")
        self.queries = queries  # [audit] queries = false: no Query messages

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

    def retrieved(self, request: Any, found: Iterable[Any]) -> None:
        """A WADO-RS retrieve sends ``found`` (StoredInstance rows) to the client."""
        studies = _studies((i.study_instance_uid, i.sop_class_uid) for i in found)
        if not self.enabled or not studies:
            return
        client = self.who(request)
        self.trail.emit(au.begin_transferring(self.me, client, studies, requestor=client))
        self.trail.emit(
            au.instances_transferred(
                self.me, client, studies, action="R", requestor=client, description="WADO-RS"
            )
        )

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
