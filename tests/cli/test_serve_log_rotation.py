"""`dicomkit serve`'s log file rotation (--log-file with --log-max-bytes / --log-rotate):
the handler it installs rolls over by size, by time, and by size inside a timed rotation."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from dicomkit.archive import load_config
from dicomkit.cli._main import _HANDLER_NAME
from dicomkit.cli._serve import rotating_log
from dicomkit.errors import ArchiveError


@pytest.fixture(autouse=True)
def _own_handler() -> Iterator[None]:
    root = logging.getLogger()
    before = list(root.handlers)
    yield
    for h in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(h)
        h.close()
    for h in before:
        if h not in root.handlers:
            root.addHandler(h)


def _write(n: int) -> None:
    log = logging.getLogger("dicomkit.test.rotation")
    log.setLevel(logging.INFO)
    for i in range(n):
        log.warning("line %03d of a log that must roll over %s", i, "x" * 40)


@pytest.mark.parametrize("rotate", ["", "midnight"])
def test_size_limit_rolls_over_with_and_without_a_time_rotation(
    tmp_path: Path, rotate: str
) -> None:
    cfg = load_config(
        None,
        log_file=str(tmp_path / "node.log"),
        log_max_bytes=500,
        log_backups=2,
        log_rotate=rotate or None,
    )
    rotating_log(cfg)
    _write(30)  # ~3 KB
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "node.log" in names and len(names) == 3, names  # current + 2 backups, no more
    assert all(p.stat().st_size < 700 for p in tmp_path.iterdir())
    assert "line 029" in (tmp_path / "node.log").read_text("utf-8")


def test_time_rotation_is_a_timed_handler(tmp_path: Path) -> None:
    import logging.handlers

    rotating_log(load_config(None, log_file=str(tmp_path / "n.log"), log_rotate="hourly"))
    (handler,) = [h for h in logging.getLogger().handlers if h.get_name() == _HANDLER_NAME]
    assert isinstance(handler, logging.handlers.TimedRotatingFileHandler)
    assert handler.when == "H" and handler.backupCount == 7


def test_bad_values_say_what_to_use(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="midnight, hourly or daily"):
        load_config(None, log_rotate="weekly")
    with pytest.raises(ArchiveError, match="log file"):
        rotating_log(load_config(None, log_file=str(tmp_path / "no" / "such" / "dir" / "x.log")))
