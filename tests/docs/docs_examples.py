"""Find the runnable examples of the documentation pages (the convention is docs/dev/docs.md).

- Every fenced ``python`` block of a user page runs, in page order, in one namespace per page,
  with the page's own temporary folder as the working directory. A block preceded by
  ``<!-- skip: REASON -->`` does not run (the reason is required).
- A fenced ``sh`` block runs only when preceded by ``<!-- run -->`` (each command in turn, each
  must exit 0) or ``<!-- run: background -->`` (one long-running server command, started and
  waited for until its port answers; stopped with SIGINT when the page is done).
- Ports 11112-11119 written in a runnable block are replaced by free ports, the same port for
  the same number throughout a page.

Pages under ``docs/dev/`` are developer notes: their blocks are sketches and never run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>```+)(?P<info>[^`]*)$")
_DIRECTIVE = re.compile(r"^\s*<!--\s*(?P<word>run|skip)(?::\s*(?P<arg>.*?))?\s*-->\s*$")
PORT = re.compile(r"\b1111[2-9]\b")


@dataclass(frozen=True)
class Block:
    page: str  # path relative to docs/
    line: int  # 1-based line of the opening fence
    lang: str  # "python" | "sh" | ...
    code: str
    directive: str  # "" | "run" | "run: background" | "skip: reason"

    @property
    def where(self) -> str:
        return f"docs/{self.page}:{self.line}"

    @property
    def runs(self) -> bool:
        if self.directive.startswith("skip"):
            return False
        if self.lang == "python":
            return True
        return self.lang == "sh" and self.directive.startswith("run")

    @property
    def background(self) -> bool:
        return self.directive == "run: background"


def user_pages() -> list[Path]:
    """The pages whose examples run: docs/ but docs/dev/, and the README's quick start."""
    pages = sorted(p for p in DOCS.rglob("*.md") if "dev" not in p.relative_to(DOCS).parts)
    readme = DOCS.parent / "README.md"
    return [*pages, readme] if readme.exists() else pages


def blocks(page: Path) -> list[Block]:
    """Every fenced block of a page, with the directive comment just above it (if any)."""
    lines = page.read_text(encoding="utf-8").splitlines()
    rel = page.relative_to(DOCS).as_posix() if page.is_relative_to(DOCS) else f"../{page.name}"
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence = m.group("indent"), m.group("fence")
        info = m.group("info").strip()
        lang = info.split()[0].lstrip(".{").rstrip("}") if info else ""
        directive = ""
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        if j >= 0:
            d = _DIRECTIVE.match(lines[j])
            if d:
                directive = d.group("word") + (f": {d.group('arg')}" if d.group("arg") else "")
        body: list[str] = []
        k = i + 1
        while k < len(lines) and lines[k].strip() != fence:
            line = lines[k]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            k += 1
        if k == len(lines):
            raise ValueError(f"docs/{rel}:{i + 1}: code block never closed")
        out.append(Block(rel, i + 1, lang, "\n".join(body) + "\n", directive))
        i = k + 1
    return out
