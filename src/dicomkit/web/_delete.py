"""DELETE of studies, series and instances (a common DICOMweb extension, not in PS3.18),
behind ``[web] allow_delete = true`` and the ``delete`` permission.

Each instance goes through :meth:`dicomkit.archive._node.Archive.remove` -- its index row
first (so no search finds it any more), then its file -- the same path as
``dicomkit archive`` maintenance; the metadata cache notices by itself (its stamps no
longer match the index).
"""

from __future__ import annotations

from dicomkit.archive._node import Archive
from dicomkit.web._wado import WadoError, find_instances

__all__ = ["delete_instances"]


def delete_instances(
    archive: Archive, study: str, series: str | None = None, sop: str | None = None
) -> int:
    """Remove every instance of a study, series or instance; returns how many. Raises
    :class:`~dicomkit.web._wado.WadoError` (404) when nothing is stored there."""
    found = find_instances(archive, study, series, sop)
    removed = 0
    for inst in found:
        try:
            if archive.remove(inst.sop_instance_uid):
                removed += 1
        except OSError as exc:
            raise WadoError(
                f"instance {inst.sop_instance_uid} left the index but its file could not be "
                f"removed ({exc}); 'dicomkit archive check --repair' tidies up",
                500,
            ) from exc
    return removed
