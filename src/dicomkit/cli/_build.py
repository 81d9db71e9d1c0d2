"""``dicomkit build sc|seg|gsps``: new Secondary Capture, Segmentation and Grayscale Softcopy
Presentation State instances.

- ``build sc IMAGE.png [IMAGE2.png ...] -o OUT.dcm [--like REF.dcm]``: one PNG (or ``.npy``)
  gives a Secondary Capture image; several give a multi-frame one.
- ``build seg MASK.npy --source CT1.dcm CT2.dcm ... -o SEG.dcm --segment liver=SCT:10200004:Liver``:
  masks (``(segments, frames, rows, columns)`` or one ``(frames, rows, columns)`` label map
  whose value k marks segment k) of the source images' frames.
- ``build gsps IMAGE.dcm ... -o PR.dcm --window C W --shutter-rect L R U D --text X Y TEXT``:
  a presentation state for the images; show it with ``dicomkit export IMAGE.dcm out.png
  --gsps PR.dcm``.

Patient and study come from ``--like`` (SC; the sources for SEG and GSPS) and ``-k
KEYWORD=VALUE``. Exit status: 0 written, 1 bad input (the message says what), 2 unreadable file.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dicomkit.errors import InvalidValueError


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "build",
        help="build Secondary Capture, Segmentation or presentation state instances",
        description="Build new DICOM objects: a Secondary Capture from PNG/npy images (sc), a "
        "Segmentation from numpy masks (seg), a Grayscale Softcopy Presentation State (gsps).",
    )
    sub = p.add_subparsers(dest="build_command", metavar="OBJECT", required=True)

    sc = sub.add_parser("sc", help="Secondary Capture from PNG or .npy images")
    sc.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help=".png or .npy files")
    sc.add_argument("--multi-frame", action="store_true", help="a multi-frame SC even for one")
    sc.add_argument("--same-series", action="store_true", help="add to --like's series")
    _common(sc)

    seg = sub.add_parser("seg", help="Segmentation from numpy masks (.npy)")
    seg.add_argument("masks", type=Path, metavar="MASKS.npy")
    seg.add_argument(
        "--source", nargs="+", type=Path, required=True, metavar="DCM", help="source images"
    )
    seg.add_argument(
        "--segment",
        action="append",
        required=True,
        metavar="LABEL[=SCHEME:VALUE:MEANING]",
        help="a segment, in mask order, with its property type code (default SCT Tissue)",
    )
    seg.add_argument(
        "--category",
        default="SCT:85756007:Tissue",
        metavar="SCHEME:VALUE:MEANING",
        help="property category of every segment (default SCT:85756007:Tissue)",
    )
    seg.add_argument("--algorithm", metavar="NAME", help="an AUTOMATIC segmentation by NAME")
    seg.add_argument("--fractional", choices=["PROBABILITY", "OCCUPANCY"])
    seg.add_argument("--keep-empty-frames", action="store_true")
    _common(seg, like=False)

    pr = sub.add_parser("gsps", help="Grayscale Softcopy Presentation State")
    pr.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="the images shown")
    pr.add_argument("--window", nargs=2, type=float, metavar=("C", "W"))
    pr.add_argument("--rotate", type=int, default=0, choices=[0, 90, 180, 270])
    pr.add_argument("--flip", action="store_true", help="flip horizontally after rotation")
    pr.add_argument("--shutter-rect", nargs=4, type=int, metavar=("LEFT", "RIGHT", "UP", "DOWN"))
    pr.add_argument("--shutter-circle", nargs=3, type=int, metavar=("ROW", "COL", "RADIUS"))
    pr.add_argument(
        "--shutter-polygon", nargs="+", type=int, metavar="ROW COL", help="vertex pairs"
    )
    pr.add_argument("--shutter-value", type=int, default=0, help="P-value 0..65535 (0: black)")
    pr.add_argument(
        "--text",
        nargs=3,
        action="append",
        default=[],
        metavar=("X", "Y", "TEXT"),
        help="text anchored at column X, row Y (pixels)",
    )
    pr.add_argument(
        "--polyline",
        action="append",
        default=[],
        metavar="X,Y X,Y ...",
        help="a polyline in pixel (column,row) points; close it for a shape",
    )
    pr.add_argument("--label", default="PRESENTATION", help="Content Label")
    _common(pr, like=False)


def _common(p: argparse.ArgumentParser, *, like: bool = True) -> None:
    p.add_argument("-o", "--output", type=Path, required=True, help="the file to write")
    if like:
        p.add_argument("--like", type=Path, metavar="REF.dcm", help="patient/study from here")
    p.add_argument(
        "-k",
        "--key",
        action="append",
        default=[],
        metavar="KEYWORD=VALUE",
        help="set a patient/study attribute, e.g. -k PatientName=Doe^Jane",
    )
    p.add_argument("--series-description", default=None)
    p.set_defaults(func=run)


def _keys(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise InvalidValueError(f"-k {pair!r}: write KEYWORD=VALUE, e.g. PatientID=123")
        out[key.strip()] = value
    return out


def _code(text: str) -> Any:
    from dicomkit.sr._code import Code

    parts = text.split(":", 2)
    if len(parts) != 3 or not all(parts):
        raise InvalidValueError(
            f"code {text!r}: write SCHEME:VALUE:MEANING, e.g. SCT:10200004:Liver"
        )
    return Code(parts[1], parts[0], parts[2])


def _array(path: Path) -> Any:
    import numpy as np

    from dicomkit.builders import read_png

    if path.suffix.lower() == ".npy":
        return np.load(path, allow_pickle=False)
    return read_png(path)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    import dicomkit
    from dicomkit import builders

    patient = _keys(args.key)
    if args.build_command == "sc":
        arrays = [_array(p) for p in args.images]
        if len(arrays) > 1:
            if len({a.shape for a in arrays}) != 1 or len({a.dtype for a in arrays}) != 1:
                raise InvalidValueError(
                    "the images of a multi-frame SC must share size, samples and depth"
                )
            image = np.stack(arrays)
        else:
            image = arrays[0][np.newaxis] if args.multi_frame else arrays[0]
        ds = builders.secondary_capture(
            image,
            like=dicomkit.read(args.like) if args.like else None,
            patient=patient,
            multi_frame=True if (args.multi_frame or len(arrays) > 1) else None,
            same_series=args.same_series,
            series_description=args.series_description,
        )
    elif args.build_command == "seg":
        sources = [dicomkit.read(p) for p in args.source]
        category = _code(args.category)
        segments = []
        for spec in args.segment:
            label, _, code = spec.partition("=")
            segments.append(
                builders.Segment(
                    label,
                    category,
                    _code(code) if code else builders.CODES.Tissue,
                    algorithm_type="AUTOMATIC" if args.algorithm else "MANUAL",
                    algorithm_name=args.algorithm,
                )
            )
        masks = np.load(args.masks, allow_pickle=False)
        ds = builders.segmentation(
            sources,
            masks,
            segments,
            fractional=args.fractional,
            omit_empty_frames=not args.keep_empty_frames,
            series_description=args.series_description,
            patient=patient,
        )
    else:
        images = [dicomkit.read(p) for p in args.images]
        annotations: list[Any] = [
            builders.Text(text, anchor=(float(x), float(y))) for x, y, text in args.text
        ]
        for line in args.polyline:
            try:
                raw = [[float(v) for v in p.split(",")] for p in line.split()]
            except ValueError:
                raw = []
            if len(raw) < 2 or any(len(p) != 2 for p in raw):
                raise InvalidValueError(
                    f"--polyline {line!r}: give two or more X,Y points, e.g. '1,1 10,10'"
                )
            pts = [(p[0], p[1]) for p in raw]
            annotations.append(builders.Graphic("POLYLINE", pts))
        shutters = None
        if args.shutter_rect or args.shutter_circle or args.shutter_polygon:
            poly = args.shutter_polygon
            if poly and len(poly) % 2:
                raise InvalidValueError("--shutter-polygon takes ROW COL pairs")
            shutters = builders.Shutters(
                rectangle=tuple(args.shutter_rect) if args.shutter_rect else None,
                circle=tuple(args.shutter_circle) if args.shutter_circle else None,
                polygon=[(poly[i], poly[i + 1]) for i in range(0, len(poly), 2)] if poly else None,
                value=args.shutter_value,
            )
        ds = builders.presentation_state(
            images,
            window=tuple(args.window) if args.window else None,
            annotations=annotations,
            shutters=shutters,
            rotation=args.rotate,
            flip=args.flip,
            label=args.label,
            description=args.series_description,
            patient=patient,
        )
    dicomkit.write(ds, args.output)
    print(f"{args.output}: {ds.get('SOPClassUID')} {ds.get('SOPInstanceUID')}")
    return 0
