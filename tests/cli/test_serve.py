"""`dicomkit serve` as a subprocess: defaults, storage + query, config file, clean stop."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "archive"))
from archive_helpers import cli, cli_subprocess, serving, synthetic, write_files
from peers import free_port, stop

# every test starts `python -m dicomkit serve` (or the CLI) as a process of its own
pytestmark = pytest.mark.slow
ROWS = synthetic(3)


def test_serve_store_find_and_stop(tmp_path: Path) -> None:
    files = write_files(ROWS, tmp_path / "in")
    port = free_port()
    arch = tmp_path / "arch"
    with serving(arch, port) as proc:
        code, out, err = cli(
            "store", "127.0.0.1", str(port), "--aec", "DICOMKIT", "-q", *map(str, files)
        )
        assert code == 0, err
        code, out, err = cli("echo", "127.0.0.1", str(port), "--aec", "DICOMKIT")
        assert code == 0, err
        _out, stderr = stop(proc, signal.SIGINT, timeout=15)
        assert proc.returncode == 0
    assert "listening on 127.0.0.1" in stderr and "stopped" in stderr
    assert (arch / "index.sqlite").exists()
    stored = sorted(p.name for p in arch.rglob("*.dcm"))
    assert stored == sorted(f"{r['SOPInstanceUID']}.dcm" for r in ROWS)
    # restart on the same folder: the index is still there, nothing to repair
    port = free_port()
    with serving(arch, port):
        code, out, err = cli(
            "find",
            "127.0.0.1",
            str(port),
            "--aec",
            "DICOMKIT",
            "--json",
            "-L",
            "IMAGE",
            "-k",
            "SOPInstanceUID=",
            "-k",
            f"StudyInstanceUID={ROWS[0]['StudyInstanceUID']}",
            "-k",
            f"SeriesInstanceUID={ROWS[0]['SeriesInstanceUID']}",
        )
        assert code == 0, err
        assert ROWS[0]["SOPInstanceUID"] in out


def test_serve_config_file_and_calling_aet_filter(tmp_path: Path) -> None:
    port = free_port()
    cfg = tmp_path / "node.toml"
    cfg.write_text(f"""
[server]
ae_title = "ARCHIVE1"
port = {port}
host = "127.0.0.1"
archive = "data"
accepted_calling_aets = ["FRIEND"]
duplicates = "reject"

[peers.VIEWER]
host = "127.0.0.1"
port = 4242
""")
    from archive_helpers import os, subprocess  # type: ignore[attr-defined]
    from peers import stop, wait_for_port

    proc = subprocess.Popen(
        [sys.executable, "-m", "dicomkit", "serve", "--config", str(cfg)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        wait_for_port(port, proc=proc)
        code, _out, err = cli(
            "echo", "127.0.0.1", str(port), "--aec", "ARCHIVE1", "--aet", "STRANGER"
        )
        assert code != 0 and "reject" in err.lower()
        code, _out, err = cli(
            "echo", "127.0.0.1", str(port), "--aec", "ARCHIVE1", "--aet", "FRIEND"
        )
        assert code == 0, err
    finally:
        _out, text = stop(proc, signal.SIGINT, timeout=15)
    assert "ARCHIVE1 listening" in text and "VIEWER=127.0.0.1:4242" in text
    assert (tmp_path / "data" / "index.sqlite").exists()


def test_serve_bad_config_is_one_line(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[server]\nprot = 1\n")
    code, _out, err = cli_subprocess("serve", "--config", str(cfg))
    assert code == 2
    assert "unknown key(s) prot" in err and len(err.strip().splitlines()) == 1
    code, _out, err = cli_subprocess("serve", "--peer", "nonsense")
    assert code == 2 and "AET=HOST:PORT" in err


def test_serve_tls_options_are_checked(tmp_path: Path) -> None:
    """A missing or unusable certificate stops `serve` with one line and exit code 2, before
    anything is opened; --tls-key without --tls-cert is refused too."""
    code, _out, err = cli_subprocess(
        "serve", str(tmp_path / "a"), "--port", "0", "--tls-cert", str(tmp_path / "nope.pem")
    )
    assert code == 2 and "nope.pem" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "bad.pem").write_text("not a certificate\n")
    code, _out, err = cli_subprocess(
        "serve", str(tmp_path / "a"), "--port", "0", "--tls-cert", str(tmp_path / "bad.pem")
    )
    assert code == 2 and "TLS: cannot use certificate" in err
    code, _out, err = cli_subprocess(
        "serve", str(tmp_path / "a"), "--port", "0", "--tls-key", str(tmp_path / "bad.pem")
    )
    assert code == 2 and "--tls-cert" in err
    assert not (tmp_path / "a").exists()


def test_serve_tls_with_our_scu(tmp_path: Path) -> None:
    """TLS end to end with dicomkit on both sides (client certificate required)."""
    import pytest

    pytest.importorskip("cryptography")
    from archive_helpers import make_pki

    pki = make_pki(tmp_path / "pki")
    files = write_files(ROWS, tmp_path / "in")
    port = free_port()
    tls = [
        "--tls-cert",
        str(pki["client"]),
        "--tls-key",
        str(pki["client_key"]),
        "--tls-ca",
        str(pki["ca"]),
    ]
    with serving(
        tmp_path / "arch",
        port,
        "--tls-cert",
        str(pki["server"]),
        "--tls-key",
        str(pki["server_key"]),
        "--tls-ca",
        str(pki["ca"]),
    ):
        code, _out, err = cli(
            "store", "127.0.0.1", str(port), "--aec", "DICOMKIT", "-q", *tls, *map(str, files)
        )
        assert code == 0, err
        code, _out, err = cli("echo", "127.0.0.1", str(port), "--aec", "DICOMKIT")
        assert code != 0  # plain TCP to a TLS port
    assert len(list((tmp_path / "arch").rglob("*.dcm"))) == len(ROWS)


def test_serve_unreachable_postgresql_is_one_line(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    code, _out, err = cli_subprocess(
        "serve",
        str(tmp_path / "a"),
        "--port",
        "0",
        "--db",
        f"postgresql://user:secret@127.0.0.1:{port}/pacs",
    )
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "secret" not in err and ("cannot connect" in err or "psycopg" in err)


def test_serve_async_ops_grants_a_window(tmp_path: Path) -> None:
    """--async-ops N: a requestor proposing a larger window gets N; a bad value stops `serve`
    with one line naming it."""
    from dicomkit.net import AEConfig
    from dicomkit.net._blocking import associate

    port = free_port()
    with serving(tmp_path / "arch", port, "--async-ops", "16", "--http-port", "0"):
        with associate(
            "127.0.0.1", port, AEConfig(), ae_title="DICOMKIT", async_ops=(32, 32)
        ) as assoc:
            assert assoc.async_ops == (16, 16)
            assert assoc.echo_status() == 0
        with associate("127.0.0.1", port, AEConfig(), ae_title="DICOMKIT") as assoc:
            assert assoc.async_ops == (1, 1)  # not proposed: none
    for bad, words in (("-1", "a number >= 0"), ("70000", "0 to 65535")):
        code, _out, err = cli_subprocess("serve", str(tmp_path / "b"), "--async-ops", bad)
        assert code == 2 and words in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "b").exists()
