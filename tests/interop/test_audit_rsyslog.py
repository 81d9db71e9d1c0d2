"""The audit trail reaches a real syslog collector: Debian's rsyslogd, started here on
loopback ports with a configuration of its own, over UDP (RFC 5426), TCP with octet-counting
framing (RFC 6587) and TLS (RFC 5425, rsyslog's openssl driver). What rsyslog received must
be RFC 5424 messages (PRI 85, MSGID DICOM+RFC3881) whose MSG parses as a DICOM audit message
with the right EventID; the TLS run goes through `dicomkit serve` and DCMTK tools."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "archive"))
from archive_helpers import make_pki, serving, synthetic, write_files
from peers import free_port, missing, run_dcmtk, stop, wait_for_port

from dicomkit.archive import _audit as au
from dicomkit.archive._audit_trail import AuditSettings, AuditTrail, SyslogTarget

pytestmark = [pytest.mark.interop, pytest.mark.slow]

RSYSLOGD = "/usr/sbin/rsyslogd"


@contextlib.contextmanager
def rsyslog(folder: Path, *, tls: dict[str, Path] | None = None) -> Iterator[dict[str, int]]:
    """rsyslogd in the foreground with its own configuration: ports udp, tcp (and tls);
    every message written to ``folder/received.log`` as PRI|VERSION|APP|MSGID|MSG."""
    if not Path(RSYSLOGD).exists():
        missing("rsyslog (apt-get install rsyslog rsyslog-openssl)")
    folder.mkdir(parents=True, exist_ok=True)
    ports = {"udp": free_port(), "tcp": free_port(), "tls": free_port()}
    lines = [
        f'global(workDirectory="{folder}" maxMessageSize="64k"',
    ]
    if tls:
        lines[0] += (
            f' defaultNetstreamDriverCAFile="{tls["ca"]}"'
            f' defaultNetstreamDriverCertFile="{tls["server"]}"'
            f' defaultNetstreamDriverKeyFile="{tls["server_key"]}"'
        )
    lines[0] += ")"
    lines += [
        'module(load="imudp")',
        'module(load="imptcp")',
        f'input(type="imudp" address="127.0.0.1" port="{ports["udp"]}")',
        f'input(type="imptcp" address="127.0.0.1" port="{ports["tcp"]}")',
    ]
    if tls:
        lines += [
            (
                'module(load="imtcp" streamDriver.name="ossl" streamDriver.mode="1" '
                'streamDriver.authMode="anon")'
            ),
            f'input(type="imtcp" address="127.0.0.1" port="{ports["tls"]}")',
        ]
    lines += [
        (
            'template(name="raw" type="string" '
            'string="%PRI%|%PROTOCOL-VERSION%|%APP-NAME%|%MSGID%|%msg%\\n")'
        ),
        f'action(type="omfile" file="{folder / "received.log"}" template="raw")',
    ]
    conf = folder / "rsyslog.conf"
    conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
    check = subprocess.run(
        [RSYSLOGD, "-N1", "-f", str(conf)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stderr + check.stdout
    with open(folder / "rsyslogd.out", "wb") as out:
        proc = subprocess.Popen(
            [RSYSLOGD, "-n", "-f", str(conf), "-i", str(folder / "rsyslogd.pid")],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(ports["tcp"], proc=proc)  # type: ignore[arg-type]
        if tls:
            wait_for_port(ports["tls"], proc=proc)  # type: ignore[arg-type]
        yield ports
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def received(folder: Path, count: int, timeout: float = 20.0) -> list[tuple[str, ...]]:
    """The first ``count`` messages rsyslog wrote (polled; bounded)."""
    path = folder / "received.log"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            rows = [tuple(x.split("|", 4)) for x in path.read_text("utf-8").splitlines()]
            if len(rows) >= count:
                return rows
        time.sleep(0.05)
    text = path.read_text("utf-8") if path.exists() else "(no file)"
    raise AssertionError(f"rsyslog got fewer than {count} messages:\n{text}")


def event_ids(rows: list[tuple[str, ...]]) -> list[str]:
    out = []
    for pri, version, app, msgid, msg in rows:
        assert (version, app, msgid) == ("1", "dicomkit", "DICOM+RFC3881"), (pri, version, msgid)
        assert pri in ("85", "84")  # authpriv.notice, authpriv.warning for failures
        root = ET.fromstring(msg.lstrip("\ufeff").strip())
        assert root.tag == "AuditMessage"
        out.append(root.find("EventIdentification/EventID").get("csd-code"))  # type: ignore[union-attr]
    return out


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
