"""Who may do what on the archive node: per calling AE title permissions (``[access]``).

::

    [access]
    default = ["store", "query", "retrieve"]  # AE titles without a section of their own
    [access.MODALITY1]
    allow = ["store"]
    hosts = ["10.0.0.5", "10.0.1.0/24"]        # this title only from these addresses
    [access.VIEWER]
    allow = ["query", "retrieve"]
    move_destinations = ["VIEWER"]              # C-MOVE only to these (default: any peer)

Permissions are ``store`` (C-STORE), ``query`` (C-FIND of any model, the worklist too) and
``retrieve`` (C-MOVE, C-GET);
Verification (C-ECHO) is always allowed. Without an ``[access]`` section everyone may do
everything (the AE title filter ``accepted_calling_aets`` still applies). A calling AE title
with no permission at all is rejected at association (A-ASSOCIATE-RJ, 1-1-3 "calling AE title
not recognized"); a refused operation is answered 0124 "Refused: Not authorized" (PS3.7 C.5.x)
with an Error Comment naming what is missing; both are audited (Security Alert).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dicomkit.errors import ArchiveError

#: what an AE title may be allowed to do
PERMISSIONS = ("store", "query", "retrieve")


class AccessConfigError(ArchiveError):
    """An ``[access]`` setting that cannot be used (says which and how to fix it)."""


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class AERule:
    """What one calling AE title may do, and from where (``hosts``: empty = anywhere)."""

    allow: frozenset[str]
    hosts: tuple[Network, ...] = ()
    #: C-MOVE destinations it may name (None: any configured peer)
    move_destinations: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """Per-AE permissions (see the module docstring); the default policy allows everything."""

    default: AERule = field(default_factory=lambda: AERule(frozenset(PERMISSIONS)))
    rules: Mapping[str, AERule] = field(default_factory=dict)

    @property
    def restricted(self) -> bool:
        """Whether anything is restricted at all."""
        return bool(self.rules) or self.default.allow != frozenset(PERMISSIONS)

    def rule(self, calling_ae: str) -> AERule:
        """The rule of ``calling_ae`` (its own section, else the default)."""
        return self.rules.get(calling_ae.strip(), self.default)

    def refusal(self, calling_ae: str, host: str, what: str) -> str | None:
        """None when ``calling_ae`` at ``host`` may do ``what`` (store, query, retrieve), else
        why not, in words for an Error Comment and the log."""
        title = calling_ae.strip()
        rule = self.rule(title)
        if what not in rule.allow:
            return f"calling AE title {title!r} may not {what} here ([access] in the config)"
        if rule.hosts and not _in(host, rule.hosts):
            return f"calling AE title {title!r} is not allowed from {host} ([access] hosts)"
        return None

    def move_refusal(self, calling_ae: str, destination: str) -> str | None:
        """None when ``calling_ae`` may send a C-MOVE to ``destination``, else why not."""
        allowed = self.rule(calling_ae).move_destinations
        if allowed is None or destination.strip() in allowed:
            return None
        return (
            f"calling AE title {calling_ae.strip()!r} may not move to {destination.strip()!r} "
            "([access] move_destinations)"
        )

    def may_associate(self, calling_ae: str) -> bool:
        """Whether ``calling_ae`` has any permission (else its association is rejected)."""
        return bool(self.rule(calling_ae).allow)

    def known_titles(self) -> frozenset[str] | None:
        """The calling AE titles that may associate when the default allows nothing (the
        acceptor then rejects any other); None when the default allows something."""
        if self.default.allow:
            return None
        return frozenset(t for t, r in self.rules.items() if r.allow)


def _in(host: str, nets: tuple[Network, ...]) -> bool:
    try:
        addr = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return any(addr.version == n.version and addr in n for n in nets)


def _perms(value: Any, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AccessConfigError(f'{where}: a list such as ["store", "query"]')
    bad = [v for v in value if v not in PERMISSIONS]
    if bad:
        raise AccessConfigError(
            f"{where}: unknown permission(s) {', '.join(bad)}; use {', '.join(PERMISSIONS)}"
        )
    return frozenset(value)


def _hosts(value: Any, where: str) -> tuple[Network, ...]:
    if not isinstance(value, list):
        raise AccessConfigError(f'{where}: a list of addresses or networks, e.g. ["10.0.0.0/8"]')
    nets = []
    for v in value:
        try:
            nets.append(ipaddress.ip_network(str(v), strict=False))
        except ValueError:
            raise AccessConfigError(
                f"{where}: {v!r} is not an IP address or network (e.g. 10.0.1.0/24)"
            ) from None
    return tuple(nets)


def parse_policy(section: Any) -> AccessPolicy:
    """``[access]`` as read from TOML."""
    if not isinstance(section, Mapping):
        raise AccessConfigError("[access] must be a table")
    default = AERule(frozenset(PERMISSIONS))
    rules: dict[str, AERule] = {}
    for key, value in section.items():
        if key == "default":
            default = AERule(_perms(value, "[access] default"))
            continue
        where = f"[access.{key}]"
        if not isinstance(value, Mapping):
            raise AccessConfigError(
                f"[access] {key}: unknown key; use default = [...] or a [access.AETITLE] table"
            )
        extra = set(value) - {"allow", "hosts", "move_destinations", "ae_title"}
        if extra:
            raise AccessConfigError(
                f"{where}: unknown key(s) {', '.join(sorted(extra))}; known: allow, hosts, "
                "move_destinations"
            )
        title = str(value.get("ae_title", key)).strip()
        if not title or len(title) > 16:
            raise AccessConfigError(f"{where}: {title!r} is not an AE title (1-16 characters)")
        moves = value.get("move_destinations")
        if moves is not None and (
            not isinstance(moves, list) or not all(isinstance(m, str) for m in moves)
        ):
            raise AccessConfigError(f"{where} move_destinations: a list of AE titles")
        rules[title] = AERule(
            _perms(value.get("allow", []), f"{where} allow"),
            _hosts(value.get("hosts", []), f"{where} hosts"),
            frozenset(m.strip() for m in moves) if moves is not None else None,
        )
    return AccessPolicy(default, rules)


__all__ = ["PERMISSIONS", "AERule", "AccessConfigError", "AccessPolicy", "parse_policy"]
