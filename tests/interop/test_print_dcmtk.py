"""Print Management interop with DCMTK, both ways.

- Our SCU (``print_images`` and ``dicomkit print``) against ``dcmprscp``: it stores what it
  received in its database folder as Hardcopy Grayscale images plus a Stored Print object;
  those are read back and compared with the images sent and the layout asked for.
- ``dcmprscu`` against our SCP: ``dcmpsprt`` renders images into a stored print job (Stored
  Print + Hardcopy Grayscale in its database), ``dcmprscu`` prints that job to us; our film
  (PNG) is then checked against the hardcopy images.

Both tools take a dcmpstat.cfg-style configuration file, written here into the test's folder.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import peers
import pytest
from PIL import Image

import dicomkit
from dicomkit import builders
from dicomkit.cli._main import main as cli_main
from dicomkit.net import AE, SyncAE
from dicomkit.services import FilmOptions, PrinterProfile, PrintSCP, print_contexts, print_images

pytestmark = pytest.mark.interop

PRINTER = """\
[[GENERAL]]
[PRINT]
Directory = {root}/spool
DeletePrintJobs = false
[DATABASE]
Directory = {root}/db
[[COMMUNICATION]]
[{name}]
Aetitle = {name}
Description = print SCP under test
Hostname = 127.0.0.1
Port = {port}
Type = {kind}
BorderDensity = BLACK\\WHITE\\150
DisplayFormat = 1,1\\2,1\\2,2\\3,3
EmptyImageDensity = BLACK\\WHITE
FilmDestination = MAGAZINE\\PROCESSOR
FilmSizeID = 8INX10IN\\14INX17IN
ImplicitOnly = false
MagnificationType = REPLICATE\\BILINEAR\\CUBIC\\NONE
MaxDensity = 300
MinDensity = 20
MaxPDU = 32768
MediumType = PAPER\\CLEAR FILM
SmoothingType = NONE
Supports12Bit = false
SupportsDecimateCrop = false
SupportsImageSize = false
SupportsPresentationLUT = true
SupportsTrim = true
"""


def config(root: Path, name: str, port: int, kind: str) -> Path:
    (root / "db").mkdir(parents=True, exist_ok=True)
    (root / "spool").mkdir(exist_ok=True)
    path = root / "dcmpstat.cfg"
    path.write_text(PRINTER.format(root=root, name=name, port=port, kind=kind))
    return path


def pictures(n: int) -> list[np.ndarray]:
    base = (np.arange(32 * 48).reshape(32, 48) % 190 + 40).astype(np.uint8)
    return [np.roll(base, 7 * i, axis=1) for i in range(n)]


@pytest.fixture
def dcmprscp(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    port = peers.free_port()
    cfg = config(tmp_path, "PRINTSCP", port, "LOCALPRINTER")
    with peers.dcmtk_server(
        "dcmprscp", "-c", str(cfg), "-p", "PRINTSCP", "-v", port=port, cwd=tmp_path
    ) as proc:
        yield port, tmp_path / "db"
    log = peers.stop_and_read(proc)
    assert "Association Aborted" not in log, log


def received(db: Path) -> tuple[list[dicomkit.Dataset], dicomkit.Dataset]:
    hardcopy = [dicomkit.read(p) for p in sorted(db.glob("HG_*.dcm"))]
    (stored,) = [dicomkit.read(p) for p in db.glob("SP_*.dcm")]
    return hardcopy, stored


def by_position(stored: dicomkit.Dataset, hardcopy: list[dicomkit.Dataset]) -> list[np.ndarray]:
    """The received images in Image Box Position order (the Stored Print's image boxes
    reference the hardcopy images by SOP Instance UID)."""
    arrays = {str(ds.SOPInstanceUID): dicomkit.pixels.pixel_array(ds) for ds in hardcopy}
    boxes = stored.ImageBoxContentSequence
    ordered = sorted(boxes, key=lambda b: int(b.ImageBoxPosition))
    return [arrays[str(b.ReferencedImageSequence[0].ReferencedSOPInstanceUID)] for b in ordered]


def test_our_scu_prints_on_dcmprscp(dcmprscp: tuple[int, Path]) -> None:
    port, db = dcmprscp
    sent = pictures(3)

    async def go() -> None:
        ae = AE("DICOMKIT")
        async with ae.associate(
            "127.0.0.1", port, contexts=print_contexts(), ae_title="PRINTSCP"
        ) as assoc:
            await print_images(assoc, sent, FilmOptions(layout="STANDARD\\2,2", copies=2))

    asyncio.run(go())
    hardcopy, stored = received(db)
    box = stored.FilmBoxContentSequence[0]
    assert box.ImageDisplayFormat == "STANDARD\\2,2"
    assert stored.PresentationLUTContentSequence[0].PresentationLUTShape == "IDENTITY"
    got = by_position(stored, hardcopy)
    assert len(got) == 3
    for want, have in zip(sent, got, strict=True):
        assert have.shape == want.shape and np.array_equal(have, want)


def test_cli_prints_files_on_dcmprscp(dcmprscp: tuple[int, Path], tmp_path: Path) -> None:
    port, db = dcmprscp
    files = []
    for i, arr in enumerate(pictures(2)):
        path = tmp_path / f"img{i}.dcm"
        dicomkit.write(builders.secondary_capture(arr), path)
        files.append(str(path))
    code = cli_main(
        ["print", "127.0.0.1", str(port), *files, "--layout", "STANDARD\\2,1", "--aec", "PRINTSCP"]
    )
    assert code == 0
    hardcopy, stored = received(db)
    assert stored.FilmBoxContentSequence[0].ImageDisplayFormat == "STANDARD\\2,1"
    got = by_position(stored, hardcopy)
    # each file arrives windowed over its value range (as `dicomkit export` does): a monotone
    # function of its own pixels -- and of no other file's, which would put it in the wrong box
    for original, have in zip(pictures(2), got, strict=True):
        assert have.shape == original.shape
        assert monotone_function(original, have)
    assert not monotone_function(pictures(2)[0], got[1])


def monotone_function(src: np.ndarray, dst: np.ndarray) -> bool:
    """True when ``dst`` is a non-decreasing function of ``src``, pixel by pixel."""
    order = np.argsort(src, axis=None, kind="stable")
    a, b = src.ravel()[order].astype(int), dst.ravel()[order].astype(int)
    same = np.diff(a) == 0
    return bool((np.diff(b)[same] == 0).all() and (np.diff(b) >= 0).all())


@pytest.fixture
def our_scp(tmp_path: Path) -> Iterator[tuple[int, PrintSCP]]:
    scp = PrintSCP(tmp_path / "films", printer=PrinterProfile(dpi=30))
    with SyncAE("OURPRINT", handlers=scp.handlers()) as ae, ae.serve(0) as server:
        yield server.port, scp


def test_dcmprscu_prints_on_our_scp(our_scp: tuple[int, PrintSCP], tmp_path: Path) -> None:
    port, scp = our_scp
    root = tmp_path / "dcmtk"
    cfg = config(root, "OURPRINT", port, "PRINTER")
    images = []
    for i, arr in enumerate(pictures(3)):
        path = tmp_path / f"img{i}.dcm"
        dicomkit.write(builders.secondary_capture(arr), path)
        images.append(str(path))
    # dcmpsprt renders the images into a print job in its database (no network) ...
    peers.run_dcmtk(
        "dcmpsprt",
        "-c",
        str(cfg),
        "-p",
        "OURPRINT",
        "--layout",
        "2",
        "2",
        "--magnification",
        "REPLICATE",
        *images,
        cwd=root,
    )
    (job,) = (root / "db").glob("SP_*.dcm")
    made = [dicomkit.read(p) for p in (root / "db").glob("HG_*.dcm")]
    hardcopy = {str(ds.SOPInstanceUID): dicomkit.pixels.pixel_array(ds) for ds in made}
    # ... and dcmprscu prints that job to us: film session, film box, image boxes, N-ACTION
    proc = peers.run_dcmtk("dcmprscu", "-c", str(cfg), "-p", "OURPRINT", "-v", str(job), cwd=root)
    assert len(scp.printed) == 1, proc.stdout + proc.stderr
    with Image.open(scp.printed[0]) as img:
        film = np.asarray(img).copy()
    assert film.shape == (round(254.0 * 30 / 25.4), round(203.2 * 30 / 25.4))  # 8INX10IN
    stored = dicomkit.read(job)
    boxes = sorted(
        stored.ImageBoxContentSequence,
        key=lambda b: int(b.ImageBoxPosition),
    )
    h, w = film.shape
    got = {}
    for box in boxes:
        pos = int(box.ImageBoxPosition)
        sent = hardcopy[str(box.ReferencedImageSequence[0].ReferencedSOPInstanceUID)]
        row, col = divmod(pos - 1, 2)
        quadrant = film[row * h // 2 : (row + 1) * h // 2, col * w // 2 : (col + 1) * w // 2]
        ys, xs = np.nonzero(quadrant)  # the image inside the BLACK border of its box
        region = quadrant[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        rows = ((np.arange(sent.shape[0]) + 0.5) * region.shape[0] / sent.shape[0]).astype(int)
        cols = ((np.arange(sent.shape[1]) + 0.5) * region.shape[1] / sent.shape[1]).astype(int)
        got[pos] = region[np.ix_(rows, cols)]
        # dcmprscu sends the 12-bit hardcopy as 8 bits: on film, a monotone function of it
        assert monotone_function(sent, got[pos]), pos
        assert got[pos].max() > got[pos].min()
    first = hardcopy[str(boxes[0].ReferencedImageSequence[0].ReferencedSOPInstanceUID)]
    assert not monotone_function(first, got[2])  # and each image is in its own box
    assert not film[h // 2 :, w // 2 :].any()  # box 4 is empty: Empty Image Density BLACK
