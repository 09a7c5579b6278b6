"""Drift detection cost: requests per target as the SoT grows, and targets read concurrently.

For SoTs of 10, 100 and 1,000 generated keys (distributed round-robin, GitHub capped at
its 100-per-environment limit and Convex at 512, the rest going to the other targets),
the sandbox is reset, synced with ``sync-env --mode=deploy-prod``, and drift detection
(:func:`deploycheck.drift.run.run_drift`, what ``deploycheck drift`` and the drift
checks call) reads every target once. Requests come from each adapter's counter and the
sandbox's log. Then, with latency injected on every vendor API, the wall time of reading
all targets is compared with the sum of reading each target alone.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from benchmarks.harness import Context, Row, Section, Verdict, median, ratio, run_process, running_sandbox
from benchmarks.project import CAPS, distribute, key_name, sandbox_environ, sync_argv, write_project
from benchmarks.requestlog import endpoint, reads_writes, summarise

NAME = "drift"
TITLE = "Drift detection requests"
SIZES = (10, 100, 1000)
LATENCY_MS = 200
#: the size whose targets are read with latency, all together and one by one
CONCURRENCY_KEYS = 100
#: reading every target at once may take this much longer than the slowest target alone
CONCURRENCY_SLACK = 1.3
GITHUB_SECRETS_PER_PAGE = 100
GITHUB_VARIABLES_PER_PAGE = 30


def github_pages(keys: int, target: str = "GITHUB") -> int:
    """GitHub list requests drift needs for ``target`` with a table of ``keys`` keys (both lists)."""
    assignment = distribute(keys)
    secrets = sum(1 for n, t in enumerate(assignment) if t == target and key_name(n).endswith("_TOKEN"))
    variables = sum(1 for t in assignment if t == target) - secrets
    return max(1, math.ceil(secrets / GITHUB_SECRETS_PER_PAGE)) + max(
        1, math.ceil(variables / GITHUB_VARIABLES_PER_PAGE)
    )


def _sync(ctx: Context, config: Path, state: Path, env: dict[str, str]) -> None:
    done = run_process(sync_argv(ctx.python, config, state), env=env, timeout=600)
    if done.returncode != 0:
        msg = f"sync-env exited {done.returncode}: {(done.stdout + done.stderr)[-2000:]}"
        raise RuntimeError(msg)


def _drift(config: Path, state: Path, environ: dict[str, str], targets: list[str] | None = None) -> Any:
    from deploycheck.config import load_config
    from deploycheck.drift import run_drift

    report = run_drift(load_config(config), "sandbox", state_dir=state, environ=environ, targets=targets)
    if report.errors:
        msg = (
            f"drift could not read {[e.target for e in report.errors]}: {[e.message for e in report.errors]}"
        )
        raise RuntimeError(msg)
    return report


def _constant(per_target: dict[int, dict[str, int]], smallest: int, size: int) -> tuple[Verdict, str]:
    """Requests per target equal those of the smallest table, GitHub's extra list pages aside."""
    base, now = per_target[smallest], per_target[size]
    grown = []
    for target, count in now.items():
        github = target.startswith("GITHUB")
        extra = github_pages(size, target) - github_pages(smallest, target) if github else 0
        if count - extra != base.get(target):
            grown.append(f"{target} {base.get(target)} -> {count}")
    if grown:
        return "missed", "grew: " + ", ".join(grown)
    return "met", ""


def run(ctx: Context) -> Section:
    """Measure requests per target for each SoT size, then concurrency with latency."""
    sizes = (4, 12) if ctx.smoke else SIZES
    concurrency_keys = sizes[0] if ctx.smoke else CONCURRENCY_KEYS
    latency = 50 if ctx.smoke else LATENCY_MS
    repeats = ctx.repeats(expensive=True)
    section = Section(
        NAME,
        TITLE,
        method=(
            f"SoTs of {', '.join(str(s) for s in sizes)} generated keys, every third a secret, assigned "
            f"round-robin to five targets (the GitHub environment's and the repository's own secrets "
            f"and variables besides Pages, Convex and the Worker) but never past a platform limit "
            f"({', '.join(f'{t} {n}' for t, n in CAPS.items())} keys); keys a full target cannot take "
            f"go to the others. Each table "
            f"is synced to a freshly reset sandbox with `sync-env --mode=deploy-prod`, then "
            f"`run_drift` (what `deploycheck drift` and the drift checks call) reads every target "
            f"once. Requests per target come from each adapter's counter, per service from the "
            f"sandbox log. GitHub lists paginate ({GITHUB_SECRETS_PER_PAGE} secrets, "
            f"{GITHUB_VARIABLES_PER_PAGE} variables a page), so its count may grow by whole pages. "
            f"Concurrency: {concurrency_keys}-key table, {latency} ms latency on every vendor API, "
            f"median of {repeats} runs."
        ),
    )
    started = time.perf_counter()
    per_target: dict[int, dict[str, int]] = {}
    pages: dict[int, int] = {}
    with running_sandbox() as (info, admin), TemporaryDirectory(prefix="dc-bench-drift-") as tmp:
        env = sandbox_environ(info)
        environ = info.environ()
        projects: dict[int, tuple[Path, Path]] = {}
        for size in sizes:
            config, counts = write_project(Path(tmp) / f"sot{size}", size)
            state = Path(tmp) / f"state{size}"
            admin.reset()
            _sync(ctx, config, state, env)
            admin.clear_requests()
            report = _drift(config, state, environ)
            log = admin.requests()
            drifted = [f for f in report.results if f.is_drift]
            per_target[size] = {t.target: t.requests for t in report.targets}
            pages[size] = github_pages(size) + github_pages(size, "GITHUB_REPO")
            verdict, why = _constant(per_target, sizes[0], size)
            held = ", ".join(f"{t} {counts[t]}" for t in per_target[size])
            requests = ", ".join(f"{t} {n}" for t, n in per_target[size].items())
            note = f"keys per target: {held}; GitHub list pages: {pages[size]}"
            if drifted:
                note += f"; {len(drifted)} findings after sync (unexpected)"
            if why:
                note += f"; {why}"
            if size == sizes[0]:
                section.rows.append(
                    Row(f"{size} keys: requests per target", requests, "baseline", "info", note)
                )
            else:
                target = f"as for {sizes[0]} keys (GitHub: + list pages)"
                section.rows.append(Row(f"{size} keys: requests per target", requests, target, verdict, note))
            section.rows.append(Row(f"{size} keys: requests per service", summarise(reads_writes(log))))
            endpoints = Counter(f"{e['method']} {endpoint(e['service'], e['path'])}" for e in log)
            section.notes.append(
                f"{size} keys, requests by endpoint: "
                + ", ".join(f"{k} x{n}" for k, n in sorted(endpoints.items()))
            )
            projects[size] = (config, state)
        config, state = projects[concurrency_keys] if concurrency_keys in projects else projects[sizes[-1]]
        admin.reset()
        _sync(ctx, config, state, env)
        for service in ("cloudflare", "github", "convex"):
            admin.fault(service=service, latency_ms=latency)
        targets = list(per_target[sizes[0]])
        together, alone_sums, slowest = [], [], []
        per_target_s: dict[str, list[float]] = {name: [] for name in targets}
        for _ in range(repeats):
            start = time.perf_counter()
            _drift(config, state, environ)
            together.append(time.perf_counter() - start)
            alone = []
            for name in targets:
                start = time.perf_counter()
                _drift(config, state, environ, [name])
                alone.append(time.perf_counter() - start)
                per_target_s[name].append(alone[-1])
            alone_sums.append(sum(alone))
            slowest.append(max(alone))
        admin.clear_faults()
    all_s, sum_s, max_s = median(together), median(alone_sums), median(slowest)
    alone_text = ", ".join(f"{name} {median(times):.2f} s" for name, times in per_target_s.items())
    section.notes.append(
        f"Each target read alone with {latency} ms latency (medians): {alone_text}. Within a target, "
        f"independent reads go concurrently; the pages of one list follow each other (`Link: rel=next`)."
    )
    ok = all_s <= max_s * CONCURRENCY_SLACK
    section.rows.append(
        Row(
            f"all targets at once, {latency} ms latency",
            f"{all_s:.2f} s",
            f"<= {CONCURRENCY_SLACK} x slowest target ({max_s:.2f} s)",
            "met" if ok else "missed",
            f"sum of targets read one by one {sum_s:.2f} s ({ratio(sum_s, all_s):.1f}x)",
        )
    )
    section.seconds = time.perf_counter() - started
    return section
