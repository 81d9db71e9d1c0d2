"""``dicomkit rt-verify``: RT Machine Verification (PS3.4 DD) client, the treatment delivery
system's side.

``dicomkit rt-verify HOST PORT PLAN [--beam N] [--set KEYWORD=VALUE ...] [--timeout S]
[--keep]`` reads the RT Plan or RT Ion Plan in the file PLAN (its class picks RT Conventional
or RT Ion Machine Verification), N-CREATEs a verification for the plan, its patient and the
fraction group of the beam, N-SETs the beam's parameters -- Referenced Beam Number and the
beam's meterset as Specified Primary Meterset, in one item of the Conventional / Ion Machine
Verification Sequence, with ``--set`` adding or replacing attributes of that item -- asks for
the verification (N-ACTION), waits for the result report (N-EVENT-REPORT) on the same
association and prints the outcome with the failed / overridden attributes, then N-DELETEs the
instance (``--keep``: leaves it for N-GET).

Exit status 0 when VERIFIED (or VERIFIED_OVR, verified with overrides); 1 when NOT_VERIFIED,
refused by the verifier or no report came in time; 2 for a usage error (a bad PLAN, beam or
``--set``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dicomkit.cli._commit import intermixed
from dicomkit.cli._echo import add_network_options, config_from_args
from dicomkit.cli._find import UsageError, run_async
from dicomkit.cli._peer_words import host_port


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "rt-verify",
        help="ask a machine parameter verifier to check a beam before treatment "
        "(RT machine verification)",
        description="dicomkit rt-verify HOST PORT PLAN [--beam N] [--set KEYWORD=VALUE ...]",
    )
    p.add_argument("words", nargs="+", metavar="HOST PORT PLAN")
    p.add_argument("--beam", type=int, help="the beam number (default: the plan's first beam)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEYWORD=VALUE",
        help="a treatment parameter to verify (repeatable), e.g. SpecifiedPrimaryMeterset=120",
    )
    p.add_argument("--timeout", type=float, default=60.0, metavar="S", help="wait for the result")
    p.add_argument("--keep", action="store_true", help="do not N-DELETE the instance afterwards")
    add_network_options(p)
    p.set_defaults(func=run)
    intermixed(p)


def run(args: argparse.Namespace) -> int:
    try:
        args.host, args.port, rest = host_port(args.words, "HOST PORT PLAN", extra=1)
        if len(rest) != 1:
            raise UsageError("takes HOST PORT PLAN (one RT Plan or RT Ion Plan file)")
        args.sop_class, args.attributes, args.parameters = request_from_plan(
            rest[0], args.beam, args.set
        )
    except UsageError as exc:
        print(f"dicomkit rt-verify: {exc}", file=sys.stderr)
        return 2
    return run_async("rt-verify", _verify, args)


def request_from_plan(path: str, beam: int | None, settings: list[str]) -> tuple[str, Any, Any]:
    """(SOP class, N-CREATE attributes, N-SET parameters) for ``beam`` of the plan in
    ``path``; a :class:`UsageError` saying what is wrong with the file, beam or settings."""
    import dicomkit
    from dicomkit.core._dataset import Dataset
    from dicomkit.core._sequence import Sequence
    from dicomkit.dictionary import tags, uids
    from dicomkit.errors import DicomError
    from dicomkit.services import rt_verification as rt
    from dicomkit.services._n_common import text

    try:
        plan = dicomkit.read(path)
    except (OSError, DicomError) as exc:
        raise UsageError(f"{path}: cannot read it as a DICOM file ({exc})") from None
    sop_class = text(plan.get(tags.SOPClassUID))
    ion = sop_class == uids.RTIonPlanStorage
    if sop_class not in (uids.RTPlanStorage, uids.RTIonPlanStorage):
        raise UsageError(f"{path}: not an RT Plan or RT Ion Plan (SOP class {sop_class or '-'})")
    beams = plan.get(tags.IonBeamSequence if ion else tags.BeamSequence) or []
    numbers = [int(b.get(tags.BeamNumber)) for b in beams if b.get(tags.BeamNumber) is not None]
    if not numbers:
        raise UsageError(f"{path}: the plan has no beams")
    number = numbers[0] if beam is None else beam
    if number not in numbers:
        raise UsageError(
            f"--beam {number}: the plan has beams {', '.join(map(str, numbers))}; choose one"
        )
    group, meterset = None, None
    for fg in plan.get(tags.FractionGroupSequence) or []:
        for ref in fg.get(tags.ReferencedBeamSequence) or []:
            if (
                ref.get(tags.ReferencedBeamNumber) is not None
                and int(ref.get(tags.ReferencedBeamNumber)) == number
            ):
                group = int(fg.get(tags.FractionGroupNumber))
                meterset = ref.get(tags.BeamMeterset)
                break
        if group is not None:
            break
    klass = rt.RT_ION_MACHINE_VERIFICATION if ion else rt.RT_CONVENTIONAL_MACHINE_VERIFICATION
    attributes = rt.creation_attributes(
        text(plan.get(tags.SOPInstanceUID)),
        text(plan.get(tags.PatientID)),
        ion=ion,
        fraction_group=group,
    )
    item = Dataset()
    item.ReferencedBeamNumber = number
    if meterset is not None:
        item.SpecifiedPrimaryMeterset = meterset
    for setting in settings:
        keyword, sep, value = setting.partition("=")
        if not sep or not hasattr(tags, keyword.strip()):
            raise UsageError(
                f"--set {setting}: give KEYWORD=VALUE with a DICOM keyword, "
                "e.g. SpecifiedPrimaryMeterset=120"
            )
        try:
            item.set(keyword.strip(), value.strip())
        except (DicomError, ValueError, TypeError) as exc:
            raise UsageError(f"--set {setting}: {exc}") from None
    parameters = Dataset()
    parameters.set(rt.PARAMETER_SEQUENCE[klass], Sequence([item]), vr="SQ")
    return klass, attributes, parameters


def describe_result(result: Any) -> list[str]:
    """The outcome in words: the status, then one line per failed / overridden attribute."""
    from dicomkit.errors import tag_words

    lines = [result.status]
    for label, found in (("failed", result.failed), ("overridden", result.overridden)):
        for p in found:
            where = (
                f" in {tag_words(p.sequence)} item {p.item or 1}" if p.sequence is not None else ""
            )
            lines.append(f"  {label}: {tag_words(p.tag)}{where}")
    return lines


async def _verify(args: argparse.Namespace) -> int:
    from dicomkit.errors import DimseError
    from dicomkit.net import AE
    from dicomkit.services import rt_verification as rt

    listener = rt.VerificationListener()
    ae = AE(args.aet, config=config_from_args(args))
    async with ae.associate(
        args.host,
        args.port,
        contexts=[args.sop_class],
        ae_title=args.aec,
        handlers=listener.handlers(),
    ) as assoc:
        try:
            result = await rt.verify(
                assoc,
                listener,
                args.sop_class,
                args.attributes,
                args.parameters,
                timeout=args.timeout,
                keep=args.keep,
            )
        except DimseError as exc:
            print(f"dicomkit rt-verify: {exc}", file=sys.stderr)
            return 1
        except TimeoutError:
            print(
                f"dicomkit rt-verify: no verification result within {args.timeout:g} s; "
                "raise --timeout or check the verifier",
                file=sys.stderr,
            )
            return 1
    print("\n".join(describe_result(result)))
    return 1 if result.status == rt.NOT_VERIFIED else 0
