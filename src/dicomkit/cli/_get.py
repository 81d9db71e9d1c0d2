"""``dicomkit get HOST PORT --out DIR -k KEY=VALUE ...``: C-GET, like getscu.

The instances come back as C-STORE sub-operations on the same association (we take the SCP
role for the storage SOP classes, PS3.7 D.3.3.4) and are written to ``--out`` as
``<SOPInstanceUID>.dcm``. Proposed storage classes: those of the selected instances, asked
with a C-FIND first (``--no-find`` skips it), then ``--sop-class`` (repeatable, keyword or
UID), then a set of common ones, each in explicit / implicit VR little endian plus the
transfer syntaxes given with ``--ts`` (at most 127 contexts). When sub-operations fail the
command says which classes the SCP did not accept, and the SCP's Error Comment.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dicomkit.cli._echo import add_network_options, config_from_args, port_number
from dicomkit.cli._find import (
    UsageError,
    add_query_options,
    build_query,
    model_of,
    parse_keys,
    run_async,
)
from dicomkit.cli._move import report
from dicomkit.dictionary import uids

COMMON = (
    "CTImageStorage",
    "MRImageStorage",
    "ComputedRadiographyImageStorage",
    "DigitalXRayImageStorageForPresentation",
    "DigitalMammographyXRayImageStorageForPresentation",
    "UltrasoundImageStorage",
    "UltrasoundMultiFrameImageStorage",
    "SecondaryCaptureImageStorage",
    "MultiFrameGrayscaleByteSecondaryCaptureImageStorage",
    "MultiFrameGrayscaleWordSecondaryCaptureImageStorage",
    "MultiFrameTrueColorSecondaryCaptureImageStorage",
    "XRayAngiographicImageStorage",
    "XRayRadiofluoroscopicImageStorage",
    "NuclearMedicineImageStorage",
    "PositronEmissionTomographyImageStorage",
    "EnhancedCTImageStorage",
    "EnhancedMRImageStorage",
    "EnhancedPETImageStorage",
    "RTImageStorage",
    "RTDoseStorage",
    "RTStructureSetStorage",
    "RTPlanStorage",
    "BasicTextSRStorage",
    "EnhancedSRStorage",
    "ComprehensiveSRStorage",
    "KeyObjectSelectionDocumentStorage",
    "GrayscaleSoftcopyPresentationStateStorage",
    "EncapsulatedPDFStorage",
    "SegmentationStorage",
    "VLPhotographicImageStorage",
    "DigitalIntraOralXRayImageStorageForPresentation",
    "XRayRadiationDoseSRStorage",
    "BreastTomosynthesisImageStorage",
    "OphthalmicPhotography8BitImageStorage",
    "RawDataStorage",
    "SpatialRegistrationStorage",
    "ParametricMapStorage",
    "TwelveLeadECGWaveformStorage",
    "NuclearMedicineImageStorageRetired",
    "UltrasoundImageStorageRetired",
)


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "get",
        help="retrieve instances from a Q/R SCP over the same association (C-GET)",
        description="C-GET the instances matching the keys into --out.",
    )
    p.add_argument("host")
    p.add_argument("port", type=port_number)
    p.add_argument("--out", "-o", default=".", metavar="DIR", help="output folder (default .)")
    p.add_argument(
        "--sop-class",
        action="append",
        default=[],
        metavar="UID|KEYWORD",
        help="storage SOP class to accept, besides those a C-FIND finds and the common "
        "ones (repeatable)",
    )
    p.add_argument(
        "--no-find",
        action="store_true",
        help="do not C-FIND first for the SOP classes to propose (the common ones and "
        "--sop-class only)",
    )
    p.add_argument(
        "--ts",
        action="append",
        default=[],
        metavar="UID|KEYWORD",
        help="extra transfer syntax to accept, e.g. JPEGLossless (repeatable)",
    )
    frames = p.add_mutually_exclusive_group()
    frames.add_argument(
        "--frames",
        metavar="LIST",
        help="Frame Level Retrieve (PS3.4 Y, Z): a new instance with just these frames of the "
        "instance -k SOPInstanceUID names, e.g. 1-10 or 1,5,9 or 1-100/10 (every 10th)",
    )
    frames.add_argument(
        "--frame-times",
        metavar="START-END",
        help="Frame Level Retrieve by time: the frames from START to END seconds after the "
        "first frame, e.g. 0-1.5",
    )
    add_query_options(p)
    add_network_options(p)
    p.set_defaults(func=run)


def frame_keys(args: argparse.Namespace) -> dict[str, Any]:
    """The frame range key of ``--frames`` / ``--frame-times`` (empty without them):
    Calculated Frame List for ranges (start, end, increment), Simple Frame List for single
    frames, Time Range for times."""
    if getattr(args, "frame_times", None):
        lo, sep, hi = str(args.frame_times).partition("-")
        try:
            return {"TimeRange": [float(lo), float(hi)]} if sep else {}
        except ValueError:
            pass
        raise UsageError(
            f"--frame-times {args.frame_times!r}: give START-END in seconds, e.g. 0-1.5"
        )
    spec = getattr(args, "frames", None)
    if not spec:
        return {}
    single: list[int] = []
    calculated: list[int] = []
    try:
        for part in str(spec).split(","):
            part = part.strip()
            rng, _slash, step = part.partition("/")
            lo, dash, hi = rng.partition("-")
            if dash:
                calculated += [int(lo), int(hi), int(step or 1)]
            else:
                single.append(int(rng))
    except ValueError:
        raise UsageError(
            f"--frames {spec!r}: give frame numbers and ranges, e.g. 1-10 or 1,5,9 or 1-100/10"
        ) from None
    if single and calculated:  # one key only: spell the ranges out
        for i in range(0, len(calculated), 3):
            single += list(range(calculated[i], calculated[i + 1] + 1, calculated[i + 2]))
        calculated = []
    if any(v < 1 for v in single + calculated):
        raise UsageError(f"--frames {spec!r}: frames are numbered from 1")
    return {"CalculatedFrameList": calculated} if calculated else {"SimpleFrameList": single}


def _uid(text: str, what: str) -> str:
    from dicomkit.core._uid import is_valid_uid
    from dicomkit.dictionary import uid_for_keyword

    if is_valid_uid(text):
        return text
    uid = uid_for_keyword(text)
    if uid is None:
        raise UsageError(f"unknown {what} {text!r}: give a UID or a keyword")
    return str(uid)


def contexts(sop_classes: list[str], extra_ts: list[str]) -> list[tuple[str, list[str]]]:
    """One context per storage class with every syntax we accept (the SCP picks one), plus one
    per (class, extra syntax) so compressed instances can come back unchanged. At most 127."""
    base = [uids.ExplicitVRLittleEndian, uids.ImplicitVRLittleEndian]
    out = [(sop, base + extra_ts) for sop in sop_classes]
    for ts in extra_ts:
        out += [(sop, [ts]) for sop in sop_classes]
    return out[:127]


def run(args: argparse.Namespace) -> int:
    return run_async("get", _run, args)


async def classes_by_find(args: argparse.Namespace, model: Any) -> tuple[list[str], str]:
    """The SOP classes of the instances the keys select, asked with C-FIND before the C-GET:
    at IMAGE level (SOP Class UID as a return key), else series by series (for SCPs that
    only answer hierarchical queries; at most 100 series). ``([], why)`` when the SCP cannot
    tell."""
    from dicomkit.errors import DicomError
    from dicomkit.net import AE
    from dicomkit.services import _query_retrieve as qr

    keys = {k: v for k, v in parse_keys(args.key).items() if k != "QueryRetrieveLevel"}
    found: dict[str, None] = {}
    if model not in qr.FIND:  # a retrieve-only model: ask in the Study Root model
        model = qr.Model.STUDY_ROOT

    async def ask(assoc: Any, level: str, extra: dict[str, Any]) -> list[Any]:
        query = qr.identifier(level, {**keys, **extra})
        return [ds async for ds in qr.find(assoc, query, model)]

    def note(ds: Any, keyword: str) -> None:
        value = ds.get(keyword) if hasattr(ds, "get") else None
        raw = getattr(value, "value", value)
        for uid in raw if isinstance(raw, list) else [raw]:
            if uid:
                found[str(uid).rstrip("\x00 ")] = None

    ae = AE(args.aet, config=config_from_args(args))
    try:
        async with ae.associate(
            args.host, args.port, ae_title=args.aec, contexts=[qr.FIND[model]]
        ) as assoc:
            try:
                for ds in await ask(assoc, "IMAGE", {"SOPClassUID": "", "SOPInstanceUID": ""}):
                    note(ds, "SOPClassUID")
            except DicomError:
                pass  # e.g. no relational queries: go series by series
            if not found:
                series = await ask(assoc, "SERIES", {"SeriesInstanceUID": ""})
                for ds in series[:100]:
                    uid = ds.get("SeriesInstanceUID") if hasattr(ds, "get") else None
                    if uid is not None:
                        extra = {
                            "SeriesInstanceUID": str(getattr(uid, "value", uid)),
                            "SOPClassUID": "",
                            "SOPInstanceUID": "",
                        }
                        for image in await ask(assoc, "IMAGE", extra):
                            note(image, "SOPClassUID")
    except DicomError as exc:
        return [], f"the C-FIND to learn their SOP classes failed: {exc}"
    if not found:
        return [], "the SCP's C-FIND did not return their SOP Class UIDs"
    return list(found), ""


async def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dicomkit.errors import DimseError
    from dicomkit.net import AE
    from dicomkit.net.proto import _dimse as dimse
    from dicomkit.services import _query_retrieve as qr
    from dicomkit.services._storage import StorageSCP

    if not args.key:
        raise UsageError("give the instances to get with -k, e.g. -k StudyInstanceUID=1.2.3")
    frame_key = frame_keys(args)
    if frame_key:  # Frame Level Retrieve: the Composite Instance Root model, FRAME level
        if getattr(args, "model", None) not in (None, "composite-instance", "COMPOSITE_INSTANCE"):
            raise UsageError("--frames needs the composite-instance model (the default with it)")
        if "SOPInstanceUID" not in parse_keys(args.key):
            raise UsageError("--frames takes the frames of one instance: -k SOPInstanceUID=...")
        args.model = "composite-instance"
        args.level = "IMAGE"
    model = model_of(args, "C-GET")
    query, _keys = build_query(args, defaults=False)
    if frame_key:
        query.QueryRetrieveLevel = "FRAME"
        for kw, value in frame_key.items():
            query.set(kw, value)
    wanted = [_uid(s, "SOP class") for s in args.sop_class]
    extra = [_uid(t, "transfer syntax") for t in args.ts]
    derived, why = ([], "--no-find") if args.no_find else await classes_by_find(args, model)
    if why and not args.no_find:
        print(
            f"dicomkit get: {why}; proposing the common storage classes"
            + (" and --sop-class" if wanted else ""),
            file=sys.stderr,
        )
    # what the C-FIND found first, then --sop-class, then the common classes (at most 127
    # contexts: the first ones are kept)
    classes = list(dict.fromkeys([*derived, *wanted, *(_uid(k, "SOP class") for k in COMMON)]))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stored: list[Path] = []

    def on_stored(path: Path, _incoming: Any) -> None:
        stored.append(path)

    ae = AE(args.aet, config=config_from_args(args))
    ctx = [
        (qr.GET[model], [uids.ExplicitVRLittleEndian, uids.ImplicitVRLittleEndian]),
        *contexts(classes, extra),
    ]
    proposed = {sop for sop, _ in ctx[1:]}
    roles = dict.fromkeys(proposed, (False, True))
    async with ae.associate(
        args.host,
        args.port,
        ae_title=args.aec,
        contexts=ctx,
        roles=roles,
        handlers={dimse.CStoreRequest: StorageSCP(out, on_stored=on_stored)},
    ) as assoc:
        accepted = {c.abstract_syntax for c in assoc.accepted_contexts}
        try:
            result = await qr.get(assoc, query, model)
        except DimseError as exc:  # a failure status (the client contract): say it, exit 1
            print(exc)
            print(f"{len(stored)} file(s) written to {out}", file=sys.stderr)
            return 1
    code = report("C-GET", result)
    print(f"{len(stored)} file(s) written to {out}", file=sys.stderr)
    if result.failed:
        missing = [uid_name(sop) for sop in derived if sop not in accepted]
        print(
            "dicomkit get: an SCP can send an instance back only on a presentation context "
            "we proposed and it accepted, with the SCP role for us"
            + (
                f"; not accepted: {', '.join(missing)}"
                if missing
                else "; add SOP classes with --sop-class, transfer syntaxes with --ts"
            ),
            file=sys.stderr,
        )
    return code


def uid_name(uid: str) -> str:
    from dicomkit.net._log import uid_name as name

    return name(uid)
