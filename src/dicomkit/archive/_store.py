"""The archive's file store: one Part 10 file per instance, placed atomically.

Layout: ``ROOT/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm``. Every UID is
checked with :func:`dicomkit.core._uid.is_valid_uid` (PS3.5 9.1: digits and dots only) before it
becomes part of a path, so a hostile UID such as ``../../etc`` can never escape the root.

A file is put in place by the classic sequence: write (or receive) it as a temporary file in
the destination directory, ``fsync`` the file, ``rename`` it over the final name, ``fsync`` the
directory. A reader therefore sees either no file or the complete file, and after a crash the
file is either absent or whole. The archive's ingest path splits the sequence so that
concurrent instances can share the directory fsync: :func:`sync_data` (``fdatasync``) on the
file first, :meth:`FileStore.move_into_place` (rename only), and the caller fsyncs each
destination folder once per batch before it commits and acknowledges. Temporary files are named ``.tmp-*`` and swept by
:meth:`FileStore.sweep_temporaries`.

Duplicate SOP Instance UIDs (:class:`DuplicatePolicy`): ``keep`` leaves the stored file and
reports success (a re-send is common and harmless), ``replace`` overwrites it atomically with
the new one, ``reject`` refuses it (the Storage SCP answers with a failure status).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import zlib
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

from dicomkit.errors import ArchiveError
from dicomkit.io._atomic import create_temp, create_temp_path


class DuplicatePolicy(StrEnum):
    """What to do when an instance with a stored SOP Instance UID arrives again."""

    KEEP = "keep"
    REPLACE = "replace"
    REJECT = "reject"


class DuplicateInstanceError(ArchiveError):
    """An instance that is already stored arrived under the ``reject`` policy."""


class InvalidUIDError(ArchiveError):
    """A UID that is not a valid PS3.5 9.1 UID and so cannot name a file."""


#: ``study/series/sop.dcm`` of UIDs (digits and dots, no empty component): cannot leave the
#: root, so :meth:`FileStore.resolve` needs no ``realpath`` for it
_LAYOUT = re.compile(r"(?:\d+(?:\.\d+)*/){2}\d+(?:\.\d+)*\.dcm")


def _is_valid_uid(uid: str) -> bool:
    try:
        from dicomkit.core._uid import is_valid_uid
    except ImportError:  # pragma: no cover - the uid module is written concurrently
        return _fallback_is_valid_uid(uid)
    return bool(is_valid_uid(uid))


def _fallback_is_valid_uid(uid: str) -> bool:
    if not uid or len(uid) > 64:
        return False
    for comp in uid.split("."):
        if not comp or not comp.isdigit() or not comp.isascii():
            return False
        if len(comp) > 1 and comp[0] == "0":
            return False
    return True


def _is_legacy_uid(uid: str) -> bool:
    """Lenient: digits and dots, no empty component, at most 64 characters; a component may
    start with 0 (legacy UIDs such as ``1.2.03.4``, which dcmqrscp and Orthanc store)."""
    return 0 < len(uid) <= 64 and all(c and c.isdigit() and c.isascii() for c in uid.split("."))


class Checksum:
    """CRC-32 of a file's bytes, fed as they are written (no second read): ``crc32:%08x``."""

    __slots__ = ("_crc",)

    def __init__(self) -> None:
        self._crc = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._crc = zlib.crc32(data, self._crc)

    def text(self) -> str:
        return f"crc32:{self._crc:08x}"


def file_checksum(path: str | os.PathLike[str]) -> str:
    """The checksum of a file on disk (for files that did not come through a writer)."""
    c = Checksum()
    with open(path, "rb") as fp:
        while chunk := fp.read(1 << 20):
            c.update(chunk)
    return c.text()


def check_uid(uid: str, what: str, *, lenient: bool = False) -> str:
    uid = str(uid).strip().rstrip("\0")
    if not (_is_legacy_uid(uid) if lenient else _is_valid_uid(uid)):
        hint = (
            ""
            if lenient or not _is_legacy_uid(uid)
            else "; a leading-zero component is a legacy UID: lenient_uids = true accepts it"
        )
        raise InvalidUIDError(f"invalid {what} {uid!a}: a UID is digits and dots (PS3.5 9.1){hint}")
    return uid


def fsync_dir(path: Path) -> None:
    """Make a directory entry change (create, rename, unlink) durable."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_data(fd_or_path: int | str | os.PathLike[str]) -> None:
    """Make a file's contents (and its size) durable: ``fdatasync`` where the platform has
    it (the contents are what matter; timestamps need not reach the disk), else ``fsync``."""
    sync = getattr(os, "fdatasync", os.fsync)
    if isinstance(fd_or_path, int):
        sync(fd_or_path)
        return
    fd = os.open(fd_or_path, os.O_RDONLY)
    try:
        sync(fd)
    finally:
        os.close(fd)


class FileStore:
    """Files under ``root`` laid out by Study / Series / SOP Instance UID."""

    TEMP_PREFIX = ".tmp-"
    INCOMING = ".incoming"

    def __init__(self, root: str | os.PathLike[str], *, lenient_uids: bool = False) -> None:
        #: accept legacy UIDs (a leading-zero component) in file names
        self.lenient_uids = lenient_uids
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / self.INCOMING).mkdir(exist_ok=True)
        self._root = str(self.root)
        #: series folders known to exist (a hint: a rename into one that vanished retries)
        self._series_dirs: set[str] = set()

    # -- naming ---------------------------------------------------------------------------

    def relpath(self, study: str, series: str, sop: str) -> str:
        """The path of an instance relative to the root (what the index stores)."""
        lenient = self.lenient_uids
        study = check_uid(study, "Study Instance UID", lenient=lenient)
        series = check_uid(series, "Series Instance UID", lenient=lenient)
        sop = check_uid(sop, "SOP Instance UID", lenient=lenient)
        return f"{study}/{series}/{sop}.dcm"

    def path_for(self, study: str, series: str, sop: str) -> Path:
        """The path an instance is stored at: ``ROOT/<study>/<series>/<sop>.dcm``."""
        return self.root / self.relpath(study, series, sop)

    def resolve(self, relpath: str) -> Path:
        """The absolute path of a path relative to the root; raises ``ArchiveError`` for one that
        leads outside the archive."""
        if _LAYOUT.fullmatch(relpath):  # what relpath() makes: UIDs only, nothing to resolve
            return Path(os.path.join(self._root, relpath))
        path = (self.root / relpath).resolve()
        if self.root not in path.parents:
            raise ArchiveError(f"path {relpath!r} escapes the archive root")
        return path

    def resolve_text(self, relpath: str) -> str:
        """:meth:`resolve` as a string: no Path object for the usual layout (a C-MOVE of
        thousands of instances makes one per instance)."""
        if _LAYOUT.fullmatch(relpath):
            return os.path.join(self._root, relpath)
        return str(self.resolve(relpath))

    def incoming_path(self) -> Path:
        """A fresh temporary file name on the archive's file system for an SCP to stream an
        incoming instance into (rename into place is then atomic and copy-free)."""
        return create_temp_path(self.root / self.INCOMING, prefix=self.TEMP_PREFIX, suffix=".dcm")

    # -- placing files --------------------------------------------------------------------

    def _ensure_dirs(self, final: Path) -> None:
        created: list[Path] = []
        for d in (final.parent.parent, final.parent):
            if not d.exists():
                try:
                    d.mkdir()
                    created.append(d)
                except FileExistsError:
                    pass
        for d in created:  # make the new entries durable in their parents
            fsync_dir(d.parent)

    def place(
        self,
        temp: str | os.PathLike[str],
        relpath: str,
        *,
        policy: DuplicatePolicy = DuplicatePolicy.KEEP,
    ) -> tuple[Path, bool]:
        """Move a complete temporary Part 10 file into place at ``relpath``.

        Returns ``(final_path, written)``: ``written`` is False when the policy was ``keep`` and
        the file already existed (the temporary file is then removed). Raises
        :class:`DuplicateInstanceError` under ``reject``. A temporary file on the same file
        system (e.g. in ``.incoming``) is renamed straight into place; one on another file
        system is first copied to a temporary file beside the destination.
        """
        final = self.resolve(relpath)
        self._ensure_dirs(final)
        src = Path(temp)
        if src.parent != final.parent and os.stat(src).st_dev != os.stat(final.parent).st_dev:
            staged = self._stage_beside(src, final)  # another file system: copy beside first
        else:
            staged = src  # same file system: the rename itself is atomic
            fsync_file(staged)
        try:
            if policy is DuplicatePolicy.REPLACE:
                os.replace(staged, final)
                written = True
            else:
                written = self._link_no_clobber(staged, final)
                if not written and policy is DuplicatePolicy.REJECT:
                    raise DuplicateInstanceError(f"instance already stored: {relpath}")
        finally:
            with contextlib.suppress(FileNotFoundError):
                if staged.exists() and staged != final:
                    staged.unlink()
            if staged != src:
                with contextlib.suppress(FileNotFoundError):
                    src.unlink()
        fsync_dir(final.parent)
        return final, written

    def move_into_place(self, temp: str | os.PathLike[str], relpath: str) -> Path:
        """Rename a temporary file whose contents are already durable (:func:`sync_data`)
        over ``relpath``, *without* making the new directory entry durable: the caller
        fsyncs ``final.parent`` (once for a whole batch, see ``Archive``) before it
        acknowledges anything. Same file system only (``.incoming`` is under the root)."""
        final = os.path.join(self._root, relpath)  # relpath() checked every UID
        folder = os.path.dirname(final)
        if folder not in self._series_dirs:
            self._ensure_dirs(Path(final))
            if len(self._series_dirs) >= 4096:
                self._series_dirs.clear()
            self._series_dirs.add(folder)
        try:
            try:
                os.replace(temp, final)
            except FileNotFoundError:
                if not os.path.exists(temp):
                    raise
                self._series_dirs.discard(folder)  # removed since (pruned): create it again
                self._ensure_dirs(Path(final))
                os.replace(temp, final)
        except OSError as exc:
            raise ArchiveError(f"cannot place {final}: {exc}") from exc
        return Path(final)

    def _stage_beside(self, src: Path, final: Path) -> Path:
        try:
            staged = create_temp_path(final.parent, prefix=self.TEMP_PREFIX)
            try:
                os.replace(src, staged)  # same file system: a rename, no copy
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                with open(src, "rb") as fin, open(staged, "wb") as fout:
                    shutil.copyfileobj(fin, fout, 1 << 20)
            fsync_file(staged)
            return staged
        except OSError as exc:
            raise ArchiveError(f"cannot stage {src} into {final.parent}: {exc}") from exc

    @staticmethod
    def _link_no_clobber(staged: Path, final: Path) -> bool:
        """Atomically create ``final`` from ``staged`` unless it exists (hard link + unlink)."""
        try:
            os.link(staged, final)
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise ArchiveError(f"cannot place {final}: {exc}") from exc
            if final.exists():  # file systems without hard links: check, then rename
                return False
            os.replace(staged, final)
        return True

    def write_bytes(
        self, data: bytes, relpath: str, *, policy: DuplicatePolicy = DuplicatePolicy.KEEP
    ) -> tuple[Path, bool]:
        """Write ``data`` atomically as ``relpath``."""
        final = self.resolve(relpath)
        self._ensure_dirs(final)
        with self.temp_beside(final) as (tmp, fp):
            fp.write(data)
        return self.place(tmp, relpath, policy=policy)

    @contextlib.contextmanager
    def temp_beside(self, final: Path) -> Iterator[tuple[Path, BinaryIO]]:
        """A temporary file in ``final``'s folder, yielded as ``(path, binary file)``; it is flushed
        and fsync'd when the block ends, removed when it raises."""
        fd, name = create_temp(final.parent, prefix=self.TEMP_PREFIX)
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as fp:
                yield tmp, fp
                fp.flush()
                os.fsync(fp.fileno())
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise

    def write_dataset(
        self, ds: Any, relpath: str, *, policy: DuplicatePolicy = DuplicatePolicy.KEEP
    ) -> tuple[Path, bool]:
        """Write a :class:`~dicomkit.Dataset` as a Part 10 file, atomically."""
        from dicomkit import write  # late import: io is written concurrently

        final = self.resolve(relpath)
        self._ensure_dirs(final)
        with self.temp_beside(final) as (tmp, fp):
            write(ds, fp)
        return self.place(tmp, relpath, policy=policy)

    def remove(self, relpath: str) -> None:
        """Delete a stored file (relative path) and prune its series and study folders when
        empty."""
        path = self.resolve(relpath)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            fsync_dir(path.parent)
        self._series_dirs.discard(str(path.parent))
        for d in (path.parent, path.parent.parent):  # prune empty series / study folders
            try:
                d.rmdir()
            except OSError:
                break

    # -- scanning -------------------------------------------------------------------------

    def iter_files(self) -> Iterator[str]:
        """Relative paths of every stored ``*.dcm`` file (not temporaries)."""
        for study in sorted(self.root.iterdir()):
            if not study.is_dir() or study.name.startswith("."):
                continue
            for series in sorted(study.iterdir()):
                if not series.is_dir():
                    continue
                for f in sorted(series.iterdir()):
                    if f.suffix == ".dcm" and not f.name.startswith("."):
                        yield f"{study.name}/{series.name}/{f.name}"

    def sweep_temporaries(self) -> list[Path]:
        """Delete temporary files left by a crash; returns what was removed."""
        removed = []
        for path in (self.root / self.INCOMING).iterdir():  # everything in .incoming is partial
            if path.is_file():
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed.append(path)
        for path in self.root.rglob(f"{self.TEMP_PREFIX}*"):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
        return removed
