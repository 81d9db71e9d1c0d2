"""Print Management (PS3.4 H), both sides in one process: films rendered to PNG / PDF and checked
as pictures, the SOP instance hierarchy per association, and the standard's statuses."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import poll
from PIL import Image, PdfParser

from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence
from dicomkit.dictionary import tags as t
from dicomkit.dictionary import uids
from dicomkit.errors import DimseError, DimseNoSuchInstance, InvalidValueError
from dicomkit.net import AE, Association, Incoming, memory_pair
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services import (
    FilmOptions,
    PrinterProfile,
    PrintSCP,
    create_film_box,
    create_film_session,
    delete_film_box,
    delete_film_session,
    get_print_job,
    get_printer,
    print_contexts,
    print_film_box,
    print_film_session,
    print_images,
    set_annotation_box,
    set_image_box,
)
from dicomkit.services._print_layout import film_mm

DPI = 20


def run(
    scp: PrintSCP,
    body: Callable[[Association], Awaitable[Any]],
    *,
    color: bool = False,
    handlers: dict[Any, Any] | None = None,
) -> Any:
    async def main() -> Any:
        client, server = memory_pair()
        await AE("PRINTER", handlers=scp.handlers()).serve_transport(server)
        async with AE("MODALITY").associate(
            "", 0, transport=client, contexts=print_contexts(color=color), handlers=handlers
        ) as assoc:
            return await body(assoc)

    return asyncio.run(main())


def only_state(scp: PrintSCP) -> Any:
    """The SCP's state of the one association the test opened."""
    (state,) = scp._states.values()
    return state


def scp_at(tmp_path: Path, **kw: Any) -> PrintSCP:
    return PrintSCP(tmp_path / "films", printer=PrinterProfile(dpi=DPI), **kw)


def images(n: int) -> list[np.ndarray]:
    """Distinct pictures: a ramp whose values (30..229) never meet the BLACK border (0)."""
    base = (np.arange(24 * 32).reshape(24, 32) % 200 + 30).astype(np.uint8)
    return [np.roll(base, 5 * i, axis=1) for i in range(n)]


def load(png: Path) -> np.ndarray:
    with Image.open(png) as img:
        return np.asarray(img).copy()


def pdf_pages(path: Path) -> int:
    """The page count of a PDF, read by Pillow's PDF parser (incremental updates included)."""
    pdf = PdfParser.PdfParser(str(path))
    try:
        return len(pdf.pages)
    finally:
        pdf.close()


def regions(png: Path, count: int) -> list[tuple[int, int, int, int]]:
    """The image regions of a film with a BLACK border: the non-zero blobs, left-to-right
    top-to-bottom (found from the picture alone)."""
    pixels = load(png)
    mask = pixels > 0
    rows = np.flatnonzero(mask.any(axis=1))
    bands = np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1)
    found = []
    for band in bands:
        sub = mask[band[0] : band[-1] + 1]
        cols = np.flatnonzero(sub.any(axis=0))
        for run_ in np.split(cols, np.flatnonzero(np.diff(cols) > 1) + 1):
            found.append((int(run_[0]), int(band[0]), int(run_[-1]) + 1, int(band[-1]) + 1))
    assert len(found) == count, found
    return found


def matches(region: np.ndarray, want: np.ndarray) -> bool:
    rows = ((np.arange(want.shape[0]) + 0.5) * region.shape[0] / want.shape[0]).astype(int)
    cols = ((np.arange(want.shape[1]) + 0.5) * region.shape[1] / want.shape[1]).astype(int)
    got = region[np.ix_(rows, cols)].astype(int)
    return bool(np.abs(got - want.astype(int)).max() <= 1)


def test_print_images_renders_each_film_as_the_images_sent(tmp_path: Path) -> None:
    scp = scp_at(tmp_path)
    pictures = images(5)
    opts = FilmOptions(
        layout="STANDARD\\2,2", copies=2, polarity="REVERSE", magnification="REPLICATE"
    )

    async def body(assoc: Association) -> Any:
        result = await print_images(assoc, pictures, opts)
        job = await get_print_job(assoc, result.print_jobs[0])
        return result, job

    result, job = run(scp, body)
    assert len(result.film_boxes) == 2 and len(result.print_jobs) == 2
    assert job.ExecutionStatus == "DONE" and job.Originator == "MODALITY"
    first, second = scp.printed
    w, h = film_mm("8INX10IN")
    assert load(first).shape == (round(h * DPI / 25.4), round(w * DPI / 25.4))
    found = regions(first, 4)
    film = load(first)
    for (x0, y0, x1, y1), picture in zip(found, pictures[:4], strict=True):
        assert matches(film[y0:y1, x0:x1], 255 - picture)  # REVERSE polarity
    (x0, y0, x1, y1), *_ = regions(second, 1)
    assert matches(load(second)[y0:y1, x0:x1], 255 - pictures[4])
    assert pdf_pages(first.parent / "session.pdf") == 4  # 2 films x 2 copies


def test_layouts_and_densities_on_film(tmp_path: Path) -> None:
    scp = scp_at(tmp_path)
    dark = np.zeros((10, 10), np.uint8)
    opts = FilmOptions(layout="ROW\\1,2", max_density=160, empty_image="WHITE")

    async def body(assoc: Association) -> None:
        await print_images(assoc, [dark, dark], opts)

    run(scp, body)
    film = load(scp.printed[0])
    grey = round(255 * (300 - 160) / (300 - 20))  # pixel 0 prints at Max Density 1.60
    h, w = film.shape
    assert film[h // 4, w // 2] == grey  # the wide box of the first row
    assert film[3 * h // 4, w // 4] == grey  # first box of the second row
    assert film[3 * h // 4, 3 * w // 4] == 255  # the empty one: WHITE


def test_color_session_print(tmp_path: Path) -> None:
    scp = scp_at(tmp_path)
    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[..., 1] = 180
    opts = FilmOptions(layout="STANDARD\\1,1", color=True, session_print=True)

    async def body(assoc: Association) -> Any:
        return await print_images(assoc, [rgb, rgb], opts)

    result = run(scp, body, color=True)
    assert result.film_boxes[0].image_box_class == uids.BasicColorImageBox
    assert len(scp.printed) == 2 and len(result.print_jobs) == 1
    film = load(scp.printed[1])
    h, w, _ = film.shape
    assert tuple(film[h // 2, w // 2]) == (0, 180, 0)


def test_job_event_report_reaches_the_scu(tmp_path: Path) -> None:
    scp = scp_at(tmp_path)
    events: list[tuple[int, str, str]] = []

    def on_event(incoming: Incoming) -> None:
        msg = incoming.message
        assert isinstance(msg, dimse.NEventReportRequest)
        ds = incoming.dataset or Dataset()
        events.append((msg.event_type_id, msg.affected_sop_instance_uid, ds.PrinterName))

    async def body(assoc: Association) -> Any:
        result = await print_images(assoc, images(1))
        await poll(lambda: events, "the print job's event report")
        return result

    result = run(scp, body, handlers={dimse.NEventReportRequest: on_event})
    assert events == [(3, result.print_jobs[0], "DICOMKIT")]  # 3: DONE


def test_printer_status_report_and_get(tmp_path: Path) -> None:
    scp = scp_at(tmp_path, printer_name="FILM1")
    events: list[tuple[int, str]] = []

    def on_event(incoming: Incoming) -> None:
        msg = incoming.message
        assert isinstance(msg, dimse.NEventReportRequest)
        events.append((msg.event_type_id, (incoming.dataset or Dataset()).PrinterStatusInfo))

    async def body(assoc: Association) -> Any:
        before = await get_printer(assoc)
        told = await scp.report_printer_status("WARNING", "FILM TRANSP NRDY")
        after = await get_printer(assoc, [t.PrinterStatus])
        return before, told, after

    before, told, after = run(scp, body, handlers={dimse.NEventReportRequest: on_event})
    assert before.PrinterStatus == "NORMAL" and before.PrinterName == "FILM1"
    assert told == 1 and events == [(2, "FILM TRANSP NRDY")]
    assert after.PrinterStatus == "WARNING" and t.PrinterName not in after


# -- the hierarchy and the standard's statuses -------------------------------------------------


async def request(
    assoc: Association, msg: dimse.DimseRequest, data: Dataset | None = None, meta: str = ""
) -> dimse.DimseResponse:
    ctx = assoc.context_for(meta or uids.BasicGrayscalePrintManagementMeta)
    rsp = await assoc.request(msg, data, context=ctx)
    return rsp.message


def session_ds(**values: Any) -> Dataset:
    ds = Dataset()
    for key, value in values.items():
        ds.set(key, value)
    return ds


def test_hierarchy_rules(tmp_path: Path) -> None:
    scp = scp_at(tmp_path)

    async def body(assoc: Association) -> dict[str, Any]:
        out: dict[str, Any] = {}
        # a film box before any film session: 0110
        box = Dataset()
        box.ImageDisplayFormat = "STANDARD\\1,1"
        out["box first"] = await request(
            assoc, dimse.NCreateRequest(affected_sop_class_uid=uids.BasicFilmBox), box
        )
        session = await create_film_session(assoc)
        out["second session"] = await request(
            assoc, dimse.NCreateRequest(affected_sop_class_uid=uids.BasicFilmSession), Dataset()
        )
        out["print empty session"] = await request(
            assoc,
            dimse.NActionRequest(
                requested_sop_class_uid=uids.BasicFilmSession,
                requested_sop_instance_uid=session,
                action_type_id=1,
            ),
        )
        ref = Dataset()
        ref.ReferencedSOPClassUID = uids.BasicFilmSession
        ref.ReferencedSOPInstanceUID = "1.2.3.4"
        box.ReferencedFilmSessionSequence = Sequence([ref])
        out["other session"] = await request(
            assoc, dimse.NCreateRequest(affected_sop_class_uid=uids.BasicFilmBox), box
        )
        film = await create_film_box(assoc, session, FilmOptions(layout="STANDARD\\2,1"))
        out["empty page"] = []
        await print_film_box(assoc, film.uid, warnings=out["empty page"])
        await delete_film_session(assoc, session)
        try:
            await set_image_box(assoc, film.image_boxes[0], images(1)[0], position=1)
        except DimseError as exc:
            out["after delete"] = exc
        return out

    out = run(scp, body)
    assert out["box first"].status == 0x0110
    assert out["second session"].status == 0x0110
    assert out["print empty session"].status == 0xC600
    assert out["other session"].status == 0x0106
    assert out["other session"].offending_element == (t.ReferencedFilmSessionSequence,)
    assert out["empty page"] == [0xB603]
    assert isinstance(out["after delete"], DimseNoSuchInstance)
    assert out["after delete"].status == 0x0112
    assert "0x0112" in str(out["after delete"])


def test_bad_attributes_get_the_standard_statuses(tmp_path: Path) -> None:
    scp = scp_at(tmp_path, max_copies=10)

    async def body(assoc: Association) -> dict[str, Any]:
        out: dict[str, Any] = {}
        create = dimse.NCreateRequest(affected_sop_class_uid=uids.BasicFilmSession)
        out["copies"] = await request(
            assoc, create, session_ds(NumberOfCopies="50", PatientName="X")
        )
        session = out["copies"].affected_sop_instance_uid
        out["memory allocation"] = await request(
            assoc,
            dimse.NSetRequest(
                requested_sop_class_uid=uids.BasicFilmSession, requested_sop_instance_uid=session
            ),
            session_ds(MemoryAllocation="2048"),
        )
        out["priority"] = await request(
            assoc,
            dimse.NSetRequest(
                requested_sop_class_uid=uids.BasicFilmSession, requested_sop_instance_uid=session
            ),
            session_ds(PrintPriority="URGENT"),
        )
        ref = Dataset()
        ref.ReferencedSOPClassUID = uids.BasicFilmSession
        ref.ReferencedSOPInstanceUID = session
        box = Dataset()
        box.ReferencedFilmSessionSequence = Sequence([ref])
        box.ImageDisplayFormat = "STANDARD\\4"
        out["format"] = await request(
            assoc, dimse.NCreateRequest(affected_sop_class_uid=uids.BasicFilmBox), box
        )
        box.ImageDisplayFormat = "STANDARD\\1,1"
        box.MinDensity = 5
        out["density"] = await request(
            assoc, dimse.NCreateRequest(affected_sop_class_uid=uids.BasicFilmBox), box
        )
        film = out["density"].affected_sop_instance_uid
        image_box = only_state(scp).film_boxes[film].image_boxes[0]
        set_box = dimse.NSetRequest(
            requested_sop_class_uid=uids.BasicGrayscaleImageBox,
            requested_sop_instance_uid=image_box,
        )
        out["polarity"] = await request(assoc, set_box, session_ds(Polarity="SIDEWAYS"))
        item = Dataset()
        item.SamplesPerPixel = 3
        item.PhotometricInterpretation = "RGB"
        bad_image = Dataset()
        bad_image.BasicGrayscaleImageSequence = Sequence([item])
        out["pixels"] = await request(assoc, set_box, bad_image)
        out["class"] = await request(
            assoc,
            dimse.NSetRequest(
                requested_sop_class_uid=uids.BasicColorImageBox,
                requested_sop_instance_uid=image_box,
            ),
            bad_image,
        )
        out["position"] = await request(assoc, set_box, session_ds(ImageBoxPosition=2))
        out["unknown box"] = await request(
            assoc,
            dimse.NSetRequest(
                requested_sop_class_uid=uids.BasicGrayscaleImageBox,
                requested_sop_instance_uid="1.2.3",
            ),
            Dataset(),
        )
        out["printer"] = await request(
            assoc,
            dimse.NGetRequest(
                requested_sop_class_uid=uids.Printer, requested_sop_instance_uid="1.2.3"
            ),
        )
        out["action"] = await request(
            assoc,
            dimse.NActionRequest(
                requested_sop_class_uid=uids.BasicFilmBox,
                requested_sop_instance_uid=film,
                action_type_id=2,
            ),
        )
        return out

    out = run(scp, body)
    assert out["copies"].status == 0x0116 and out["copies"].offending_element == (t.NumberOfCopies,)
    assert out["memory allocation"].status == 0xB600
    assert out["memory allocation"].offending_element == (t.MemoryAllocation,)
    assert out["priority"].status == 0x0106
    assert out["priority"].offending_element == (t.PrintPriority,)
    assert out["format"].status == 0x0106
    assert out["format"].offending_element == (t.ImageDisplayFormat,)
    assert out["density"].status == 0xB605
    assert out["density"].offending_element == (t.MinDensity,)
    assert out["polarity"].status == 0x0106 and out["polarity"].offending_element == (t.Polarity,)
    assert out["pixels"].status == 0x0106
    assert out["pixels"].offending_element == (t.BasicGrayscaleImageSequence, t.SamplesPerPixel)
    assert out["class"].status == 0x0119
    assert out["position"].status == 0x0106
    assert out["unknown box"].status == 0x0112
    assert out["printer"].status == 0x0112
    assert out["action"].status == 0x0123


def test_unknown_attribute_is_warned_and_dropped(tmp_path: Path) -> None:
    scp = scp_at(tmp_path)

    async def body(assoc: Association) -> Any:
        rsp = await request(
            assoc,
            dimse.NCreateRequest(affected_sop_class_uid=uids.BasicFilmSession),
            session_ds(PatientName="X", FilmSessionLabel="L1"),
        )
        return rsp, only_state(scp).session

    rsp, stored = run(scp, body)
    assert rsp.status == 0x0107 and rsp.offending_element == (t.PatientName,)
    assert t.PatientName not in stored and stored.FilmSessionLabel == "L1"


def test_print_failure_is_reported_in_the_job(tmp_path: Path) -> None:
    scp = scp_at(tmp_path)
    big = np.full((600, 600), 100, np.uint8)
    events: list[int] = []

    def on_event(incoming: Incoming) -> None:
        assert isinstance(incoming.message, dimse.NEventReportRequest)
        events.append(incoming.message.event_type_id)

    async def body(assoc: Association) -> Any:
        session = await create_film_session(assoc)
        film = await create_film_box(assoc, session, FilmOptions(magnification="NONE"))
        decimate = Dataset()
        decimate.RequestedDecimateCropBehavior = "FAIL"
        await set_image_box(assoc, film.image_boxes[0], big, position=1, attributes=decimate)
        with pytest.raises(DimseError) as caught:
            await print_film_session(assoc, session)
        await poll(lambda: events, "the print job's event report")
        return caught.value

    err = run(scp, body, handlers={dimse.NEventReportRequest: on_event})
    assert events == [4]  # FAILURE, reported after the N-ACTION response
    assert err.status == 0xC603 and "0xC603" in str(err)
    assert scp.printed == []
    assert [j.ExecutionStatus for j in scp.jobs.values()] == ["FAILURE"]


def test_options_are_checked_before_the_wire() -> None:
    with pytest.raises(InvalidValueError, match="STANDARD"):
        FilmOptions(layout="GRID").check()
    with pytest.raises(InvalidValueError, match="Film Size ID"):
        FilmOptions(film_size="9X9").check()
    with pytest.raises(InvalidValueError, match="copies"):
        FilmOptions(copies=0).check()
    with pytest.raises(InvalidValueError, match="polarity"):
        FilmOptions(polarity="UPSIDE").check()


def test_annotation_lut_film_box_set_and_delete(tmp_path: Path) -> None:
    scp = scp_at(tmp_path, max_image_bytes=4000)
    ramp = np.tile(np.arange(30, 230, 4, dtype=np.uint8), (20, 1))  # 20 x 50

    async def body(assoc: Association) -> dict[str, Any]:
        out: dict[str, Any] = {}
        session = await create_film_session(assoc)
        # a Presentation LUT that inverts: 256 entries, 16-bit output
        lut_item = Dataset()
        lut_item.set(t.LUTDescriptor, [256, 0, 16], vr="US")
        lut_item.set(t.LUTData, (np.arange(255, -1, -1) * 257).astype("<u2").tobytes(), vr="OW")
        lut = Dataset()
        lut.PresentationLUTSequence = Sequence([lut_item])
        rsp = await request(
            assoc,
            dimse.NCreateRequest(affected_sop_class_uid=uids.PresentationLUT),
            lut,
            meta=uids.PresentationLUT,
        )
        assert rsp.status == 0
        film = await create_film_box(
            assoc,
            session,
            FilmOptions(layout="STANDARD\\1,1", annotation_format="ANNOTATION"),
            presentation_lut=rsp.affected_sop_instance_uid,
        )
        out["annotations"] = film.annotation_boxes
        await set_annotation_box(assoc, film.annotation_boxes[0], 1, "WARD 3 CHEST")
        await set_image_box(assoc, film.image_boxes[0], ramp, position=1)
        # N-SET of the film box: the border becomes WHITE before printing
        border = Dataset()
        border.BorderDensity = "WHITE"
        out["set"] = await request(
            assoc,
            dimse.NSetRequest(
                requested_sop_class_uid=uids.BasicFilmBox, requested_sop_instance_uid=film.uid
            ),
            border,
        )
        await print_film_box(assoc, film.uid)
        # too large for this printer's memory: C605
        try:
            await set_image_box(
                assoc, film.image_boxes[0], np.zeros((100, 100), np.uint8), position=1
            )
        except DimseError as exc:
            out["memory"] = exc.status
        await delete_film_box(assoc, film.uid)
        out["after delete"] = await request(
            assoc,
            dimse.NActionRequest(
                requested_sop_class_uid=uids.BasicFilmBox,
                requested_sop_instance_uid=film.uid,
                action_type_id=1,
            ),
        )
        return out

    out = run(scp, body)
    assert len(out["annotations"]) == 2 and out["set"].status == 0
    assert out["memory"] == 0xC605 and out["after delete"].status == 0x0112
    film = load(scp.printed[0])
    h = film.shape[0]
    assert film[0, 0] == 255  # WHITE border, set after creation
    band = film[: round(h * 0.06)]
    assert (band < 128).any()  # the annotation's dark text in the top band
    middle = film[h // 2]
    inside = middle[middle < 255]
    # the inverting LUT: the ramp's dark left end prints light, its light right end dark
    assert inside[0] > inside[-1]


def test_superslide_film_box_has_the_boxes_that_fit(tmp_path: Path) -> None:
    scp = scp_at(tmp_path)

    async def body(assoc: Association) -> Any:
        session = await create_film_session(assoc)
        return await create_film_box(
            assoc, session, FilmOptions(layout="SUPERSLIDE", film_size="14INX17IN")
        )

    box = run(scp, body)
    w, h = film_mm("14INX17IN")
    assert len(box.image_boxes) == int(w // 40) * int(h // 40)
