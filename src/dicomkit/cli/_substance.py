"""``dicomkit substance``: Substance Administration Query (PS3.4 V) client.

- ``dicomkit substance product HOST PORT PACKAGE_ID``: what the package is (Product
  Characteristics Query): name, description, lot, expiry, type.
- ``dicomkit substance approval HOST PORT PACKAGE_ID --patient-id ID
  [--route VALUE^SCHEME^MEANING]``: may the patient receive it (Substance Approval Query);
  prints APPROVED, WARNING or CONTRA_INDICATED and the SCP's explanation.

Exit status 0 with an answer; 3 when the SCP knows no such product or cannot decide; 1 when
it refused the query.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dicomkit.cli._commit import intermixed
from dicomkit.cli._echo import add_network_options, config_from_args
from dicomkit.cli._find import UsageError, run_async
from dicomkit.cli._peer_words import code, host_port


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "substance",
        help="ask what a product package is, or whether a patient may receive it",
        description="dicomkit substance product HOST PORT PACKAGE_ID | approval HOST PORT "
        "PACKAGE_ID --patient-id ID [--route CODE]",
    )
    p.add_argument("action", choices=["product", "approval"])
    p.add_argument("words", nargs="+", metavar="HOST PORT PACKAGE_ID")
    p.add_argument("--patient-id", default="", metavar="ID", help="approval: the patient")
    p.add_argument(
        "--route", metavar="VALUE^SCHEME^MEANING", help="approval: the administration route"
    )
    add_network_options(p)
    p.set_defaults(func=run)
    intermixed(p)


def run(args: argparse.Namespace) -> int:
    try:
        args.host, args.port, rest = host_port(args.words, "HOST PORT PACKAGE_ID", extra=1)
        if len(rest) != 1:
            raise UsageError("takes HOST PORT PACKAGE_ID")
        args.package = rest[0]
        if args.action == "approval" and not args.patient_id:
            raise UsageError("substance approval needs --patient-id")
        args.route_code = code(args.route) if args.route else None
    except UsageError as exc:
        print(f"dicomkit substance: {exc}", file=sys.stderr)
        return 2
    return run_async("substance", _query, args)


async def _query(args: argparse.Namespace) -> int:
    from dicomkit.errors import DimseError
    from dicomkit.net import AE
    from dicomkit.services import (
        PRODUCT_CHARACTERISTICS_QUERY,
        SUBSTANCE_APPROVAL_QUERY,
        product_characteristics,
        substance_approval,
    )
    from dicomkit.services._n_common import text

    product = args.action == "product"
    sop_class = PRODUCT_CHARACTERISTICS_QUERY if product else SUBSTANCE_APPROVAL_QUERY
    ae = AE(args.aet, config=config_from_args(args))
    async with ae.associate(args.host, args.port, contexts=[sop_class], ae_title=args.aec) as assoc:
        try:
            if product:
                found = await product_characteristics(assoc, args.package)
                if found is None:
                    print(f"no product {args.package}")
                    return 3
                for kw in (
                    "ProductName",
                    "ProductDescription",
                    "ProductLotIdentifier",
                    "ProductExpirationDateTime",
                ):
                    print(f"{kw}: {text(found.get(kw))}")
                for item in found.get("ProductTypeCodeSequence") or ():
                    print(f"ProductType: {text(item.get('CodeMeaning'))}")
                return 0
            answer = await substance_approval(
                assoc, args.patient_id, args.package, route=args.route_code
            )
        except DimseError as exc:
            print(f"dicomkit substance {args.action}: {exc}", file=sys.stderr)
            return 1
    if not answer.decision:
        print("no decision: the SCP cannot approve or refuse this administration")
        return 3
    print(answer.decision + (f": {answer.description}" if answer.description else ""))
    return 0
