"""Node configuration: defaults, TOML, overrides, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dicomkit.archive._config import ConfigError, NodeConfig, Peer, load, parse_peer
from dicomkit.archive._store import DuplicatePolicy


def test_defaults_need_no_file() -> None:
    cfg = load(None)
    assert cfg == NodeConfig()
    assert (cfg.ae_title, cfg.port, cfg.archive, cfg.db) == (
        "DICOMKIT",
        11112,
        Path("archive"),
        None,
    )
    assert cfg.accepts("ANYONE")


def test_toml_and_overrides(tmp_path: Path) -> None:
    f = tmp_path / "n.toml"
    f.write_text("""
[server]
ae_title = "PACS"
port = 4242
archive = "store"
duplicates = "replace"
accepted_calling_aets = ["A", "B"]

[peers.VIEWER]
host = "10.0.0.7"
port = 104

[peers.SECURE]
host = "pacs.example"
port = 2762
tls = true
ca = "ca.pem"
""")
    cfg = load(f, port=5000, extra_peers=[parse_peer("WS=127.0.0.1:11113")])
    assert cfg.ae_title == "PACS" and cfg.port == 5000
    assert cfg.archive == tmp_path / "store"
    assert cfg.duplicates is DuplicatePolicy.REPLACE
    assert cfg.accepts("A") and not cfg.accepts("C")
    assert cfg.peers["VIEWER"] == Peer("VIEWER", "10.0.0.7", 104)
    assert cfg.peers["SECURE"].tls and cfg.peers["SECURE"].ca == "ca.pem"
    assert cfg.peers["WS"] == Peer("WS", "127.0.0.1", 11113)


@pytest.mark.parametrize(
    "text,needle",
    [
        ("[server]\nprot = 1\n", "unknown key(s) prot"),
        ("[srv]\n", "unknown config section"),
        ("[server]\nduplicates = 'maybe'\n", "keep, replace or reject"),
        ("[server]\nae_title = 'MUCH_TOO_LONG_FOR_AN_AE'\n", "not an AE title"),
        ("[peers.X]\nhost = 'h'\n", "needs host and port"),
        ("[server\n", "not valid TOML"),
    ],
)
def test_bad_files(tmp_path: Path, text: str, needle: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as info:
        load(f)
    assert needle in str(info.value)


def test_bad_peer_option() -> None:
    with pytest.raises(ConfigError):
        parse_peer("VIEWER@host")
    with pytest.raises(ConfigError):
        load(Path("/nonexistent/x.toml"))


def test_limits_and_timeouts_from_file_and_options(tmp_path: Path) -> None:
    f = tmp_path / "n.toml"
    f.write_text(
        "[server]\nmax_associations_per_host = 4\nidle_timeout = 15\nrequire_called_aet = true\n"
        "lenient_uids = true\nmin_free_bytes = 1000\ncheck = false\n"
    )
    cfg = load(f, max_associations_per_aet=3, dimse_timeout=7.5)
    assert cfg.max_associations_per_host == 4 and cfg.max_associations_per_aet == 3
    assert cfg.idle_timeout == 15.0 and cfg.dimse_timeout == 7.5
    assert cfg.require_called_aet and cfg.lenient_uids and not cfg.check
    assert cfg.min_free_bytes == 1000


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[server]\nmax_pending = -1\n", "max_pending"),
        ("[server]\nidle_timeout = 'soon'\n", "idle_timeout"),
        ("[server]\nrequire_called_aet = 'yes'\n", "true or false"),
    ],
)
def test_bad_limit_values(tmp_path: Path, text: str, needle: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=needle):
        load(f)
