"""Sync cost: requests of a first deploy of 100 keys across every target, and of a re-run.

A generated project assigns 100 keys round-robin to the four targets (every third a
secret). ``deploycheck sync-env --mode=deploy-prod --env sandbox --yes`` runs as a
subprocess against a sandbox reset to its seed, with a fresh state dir; then it runs
again with nothing changed. The sandbox's request log gives reads and writes per
service and the writes per endpoint.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from tempfile import TemporaryDirectory

from benchmarks.harness import Context, Row, Section, Verdict, median, run_process, running_sandbox
from benchmarks.project import distribute, key_name, sandbox_environ, sync_argv, write_project
from benchmarks.requestlog import reads_writes, summarise, writes_by_endpoint

NAME = "sync"
TITLE = "Sync requests"
KEYS = 100


def _sync(argv: list[str], env: dict[str, str]) -> float:
    done = run_process(argv, env=env, timeout=300)
    if done.returncode != 0:
        msg = f"sync-env exited {done.returncode}: {(done.stdout + done.stderr)[-2000:]}"
        raise RuntimeError(msg)
    return done.seconds


def _verdict(ok: bool) -> Verdict:
    return "met" if ok else "missed"


def _batching_rows(writes: Counter[str], github_keys: int, github_secrets: int) -> list[Row]:
    convex = writes["POST Convex update"]
    pages = writes["PATCH Pages project"]
    bulk = writes["PATCH Worker secrets-bulk"]
    settings = writes["PATCH Worker settings"]
    worker_other = sum(n for k, n in writes.items() if "Worker" in k) - bulk - settings
    gh_secret = writes["PUT GitHub secrets"]
    gh_vars = sum(n for k, n in writes.items() if k.endswith("GitHub variables"))
    return [
        Row("first deploy: Convex", f"{convex} update", "1 update", _verdict(convex == 1)),
        Row("first deploy: Pages", f"{pages} PATCH", "1 PATCH", _verdict(pages == 1)),
        Row(
            "first deploy: Worker",
            f"{bulk} secrets-bulk + {settings} settings PATCH"
            + (f" + {worker_other} other" if worker_other else ""),
            "1 bulk + <= 1 settings PATCH",
            _verdict(bulk == 1 and settings <= 1 and worker_other == 0),
        ),
        Row(
            "first deploy: GitHub",
            f"{gh_secret + gh_vars} writes for {github_keys} keys",
            "1 per key",
            _verdict(gh_secret + gh_vars == github_keys and gh_secret == github_secrets),
            f"{gh_secret} secret PUTs, {gh_vars} variable writes",
        ),
    ]


def run(ctx: Context) -> Section:
    """Measure a first deploy and a no-change re-run, each against a freshly reset sandbox."""
    keys = 8 if ctx.smoke else KEYS
    repeats = ctx.repeats(expensive=True)
    section = Section(
        NAME,
        TITLE,
        method=(
            f"{keys} keys across the five targets (the GitHub environment and the repository); "
            f"`python -m deploycheck sync-env --mode=deploy-prod "
            f"--env sandbox --yes` as a subprocess against a sandbox reset to its seed (fresh state "
            f"dir), then the same command again with nothing changed. Requests from the sandbox log "
            f"(r = reads, w = writes); wall times are medians of {repeats} runs and include the "
            f"interpreter's start-up. Reads of a first deploy include the read-back after writing."
        ),
    )
    started = time.perf_counter()
    first_times, rerun_times = [], []
    first_counts: list[dict[str, tuple[int, int]]] = []
    with running_sandbox() as (info, admin), TemporaryDirectory(prefix="dc-bench-sync-") as tmp:
        config, per_target = write_project(Path(tmp) / "project", keys)
        # the environment's and the repository's own secrets and variables
        github_keys = sum(n for t, n in per_target.items() if t.startswith("GITHUB"))
        github_secrets = sum(
            1
            for n, t in enumerate(distribute(keys))
            if t.startswith("GITHUB") and key_name(n).endswith("_TOKEN")
        )
        env = sandbox_environ(info)
        for attempt in range(repeats):
            admin.reset()
            argv = sync_argv(ctx.python, config, Path(tmp) / f"state-{attempt}")
            first_times.append(_sync(argv, env))
            first = admin.requests()
            first_counts.append(reads_writes(first))
            admin.clear_requests()
            rerun_times.append(_sync(argv, env))
            rerun = admin.requests()
        writes = writes_by_endpoint(first)
        section.rows += _batching_rows(writes, github_keys, github_secrets)
        section.rows.append(Row("first deploy: requests per service", summarise(reads_writes(first))))
        section.rows.append(Row("first deploy: wall time", f"{median(first_times):.2f} s"))
        rerun_writes = sum(w for _, w in reads_writes(rerun).values())
        section.rows.append(
            Row("re-run, nothing changed: writes", str(rerun_writes), "0", _verdict(rerun_writes == 0))
        )
        section.rows.append(Row("re-run: requests per service", summarise(reads_writes(rerun))))
        section.rows.append(Row("re-run: wall time", f"{median(rerun_times):.2f} s"))
    section.notes.append(f"Keys per target: {', '.join(f'{t} {n}' for t, n in per_target.items())}.")
    by_endpoint = ", ".join(f"{k} x{n}" for k, n in sorted(writes.items()))
    section.notes.append(f"Writes by endpoint (first deploy): {by_endpoint}.")
    if any(c != first_counts[0] for c in first_counts):
        section.notes.append(f"Request counts differed between runs: {first_counts}.")
    section.seconds = time.perf_counter() - started
    return section
