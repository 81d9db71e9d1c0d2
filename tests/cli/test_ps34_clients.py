"""The clients of the PS3.4 service classes (event-log, relevant-patient, substance, media,
display): usage errors say what to give, exit 2; the shared word parsers."""

from __future__ import annotations

from pathlib import Path

import pytest

from dicomkit.cli._find import UsageError
from dicomkit.cli._main import main
from dicomkit.cli._peer_words import code, host_port


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(list(args))
    return status, capsys.readouterr().err


@pytest.mark.parametrize(
    "args, says",
    [
        (("event-log", "send", "h", "104"), "needs --study"),
        (("event-log", "send", "h", "104", "--study", "1.2"), "at least one --event or --note"),
        (("event-log", "send", "h", "104", "--study", "1.2", "--event", "x"), "VALUE^SCHEME^MEANING"),
        (("event-log", "send", "h", "port", "--study", "1.2", "--note", "n"), "port"),
        (("relevant-patient", "h", "104"), "--patient-id"),
        (("substance", "approval", "h", "104", "123"), "needs --patient-id"),
        (("substance", "product", "h", "104"), "HOST PORT PACKAGE_ID"),
        (("media", "status", "h", "104"), "HOST PORT UID"),
        (("media", "create", "h", "104", "no/such/file"), "no such file or folder"),
        (("display", "h", "104", "-k", "NotAKeyword"), "not a DICOM keyword"),
    ],
)  # fmt: skip
def test_usage_errors(capsys: pytest.CaptureFixture[str], args: tuple[str, ...], says: str) -> None:
    status, err = run(capsys, *args)
    assert status == 2
    assert says in err and err.count("\n") == 1


def test_event_log_list_needs_a_log(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, err = run(capsys, "event-log", "list", str(tmp_path))
    assert status == 2 and "holds no event log" in err


def test_media_create_finds_no_instance(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not DICOM")
    status, err = run(capsys, "media", "create", "h", "104", str(tmp_path))
    assert status == 2 and "no DICOM instance" in err


def test_word_parsers() -> None:
    assert code("47625008^SCT^Intravenous route") == ("47625008", "SCT", "Intravenous route")
    with pytest.raises(UsageError):
        code("47625008^SCT")
    assert host_port(["h", "104", "x"], "HOST PORT X", extra=1) == ("h", 104, ["x"])
    with pytest.raises(UsageError, match="takes HOST PORT X"):
        host_port(["h"], "HOST PORT X", extra=1)
