#!/usr/bin/env python3
"""Compare ``dicomkit.iod.validate`` with dciodvfy (dicom3tools) file by file.

    python benchmarks/validate_vs_dciodvfy.py                  # every file of the shared corpus
    python benchmarks/validate_vs_dciodvfy.py FILE...          # these files
    python benchmarks/validate_vs_dciodvfy.py --quiet          # totals and categories only

Both tools' errors are reduced to (kind, attribute) pairs -- kind one of ``missing``,
``empty``, ``value`` (malformed for its VR), ``enum``, ``vm``, ``vr``, ``items``, ``zero``,
``cond-present``, ``uid-root``, ``uid-reuse``, ``meta-uid``, ``unit-vector``, ``rule`` (an
IOD-specific value rule), ``pixel`` (Pixel Data encoding), ``no-iod`` (no IOD known for the
SOP class), ``read`` (the file could not be read whole); attribute a keyword (a tag for private or unknown ones) -- and matched per file:
reported by both, only by dciodvfy, only by us. dciodvfy's summary lines ("Dicom dataset
contains ...") are left out. A pair that only dciodvfy gives as an error while we report it
as a warning is counted as "only dciodvfy" and also shown as "(we warn)".

The file is read strictly; if that fails, leniently (as ``dicomkit validate --lenient``).
Not a test: it asserts nothing. ``tests/iod/test_dciodvfy.py`` uses :func:`compare`.
"""

from __future__ import annotations

import argparse
import csv
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import dicomkit
from dicomkit.dictionary import keyword_for_tag, tag_for_keyword
from dicomkit.errors import DicomError

DCIODVFY = Path("/usr/bin/dciodvfy")
CORPUS = Path("/work/shared/corpus")

Pair = tuple[str, str]  # (kind, attribute)

_TAG = re.compile(r"\(0x([0-9a-fA-F]{4}),0x([0-9a-fA-F]{4})\)")
_ELEMENT = re.compile(r"Element=<([^>]*)>")
_ATTRIBUTE = re.compile(r"attribute <([^>]*)>")

# dciodvfy error text -> kind; the attribute comes from Element=<..>, attribute <..> or a tag.
_DCIODVFY_KINDS: tuple[tuple[str, str], ...] = (
    ("Missing attribute", "missing"),
    ("Empty attribute", "empty"),
    ("Value invalid for this VR", "value"),
    ("Unrecognized enumerated value", "enum"),
    ("Attribute present when condition unsatisfied", "cond-present"),
    ("Bad attribute Value Multiplicity", "vm"),
    ("Bad Sequence number of Items", "items"),
    ("Invalid Value Representation - Pixel Data", "pixel"),
    ("Invalid Value Representation", "vr"),
    ("Value is zero", "zero"),
    ("Illegal root for UID", "uid-root"),
    ("has same value as", "uid-reuse"),
    ("MediaStorageSOPInstanceUID different from", "meta-uid"),
    ("not unit vector", "unit-vector"),
    ("Undefined value length of other byte/word", "pixel"),
    ("PixelData has incorrect value length", "pixel"),
    ("read failed", "read"),
    ("Information Object Not found", "no-iod"),
    ("Metaheader present but", "read"),
    ("Bad tag in sequence", "read"),
    ("Bad Value Length", "read"),
)
_SUMMARY = ("Dicom dataset contains",)

# our message text -> kind
_OUR_KINDS: tuple[tuple[str, str], ...] = (
    ("missing attribute", "missing"),
    ("empty attribute", "empty"),
    ("unrecognised enumerated value", "enum"),
    ("present although condition", "cond-present"),
    ("items where the module allows", "items"),
    ("VM is", "vm"),
    ("where the data dictionary gives", "vr"),
    ("value is zero", "zero"),
    ("illegal UID root", "uid-root"),
    ("UID also used", "uid-reuse"),
    ("differs from", "meta-uid"),
    ("unit vector", "unit-vector"),
    ("orthogonal", "unit-vector"),
    ("Pixel Data", "pixel"),
    ("cannot be decoded", "value"),
    ("not a valid", "value"),
    ("longer than", "value"),
    ("characters", "value"),
    ("padded with NUL", "value"),
    ("not a date", "value"),
    ("component group", "value"),
    ("private dictionary", "value"),
    ("read:", "read"),
    ("no IOD known", "no-iod"),
)


def _keyword(tag: int) -> str:
    if tag >> 16 & 1:
        return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
    return keyword_for_tag(tag) or f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _norm(attr: str) -> str:
    """Keywords and names alike: dciodvfy writes "Number of Frames" where we write
    "NumberOfFrames"; compared case-blind on letters and digits (tags keep their form)."""
    return attr if attr.startswith(("(", "-")) else re.sub(r"[^0-9a-z]", "", attr.lower())


def _kind(text: str, table: tuple[tuple[str, str], ...]) -> str:
    for needle, kind in table:
        if needle in text:
            return kind
    return "rule"


def parse_dciodvfy(text: str) -> set[Pair]:
    """The (kind, attribute) pairs of dciodvfy's errors."""
    pairs: set[Pair] = set()
    for line in text.splitlines():
        at = line.find("Error - ")
        if at < 0:
            continue
        msg = line[at + len("Error - ") :]
        if msg.startswith(_SUMMARY):
            continue
        kind = _kind(msg, _DCIODVFY_KINDS)
        prefix = _TAG.search(line[:at])
        if "Bad tag in sequence" in msg and prefix is not None:
            # "(0x0040,0xa170) SQ ... - Error - Bad tag in sequence": a value not a sequence
            pairs.add(
                (
                    "value",
                    _norm(_keyword(int(prefix.group(1), 16) << 16 | int(prefix.group(2), 16))),
                )
            )
            continue
        if kind in ("read", "no-iod"):
            pairs.add((kind, "-"))
            continue
        if kind == "pixel":
            pairs.add(("pixel", _norm("PixelData")))
            continue
        m = _ELEMENT.search(msg) or _ATTRIBUTE.search(msg)
        if m:
            attr = m.group(1).replace(" ", "").replace("'", "")
        elif kind == "uid-reuse" or kind == "meta-uid":
            attr = msg.split()[0]
        elif kind == "unit-vector":
            attr = msg.split("vector of ")[-1].split()[0]
        elif (t := _TAG.search(msg)) is not None:
            attr = _keyword(int(t.group(1), 16) << 16 | int(t.group(2), 16))
        elif "SOPClassUID but missing SOPClassUID" in msg:
            kind, attr = "missing", "SOPClassUID"
        elif "SOPInstanceUID but missing SOPInstanceUID" in msg:
            kind, attr = "missing", "SOPInstanceUID"
        elif tag_for_keyword(msg.split()[0]) is not None:  # "PixelAspectRatio may not ..."
            attr = msg.split()[0]
        else:
            attr = "-"
        if kind == "uid-root" and (t := _TAG.search(msg)) is not None:
            attr = _keyword(int(t.group(1), 16) << 16 | int(t.group(2), 16))
        pairs.add((kind, _norm(attr)))
    return pairs


def run_dciodvfy(path: Path) -> set[Pair]:
    out = subprocess.run(
        [str(DCIODVFY), str(path)],
        check=False,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=300,
    )
    pairs = parse_dciodvfy(out.stdout + "\n" + out.stderr)
    if out.returncode < 0:  # killed by a signal: an assertion failed, the file was not read
        pairs.add(("read", "-"))
    return pairs


def run_ours(path: Path) -> tuple[set[Pair], set[Pair], str]:
    """Our (errors, warnings) as pairs, and how the file was read."""
    from dicomkit.iod import validate

    how = "strict"
    try:
        ds = dicomkit.read(path)
    except (DicomError, OSError):
        try:
            ds = dicomkit.read(path, lenient=True)
            how = "lenient"
        except (DicomError, OSError):
            return {("read", "-")}, set(), "unreadable"
    errors: set[Pair] = set()
    warnings: set[Pair] = set()
    if getattr(ds, "read_errors", None):  # what the read skipped (strict reads note some too)
        errors.add(("read", "-"))
    for f in validate(ds):
        if f.severity == "not-checked":
            continue
        kind = _kind(f.message, _OUR_KINDS)
        pair = (kind, _norm(_keyword(f.tag)) if f.tag and kind != "no-iod" else "-")
        (errors if f.severity == "error" else warnings).add(pair)
    return errors, warnings, how


@dataclass
class FileResult:
    path: str
    how: str
    both: set[Pair] = field(default_factory=set)
    only_dciodvfy: set[Pair] = field(default_factory=set)
    only_us: set[Pair] = field(default_factory=set)
    we_warn: set[Pair] = field(default_factory=set)


def compare(path: Path) -> FileResult:
    theirs = run_dciodvfy(path)
    ours, warned, how = run_ours(path)
    only_them = theirs - ours
    return FileResult(str(path), how, theirs & ours, only_them, ours - theirs, only_them & warned)


def corpus_files(root: Path) -> list[Path]:
    with open(root / "MANIFEST.csv", newline="") as fh:
        return [root / row["path"] for row in csv.DictReader(fh)]


def _show(pairs: set[Pair]) -> str:
    return ", ".join(f"{k}:{a}" for k, a in sorted(pairs))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--quiet", action="store_true", help="totals and categories only")
    args = ap.parse_args(argv)
    if not DCIODVFY.exists():
        print(f"{DCIODVFY} not found: apt-get install dicom3tools", file=sys.stderr)
        return 2
    files = args.files or corpus_files(args.corpus)
    results = [compare(p) for p in files]
    cats_them: Counter[str] = Counter()
    cats_us: Counter[str] = Counter()
    cats_warn: Counter[str] = Counter()
    for r in results:
        cats_them.update(k for k, _ in r.only_dciodvfy)
        cats_us.update(k for k, _ in r.only_us)
        cats_warn.update(k for k, _ in r.we_warn)
        if args.quiet:
            continue
        name = (
            str(Path(r.path).relative_to(args.corpus))
            if args.corpus in Path(r.path).parents
            else r.path
        )
        print(
            f"{name} [{r.how}]: both {len(r.both)}, only dciodvfy {len(r.only_dciodvfy)}, "
            f"only us {len(r.only_us)}"
        )
        if r.only_dciodvfy:
            print(f"    only dciodvfy: {_show(r.only_dciodvfy)}")
            if r.we_warn:
                print(f"      (we warn: {_show(r.we_warn)})")
        if r.only_us:
            print(f"    only us:       {_show(r.only_us)}")
    n_both = sum(len(r.both) for r in results)
    n_them = sum(len(r.only_dciodvfy) for r in results)
    n_us = sum(len(r.only_us) for r in results)
    n_warn = sum(len(r.we_warn) for r in results)
    hows = Counter(r.how for r in results)
    print()
    print(f"files: {len(results)} ({', '.join(f'{n} {h}' for h, n in sorted(hows.items()))})")
    print(f"errors reported by both:   {n_both}")
    print(f"only dciodvfy:             {n_them}  (of which we warn: {n_warn})")
    print(f"only us:                   {n_us}")
    print("only dciodvfy by kind:     " + ", ".join(f"{k} {n}" for k, n in cats_them.most_common()))
    print("  of which we warn:        " + ", ".join(f"{k} {n}" for k, n in cats_warn.most_common()))
    print("only us by kind:           " + ", ".join(f"{k} {n}" for k, n in cats_us.most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
