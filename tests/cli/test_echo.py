"""``dicomkit echo``."""

from __future__ import annotations

import peers
import pytest

from dicomkit.cli._main import main
from dicomkit.net._sync import SyncAE


def test_echo_repeat(capsys: pytest.CaptureFixture[str]) -> None:
    with SyncAE("SCP") as ae, ae.serve(0) as server:
        assert main(["echo", "127.0.0.1", str(server.port), "--repeat", "3"]) == 0
        out = capsys.readouterr().out
        assert out.count("Success") == 3
        assert main(["echo", "127.0.0.1", str(server.port), "-r", "50", "--aet", "ME"]) == 0
        assert "50 C-ECHOs, 50 succeeded" in capsys.readouterr().out


def test_echo_refused_connection_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["echo", "127.0.0.1", str(peers.free_port()), "--connect-timeout", "2"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("dicomkit echo: cannot connect") and err.count("\n") == 1


def test_echo_rejected_called_aet(capsys: pytest.CaptureFixture[str]) -> None:
    from dicomkit.net import AEConfig

    with SyncAE("REAL", config=AEConfig(require_called_aet=True)) as ae, ae.serve(0) as server:
        assert main(["echo", "127.0.0.1", str(server.port), "--aec", "WRONG"]) == 1
    assert "rejected" in capsys.readouterr().err
