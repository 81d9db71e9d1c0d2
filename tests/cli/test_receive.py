"""``dicomkit receive`` as a separate process: DCMTK-like storage SCP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import peers
import pytest
from corpus import manifest

from dicomkit.cli._main import main
from dicomkit.services._storage import read_instance


def receive(port: int, out: Path, *extra: str) -> subprocess.Popen[bytes]:
    """``dicomkit receive`` as AE title RCV on 127.0.0.1:``port`` into ``out``."""
    argv = ["receive", "--port", str(port), "--host", "127.0.0.1", "--out", str(out)]
    return subprocess.Popen(
        [sys.executable, "-m", "dicomkit", *argv, "--aet", "RCV", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow  # `dicomkit receive` as a process of its own
def test_receive_stores_what_store_sends(tmp_path: Path) -> None:
    rows = [
        r.path
        for r in manifest()
        if not r.broken
        and r.preamble
        and "Directory" not in r.sop
        and r.ts in ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2.5")
    ][:4]
    if not rows:
        pytest.skip("corpus not available")
    port = peers.free_port()
    out = tmp_path / "out"
    proc = receive(port, out)
    try:
        peers.wait_for_port(port, proc=proc)  # type: ignore[arg-type]
        assert main(["store", "127.0.0.1", str(port), "--aec", "RCV", *map(str, rows)]) == 0
        assert main(["echo", "127.0.0.1", str(port), "--aec", "RCV"]) == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert b"listening on 127.0.0.1" in err and f"received {len(rows)} files".encode() in err
    for row in rows:
        assert (out / f"{read_instance(row).sop_instance}.dcm").exists()
    assert not [p for p in os.listdir(out) if p.endswith(".part")]


def test_receive_needs_out() -> None:
    with pytest.raises(SystemExit):
        main(["receive", "--port", "1"])


@pytest.mark.slow  # `dicomkit receive` as a process of its own
def test_receive_per_host_limit_rejects_in_words_and_can_be_raised(tmp_path: Path) -> None:
    """``--max-per-host 1``: a second association from 127.0.0.1 while one is open is
    rejected (transient, local limit exceeded) and the log names the limit to raise; the
    same two at once pass with ``--max-per-host 2``."""
    from dicomkit.errors import AssociationRejected
    from dicomkit.net import AEConfig
    from dicomkit.net._blocking import associate

    for per_host in (1, 2):
        port = peers.free_port()
        proc = receive(port, tmp_path / f"out{per_host}", "--max-per-host", str(per_host))
        try:
            peers.wait_for_port(port, proc=proc)  # type: ignore[arg-type]
            config = AEConfig(ae_title="SCU1")
            with associate("127.0.0.1", port, config, ae_title="RCV") as first:
                assert first.echo().status == 0
                other = AEConfig(ae_title="SCU2")
                if per_host == 1:
                    with pytest.raises(AssociationRejected) as info:
                        associate("127.0.0.1", port, other, ae_title="RCV")
                    assert (info.value.result, info.value.reason) == (2, 2)
                else:
                    with associate("127.0.0.1", port, other, ae_title="RCV") as second:
                        assert second.echo().status == 0
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        words = b"local limit exceeded: 1 associations from 127.0.0.1 already"
        assert (words in err and b"max_associations_per_host" in err) == (per_host == 1), err
