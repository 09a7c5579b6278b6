"""CLI start-up: ``deploycheck --help`` must stay fast (heavy imports deferred to ``run``).

Median wall time of ``python -m deploycheck --help`` and of the console script, as
subprocesses, against the bare interpreter's start-up; ``python -X importtime`` names
the slowest imports.
"""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.harness import Context, Row, Section, importtime_top, median, run_process, time_process

NAME = "startup"
TITLE = "CLI start-up"
#: issue 21: `deploycheck --help` under 0.1 s (rollback's per-platform parsers built only when named)
TARGET_S = 0.1
RUNS = 10


def _console_script(python: str) -> Path | None:
    script = Path(python).parent / "deploycheck"
    return script if script.is_file() else None


def _importtime(python: str) -> str:
    done = run_process([python, "-X", "importtime", "-m", "deploycheck", "--help"], timeout=60)
    rows = importtime_top(done.stderr, 8)
    return "\n".join(
        f"{cumulative / 1000:8.1f} ms  {'  ' * depth}{module}" for _, cumulative, depth, module in rows
    )


def run(ctx: Context) -> Section:
    """Time ``--help`` as a module and as the console script; list the slowest imports."""
    runs = 1 if ctx.smoke else (5 if ctx.quick else RUNS)
    section = Section(
        NAME,
        TITLE,
        method=(
            f"Median of {runs} subprocess runs each (after one unmeasured warm-up run) of "
            f"`python -m deploycheck --help` and the `deploycheck` console script; `python -c pass` "
            f"is the interpreter's own start-up. Imports by `python -X importtime -m deploycheck --help`."
        ),
    )
    started = time.perf_counter()
    bare = median(time_process([ctx.python, "-c", "pass"], runs))
    commands = {"python -m deploycheck --help": [ctx.python, "-m", "deploycheck", "--help"]}
    script = _console_script(ctx.python)
    if script is not None:
        commands["deploycheck --help"] = [str(script), "--help"]
    missed = False
    for label, argv in commands.items():
        time_process(argv, 1)
        seconds = median(time_process(argv, runs))
        ok = seconds < TARGET_S
        missed = missed or not ok
        section.rows.append(
            Row(
                label,
                f"{seconds:.3f} s",
                f"< {TARGET_S} s",
                "met" if ok else "missed",
                f"interpreter alone {bare:.3f} s",
            )
        )
    imports = _importtime(ctx.python)
    heading = "Slowest imports of `deploycheck --help` (cumulative)"
    if missed:
        section.details.append((heading + ": why the target was missed", imports))
    else:
        section.details.append((heading, imports))
    section.seconds = time.perf_counter() - started
    return section
