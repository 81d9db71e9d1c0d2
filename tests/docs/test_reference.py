"""The hand-written parts of the reference pages cover what the code has."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from pathlib import Path

import pytest
from docs_examples import DOCS

ROOT = DOCS.parent


def _hooks():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "tools" / "docs_hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_config_reference_explains_every_server_key() -> None:
    from dicomkit.archive._config import NodeConfig

    page = (DOCS / "reference" / "archive-config.md").read_text(encoding="utf-8")
    text = page.split("## The `[server]` table", 1)[1].split("## `[peers", 1)[0]
    explained = set(re.findall(r"^\| `([a-z_]+)` \|", text, re.MULTILINE))
    fields = {f.name for f in dataclasses.fields(NodeConfig)} - {"peers"}
    assert fields - explained == set(), "keys without an explanation"
    assert explained - fields == set(), "explained keys the code does not have"


def test_config_reference_names_every_serve_option() -> None:
    from dicomkit.cli._main import build_parser

    parser = build_parser()
    serve = parser._subparsers._group_actions[0].choices["serve"]  # type: ignore[union-attr]
    text = (DOCS / "reference" / "archive-config.md").read_text(encoding="utf-8")
    options = {
        opt
        for action in serve._actions
        for opt in action.option_strings
        if opt.startswith("--") and opt not in ("--help", "--config", "--verbose", "--log-file")
    }
    missing = {opt for opt in options if f"`{opt}" not in text}
    assert not missing, f"serve options not in docs/reference/archive-config.md: {missing}"


def test_every_generated_marker_has_a_generator() -> None:
    hooks = _hooks()
    used = set()
    for page in DOCS.rglob("*.md"):
        used |= set(re.findall(r"<!-- generated: ([a-z0-9-]+) -->", page.read_text("utf-8")))
    assert used, "no generated sections found"
    assert used <= set(hooks.GENERATORS), used - set(hooks.GENERATORS)
    with pytest.raises(ValueError, match="unknown generated section"):
        hooks.expand("<!-- generated: no-such-thing -->", "probe.md")


def test_conformance_lists_come_from_the_node() -> None:
    """The generated storage table lists every storage SOP class the node's acceptor takes."""
    from dicomkit.dictionary import storage_sop_classes

    table = _hooks().conformance_storage_classes()
    for uid in storage_sop_classes():
        assert f"`{uid}`" in table
    assert Path(DOCS / "reference" / "conformance.md").exists()


def test_config_reference_explains_the_commitment_section() -> None:
    from dicomkit.archive._commitments import CommitmentSettings

    page = (DOCS / "reference" / "archive-config.md").read_text(encoding="utf-8")
    text = page.split("## `[commitment]`", 1)[1].split("\n## ", 1)[0]
    explained = set(re.findall(r"^\| `([a-z_]+)` \|", text, re.MULTILINE))
    assert {f.name for f in dataclasses.fields(CommitmentSettings)} == explained
