"""``dicomkit find HOST PORT -k KEY=VALUE ...``: C-FIND a Query/Retrieve SCP, like findscu.

Keys are keywords or tags: ``-k PatientName=DOE*``, ``-k StudyDate=20240101-``,
``-k "(0020,000D)="`` (empty: a return key), ``-k ProcedureCodeSequence.CodeValue=X`` (a key
inside a one-item sequence). A useful set of return keys for the level is always asked for
(``--only-keys``: just the ``-k`` ones); the level's unique key is always added. The level:
``-L``, or ``-k QueryRetrieveLevel=STUDY`` as findscu takes it. Output: a table, or ``--json``
(the DICOM JSON model of PS3.18 F; ``--json keyword`` for ``{keyword: value}`` objects).

Also home of what ``move`` and ``get`` share: :func:`add_query_options`, :func:`build_query`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from dicomkit.cli._echo import add_network_options, config_from_args, port_number

DEFAULT_KEYS: dict[str, tuple[str, ...]] = {
    "PATIENT": (
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientSex",
        "NumberOfPatientRelatedStudies",
    ),
    "STUDY": (
        "PatientName",
        "PatientID",
        "StudyDate",
        "StudyTime",
        "AccessionNumber",
        "StudyID",
        "StudyDescription",
        "ModalitiesInStudy",
        "NumberOfStudyRelatedInstances",
        "StudyInstanceUID",
    ),
    "SERIES": (
        "Modality",
        "SeriesNumber",
        "SeriesDate",
        "SeriesDescription",
        "BodyPartExamined",
        "NumberOfSeriesRelatedInstances",
        "StudyInstanceUID",
        "SeriesInstanceUID",
    ),
    "IMAGE": (
        "InstanceNumber",
        "SOPClassUID",
        "ContentDate",
        "ContentTime",
        "NumberOfFrames",
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "SOPInstanceUID",
    ),
}
#: the default return keys hold the level's attributes and the higher levels' unique keys
#: only: what a hierarchical query may carry (PS3.4 C.4.1.2.2), so every SCP answers it
UNIQUE = {
    "PATIENT": "PatientID",
    "STUDY": "StudyInstanceUID",
    "SERIES": "SeriesInstanceUID",
    "IMAGE": "SOPInstanceUID",
}


class UsageError(Exception):
    """A bad option value; printed as one line, exit status 2."""


def run_async(
    command: str,
    main: Callable[[argparse.Namespace], Coroutine[Any, Any, int]],
    args: argparse.Namespace,
) -> int:
    """Run a command's coroutine; a :class:`UsageError` becomes one line and exit status 2."""
    try:
        return asyncio.run(main(args))
    except UsageError as exc:
        print(f"dicomkit {command}: {exc}", file=sys.stderr)
        return 2


def add_query_options(p: argparse.ArgumentParser, *, default_level: str = "STUDY") -> None:
    q = p.add_argument_group("query")
    q.add_argument(
        "-L",
        "--level",
        default=None,
        type=str.upper,
        choices=["PATIENT", "STUDY", "SERIES", "IMAGE"],
        help=f"Query/Retrieve level (default {default_level}; -k QueryRetrieveLevel=X, "
        "as findscu takes it, works too)",
    )
    q.set_defaults(default_level=default_level)
    root = q.add_mutually_exclusive_group()
    root.add_argument(
        "-P",
        "--patient-root",
        dest="model",
        action="store_const",
        const="PATIENT",
        help="Patient Root information model",
    )
    root.add_argument(
        "-S",
        "--study-root",
        dest="model",
        action="store_const",
        const="STUDY",
        help="Study Root information model (default)",
    )
    root.add_argument(
        "--model",
        dest="model",
        type=str.lower,
        choices=sorted(MODEL_NAMES),
        help="information model: patient, study (default), composite-instance (C-MOVE, "
        "C-GET: Composite Instance Root Retrieve), without-bulk-data (C-GET: Composite "
        "Instance Retrieve Without Bulk Data), and the non-patient objects' models "
        "(hanging-protocol, color-palette, defined-procedure-protocol, protocol-approval, "
        "implant-template, implant-assembly, implant-group: no levels, any attribute is a key, "
        "retrieve by -k SOPInstanceUID=...)",
    )
    q.add_argument(
        "-k",
        "--key",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="matching or return key (repeatable); KEY is a keyword or (gggg,eeee)",
    )


def _keyword(key: str) -> str:
    from dicomkit.core._tag import parse_tag
    from dicomkit.dictionary import keyword_for_tag, suggest_keywords, tag_for_keyword
    from dicomkit.errors import DicomError

    key = key.strip()
    if tag_for_keyword(key) is not None:
        return key
    try:
        kw = keyword_for_tag(parse_tag(key))
    except (DicomError, ValueError):
        kw = ""
    if kw:
        return str(kw)
    hint = suggest_keywords(key)
    raise UsageError(
        f"unknown key {key!r}" + (f"; did you mean {', '.join(hint)}?" if hint else "")
    )


def parse_keys(pairs: list[str]) -> dict[str, Any]:
    """``["PatientName=DOE*", "Seq.Sub=X"]`` -> ``{"PatientName": "DOE*", "Seq": [{"Sub": "X"}]}``."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            value = ""
        if "." in key and not key.strip().startswith("("):
            seq, sub = key.split(".", 1)
            items = out.setdefault(_keyword(seq), [{}])
            items[0][_keyword(sub)] = value
            continue
        kw = _keyword(key)
        out[kw] = value.split("\\") if "\\" in value else value
    return out


def _level(args: argparse.Namespace, keys: dict[str, Any]) -> str:
    """The query level: -L, or ``-k QueryRetrieveLevel=X`` (findscu's way), not both
    differently; an empty ``-k QueryRetrieveLevel=`` is refused (it cannot be a return key)."""
    given = keys.pop("QueryRetrieveLevel", None)
    if given is None:
        return str(args.level or getattr(args, "default_level", "STUDY"))
    value = str(given[0] if isinstance(given, list) else given).strip().upper()
    if value not in UNIQUE:
        raise UsageError(
            f"QueryRetrieveLevel {value!r}: give PATIENT, STUDY, SERIES or IMAGE "
            "(-k QueryRetrieveLevel=STUDY, or -L STUDY)"
            if value
            else "-k QueryRetrieveLevel= needs a level: -k QueryRetrieveLevel=STUDY (or -L "
            "STUDY); the level is what the query asks for, not a return key"
        )
    if args.level and args.level != value:
        raise UsageError(f"-L {args.level} and -k QueryRetrieveLevel={value} disagree")
    return value


def build_query(args: argparse.Namespace, *, defaults: bool = True) -> tuple[Any, dict[str, Any]]:
    """The identifier Dataset and its keys, for ``find`` / ``move`` / ``get``: for ``find``
    (``defaults``) the level's default return keys, then the ``-k`` keys (their values win),
    unless ``--only-keys``; for ``move`` / ``get`` the ``-k`` keys only."""
    from dicomkit.services._query_retrieve import identifier

    given = parse_keys(args.key)
    if model_of(args) in NON_PATIENT_MODELS:  # one level, the instance: SOP Instance UID
        instance_keys: dict[str, Any] = (
            {"SOPInstanceUID": "", "SOPClassUID": ""} if defaults else {}
        )
        instance_keys.update({k: v for k, v in given.items() if k != "QueryRetrieveLevel"})
        query = identifier("IMAGE", instance_keys)
        del query["QueryRetrieveLevel"]  # these models have no levels
        return query, instance_keys
    level = args.level = _level(args, given)
    keys: dict[str, Any] = {}
    if defaults and not (getattr(args, "only_keys", False) and given):
        keys = dict.fromkeys(DEFAULT_KEYS[level], "")
    keys.update(given)
    keys.setdefault(UNIQUE[level], "")
    if getattr(args, "model", None) in ("PATIENT", "patient") and level != "PATIENT":
        keys.setdefault("PatientID", "")
    return identifier(level, keys), keys


#: ``--model`` names and the information models they select (``-P``/``-S`` store the
#: upper-case enum values)
MODEL_NAMES = {
    "patient": "PATIENT",
    "study": "STUDY",
    "composite-instance": "COMPOSITE_INSTANCE",
    "without-bulk-data": "WITHOUT_BULK_DATA",
    "hanging-protocol": "HANGING_PROTOCOL",
    "color-palette": "COLOR_PALETTE",
    "defined-procedure-protocol": "DEFINED_PROCEDURE_PROTOCOL",
    "protocol-approval": "PROTOCOL_APPROVAL",
    "implant-template": "GENERIC_IMPLANT_TEMPLATE",
    "implant-assembly": "IMPLANT_ASSEMBLY_TEMPLATE",
    "implant-group": "IMPLANT_TEMPLATE_GROUP",
}
#: ``--model`` names of the non-patient models (no levels; keys are any attributes)
NON_PATIENT_MODELS = frozenset(
    {
        "HANGING_PROTOCOL",
        "COLOR_PALETTE",
        "DEFINED_PROCEDURE_PROTOCOL",
        "PROTOCOL_APPROVAL",
        "GENERIC_IMPLANT_TEMPLATE",
        "IMPLANT_ASSEMBLY_TEMPLATE",
        "IMPLANT_TEMPLATE_GROUP",
    }
)


def model_of(args: argparse.Namespace, verb: str | None = None) -> Any:
    """The information model the options select; with ``verb`` (``"C-FIND"``, ``"C-MOVE"``,
    ``"C-GET"``) a :class:`UsageError` when the model has no such operation."""
    from dicomkit.services import _query_retrieve as qr

    name = getattr(args, "model", None) or "STUDY"
    model = qr.Model(MODEL_NAMES.get(name, name))
    table = {"C-FIND": qr.FIND, "C-MOVE": qr.MOVE, "C-GET": qr.GET}.get(verb or "")
    if table is not None and model not in table:
        have = ", ".join(k for k, v in MODEL_NAMES.items() if qr.Model(v) in table)
        raise UsageError(f"the {name} information model has no {verb}; --model takes {have}")
    return model


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "find",
        help="query a Q/R SCP (C-FIND)",
        description="C-FIND on one association; one row per match. Exit status 1 when the "
        "SCP answers with a failure.",
    )
    p.add_argument("host")
    p.add_argument("port", type=port_number)
    add_query_options(p)
    p.add_argument(
        "--json",
        nargs="?",
        const="dicom",
        choices=["dicom", "keyword"],
        help="print the matches as a JSON list: the DICOM JSON model of PS3.18 F (default), "
        "or 'keyword': {keyword: value} objects",
    )
    p.add_argument(
        "--only-keys",
        action="store_true",
        help="ask only for the -k keys (and the level's unique key), not the default columns",
    )
    p.add_argument("--limit", type=int, metavar="N", help="C-CANCEL after N matches")
    p.add_argument(
        "--relational",
        action="store_true",
        help="ask for relational queries (SOP class extended negotiation, "
        "PS3.4 C.5.1.1); a warning is printed when the SCP declines",
    )
    p.add_argument(
        "--fuzzy",
        action="store_true",
        help="ask for fuzzy semantic matching of person names (extended negotiation, "
        "PS3.4 C.5.1.1.1 byte 3); a warning is printed when the SCP declines",
    )
    p.add_argument(
        "--timezone-adjust",
        action="store_true",
        help="ask the SCP to read the date/time keys in this machine's timezone (or that of "
        "-k TimezoneOffsetFromUTC=+hhmm) and adjust them to its stored instances' timezone "
        "(extended negotiation, PS3.4 C.5.1.1.1 byte 4); a warning is printed when the SCP "
        "declines",
    )
    add_network_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return run_async("find", _run, args)


def _local_offset() -> str:
    """This machine's offset from UTC now, as Timezone Offset From UTC (``+hhmm``)."""
    import time

    minutes = (time.localtime().tm_gmtoff or 0) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def value_text(value: Any) -> Any:
    """A decoded value as JSON-friendly data: text, lists of text, lists of items."""
    if value is None:
        return ""
    if isinstance(value, list):
        if value and hasattr(value[0], "keys") and not isinstance(value[0], str):
            return [
                {str(item[t].keyword or t): value_text(item[t].value) for t in item}
                for item in value
            ]
        return [value_text(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    original = getattr(value, "original", None)
    return original.strip(" \0") if isinstance(original, str) else str(value)


def rows_of(matches: list[Any], keys: list[str]) -> list[dict[str, Any]]:
    return [{kw: value_text(ds.get(kw, "")) for kw in keys} for ds in matches]


def print_table(rows: list[dict[str, Any]], keys: list[str]) -> None:
    def cell(v: Any) -> str:
        if isinstance(v, list):
            return "\\".join(cell(x) for x in v)
        if isinstance(v, dict):
            return ",".join(f"{k}={cell(x)}" for k, x in v.items())
        return str(v)

    table = [[cell(r[k]) for k in keys] for r in rows]
    widths = [max([len(k)] + [len(row[i]) for row in table]) for i, k in enumerate(keys)]
    print("  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True)).rstrip())
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


async def _run(args: argparse.Namespace) -> int:
    from dicomkit.errors import DimseError
    from dicomkit.net import AE
    from dicomkit.services import _query_retrieve as qr

    model = model_of(args, "C-FIND")
    query, keys = build_query(args)
    ae = AE(args.aet, config=config_from_args(args))
    matches = []
    status = 0
    sop_class = qr.FIND[model]
    relational, fuzzy = getattr(args, "relational", False), getattr(args, "fuzzy", False)
    tz_adjust = getattr(args, "timezone_adjust", False)
    extended = None
    if relational or fuzzy or tz_adjust:  # PS3.4 C.5.1.1.1: byte 1 relational, byte 3 fuzzy
        info = [int(relational), 0, int(fuzzy), int(tz_adjust)]  # PN matching, byte 4 timezone
        while len(info) > 1 and not info[-1]:
            info.pop()
        extended = {sop_class: bytes(info)}
    if tz_adjust and not query.get("TimezoneOffsetFromUTC"):
        query.TimezoneOffsetFromUTC = _local_offset()
    async with ae.associate(
        args.host, args.port, ae_title=args.aec, contexts=[sop_class], extended=extended
    ) as assoc:
        agreed = assoc.extended.get(sop_class, b"")
        if relational and agreed[:1] != b"\x01":
            print("dicomkit find: the SCP did not accept relational queries", file=sys.stderr)
        if tz_adjust and agreed[3:4] != b"\x01":
            print(
                "dicomkit find: the SCP did not accept timezone query adjustment (dates and "
                "times are matched as given)",
                file=sys.stderr,
            )
        if fuzzy and agreed[2:3] != b"\x01":
            print(
                "dicomkit find: the SCP did not accept fuzzy person-name matching (names are "
                "matched exactly)",
                file=sys.stderr,
            )
        try:
            async for ds in qr.find(assoc, query, model, limit=args.limit):
                matches.append(ds)
        except DimseError as exc:
            print(f"dicomkit find: {exc}", file=sys.stderr)
            status = 1
    order = list(keys)
    rows = rows_of(matches, order)
    if args.json == "dicom":
        from dicomkit.io._json import to_json

        json.dump([to_json(ds) for ds in matches], sys.stdout, ensure_ascii=False, indent=1)
        print()
    elif args.json:
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=1)
        print()
    else:
        if rows:
            print_table(rows, order)
        print(f"{len(rows)} match{'es' if len(rows) != 1 else ''}", file=sys.stderr)
    return status
