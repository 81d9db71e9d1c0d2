"""``dicomkit print HOST PORT PATH...``: print images on a DICOM printer (PS3.4 H, print SCU).

The images go onto films of ``--layout`` (``STANDARD\\C,R``, ``ROW\\..``, ``COL\\..``,
``SLIDE``, ``SUPERSLIDE``, ``CUSTOM\\i``), as many films as it takes, each one printed (or all
at once with ``--session-print``). Exit status 0 when printed (warnings are listed), 1 when the
printer refused, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dicomkit.cli._echo import add_network_options, config_from_args, port_number


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "print",
        help="print images on a DICOM printer (basic grayscale / color print management)",
        description="Print FILEs (their first frame, windowed) with a film layout, e.g. "
        "dicomkit print printer 10005 a.dcm b.dcm --layout 'STANDARD\\2,1' --copies 2",
    )
    p.add_argument("host")
    p.add_argument("port", type=port_number)
    p.add_argument("files", nargs="+", metavar="PATH", help="DICOM image files, or folders of them")
    film = p.add_argument_group("film")
    film.add_argument(
        "--layout",
        default="STANDARD\\1,1",
        help="Image Display Format: STANDARD\\C,R, ROW\\R1,R2.., COL\\C1,C2.., SLIDE, "
        "SUPERSLIDE or CUSTOM\\i (default %(default)s)",
    )
    film.add_argument("--film-size", metavar="ID", help="e.g. 8INX10IN, 14INX17IN, A4")
    film.add_argument("--orientation", type=str.upper, choices=["PORTRAIT", "LANDSCAPE"])
    film.add_argument("--copies", type=int, default=1, help="number of copies (1-99)")
    film.add_argument("--medium", metavar="TYPE", help="PAPER, CLEAR FILM, BLUE FILM ...")
    film.add_argument("--destination", metavar="DEST", help="MAGAZINE, PROCESSOR, BIN_i")
    film.add_argument("--priority", type=str.upper, choices=["HIGH", "MED", "LOW"])
    film.add_argument("--label", default="", help="film session label")
    film.add_argument(
        "--magnification", type=str.upper, choices=["REPLICATE", "BILINEAR", "CUBIC", "NONE"]
    )
    film.add_argument("--border", metavar="DENSITY", help="BLACK, WHITE or OD x 100")
    film.add_argument("--empty-image", metavar="DENSITY", help="BLACK, WHITE or OD x 100")
    film.add_argument("--min-density", type=int, metavar="OD100")
    film.add_argument("--max-density", type=int, metavar="OD100")
    film.add_argument("--trim", action="store_const", const="YES", help="frame each image")
    film.add_argument("--reverse", action="store_true", help="print with REVERSE polarity")
    film.add_argument("--color", action="store_true", help="Basic Color Print Management")
    film.add_argument("--annotation-format", metavar="ID", help="Annotation Display Format ID")
    film.add_argument("--annotation", action="append", default=[], metavar="TEXT")
    film.add_argument(
        "--plut", type=str.upper, choices=["IDENTITY", "LIN OD"], help="Presentation LUT shape"
    )
    film.add_argument(
        "--session-print",
        action="store_true",
        help="print all films with one film session N-ACTION (not one per film box)",
    )
    add_network_options(p)
    p.set_defaults(func=run)


def options_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~dicomkit.services.FilmOptions` of the command line (checked)."""
    from dicomkit.services import FilmOptions

    opts = FilmOptions(
        layout=args.layout,
        film_size=args.film_size,
        orientation=args.orientation,
        copies=args.copies,
        medium=args.medium,
        destination=args.destination,
        priority=args.priority,
        label=args.label,
        magnification=args.magnification,
        border=args.border,
        empty_image=args.empty_image,
        min_density=args.min_density,
        max_density=args.max_density,
        trim=args.trim,
        polarity="REVERSE" if args.reverse else None,
        color=args.color,
        annotation_format=args.annotation_format,
        annotations=tuple(args.annotation),
        presentation_lut=args.plut,
        session_print=args.session_print,
    )
    opts.check()
    return opts


def image_files(paths: list[str]) -> list[Path]:
    """The files to print: each file given, and the files of each folder (recursively, in
    name order). A path that does not exist raises FileNotFoundError naming it."""
    out: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.is_file():
            out.append(path)
        else:
            raise FileNotFoundError(f"{name}: no such file or folder")
    if not out:
        raise FileNotFoundError(f"no files in {' '.join(paths)}")
    return out


def run(args: argparse.Namespace) -> int:
    from dicomkit.cli._find import run_async
    from dicomkit.errors import InvalidValueError

    try:
        args.options = options_from_args(args)
        args.images = image_files(args.files)
    except (InvalidValueError, FileNotFoundError) as exc:
        print(f"dicomkit print: {exc}", file=sys.stderr)
        return 2
    return run_async("print", _print, args)


async def _print(args: argparse.Namespace) -> int:
    from dicomkit.dictionary.statuses import describe
    from dicomkit.errors import DimseError
    from dicomkit.net import AE
    from dicomkit.services import print_contexts, print_images

    ae = AE(args.aet, config=config_from_args(args))
    contexts = print_contexts(color=args.color)
    async with ae.associate(args.host, args.port, contexts=contexts, ae_title=args.aec) as assoc:
        try:
            result = await print_images(assoc, args.images, args.options)
        except DimseError as exc:
            print(f"dicomkit print: {exc}", file=sys.stderr)
            return 1
    films = len(result.film_boxes)
    print(f"printed {len(args.images)} image(s) on {films} film(s)")
    for job in result.print_jobs:
        print(f"print job {job}")
    for status in result.warnings:
        print(f"warning: {describe(status, 'print')}")
    return 0
