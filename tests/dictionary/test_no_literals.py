"""The standard's UIDs are written once, in the generated tables: hand-written code uses the
generated constants (``dicomkit.dictionary.uids``), never a ``"1.2.840.10008."`` literal."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "dicomkit"
#: a whole standard UID (a prefix such as "1.2.840.10008.5.1.4.1.1." to test against is fine)
_UID = re.compile(r"1\.2\.840\.10008(?:\.[0-9]+)+")
GENERATED = (
    "dictionary/_",  # _elements.py, _uids.py, _syntaxes.py ...
    "dictionary/uids.py",
    "dictionary/tags.py",
    "iod/_",
    "deid/_",
)


def _docstrings(tree: ast.AST) -> set[int]:
    nodes = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, nodes) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def uid_literals(source: str) -> list[int]:
    """Line numbers of string constants (docstrings excepted) holding a standard UID."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and _UID.fullmatch(node.value.rstrip("\x00 ")) is not None
        and id(node) not in docs
    ]


def test_the_check_finds_a_literal() -> None:
    code = (
        '"""Module doc 1.2.840.10008.1.2."""\nX = "1.2.840.10008.1.2.1"  # 1.2.840.10008.1\n'
        'P = "1.2.840.10008.5.1.4.1.1."\n'
    )
    assert uid_literals(code) == [2]


def test_no_uid_literals_in_hand_written_code() -> None:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith(GENERATED):
            continue
        found += [f"{rel}:{n}" for n in uid_literals(path.read_text(encoding="utf-8"))]
    assert not found, "use dicomkit.dictionary.uids constants instead of literals: " + ", ".join(
        found
    )
