"""Health check and Prometheus metrics of `dicomkit serve --metrics-port`, scraped over HTTP
(urllib) and parsed with prometheus_client's own parser; log rotation of --log-file."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from archive_helpers import serving, synthetic, write_files
from peers import free_port, run_dcmtk, wait_for_port

pytestmark = [pytest.mark.interop, pytest.mark.slow]


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as rsp:
            return rsp.status, rsp.headers.get("Content-Type", ""), rsp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_and_health_while_storing(tmp_path: Path) -> None:
    port, mport = free_port(), free_port()
    files = write_files(synthetic(2), tmp_path / "files")
    with serving(
        tmp_path / "arch",
        port,
        "--metrics-port",
        str(mport),
        "--http-port",
        "0",
        "--accept",
        "STORESCU",
        "--accept",
        "ECHOSCU",
    ):
        wait_for_port(mport, timeout=20)  # it opens just after the DICOM port
        base = f"http://127.0.0.1:{mport}"
        status, ctype, body = _get(base + "/health")
        assert status == 200 and ctype == "application/json"
        assert json.loads(body)["status"] == "ok"
        run_dcmtk(
            "storescu",
            "-aet",
            "STORESCU",
            "-aec",
            "DICOMKIT",
            "127.0.0.1",
            str(port),
            *map(str, files),
        )
        run_dcmtk(
            "echoscu", "-aet", "INTRUDER", "-aec", "DICOMKIT", "127.0.0.1", str(port), check=False
        )  # rejected: not accepted
        status, ctype, text = _get(base + "/metrics")
        assert status == 200 and ctype.startswith("text/plain")
        got = _samples(text)
        assert _get(base + "/nothing")[0] == 404
    stored = got[("dicomkit_instances_stored_total", (("outcome", "stored"),))]
    assert stored == len(files)
    assert got[("dicomkit_store_seconds_count", ())] == len(files)
    buckets = [v for (n, lab), v in got.items() if n == "dicomkit_store_seconds_bucket"]
    assert max(buckets) == len(files)  # the +Inf bucket holds every store
    assert got[("dicomkit_associations_total", (("result", "accepted"),))] == 1
    assert got[("dicomkit_associations_total", (("result", "rejected"),))] == 1
    assert got[("dicomkit_associations_open", ())] == 0
    assert got[("dicomkit_disk_free_bytes", ())] > 0
    assert ("dicomkit_ingest_in_flight", ()) in got and ("dicomkit_audit_queue_depth", ()) in got


def test_health_is_degraded_when_stores_are_refused_for_disk(tmp_path: Path) -> None:
    port, mport = free_port(), free_port()
    huge = str(1 << 62)  # more free space than any disk has: stores refused
    with serving(
        tmp_path / "arch",
        port,
        "--metrics-port",
        str(mport),
        "--http-port",
        "0",
        "--min-free-bytes",
        huge,
    ):
        wait_for_port(mport, timeout=20)
        status, _ctype, body = _get(f"http://127.0.0.1:{mport}/health")
    doc = json.loads(body)
    assert status == 503 and doc["status"] == "degraded" and "disk" in doc["reason"]


def test_log_file_rotates_by_size(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "node.log"
    with serving(
        tmp_path / "arch",
        port,
        "--http-port",
        "0",
        "--log-file",
        str(log),
        "--log-max-bytes",
        "300",
        "--log-backups",
        "2",
    ):
        for _ in range(8):  # each association logs a line
            run_dcmtk("echoscu", "-aet", "ECHOSCU", "-aec", "DICOMKIT", "127.0.0.1", str(port))
    rotated = sorted(p.name for p in tmp_path.glob("node.log*"))
    assert rotated == ["node.log", "node.log.1", "node.log.2"], rotated
    assert all(p.stat().st_size <= 450 for p in tmp_path.glob("node.log*"))
    assert "association accepted" in (tmp_path / "node.log.1").read_text("utf-8")
