"""Where the generators find the standard's data: ``shared/standard`` (see its SOURCES.md).

Looked for in ``$DICOMKIT_SHARED`` (the folder holding ``standard/``, or ``standard/``
itself), then ``../shared`` beside the repository, then ``/work/shared``.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def find_standard(marker: str, tool: str) -> Path:
    """The ``standard`` folder that holds ``marker`` (a path inside it); exits naming
    ``tool`` when none does."""
    candidates = []
    env = os.environ.get("DICOMKIT_SHARED")
    if env:
        candidates.append(Path(env))
    candidates += [REPO.parent / "shared", Path("/work/shared")]
    for base in candidates:
        std = base / "standard" if (base / "standard").is_dir() else base
        if (std / marker).is_file():
            return std
    raise SystemExit(f"{tool}: cannot find shared/standard (set DICOMKIT_SHARED)")
