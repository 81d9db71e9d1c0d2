"""``dicomkit export IN OUT.png [--frame N] [--window C W]``: one frame as an 8-bit PNG.

The picture goes through the Modality LUT, the VOI LUT (``--window`` overrides the data set's
window) and MONOCHROME1 inversion; colour images are converted to RGB, palettes expanded.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import dicomkit
from dicomkit.errors import PixelDataError


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "export",
        help="write one frame as a windowed 8-bit PNG",
        description="Write one frame of a DICOM image as an 8-bit PNG (Modality LUT, VOI "
        "window, MONOCHROME1 inversion, palette and YBR handled).",
    )
    p.add_argument("input", type=Path, help="DICOM file")
    p.add_argument("output", type=Path, help="PNG file to write")
    p.add_argument("--frame", type=int, default=0, metavar="N", help="frame number, from 0")
    p.add_argument(
        "--window",
        nargs=2,
        type=float,
        metavar=("C", "W"),
        help="window centre and width (default: the file's, else the value range)",
    )
    p.add_argument(
        "--voi-function",
        default=None,
        choices=["LINEAR", "LINEAR_EXACT", "SIGMOID"],
        help="VOI LUT function for --window (default LINEAR)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dicomkit.pixels.display import display_frame
    from dicomkit.pixels.png import encode_png

    ds = dicomkit.read(args.input)
    info = dicomkit.pixels.pixel_info(ds)
    if not 0 <= args.frame < info.number_of_frames:
        raise PixelDataError(
            f"--frame {args.frame} is out of range: {args.input} has "
            f"{info.number_of_frames} frame(s), numbered from 0"
        )
    center, width = args.window if args.window else (None, None)
    img = display_frame(ds, args.frame, center=center, width=width, function=args.voi_function)
    args.output.write_bytes(encode_png(img))
    return 0
