"""Suite-wide set-up: import paths, hypothesis profiles, and which tests count as slow.

The fast loop is ``pytest -m "not slow and not interop"`` (docs/dev/testing.md); CI runs all.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Make tests/peers.py, tests/corpus.py and tests/helpers.py importable as modules.
sys.path.insert(0, str(Path(__file__).parent))

from corpus import CorpusFile
from hypothesis import HealthCheck, settings

# No test may depend on how fast the machine is: no deadlines, no too-slow health checks.
# "ci" runs hypothesis's usual 100 examples per property; "dev" (the default off CI) a fifth of
# that. Tests asking for more examples scale with the profile through helpers.examples().
settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("dev", parent=settings.get_profile("ci"), max_examples=20)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)


def _corpus_row(item: pytest.Item) -> CorpusFile | None:
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    for value in callspec.params.values():
        if isinstance(value, CorpusFile):
            return value
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test run once per corpus file is a sweep: each test keeps its smallest file of every
    transfer syntax in the fast loop (so every decoding path still runs there) and marks the
    others ``slow``."""
    smallest: dict[tuple[str, str], tuple[int, str]] = {}
    rows: dict[str, tuple[tuple[str, str], int]] = {}
    for item in items:
        row = _corpus_row(item)
        if row is None:
            continue
        key = (item.nodeid.split("[", 1)[0], row.ts)
        size = row.path.stat().st_size if row.path.is_file() else 0
        rows[item.nodeid] = (key, size)
        if key not in smallest or (size, item.nodeid) < smallest[key]:
            smallest[key] = (size, item.nodeid)
    for item in items:
        if item.nodeid in rows and smallest[rows[item.nodeid][0]][1] != item.nodeid:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _fresh_bad_input_budget() -> None:
    """Each test starts with the full budget of rate-limited bad-input log lines (what one test
    logs must not hide another's line from its caplog)."""
    from dicomkit.net import _loglimit as loglimit

    loglimit.LIMIT.reset()
