"""The index on a real PostgreSQL server (one per module, started by the fixture itself).

The C-FIND matching tests of ``test_matching`` run here a second time with their ``index``
fixture backed by PostgreSQL (the dialect differences: LIKE ... ESCAPE instead of GLOB,
``%s`` parameters, savepoints, RETURNING); then ingest through the Archive (group commit with
savepoints), duplicate policies, the start-up check, and ``dicomkit serve --db postgresql://``.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from archive_helpers import synthetic, to_dataset
from pg_server import postgres_server, reset

# The matching tests, collected again in this module: they take this module's `index`.
from test_matching import (  # noqa: F401
    ROWS,
    test_combined_date_time_range,
    test_computed_counts,
    test_date_range,
    test_datetime_range_at_image_level,
    test_empty_value_matching,
    test_hierarchical_series_and_image,
    test_modalities_in_study_matches_any_value,
    test_relational_query_skips_levels,
    test_retrieve_selects_instances,
    test_sequence_matching_one_item,
    test_single_value_cs_is_case_sensitive,
    test_single_value_pn_case_rule,
    test_special_return_keys,
    test_time_range_partial_precision,
    test_uid_list,
    test_universal_returns_every_study,
    test_values_are_parameters_not_sql,
    test_wildcard_pn_case_insensitive,
    test_wildcards,
)

from dicomkit.archive import Archive, Index, Model
from dicomkit.archive._db import Database
from dicomkit.archive._index import record_from_dataset
from dicomkit.archive._store import DuplicateInstanceError, DuplicatePolicy
from dicomkit.errors import ArchiveError

# a PostgreSQL server of its own is started for the module (initdb: seconds)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pg() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="module")
def index(pg: str) -> Iterator[Index]:
    """The matching tests' index, in a database of its own (tests may run in any order)."""
    import psycopg

    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute("CREATE DATABASE matching")
    idx = Index.open(pg.rsplit("/", 1)[0] + "/matching")
    assert idx.db.dialect == "postgresql"
    for i, row in enumerate(ROWS):
        assert idx.add(record_from_dataset(to_dataset(row)), f"f/{i}.dcm", 10)
    yield idx
    idx.close()


@pytest.fixture
def pg_url(pg: str) -> str:
    """A fresh, empty database."""
    return reset(pg)


def write_temp(arch: Archive, row: dict[str, str]) -> Path:
    import dicomkit

    tmp = arch.incoming_path()
    dicomkit.write(to_dataset(row, pixels=True), tmp)
    return tmp


def test_adapter_rewrites_and_rolls_back(pg_url: str) -> None:
    db = Database.connect(pg_url)
    db.execute("CREATE TABLE t (x TEXT)")
    with pytest.raises(RuntimeError), db.transaction():
        db.execute("INSERT INTO t VALUES (?)", ("a%b",))
        raise RuntimeError("boom")
    with db.transaction():
        db.execute("INSERT INTO t VALUES (?)", ("50%_off",))
        with pytest.raises(ArchiveError), db.savepoint():  # an error inside one savepoint
            db.execute("INSERT INTO missing VALUES (1)")
        db.execute("INSERT INTO t VALUES (?)", ("x",))  # ... leaves the transaction usable
    sql, param = db.wildcard("x", "50%_*")
    assert db.query(f"SELECT x FROM t WHERE {sql}", (param,)) == [("50%_off",)]
    assert db.scalar("SELECT COUNT(*) FROM t") == 2
    db.close()


def test_archive_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    rows = synthetic(6)
    with Archive(tmp_path / "a", db_url=pg_url) as arch:
        assert arch.index.db.dialect == "postgresql"
        with ThreadPoolExecutor(6) as pool:  # concurrent ingests share group commits
            outcomes = [
                r.outcome for r in pool.map(arch.ingest, [write_temp(arch, r) for r in rows])
            ]
        assert outcomes == ["stored"] * len(rows)
        assert arch.ingest(write_temp(arch, rows[0])).outcome == "kept"
        with pytest.raises(DuplicateInstanceError):
            arch.ingest(write_temp(arch, rows[0]), policy=DuplicatePolicy.REJECT)
        assert (
            arch.ingest(write_temp(arch, rows[0]), policy=DuplicatePolicy.REPLACE).outcome
            == "replaced"
        )
        res = [
            r.as_dict()
            for r in arch.find(
                {
                    "QueryRetrieveLevel": "STUDY",
                    "StudyInstanceUID": "",
                    "NumberOfStudyRelatedInstances": "",
                }
            )
        ]
        assert sum(int(r["NumberOfStudyRelatedInstances"]) for r in res) == len(rows)
        found = arch.retrieve(
            {"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": rows[0]["StudyInstanceUID"]}
        )
        assert found and all(arch.path_of(i).exists() for i in found)
        gone = arch.index.lookup(rows[1]["SOPInstanceUID"])
        assert gone is not None
        arch.path_of(gone).unlink()
    with Archive(tmp_path / "a", db_url=pg_url) as arch:  # start-up check, on PostgreSQL
        assert arch.last_check is not None
        assert arch.last_check.missing_files == [gone.path]
        assert arch.index.count() == len(rows) - 1
        assert list(
            arch.find({"QueryRetrieveLevel": "PATIENT", "PatientID": ""}, Model.PATIENT_ROOT)
        )


def test_serve_with_postgresql_url(pg_url: str, tmp_path: Path) -> None:
    """`dicomkit serve --db postgresql://...`: the node stores and finds through the server."""
    import asyncio

    from dicomkit.archive._app import ArchiveNode
    from dicomkit.archive._config import load
    from dicomkit.net import AE
    from dicomkit.services import _query_retrieve as qr
    from dicomkit.services._storage import store

    cfg = load(None, archive=tmp_path / "arch", db=pg_url, host="127.0.0.1", port=0)
    rows = synthetic(2)

    async def main() -> int:
        node = ArchiveNode(cfg)
        assert node.archive.index.db.dialect == "postgresql"
        server = await node.start()
        try:
            ds = [to_dataset(r, pixels=True) for r in rows]
            ct = {str(d.SOPClassUID) for d in ds}
            async with AE("T").associate(
                "127.0.0.1",
                server.port,
                ae_title="DICOMKIT",
                contexts=[(c, ["1.2.840.10008.1.2.1"]) for c in ct]
                + [qr.FIND[qr.Model.STUDY_ROOT]],
            ) as assoc:
                for d in ds:
                    assert (await store(assoc, d)).status == 0
                n = 0
                async for _ in qr.find(
                    assoc,
                    qr.identifier(
                        "IMAGE",
                        {
                            "StudyInstanceUID": rows[0]["StudyInstanceUID"],
                            "SeriesInstanceUID": rows[0]["SeriesInstanceUID"],
                            "SOPInstanceUID": "",
                        },
                    ),
                ):
                    n += 1
                return n
        finally:
            await server.close()
            node.storage.close()
            node.archive.close()

    want = sum(1 for r in rows if r["SeriesInstanceUID"] == rows[0]["SeriesInstanceUID"])
    assert asyncio.run(main()) == want
