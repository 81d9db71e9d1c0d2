"""A small DB-API 2.0 adapter: one schema and one set of queries on SQLite or PostgreSQL.

The index writes every statement once with ``?`` placeholders (qmark). This adapter rewrites
them for drivers with another paramstyle (psycopg: ``%s``) and provides the few constructs that
differ between dialects (case-sensitive wildcard matching). User values always travel as
parameters; nothing here formats a value into SQL text.

Durability: SQLite runs in WAL mode with ``synchronous=FULL``, so a committed transaction is on
disk when ``commit()`` returns (one fsync of the WAL per commit, none of the database file) --
the archive acknowledges an instance only after that. PostgreSQL commits are durable with its
default ``synchronous_commit=on``. :meth:`Database.savepoint` undoes one instance of a group
commit without the others.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from dicomkit.errors import ArchiveError

_QMARK = re.compile(r"\?")


class Database:
    """A connection plus the dialect's quirks. Thread-safe through one re-entrant lock."""

    def __init__(self, conn: Any, dialect: str, paramstyle: str) -> None:
        self.conn = conn
        self.dialect = dialect
        self.paramstyle = paramstyle
        self.lock = threading.RLock()
        self._depth = 0
        #: the SQLite write-ahead log (``index.sqlite-wal``) when the index is a file in WAL
        #: mode: :meth:`transaction` can then commit without syncing and :meth:`sync_log`
        #: makes it durable later (a group commit overlaps that fsync with others)
        self.wal_path: str | None = None

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def connect(cls, url: str) -> Database:
        """Open ``sqlite:///path``, a bare file path, ``sqlite://:memory:`` or
        ``postgresql://user:pw@host/db`` (needs ``psycopg``)."""
        if url.startswith(("postgresql://", "postgres://")):
            try:
                import psycopg  # type: ignore[import-not-found,unused-ignore]
            except ImportError as exc:
                raise ArchiveError(
                    "a PostgreSQL index needs psycopg: pip install 'psycopg[binary]'"
                ) from exc
            # autocommit: reads never leave a transaction open; writes use BEGIN/COMMIT
            try:
                pg: Any = psycopg.connect(url, autocommit=True)
            except psycopg.Error as exc:
                where = re.sub(r"//[^@/]*@", "//", url)  # no user or password in messages
                raise ArchiveError(
                    f"cannot connect to the index at {where}: {str(exc).strip().splitlines()[0]}"
                ) from exc
            return cls(pg, "postgresql", "format")
        # sqlite:///relative.db, sqlite:////absolute.db (SQLAlchemy's convention), a bare path
        path = url.removeprefix("sqlite:///")
        if path in ("", ":memory:"):
            path = ":memory:"
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchall()
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        except sqlite3.Error as exc:
            raise ArchiveError(_sqlite_hint(path, exc)) from exc
        db = cls(conn, "sqlite", "qmark")
        if path != ":memory:" and str(mode).lower() == "wal":
            db.wal_path = path + "-wal"
        return db

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    # -- statements -----------------------------------------------------------------------

    def sql(self, text: str) -> str:
        """Rewrite a qmark statement for this driver's paramstyle."""
        if self.paramstyle == "qmark":
            return text
        return _QMARK.sub("%s", text.replace("%", "%%"))

    def execute(self, text: str, params: Sequence[Any] = ()) -> Any:
        with self.lock:
            try:
                cur = self.conn.cursor()
                cur.execute(self.sql(text), tuple(params))
                return cur
            except Exception as exc:
                if _is_db_error(exc):
                    raise ArchiveError(f"index error: {exc}") from exc
                raise

    def query(self, text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            return list(self.execute(text, params).fetchall())

    def scalar(self, text: str, params: Sequence[Any] = ()) -> Any:
        rows = self.query(text, params)
        return rows[0][0] if rows else None

    @contextlib.contextmanager
    def transaction(self, *, synced: bool = True) -> Iterator[bool]:
        """A write transaction; nested uses join the outer one. Commits durably on exit.

        ``synced=False`` (SQLite in WAL mode only): the commit is atomic and survives a
        crash of this process, but its log is not fsync'd yet; the caller must call
        :meth:`sync_log` before it tells anyone the rows are kept. Yields whether the
        commit will be synced (True where the unsynced form is not available)."""
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield True
                finally:
                    self._depth -= 1
                return
            deferred = not synced and self.wal_path is not None
            if deferred:  # under the lock: no other transaction ever runs unsynced
                self.conn.execute("PRAGMA synchronous=NORMAL")
            try:
                # both connections are in autocommit mode: the transaction is explicit
                self.conn.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")
                self._depth = 1
                try:
                    yield not deferred
                except BaseException:
                    self._depth = 0
                    self.conn.execute("ROLLBACK")
                    raise
                self._depth = 0
                try:
                    self.conn.execute("COMMIT")
                except Exception as exc:
                    with contextlib.suppress(Exception):
                        self.conn.execute("ROLLBACK")
                    raise ArchiveError(f"index commit failed: {exc}") from exc
            finally:
                if deferred:
                    self.conn.execute("PRAGMA synchronous=FULL")

    def sync_log(self) -> None:
        """Make every transaction committed so far durable: fsync the SQLite write-ahead log
        (a no-op when commits are synced anyway). Thread-safe; needs no lock."""
        if self.wal_path is None:
            return
        try:
            fd = os.open(self.wal_path, os.O_RDONLY)
        except FileNotFoundError:  # checkpointed and removed: the rows are in the synced file
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested unit inside :meth:`transaction`: undone alone if its body raises (one
        instance of a group commit failing leaves the others in the batch)."""
        with self.lock:
            if not self._depth:
                raise ArchiveError("a savepoint needs an open transaction")
            self.conn.execute("SAVEPOINT ingest")
            try:
                yield
            except BaseException:
                self.conn.execute("ROLLBACK TO SAVEPOINT ingest")
                self.conn.execute("RELEASE SAVEPOINT ingest")
                raise
            self.conn.execute("RELEASE SAVEPOINT ingest")

    # -- dialect constructs ---------------------------------------------------------------

    def wildcard(self, column: str, pattern: str) -> tuple[str, str]:
        """SQL and parameter for DICOM wildcard matching (PS3.4 C.2.2.2.4), case-sensitive.

        ``*`` matches any run of characters and ``?`` one character; every other character is
        literal. SQLite's LIKE ignores ASCII case, so SQLite uses GLOB (where ``[`` must be
        escaped as ``[[]``); PostgreSQL uses LIKE with ``\\`` as the escape character.
        """
        if self.dialect == "sqlite":
            out = []
            for ch in pattern:
                out.append("[[]" if ch == "[" else ch)
            return f"{column} GLOB ?", "".join(out)
        out = []
        for ch in pattern:
            if ch == "*":
                out.append("%")
            elif ch == "?":
                out.append("_")
            elif ch in "%_\\":
                out.append("\\" + ch)
            else:
                out.append(ch)
        return f"{column} LIKE ? ESCAPE '\\'", "".join(out)


def _sqlite_hint(path: str, exc: Exception) -> str:
    """One line: why the SQLite index cannot be used, and what to do about it."""
    text = str(exc)
    if isinstance(exc, sqlite3.DatabaseError) and (
        "not a database" in text or "malformed" in text or "corrupt" in text
    ):
        return (
            f"the index {path} is damaged ({text}): rebuild it from the stored files with "
            "'dicomkit archive rebuild ARCHIVE_DIR' (the damaged file is kept aside)"
        )
    if "disk" in text or "full" in text or "readonly" in text or "unable to open" in text:
        return (
            f"cannot open the index {path} ({text}): free disk space or fix the folder's "
            "permissions, then start again"
        )
    return f"cannot open the index {path}: {text}"


def _is_db_error(exc: Exception) -> bool:
    if isinstance(exc, sqlite3.Error):
        return True
    return type(exc).__module__.startswith("psycopg")
