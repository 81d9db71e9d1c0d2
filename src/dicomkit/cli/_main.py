"""The ``dicomkit`` command: one module per subcommand.

Each subcommand module in :data:`SUBCOMMANDS` exposes ``add_parser(subparsers) -> None`` (which
registers an ``argparse`` sub-parser and sets ``func=run`` on it) and ``run(args) -> int``.
Exit codes: 0 success, 1 the operation failed (e.g. a C-STORE was refused), 2 usage or input
error. Errors print as one line on stderr that says what to do.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from dicomkit import __version__, _lazylog
from dicomkit.errors import DicomError

#: Subcommand modules under ``dicomkit.cli``, in help order. A missing module is skipped so that
#: the command works while parts are being built.
SUBCOMMANDS = (
    "dump",
    "echo",
    "store",
    "receive",
    "find",
    "move",
    "get",
    "serve",
    "web",
    "commit",
    "worklist",
    "mpps",
    "ups",
    "event-log",
    "relevant-patient",
    "substance",
    "media",
    "display",
    "rt-verify",
    "print",
    "ian",
    "archive",
    "transcode",
    "export",
    "validate",
    "anonymize",
    "dicomdir",
    "sr",
    "build",
)

#: each subcommand's line in ``dicomkit --help``, as its module registers it: the top-level help
#: prints from here without importing the 21 modules (and numpy, asyncio ... behind them). A
#: test checks the lines against the modules; a subcommand missing here makes ``--help`` build
#: the whole parser as before.
SUMMARIES = {
    "dump": "print DICOM files as a tree",
    "echo": "C-ECHO a DICOM peer (verification)",
    "store": "send DICOM files to a storage SCP (C-STORE)",
    "receive": "run a storage SCP (C-STORE) writing files to a folder",
    "find": "query a Q/R SCP (C-FIND)",
    "move": "ask a Q/R SCP to send instances to an AE (C-MOVE)",
    "get": "retrieve instances from a Q/R SCP over the same association (C-GET)",
    "serve": "run the archive node: store, index, query and retrieve",
    "web": "DICOMweb client: find (QIDO-RS), get (WADO-RS), store (STOW-RS), ups (UPS-RS)",
    "commit": "ask a peer to commit to keeping instances (storage commitment)",
    "worklist": "query a modality worklist, or add/list/remove items of an archive's worklist",
    "mpps": "create / update / complete a modality performed procedure step (MPPS)",
    "ups": "push, find, claim, complete and watch unified procedure steps (UPS workitems)",
    "event-log": "send procedural events to a log keeper, or list the events a node keeps",
    "relevant-patient": "ask for a patient's relevant information (history, risk factors) as "
    "SR content",
    "substance": "ask what a product package is, or whether a patient may receive it",
    "media": "ask a media creation SCP to burn instances to a File-set (CD/DVD image)",
    "display": "read a display system's description and QA results (N-GET)",
    "rt-verify": "ask a machine parameter verifier to check a beam before treatment "
    "(RT machine verification)",
    "print": "print images on a DICOM printer (basic grayscale / color print management)",
    "ian": "send instance availability notifications, or list those an archive received",
    "archive": "check, verify, back up, prune or delete from an archive folder; patient merge",
    "transcode": "change the transfer syntax of files (compress / decompress)",
    "export": "write one frame as a windowed 8-bit PNG",
    "validate": "check files against their IOD (like dciodvfy)",
    "anonymize": "de-identify files (PS3.15 Annex E basic profile and options)",
    "dicomdir": "create, extend or list a DICOMDIR (File-set)",
    "sr": "Structured Reports: dump, html, xml, validate, dose, build",
    "build": "build Secondary Capture, Segmentation or presentation state instances",
}


def build_parser(only: str | None = None, *, summary: bool = False) -> argparse.ArgumentParser:
    """The whole command line; with ``only``, just that subcommand's parser is registered
    (what :func:`main` does when the command names one: the others' modules, and what they
    import, are not loaded -- ``dicomkit echo`` starts faster). ``summary``: the subcommands
    as names and :data:`SUMMARIES` lines only, no module imported (``dicomkit --help``)."""
    parser = argparse.ArgumentParser(
        prog="dicomkit", description="dicomkit: read, write, send, receive and serve DICOM."
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"dicomkit {__version__} (Python {sys.version.split()[0]})",
    )
    _add_logging_options(parser, "verbose")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    if summary and all(name in SUMMARIES for name in SUBCOMMANDS):
        for name in SUBCOMMANDS:
            sub.add_parser(name, help=SUMMARIES[name])
        return parser
    for name in SUBCOMMANDS if only is None else (only,):
        try:
            module = importlib.import_module(f"dicomkit.cli._{name.replace('-', '_')}")
        except ModuleNotFoundError as exc:
            if exc.name == f"dicomkit.cli._{name.replace('-', '_')}":
                continue
            raise
        module.add_parser(sub)
    for subparser in sub.choices.values():  # -v and --log-file after the subcommand too
        _add_logging_options(subparser, "verbose_after", suppress=True)
    return parser


def _add_logging_options(
    parser: argparse.ArgumentParser, dest: str, *, suppress: bool = False
) -> None:
    group = parser.add_argument_group("logging")
    group.add_argument(
        "-v",
        "--verbose",
        dest=dest,
        action="count",
        default=0,
        help="-v: what the command does, with each association and DIMSE message; "
        "-vv: also every data set sent and received",
    )
    group.add_argument(
        "--log-file",
        dest=f"{dest}_log_file",
        metavar="PATH",
        default=None if not suppress else argparse.SUPPRESS,
        help="append the log there instead of stderr",
    )


_HANDLER_NAME = "dicomkit-cli"

#: subcommands whose modules log only through :class:`dicomkit._lazylog.LazyLogger`: without
#: -v or --log-file, ``logging`` is imported (and configured) only when one of them logs
#: (tests/cli/test_startup.py checks that a run does not load it)
LAZY_LOGGING = frozenset({"echo", "store"})


def configure_logging(verbose: int, log_file: str | None) -> None:
    """WARNING by default; -v INFO, -vv DEBUG for dicomkit's loggers (the protocol view:
    ``dicomkit.net.pdu`` associations, ``dicomkit.net.dimse`` messages and their data sets)."""
    import logging

    _lazylog.defer_configuration(None)
    level = logging.WARNING - 10 * min(verbose, 2)
    handler: logging.Handler = (
        logging.FileHandler(log_file, encoding="utf-8") if log_file else logging.StreamHandler()
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)  # main() run again in one process (tests, scripts): one handler
        old.close()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)  # other libraries (asyncio ...) stay quiet at -vv
    for name in ("dicomkit.net.pdu", "dicomkit.net.dimse"):
        logging.getLogger(name).setLevel(logging.NOTSET)  # what a previous run (serve) set
    logging.getLogger("dicomkit").setLevel(level if verbose else logging.NOTSET)


def _subcommand(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names, when it is a known one (options before it skipped)."""
    it = iter(argv)
    for arg in it:
        if arg == "--log-file":
            next(it, None)
        elif not arg.startswith("-"):
            return arg if arg in SUBCOMMANDS else None
        elif arg in ("-h", "--help", "--version"):
            return None
    return None


def error_text(exc: BaseException, args: argparse.Namespace) -> str:
    """An error's message as a command says it: API advice ("use force=True") becomes the
    command's option ("use --force") when the command has it."""
    text = str(exc)
    if "force=True" in text and hasattr(args, "force"):
        text = text.replace("force=True", "--force")
    return text


#: subcommands that end the process with ``os._exit`` once their output is flushed, when
#: :func:`main` is the process's entry (no ``argv`` given: the console script, ``python -m
#: dicomkit``): the interpreter's teardown of every module it loaded (~8 ms, a tenth of a
#: one-shot echo) is skipped. They leave no thread, temporary file or atexit work behind; a
#: log file is flushed with each record.
QUICK_EXIT = frozenset({"echo", "store"})


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); the exit status."""
    if argv is not None:
        return _main(list(argv))
    argv = sys.argv[1:]
    code = _main(argv)
    if _subcommand(argv) in QUICK_EXIT:
        quick_exit(code)
    return code


def quick_exit(code: int) -> NoReturn:
    """End the process now with ``code``: stdout and stderr flushed, no module teardown."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe, a closed stream
            stream.flush()
    os._exit(code)


def _main(argv: list[str]) -> int:
    only = _subcommand(argv)
    # no subcommand named (--help, --version, nothing): the summary parser answers those; an
    # unknown word or a bad option gets the same usage error from it
    parser = build_parser(only, summary=only is None)
    args = parser.parse_args(argv)
    args.verbose = args.verbose + getattr(args, "verbose_after", 0)
    log_file = getattr(args, "verbose_after_log_file", None) or args.verbose_log_file
    try:
        if (
            only in LAZY_LOGGING
            and not args.verbose
            and not log_file
            and "logging" not in sys.modules
        ):
            _lazylog.defer_configuration(lambda: configure_logging(0, None))
        else:
            configure_logging(args.verbose, log_file)
    except OSError as exc:
        parser.error(f"--log-file {log_file}: {exc.strerror or exc}")
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except DicomError as exc:
        print(f"dicomkit {args.command}: {error_text(exc, args)}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"dicomkit {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
