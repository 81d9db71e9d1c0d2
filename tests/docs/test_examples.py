"""Every example of the user documentation runs against the current code (docs/dev/docs.md).

One test per page: its ``python`` blocks run in one namespace and its runnable ``sh`` blocks as
commands (``dicomkit ...`` as ``python -m dicomkit ...``, DCMTK tools by absolute path), all in
a temporary folder holding the sample files the pages use: ``ct.dcm`` and ``series/`` (a
three-slice CT series from the shared corpus).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from corpus import CORPUS
from docs_examples import PORT, Block, blocks, user_pages
from peers import dcmtk, dcmtk_env, free_port, wait_for_port

SERIES = CORPUS / "dcmqi" / "segmentations" / "ct-3slice"
#: DCMTK tools a page may run (by absolute path, with TCP_NODELAY=1).
DCMTK_TOOLS = frozenset(
    {
        "dcmdump",
        "dcmconv",
        "echoscu",
        "storescu",
        "findscu",
        "movescu",
        "getscu",
        "storescp",
        "dcmgpdir",
    }
)
TIMEOUT = 120

PAGES = [p for p in user_pages() if any(b.runs for b in blocks(p))]


def _ids() -> list[str]:
    from docs_examples import DOCS

    return [p.relative_to(DOCS.parent).as_posix() for p in PAGES]


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Pages configure logging as a user would (basicConfig, levels): undo it afterwards so
    that the rest of the suite sees the logging it expects."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {
        name: lg.level
        for name, lg in logging.root.manager.loggerDict.items()
        if isinstance(lg, logging.Logger)
    }
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    for name, lg in logging.root.manager.loggerDict.items():
        if isinstance(lg, logging.Logger):
            lg.setLevel(levels.get(name, logging.NOTSET))


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    series = tmp_path / "series"
    series.mkdir()
    for src in sorted(SERIES.glob("*.dcm")):
        shutil.copyfile(src, series / src.name)
    shutil.copyfile(SERIES / "01.dcm", tmp_path / "ct.dcm")
    monkeypatch.chdir(tmp_path)
    return tmp_path


class PageRun:
    """The state of one page's run: its namespace, its ports, its background servers."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.namespace: dict[str, object] = {"__name__": "__main__"}
        self.ports: dict[str, str] = {}
        self.servers: list[tuple[subprocess.Popen[bytes], Block, Path]] = []

    def subst(self, text: str) -> str:
        def port(m: object) -> str:
            key = m.group(0)  # type: ignore[attr-defined]
            if key not in self.ports:
                self.ports[key] = str(free_port())
            return self.ports[key]

        return PORT.sub(port, text)

    def python(self, block: Block) -> None:
        code = compile(self.subst(block.code), block.where, "exec")
        exec(code, self.namespace)  # noqa: S102 - the documentation's own examples

    def argv(self, block: Block, words: list[str]) -> tuple[list[str], dict[str, str] | None]:
        tool = words[0]
        if tool == "dicomkit":
            return [sys.executable, "-m", "dicomkit", *words[1:]], None
        if tool in DCMTK_TOOLS:
            return [dcmtk(tool), *words[1:]], dcmtk_env()
        raise AssertionError(
            f"{block.where}: a runnable block may run dicomkit or DCMTK, not {tool}"
        )

    def commands(self, block: Block) -> Iterator[list[str]]:
        text = self.subst(block.code).replace("\\\n", " ")
        for line in text.splitlines():
            words = shlex.split(line, comments=True)
            if words:
                yield words

    def sh(self, block: Block) -> None:
        if block.background:
            (words,) = list(self.commands(block))
            argv, env = self.argv(block, words)
            log = self.folder / f".server-{block.line}.log"
            with open(log, "wb") as out:
                proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
            self.servers.append((proc, block, log))
            ports = [w for w in words if w in self.ports.values()]
            assert ports, f"{block.where}: a background command must name its port (1111x)"
            try:
                wait_for_port(int(ports[0]), timeout=30, proc=proc)
            except AssertionError as exc:
                raise AssertionError(f"{block.where}: {exc}\n{log.read_text()}") from None
            return
        for words in self.commands(block):
            argv, env = self.argv(block, words)
            proc = subprocess.run(  # noqa: PLW1510 - checked below
                argv, env=env, capture_output=True, text=True, timeout=TIMEOUT
            )
            assert proc.returncode == 0, (
                f"{block.where}: `{shlex.join(words)}` exited {proc.returncode}\n"
                f"{proc.stdout}\n{proc.stderr}"
            )

    def stop(self) -> list[str]:
        problems = []
        for proc, block, log in reversed(self.servers):
            if proc.poll() is not None:
                problems.append(f"{block.where}: server exited early\n{log.read_text()}")
                continue
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                problems.append(f"{block.where}: server did not stop on SIGINT")
        return problems


def _marks(page: Path) -> list[pytest.MarkDecorator]:
    """Pages that run DCMTK tools are interop tests; pages that run commands (a new interpreter
    each, seconds per page) or start servers are slow."""
    runs = [b for b in blocks(page) if b.runs and b.lang == "sh"]
    marks = []
    if any(b.code.split()[0] in DCMTK_TOOLS for b in runs if b.code.split()):
        marks.append(pytest.mark.interop)
    if runs:
        marks.append(pytest.mark.slow)
    return marks


@pytest.mark.parametrize("page", [pytest.param(p, marks=_marks(p)) for p in PAGES], ids=_ids())
def test_page_examples_run(page: Path, workdir: Path) -> None:
    run = PageRun(workdir)
    problems: list[str] = []
    try:
        for block in blocks(page):
            if not block.runs:
                continue
            if block.lang == "python":
                run.python(block)
            else:
                run.sh(block)
    finally:
        problems = run.stop()
        for path in (p for p in workdir.iterdir() if p.name.startswith(".server-")):
            with contextlib.suppress(OSError):
                os.unlink(path)
    assert not problems, "\n".join(problems)


def test_every_tutorial_and_howto_runs_something() -> None:
    """A tutorial or how-to page without a runnable example is untested prose."""
    from docs_examples import DOCS

    for page in user_pages():
        rel = page.relative_to(DOCS.parent)
        if rel.parts[0] == "docs" and rel.parts[1] in ("tutorials", "howto"):
            assert any(b.runs for b in blocks(page)), f"{rel} has no runnable example"


def test_skips_give_a_reason() -> None:
    for page in user_pages():
        for block in blocks(page):
            if block.directive.startswith("skip"):
                assert block.directive != "skip", f"{block.where}: say why it is skipped"


def test_extraction_sees_directives_and_indented_blocks(tmp_path: Path) -> None:
    """The extractor itself: a run marker, a skip, an indented (tabbed) block."""
    import docs_examples

    text = (
        "<!-- run -->\n```sh\ndicomkit echo 127.0.0.1 11112\n```\n\n"
        '=== "tab"\n\n    ```python\n    x = 1\n    ```\n\n'
        "<!-- skip: needs a printer -->\n```python\nprint_it()\n```\n```sh\nls\n```\n"
    )
    fake = tmp_path / "docs"
    fake.mkdir()
    (fake / "p.md").write_text(text)
    old = docs_examples.DOCS
    docs_examples.DOCS = fake
    try:
        got = docs_examples.blocks(fake / "p.md")
    finally:
        docs_examples.DOCS = old
    assert [(b.lang, b.directive, b.runs) for b in got] == [
        ("sh", "run", True),
        ("python", "", True),
        ("python", "skip: needs a printer", False),
        ("sh", "", False),
    ]
    assert got[1].code == "x = 1\n"
