"""net/proto is sans-IO: no module may import socket, asyncio, threading, selectors or time."""

from __future__ import annotations

import ast
from pathlib import Path

import dicomkit.net.proto

FORBIDDEN = {"socket", "asyncio", "threading", "selectors", "time"}
PROTO = Path(dicomkit.net.proto.__file__).parent


def _imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", "") == "__import__"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(str(node.args[0].value).split(".")[0])
    return names


def test_no_io_imports() -> None:
    files = sorted(PROTO.rglob("*.py"))
    assert files
    bad = {
        str(f.relative_to(PROTO)): sorted(_imported(ast.parse(f.read_text(), str(f))) & FORBIDDEN)
        for f in files
    }
    assert {k: v for k, v in bad.items() if v} == {}


def test_scanner_catches_imports() -> None:
    src = "import time\nfrom asyncio import sleep\nimport os.path\n__import__('socket')\n"
    assert _imported(ast.parse(src)) & FORBIDDEN == {"time", "asyncio", "socket"}
