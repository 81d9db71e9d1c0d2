"""The ``dicomkit`` command: one module per subcommand.

Each subcommand module in :data:`SUBCOMMANDS` exposes ``add_parser(subparsers) -> None`` (which
registers an ``argparse`` sub-parser and sets ``func=run`` on it) and ``run(args) -> int``.
Exit codes: 0 success, 1 the operation failed (e.g. a C-STORE was refused), 2 usage or input
error. Errors print as one line on stderr that says what to do.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

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
    "transcode",
    "export",
    "validate",
    "anonymize",
    "dicomdir",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dicomkit", description="dicomkit: read, write, send, receive and serve DICOM."
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"dicomkit.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"dicomkit.cli.{name}":
                continue
            raise
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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
        print(f"dicomkit {args.command}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"dicomkit {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
