"""``dicomkit`` itself: --version, -v before and after the subcommand, --log-file."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

import dicomkit
from dicomkit.cli._main import main
from dicomkit.net._sync import SyncAE


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in root.handlers[:]:
        if h not in handlers:
            root.removeHandler(h)
            h.close()
    root.setLevel(level)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith(f"dicomkit {dicomkit.__version__} (Python 3.")


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_shows_the_protocol(
    where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "echo.log"
    with SyncAE("SCP") as ae, ae.serve(0) as server:
        args = ["echo", "127.0.0.1", str(server.port), "--log-file", str(log)]
        argv = ["-v", *args] if where == "before" else [*args, "-v"]
        assert main(argv) == 0
    text = log.read_text()
    assert "A-ASSOCIATE-RQ DICOMKIT -> ANY-SCP" in text
    assert "Verification SOP Class (1.2.840.10008.1.1)" in text
    assert "sent C-ECHO-RQ id 1" in text and "received C-ECHO-RSP (response to 1)" in text
    assert "A-ASSOCIATE" not in capsys.readouterr().err  # the log went to the file


def test_quiet_by_default(tmp_path: Path) -> None:
    log = tmp_path / "echo.log"
    with SyncAE("SCP") as ae, ae.serve(0) as server:
        assert main(["echo", "127.0.0.1", str(server.port), "--log-file", str(log)]) == 0
    assert "A-ASSOCIATE" not in log.read_text()


def test_log_file_that_cannot_be_opened_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["echo", "127.0.0.1", "104", "--log-file", str(tmp_path / "no" / "such.log")])
    assert info.value.code == 2
    assert "--log-file" in capsys.readouterr().err
