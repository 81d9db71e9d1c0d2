"""DELETE of studies, series and instances (a common DICOMweb extension, not in PS3.18),
behind ``[web] allow_delete = true`` and the ``delete`` permission.

The instances go through the archive's delete (:meth:`dicomkit.archive.Archive.delete`,
the one of ``dicomkit archive delete``): their index rows in one transaction -- so no
search finds them any more -- then their files, crash-safe and safe beside the running
node. The metadata cache notices by itself (its stamps no longer match the index).
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
    find_instances(archive, study, series, sop)  # 404 unless it is there, in that study
    try:
        if sop is not None:
            report = archive.delete(instances=[sop])
        elif series is not None:
            report = archive.delete(series=[series])
        else:
            report = archive.delete(studies=[study])
    except OSError as exc:
        raise WadoError(
            f"the delete stopped: {exc}; 'dicomkit archive check --repair' tidies up", 500
        ) from exc
    return len(report.instances)
