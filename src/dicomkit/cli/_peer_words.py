"""Small parsing helpers shared by the client subcommands of the PS3.4 service classes
(``event-log``, ``relevant-patient``, ``substance``, ``media``, ``display``)."""

from __future__ import annotations

import argparse

from dicomkit.cli._echo import port_number
from dicomkit.cli._find import UsageError


def host_port(words: list[str], usage: str, *, extra: int = 0) -> tuple[str, int, list[str]]:
    """HOST PORT and ``extra`` more words (at least), or a :class:`UsageError` with
    ``usage``."""
    if len(words) < 2 + extra:
        raise UsageError(f"takes {usage}")
    try:
        return words[0], port_number(words[1]), words[2:]
    except argparse.ArgumentTypeError as exc:
        raise UsageError(str(exc)) from None


def code(value: str) -> tuple[str, str, str]:
    """``VALUE^SCHEME^MEANING`` as a code triplet, e.g. ``47625008^SCT^Intravenous route``."""
    parts = value.split("^")
    if len(parts) != 3 or not all(parts):
        raise UsageError(
            f"{value!r}: give a code as VALUE^SCHEME^MEANING, e.g. 47625008^SCT^Intravenous route"
        )
    return parts[0], parts[1], parts[2]
