"""``dicomkit print``: files and folders printed with a layout on a print SCP; usage errors
exit 2 before anything is sent, refusals exit 1 naming the status."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PdfParser

import dicomkit
from dicomkit import builders
from dicomkit.cli._main import main
from dicomkit.net import SyncAE
from dicomkit.services import PrinterProfile, PrintSCP


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def printer(tmp_path: Path) -> Iterator[tuple[int, PrintSCP]]:
    scp = PrintSCP(tmp_path / "films", printer=PrinterProfile(dpi=20))
    with SyncAE("PRINTER", handlers=scp.handlers()) as ae, ae.serve(0) as server:
        yield server.port, scp


def files(folder: Path, n: int) -> list[Path]:
    folder.mkdir()
    out = []
    for i in range(n):
        arr = np.full((16, 16), 40 * (i + 1), np.uint8)
        arr[0, 0] = 0  # a value range for the window: the rest prints light
        path = folder / f"{i}.dcm"
        dicomkit.write(builders.secondary_capture(arr), path)
        out.append(path)
    return out


def test_prints_a_folder_with_a_layout(printer: tuple[int, PrintSCP], tmp_path: Path) -> None:
    port, scp = printer
    files(tmp_path / "imgs", 3)
    code, out, err = cli(
        "print", "127.0.0.1", str(port), str(tmp_path / "imgs"),
        "--layout", "STANDARD\\2,1", "--orientation", "LANDSCAPE", "--copies", "3",
        "--border", "WHITE", "--aec", "PRINTER",
    )  # fmt: skip
    assert code == 0, err
    assert "printed 3 image(s) on 2 film(s)" in out and out.count("print job ") == 2
    assert len(scp.printed) == 2
    with Image.open(scp.printed[0]) as film:
        assert film.size == (round(254.0 * 20 / 25.4), round(203.2 * 20 / 25.4))  # LANDSCAPE
        pixels = np.asarray(film)
    assert pixels[0, 0] == 255  # WHITE border
    pdf = PdfParser.PdfParser(str(scp.printed[0].parent / "session.pdf"))
    assert len(pdf.pages) == 6  # 2 films x 3 copies
    pdf.close()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--layout", "GRID\\2"], "STANDARD\\C,R"),
        (["--copies", "0"], "copies"),
        (["--film-size", "HUGE"], "Film Size ID"),
        (["--border", "GREY"], "BLACK, WHITE"),
    ],
)
def test_usage_errors_exit_2(args: list[str], words: str, tmp_path: Path) -> None:
    (path,) = files(tmp_path / "imgs", 1)
    code, _, err = cli("print", "127.0.0.1", "104", str(path), *args)
    assert code == 2 and words in err


def test_missing_file_exits_2(tmp_path: Path) -> None:
    code, _, err = cli("print", "127.0.0.1", "104", str(tmp_path / "nope.dcm"))
    assert code == 2 and "no such file" in err


def test_refusal_exits_1_with_the_status(printer: tuple[int, PrintSCP], tmp_path: Path) -> None:
    port, scp = printer
    (path,) = files(tmp_path / "imgs", 1)
    code, _, err = cli("print", "127.0.0.1", str(port), str(path), "--layout", "CUSTOM\\5")
    assert code == 1 and "0x0106" in err and "no CUSTOM format 5" in err
    assert scp.printed == []
