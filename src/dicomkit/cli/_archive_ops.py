"""The lifecycle actions of ``dicomkit archive``: delete, prune, update-patient, merge-patient,
backup, rejected.

Each opens the archive folder directly and is safe while ``dicomkit serve`` runs on it: every
change is an index transaction (SQLite locks; a running node waits for it, at most a batch of
500 files) followed by file operations recorded in the index, so a crash or a concurrent
store never leaves a stale index (see :mod:`dicomkit.archive._delete`).
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

ACTIONS = ("delete", "prune", "update-patient", "merge-patient", "backup", "rejected")

_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``500``, ``20G``, ``1.5TiB``, ``750MB``: bytes (K, M, G, T are powers of 1024)."""
    m = _SIZE.fullmatch(text)
    if m is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a size: bytes, or a number with K, M, G or T (e.g. 500G)"
        )
    scale = 1024 ** " KMGT".index(m.group(2).upper() or " ")
    return int(float(m.group(1)) * scale)


def _common(a: argparse.ArgumentParser, *, config: bool = False) -> None:
    a.add_argument("archive", metavar="ARCHIVE_DIR", help="the archive folder")
    a.add_argument("--db", metavar="URL", help="index database (default: SQLite inside)")
    if config:
        a.add_argument(
            "--config",
            metavar="FILE",
            help="the node's TOML file: its [audit] trail records what this command changes",
        )


def _audit(args: argparse.Namespace) -> tuple[Any, Any]:
    """The node's audit trail from ``--config`` (None when it has no ``[audit]``), and a
    delete hook sending to it as the user running the command."""
    if not getattr(args, "config", None):
        return None, None
    import getpass

    from dicomkit.archive import _audit as au
    from dicomkit.archive import load_config
    from dicomkit.archive._audit_trail import AuditTrail
    from dicomkit.archive._delete import audit_hook

    cfg = load_config(args.config)
    settings = cfg.audit
    if settings is None or not settings.enabled:
        return None, None
    settings = settings.rotated_like(cfg.log_max_bytes, cfg.log_rotate, cfg.log_backups)
    trail = AuditTrail(
        settings, au.AuditSource(settings.source_id or cfg.ae_title, settings.site_id)
    )
    return trail, audit_hook(trail, "dicomkit-archive", user=getpass.getuser())


def add_actions(sub: Any, run: Any) -> None:
    """Register the lifecycle actions under ``dicomkit archive``."""
    a = sub.add_parser(
        "delete",
        help="delete studies, series or instances (index and files)",
        description="Delete studies, series or instances: their index rows in one "
        "transaction, then their files. Safe while the node runs.",
    )
    _common(a, config=True)
    a.add_argument("--study", action="append", default=[], metavar="UID", help="repeatable")
    a.add_argument("--series", action="append", default=[], metavar="UID", help="repeatable")
    a.add_argument(
        "--instance", action="append", default=[], metavar="UID", help="SOP Instance UID"
    )
    a.add_argument("--dry-run", action="store_true", help="list what would go; change nothing")
    a.set_defaults(func=run)

    a = sub.add_parser(
        "prune",
        help="apply retention rules: delete old studies, or the oldest over a quota",
        description="Delete studies older than N days and/or the oldest studies while the "
        "stored files exceed a quota. Rules from --config's [retention] section, or options.",
    )
    _common(a, config=True)
    a.add_argument("--max-age-days", type=float, metavar="N", help="delete studies older")
    a.add_argument(
        "--age-by",
        choices=("received", "study_date"),
        help="a study's age: when its newest instance arrived (default) or its Study Date",
    )
    a.add_argument("--max-bytes", type=parse_size, metavar="SIZE", help="quota, e.g. 500G")
    a.add_argument("--dry-run", action="store_true", help="list what would go; change nothing")
    a.set_defaults(func=run)

    a = sub.add_parser(
        "update-patient",
        help="change patient attributes of a study or of a patient's studies",
        description="Set patient-level attributes in every file of a study (or of every "
        "study of a patient) and in the index.",
    )
    _common(a, config=True)
    who = a.add_mutually_exclusive_group(required=True)
    who.add_argument("--study", metavar="UID", help="the study to change")
    who.add_argument("--patient-id", metavar="ID", help="every study of this patient")
    a.add_argument("--issuer", default="", metavar="TEXT", help="Issuer of Patient ID")
    a.add_argument(
        "--set",
        dest="changes",
        action="append",
        default=[],
        required=True,
        metavar="KEYWORD=VALUE",
        help="e.g. PatientName=DOE^JANE (repeatable)",
    )
    a.set_defaults(func=run)

    a = sub.add_parser(
        "merge-patient",
        help="move every study of one patient to another",
        description="Merge patient A into patient B: A's studies take B's patient attributes.",
    )
    _common(a, config=True)
    a.add_argument("--from", dest="source", required=True, metavar="ID", help="patient A")
    a.add_argument("--from-issuer", default="", metavar="TEXT")
    a.add_argument("--into", dest="target", required=True, metavar="ID", help="patient B")
    a.add_argument("--into-issuer", default="", metavar="TEXT")
    a.set_defaults(func=run)

    a = sub.add_parser(
        "backup",
        help="copy index and files to a new folder, while the node runs",
        description="An online backup: a snapshot of the index, then the files it lists.",
    )
    _common(a)
    a.add_argument("dest", metavar="DEST", help="a new (or empty) folder")
    a.set_defaults(func=run)

    a = sub.add_parser(
        "rejected",
        help="list, restore or purge instances hidden by IOCM rejection notes",
        description="Instances hidden by a rejection note (KOS titled from CID 7011).",
    )
    _common(a)
    a.add_argument("--study", metavar="UID", help="only this study's")
    act = a.add_mutually_exclusive_group()
    act.add_argument("--restore", nargs="+", metavar="UID", help="make these visible again")
    act.add_argument(
        "--purge", nargs="*", metavar="UID", help="delete their files for good (all if no UID)"
    )
    a.set_defaults(func=run)


def run_action(args: argparse.Namespace, archive: Any) -> int:
    """Run one lifecycle action on an open archive; the exit status."""
    trail, hook = _audit(args)
    try:
        return _run_action(args, archive, trail, hook)
    finally:
        if trail is not None:
            trail.close()


def _patient_audit(trail: Any, report: Any) -> None:
    """A patient update or merge in the audit trail: DICOM Instances Accessed, action U
    (PS3.15 A.5.3.2), the studies whose files were rewritten."""
    if trail is None:
        return
    import getpass

    from dicomkit.archive import _audit as au

    studies = [au.StudyRef(uid, report.changes.get("PatientID", "")) for uid in report.studies]
    who = au.Actor("dicomkit-archive", None, getpass.getuser())
    trail.emit(au.instances_accessed(who, studies, action="U"))


def _run_action(args: argparse.Namespace, archive: Any, trail: Any, hook: Any) -> int:
    if args.action == "delete":
        return _delete(args, archive, hook)
    if args.action == "prune":
        return _prune(args, archive, hook)
    if args.action == "update-patient":
        from dicomkit.archive._patient import update_patient

        changes = {}
        for item in args.changes:
            key, sep, value = item.partition("=")
            if not sep:
                print(
                    f"dicomkit archive update-patient: --set {item!r}: expected KEYWORD=VALUE",
                    file=sys.stderr,
                )
                return 2
            changes[key.strip()] = value
        report = update_patient(
            archive, changes, study=args.study, patient_id=args.patient_id, issuer=args.issuer
        )
        _patient_audit(trail, report)
        print(report.summary())
        return 0
    if args.action == "merge-patient":
        from dicomkit.archive._patient import merge_patients

        report = merge_patients(
            archive,
            args.source,
            args.target,
            source_issuer=args.from_issuer,
            target_issuer=args.into_issuer,
        )
        _patient_audit(trail, report)
        print(report.summary())
        return 0
    if args.action == "backup":
        from dicomkit.archive._backup import backup

        print(backup(archive, args.dest, db_url=args.db).summary())
        print(f"check it with: dicomkit archive check {args.dest}")
        return 0
    return _rejected(args, archive)


def _delete(args: argparse.Namespace, archive: Any, hook: Any) -> int:
    if not (args.study or args.series or args.instance):
        print(
            "dicomkit archive delete: name what to delete: --study UID, --series UID or "
            "--instance UID (each repeatable)",
            file=sys.stderr,
        )
        return 2
    report = archive.delete(
        studies=args.study, series=args.series, instances=args.instance, dry_run=args.dry_run
    )
    if hook is not None and not args.dry_run:
        hook("delete", report)
    for uid in report.not_found:
        print(f"not stored: {uid}")
    if args.dry_run:
        for uid in report.instances:
            print(f"would delete {uid}")
    print(report.summary())
    return 1 if report.not_found else 0


def _prune(args: argparse.Namespace, archive: Any, hook: Any) -> int:
    import dataclasses

    from dicomkit.archive._retention import RetentionPolicy, prune

    policy = RetentionPolicy()
    if args.config:
        from dicomkit.archive import _config as config

        section = config.load(args.config).services.get("retention", {})
        policy = RetentionPolicy(**dict(section))
    overrides = {
        k: v
        for k, v in (
            ("max_age_days", args.max_age_days),
            ("age_by", args.age_by),
            ("max_bytes", args.max_bytes),
        )
        if v is not None
    }
    policy = dataclasses.replace(policy, **overrides)
    report = prune(archive, policy, dry_run=args.dry_run, audit=hook)
    for line in report.lines():
        print(line)
    return 0


def _rejected(args: argparse.Namespace, archive: Any) -> int:
    from dicomkit.archive._delete import purge_rejected, rejected, restore_rejected

    if args.restore:
        for uid in restore_rejected(archive, args.restore):
            print(f"restored {uid}")
        return 0
    if args.purge is not None:
        n = purge_rejected(archive, args.purge or None)
        print(f"{n} hidden instance(s) deleted for good")
        return 0
    hidden = rejected(archive, study=args.study)
    for r in hidden:
        print(
            f"{r.sop_instance_uid} study {r.study_instance_uid} series "
            f"{r.series_instance_uid}: reason {r.reason}, note {r.note_uid}, at {r.rejected}"
        )
    print(f"{len(hidden)} hidden instance(s)")
    return 0
