"""The one progress display: a bar on a terminal, nothing otherwise."""

from __future__ import annotations

import io

from dicomkit.cli._progress import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_on_a_terminal() -> None:
    tty = _Terminal()
    bar = Progress(3, stream=tty)
    bar.step("a.dcm")
    bar.step("b.dcm", ok=False)
    bar.step("c.dcm")
    bar.close()
    text = tty.getvalue()
    assert "1/3" in text and "3/3 (1 failed) c.dcm" in text and text.endswith("\n")
    assert "[" + "#" * Progress.WIDTH + "]" in text


def test_nothing_when_not_a_terminal_or_quiet() -> None:
    pipe = io.StringIO()
    bar = Progress(2, stream=pipe)
    bar.step("a")
    bar.step("b", ok=False)
    bar.close()
    assert pipe.getvalue() == "" and (bar.done, bar.failed) == (2, 1)
    tty = _Terminal()
    quiet = Progress(2, stream=tty, enabled=False)
    quiet.step("a")
    quiet.close()
    assert tty.getvalue() == ""
