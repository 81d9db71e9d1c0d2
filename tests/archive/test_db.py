"""The DB-API adapter: paramstyles, dialect wildcards, durability pragmas, PostgreSQL by URL."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from dicomkit.archive import Index
from dicomkit.archive._db import Database
from dicomkit.errors import ArchiveError


class FakeConn:
    def __init__(self) -> None:
        self.seen: list[tuple[str, tuple[Any, ...]]] = []

    def cursor(self) -> FakeConn:
        return self

    def execute(self, sql: str, params: tuple[Any, ...]) -> None:
        self.seen.append((sql, params))


def test_format_paramstyle_rewrite() -> None:
    conn = FakeConn()
    db = Database(conn, "postgresql", "format")
    db.execute("SELECT a FROM t WHERE b = ? AND c LIKE '%x' AND d IN (?, ?)", (1, 2, 3))
    sql, params = conn.seen[0]
    assert sql == "SELECT a FROM t WHERE b = %s AND c LIKE '%%x' AND d IN (%s, %s)"
    assert params == (1, 2, 3)


@pytest.mark.parametrize(
    "pattern,sqlite,pg",
    [
        ("DOE*", "DOE*", "DOE%"),
        ("D?E", "D?E", "D_E"),
        ("A[1]*", "A[[]1]*", "A[1]%"),
        ("50%_off*", "50%_off*", "50\\%\\_off%"),
        ("back\\slash", "back\\slash", "back\\\\slash"),
    ],
)
def test_wildcard_translation(pattern: str, sqlite: str, pg: str) -> None:
    lite = Database(FakeConn(), "sqlite", "qmark")
    post = Database(FakeConn(), "postgresql", "format")
    assert lite.wildcard("c", pattern) == ("c GLOB ?", sqlite)
    sql, param = post.wildcard("c", pattern)
    assert sql == "c LIKE ? ESCAPE '\\'" and param == pg


def test_sqlite_is_wal_and_synchronous_full(tmp_path: Path) -> None:
    db = Database.connect(f"sqlite:///{tmp_path}/i.sqlite")
    assert db.scalar("PRAGMA journal_mode") == "wal"
    assert db.scalar("PRAGMA synchronous") == 2  # FULL
    db.close()
    db = Database.connect(str(tmp_path / "j.sqlite"))  # a bare path works too
    Index(db)
    assert db.scalar("SELECT value FROM meta WHERE name = 'schema'") == "1"
    db.close()


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    db = Database.connect(str(tmp_path / "t.sqlite"))
    db.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(RuntimeError), db.transaction():
        db.execute("INSERT INTO t VALUES (1)")
        raise RuntimeError("boom")
    assert db.scalar("SELECT COUNT(*) FROM t") == 0
    with db.transaction():
        db.execute("INSERT INTO t VALUES (2)")
    assert db.scalar("SELECT COUNT(*) FROM t") == 1
    with pytest.raises(ArchiveError):
        db.execute("SELECT * FROM missing")


def test_postgresql_needs_psycopg_or_says_where() -> None:
    """Without psycopg: a clear ArchiveError. With it, an unreachable server is an
    ArchiveError naming the host but not the password (the real server runs in
    test_postgresql.py)."""
    from peers import free_port

    url = f"postgresql://nobody:secret@127.0.0.1:{free_port()}/none"
    if importlib.util.find_spec("psycopg") is None:
        with pytest.raises(ArchiveError, match="psycopg"):
            Database.connect(url)
        return
    with pytest.raises(ArchiveError, match="cannot connect") as info:
        Database.connect(url)
    assert "secret" not in str(info.value) and "127.0.0.1" in str(info.value)
