"""Film geometry and rendering of the print SCP (PS3.3 C.13.5.1 display formats; PS3.4 H)."""

from __future__ import annotations

import numpy as np
import pytest

from dicomkit.errors import InvalidValueError
from dicomkit.services._print_layout import film_mm, parse_density, parse_display_format
from dicomkit.services._print_render import (
    FilmSpec,
    ImageSpec,
    PrinterProfile,
    luminance,
    render_film,
)


def centre(box: object) -> tuple[float, float]:
    return (box.x + box.width / 2, box.y + box.height / 2)  # type: ignore[attr-defined]


def test_standard_is_columns_by_rows_row_major() -> None:
    boxes = parse_display_format("STANDARD\\3,2")
    assert len(boxes) == 6
    assert [round(b.x, 3) for b in boxes] == [0, 0.333, 0.667] * 2
    assert [round(b.y, 3) for b in boxes] == [0, 0, 0, 0.5, 0.5, 0.5]
    assert all(abs(b.width - 1 / 3) < 1e-9 and abs(b.height - 0.5) < 1e-9 for b in boxes)


def test_row_and_col_formats() -> None:
    row = parse_display_format("ROW\\1,3")
    assert len(row) == 4 and row[0].width == 1.0 and row[1].width == pytest.approx(1 / 3)
    assert row[0].y == 0 and all(b.y == 0.5 for b in row[1:])
    col = parse_display_format("COL\\2,1")  # numbered down the first column, then the next
    assert [(b.x, b.y) for b in col] == [(0, 0), (0, 0.5), (0.5, 0)]
    assert col[2].height == 1.0


def test_slides_fill_the_film_and_custom_maps_to_a_format() -> None:
    w, h = film_mm("8INX10IN")
    assert len(parse_display_format("SLIDE", film_mm=(w, h))) == int(w // 35) * int(h // 35)
    assert len(parse_display_format("SUPERSLIDE", film_mm=(w, h))) == int(w // 40) * int(h // 40)
    assert len(parse_display_format("CUSTOM\\7", custom={"7": "ROW\\1,2"})) == 3
    assert film_mm("14INX17IN", "LANDSCAPE") == (431.8, 355.6)


@pytest.mark.parametrize(
    ("fmt", "words"),
    [
        ("STANDARD\\2", "columns,rows"),
        ("STANDARD\\0,1", "counts 1..64"),
        ("GRID\\2,2", "is not one of"),
        ("CUSTOM\\9", "no CUSTOM format 9"),
        ("ROW\\a,b", "counts"),
    ],
)
def test_bad_formats_say_what_to_write(fmt: str, words: str) -> None:
    with pytest.raises(InvalidValueError, match=words.replace("\\", "\\\\")):
        parse_display_format(fmt, custom={"1": "STANDARD\\1,1"})


def test_densities() -> None:
    assert parse_density("BLACK", black=300, white=20) == 300
    assert parse_density("white", black=300, white=20) == 20
    assert parse_density("150", black=300, white=20) == 150
    with pytest.raises(InvalidValueError, match="BLACK, WHITE"):
        parse_density("GREY", black=300, white=20)
    printer = PrinterProfile(min_density=20, max_density=300)
    assert luminance(300, printer) == 0 and luminance(20, printer) == 255
    assert luminance(160, printer) == round(255 * 140 / 280)


def _ramp(rows: int = 30, cols: int = 40) -> np.ndarray:
    return (np.arange(rows * cols).reshape(rows, cols) % 200 + 20).astype(np.uint8)


def test_render_places_each_image_in_its_box_with_its_content() -> None:
    printer = PrinterProfile(dpi=40)
    img = _ramp()
    film = FilmSpec(
        display_format="STANDARD\\2,2",
        magnification="REPLICATE",
        border_density="BLACK",
        empty_image_density="WHITE",
        images={1: ImageSpec(img), 4: ImageSpec(img, polarity="REVERSE")},
    )
    out = render_film(film, printer)
    w, h = film_mm("8INX10IN")
    assert out.image.size == (round(w * 40 / 25.4), round(h * 40 / 25.4))
    pixels = np.asarray(out.image)
    for pos, want in ((1, img), (4, 255 - img)):
        x0, y0, x1, y1 = out.placed[pos]
        region = pixels[y0:y1, x0:x1]
        # REPLICATE: each image pixel became a block; its centre holds the pixel
        rows = ((np.arange(want.shape[0]) + 0.5) * region.shape[0] / want.shape[0]).astype(int)
        cols = ((np.arange(want.shape[1]) + 0.5) * region.shape[1] / want.shape[1]).astype(int)
        assert np.array_equal(region[np.ix_(rows, cols)], want)
    bx0, by0, bx1, by1 = out.boxes[1]  # box 2 is empty: Empty Image Density WHITE
    assert (pixels[by0:by1, bx0:bx1] == 255).all()
    assert pixels[0, 0] == 0  # the border: BLACK
    # box 1 is left of box 4 and above it
    assert out.placed[1][2] <= out.placed[4][0] and out.placed[1][3] <= out.placed[4][1]


def test_render_min_max_density_and_mono1() -> None:
    printer = PrinterProfile(dpi=20)
    zeros = np.zeros((10, 10), np.uint8)
    full = np.full((10, 10), 255, np.uint8)
    film = FilmSpec(
        display_format="STANDARD\\3,1",
        max_density=160,
        min_density=100,
        images={
            1: ImageSpec(zeros),
            2: ImageSpec(full),
            3: ImageSpec(zeros, monochrome1=True, max_density=300, min_density=20),
        },
    )
    out = render_film(film, printer)
    pixels = np.asarray(out.image)

    def value(pos: int) -> set[int]:
        x0, y0, x1, y1 = out.placed[pos]
        return set(np.unique(pixels[y0:y1, x0:x1]).tolist())

    assert value(1) == {luminance(160, printer)}  # black prints at Max Density
    assert value(2) == {luminance(100, printer)}  # white at Min Density
    assert value(3) == {255}  # MONOCHROME1 0 is white; the box's densities win


def test_magnification_none_decimate_crop_fail() -> None:
    printer = PrinterProfile(dpi=10)  # an 8x10 in film is 80x100 pixels
    big = _ramp(300, 300)
    for behaviour, status in (("CROP", 0xB609), ("DECIMATE", 0xB60A), ("", 0xB604)):
        film = FilmSpec(magnification="NONE", images={1: ImageSpec(big, decimate_crop=behaviour)})
        out = render_film(film, printer)
        assert out.failure is None and out.warnings == [status]
        x0, y0, x1, y1 = out.placed[1]
        assert x1 - x0 <= 80 and y1 - y0 <= 100
    failed = render_film(
        FilmSpec(magnification="NONE", images={1: ImageSpec(big, decimate_crop="FAIL")}), printer
    )
    assert failed.failure == 0xC603 and "FAIL" in failed.reason
    small = render_film(FilmSpec(magnification="NONE", images={1: ImageSpec(_ramp())}), printer)
    x0, y0, x1, y1 = small.placed[1]
    assert (x1 - x0, y1 - y0) == (40, 30) and small.warnings == []  # 1:1


def test_color_film_and_trim() -> None:
    rgb = np.zeros((20, 20, 3), np.uint8)
    rgb[..., 0] = 200
    rgb[..., 2] = 50
    out = render_film(
        FilmSpec(color=True, trim="YES", border_density="WHITE", images={1: ImageSpec(rgb)}),
        PrinterProfile(dpi=20),
    )
    assert out.image.mode == "RGB"
    pixels = np.asarray(out.image)
    x0, y0, x1, y1 = out.placed[1]
    assert (pixels[y0:y1, x0:x1] == [200, 0, 50]).all()
    assert tuple(pixels[y0 - 2, x0]) == (0, 0, 0)  # the trim frame, dark on a white border


def test_requested_image_size_sets_the_printed_width() -> None:
    printer = PrinterProfile(dpi=40)  # 8x10 in: 320 x 400 pixels
    img = _ramp(30, 40)
    out = render_film(FilmSpec(images={1: ImageSpec(img, requested_size_mm=50.8)}), printer)
    x0, y0, x1, y1 = out.placed[1]
    assert (x1 - x0, y1 - y0) == (80, 60) and out.warnings == []  # 2 in wide at 40 dpi
    huge = render_film(FilmSpec(images={1: ImageSpec(img, requested_size_mm=1000)}), printer)
    x0, _, x1, _ = huge.placed[1]
    assert huge.warnings == [0xB604] and x1 - x0 <= 320  # demagnified to its box
