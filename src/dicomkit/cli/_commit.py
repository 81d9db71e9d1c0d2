"""``dicomkit commit HOST PORT FILES... | --study UID``: Storage Commitment Push (PS3.4 J) SCU.

Asks the SCP to commit the instances of ``FILES`` (their SOP Class / Instance UIDs are read
from the files) or of a study (found with a Study Root C-FIND at IMAGE level on the same
peer), then waits for the report: on the requesting association while it stays open, or on
a new association the SCP opens to us -- we listen on ``--port`` for it (the SCP must know
our AE title's address: ``[peers.AET]`` of ``dicomkit serve``). Prints one line per
instance, ``committed`` or ``failed (reason)``; exits 0 when all were committed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from dicomkit.cli._echo import add_network_options, config_from_args, listen_port, port_number


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "commit",
        help="ask a peer to commit to keeping instances (storage commitment)",
        description="Storage Commitment Push SCU: request commitment for FILES or a study and "
        "wait for the report (on the association, or on a new one to --port).",
    )
    p.add_argument("host")
    p.add_argument("port", type=port_number)
    p.add_argument("files", nargs="*", type=Path, metavar="FILE", help="DICOM files (or folders)")
    p.add_argument("--study", metavar="UID", help="commit every instance of this study")
    p.add_argument(
        "--listen",
        "--port",
        dest="listen",
        type=listen_port,
        metavar="PORT",
        help="listen here for a report the SCP sends on a new association",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="S",
        help="how long to wait for the report (default %(default)s s)",
    )
    add_network_options(p)
    p.set_defaults(func=run)
    intermixed(p)  # FILES may follow options: commit HOST PORT --aec X FILE...


def intermixed(parser: argparse.ArgumentParser) -> None:
    """Let a subcommand's parser take options and positionals in any order (a positional
    with ``nargs="*"`` / ``"+"`` would otherwise stop at the first option)."""
    parser.__class__ = _Intermixed


class _Intermixed(argparse.ArgumentParser):
    """An argument parser whose positionals may come after options."""

    _inner = False

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        if self._inner:
            return super().parse_known_args(args, namespace)
        self._inner = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._inner = False


def _files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.is_file()))
        else:
            out.append(p)
    return out


def references_of_files(paths: list[Path]) -> list[tuple[str, str]]:
    """(SOP Class UID, SOP Instance UID) of each file; a file that is not DICOM raises
    :class:`~dicomkit.errors.DicomError` naming it."""
    from dicomkit import read
    from dicomkit.errors import DicomError, InvalidDicomError

    refs = []
    for path in _files(paths):
        try:
            ds = read(path, stop_before_pixels=True)
        except OSError as exc:
            raise DicomError(f"cannot read {path}: {exc.strerror or exc}") from exc
        sop_class, sop_uid = str(ds.get("SOPClassUID") or ""), str(ds.get("SOPInstanceUID") or "")
        if not sop_class or not sop_uid:
            raise InvalidDicomError(f"{path}: no SOP Class UID / SOP Instance UID: not an instance")
        refs.append((sop_class, sop_uid))
    return refs


async def _study_references(assoc: Any, study: str) -> list[tuple[str, str]]:
    """The instances of a study, by hierarchical Study Root C-FINDs: its series, then each
    series' instances."""
    from dicomkit.core._dataset import Dataset
    from dicomkit.services import _query_retrieve as qr

    query = Dataset()
    query.QueryRetrieveLevel = "SERIES"
    query.StudyInstanceUID = study
    query.SeriesInstanceUID = ""
    series = [
        str(ds.get("SeriesInstanceUID") or "")
        async for ds in qr.find(assoc, query, qr.Model.STUDY_ROOT)
    ]
    refs: list[tuple[str, str]] = []
    for uid in series:
        query = Dataset()
        query.QueryRetrieveLevel = "IMAGE"
        query.StudyInstanceUID = study
        query.SeriesInstanceUID = uid
        query.SOPClassUID = ""
        query.SOPInstanceUID = ""
        refs += [
            (str(ds.get("SOPClassUID") or ""), str(ds.get("SOPInstanceUID") or ""))
            async for ds in qr.find(assoc, query, qr.Model.STUDY_ROOT)
        ]
    return refs


def run(args: argparse.Namespace) -> int:
    if bool(args.files) == bool(args.study):
        print("dicomkit commit: give FILES or --study UID (one of them)", file=sys.stderr)
        return 2
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    from dicomkit.dictionary.statuses import describe
    from dicomkit.services import _query_retrieve as qr
    from dicomkit.services._commitment import (
        LISTENER_ROLES,
        STORAGE_COMMITMENT,
        CommitmentListener,
        request_commitment,
    )
    from dicomkit.services._n_common import ServiceAE

    refs = references_of_files(args.files) if args.files else []
    config = config_from_args(args)
    listener = CommitmentListener()
    ae = ServiceAE(args.aet, config=config, handlers=listener.handlers(), roles=LISTENER_ROLES)
    server = await ae.serve(args.listen, host="0.0.0.0") if args.listen is not None else None
    try:
        contexts = [STORAGE_COMMITMENT] + ([qr.FIND[qr.Model.STUDY_ROOT]] if args.study else [])
        async with ae.associate(
            args.host,
            args.port,
            contexts=contexts,
            ae_title=args.aec,
            handlers=listener.handlers(),
        ) as assoc:
            if args.study:
                refs = await _study_references(assoc, args.study)
                if not refs:
                    print(f"study {args.study}: no instances found on {args.aec}", file=sys.stderr)
                    return 1
            txn = await request_commitment(assoc, refs)
            print(f"requested commitment of {len(refs)} instance(s), transaction {txn}")
            if server is None:  # no listener: the report must come on this association
                result = await _wait(listener, txn, args.timeout)
        if server is not None:
            result = await _wait(listener, txn, args.timeout)
    finally:
        if server is not None:  # let the reporting SCP release its association first
            await server.close(grace=5.0)
    failed = {(c, i): reason for c, i, reason in result.failed}
    for sop_class, sop_uid in refs:
        reason = failed.get((sop_class, sop_uid))
        if reason is None and (sop_class, sop_uid) in result.committed:
            print(f"committed {sop_uid}")
        elif reason is not None:
            print(f"failed    {sop_uid} ({describe(reason, 'commitment')})")
        else:
            print(f"failed    {sop_uid} (not in the report)")
    ok = result.ok and len(result.committed) == len(refs)
    print(
        f"{len(result.committed)} committed, {len(refs) - len(result.committed)} failed"
        + (f" (retrieve from {result.retrieve_ae_title})" if result.retrieve_ae_title else "")
    )
    return 0 if ok else 1


async def _wait(listener: Any, txn: str, timeout: float) -> Any:
    from dicomkit.errors import DimseError

    try:
        return await listener.wait(txn, timeout)
    except TimeoutError:
        raise DimseError(
            f"no storage commitment report for {txn} within {timeout:g} s (give --port so the "
            "SCP can report on a new association, and a longer --timeout)"
        ) from None
