"""``dicomkit dicomdir create DIR -o OUT`` / ``add FILESET DIR`` / ``list DICOMDIR``: File-sets.

``create`` makes a File-set (PS3.10) in OUT: the instances under DIR copied under conformant
File IDs, converted to a transfer syntax of the application profile (PS3.11, ``--profile``)
or refused with the reason, and their DICOMDIR -- what DCMTK's dcmmkdir makes of files that
already conform. ``add`` adds the instances under DIR to an existing File-set (dcmmkdir +A).
``list`` prints the record tree: PATIENT, STUDY, SERIES and the records that reference files,
with the referenced path (``[missing]`` when it is not there); ``--check`` also compares each
file's File Meta with its record and exits 1 on any problem. Exit codes: 0 success, 1 problems
found (files refused, nothing to add, a failed check), 2 usage or input error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from dicomkit.dictionary import tags
from dicomkit.errors import DicomError

_CREATE_EPILOG = """\
The File-set goes to OUT: every instance is copied there as DICOM/PATnnnnn/STUnnnnn/
SERnnnnn/IMGnnnnn and converted to a transfer syntax the profile allows (implicit VR and big
endian files become Explicit VR Little Endian; compressed files are decompressed, or refused
with the reason when no codec is installed). The originals are never changed. Without -o the
DICOMDIR is written into DIR itself, only when every file there already conforms.

profiles (PS3.11; DCMTK's dcmmkdir option in brackets):
  STD-GEN-CD, STD-GEN-DVD-RAM   Explicit VR Little Endian only (the default) [-Pgp]
  STD-GEN-DVD-JPEG, -BD-JPEG, -USB-JPEG
                                also JPEG Baseline, Extended, Lossless SV1 [-Pdv -Pbd -Pfl]
  STD-GEN-DVD-J2K, -BD-J2K, -USB-J2K
                                also JPEG 2000 (lossless and lossy) [-Pd2 -Pb2 -Pf2]
--compress encodes images losslessly in the profile's compressed syntax (JPEG Lossless SV1 or
JPEG 2000 lossless), refused when no encoder is installed.

DCMTK: dcmmkdir +r +id DIR creates (it needs conformant files already); dcmmkdir -w +r +id OUT
checks a File-set against a profile without writing; dcmmkdir +A appends (dicomkit dicomdir
add). examples:
  dicomkit dicomdir create incoming -o cd --fileset-id STUDY1
  dicomkit dicomdir create incoming -o dvd --profile STD-GEN-DVD-J2K --compress
  dicomkit dicomdir add cd more-files
"""


def _profile_options(c: Any) -> None:
    c.add_argument(
        "--profile",
        "-P",
        default="STD-GEN-CD",
        metavar="PROFILE",
        help="application profile (PS3.11): STD-GEN-CD (default), STD-GEN-DVD-RAM, "
        "STD-GEN-DVD-JPEG, STD-GEN-DVD-J2K, and the -BD- / -USB- variants",
    )
    c.add_argument(
        "--compress",
        action="store_true",
        help="compress images losslessly in the profile's syntax (JPEG / J2K profiles)",
    )
    c.add_argument(
        "--keep-names",
        action="store_true",
        help="keep files' own relative paths as File IDs even when they are not "
        "conformant (the result then does not meet the profile)",
    )
    c.add_argument(
        "--allow-retired-sop",
        action="store_true",
        help="include instances of retired SOP Classes (refused by default, as dcmmkdir "
        "does without +Nrs)",
    )
    c.add_argument(
        "--undefined-lengths",
        action="store_true",
        help="write the record sequence and items with undefined length",
    )


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "dicomdir",
        help="create, extend or list a DICOMDIR (File-set)",
        description="Create a File-set with its DICOMDIR from a folder of DICOM files, add "
        "files to one, or list one as a tree.",
    )
    sub = p.add_subparsers(dest="dicomdir_command", metavar="ACTION")
    c = sub.add_parser(
        "create",
        help="make a File-set (DICOMDIR and conforming copies) of the DICOM files under DIR",
        description="Make a File-set (PS3.10) of every DICOM Part 10 file under DIR: copies\n"
        "in OUT under conformant File IDs, in a transfer syntax the profile allows,\n"
        "and their DICOMDIR.",
        epilog=_CREATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("folder", metavar="DIR", help="folder holding the DICOM files")
    c.add_argument(
        "--output",
        "-o",
        metavar="OUT",
        help="write the File-set to OUT (created; must not hold a DICOMDIR yet)",
    )
    c.add_argument(
        "--fileset-id",
        "-F",
        default="",
        metavar="ID",
        help="File-set ID (up to 16 of A-Z 0-9 _; default none)",
    )
    c.add_argument(
        "--descriptor", metavar="FILE", help="File-set descriptor file (inside the File-set)"
    )
    c.add_argument(
        "--descriptor-charset",
        metavar="CS",
        help="character set of the descriptor file, e.g. ISO_IR 100",
    )
    _profile_options(c)
    c.set_defaults(func=run)
    a = sub.add_parser(
        "add",
        help="add the DICOM files under DIR to an existing File-set (as dcmmkdir +A)",
        description="Copy the DICOM files under DIR into the File-set FILESET (converted as "
        "its profile needs) and add their records to its DICOMDIR; instances it already "
        "lists are skipped.",
        epilog="example: dicomkit dicomdir add cd more-files",
    )
    a.add_argument("fileset", metavar="FILESET", help="the File-set folder (holding DICOMDIR)")
    a.add_argument("folder", metavar="DIR", help="folder holding the DICOM files to add")
    _profile_options(a)
    a.set_defaults(func=run)
    ls = sub.add_parser(
        "list",
        help="print the records of a DICOMDIR as a tree",
        description="Print a DICOMDIR's records as a tree.",
    )
    ls.add_argument("dicomdir", metavar="DICOMDIR", help="the DICOMDIR file (or its folder)")
    ls.add_argument("--uids", action="store_true", help="show study, series and SOP UIDs")
    ls.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when a referenced file is missing or is not the instance "
        "its record names, or a link is broken",
    )
    ls.add_argument(
        "--profile",
        "-P",
        metavar="PROFILE",
        help="with --check: also check every File ID and each file's transfer syntax "
        "against the application profile, e.g. STD-GEN-CD (as dcmmkdir -w does)",
    )
    ls.set_defaults(func=run)
    p.set_defaults(func=run, dicomdir_parser=p)


def run(args: argparse.Namespace) -> int:
    action = getattr(args, "dicomdir_command", None)
    if action in ("create", "add"):
        return _create(args, sys.stdout)
    if action == "list":
        return _list(args, sys.stdout)
    parser = getattr(args, "dicomdir_parser", None)
    if parser is not None:
        parser.print_help(sys.stderr)
    return 2


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _create(args: argparse.Namespace, out: TextIO) -> int:
    from dicomkit.media._fileset import create_dicomdir

    folder = Path(args.folder)
    if not folder.is_dir():
        print(
            f"dicomkit dicomdir: {folder} is not a folder: give the folder holding the DICOM files",
            file=sys.stderr,
        )
        return 2
    update = args.dicomdir_command == "add"
    try:
        result = create_dicomdir(
            folder,
            fileset_id=getattr(args, "fileset_id", ""),
            output=args.fileset if update else args.output,
            keep_names=args.keep_names,
            descriptor=getattr(args, "descriptor", None),
            descriptor_charset=getattr(args, "descriptor_charset", None),
            undefined_lengths=args.undefined_lengths,
            profile=args.profile,
            compress=args.compress,
            update=update,
            allow_retired=args.allow_retired_sop,
        )
    except (DicomError, OSError) as exc:
        print(f"dicomkit dicomdir: {_one_line(exc)}", file=sys.stderr)
        return 2
    counts = result.counts
    leaves = len(result.instances)
    already = f"{result.existing} already there, " if update else ""
    out.write(
        f"wrote {result.dicomdir} ({result.profile}): {counts.get('PATIENT', 0)} patient(s), "
        f"{counts.get('STUDY', 0)} study(ies), {counts.get('SERIES', 0)} series; "
        f"{already}{leaves} instance(s) added: {len(result.copied)} copied, "
        f"{len(result.converted)} converted, {len(result.refused)} refused, "
        f"{len(result.skipped)} skipped\n"
    )
    for src, dest, ts in result.converted:
        print(f"dicomkit dicomdir: converted {src} -> {dest} ({ts})", file=sys.stderr)
    for path, reason in result.skipped:
        print(f"dicomkit dicomdir: skipped {path}: {reason}", file=sys.stderr)
    for path, reason in result.refused:
        print(f"dicomkit dicomdir: refused {path}: {reason}", file=sys.stderr)
    if result.refused:
        return 1
    return 0 if leaves or (update and result.existing) else 1


def _text(rec: Any, keyword: str) -> str:
    v = rec.get(keyword)
    if v is None:
        return ""
    if isinstance(v, list):
        return "\\".join(str(x) for x in v)
    return str(v).strip()


def describe(rec: Any, *, uids: bool = False, root: Path | None = None) -> str:
    """One line for a record: its type and the keys a person looks for."""
    rtype = rec.record_type or "?"
    parts = [rtype]
    if rtype == "PATIENT":
        parts += [_text(rec, "PatientName") or "(no name)", f"[{_text(rec, 'PatientID')}]"]
    elif rtype == "STUDY":
        parts += [_text(rec, "StudyDate"), _text(rec, "StudyTime")]
        if _text(rec, "StudyDescription"):
            parts.append(repr(_text(rec, "StudyDescription")))
        parts.append(f"[ID {_text(rec, 'StudyID')}]")
        if uids:
            parts.append(_text(rec, "StudyInstanceUID"))
    elif rtype == "SERIES":
        parts += [_text(rec, "Modality"), f"#{_text(rec, 'SeriesNumber')}"]
        if _text(rec, "SeriesDescription"):
            parts.append(repr(_text(rec, "SeriesDescription")))
        if uids:
            parts.append(_text(rec, "SeriesInstanceUID"))
    else:
        number = _text(rec, "InstanceNumber")
        if number:
            parts.append(f"#{number}")
        label = _text(rec, "ContentLabel") or _text(rec, "DocumentTitle")
        if label:
            parts.append(repr(label))
    fid = rec.file_id
    if fid is not None:
        parts.append("/".join(fid))
        if rec.path is None:
            parts.append("[missing]")
        if uids:
            parts.append(rec.sop_instance_uid or "")
    if not rec.in_use:
        parts.append("[inactive]")
    return "  ".join(p for p in parts if p)


def _list(args: argparse.Namespace, out: TextIO) -> int:
    from dicomkit.media._dicomdir import read_dicomdir
    from dicomkit.media._profiles import get_profile

    try:
        profile = get_profile(args.profile) if args.profile else None
    except DicomError as exc:
        print(f"dicomkit dicomdir: {_one_line(exc)}", file=sys.stderr)
        return 2
    path = Path(args.dicomdir)
    if path.is_dir():
        path = path / "DICOMDIR"
    try:
        dd = read_dicomdir(path, lenient=True)  # show what can be shown; --check judges
    except (DicomError, OSError) as exc:
        print(f"dicomkit dicomdir: {path}: {_one_line(exc)}", file=sys.stderr)
        return 2
    instances = dd.instances()
    missing = [r for r in instances if r.path is None]
    out.write(
        f"File-set {dd.fileset_id or '(no ID)'}: {len(dd.records)} record(s), "
        f"{len(instances)} referenced file(s)\n"
    )
    out.writelines("  " * depth + describe(rec, uids=args.uids) + "\n" for depth, rec in dd.walk())
    if dd.orphans:
        out.write(f"# {len(dd.orphans)} record(s) not linked from the root:\n")
        out.writelines(
            f"#   offset {rec.offset}: {describe(rec, uids=args.uids)}\n" for rec in dd.orphans
        )
    for msg in dd.problems:
        print(f"dicomkit dicomdir: {path}: {msg}", file=sys.stderr)
    for msg in dd.inferred:  # the records carry no offsets: the tree was inferred
        print(f"dicomkit dicomdir: {path}: note: {msg}", file=sys.stderr)
    if missing:
        print(
            f"dicomkit dicomdir: {len(missing)} referenced file(s) missing under {dd.root}",
            file=sys.stderr,
        )
    mismatched = _mismatches(instances, profile) if args.check else []
    for msg in mismatched:
        print(f"dicomkit dicomdir: {msg}", file=sys.stderr)
    if args.check and (missing or dd.problems or dd.orphans or mismatched or dd.inferred):
        return 1
    return 0


def _mismatches(instances: list[Any], profile: Any = None) -> list[str]:
    """Records whose referenced file says otherwise: SOP Class / Instance and Transfer Syntax
    in the file's File Meta against (0004,1510)-(0004,1512) of the record (PS3.3 F.5); with
    a ``profile``, File IDs and transfer syntaxes it does not allow (PS3.11)."""
    from dicomkit.io._part10 import read_file_meta
    from dicomkit.media._fileset import is_conformant_file_id

    out = []
    for rec in instances:
        if profile is not None and not is_conformant_file_id(rec.file_id):
            out.append(f"{'/'.join(rec.file_id)}: not a File ID {profile.name} allows")
        if rec.path is None:
            continue
        try:
            with open(rec.path, "rb") as fp:
                meta, _ = read_file_meta(fp.read(64 * 1024))
        except (DicomError, OSError) as exc:
            out.append(f"{rec.path}: {_one_line(exc)}")
            continue
        for tag, name, have in (
            (tags.MediaStorageSOPClassUID, "SOP Class UID", rec.sop_class_uid),
            (tags.MediaStorageSOPInstanceUID, "SOP Instance UID", rec.sop_instance_uid),
            (tags.TransferSyntaxUID, "Transfer Syntax UID", rec.transfer_syntax_uid),
        ):
            want = str(meta.get(tag) or "").strip("\x00 ")
            if have and want and want != have:
                out.append(f"{rec.path}: {name} is {want}, the DICOMDIR says {have}")
        ts = str(meta.get(tags.TransferSyntaxUID) or "").strip("\x00 ")
        if profile is not None and ts not in profile.syntaxes:
            out.append(
                f"{rec.path}: transfer syntax {ts or '(none)'} is not allowed by {profile.name}"
            )
    return out
