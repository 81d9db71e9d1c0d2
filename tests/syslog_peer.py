"""Debian's rsyslogd as a test peer: started on loopback ports with a configuration of its
own, writing what it receives to a file the tests read (the audit trail's collector)."""

from __future__ import annotations

import contextlib
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from peers import free_port, missing, stop, wait_for_port

__all__ = ["RSYSLOGD", "event_ids", "messages", "received", "rsyslog"]

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
        stop(proc)


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


def messages(rows: list[tuple[str, ...]]) -> list[ET.Element]:
    """The audit messages (XML roots) of rows from :func:`received`."""
    return [ET.fromstring(row[4].lstrip("\ufeff").strip()) for row in rows]
