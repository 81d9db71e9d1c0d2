"""``dicomkit relevant-patient``: Relevant Patient Information Query (PS3.4 Q) client.

``dicomkit relevant-patient HOST PORT (--patient-id ID | --patient-name NAME)
[--template general|breast|cardiac]`` prints the patient and the content tree of the
template (TID 9007, 9000 or 3802) the SCP answers with.

Exit status 0 when the patient was found; 3 when the SCP knows no such patient; 1 when it
refused (e.g. 0xC100: more than one patient matches -- give the Patient ID).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dicomkit.cli._commit import intermixed
from dicomkit.cli._echo import add_network_options, config_from_args
from dicomkit.cli._find import UsageError, run_async
from dicomkit.cli._peer_words import host_port

KINDS = ("general", "breast", "cardiac")


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "relevant-patient",
        help="ask for a patient's relevant information (history, risk factors) as SR content",
        description="dicomkit relevant-patient HOST PORT --patient-id ID [--template KIND]",
    )
    p.add_argument("words", nargs="+", metavar="HOST PORT")
    p.add_argument("--patient-id", default="", metavar="ID")
    p.add_argument("--patient-name", default="", metavar="NAME")
    p.add_argument(
        "--template",
        choices=KINDS,
        default="general",
        help="general (TID 9007), breast (TID 9000) or cardiac (TID 3802); default general",
    )
    add_network_options(p)
    p.set_defaults(func=run)
    intermixed(p)


def run(args: argparse.Namespace) -> int:
    try:
        args.host, args.port, rest = host_port(args.words, "HOST PORT")
        if rest:
            raise UsageError("takes HOST PORT only")
        if not args.patient_id and not args.patient_name:
            raise UsageError("give the patient: --patient-id ID (or --patient-name NAME)")
    except UsageError as exc:
        print(f"dicomkit relevant-patient: {exc}", file=sys.stderr)
        return 2
    return run_async("relevant-patient", _query, args)


async def _query(args: argparse.Namespace) -> int:
    from dicomkit import sr
    from dicomkit.errors import DimseError
    from dicomkit.net import AE
    from dicomkit.services import (
        BREAST_RELEVANT_PATIENT,
        CARDIAC_RELEVANT_PATIENT,
        GENERAL_RELEVANT_PATIENT,
        query_relevant_information,
    )
    from dicomkit.services._n_common import text

    sop_class = {
        "general": GENERAL_RELEVANT_PATIENT,
        "breast": BREAST_RELEVANT_PATIENT,
        "cardiac": CARDIAC_RELEVANT_PATIENT,
    }[args.template]
    ae = AE(args.aet, config=config_from_args(args))
    async with ae.associate(args.host, args.port, contexts=[sop_class], ae_title=args.aec) as assoc:
        try:
            found = await query_relevant_information(
                assoc,
                patient_id=args.patient_id,
                patient_name=args.patient_name,
                sop_class=sop_class,
            )
        except DimseError as exc:
            print(f"dicomkit relevant-patient: {exc}", file=sys.stderr)
            return 1
    if found is None:
        print("no such patient")
        return 3
    print(
        f"{text(found.get('PatientName'))}  {text(found.get('PatientID'))}  "
        f"born {text(found.get('PatientBirthDate')) or '-'}  sex {text(found.get('PatientSex')) or '-'}"
    )
    print(sr.render.text(sr.read(found), header=False))
    return 0
