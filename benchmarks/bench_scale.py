"""Sync and drift as the table grows: wall time and requests at 10, 100 and 1,000 keys.

For each size a generated project (:mod:`benchmarks.project`: keys round-robin over the
four targets, never past a platform's limit) runs, as subprocesses against a sandbox reset
to its seed: ``deploycheck sync-env --mode=deploy-prod`` (first deploy), the same again with
nothing changed, and ``deploycheck drift``. The sandbox log counts reads and writes per
service. Wall times include the interpreter's start-up.
"""

from __future__ import annotations

import time
from pathlib import Path
from tempfile import TemporaryDirectory

from benchmarks.harness import Context, Row, Section, median, ratio, run_process, running_sandbox
from benchmarks.project import sandbox_environ, sync_argv, write_project
from benchmarks.requestlog import reads_writes, summarise

NAME = "scale"
TITLE = "Sync and drift at 10 / 100 / 1,000 keys"
SIZES = (10, 100, 1000)


def _run(argv: list[str], env: dict[str, str], what: str) -> float:
    done = run_process(argv, env=env, timeout=600)
    if done.returncode != 0:
        msg = f"{what} exited {done.returncode}: {(done.stdout + done.stderr)[-2000:]}"
        raise RuntimeError(msg)
    return done.seconds


def _drift_argv(python: str, config: Path, state: Path) -> list[str]:
    return [
        python, "-m", "deploycheck", "drift", "--env", "sandbox",
        "--config", str(config), "--state-dir", str(state),
    ]  # fmt: skip


def run(ctx: Context) -> Section:
    """Measure first sync, re-sync and drift for each table size."""
    sizes = (4, 12) if ctx.smoke else SIZES
    repeats = ctx.repeats(expensive=True)
    section = Section(
        NAME,
        TITLE,
        method=(
            f"Tables of {', '.join(str(s) for s in sizes)} generated keys (every third a secret) over five "
            f"targets (`benchmarks/project.py`: never past a platform's limit). Per size, "
            f"{repeats} rounds against a sandbox reset to its seed with a fresh state dir: "
            f"`sync-env --mode=deploy-prod --yes` (first deploy), the same with nothing changed, then "
            f"`deploycheck drift --env sandbox`, each a "
            f"subprocess (interpreter start-up included). Medians; requests from the sandbox log "
            f"(r = reads, w = writes), which are the same in every round."
        ),
    )
    started = time.perf_counter()
    totals: dict[str, dict[int, float]] = {"first sync": {}, "re-sync": {}, "drift": {}}
    with running_sandbox() as (info, admin), TemporaryDirectory(prefix="dc-bench-scale-") as tmp:
        env = sandbox_environ(info)
        for size in sizes:
            config, per_target = write_project(Path(tmp) / f"sot{size}", size)
            times: dict[str, list[float]] = {name: [] for name in totals}
            counts: dict[str, str] = {}
            rerun_writes = 0
            for attempt in range(repeats):
                admin.reset()
                state = Path(tmp) / f"state{size}-{attempt}"
                sync = sync_argv(ctx.python, config, state)
                for name, argv in (
                    ("first sync", sync),
                    ("re-sync", sync),
                    ("drift", _drift_argv(ctx.python, config, state)),
                ):
                    admin.clear_requests()
                    times[name].append(_run(argv, env, f"{name} of {size} keys"))
                    log = reads_writes(admin.requests())
                    counts[name] = summarise(log)
                    if name == "re-sync":
                        rerun_writes = max(rerun_writes, sum(w for _, w in log.values()))
            held = ", ".join(f"{t} {n}" for t, n in per_target.items())
            for name, by_size in totals.items():
                by_size[size] = median(times[name])
                measured = f"{by_size[size]:.2f} s"
                section.rows.append(Row(f"{size} keys: {name}", measured, "", "info", counts[name]))
            section.rows.append(
                Row(f"{size} keys: re-sync writes", str(rerun_writes), "0",
                    "met" if rerun_writes == 0 else "missed", f"keys per target: {held}"),
            )  # fmt: skip
    small, large = sizes[0], sizes[-1]
    for name, by_size in totals.items():
        section.notes.append(
            f"{name}: {large} keys take {ratio(by_size[large], by_size[small]):.2f}x the time of "
            f"{small} keys ({by_size[large]:.2f} s vs {by_size[small]:.2f} s)."
        )
    section.seconds = time.perf_counter() - started
    return section
