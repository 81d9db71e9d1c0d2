"""Routing (archive._routing): instances forwarded by config rules through the persistent
outbox. DCMTK storescp as the destination, down at first and started later, with a restart
of the node while items wait: every routed instance arrives, nothing else does; the rules'
conditions; the queue CLI; config errors."""

from __future__ import annotations

import time
from pathlib import Path

import peers
import pytest
from archive_helpers import cli, serving, synthetic, to_dataset, write_files

from dicomkit.archive import _outbox as outbox
from dicomkit.archive._app import ArchiveNode
from dicomkit.archive._config import ConfigError, from_mapping, load
from dicomkit.archive._db import Database
from dicomkit.archive._routing import RoutingRule, RoutingSettings, check_section

CT = "1.2.840.10008.5.1.4.1.1.2"


def _config(tmp_path: Path, dest_port: int, rules: str) -> Path:
    cfg = tmp_path / "node.toml"
    cfg.write_text(
        f"""
[peers.STORESCP]
host = "127.0.0.1"
port = {dest_port}

[routing]
retry_initial = 0.2
retry_max = 0.5

{rules}
""",
        encoding="utf-8",
    )
    return cfg


def _received(folder: Path) -> set[str]:
    import dicomkit

    return {str(dicomkit.read(p, stop_before_pixels=True).SOPInstanceUID) for p in folder.iterdir()}


def _wait(predicate: object, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.mark.interop
@pytest.mark.slow  # two `dicomkit serve` processes and storescp
def test_routed_instances_survive_a_down_peer_and_a_restart(tmp_path: Path) -> None:
    archive, files_dir, out = tmp_path / "arch", tmp_path / "files", tmp_path / "dcmtk"
    out.mkdir()
    rows = synthetic(6)
    files = write_files(rows, files_dir)
    port, dest = peers.free_port(), peers.free_port()
    cfg = _config(
        tmp_path,
        dest,
        '[[routing.rules]]\nto = ["STORESCP"]\nmodality = ["CT", "MR"]\ncalling_aet = "MOD*"\n',
    )
    expected = {r["SOPInstanceUID"] for r in rows if r["Modality"] in ("CT", "MR")}
    assert expected and len(expected) < len(rows)  # the SR instances stay here
    with serving(archive, port, "--config", str(cfg)):
        code, _, err = cli("store", "127.0.0.1", str(port), *map(str, files), "--aet", "MODALITY1")
        assert code == 0, err
        # storescp is down: everything waits in the queue, with the connection error
        code, listing, _ = cli("archive", "queue", str(archive))
        assert code == 0
        queued = {line.split("\t")[3] for line in listing.splitlines() if "\t" in line}
        assert queued == expected
        # a store from another calling AE is not routed
        code, _, err = cli("store", "127.0.0.1", str(port), str(files[0]), "--aet", "VIEWER")
        assert code == 0, err
    # restarted while the peer is still down, then the peer comes up
    with (
        serving(archive, port, "--config", str(cfg)),
        peers.dcmtk_server("storescp", "-od", str(out), "-aet", "STORESCP", str(dest), port=dest),
    ):
        _wait(lambda: _received(out) == expected, "every routed instance at storescp")
        db = Database.connect(str(archive / "index.sqlite"))
        try:
            _wait(lambda: not outbox.items(db), "an empty queue")
        finally:
            db.close()
    assert _received(out) == expected


def _node(tmp_path: Path, rules: list[dict[str, object]]) -> ArchiveNode:
    cfg = from_mapping(
        {
            "server": {"archive": str(tmp_path / "arch"), "port": 0},
            "peers": {
                "PACS": {"host": "127.0.0.1", "port": 1},
                "AI": {"host": "127.0.0.1", "port": 2},
            },
            "routing": {"rules": rules},
        }
    )
    return ArchiveNode(cfg)


def test_rules_choose_destinations_by_calling_aet_modality_class_and_attributes(
    tmp_path: Path,
) -> None:
    node = _node(
        tmp_path,
        [
            {"to": ["PACS"], "sop_class": ["CTImageStorage"]},
            {"to": ["AI"], "modality": "MR", "match": {"PatientName": "doe*"}},
            {
                "to": ["AI"],
                "calling_aet": ["SCANNER?"],
                "match": {"StudyDate": "20200101-20200331"},
            },
        ],
    )
    try:
        router = node.hosted.router
        assert router is not None
        rows = synthetic(8)
        seen = 0
        for row in rows:
            result = node.archive.store_dataset(to_dataset(row))
            for calling in ("SCANNER1", "OTHER"):
                got = router.destinations(calling, result)
                want = []
                if row["SOPClassUID"] == CT:
                    want.append("PACS")
                by_mr = row["Modality"] == "MR" and row["PatientName"].upper().startswith("DOE")
                by_date = calling == "SCANNER1" and "20200101" <= row["StudyDate"] <= "20200331"
                if by_mr or by_date:
                    want.append("AI")
                assert got == want, (row, calling)
                seen += bool(got)
        assert seen  # the data exercise the rules
    finally:
        node.archive.close()


def test_on_stored_queues_durably_and_skips_kept_duplicates(tmp_path: Path) -> None:
    node = _node(tmp_path, [{"to": ["PACS", "AI"]}])
    try:
        router = node.hosted.router
        assert router is not None
        ds = to_dataset(synthetic(1)[0])
        first = node.archive.store_dataset(ds)
        router.on_stored("MOD", first)
        again = node.archive.store_dataset(ds)
        assert again.outcome == "kept"
        router.on_stored("MOD", again)
        got = outbox.items(node.archive.index.db)
        assert [(i.peer, i.ref, i.state) for i in got] == [
            ("PACS", first.sop_instance_uid, "pending"),
            ("AI", first.sop_instance_uid, "pending"),
        ]
    finally:
        node.archive.close()


def test_queue_cli_lists_retries_and_removes(tmp_path: Path) -> None:
    root = tmp_path / "arch"
    root.mkdir()
    db = Database.connect(str(root / "index.sqlite"))
    outbox.ensure(db)
    outbox.add(db, [("PACS", "store", "1.2.3", "{}"), ("AI", "store", "1.2.4", "{}")])
    first, _second = outbox.items(db)
    db.execute(
        "UPDATE outbox SET state = 'failed', last_error = 'refused: A900' WHERE id = ?",
        (first.id,),
    )
    code, text, _ = cli("archive", "queue", str(root))
    assert code == 1  # something failed
    assert "refused: A900" in text and "1.2.4" in text and "2 item(s) queued, 1 failed" in text
    code, text, _ = cli("archive", "queue", str(root), "retry", str(first.id))
    assert code == 0 and text.startswith("1 item")
    assert {i.state for i in outbox.items(db)} == {"pending"}
    code, text, _ = cli("archive", "queue", str(root), "remove", "--peer", "AI")
    assert code == 0 and text.startswith("1 item")
    assert [i.ref for i in outbox.items(db)] == ["1.2.3"]
    db.close()


def test_routing_config_errors_say_what_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not kept in the index"):
        check_section({"rules": [{"to": ["PACS"], "match": {"PixelSpacing": "1"}}]}, tmp_path)
    with pytest.raises(ConfigError, match="no SOP Class keyword"):
        check_section({"rules": [{"to": ["PACS"], "sop_class": ["NoSuchStorage"]}]}, tmp_path)
    with pytest.raises(ConfigError, match="needs to ="):
        check_section({"rules": [{"modality": "CT"}]}, tmp_path)
    with pytest.raises(ConfigError, match="unknown key"):
        check_section({"rules": [{"to": ["PACS"], "modalty": "CT"}]}, tmp_path)
    settings = check_section({"rules": [{"to": "PACS", "sop_class": CT}]}, tmp_path)
    assert settings["rules"] == (RoutingRule(to=("PACS",), sop_class=(CT,)),)
    assert RoutingSettings(**settings).active
    cfg = tmp_path / "n.toml"
    cfg.write_text('[[routing.rules]]\nto = ["NOWHERE"]\n', encoding="utf-8")
    node_cfg = load(cfg, archive=str(tmp_path / "a"))
    with pytest.raises(ConfigError, match=r"NOWHERE not in \[peers\]"):
        ArchiveNode(node_cfg)
