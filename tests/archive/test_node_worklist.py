"""Modality Worklist hosted by ``dicomkit serve`` (PS3.4 K): items in the index, imported from
DICOM (.wl), JSON and folders; DCMTK ``findscu -W`` with DCMTK's example queries against the
node gives what ``wlmscpfs`` gives on the same items; our client against ``wlmscpfs``."""

from __future__ import annotations

import json
from pathlib import Path

import peers
import pytest
from archive_helpers import cli, serving

import dicomkit
from dicomkit.archive._db import Database
from dicomkit.archive._worklist_items import WorklistItems, read_items
from dicomkit.errors import InvalidDicomError
from dicomkit.io._json import to_json
from dicomkit.services._worklist import worklist_query

EXAMPLES = Path("/usr/share/doc/dcmtk/examples")

pytestmark = pytest.mark.interop


def _dump2dcm(dump: Path, out: Path) -> Path:
    peers.run_dcmtk("dump2dcm", str(dump), str(out))
    return out


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """DCMTK's example worklist (as .wl files under AE folder OFFIS) and example queries."""
    if not (EXAMPLES / "wlistdb").is_dir():
        peers.missing("DCMTK example worklist (dcmtk docs: /usr/share/doc/dcmtk/examples)")
    root = tmp_path_factory.mktemp("dcmtk-wl")
    db = root / "wl" / "OFFIS"
    db.mkdir(parents=True)
    (db / "lockfile").write_bytes(b"")
    for dump in sorted((EXAMPLES / "wlistdb" / "OFFIS").glob("*.dump")):
        _dump2dcm(dump, db / f"{dump.stem}.wl")
    queries = [
        _dump2dcm(d, root / f"{d.stem}.dcm") for d in sorted((EXAMPLES / "wlistqry").glob("*.dump"))
    ]
    return db, queries


def _findscu(port: int, aec: str, query: Path | None, keys: list[str], out: Path) -> set[str]:
    out.mkdir()
    args = ["-W", "-X", "-od", str(out), "-aec", aec]
    for k in keys:
        args += ["-k", k]
    peers.run_dcmtk("findscu", *args, "127.0.0.1", str(port), *([str(query)] if query else []))
    found = set()
    for f in out.iterdir():
        ds = dicomkit.read(f, force=True)
        found.add(f"{ds.get('PatientID')}|{ds.get('AccessionNumber')}")
    return found


OUR_QUERIES = [
    ["PatientName=M*", "PatientID", "AccessionNumber"],
    ["PatientID", "AccessionNumber", "(0040,0100)[0].Modality=CT"],
    [
        "PatientID",
        "AccessionNumber",
        "(0040,0100)[0].ScheduledProcedureStepStartDate=19930101-19931231",
    ],
    ["PatientID", "AccessionNumber", "(0040,0100)[0].ScheduledStationAETitle=AA67"],
]


def test_findscu_node_answers_as_wlmscpfs(
    tmp_path: Path, examples: tuple[Path, list[Path]]
) -> None:
    db, queries = examples
    archive = tmp_path / "arch"
    code, out, err = cli("worklist", "add", str(archive), str(db))
    assert code == 0, err
    assert "10 worklist item(s) stored" in out
    node_port, wlm_port = peers.free_port(), peers.free_port()
    results: list[tuple[str, set[str], set[str]]] = []
    with (
        serving(archive, node_port),
        peers.dcmtk_server("wlmscpfs", "-dfp", str(db.parent), str(wlm_port), port=wlm_port),
    ):
        for i, q in enumerate(queries):
            ours = _findscu(node_port, "DICOMKIT", q, [], tmp_path / f"n{i}")
            theirs = _findscu(wlm_port, "OFFIS", q, [], tmp_path / f"w{i}")
            results.append((q.name, ours, theirs))
        for i, keys in enumerate(OUR_QUERIES):
            ours = _findscu(node_port, "DICOMKIT", None, keys, tmp_path / f"kn{i}")
            theirs = _findscu(wlm_port, "OFFIS", None, keys, tmp_path / f"kw{i}")
            results.append((" ".join(keys), ours, theirs))
    for name, ours, theirs in results:
        assert ours == theirs, name
    # the queries are not all trivial: some match all, some a few, some none
    sizes = {len(ours) for _, ours, _ in results}
    assert 10 in sizes and 0 in sizes and sizes - {0, 10}


def test_our_client_against_wlmscpfs_and_the_node(
    tmp_path: Path, examples: tuple[Path, list[Path]]
) -> None:
    db, _ = examples
    archive = tmp_path / "arch"
    assert cli("worklist", "add", str(archive), str(db))[0] == 0
    node_port, wlm_port = peers.free_port(), peers.free_port()
    keys = ["-k", "ScheduledProcedureStepSequence.Modality=CT", "--json"]
    with (
        serving(archive, node_port),
        peers.dcmtk_server("wlmscpfs", "-dfp", str(db.parent), str(wlm_port), port=wlm_port),
    ):
        c1, ours, e1 = cli("worklist", "127.0.0.1", str(node_port), "--aec", "DICOMKIT", *keys)
        c2, theirs, e2 = cli("worklist", "127.0.0.1", str(wlm_port), "--aec", "OFFIS", *keys)
    assert c1 == 0 and c2 == 0, e1 + e2

    def ids(text: str) -> list[str]:
        return sorted(item["00100020"]["Value"][0] for item in json.loads(text))

    assert ids(ours) == ids(theirs)
    assert len(ids(ours)) >= 2
    for item in json.loads(ours):
        assert item["00400100"]["Value"][0]["00080060"]["Value"] == ["CT"]


def test_items_from_json_and_api_survive_a_restart(tmp_path: Path) -> None:
    archive = tmp_path / "arch"
    ds = worklist_query(patient_name="DOE^JANE", patient_id="P1", modality="MR", station_ae="MR1")
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.10.543.5.1"
    ds.ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate = "20260301"
    ds.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID = "S1"
    (tmp_path / "model.json").write_text(json.dumps(to_json(ds)), encoding="utf-8")
    (tmp_path / "keywords.json").write_text(
        json.dumps(
            [
                {
                    "PatientName": "ROE^RICHARD",
                    "PatientID": "P2",
                    "ScheduledProcedureStepSequence": [
                        {"Modality": "CT", "ScheduledProcedureStepStartDate": "20260302"}
                    ],
                }
            ]
        ),
        encoding="utf-8",
    )
    code, out, err = cli(
        "worklist",
        "add",
        str(archive),
        str(tmp_path / "model.json"),
        str(tmp_path / "keywords.json"),
    )
    assert code == 0, err
    assert "2 worklist item(s) stored" in out
    code, listing, _ = cli("worklist", "list", str(archive))
    assert "DOE^JANE" in listing and "ROE^RICHARD" in listing and "2 item(s)" in listing
    port = peers.free_port()
    for _ in range(2):  # the second node starts on the same index: the items are still there
        with serving(archive, port):
            code, found, err = cli(
                "worklist",
                "127.0.0.1",
                str(port),
                "--aec",
                "DICOMKIT",
                "-k",
                "ScheduledProcedureStepSequence.ScheduledProcedureStepStartDate=20260302-",
            )
        assert code == 0, err
        assert "ROE^RICHARD" in found and "DOE^JANE" not in found
    key = "1.2.826.0.1.3680043.10.543.5.1/S1"
    assert cli("worklist", "remove", str(archive), key)[0] == 0
    assert "DOE^JANE" not in cli("worklist", "list", str(archive))[1]


def test_bad_items_are_refused(tmp_path: Path) -> None:
    items = WorklistItems(Database.connect(str(tmp_path / "i.sqlite")))
    ds = worklist_query(patient_name="X")
    del ds.ScheduledProcedureStepSequence
    with pytest.raises(InvalidDicomError, match="Scheduled Procedure Step Sequence"):
        items.add(ds)
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InvalidDicomError, match="JSON object"):
        read_items(bad)
    code, _, err = cli("worklist", "list", str(tmp_path / "nothing"))
    assert code == 2 and "not an archive" in err


def test_worklist_folder_is_answered_with_the_stored_items(tmp_path: Path) -> None:
    from dicomkit.services._worklist import write_item

    folder = tmp_path / "wl"
    folder.mkdir()
    dropped = worklist_query(patient_name="FOLDER^ONE", patient_id="F1", modality="US")
    dropped.StudyInstanceUID = "1.2.826.0.1.3680043.10.543.5.7"
    write_item(dropped, folder / "f1.wl")
    cfg = tmp_path / "node.toml"
    cfg.write_text('[worklist]\nfolder = "wl"\n', encoding="utf-8")  # relative to the file
    archive = tmp_path / "arch"
    stored = worklist_query(patient_name="STORED^TWO", patient_id="S2", modality="US")
    (tmp_path / "s.json").write_text(json.dumps(to_json(stored)), encoding="utf-8")
    assert cli("worklist", "add", str(archive), str(tmp_path / "s.json"))[0] == 0
    port = peers.free_port()
    with serving(archive, port, "--config", str(cfg)):
        before = cli(
            "worklist", "127.0.0.1", str(port), "--aec", "DICOMKIT", "-k", "PatientName=*O*"
        )
        late = worklist_query(patient_name="FOLDER^LATE", patient_id="F3", modality="CT")
        write_item(late, folder / "f3.wl")  # dropped in while serving: answered at once
        after = cli("worklist", "127.0.0.1", str(port), "--aec", "DICOMKIT", "-k", "PatientID=F*")
    assert before[0] == 0, before[2]
    assert "FOLDER^ONE" in before[1] and "STORED^TWO" in before[1] and "2 worklist" in before[1]
    assert after[0] == 0 and "FOLDER^LATE" in after[1] and "2 worklist" in after[1]
