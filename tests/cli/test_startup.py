"""What starting a command imports (a structural check, no timing): ``dicomkit echo`` and
``dicomkit --help`` never load numpy, the pixel stack, the data dictionary's element table or
the storage service; a named subcommand loads only its own module; the top-level help loads
no subcommand module at all."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import plain_part10_files

from dicomkit.net._sync import SyncAE
from dicomkit.net.proto import _dimse as dimse

HEAVY = (
    "numpy",
    "dicomkit.pixels",
    "dicomkit.dictionary._elements",
    "dicomkit.services._storage",
)


def imported(code: str) -> set[str]:
    """Every module ``code`` imports in a fresh interpreter, as ``-X importtime`` lists them."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    assert "dicomkit" in names, done.stderr[-2000:]
    return names


def test_import_of_the_echo_path_leaves_heavy_modules_alone() -> None:
    names = imported(
        "import dicomkit.cli._echo, dicomkit.net, dicomkit.services._verification\n"
        "from dicomkit.cli._main import build_parser\n"
        "build_parser()\n"
    )
    assert not [m for m in HEAVY if m in names]


def test_dicomkit_echo_run_imports_only_what_it_needs() -> None:
    with SyncAE("SCP") as ae, ae.serve(0) as server:
        names = imported(
            "from dicomkit.cli._main import main\n"
            f"assert main(['echo', '127.0.0.1', '{server.port}']) == 0\n"
        )
    assert not [m for m in HEAVY if m in names]
    # a blocking socket drives the engine; TLS and dataclasses load only when used, logging
    # when something is logged (dicomkit._lazylog), the transfer syntax table when a data set
    # is encoded or decoded
    unwanted = {"asyncio", "ssl", "dataclasses", "logging", "dicomkit.dictionary.syntaxes"}
    assert not unwanted & names, sorted(unwanted & names)
    others = {m for m in names if m.startswith("dicomkit.cli.")} - {
        "dicomkit.cli._main",
        "dicomkit.cli._echo",
    }
    assert not others  # store, find, serve ... are not imported for echo


def test_dicomkit_store_run_imports_only_what_it_needs(tmp_path: Path) -> None:
    from dicomkit.services._storage import StorageSCP

    [source] = plain_part10_files(1)
    handlers = {dimse.CStoreRequest: StorageSCP(tmp_path, fsync=False)}
    with SyncAE("SCP") as ae, ae.serve(0, handlers) as server:
        names = imported(
            "from dicomkit.cli._main import main\n"
            f"assert main(['store', '-q', '127.0.0.1', '{server.port}', {str(source)!r}]) == 0\n"
        )
    assert len(list(tmp_path.iterdir())) == 1  # it was sent
    # the blocking requestor, the file's meta scanned without the data set reader, the file
    # sent as it lies: no event loop, no dataclasses, no data dictionary, no Part 10 reader
    assert not [m for m in HEAVY if m in names]
    unwanted = {"asyncio", "ssl", "dataclasses", "dicomkit.dictionary.tags", "logging"}
    assert not unwanted & names, sorted(unwanted & names)
    assert "dicomkit.io._part10" not in names


def test_help_lists_every_subcommand() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "dicomkit", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    for name in ("dump", "echo", "store", "find", "move", "get", "serve", "transcode"):
        assert f"    {name}" in out or f" {name} " in out, name


def test_help_summaries_are_what_the_subcommand_modules_register() -> None:
    from dicomkit.cli._main import SUBCOMMANDS, SUMMARIES, build_parser

    full = build_parser()
    (action,) = [a for a in full._actions if isinstance(a, argparse._SubParsersAction)]
    registered = {choice.dest: choice.help for choice in action._choices_actions}
    stale = {
        name: (SUMMARIES.get(name), line)
        for name, line in registered.items()
        if SUMMARIES.get(name) != line
    }
    assert not stale, f"update SUMMARIES in dicomkit/cli/_main.py: {stale}"
    assert set(SUBCOMMANDS) >= set(registered)


def test_top_level_help_is_the_full_parsers_without_importing_subcommands(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from dicomkit.cli._main import build_parser, main

    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == build_parser().format_help()
    names = imported("from dicomkit.cli._main import main\nmain(['--help'])\n")
    assert not [m for m in names if m.startswith("dicomkit.cli.") and m != "dicomkit.cli._main"]
    assert "asyncio" not in names and not [m for m in HEAVY if m in names]


def test_echo_without_v_still_prints_a_warning_as_configured() -> None:
    """``logging`` loads only for the first record, with the command's configuration."""
    code = (
        "import sys\n"
        "from dicomkit.cli import _main\n"
        "from dicomkit.net import _blocking\n"
        "_main.main(['echo', '127.0.0.1', '1'])\n"  # refused: no record logged
        "assert 'logging' not in sys.modules\n"
        "_blocking.log.warning('%s: a warning', 'peer')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    last = done.stderr.splitlines()[-1]
    assert last.endswith(" WARNING dicomkit.net: peer: a warning"), done.stderr
    assert last[:4].isdigit()  # the configured format: time first


def test_every_lazy_logging_subcommand_exists() -> None:
    from dicomkit.cli._main import LAZY_LOGGING, SUBCOMMANDS

    assert set(LAZY_LOGGING) <= set(SUBCOMMANDS)


def entry_run(args: list[str]) -> subprocess.CompletedProcess[str]:
    """``main()`` as the console script calls it (``sys.argv``), with an atexit handler that
    prints "teardown" when the interpreter ends normally."""
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('teardown'))\n"
        "from dicomkit.cli._main import main\n"
        f"sys.argv = ['dicomkit', *{args!r}]\n"
        "sys.exit(main())\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


def test_echo_and_store_as_the_process_entry_end_without_teardown(tmp_path: Path) -> None:
    from dicomkit.cli._main import QUICK_EXIT

    assert set(QUICK_EXIT) == {"echo", "store"}
    with SyncAE("SCP") as ae, ae.serve(0) as server:
        done = entry_run(["echo", "-r", "3", "127.0.0.1", str(server.port)])
        refused = entry_run(["store", "-q", "127.0.0.1", str(server.port), str(tmp_path)])
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("0x0000 Success") == 3  # flushed before the process ended
    assert "teardown" not in done.stdout
    # an error's exit status and message come through the quick exit too
    assert refused.returncode == main_status(["store", "-q", "127.0.0.1", "1", str(tmp_path)])
    assert "no DICOM files to send" in refused.stderr and "teardown" not in refused.stdout
    # other commands end as usual; so does main() given its arguments (tests, scripts)
    other = entry_run(["dump", str(tmp_path / "missing.dcm")])
    assert "teardown" in other.stdout


def main_status(args: list[str]) -> int:
    from dicomkit.cli._main import main

    return main(args)
