"""The example suite users run, against the seed's sequential bash, and the main job from cold.

Warm: one ``Sandbox(port=0)``, synced from the example table and serving this checkout's
web app (what the embedded sandbox does at start), its environment exported, so both
runners see the same platforms. In one run, alternating, ``python -m pytest --env=sandbox``
(the repository's ``checks/``, reports on) and ``benchmarks/seed_baseline.sh`` (the same
checks, each its own sequential curl, as the seed's verify-deployment.sh) are timed at 0 ms
and at L ms of latency on every service. The sandbox's request log counts each runner's
requests.

The physical floor of the suite is its start-up (``--collect-only`` at 0 ms) plus its
longest chain of dependent requests times L: the Worker log round trip (OPTIONS, then POST,
then GET) is 3 requests long, the configured integration chains and every platform read
shorter.

Cold: the main job as ``tox -e sandbox`` runs it (``python -m pytest --env=sandbox -n 2``
with no sandbox in the environment: the plugin starts one, syncs it, runs the checks and
stops it), the start-up as a user sees it (``--collect-only -q`` against ``--version``,
paired), and ``Sandbox.start()`` / ``Sandbox.stop()`` in this process.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from benchmarks.harness import (
    REPO,
    Context,
    Row,
    Section,
    median,
    ratio,
    run_process,
    running_sandbox,
    time_call,
)
from benchmarks.project import sandbox_environ

NAME = "suite"
TITLE = "The example suite and the main job"
LATENCY_MS = 300
SERVICES = ("cloudflare", "github", "convex", "pages", "worker")
#: OPTIONS -> POST -> GET of test_worker_accepts_app_logs, the longest dependent chain
CHAIN_REQUESTS = 3
TARGET_FLOOR_RATIO = 1.2
TARGET_SPEEDUP = 6.0
TARGET_STARTUP_GAP_S = 0.35
TARGET_STOP_S = 0.05
BASELINE = REPO / "benchmarks" / "seed_baseline.sh"


def _pytest(python: str, *extra: str) -> list[str]:
    # the hypothesis plugin of the test environment is absent where checks run (bench_verify.py)
    return [
        python,
        "-m",
        "pytest",
        "--env=sandbox",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:hypothesispytest",
        *extra,
    ]


def _cold_environ() -> dict[str, str]:
    """This environment without anything pointing at a sandbox: the plugin starts its own."""
    env = dict(os.environ)
    for name in list(env):
        if name.startswith(("CLOUDFLARE_", "GITHUB_", "CONVEX_", "DEPLOYCHECK_")) or name in (
            "APP_URL", "WORKER_URL", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER",
        ):  # fmt: skip
            env.pop(name)
    return env


def _prepare(info: Any, env: dict[str, str], state: Path, python: str) -> None:
    """Sync the sandbox from the example table and serve this checkout's web app."""
    from deploycheck.config import load_config
    from deploycheck.verify.checkout import deploy_checkout

    argv = [python, "-m", "deploycheck", "sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes"]
    done = run_process([*argv, "--state-dir", str(state)], cwd=REPO, env=env, timeout=300)
    if done.returncode != 0:
        msg = f"sync-env exited {done.returncode}: {(done.stdout + done.stderr)[-2000:]}"
        raise RuntimeError(msg)
    deploy_checkout(load_config(REPO / "deploycheck.yaml"), "sandbox", env)


def _timed(argv: list[str], env: dict[str, str], admin: Any, what: str) -> tuple[float, int]:
    """Run once: (seconds, requests the sandbox served); RuntimeError when the run failed."""
    admin.clear_requests()
    done = run_process(argv, cwd=REPO, env=env, timeout=600)
    if done.returncode != 0:
        msg = f"{what} exited {done.returncode}:\n{(done.stdout + done.stderr)[-3000:]}"
        raise RuntimeError(msg)
    return done.seconds, len(admin.requests())


def _warm(ctx: Context, section: Section, latencies: tuple[int, ...], repeats: int) -> None:
    with running_sandbox() as (info, admin), TemporaryDirectory(prefix="dc-bench-suite-") as tmp:
        env = sandbox_environ(info)
        env["DEPLOYCHECK_STATE_DIR"] = str(Path(tmp) / "state")
        _prepare(info, env, Path(tmp) / "state", ctx.python)
        bash_env = {**env, "SOT": str(REPO / "fixtures" / "example" / "app.env")}
        startups = [
            _timed(_pytest(ctx.python, "--collect-only", "-q"), env, admin, "collect")[0]
            for _ in range(repeats)
        ]
        collect_requests = _timed(_pytest(ctx.python, "--collect-only", "-q"), env, admin, "collect")[1]
        startup = median(startups)
        section.rows.append(
            Row("`--collect-only`: requests", str(collect_requests), "0",
                "met" if collect_requests == 0 else "missed",
                f"start-up (collect-only, 0 ms) {startup:.2f} s, the floor's first term"),
        )  # fmt: skip
        for latency in latencies:
            admin.clear_faults()
            for service in SERVICES:
                if latency:
                    admin.fault(service=service, latency_ms=latency)
            suite, bash, spread = [], [], []
            suite_requests = bash_requests = spread_requests = 0
            for _ in range(repeats):  # alternating, so a change of load lands on both
                seconds, suite_requests = _timed(
                    _pytest(ctx.python, "-q"), env, admin, "pytest --env=sandbox"
                )
                suite.append(seconds)
                seconds, bash_requests = _timed(["bash", str(BASELINE)], bash_env, admin, "seed_baseline.sh")
                bash.append(seconds)
                if not ctx.smoke:
                    seconds, spread_requests = _timed(
                        _pytest(ctx.python, "-q", "-n", "2"), env, admin, "pytest --env=sandbox -n 2"
                    )
                    spread.append(seconds)
            s, b = median(suite), median(bash)
            floor = startup + CHAIN_REQUESTS * latency / 1000
            speedup = ratio(b, s)
            label = f"{latency} ms on every service"
            section.rows.append(
                Row(f"{label}: deploycheck / seed bash", f"{s:.2f} s / {b:.2f} s", "", "info",
                    f"requests {suite_requests} / {bash_requests}"),
            )  # fmt: skip
            if spread:
                section.rows.append(
                    Row(f"{label}: `-n 2` (two xdist workers)", f"{median(spread):.2f} s", "", "info",
                        f"requests {spread_requests}: each worker reads what its checks need, for itself"),
                )  # fmt: skip
            if latency:
                section.rows.append(
                    Row(f"{label}: bash / deploycheck", f"{speedup:.1f}x", f">= {TARGET_SPEEDUP:g}x",
                        "met" if speedup >= TARGET_SPEEDUP else "missed", "same sandbox, same run"),
                )  # fmt: skip
                floor_ratio = ratio(s, floor)
                section.rows.append(
                    Row(f"{label}: deploycheck / physical floor", f"{floor_ratio:.2f}x",
                        f"<= {TARGET_FLOOR_RATIO:g}x",
                        "met" if floor_ratio <= TARGET_FLOOR_RATIO else "missed",
                        f"floor {floor:.2f} s = start-up {startup:.2f} s + {CHAIN_REQUESTS} x {latency} ms"),
                )  # fmt: skip
            else:
                section.rows.append(
                    Row(f"{label}: bash / deploycheck", f"{speedup:.2f}x", "", "info",
                        f"deploycheck minus start-up {s - startup:.2f} s"),
                )  # fmt: skip
        admin.clear_faults()


def _cold(ctx: Context, section: Section, repeats: int, *, workers: bool = True) -> None:
    env = _cold_environ()
    jobs, versions, collects = [], [], []
    for _ in range(repeats):
        argv = _pytest(ctx.python, *(("-n", "2") if workers else ()), "-q")
        done = run_process(argv, cwd=REPO, env=env, timeout=600)
        if done.returncode != 0:
            msg = f"{' '.join(argv[1:])} exited {done.returncode}:\n{(done.stdout + done.stderr)[-3000:]}"
            raise RuntimeError(msg)
        jobs.append(done.seconds)
        versions.append(run_process([ctx.python, "-m", "pytest", "--version"], cwd=REPO, env=env).seconds)
        collects.append(run_process(_pytest(ctx.python, "--collect-only", "-q"), cwd=REPO, env=env).seconds)
    section.rows.append(
        Row(f"main job from cold (`pytest --env=sandbox{' -n 2' if workers else ''}`)",
            f"{median(jobs):.2f} s", "", "info", "embedded sandbox start, sync, every check, stop"),
    )  # fmt: skip
    gap = median([c - v for c, v in zip(collects, versions, strict=True)])
    section.rows.append(
        Row("start-up: `--collect-only -q` minus `pytest --version`", f"{gap:.2f} s",
            f"<= {TARGET_STARTUP_GAP_S} s",
            "met" if gap <= TARGET_STARTUP_GAP_S else "missed",
            f"paired medians: collect-only {median(collects):.2f} s, --version {median(versions):.2f} s; "
            "no sandbox in the environment, as a user runs it"),
    )  # fmt: skip


def _sandbox_lifecycle(section: Section, repeats: int) -> None:
    from deploycheck.sandbox import Sandbox

    starts, stops = [], []
    for _ in range(repeats):
        sandbox = Sandbox(port=0)
        starts += time_call(sandbox.start, 1)
        stops += time_call(sandbox.stop, 1)
    stop = median(stops)
    section.rows.append(
        Row("`Sandbox.stop()`", f"{stop * 1000:.1f} ms", f"< {TARGET_STOP_S * 1000:.0f} ms",
            "met" if stop < TARGET_STOP_S else "missed",
            f"start {median(starts) * 1000:.0f} ms (six servers, seeded)"),
    )  # fmt: skip


def run(ctx: Context) -> Section:
    """Measure the warm suite against the bash baseline, then the cold main job and the sandbox's stop."""
    # smoke: one warm run without latency, one cold run without xdist; proves the paths, measures nothing
    latencies = (0,) if ctx.smoke else (0, LATENCY_MS)
    repeats = ctx.repeats(expensive=True)
    section = Section(
        NAME,
        TITLE,
        method=(
            f"Warm: one sandbox synced from the example table and serving this checkout's web app; "
            f"`python -m pytest --env=sandbox -q` (the repository's `checks/`, reports on) and "
            f"`benchmarks/seed_baseline.sh` (the same checks, one sequential curl each, the seed's style) "
            f"run alternately (then `-n 2`, two xdist workers), {repeats} times each, "
            f"at {' and '.join(f'{x} ms' for x in latencies)} "
            f"of latency on every service; medians. Requests from the sandbox log. Physical floor: the "
            f"start-up (`--collect-only`, 0 ms) plus the longest dependent chain ({CHAIN_REQUESTS} requests: "
            f"the Worker log round trip OPTIONS, POST, GET) times the latency. Cold: `python -m pytest "
            f"--env=sandbox -n 2` with no sandbox in the environment (what `tox -e sandbox` runs: the "
            f"plugin starts, syncs and stops its own), and the start-up a user sees, `--collect-only -q` "
            f"paired with `pytest --version`; medians of {repeats}. `Sandbox.stop()`: in-process, median "
            f"of {max(repeats, 5)}."
        ),
    )
    started = time.perf_counter()
    _warm(ctx, section, latencies, repeats)
    _cold(ctx, section, repeats, workers=not ctx.smoke)
    _sandbox_lifecycle(section, max(repeats, 5))
    section.seconds = time.perf_counter() - started
    return section
