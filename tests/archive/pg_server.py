"""A throw-away PostgreSQL server for the index tests: initdb into a temporary folder, pg_ctl
start on a free 127.0.0.1 port, stop and delete afterwards.

initdb refuses to run as root, so under root the server runs as the ``postgres`` user (the
Debian package creates it) through ``runuser``. A missing server or driver skips the tests on a
developer machine and fails them under ``CI`` (see ``tests/peers.py``): Debian packages
``postgresql`` (server binaries in /usr/lib/postgresql/<major>/bin) and pip ``psycopg[binary]``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from peers import free_port, missing


def _bin_dir() -> Path | None:
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / "initdb").exists() and (d / "pg_ctl").exists():
            return d
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def _as_user() -> tuple[list[str], int | None, int | None]:
    """The command prefix that runs a server tool as a non-root user, and its uid / gid."""
    if os.geteuid() != 0:
        return [], None, None
    try:
        pw = pwd.getpwnam("postgres")
    except KeyError:
        missing("a 'postgres' user to run PostgreSQL as (initdb refuses root)")
        raise
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--"], pw.pw_uid, pw.pw_gid
    return ["su", "postgres", "-s", "/bin/sh", "-c"], pw.pw_uid, pw.pw_gid


def _run(prefix: list[str], cmd: list[str], timeout: float = 120) -> None:
    if prefix and prefix[0] == "su":  # su -c takes one shell string
        import shlex

        full = [*prefix, " ".join(shlex.quote(c) for c in cmd)]
    else:
        full = [*prefix, *cmd]
    proc = subprocess.run(full, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd[:2])} failed ({proc.returncode}):\n"
            f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        )


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Start a private server; yields the URL of its ``postgres`` database (user dicomkit,
    trust authentication on 127.0.0.1 only)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        missing("python package psycopg (pip install 'psycopg[binary]')")
    bindir = _bin_dir()
    if bindir is None:
        missing("PostgreSQL server (apt-get install postgresql)")
        raise AssertionError("unreachable")
    prefix, uid, gid = _as_user()
    data = Path(tempfile.mkdtemp(prefix="dicomkit-pg-"))
    if uid is not None and gid is not None:
        os.chown(data, uid, gid)
    port = free_port()
    started = False
    try:
        _run(
            prefix,
            [
                str(bindir / "initdb"),
                "-D",
                str(data / "db"),
                "-U",
                "dicomkit",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
        )
        # fsync off: a test server's durability is not under test (the adapter's is)
        opts = (
            f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off "
            f"-c full_page_writes=off -c max_connections=20"
        )
        _run(
            prefix,
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data / "db"),
                "-l",
                str(data / "server.log"),
                "-w",
                "-t",
                "60",
                "-o",
                opts,
                "start",
            ],
        )
        started = True
        yield f"postgresql://dicomkit@127.0.0.1:{port}/postgres"
    finally:
        if started:
            with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
                _run(
                    prefix,
                    [
                        str(bindir / "pg_ctl"),
                        "-D",
                        str(data / "db"),
                        "-m",
                        "immediate",
                        "-w",
                        "stop",
                    ],
                    timeout=60,
                )
        shutil.rmtree(data, ignore_errors=True)


def reset(url: str) -> str:
    """Empty the database (drop every table of the index); returns ``url``."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    return url
