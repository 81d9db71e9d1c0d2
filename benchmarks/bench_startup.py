#!/usr/bin/env python3
"""Start-up time: ``dicomkit echo`` vs DCMTK's ``echoscu``, end to end, as a user types them.
Issue #13 item 11 (target: ``dicomkit echo`` under 150 ms on this machine kind).

    python benchmarks/bench_startup.py              # median of --repeat runs (default 15)
    python benchmarks/bench_startup.py --repeat 31

Each workload is one process, started and waited for (wall time): the same
``/usr/bin/storescp`` on 127.0.0.1 answers both C-ECHOs (TCP_NODELAY=1 for DCMTK).
Runs alternate between the commands so that a change in machine load hits them alike. The
Python commands run with bytecode caches (as a pip install has them; kept in a temporary
PYTHONPYCACHEPREFIX), whatever PYTHONDONTWRITEBYTECODE says. The note column gives the median
CPU time (user + system), which a busy machine inflates less than wall time.

  echo            /usr/bin/echoscu 127.0.0.1 PORT    vs    dicomkit echo 127.0.0.1 PORT
  echo -S         the same dicomkit echo with ``python -S`` (no site): without what the
                  interpreter's start costs on a machine whose site-packages has a slow
                  ``.pth`` (here a sandbox's certifi hook, ~48 ms in every Python start)
  help            dicomkit --help (the summary parser: no subcommand module imported)
  python          python -c pass (and -S, no site): the interpreter's own floor, for reading
                  the others -- on a loaded machine the floor moves, the difference matters
dicomkit runs as a console script written the way pip writes it (``#!python``, import the
``[project.scripts]`` entry point of pyproject.toml, call it) for this tree's ``src`` -- not
whatever ``dicomkit`` is installed. The processes/s column of the echo rows is issue #17's
"separate echo processes" row (goal: >= 0.25x echoscu, under 100 ms a process).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import common
from common import Result

DCMTK_ENV = dict(os.environ, TCP_NODELAY="1")


def console_script(folder: str) -> str:
    """A ``dicomkit`` console script as pip writes one, for pyproject's entry point."""
    project = tomllib.loads((common.REPO / "pyproject.toml").read_text())
    module, func = project["project"]["scripts"]["dicomkit"].split(":")
    path = os.path.join(folder, "dicomkit")
    with open(path, "w") as f:
        f.write(
            f"#!{sys.executable}\n# -*- coding: utf-8 -*-\nimport re\nimport sys\n"
            f"from {module} import {func}\nif __name__ == '__main__':\n"
            "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
            f"    sys.exit({func}())\n"
        )
    os.chmod(path, 0o755)
    return path


#: CPU seconds (user + system) of each command's runs: less sensitive than wall time to a
#: machine shared with other work (a process waiting for a core is not charged)
CPU: dict[str, list[float]] = {}


def run_quiet(cmd: list[str], env: dict[str, str] | None = None, key: str = "") -> None:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err.decode()}")
    CPU.setdefault(key, []).append(usage.ru_utime + usage.ru_stime)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    common.add_common_args(ap)
    ap.set_defaults(repeat=int(os.environ.get("BENCH_REPEAT", "15")))
    args = ap.parse_args()
    for tool in ("/usr/bin/storescp", "/usr/bin/echoscu"):
        if not os.access(tool, os.X_OK):
            print(f"bench_startup: {tool} missing (apt-get install dcmtk)", file=sys.stderr)
            return 2
    port = common.free_port()
    out = tempfile.mkdtemp(prefix="bench-startup-")
    scp = subprocess.Popen(
        ["/usr/bin/storescp", "-od", out, str(port)],
        env=DCMTK_ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    dk = [console_script(out)]
    # as installed (pip compiles bytecode): the Python commands run with their .pyc files,
    # kept outside the tree; PYTHONDONTWRITEBYTECODE would compile every module on every run
    pyenv = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    pyenv["PYTHONPYCACHEPREFIX"] = os.path.join(out, "pycache")
    pyenv["PYTHONPATH"] = str(common.REPO / "src")
    try:
        common.wait_port(port, proc=scp)
        commands = {
            "echoscu": (["/usr/bin/echoscu", "127.0.0.1", str(port)], DCMTK_ENV),
            "dicomkit echo": ([*dk, "echo", "127.0.0.1", str(port)], pyenv),
            "dicomkit echo -S": (
                [sys.executable, "-S", *dk, "echo", "127.0.0.1", str(port)],
                pyenv,
            ),
            "dicomkit --help": ([*dk, "--help"], pyenv),
            "python -c pass": ([sys.executable, "-c", "pass"], pyenv),
            "python -S -c pass": ([sys.executable, "-S", "-c", "pass"], pyenv),
        }
        fns = {
            key: (lambda c=cmd, e=env, k=key: run_quiet(c, e, k))
            for key, (cmd, env) in commands.items()
        }
        timings = common.interleaved(fns, repeat=args.repeat, warmup=2)
    finally:
        scp.terminate()
        scp.wait(timeout=10)
        shutil.rmtree(out, ignore_errors=True)
    rows = [
        ("echo (one C-ECHO, process start to exit)", "dcmtk", "echoscu"),
        ("echo (one C-ECHO, process start to exit)", "dicomkit", "dicomkit echo"),
        ("echo (one C-ECHO, process start to exit)", "dicomkit -S", "dicomkit echo -S"),
        ("help (parser built, every subcommand)", "dicomkit", "dicomkit --help"),
        ("python -c pass (the interpreter's floor)", "python", "python -c pass"),
        ("python -S -c pass (no site)", "python", "python -S -c pass"),
    ]
    results = [
        Result(
            "startup",
            workload,
            impl,
            timings[key][0],
            items=1,
            runs=timings[key][1],
            note=f"CPU {statistics.median(CPU[key][-args.repeat :]) * 1000:.0f} ms",
        )
        for workload, impl, key in rows
    ]
    common.print_table(results, "dcmtk", f"start-up, median of {args.repeat}")
    print("\nspread (min-max of the runs), wall / CPU ms:")
    for *_, key in rows:
        walls, cpus = sorted(timings[key][1]), sorted(CPU[key][-args.repeat :])
        print(
            f"  {key:20s} wall {walls[0] * 1000:6.1f}-{walls[-1] * 1000:6.1f}   "
            f"CPU {cpus[0] * 1000:6.1f}-{cpus[-1] * 1000:6.1f}"
        )
    echo = timings["dicomkit echo"][0]
    echo_s = timings["dicomkit echo -S"][0]
    floor = timings["python -c pass"][0]
    floor_s = timings["python -S -c pass"][0]
    scu = timings["echoscu"][0]
    print(
        f"\ndicomkit echo {echo * 1000:.0f} ms = python start {floor * 1000:.0f} ms + "
        f"{(echo - floor) * 1000:.0f} ms of dicomkit; echoscu {scu * 1000:.0f} ms"
        f" ({echo / scu:.1f}x); target < 150 ms\n"
        f"without the site constant (python -S): {echo_s * 1000:.0f} ms = "
        f"{floor_s * 1000:.0f} ms + {(echo_s - floor_s) * 1000:.0f} ms\n"
        f"separate echo processes: {1 / echo:.1f}/s ({1 / echo_s:.1f}/s with -S) vs echoscu "
        f"{1 / scu:.1f}/s = {scu / echo:.2f}x ({scu / echo_s:.2f}x); goal >= 0.25x"
    )
    common.save_json(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
