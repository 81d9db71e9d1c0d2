"""The shared bad-input log budget: a burst, then a trickle, and a count of what was dropped."""

from __future__ import annotations

import logging

import pytest

from dicomkit.net import _loglimit as loglimit


def test_burst_then_suppressed_then_reported(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = loglimit.BadInputLimit(rate=0.0001, burst=3)
    monkeypatch.setattr(loglimit, "LIMIT", limit)
    logger = logging.getLogger("dicomkit.test.loglimit")
    with caplog.at_level(logging.WARNING, logger="dicomkit.test.loglimit"):
        for i in range(50):
            loglimit.bad_input(logger, "bad thing %d", i)
    assert [r.getMessage() for r in caplog.records] == [f"bad thing {i}" for i in range(3)]
    limit._tokens = 1.0  # the budget refilled
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="dicomkit.test.loglimit"):
        loglimit.bad_input(logger, "again")
    assert [r.getMessage() for r in caplog.records] == ["again (47 similar lines suppressed)"]


def test_reset_restores_the_budget() -> None:
    limit = loglimit.BadInputLimit(rate=0.0001, burst=2)
    assert limit.take() == 0 and limit.take() == 0 and limit.take() is None
    limit.reset()
    assert limit.take() == 0
