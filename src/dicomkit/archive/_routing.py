"""Routing: the node forwards instances to other AEs as they arrive, by rules in the config
file, through the persistent outbox (:mod:`dicomkit.archive._outbox`)::

    [routing]
    retry_initial = 2            # seconds before the first retry of an unreachable peer
    retry_max = 300              # longest wait between retries (the wait doubles)

    [[routing.rules]]            # every rule that matches sends the instance to its peers
    to = ["PACS"]                # destination AE titles, each in [peers]
    calling_aet = ["CT1", "MR*"] # optional: who sent it (wildcards * and ?)
    modality = ["CT", "MR"]      # optional: the series' Modality
    sop_class = ["CTImageStorage"]   # optional: SOP Class keywords or UIDs
    match = { PatientID = "PID0*", StudyDate = "20240101-" }   # optional: C-FIND matching

A rule matches when every condition it has holds. ``match`` takes any attribute the index
keeps (the query keys of ``dicomkit find``), matched as a C-FIND identifier is (wildcards,
date ranges, UID lists; PS3.4 C.2.2.2). An instance is queued (one row per destination, written
before the C-STORE response is sent) only when it was newly stored or replaced; a duplicate
the node ignored is not sent again. The sender then stores the queued instances to each peer
on one association per batch, converting the transfer syntax when the peer accepted another
one (as the node does for C-MOVE), and retries with back-off while the peer is down, also
across restarts. ``dicomkit archive queue ARCHIVE_DIR`` lists what is waiting.
"""

from __future__ import annotations

import fnmatch
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dicomkit.archive import _outbox as outbox
from dicomkit.errors import (
    DicomError,
    DimseError,
    DimseOutOfResources,
    LocalProtocolError,
    NetworkError,
)

if TYPE_CHECKING:
    from dicomkit.archive._app import ArchiveNode
    from dicomkit.archive._config import Peer
    from dicomkit.archive._node import IngestResult

log = logging.getLogger("dicomkit.archive.routing")

KIND = "store"


@dataclass(frozen=True, slots=True)
class RoutingRule:
    """One ``[[routing.rules]]`` entry: conditions (all must hold) and destinations."""

    to: tuple[str, ...]
    calling_aet: tuple[str, ...] = ()
    modality: tuple[str, ...] = ()
    sop_class: tuple[str, ...] = ()
    match: Mapping[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """The rule in one line, for logs and the start-up line."""
        parts = [f"{k}={'|'.join(v)}" for k, v in self._named() if v]
        parts += [f"{k}={v}" for k, v in self.match.items()]
        return f"{' '.join(parts) or 'everything'} -> {', '.join(self.to)}"

    def _named(self) -> list[tuple[str, tuple[str, ...]]]:
        return [
            ("calling_aet", self.calling_aet),
            ("modality", self.modality),
            ("sop_class", self.sop_class),
        ]


@dataclass(frozen=True, slots=True)
class RoutingSettings:
    """``[routing]`` of the node's config file."""

    enabled: bool = True
    #: seconds before the first retry of a peer that cannot be reached; doubles each time
    retry_initial: float = 2.0
    #: longest wait between retries
    retry_max: float = 300.0
    #: instances per association
    batch: int = 200
    rules: tuple[RoutingRule, ...] = ()

    @property
    def active(self) -> bool:
        """Enabled and with at least one rule."""
        return self.enabled and bool(self.rules)


def _strings(where: str, value: Any) -> tuple[str, ...]:
    from dicomkit.archive._config import ConfigError

    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f'{where} = {value!r}: a string or a list of strings, e.g. ["CT"]')
    return tuple(v.strip() for v in value)


def parse_rule(n: int, entry: Any) -> RoutingRule:
    """One ``[[routing.rules]]`` table, checked (raises ConfigError saying what to fix)."""
    from dicomkit.archive._config import ConfigError
    from dicomkit.archive._schema import BY_KEYWORD, SEQUENCES
    from dicomkit.dictionary import uid_for_keyword

    where = f"[[routing.rules]] #{n}"
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: must be a table (to = [...], modality = ...)")
    known = {"to", "calling_aet", "modality", "sop_class", "match"}
    bad = set(entry) - known
    if bad:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(bad))}; known: {known}")
    if "to" not in entry:
        raise ConfigError(f'{where}: needs to = ["AET", ...], the peers to send to')
    sop_classes = []
    for s in _strings(f"{where} sop_class", entry.get("sop_class", [])):
        uid = s if s[:1].isdigit() else uid_for_keyword(s)
        if uid is None:
            raise ConfigError(f"{where} sop_class: {s!r} is no SOP Class keyword or UID")
        sop_classes.append(uid)
    match = entry.get("match", {})
    if not isinstance(match, Mapping):
        raise ConfigError(f'{where} match: a table, e.g. {{ PatientID = "PID*" }}')
    checked: dict[str, str] = {}
    for key, value in match.items():
        if key not in BY_KEYWORD or key in SEQUENCES:
            raise ConfigError(
                f"{where} match: {key} is not kept in the index, so it cannot be matched "
                f"(indexed: {', '.join(sorted(k for k in BY_KEYWORD if k not in SEQUENCES))})"
            )
        if key in ("QueryRetrieveLevel", "SOPInstanceUID"):
            raise ConfigError(f"{where} match: {key} cannot be a routing condition")
        if not isinstance(value, str | int):
            raise ConfigError(f"{where} match {key} = {value!r}: a string (C-FIND syntax)")
        checked[key] = str(value)
    return RoutingRule(
        to=_strings(f"{where} to", entry["to"]),
        calling_aet=_strings(f"{where} calling_aet", entry.get("calling_aet", [])),
        modality=_strings(f"{where} modality", entry.get("modality", [])),
        sop_class=tuple(sop_classes),
        match=checked,
    )


def check_section(value: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """``[routing]`` as :class:`RoutingSettings` keyword arguments (raises ConfigError)."""
    from dicomkit.archive._config import ConfigError

    out: dict[str, Any] = {}
    for key, v in value.items():
        if key == "rules":
            if not isinstance(v, list):
                raise ConfigError("[routing] rules: use [[routing.rules]] tables")
            out["rules"] = tuple(parse_rule(n + 1, e) for n, e in enumerate(v))
        elif key == "enabled":
            if not isinstance(v, bool):
                raise ConfigError(f"[routing] enabled = {v!r}: use true or false")
            out[key] = v
        elif key in ("retry_initial", "retry_max", "batch"):
            if isinstance(v, bool) or not isinstance(v, int | float) or v <= 0:
                raise ConfigError(f"[routing] {key} = {v!r}: a number > 0")
            out[key] = int(v) if key == "batch" else float(v)
        else:
            raise ConfigError(
                f"[routing]: unknown key {key!r}; known: enabled, retry_initial, retry_max, "
                "batch, rules"
            )
    return out


def _wild(patterns: Sequence[str], value: str, *, fold: bool = False) -> bool:
    v = value.strip()
    if fold:
        v = v.upper()
    return any(fnmatch.fnmatchcase(v, p.upper() if fold else p) for p in patterns)


class Router:
    """Queues arriving instances by the rules, and sends the queue (see the module
    docstring)."""

    def __init__(self, node: ArchiveNode, settings: RoutingSettings) -> None:
        from dicomkit.archive._config import ConfigError

        missing = sorted({p for r in settings.rules for p in r.to} - set(node.config.peers))
        if missing:
            raise ConfigError(
                f"[[routing.rules]] to: {', '.join(missing)} not in [peers]: add "
                "[peers.AET] with host and port for each"
            )
        self.node = node
        self.settings = settings
        self.db = node.archive.index.db
        self.sender = outbox.OutboxSender(
            self.db,
            KIND,
            node.config.peers.get,
            self._deliver,
            retry_initial=settings.retry_initial,
            retry_max=settings.retry_max,
            batch=settings.batch,
        )

    # -- choosing (ingest worker thread) -----------------------------------------------------

    def destinations(self, calling_ae: str, result: IngestResult) -> list[str]:
        """The peers the rules send this just-stored instance to (in rule order, once each)."""
        out: dict[str, None] = {}
        for rule in self.settings.rules:
            if all(p in out for p in rule.to):
                continue
            if self._matches(rule, calling_ae, result):
                out.update(dict.fromkeys(rule.to))
        return list(out)

    def _matches(self, rule: RoutingRule, calling_ae: str, result: IngestResult) -> bool:
        if rule.calling_aet and not _wild(rule.calling_aet, calling_ae, fold=True):
            return False
        if rule.sop_class and result.sop_class_uid not in rule.sop_class:
            return False
        if not rule.modality and not rule.match:
            return True
        if self.node.archive.index.lookup(result.sop_instance_uid) is None:
            return False  # a non-patient object: it has no series, modality or patient
        from dicomkit.archive._matching import Model, QueryOptions

        ident: dict[str, Any] = {
            "QueryRetrieveLevel": "IMAGE",
            "SOPInstanceUID": result.sop_instance_uid,
            **rule.match,
        }
        if rule.modality and "Modality" not in ident:
            ident["Modality"] = ""
        options = QueryOptions(
            relational=True, pn_case_insensitive=self.node.archive.options.pn_case_insensitive
        )
        for found in self.node.archive.find(ident, Model.STUDY_ROOT, options=options):
            if not rule.modality:
                return True
            values = str(found.as_dict().get("Modality") or "").split("\\")
            return any(_wild(rule.modality, v) for v in values)
        return False

    def on_stored(self, calling_ae: str, result: IngestResult) -> None:
        """(ingest worker thread, before the C-STORE response) Queue the instance for every
        destination whose rule matches."""
        if result.outcome == "kept":
            return
        peers = self.destinations(calling_ae, result)
        if not peers:
            return
        rel = str(result.path.relative_to(self.node.archive.root))
        data = json.dumps({"path": rel, "sop_class": result.sop_class_uid})
        outbox.add(self.db, [(p, KIND, result.sop_instance_uid, data) for p in peers])
        log.debug("routing %s to %s", result.sop_instance_uid, ", ".join(peers))
        self.sender.wake()

    # -- sending ------------------------------------------------------------------------

    async def start(self) -> None:
        await self.sender.start()

    async def stop(self) -> None:
        await self.sender.stop()

    async def _deliver(self, peer: Peer, batch: list[outbox.OutboxItem], done: Any) -> None:
        from dicomkit.services._storage import contexts_for, read_instance, store

        ready = []
        for it in batch:
            path = self.node.archive.root / json.loads(it.data)["path"]
            try:
                ready.append((it, read_instance(path)))
            except (OSError, DicomError) as exc:
                await done(it, f"the stored file cannot be read ({exc}); was it deleted?")
        if not ready:
            return
        # at most 128 presentation contexts per association: the rest waits for the next one
        contexts = contexts_for([inst for _, inst in ready])
        while len(contexts) > 128 or len({c[0] for c in contexts}) > 64:
            ready = ready[: len(ready) // 2]
            contexts = contexts_for([inst for _, inst in ready])
        assoc = await self.node.connect(peer.ae_title, contexts)
        try:
            for it, inst in ready:
                try:
                    await store(assoc, inst)
                except DimseOutOfResources:
                    raise  # the peer is full for now: back off, like an unreachable one
                except DimseError as exc:  # refused: this one fails, the rest go on
                    await done(it, str(exc))
                    continue
                except DicomError as exc:
                    transient = isinstance(exc, NetworkError) and not isinstance(
                        exc, LocalProtocolError
                    )
                    if transient or assoc.is_closed:
                        raise
                    await done(it, str(exc))  # no context for it, or unreadable: failed
                    continue
                await done(it, None)
            await assoc.release()
        except BaseException:
            await assoc.abort()
            raise
