"""Print Management against pynetdicom (a test peer only), both roles: pynetdicom as print SCU
driving our SCP through the Meta SOP class, and our ``print_images`` against a pynetdicom print
SCP built from its event handlers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import peers
import pytest
from PIL import Image

from dicomkit.dictionary import uids
from dicomkit.net import AE, SyncAE
from dicomkit.services import FilmOptions, PrinterProfile, PrintSCP, print_contexts, print_images

pytestmark = pytest.mark.interop
pynetdicom = peers.require_module("pynetdicom")
pydicom = peers.require_module("pydicom")
from pydicom.dataset import Dataset as PDataset
from pydicom.uid import generate_uid as pd_uid
from pynetdicom import evt

META = uids.BasicGrayscalePrintManagementMeta


def picture(shift: int) -> np.ndarray:
    return np.roll((np.arange(20 * 30).reshape(20, 30) % 180 + 50).astype(np.uint8), shift, 1)


@pytest.fixture
def our_scp(tmp_path: Path) -> Iterator[tuple[int, PrintSCP]]:
    scp = PrintSCP(tmp_path / "films", printer=PrinterProfile(dpi=25))
    with SyncAE("OURPRINT", handlers=scp.handlers()) as ae, ae.serve(0) as server:
        yield server.port, scp


def test_pynetdicom_scu_prints_on_our_scp(our_scp: tuple[int, PrintSCP]) -> None:
    port, scp = our_scp
    ae = pynetdicom.AE(ae_title="PYPRINT")
    ae.add_requested_context(META)
    ae.add_requested_context(uids.PrintJob)
    reports: list[tuple[int, str]] = []

    def on_report(event: Any) -> Any:
        req = event.request
        reports.append((req.EventTypeID, req.AffectedSOPInstanceUID))
        return 0x0000, None

    assoc = ae.associate(
        "127.0.0.1", port, ae_title="OURPRINT", evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report)]
    )
    assert assoc.is_established
    try:
        status, printer = assoc.send_n_get(
            [0x21100010, 0x21100030], uids.Printer, uids.PrinterInstance, meta_uid=META
        )
        assert status.Status == 0 and printer.PrinterStatus == "NORMAL"
        session = PDataset()
        session.NumberOfCopies = "1"
        session.FilmSessionLabel = "PY"
        session_uid = pd_uid()
        status, _ = assoc.send_n_create(session, uids.BasicFilmSession, session_uid, meta_uid=META)
        assert status.Status == 0
        box = PDataset()
        box.ImageDisplayFormat = "STANDARD\\1,2"
        box.FilmOrientation = "LANDSCAPE"
        box.BorderDensity = "BLACK"
        box.MagnificationType = "REPLICATE"
        ref = PDataset()
        ref.ReferencedSOPClassUID = uids.BasicFilmSession
        ref.ReferencedSOPInstanceUID = session_uid
        box.ReferencedFilmSessionSequence = [ref]
        film_uid = pd_uid()
        status, created = assoc.send_n_create(box, uids.BasicFilmBox, film_uid, meta_uid=META)
        assert status.Status == 0 and len(created.ReferencedImageBoxSequence) == 2
        for position, item in enumerate(created.ReferencedImageBoxSequence, start=1):
            image = PDataset()
            image.ImageBoxPosition = position
            pixels = PDataset()
            arr = picture(position * 4)
            pixels.SamplesPerPixel = 1
            pixels.PhotometricInterpretation = "MONOCHROME2"
            pixels.Rows, pixels.Columns = arr.shape
            pixels.BitsAllocated = 8
            pixels.BitsStored = 8
            pixels.HighBit = 7
            pixels.PixelRepresentation = 0
            pixels.PixelData = arr.tobytes()
            image.BasicGrayscaleImageSequence = [pixels]
            status, _ = assoc.send_n_set(
                image, item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID, meta_uid=META
            )
            assert status.Status == 0
        status, reply = assoc.send_n_action(None, 1, uids.BasicFilmBox, film_uid, meta_uid=META)
        assert status.Status == 0
        job_uid = reply.ReferencedPrintJobSequence[0].ReferencedSOPInstanceUID
        status, job = assoc.send_n_get([0x21000020, 0x21000030], uids.PrintJob, job_uid)
        assert status.Status == 0 and job.ExecutionStatus == "DONE"
        assert reports == [(3, job_uid)]  # the SCP reported DONE on this association
        status = assoc.send_n_delete(uids.BasicFilmSession, session_uid, meta_uid=META)
        assert status.Status == 0
        status, _ = assoc.send_n_action(None, 1, uids.BasicFilmBox, film_uid, meta_uid=META)
        assert status.Status == 0x0112  # deleted with its session
    finally:
        assoc.release()
    (png,) = scp.printed
    with Image.open(png) as img:
        film = np.asarray(img).copy()
    h, w = film.shape
    assert w > h  # LANDSCAPE
    # STANDARD\1,2: one column, two rows; each half shows its picture, the border is black
    for position in (1, 2):
        half = film[(position - 1) * h // 2 : position * h // 2]
        ys, xs = np.nonzero(half)
        region = half[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        want = picture(position * 4)
        rows = ((np.arange(20) + 0.5) * region.shape[0] / 20).astype(int)
        cols = ((np.arange(30) + 0.5) * region.shape[1] / 30).astype(int)
        assert np.array_equal(region[np.ix_(rows, cols)], want)


def test_our_scu_against_pynetdicom_print_scp() -> None:
    seen: dict[str, Any] = {"images": {}, "actions": [], "layout": None}
    boxes: dict[str, int] = {}

    def on_create(event: Any) -> Any:
        req = event.request
        ds = event.attribute_list
        if req.AffectedSOPClassUID == uids.BasicFilmBox:
            seen["layout"] = ds.ImageDisplayFormat
            seen["film"] = req.AffectedSOPInstanceUID
            items = []
            for position in (1, 2, 3, 4):
                uid = pd_uid()
                boxes[uid] = position
                item = PDataset()
                item.ReferencedSOPClassUID = uids.BasicGrayscaleImageBox
                item.ReferencedSOPInstanceUID = uid
                items.append(item)
            ds.ReferencedImageBoxSequence = items
        return 0x0000, ds

    def on_set(event: Any) -> Any:
        uid = event.request.RequestedSOPInstanceUID
        item = event.modification_list.BasicGrayscaleImageSequence[0]
        arr = np.frombuffer(item.PixelData, np.uint8).reshape(item.Rows, item.Columns)
        seen["images"][boxes[uid]] = arr
        return 0x0000, event.modification_list

    def on_action(event: Any) -> Any:
        seen["actions"].append(event.request.RequestedSOPClassUID)
        return 0x0000, None

    def on_delete(event: Any) -> int:
        return 0x0000

    ae = pynetdicom.AE(ae_title="PYSCP")
    for uid in (META, uids.PrintJob, uids.BasicAnnotationBox, uids.PresentationLUT):
        ae.add_supported_context(uid)
    port = peers.free_port()
    server = ae.start_server(
        ("127.0.0.1", port),
        block=False,
        evt_handlers=[
            (evt.EVT_N_CREATE, on_create),
            (evt.EVT_N_SET, on_set),
            (evt.EVT_N_ACTION, on_action),
            (evt.EVT_N_DELETE, on_delete),
        ],
    )
    sent = [picture(i * 3) for i in range(3)]
    try:

        async def go() -> Any:
            async with AE("DICOMKIT").associate(
                "127.0.0.1", port, contexts=print_contexts(), ae_title="PYSCP"
            ) as assoc:
                return await print_images(assoc, sent, FilmOptions(layout="STANDARD\\2,2"))

        result = asyncio.run(go())
    finally:
        server.shutdown()
    assert seen["layout"] == "STANDARD\\2,2" and result.film_boxes[0].uid == seen["film"]
    assert sorted(seen["images"]) == [1, 2, 3]
    for position, arr in enumerate(sent, start=1):
        assert np.array_equal(seen["images"][position], arr)
    assert seen["actions"] == [uids.BasicFilmBox]
