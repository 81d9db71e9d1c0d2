"""Online backup of an archive: its index and its files, consistent while a node stores.

:func:`backup` copies the index first, as one snapshot, then the files that snapshot names:

- SQLite: the online backup API (``sqlite3.Connection.backup``) copies the index in one read
  transaction -- a snapshot; the node goes on storing meanwhile (WAL readers never block the
  writer). It lands as ``DEST/index.sqlite``.
- PostgreSQL: ``pg_dump --format=custom`` (one transaction, a snapshot) to
  ``DEST/index.pgdump``, and the files are copied as the database lists them right after.
  Restore with ``createdb NEW && pg_restore -d NEW DEST/index.pgdump``, then ``dicomkit
  archive check --repair DEST --db postgresql://.../NEW``, which indexes files stored while
  the dump ran and drops rows whose file was deleted meanwhile.

Then each file the snapshot lists is copied (to a temporary name, fsync'd, renamed) with its
checksum computed on the way. What changed after the snapshot is reconciled in the copy: a
file deleted since (its row is dropped from the copy), a file replaced since (its row is
indexed again from the copied file); instances stored after the snapshot are not in the copy.
Hidden instances (``.rejected``) and non-patient objects (``.nonpatient``) are copied too.
``dicomkit archive check DEST`` on the result reports it clean.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dicomkit.archive._store import Checksum, fsync_dir
from dicomkit.errors import ArchiveError

if TYPE_CHECKING:
    from dicomkit.archive._node import Archive

log = logging.getLogger("dicomkit.archive")

#: folders under the root copied besides the Study/Series/SOP tree
_EXTRA_FOLDERS = (".rejected", ".nonpatient")


@dataclass(slots=True)
class BackupReport:
    """What :func:`backup` copied."""

    dest: Path
    index: Path  # the index copy (index.sqlite, or index.pgdump)
    files: int = 0
    bytes: int = 0
    extra_files: int = 0  # under .rejected / .nonpatient
    #: rows dropped from the copy: their file was deleted after the snapshot
    vanished: list[str] = field(default_factory=list)
    #: rows indexed again in the copy: their file was replaced after the snapshot
    replaced: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the operator."""
        return (
            f"backup in {self.dest}: index {self.index.name}, {self.files} files "
            f"({self.bytes / 1e6:.1f} MB), {self.extra_files} hidden / non-patient files; "
            f"{len(self.vanished)} deleted and {len(self.replaced)} replaced during the copy"
        )


def _check_dest(dest: Path, root: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ArchiveError(
            f"backup destination {dest} exists and is not an empty folder: give a new or "
            "empty folder (a backup never overwrites)"
        )
    d, r = dest.resolve(), root.resolve()
    if d == r or r in d.parents:
        raise ArchiveError(
            f"backup destination {dest} is inside the archive {root}: choose a folder outside it"
        )


def _copy(src: Path, dest: Path) -> tuple[int, str]:
    """Copy ``src`` to ``dest`` durably (temporary name, fsync, rename); (size, checksum)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".tmp-{dest.name}")
    crc = Checksum()
    size = 0
    try:
        with open(src, "rb") as fin, open(tmp, "wb") as fout:
            while chunk := fin.read(1 << 20):
                crc.update(chunk)
                fout.write(chunk)
                size += len(chunk)
            fout.flush()
            os.fsync(fout.fileno())
        shutil.copystat(src, tmp)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return size, crc.text()


def _sqlite_snapshot(archive: Archive, dest_index: Path) -> None:
    """Copy the SQLite index with the online backup API, on a connection of its own."""
    src_path = archive.index.db.conn.execute("PRAGMA database_list").fetchall()[0][2]
    src = sqlite3.connect(src_path, timeout=30.0)
    dst = sqlite3.connect(dest_index)
    try:
        src.backup(dst)  # pages=-1: all at once, in one read transaction (a snapshot)
        dst.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error as exc:
        raise ArchiveError(f"cannot copy the index {src_path}: {exc}") from exc
    finally:
        dst.close()
        src.close()


def _pg_dump(url: str, dest: Path) -> None:
    exe = shutil.which("pg_dump")
    if exe is None:
        raise ArchiveError(
            "backing up a PostgreSQL index needs pg_dump on PATH (apt-get install "
            "postgresql-client), or dump the database with your own tools and copy the "
            "archive folder"
        )
    proc = subprocess.run(  # a fixed program; the URL is one argument
        [exe, "--format=custom", f"--file={dest}", "--dbname", url],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise ArchiveError(f"pg_dump failed: {proc.stderr.strip().splitlines()[-1:]}")


def backup(
    archive: Archive, dest: str | os.PathLike[str], *, db_url: str | None = None
) -> BackupReport:
    """Copy ``archive`` (index + files) to the new folder ``dest`` while it may be in use."""
    from dicomkit.archive._node import Archive as _Archive

    dest = Path(dest)
    _check_dest(dest, archive.root)
    dest.mkdir(parents=True, exist_ok=True)
    postgres = archive.index.db.dialect == "postgresql"
    if postgres:
        if not db_url:
            raise ArchiveError("a PostgreSQL index: give its URL (--db) to back it up")
        index_copy = dest / "index.pgdump"
        _pg_dump(db_url, index_copy)
        listing = dict(archive.index.db.query("SELECT path, checksum FROM instances"))
    else:
        index_copy = dest / "index.sqlite"
        _sqlite_snapshot(archive, index_copy)
        with contextlib.closing(sqlite3.connect(index_copy)) as snap:
            listing = dict(snap.execute("SELECT path, checksum FROM instances").fetchall())
    report = BackupReport(dest=dest, index=index_copy)
    replaced: list[str] = []
    for rel, expected in sorted(listing.items()):
        src = archive.store.resolve(rel)
        try:
            size, checksum = _copy(src, dest / rel)
        except FileNotFoundError:
            report.vanished.append(rel)
            continue
        report.files += 1
        report.bytes += size
        if expected and checksum != expected:
            replaced.append(rel)
    for folder in _EXTRA_FOLDERS:
        base = archive.root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.name.startswith(".tmp-"):
                with contextlib.suppress(FileNotFoundError):
                    _copy(path, dest / path.relative_to(archive.root))
                    report.extra_files += 1
    folders = {dest, *((dest / rel).parent for rel in listing)}
    for d in sorted(folders | {f.parent for f in folders if f != dest}, reverse=True):
        if d.is_dir():
            fsync_dir(d)
    if not postgres:  # reconcile the copy with what changed during it
        with _Archive(dest, check=False) as copy:
            paths = copy.index.paths()
            for rel in report.vanished:
                if rel in paths:
                    copy.index.remove(paths[rel])
            for rel in replaced:
                _reindex(copy, rel)
                report.replaced.append(rel)
    return report


def _reindex(copy: Archive, rel: str) -> None:
    """Index the copied file at ``rel`` again (it was replaced after the snapshot)."""
    from dicomkit import read
    from dicomkit.archive._index import record_from_dataset
    from dicomkit.archive._store import file_checksum

    path = copy.store.resolve(rel)
    rec = record_from_dataset(read(path, stop_before_pixels=True))
    copy.index.add(rec, rel, path.stat().st_size, checksum=file_checksum(path))
