"""The media a Media Creation Management SCP makes (PS3.4 Annex S): a File-set with its
DICOMDIR as a folder, and the same File-set as an ISO 9660 image (PS3.12: interchange level 1,
the File IDs of PS3.10 8.5 are valid ISO 9660 names as they are).

:func:`build_media` is a :data:`~dicomkit.services.MediaBuilder`: give it to
:class:`~dicomkit.services.MediaCreationSCP`. The image is written by pycdlib (the ``media``
extra: ``pip install dicomkit[media]``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from dicomkit.errors import DicomError

if TYPE_CHECKING:  # the services (and the network stack) load only when media is made
    from dicomkit.services._media_creation import MediaJob, MediaResult


def _stage(job: MediaJob, folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True)
    staged = {}
    for n, src in enumerate(job.files):
        dest = folder / f"{n:06d}.dcm"
        try:
            os.link(src, dest)
        except OSError:  # another file system: copy
            shutil.copy2(src, dest)
        staged[dest.name] = src
    return staged


def _check(job: MediaJob) -> None:
    from dicomkit.services._media_creation import MediaCancelled

    if job.cancelled.is_set():
        raise MediaCancelled(f"media creation {job.sop_instance_uid} was cancelled")


def write_iso(
    folder: str | os.PathLike[str], image: str | os.PathLike[str], *, volume: str = ""
) -> Path:
    """Write the File-set under ``folder`` as an ISO 9660 image (level 1, uppercase 8.3
    names as File IDs already are); returns the image path."""
    try:
        import pycdlib
    except ImportError:
        raise DicomError(
            "writing an ISO 9660 image needs pycdlib: pip install 'dicomkit[media]'"
        ) from None
    root = Path(folder)
    out = Path(image)
    iso = pycdlib.PyCdlib()
    volume_id = "".join(c for c in volume.upper() if c.isalnum() or c == "_")[:32] or "DICOM"
    iso.new(interchange_level=1, vol_ident=volume_id, app_ident_str="dicomkit")
    try:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            rel = Path(dirpath).relative_to(root)
            for d in dirnames:
                iso.add_directory(_iso_path(rel / d, directory=True))
            for f in sorted(filenames):
                iso.add_file(str(Path(dirpath) / f), _iso_path(rel / f) + ";1")
        iso.write(str(out))
    finally:
        iso.close()
    return out


def _iso_path(rel: Path, *, directory: bool = False) -> str:
    parts = [p.upper() for p in rel.parts]
    for p in parts:
        stem, _, ext = p.partition(".")
        if len(stem) > 8 or len(ext) > 3 or not all(c.isalnum() or c in "_." for c in p):
            raise DicomError(
                f"{rel} is not an ISO 9660 level 1 name (8.3 of A-Z, 0-9 and _): "
                "the File-set's File IDs must be conformant"
            )
    path = "/" + "/".join(parts)
    return path if directory or "." in parts[-1] else path + "."


def build_media(job: MediaJob) -> MediaResult:
    """Make ``job.output/fileset`` (the File-set and its DICOMDIR, converted to
    ``job.profile``) and ``job.output/<File-set ID or UID>.iso``. Instances the profile
    cannot take are reported in ``failed`` (by source file path); cancellation is honoured between the steps."""
    from dicomkit.media import create_dicomdir
    from dicomkit.services._media_creation import MediaResult

    _check(job)
    job.output.mkdir(parents=True, exist_ok=True)
    staging = job.output / "incoming"
    folder = job.output / "fileset"
    for old in (staging, folder):
        if old.exists():
            shutil.rmtree(old)
    staged = _stage(job, staging)
    try:
        _check(job)
        made = create_dicomdir(
            staging, fileset_id=job.fileset_id, output=folder, profile=job.profile
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    failed: dict[str, str] = {}
    for path, why in [*made.refused, *made.skipped]:
        failed[str(staged.get(Path(path).name, path))] = why
    if not made.instances:
        raise DicomError("no instance could be put on the media: " + "; ".join(failed.values()))
    _check(job)
    image = write_iso(
        folder,
        job.output / f"{job.fileset_id or 'FILESET'}.iso",
        volume=job.fileset_id or job.label,
    )
    return MediaResult(folder, image, failed)


__all__ = ["build_media", "write_iso"]
