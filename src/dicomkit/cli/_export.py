"""``dicomkit export IN OUT.png [--frame N] [--window C W] [--gsps PR.dcm]``: one frame as an 8-bit PNG.

The picture goes through the Modality LUT, the VOI LUT (``--window`` overrides the data set's
window) and MONOCHROME1 inversion; colour images are converted to RGB, palettes expanded.

Frames: ``--frame N`` counts from 0, as the Python API does (``pixels.frame(ds, 0)`` is the
first); DCMTK's ``dcm2pnm +F N`` counts from 1, and ``--frame-number N`` does the same, so
``dcm2pnm +F 1`` == ``--frame 0`` == ``--frame-number 1``.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

import dicomkit
from dicomkit.errors import PixelDataError


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "export",
        help="write one frame as a windowed 8-bit PNG",
        description="Write one frame of a DICOM image as an 8-bit PNG (Modality LUT, VOI "
        "window, MONOCHROME1 inversion, palette and YBR handled). Frames: --frame counts "
        "from 0; --frame-number counts from 1 like DCMTK's dcm2pnm +F.",
    )
    p.add_argument("input", type=Path, help="DICOM file")
    p.add_argument("output", type=Path, help="PNG file to write")
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--frame",
        type=int,
        default=None,
        metavar="N",
        help="frame index counted from 0, as in Python (default 0, the first frame); "
        "DCMTK's dcm2pnm +F counts from 1: dcm2pnm +F 1 is --frame 0",
    )
    which.add_argument(
        "--frame-number",
        type=int,
        default=None,
        metavar="N",
        help="frame number counted from 1, as DCMTK's dcm2pnm +F N",
    )
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
    p.add_argument(
        "--gsps",
        type=Path,
        default=None,
        metavar="PR.dcm",
        help="show the frame through this Grayscale Softcopy Presentation State (its window, "
        "shutters, annotations, rotation and flip; --window then overrides its window)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dicomkit.pixels._display import display_frame
    from dicomkit.pixels._png import encode_png

    ds = dicomkit.read(args.input)
    info = dicomkit.pixels.pixel_info(ds)
    n = info.number_of_frames
    if args.frame_number is not None:
        index = args.frame_number - 1
        if not 0 <= index < n:
            raise PixelDataError(
                f"--frame-number {args.frame_number} is out of range: {args.input} has "
                f"{n} frame(s), numbered 1..{n} (as dcm2pnm +F)"
            )
    else:
        index = 0 if args.frame is None else args.frame
        if not 0 <= index < n:
            raise PixelDataError(
                f"--frame {index} is out of range: {args.input} has {n} frame(s), "
                f"indexed 0..{n - 1} (--frame-number counts from 1, as dcm2pnm +F)"
            )
    center, width = args.window if args.window else (None, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if getattr(args, "gsps", None) is not None:
            from dicomkit.builders._present import apply_presentation_state

            pr = dicomkit.read(args.gsps)
            if args.window:  # the user's window wins over the presentation state's
                pr = pr.copy()
                voi = dicomkit.Dataset()
                voi.set("WindowCenter", center, "DS")
                voi.set("WindowWidth", width, "DS")
                if args.voi_function:
                    voi.set("VOILUTFunction", args.voi_function, "CS")
                pr.set("SoftcopyVOILUTSequence", dicomkit.Sequence([voi]), "SQ")
            img = apply_presentation_state(ds, pr, index)
        else:
            img = display_frame(ds, index, center=center, width=width, function=args.voi_function)
    for w in caught:  # e.g. short pixel data padded with zeros: one line, no source line
        print(f"dicomkit export: warning: {w.message}", file=sys.stderr)
    args.output.write_bytes(encode_png(img))
    return 0
