"""MkDocs hooks: the parts of the documentation that are facts of the code, generated at build.

A page writes a marker on a line of its own, ``<!-- generated: NAME -->``, and the build puts
the text :data:`GENERATORS` ``[NAME]`` makes in its place. The lists in the conformance
statement, the command-line reference and the archive's configuration keys therefore cannot
drift from the code (``mkdocs build --strict`` fails on an unknown marker).
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
import re
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

_MARKER = re.compile(r"^<!-- generated: ([a-z0-9-]+) -->$", re.MULTILINE)


def _uid_name(uid: str) -> str:
    from dicomkit.dictionary import uid_info

    info = uid_info(uid)
    return info.name if info is not None else uid


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(out)


_NODE: list[Any] = []


def _node() -> Any:
    """An archive node as ``dicomkit serve`` builds it on defaults (over a temporary folder):
    its acceptor policy and configuration are what the conformance statement lists."""
    if not _NODE:
        import tempfile

        from dicomkit.archive._app import ArchiveNode
        from dicomkit.archive._config import NodeConfig

        with tempfile.TemporaryDirectory() as tmp:
            node = ArchiveNode(NodeConfig(archive=Path(tmp) / "archive"))
            acceptor = node.ae.acceptor_config(node.ae.handlers)
            _NODE.extend([acceptor, node.ae_config])
            node.storage.close()
            node.archive.close()
    return _NODE


def _acceptor() -> Any:
    return _node()[0]


def _sop_classes(kind: str) -> list[str]:
    from dicomkit.dictionary import storage_sop_classes
    from dicomkit.services import _query_retrieve as qr

    if kind == "storage":
        return list(storage_sop_classes())
    if kind == "qr":
        return list(qr.QR_SOP_CLASSES)
    return ["1.2.840.10008.1.1"]


def conformance_scp_classes() -> str:
    from dicomkit.dictionary import uid_info

    acc = _acceptor()
    storage = set(_sop_classes("storage"))
    rows = []
    for uid in acc.supported:
        if uid in storage:
            continue
        info = uid_info(uid)
        rows.append((_uid_name(uid), f"`{uid}`", info.type if info else "", "SCP"))
    return _table(("SOP Class", "UID", "Type", "Role"), rows)


def conformance_storage_classes() -> str:
    acc = _acceptor()
    rows = []
    for uid in _sop_classes("storage"):
        assert uid in acc.supported, uid
        rows.append((_uid_name(uid), f"`{uid}`"))
    return (
        f"{len(rows)} Storage SOP Classes, each as SCP (C-STORE) and as SCU (C-MOVE / C-GET sub-operations):\n\n"
        + _table(("SOP Class", "UID"), rows)
    )


def conformance_transfer_syntaxes() -> str:
    acc = _acceptor()
    storage = acc.supported[_sop_classes("storage")[0]]
    other = acc.supported[_sop_classes("qr")[0]]
    verification = acc.supported["1.2.840.10008.1.1"]
    rows = []
    for ts in storage:
        rows.append(
            (
                _uid_name(ts),
                f"`{ts}`",
                "yes",
                "yes" if ts in other else "",
                "yes" if ts in verification else "",
            )
        )
    return _table(("Transfer Syntax", "UID", "Storage", "Query/Retrieve", "Verification"), rows)


def conformance_extended() -> str:
    acc = _acceptor()
    rows = []
    for uid, info in acc.extended.items():
        rows.append((_uid_name(uid), f"`{info.hex(' ')}`"))
    return _table(("SOP Class", "Extended negotiation offered (bytes)"), rows)


def conformance_roles() -> str:
    acc = _acceptor()
    storage = set(_sop_classes("storage"))
    n = sum(1 for uid, (_scu, scp) in acc.roles.items() if uid in storage and scp)
    text = (
        f"SCP/SCU Role Selection (PS3.7 D.3.3.4) is accepted for {n} of the {len(storage)} "
        f"Storage SOP Classes: a C-GET requestor may take the SCP role for the storage "
        f"sub-operations on the same association."
    )
    others = [
        f"{_uid_name(uid)} (requestor as SCU: {'yes' if scu else 'no'}, as SCP: "
        f"{'yes' if scp else 'no'})"
        for uid, (scu, scp) in acc.roles.items()
        if uid not in storage
    ]
    if others:
        text += " Role selection is also answered for " + "; ".join(others) + "."
    return text


def conformance_identity() -> str:
    from dicomkit.archive._config import NodeConfig
    from dicomkit.net.proto._negotiation import (
        IMPLEMENTATION_CLASS_UID,
        IMPLEMENTATION_VERSION_NAME,
    )

    node, ae = NodeConfig(), _node()[1]
    rows = [
        ("Implementation Class UID", f"`{IMPLEMENTATION_CLASS_UID}`"),
        ("Implementation Version Name", f"`{IMPLEMENTATION_VERSION_NAME}`"),
        ("Application Context Name", "`1.2.840.10008.3.1.1.1` (DICOM Application Context)"),
        ("AE title (default)", f"`{node.ae_title}`"),
        ("TCP port (default)", f"`{node.port}`"),
        ("Maximum PDU length received", f"{ae.max_pdu} bytes"),
        ("Simultaneous associations (default)", str(ae.max_associations)),
        (
            "Simultaneous associations from one address / one AE title",
            f"{ae.max_associations_per_host} / {ae.max_associations_per_aet}",
        ),
        ("Association set-up and release (ARTIM) timeout", f"{ae.timeouts.acse:g} s"),
        ("A peer silent in the middle of a message", f"{ae.timeouts.dimse:g} s, then aborted"),
        ("An idle association", f"{ae.timeouts.idle:g} s, then aborted"),
        (
            "Asynchronous operations window",
            f"{ae.async_ops[0]} invoked, {ae.async_ops[1]} performed (not negotiated beyond)",
        ),
    ]
    return _table(("Item", "Value"), rows)


def conformance_query_keys() -> str:
    from dicomkit.archive._schema import ATTRIBUTES

    rows = []
    for attr in ATTRIBUTES:
        kind = {"U": "Unique", "R": "Required", "O": "Optional"}[str(attr.key)]
        rows.append(
            (
                str(attr.level),
                attr.keyword,
                f"({attr.tag >> 16:04X},{attr.tag & 0xFFFF:04X})",
                attr.vr,
                kind + (" (computed)" if attr.computed else ""),
            )
        )
    return _table(("Level", "Attribute", "Tag", "VR", "Key"), rows)


def conformance_charsets() -> str:
    from dicomkit.core.values import _charset as charset

    single = ", ".join(f"`{t}`" for t in charset._SINGLE)
    iso2022 = ", ".join(f"`{t}`" for t in charset._ISO2022)
    return (
        f"- Single-valued (no code extensions): {single}.\n"
        f"- With ISO 2022 code extensions: {iso2022}."
    )


def cli_reference() -> str:
    from dicomkit.cli._main import SUBCOMMANDS, build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        parser = build_parser()
        subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
        out = ["## dicomkit", "", "```text", _help(parser), "```", ""]
        for name in SUBCOMMANDS:
            if name in subs:
                out += [f"## dicomkit {name}", "", "```text", _help(subs[name]), "```", ""]
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old
    return "\n".join(out)


def _help(parser: argparse.ArgumentParser) -> str:
    buf = io.StringIO()
    with redirect_stdout(buf):
        parser.print_help()
    return buf.getvalue().rstrip()


def config_keys() -> str:
    from dicomkit.archive._config import NodeConfig

    rows = []
    for f in dataclasses.fields(NodeConfig):
        if f.name in ("peers", "access", "audit"):  # tables of their own
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        if hasattr(default, "value"):
            default = default.value
        if isinstance(default, frozenset):
            default = sorted(default)
        rows.append((f"`{f.name}`", f"`{default!r}`".replace("PosixPath", "Path")))
    return _table(("[server] key", "default"), rows)


GENERATORS: dict[str, Callable[[], str]] = {
    "conformance-scp-classes": conformance_scp_classes,
    "conformance-storage-classes": conformance_storage_classes,
    "conformance-transfer-syntaxes": conformance_transfer_syntaxes,
    "conformance-extended": conformance_extended,
    "conformance-roles": conformance_roles,
    "conformance-query-keys": conformance_query_keys,
    "conformance-identity": conformance_identity,
    "conformance-charsets": conformance_charsets,
    "cli-reference": cli_reference,
    "config-keys": config_keys,
}


def expand(markdown: str, where: str = "") -> str:
    """Replace every ``<!-- generated: NAME -->`` line with what its generator makes."""

    def one(m: re.Match[str]) -> str:
        gen = GENERATORS.get(m.group(1))
        if gen is None:
            raise ValueError(f"{where}: unknown generated section {m.group(1)!r}")
        return gen()

    return _MARKER.sub(one, markdown)


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    return expand(markdown, page.file.src_path)


# Docstrings use Sphinx roles (:class:`~dicomkit.net.AE`); rendered as Markdown they would show
# the role's name. Keep the code span, drop the role, and shorten ``~a.b.C`` to ``C``.
_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):<code>(~?)([^<]*)</code>")


def _role(m: re.Match[str]) -> str:
    name = m.group(2).rsplit(".", 1)[-1] if m.group(1) else m.group(2)
    return f"<code>{name}</code>"


def on_page_content(html: str, **_: Any) -> str:
    return _ROLE.sub(_role, html)
