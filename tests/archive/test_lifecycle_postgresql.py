"""The archive's lifecycle on a PostgreSQL index (a server of its own, started by the
fixture): delete with its journal, an IOCM rejection note, patient update and merge, and the
backup's pg_dump of the index (restored into a new database, then checked against the
copied files)."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from archive_helpers import synthetic, to_dataset
from pg_server import postgres_server, reset

from dicomkit.archive import Archive, backup, merge_patients, update_patient
from dicomkit.archive._iocm import RejectionNotes
from dicomkit.sr import DCM
from dicomkit.sr.templates import rejection_note

pytestmark = pytest.mark.slow
ROWS = synthetic(4)


@pytest.fixture(scope="module")
def pg() -> Iterator[str]:
    with postgres_server() as url:
        yield url


def test_lifecycle_on_postgresql(pg: str, tmp_path: Path) -> None:
    url = reset(pg)
    study = Counter(r["StudyInstanceUID"] for r in ROWS).most_common(1)[0][0]
    with Archive(tmp_path / "a", db_url=url) as a:
        assert a.index.db.dialect == "postgresql"
        for r in ROWS:
            a.store_dataset(to_dataset(r, pixels=True))
        a.on_stored = RejectionNotes(a)
        victim = next(r for r in ROWS if r["StudyInstanceUID"] != study)
        a.store_dataset(
            rejection_note([to_dataset(victim)], DCM.RejectedForQualityReasons).to_dataset()
        )
        assert a.index.lookup(victim["SOPInstanceUID"]) is None
        report = a.delete(studies=[study])
        assert len(report.instances) == sum(r["StudyInstanceUID"] == study for r in ROWS)
        assert a.index.lookup(report.instances[0]) is None
        update_patient(a, {"PatientName": "PG^NAME"}, patient_id="PID003")
        merge_patients(a, "PID002", "PID003")
        assert not a.index.db.query("SELECT id FROM patients WHERE patient_id = 'PID002'")
        assert a.check(repair=False).clean and not a.verify().damaged
        n = a.index.count()
        if shutil.which("pg_dump") is None:
            pytest.fail(
                "pg_dump (postgresql-client) is needed for the backup of a PostgreSQL index"
            )
        rep = backup(a, tmp_path / "copy", db_url=url)
        assert rep.index.name == "index.pgdump" and rep.files == n and rep.extra_files == 1
    # restore the dump into a new database and check it against the copied files
    base = url.rsplit("/", 1)[0]
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS restored")
        conn.execute("CREATE DATABASE restored")
    restored = base + "/restored"
    subprocess.run(
        ["pg_restore", "--no-owner", "-d", restored, str(tmp_path / "copy" / "index.pgdump")],
        check=True,
        capture_output=True,
    )
    with Archive(tmp_path / "copy", db_url=restored, check=False) as copy:
        assert copy.index.count() == n
        assert copy.check(repair=False).clean
