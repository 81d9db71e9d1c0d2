"""What a pydicom / pynetdicom user reaches for: UID keywords wherever a UID goes, the
Dataset attributes that live elsewhere (and say where), handler names from services, and
C-FIND / C-MOVE / C-GET from the synchronous front."""

from __future__ import annotations

import io

import pytest

import dicomkit
from dicomkit.core._uid import resolve_uid
from dicomkit.errors import InvalidValueError


def test_resolve_uid_keywords_and_uids() -> None:
    assert resolve_uid("ExplicitVRLittleEndian") == "1.2.840.10008.1.2.1"
    assert resolve_uid("CTImageStorage") == "1.2.840.10008.5.1.4.1.1.2"
    assert resolve_uid("1.2.3.4") == "1.2.3.4"
    with pytest.raises(InvalidValueError, match="did you mean CTImageStorage"):
        resolve_uid("CTImagStorage", "SOP class")


def test_write_takes_a_transfer_syntax_keyword() -> None:
    ds = dicomkit.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.2.1125.5"
    out = io.BytesIO()
    dicomkit.write(ds, out, transfer_syntax="ImplicitVRLittleEndian")
    back = dicomkit.read(out.getvalue())
    assert back.transfer_syntax == "1.2.840.10008.1.2"
    assert back.file_meta is not None
    assert back.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2"


@pytest.mark.parametrize(
    ("name", "where"),
    [
        ("pixel_array", "dicomkit.pixels.pixel_array(ds)"),
        ("decompress", "dicomkit.pixels.decompress(ds)"),
        ("compress", "dicomkit.pixels.compress(ds"),
        ("save_as", "dicomkit.write(ds, path)"),
        ("to_json", "dicomkit.io._json.dumps(ds)"),
    ],
)
def test_dataset_says_where_things_live(name: str, where: str) -> None:
    with pytest.raises(AttributeError) as info:
        getattr(dicomkit.Dataset(), name)
    assert where in str(info.value)
    assert not hasattr(dicomkit.Dataset(), name)


def test_handler_names_from_services() -> None:
    from dicomkit import services
    from dicomkit.net.proto import _dimse as dimse

    assert services.CStoreRequest is dimse.CStoreRequest
    assert services.CFindRequest is dimse.CFindRequest
    for name in services.__all__:
        assert getattr(services, name) is not None, name
    with pytest.raises(AttributeError):
        _ = services.NoSuchThing  # type: ignore[attr-defined]


def test_sync_find_move_get_with_keywords(tmp_path: object) -> None:
    from dicomkit.net import Incoming
    from dicomkit.net._sync import SyncAE
    from dicomkit.net.proto import _dimse as dimse
    from dicomkit.services import _query_retrieve as qr

    def find(incoming: Incoming) -> object:
        for n in range(3):
            ds = dicomkit.Dataset()
            ds.QueryRetrieveLevel = "STUDY"
            ds.StudyInstanceUID = f"1.2.3.{n}"
            yield 0xFF00, ds

    def move(incoming: Incoming) -> dimse.CMoveResponse:
        return dimse.CMoveResponse(
            message_id_being_responded_to=incoming.message.message_id,
            status=0x0000,
            completed=2,
            failed=0,
            warning=0,
        )

    find_uid = "StudyRootQueryRetrieveInformationModelFind"
    move_uid = "StudyRootQueryRetrieveInformationModelMove"
    supported = {find_uid: ["ImplicitVRLittleEndian"], move_uid: ["ImplicitVRLittleEndian"]}
    handlers = {dimse.CFindRequest: find, dimse.CMoveRequest: move}
    with (
        SyncAE("SCP", supported=supported) as ae,
        ae.serve(0, handlers) as server,
        SyncAE("SCU") as scu,
        scu.associate(
            "127.0.0.1", server.port, contexts=[(find_uid, ["ImplicitVRLittleEndian"]), move_uid]
        ) as assoc,
    ):
        query = qr.identifier("STUDY", {"StudyInstanceUID": ""})
        found = [str(ds.StudyInstanceUID) for ds in assoc.iterate(qr.find, query)]
        assert found == ["1.2.3.0", "1.2.3.1", "1.2.3.2"]
        first = next(iter(assoc.iterate(qr.find, query)))  # an early exit cancels cleanly
        assert str(first.StudyInstanceUID) == "1.2.3.0"
        result = assoc.call(qr.move, query, "DEST")
        assert result.ok and result.completed == 2
