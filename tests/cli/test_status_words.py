"""Where a user sees a DIMSE status, it comes in hex with the service's words for it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from dicomkit.cli._move import report


@pytest.mark.parametrize(
    ("verb", "status", "words"),
    [
        ("C-MOVE to DEST", 0xB000, "0xB000 Warning: Sub-operations complete, one or more failures"),
        (
            "C-GET",
            0xB000,
            "0xB000 Warning: Sub-operations complete, one or more failures or warnings",
        ),
        ("C-MOVE to DEST", 0xA801, "0xA801 Refused: Move Destination unknown"),
        ("C-GET", 0xC002, "0xC002 Failed: Unable to process"),
    ],
)
def test_move_and_get_reports(
    verb: str, status: int, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = SimpleNamespace(
        status=status, completed=1, failed=1, warning=0, failed_uids=[], error_comment=""
    )
    assert report(verb, result) == 1
    assert capsys.readouterr().out.startswith(f"{verb}: {words}; 1 completed")


def test_log_line_of_a_response_names_the_service_meaning() -> None:
    from dicomkit.net._log import describe_message
    from dicomkit.net.proto import _dimse as dimse

    rsp = dimse.CStoreResponse(
        message_id_being_responded_to=1,
        affected_sop_class_uid="1.2.840.10008.5.1.4.1.1.2",
        affected_sop_instance_uid="1.2.3",
        status=0xB000,
    )
    assert "status 0xB000 Warning: Coercion of Data Elements" in describe_message(rsp, sent=True)
