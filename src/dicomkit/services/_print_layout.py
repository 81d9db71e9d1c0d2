"""The geometry and the values of a printed film (PS3.3 C.13; PS3.4 H): image display formats,
film sizes, densities. Pure functions, shared by the print SCP (which lays films out) and the
SCU (which checks what the user asks for before it goes on the wire).

Image Display Format (2010,0010), PS3.3 C.13.5.1:

- ``STANDARD\\C,R``: C columns by R rows of equal boxes; boxes numbered row by row, left to
  right, top to bottom (Image Box Position 1 is top left).
- ``ROW\\R1,R2,...``: rows of equal height, the first holding R1 boxes, the next R2 ...;
  numbered row by row.
- ``COL\\C1,C2,...``: columns of equal width, the first holding C1 boxes ...; numbered column
  by column, top to bottom, left to right.
- ``SLIDE`` / ``SUPERSLIDE``: as many 35 mm (SLIDE) or 40 mm (SUPERSLIDE) square boxes as the
  film holds (the standard leaves the count to the printer's configuration; this is ours).
- ``CUSTOM\\i``: a printer-specific format ``i``: the SCP's ``custom_formats`` map ``i`` to one
  of the formats above.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dicomkit.errors import InvalidValueError

#: Film Size ID (2010,0050) -> (width, height) in mm, portrait (PS3.3 C.13.5.1 Defined Terms)
FILM_SIZES: dict[str, tuple[float, float]] = {
    "8INX10IN": (203.2, 254.0),
    "8_5INX11IN": (215.9, 279.4),
    "10INX12IN": (254.0, 304.8),
    "10INX14IN": (254.0, 355.6),
    "11INX14IN": (279.4, 355.6),
    "11INX17IN": (279.4, 431.8),
    "14INX14IN": (355.6, 355.6),
    "14INX17IN": (355.6, 431.8),
    "24CMX24CM": (240.0, 240.0),
    "24CMX30CM": (240.0, 300.0),
    "A4": (210.0, 297.0),
    "A3": (297.0, 420.0),
}
ORIENTATIONS = ("PORTRAIT", "LANDSCAPE")
MAGNIFICATIONS = ("REPLICATE", "BILINEAR", "CUBIC", "NONE")
POLARITIES = ("NORMAL", "REVERSE")
TRIMS = ("YES", "NO")
DECIMATE_CROP = ("DECIMATE", "CROP", "FAIL")
MEDIUM_TYPES = ("PAPER", "CLEAR FILM", "BLUE FILM", "MAMMO CLEAR FILM", "MAMMO BLUE FILM")
FILM_DESTINATIONS = ("MAGAZINE", "PROCESSOR")
PRIORITIES = ("HIGH", "MED", "LOW")
#: the square box of a slide, mm
SLIDE_MM = {"SLIDE": 35.0, "SUPERSLIDE": 40.0}


@dataclass(frozen=True, slots=True)
class Box:
    """One image box of a film, as fractions of the film's width and height."""

    x: float
    y: float
    width: float
    height: float


def _counts(text: str, fmt: str) -> list[int]:
    parts = [p.strip() for p in text.split(",")]
    try:
        counts = [int(p) for p in parts]
    except ValueError:
        counts = []
    if not counts or any(c < 1 or c > 64 for c in counts):
        raise InvalidValueError(
            f"Image Display Format '{fmt}': '{text}' is not a list of counts 1..64; "
            "write e.g. STANDARD\\2,2, ROW\\1,2 or COL\\2,1"
        )
    return counts


def parse_display_format(
    value: str,
    *,
    film_mm: tuple[float, float] = FILM_SIZES["8INX10IN"],
    custom: Mapping[str, str] | None = None,
) -> list[Box]:
    """The image boxes of an Image Display Format (2010,0010), in Image Box Position order.
    ``film_mm`` (width, height as laid out) sizes SLIDE and SUPERSLIDE; ``custom`` maps the
    ``i`` of ``CUSTOM\\i`` to another format. Raises :class:`InvalidValueError` saying what a
    valid format looks like."""
    text = value.strip().upper()
    head, _, rest = text.partition("\\")
    head = head.strip()
    if head == "STANDARD":
        counts = _counts(rest, value)
        if len(counts) != 2:
            raise InvalidValueError(
                f"Image Display Format '{value}': STANDARD takes columns,rows, e.g. STANDARD\\2,3"
            )
        cols, rows = counts
        return [
            Box(c / cols, r / rows, 1 / cols, 1 / rows) for r in range(rows) for c in range(cols)
        ]
    if head == "ROW":
        per_row = _counts(rest, value)
        n = len(per_row)
        return [Box(c / k, r / n, 1 / k, 1 / n) for r, k in enumerate(per_row) for c in range(k)]
    if head == "COL":
        per_col = _counts(rest, value)
        n = len(per_col)
        return [Box(c / n, r / k, 1 / n, 1 / k) for c, k in enumerate(per_col) for r in range(k)]
    if head in SLIDE_MM and not rest:
        side = SLIDE_MM[head]
        cols = max(1, int(film_mm[0] // side))
        rows = max(1, int(film_mm[1] // side))
        w, h = side / film_mm[0], side / film_mm[1]
        x0 = (1 - cols * w) / 2 if cols * w <= 1 else 0.0
        y0 = (1 - rows * h) / 2 if rows * h <= 1 else 0.0
        w, h = min(w, 1 / cols), min(h, 1 / rows)
        return [Box(x0 + c * w, y0 + r * h, w, h) for r in range(rows) for c in range(cols)]
    if head == "CUSTOM":
        key = rest.strip()
        target = (custom or {}).get(key)
        if target is None or target.strip().upper().startswith("CUSTOM"):
            known = ", ".join(f"CUSTOM\\{k}" for k in sorted(custom or {})) or "none"
            raise InvalidValueError(f"no CUSTOM format {key} on this printer (it has: {known})")
        return parse_display_format(target, film_mm=film_mm)
    raise InvalidValueError(
        f"Image Display Format '{value}' is not one of STANDARD\\C,R, ROW\\R1,R2.., "
        "COL\\C1,C2.., SLIDE, SUPERSLIDE, CUSTOM\\i (PS3.3 C.13.5.1)"
    )


def film_mm(size_id: str, orientation: str = "PORTRAIT") -> tuple[float, float]:
    """(width, height) in mm of a Film Size ID laid out in an orientation."""
    try:
        w, h = FILM_SIZES[size_id.strip().upper()]
    except KeyError:
        raise InvalidValueError(
            f"Film Size ID {size_id!r} is not known; use one of {', '.join(FILM_SIZES)}"
        ) from None
    if orientation.strip().upper() == "LANDSCAPE":
        return h, w
    return w, h


def parse_density(value: str | int, *, black: int, white: int) -> int:
    """A Border / Empty Image Density (2010,0100 / 0110) in hundredths of optical density:
    ``BLACK`` is the printer's maximum, ``WHITE`` its minimum, else a number (OD x 100)."""
    text = str(value).strip().upper()
    if text == "BLACK":
        return black
    if text == "WHITE":
        return white
    try:
        number = int(text)
    except ValueError:
        raise InvalidValueError(
            f"density {value!r} is not BLACK, WHITE or hundredths of optical density (e.g. 150)"
        ) from None
    if number < 0:
        raise InvalidValueError(f"density {value!r} is negative")
    return number


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    """``value`` upper-cased if it is one of ``choices``, else :class:`InvalidValueError`."""
    text = value.strip().upper()
    if text not in choices:
        raise InvalidValueError(f"{name} {value!r} is not one of {', '.join(choices)}")
    return text


__all__ = [
    "DECIMATE_CROP",
    "FILM_SIZES",
    "MAGNIFICATIONS",
    "ORIENTATIONS",
    "POLARITIES",
    "TRIMS",
    "Box",
    "check_choice",
    "film_mm",
    "parse_density",
    "parse_display_format",
]
