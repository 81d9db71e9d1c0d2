"""Loggers that import ``logging`` on their first record (dicomkit._lazylog)."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from dicomkit import _lazylog


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )


def test_without_logging_loaded_the_default_level_answers_and_nothing_is_imported() -> None:
    done = run(
        "import sys\n"
        "from dicomkit._lazylog import LazyLogger, INFO, WARNING, DEBUG\n"
        "log = LazyLogger('dicomkit.x')\n"
        "print(log.isEnabledFor(DEBUG), log.isEnabledFor(INFO), log.isEnabledFor(WARNING))\n"
        "log.info('not shown %s', 1)\n"
        "print('logging' in sys.modules)\n"
    )
    assert done.stdout.split() == ["False", "False", "True", "False"]
    assert done.stderr == ""


def test_a_warning_loads_logging_and_runs_the_deferred_configuration_first() -> None:
    done = run(
        "from dicomkit import _lazylog\n"
        "def configure():\n"
        "    import logging\n"
        "    h = logging.StreamHandler()\n"
        "    h.setFormatter(logging.Formatter('CONFIGURED %(levelname)s %(name)s: %(message)s'))\n"
        "    logging.getLogger().addHandler(h)\n"
        "_lazylog.defer_configuration(configure)\n"
        "_lazylog.LazyLogger('dicomkit.net').warning('peer %s gone', 'X')\n"
    )
    assert done.stderr == "CONFIGURED WARNING dicomkit.net: peer X gone\n"


def test_with_logging_loaded_the_real_logger_decides_and_records_name_the_caller(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = _lazylog.LazyLogger("dicomkit.test_lazylog")
    with caplog.at_level(logging.DEBUG, logger="dicomkit.test_lazylog"):
        assert log.isEnabledFor(_lazylog.DEBUG)
        log.debug("d %d", 1)
        log.info("i %d", 2)
        log.log(_lazylog.INFO, "l %d", 3)
        log.warning("w %d", 4)
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("e %d", 5)
    records = [r for r in caplog.records if r.name == "dicomkit.test_lazylog"]
    assert [r.getMessage() for r in records] == ["d 1", "i 2", "l 3", "w 4", "e 5"]
    assert [r.levelname for r in records][-1] == "ERROR" and records[-1].exc_info
    assert {r.funcName for r in records} == {
        "test_with_logging_loaded_the_real_logger_decides_and_records_name_the_caller"
    }
    with caplog.at_level(logging.WARNING, logger="dicomkit.test_lazylog"):
        assert not log.isEnabledFor(_lazylog.INFO)
