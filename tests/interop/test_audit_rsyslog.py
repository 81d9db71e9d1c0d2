"""The audit trail reaches a real syslog collector: Debian's rsyslogd, started here on
loopback ports with a configuration of its own, over UDP (RFC 5426), TCP with octet-counting
framing (RFC 6587) and TLS (RFC 5425, rsyslog's openssl driver). What rsyslog received must
be RFC 5424 messages (PRI 85, MSGID DICOM+RFC3881) whose MSG parses as a DICOM audit message
with the right EventID; the TLS run goes through `dicomkit serve` and DCMTK tools."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "archive"))
from archive_helpers import make_pki, serving, synthetic, write_files
from peers import free_port, run_dcmtk, stop
from syslog_peer import event_ids, received, rsyslog

from dicomkit.archive import _audit as au
from dicomkit.archive._audit_trail import AuditSettings, AuditTrail, SyslogTarget

pytestmark = [pytest.mark.interop, pytest.mark.slow]


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_messages_reach_rsyslog(tmp_path: Path, transport: str) -> None:
    with rsyslog(tmp_path / "syslog") as ports:
        target = SyslogTarget(transport, "127.0.0.1", ports[transport])
        trail = AuditTrail(AuditSettings(syslog=target), au.AuditSource("DICOMKIT"))
        studies = au.Studies()
        studies.add("1.2.3", "1.2.840.10008.5.1.4.1.1.2", patient_id="P1", patient_name="Ä^B")
        node, scu = au.Actor("DICOMKIT"), au.Actor("SCU", "127.0.0.1")
        trail.emit(au.application_activity(node, started=True))
        trail.emit(au.instances_transferred(scu, node, studies.values(), action="C"))
        trail.emit(au.security_alert(node, scu, au.NODE_AUTHENTICATION, subject="127.0.0.1"))
        trail.close()
        assert trail.dropped == 0
        rows = received(tmp_path / "syslog", 3)
    assert event_ids(rows) == ["110100", "110104", "110113"]
    assert rows[2][0] == "84" and rows[0][0] == "85"
    assert "Ä^B" in rows[1][4]  # UTF-8 came through


def test_node_sends_its_trail_over_tls_to_rsyslog(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    files = write_files(synthetic(1), tmp_path / "files")
    with rsyslog(tmp_path / "syslog", tls=pki) as ports:
        config = tmp_path / "node.toml"
        config.write_text(
            "[audit]\n"
            f'syslog = "tls://localhost:{ports["tls"]}"\n'
            f'syslog_ca = "{pki["ca"]}"\n'
            'file = "audit.log"\n'
            "[access]\n"
            'default = ["store", "query", "retrieve"]\n'
            "[access.NOSTORE]\n"
            'allow = ["query"]\n',
            encoding="utf-8",
        )
        port = free_port()
        with serving(tmp_path / "arch", port, "--config", str(config), "--http-port", "0") as proc:
            run_dcmtk(
                "storescu",
                "-aet",
                "MODALITY",
                "-aec",
                "DICOMKIT",
                "127.0.0.1",
                str(port),
                *map(str, files),
            )
            run_dcmtk(
                "findscu",
                "-S",
                "-aet",
                "VIEWER",
                "-aec",
                "DICOMKIT",
                "-k",
                "QueryRetrieveLevel=STUDY",
                "-k",
                "StudyInstanceUID",
                "127.0.0.1",
                str(port),
            )
            run_dcmtk(
                "storescu",
                "-aet",
                "NOSTORE",
                "-aec",
                "DICOMKIT",
                "127.0.0.1",
                str(port),
                str(files[0]),
                check=False,
            )
            _out, err = stop(proc, timeout=15)
        ids = event_ids(received(tmp_path / "syslog", 5))
    assert "Traceback" not in err
    # start, the stores (one message per patient), the query, the refused store, stop
    assert ids[0] == "110100" and ids[-1] == "110100"
    assert "110104" in ids and "110112" in ids and "110113" in ids
    local = (tmp_path / "audit.log").read_text("utf-8").splitlines()
    assert len(local) == len(ids)  # the file has what the collector has
