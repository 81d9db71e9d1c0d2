"""Configuration of the archive node (``dicomkit serve``): defaults, a TOML file, CLI overrides.

With no file at all the node runs on defaults: ``./archive``, a SQLite index inside it, port
11112, AE title ``DICOMKIT``, any calling AE title accepted, no C-MOVE destinations. A TOML
file (read with :mod:`tomllib`) may set any of them::

    [server]
    ae_title = "DICOMKIT"
    host = "0.0.0.0"
    port = 11112
    archive = "/srv/dicom"            # relative paths are relative to the file
    db = "postgresql://pacs@db/pacs"  # default: sqlite inside the archive folder
    duplicates = "keep"               # keep | replace | reject (see archive.store)
    accepted_calling_aets = ["MODALITY1", "VIEWER"]   # empty or absent: anyone
    pn_case_insensitive = true
    max_associations = 64
    max_associations_per_host = 48   # 0: no limit; keeps one caller from locking out others
    max_associations_per_aet = 32
    max_pending = 64                  # connections waiting for their A-ASSOCIATE-RQ
    max_request_bytes = 131072        # longest A-ASSOCIATE-RQ
    max_pending_bytes = 16777216      # all partial A-ASSOCIATE-RQs together
    acse_timeout = 30                 # seconds for the association request (ARTIM)
    dimse_timeout = 60                # silence inside a message; time one PDU may take
    idle_timeout = 120                # an association with nothing to do is released
    async_ops = 16                    # operations a requestor may have outstanding (1: none)
    require_called_aet = false        # true: reject a called AE title that is not ours
    min_free_bytes = 268435456        # refuse stores (A700) below this much free disk
    lenient_uids = false              # true: accept legacy UIDs (leading-zero components)
    check = true                      # the start-up check of index vs files
    tls_cert = "node.pem"             # TLS on the port (PS3.15 B.1); with tls_key, tls_ca
    tls_key = "node.key"              # (tls_ca: callers must present a certificate)

    [peers.VIEWER]                    # C-MOVE destinations, by AE title
    host = "10.0.0.7"
    port = 104
    tls = false                       # or true, with optional ca / cert / key paths

Command-line options (``--port``, ``--aet``, ``--peer AET=HOST:PORT``, ``--db``,
``--tls-cert/--tls-key/--tls-ca``) override the file. The result is a frozen :class:`NodeConfig`.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dicomkit.archive._access import AccessPolicy, parse_policy
from dicomkit.archive._audit_trail import AuditSettings, parse_settings
from dicomkit.archive._store import DuplicatePolicy
from dicomkit.errors import ArchiveError


class ConfigError(ArchiveError):
    """A configuration file or option that cannot be used (says which and why)."""


@dataclass(frozen=True, slots=True)
class Peer:
    """A remote application entity the node may connect to (C-MOVE destination)."""

    ae_title: str
    host: str
    port: int
    tls: bool = False
    ca: str | None = None
    cert: str | None = None
    key: str | None = None


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """The archive node's settings, frozen: defaults, overridden by a TOML file and then by
    command-line options (:func:`load`); see the configuration reference."""

    ae_title: str = "DICOMKIT"
    host: str = "0.0.0.0"
    port: int = 11112
    archive: Path = Path("archive")
    db: str | None = None
    duplicates: DuplicatePolicy = DuplicatePolicy.KEEP
    accepted_calling_aets: frozenset[str] = frozenset()
    peers: Mapping[str, Peer] = field(default_factory=dict)
    pn_case_insensitive: bool = True
    max_associations: int = 64
    #: lock-out protection (see :class:`~dicomkit.net._config.AEConfig`; 0: no per-host /
    #: per-AE limit)
    max_associations_per_host: int = 48
    max_associations_per_aet: int = 32
    max_pending: int = 64
    max_request_bytes: int = 128 * 1024
    max_pending_bytes: int = 16 * 1024 * 1024
    #: seconds: association request (ARTIM), silence inside a message (and the time one PDU
    #: may take to arrive), an association with nothing to do
    acse_timeout: float = 30.0
    dimse_timeout: float = 60.0
    idle_timeout: float = 120.0
    #: the asynchronous operations window granted (PS3.7 D.3.3.3): up to this many operations
    #: outstanding at once, each way, when the requestor proposes a window; 0 or 1: none (one
    #: at a time). C-STOREs within the window are stored at once (sharing batch commits);
    #: every other operation waits for those before it and runs alone, in order.
    async_ops: int = 1
    #: reject associations whose called AE title is not ours (1, 1, 7)
    require_called_aet: bool = False
    #: refuse new stores (A700) while less than this many bytes are free on the archive's disk
    min_free_bytes: int = 256 * 1024 * 1024
    #: accept legacy UIDs with a leading-zero component (e.g. 1.2.03.4) as dcmqrscp and
    #: Orthanc store them; still only digits and dots, at most 64 characters
    lenient_uids: bool = False
    #: run the start-up consistency check (index vs files); False: ``serve --no-check``
    check: bool = True
    #: TLS on the listening port (PS3.15 B.1): our certificate and key (PEM); with a CA,
    #: callers must present a certificate it signed
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_ca: str | None = None
    #: DICOMweb (PS3.18, :mod:`dicomkit.web`) on this HTTP port in the same process; 0: off
    http_port: int = 8042
    #: address DICOMweb listens on (loopback only by default)
    http_host: str = "127.0.0.1"
    #: health check and Prometheus metrics (:mod:`._metrics`) on this HTTP port; 0: off
    metrics_port: int = 0
    #: address the metrics port listens on (loopback only by default)
    metrics_host: str = "127.0.0.1"
    #: the node's log file (``--log-file``), rotated at ``log_max_bytes`` (0: never by
    #: size) or ``log_rotate`` ("midnight", "hourly", "daily"; empty: never by time), keeping
    #: ``log_backups`` old files
    log_file: str | None = None
    log_max_bytes: int = 0
    log_backups: int = 7
    log_rotate: str = ""
    #: ``[access]``: per calling AE title permissions (default: everyone may do everything)
    access: AccessPolicy = field(default_factory=AccessPolicy)
    #: ``[audit]``: the audit trail (PS3.15 A.5) to a file and / or a syslog collector
    audit: AuditSettings = field(default_factory=AuditSettings)
    #: the hosted services' sections (``[commitment]``, ``[worklist]``, ``[mpps]``), as read;
    #: checked by :mod:`dicomkit.archive._hosted`
    services: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def accepts(self, calling_ae: str) -> bool:
        """True when a calling AE title may associate (any title when ``accepted_calling_aets`` is
        empty)."""
        return not self.accepted_calling_aets or calling_ae.strip() in self.accepted_calling_aets

    def replace(self, **changes: Any) -> NodeConfig:
        """A copy with the given fields changed."""
        return dataclasses.replace(self, **changes)


def _check_ae(title: str, where: str) -> str:
    t = title.strip()
    if not t or len(t) > 16 or "\\" in t or not t.isprintable():
        raise ConfigError(f"{where}: {title!r} is not an AE title (1-16 printable characters)")
    return t


_INTS = (
    "port",
    "max_associations",
    "max_associations_per_host",
    "max_associations_per_aet",
    "max_pending",
    "max_request_bytes",
    "max_pending_bytes",
    "async_ops",
    "min_free_bytes",
    "http_port",
    "metrics_port",
    "log_max_bytes",
    "log_backups",
)
_FLOATS = ("acse_timeout", "dimse_timeout", "idle_timeout")
#: ``log_rotate`` values: "" never, else TimedRotatingFileHandler's ``when``
_ROTATIONS = ("", "midnight", "hourly", "daily")


#: the largest asynchronous operations window: its fields are 16-bit (PS3.7 D.3.3.3)
MAX_ASYNC_OPS = 65535


def _number(kind: type[int | float], key: str, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"[server] {key} = {value!r}: a number >= 0")
    if key == "async_ops" and (value != int(value) or value > MAX_ASYNC_OPS):
        raise ConfigError(
            f"[server] async_ops = {value!r}: a whole number of operations, 0 to {MAX_ASYNC_OPS}"
            " (0 or 1: no window)"
        )
    return kind(value)


def parse_peer(text: str) -> Peer:
    """``AET=HOST:PORT`` (the ``--peer`` option)."""
    try:
        aet, address = text.split("=", 1)
        host, port = address.rsplit(":", 1)
        return Peer(_check_ae(aet, "--peer"), host.strip(), int(port))
    except ValueError:
        raise ConfigError(
            f"--peer {text!r}: expected AET=HOST:PORT, e.g. VIEWER=10.0.0.7:104"
        ) from None


def load(path: str | Path | None, **overrides: Any) -> NodeConfig:
    """Read a TOML file (or nothing) and apply non-None ``overrides``."""
    cfg = NodeConfig()
    if path is not None:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read config {p}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: not valid TOML: {exc}") from exc
        cfg = from_mapping(data, base=p.parent)
    extra_peers = overrides.pop("extra_peers", None) or []
    audit_file = overrides.pop("audit_file", None)
    audit_syslog = overrides.pop("audit_syslog", None)
    if audit_file or audit_syslog:  # --audit-file / --audit-syslog
        from dicomkit.archive._audit_trail import SyslogTarget

        audit = cfg.audit
        if audit_file:
            audit = dataclasses.replace(audit, file=Path(audit_file))
        if audit_syslog:
            old = audit.syslog
            target = SyslogTarget.parse(
                audit_syslog,
                ca=old.ca if old else None,
                cert=old.cert if old else None,
                key=old.key if old else None,
            )
            audit = dataclasses.replace(audit, syslog=target)
        cfg = cfg.replace(audit=audit)
    changes = {k: v for k, v in overrides.items() if v is not None}
    if "log_rotate" in changes and changes["log_rotate"] not in _ROTATIONS:
        raise ConfigError(f"--log-rotate {changes['log_rotate']!r}: use midnight, hourly or daily")
    if "archive" in changes:
        changes["archive"] = Path(changes["archive"])
    for key in (*_INTS, *_FLOATS):
        if key in changes:
            changes[key] = _number(int if key in _INTS else float, key, changes[key])
    if "ae_title" in changes:
        changes["ae_title"] = _check_ae(changes["ae_title"], "--aet")
    cfg = cfg.replace(**changes)
    if (cfg.tls_key or cfg.tls_ca) and not cfg.tls_cert:
        raise ConfigError("TLS needs our certificate: add --tls-cert (tls_cert in the file)")
    if extra_peers:
        peers = dict(cfg.peers)
        for peer in extra_peers:
            peers[peer.ae_title] = peer
        cfg = cfg.replace(peers=peers)
    return cfg


def from_mapping(data: Mapping[str, Any], base: Path = Path(".")) -> NodeConfig:
    """A :class:`NodeConfig` from parsed TOML (``[server]`` and ``[peers.AET]`` tables); relative
    paths are taken relative to ``base``. Unknown sections or keys raise :class:`ConfigError`
    naming them."""
    server = dict(data.get("server", {}))
    from dicomkit.archive._hosted import SECTIONS, check_section

    unknown = set(data) - {"server", "peers", "web", "access", "audit", *SECTIONS}
    if unknown:
        raise ConfigError(
            f"unknown config section(s): {', '.join(sorted(unknown))}; known: server, peers, "
            "web, access, audit, " + ", ".join(SECTIONS)
        )
    services = {name: check_section(name, data[name], base) for name in SECTIONS if name in data}
    if "web" in data:
        from dicomkit.archive._web_settings import check_web

        check_web(data["web"], base)  # checked now: a bad [web] stops the node at start-up
        services["web"] = {"settings": data["web"], "base": str(base)}
    known = {f.name for f in dataclasses.fields(NodeConfig)} - {
        "peers",
        "services",
        "access",
        "audit",
    }
    bad = set(server) - known
    if bad:
        raise ConfigError(
            f"[server]: unknown key(s) {', '.join(sorted(bad))}; known: {', '.join(sorted(known))}"
        )
    kw: dict[str, Any] = {}
    for key, value in server.items():
        if key == "archive":
            p = Path(value)
            kw[key] = p if p.is_absolute() else base / p
        elif key == "log_rotate":
            if value not in _ROTATIONS:
                raise ConfigError(
                    f"[server] log_rotate = {value!r}: use one of {', '.join(_ROTATIONS)}"
                )
            kw[key] = value
        elif key in ("tls_cert", "tls_key", "tls_ca", "log_file"):
            p = Path(value)
            kw[key] = str(p if p.is_absolute() else base / p)
        elif key == "duplicates":
            try:
                kw[key] = DuplicatePolicy(value)
            except ValueError:
                raise ConfigError(
                    f"[server] duplicates = {value!r}: use keep, replace or reject"
                ) from None
        elif key == "accepted_calling_aets":
            kw[key] = frozenset(_check_ae(v, "accepted_calling_aets") for v in value)
        elif key == "ae_title":
            kw[key] = _check_ae(value, "[server] ae_title")
        elif key in _INTS:
            kw[key] = _number(int, key, value)
        elif key in _FLOATS:
            kw[key] = _number(float, key, value)
        elif key in ("require_called_aet", "lenient_uids", "check", "pn_case_insensitive"):
            if not isinstance(value, bool):
                raise ConfigError(f"[server] {key} = {value!r}: use true or false")
            kw[key] = value
        else:
            kw[key] = value
    peers: dict[str, Peer] = {}
    for aet, entry in dict(data.get("peers", {})).items():
        if not isinstance(entry, Mapping) or "host" not in entry or "port" not in entry:
            raise ConfigError(f"[peers.{aet}] needs host and port")
        extra = set(entry) - {"host", "port", "tls", "ca", "cert", "key", "ae_title"}
        if extra:
            raise ConfigError(f"[peers.{aet}]: unknown key(s) {', '.join(sorted(extra))}")
        title = _check_ae(str(entry.get("ae_title", aet)), f"[peers.{aet}]")
        peers[title] = Peer(
            title,
            str(entry["host"]),
            int(entry["port"]),
            bool(entry.get("tls", False)),
            entry.get("ca"),
            entry.get("cert"),
            entry.get("key"),
        )
    if "access" in data:
        kw["access"] = parse_policy(data["access"])
    if "audit" in data:
        kw["audit"] = parse_settings(data["audit"], base)
    return NodeConfig(**kw, peers=peers, services=services)


#: the name the package exports (``from dicomkit.archive import load_config``)
load_config = load
