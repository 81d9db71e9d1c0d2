"""``dicomkit get HOST PORT --out DIR -k KEY=VALUE ...``: C-GET, like getscu.

The instances come back as C-STORE sub-operations on the same association (we take the SCP
role for the storage SOP classes, PS3.7 D.3.3.4) and are written to ``--out`` as
``<SOPInstanceUID>.dcm``. Proposed storage classes: ``--sop-class`` (repeatable, keyword or
UID), else a set of common ones, each in explicit / implicit VR little endian plus the
transfer syntaxes given with ``--ts``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dicomkit.cli.echo import add_network_options, config_from_args
from dicomkit.cli.find import UsageError, add_query_options, build_query, model_of, run_async
from dicomkit.cli.move import report
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
    p.add_argument("port", type=int)
    p.add_argument("--out", "-o", default=".", metavar="DIR", help="output folder (default .)")
    p.add_argument(
        "--sop-class",
        action="append",
        default=[],
        metavar="UID|KEYWORD",
        help="storage SOP class to accept (repeatable; default: common ones)",
    )
    p.add_argument(
        "--ts",
        action="append",
        default=[],
        metavar="UID|KEYWORD",
        help="extra transfer syntax to accept, e.g. JPEGLossless (repeatable)",
    )
    add_query_options(p)
    add_network_options(p)
    p.set_defaults(func=run)


def _uid(text: str, what: str) -> str:
    from dicomkit.core.uid import is_valid_uid
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


async def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dicomkit.net import AE
    from dicomkit.net.proto import dimse
    from dicomkit.services import query_retrieve as qr
    from dicomkit.services.storage import StorageSCP

    if not args.key:
        raise UsageError("give the instances to get with -k, e.g. -k StudyInstanceUID=1.2.3")
    query, _keys = build_query(args, defaults=False)
    model = model_of(args)
    classes = [_uid(s, "SOP class") for s in args.sop_class] or [
        _uid(k, "SOP class") for k in COMMON
    ]
    extra = [_uid(t, "transfer syntax") for t in args.ts]
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
    roles = dict.fromkeys(classes, (False, True))
    async with ae.associate(
        args.host,
        args.port,
        ae_title=args.aec,
        contexts=ctx,
        roles=roles,
        handlers={dimse.CStoreRequest: StorageSCP(out, on_stored=on_stored)},
    ) as assoc:
        result = await qr.get(assoc, query, model)
    code = report("C-GET", result)
    print(f"{len(stored)} file(s) written to {out}", file=sys.stderr)
    return code
