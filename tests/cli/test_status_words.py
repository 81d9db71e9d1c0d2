"""Where a user sees a DIMSE status, it comes in hex with the service's words for it."""

from __future__ import annotations

from pathlib import Path
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


def test_refusals_name_the_offending_tags() -> None:
    """Both client checks (services' n_request and net's check_response) put the tags the
    peer sent back -- Offending Element, Attribute Identifier List -- in words."""
    from dicomkit.dictionary import uids
    from dicomkit.errors import DimseError
    from dicomkit.net import NSetResponse
    from dicomkit.net._messages import Response, check_response
    from dicomkit.services._n_common import check_status

    message = NSetResponse(
        message_id_being_responded_to=1,
        status=0x0106,
        offending_element=(0x00185100,),
        attribute_identifier_list=(0x00100020, 0x00185100, 0x7FE10010),
        error_comment="HFX is no position",
        affected_sop_class_uid=uids.DisplaySystem,
    )
    rsp = Response(message=message, context=None)  # type: ignore[arg-type]
    for check in (lambda: check_status(rsp, "N-SET"), lambda: check_response(rsp, "N-SET")):
        with pytest.raises(DimseError) as caught:
            check()
        text = str(caught.value)
        assert text.startswith("N-SET failed: 0x0106 ")
        assert (
            "Invalid Attribute Value: (0018,5100) Patient Position, (0010,0020) Patient ID" in text
        )
        assert "(7FE1,0010)" in text and text.endswith("(HFX is no position)")
        assert set(caught.value.offending) == {0x00185100, 0x00100020, 0x7FE10010}


def test_rt_verify_prints_the_refused_tag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from dicomkit.cli._main import main
    from dicomkit.net import SyncAE
    from dicomkit.services import MachineVerificationSCP

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "archive"))
    from test_node_ps34 import rt_plan

    plan = rt_plan(tmp_path / "plan.dcm", patient_id="")
    mpv = SyncAE("MPV")
    MachineVerificationSCP().add_to(mpv)
    with mpv, mpv.serve(0, host="127.0.0.1") as server:
        status = main(["rt-verify", "127.0.0.1", str(server.port), str(plan), "--aec", "MPV"])
    err = capsys.readouterr().err
    assert status == 1
    assert "0x0120 Failure: Missing Attribute: (0010,0020) Patient ID" in err, err
