"""Verification wall time with N checks each facing latency L, against the seed's sequential run.

A temporary project holds a deploycheck.yaml (sandbox environment) and ``checks/`` with
N real deployment checks: each GETs its own URL of the Pages site (``/?check=i``) through
the session's :class:`deploycheck.verify.state.VerificationState` (the plugin's ``dc_state``
fixture, or one built in conftest.py when the plugin has none) and asserts HTTP 200 and
the app's marker. A session fixture prefetches every collected check's URL at once, as a
developer would write it. The sandbox delays every Pages request by
L ms. ``python -m pytest`` runs as a subprocess; start-up is the same command with
``--collect-only``. Baselines: the same N fetches one after another in one process
(the seed's bash loop), and, for small N, the same pytest run with prefetch switched off.
"""

from __future__ import annotations

import importlib.util
import inspect
import time
from functools import partial
from pathlib import Path
from tempfile import TemporaryDirectory

from benchmarks.harness import (
    Context,
    Row,
    Section,
    Verdict,
    importtime_top,
    median,
    profile_process,
    ratio,
    run_process,
    running_sandbox,
    time_call,
    time_process,
)
from benchmarks.project import sandbox_environ, write_project

NAME = "verify"
TITLE = "Verification wall time"
SIZES = (10, 30, 100)
LATENCY_MS = 300
#: the pytest run without prefetch costs N x L per run: measured only up to this N
NO_PREFETCH_MAX_N = 30
TARGET_N = 30
TARGET_S = 1.5
TARGET_SPEEDUP = 5.0

CONFTEST_HEAD = '''\
"""Benchmark checks: every check's page is read once, all of them concurrently, before the first runs."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from deploycheck.verify.state import VerificationState

PREFETCH = os.environ.get("BENCH_PREFETCH", "1") == "1"


@pytest.fixture(scope="session")
def app_url(dc_settings) -> str:
    """The Pages site under verification."""
    return str(dc_settings.value("APP_URL")).rstrip("/")


def _urls(request, app_url: str) -> list[str]:
    return [app_url + i.callspec.params["path"] for i in request.session.items if hasattr(i, "callspec")]
'''

#: the session state is the plugin's ``dc_state`` fixture when the plugin has it
CONFTEST_DC_STATE = '''

@pytest.fixture(scope="session")
def state(request, dc_state, app_url) -> Iterator[VerificationState]:
    """The plugin's session state, with every collected check's page read ahead."""
    if PREFETCH:
        dc_state.prefetch([], urls=_urls(request, app_url))
    yield dc_state
'''

#: ... else one built from the plugin's config, environment and settings fixtures
CONFTEST_OWN_STATE = '''

@pytest.fixture(scope="session")
def state(request, dc_config, dc_env, dc_settings, app_url) -> Iterator[VerificationState]:
    """The session's verification state, with every collected check's page read ahead."""
    verification = VerificationState(dc_config, dc_env.name, dc_settings)
    if PREFETCH:
        verification.prefetch([], urls=_urls(request, app_url))
    yield verification
    verification.close()
'''

CHECKS = '''\
"""{n} page checks of the Pages site, one URL each."""

from __future__ import annotations

import pytest

PATHS = [f"/?check={{i}}" for i in range({n})]


@pytest.mark.platform("cloudflare-pages")
@pytest.mark.parametrize("path", PATHS)
def test_page_serves_the_app(path, state, app_url) -> None:
    """The page answers 200 with the app's marker."""
    page = state.page(app_url + path)
    assert page.is_ok, page.describe()
    assert page.contains('data-app="app.example.com"'), page.describe()
'''


def has_dc_state() -> bool:
    """Whether the installed pytest plugin provides the ``dc_state`` session fixture."""
    return importlib.util.find_spec("deploycheck.pytest_plugin.fixtures") is not None


def write_checks(folder: Path, n: int) -> Path:
    """A project in ``folder`` with ``n`` page checks; returns the folder."""
    write_project(folder, 4)
    checks = folder / "checks"
    checks.mkdir(exist_ok=True)
    conftest = CONFTEST_HEAD + (CONFTEST_DC_STATE if has_dc_state() else CONFTEST_OWN_STATE)
    (checks / "conftest.py").write_text(conftest, encoding="utf-8")
    (checks / "test_pages.py").write_text(CHECKS.format(n=n), encoding="utf-8")
    return folder


def _pytest_argv(python: str, *extra: str) -> list[str]:
    # hypothesis is a test dependency of deploycheck, absent where checks run; its plugin
    # imports all of hypothesis at session end (~0.7 s here), so it is switched off
    return [
        python, "-m", "pytest", "checks", "-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
        "--env", "sandbox", *extra,
    ]  # fmt: skip


def paired_runs(
    ctx: Context, folder: Path, env: dict[str, str], repeats: int
) -> tuple[list[float], list[float]]:
    """Wall times of the check run and of its start-up (``--collect-only``), measured in turn.

    Alternating the two keeps a change in the machine's load from landing on one of them only.
    """
    totals, startups = [], []
    for _ in range(repeats):
        startups += time_process(_pytest_argv(ctx.python, "--collect-only"), 1, cwd=folder, env=env)
        totals += time_process(_pytest_argv(ctx.python), 1, cwd=folder, env=env)
    return totals, startups


def _sequential(urls: list[str]) -> None:
    from deploycheck.verify import fetch_page

    for url in urls:
        page = fetch_page(url)
        if not page.is_ok:
            raise RuntimeError(page.describe())


def run(ctx: Context) -> Section:
    """Measure verification with and without prefetch for every N."""
    sizes = (2,) if ctx.smoke else SIZES
    latency = 50 if ctx.smoke else LATENCY_MS
    repeats = ctx.repeats(expensive=True)
    # a prefetching pytest run takes a second or two: cheap enough for the larger count
    pytest_repeats = ctx.repeats()
    state = (
        "the plugin's `dc_state` fixture" if has_dc_state() else "a `VerificationState` built in conftest.py"
    )
    section = Section(
        NAME,
        TITLE,
        method=(
            f"N page checks, each a real check GETting its own Pages URL through {state}, a session "
            f"fixture prefetching every collected check's URL (`prefetch(urls=...)`), the sandbox "
            f"delaying every Pages request by {latency} ms. `python -m pytest checks --env sandbox` runs "
            f"as a subprocess "
            f"(default reports on; the hypothesis plugin of the test environment switched off, as it is "
            f"absent where checks run); start-up is the same command with `--collect-only`. "
            f"Sequential baseline: the same N fetches one after another in one process "
            f"(`deploycheck.verify.probes.fetch_page` in a loop: what the seed's bash does); for N <= "
            f"{NO_PREFETCH_MAX_N} also the same pytest run with prefetch switched off. "
            f"Medians of {pytest_repeats} prefetching runs, each paired with a start-up run (run minus "
            f"start-up is the median of the pairs' differences), and of {repeats} baseline runs."
        ),
    )
    started = time.perf_counter()
    with running_sandbox() as (info, admin), TemporaryDirectory(prefix="dc-bench-verify-") as tmp:
        env = sandbox_environ(info)
        admin.fault(service="pages", latency_ms=latency)
        for n in sizes:
            folder = write_checks(Path(tmp) / f"n{n}", n)
            totals, startups = paired_runs(ctx, folder, env, pytest_repeats)
            total, startup = median(totals), median(startups)
            checks = median([t - s for t, s in zip(totals, startups, strict=True)])
            urls = [f"{info.pages_url}/?check={i}" for i in range(n)]
            sequential = median(time_call(partial(_sequential, urls), repeats))
            speedup = ratio(sequential, checks)
            note = f"total {total:.2f} s, start-up {startup:.2f} s"
            if n == TARGET_N:
                verdict: Verdict = "met" if checks <= TARGET_S else "missed"
                section.rows.append(
                    Row(f"N={n}: run minus start-up", f"{checks:.2f} s", f"<= {TARGET_S} s", verdict, note)
                )
            else:
                section.rows.append(Row(f"N={n}: run minus start-up", f"{checks:.2f} s", "", "info", note))
            section.rows.append(
                Row(
                    f"N={n}: speed-up over sequential",
                    f"{speedup:.1f}x",
                    f">= {TARGET_SPEEDUP:.0f}x",
                    "met" if speedup >= TARGET_SPEEDUP else "missed",
                    f"sequential in one process {sequential:.2f} s vs {checks:.2f} s",
                )
            )
            if any(r.verdict == "missed" for r in section.rows[-2:]):
                profile = profile_process(_pytest_argv(ctx.python), cwd=folder, env=env)
                section.details.append((f"N={n} missed a target: cProfile of one pytest run", profile))
            if n <= NO_PREFETCH_MAX_N:
                plain = median(
                    time_process(
                        _pytest_argv(ctx.python), repeats, cwd=folder, env={**env, "BENCH_PREFETCH": "0"}
                    )
                )
                section.rows.append(
                    Row(
                        f"N={n}: pytest without prefetch",
                        f"{plain:.2f} s",
                        "",
                        "info",
                        f"{ratio(plain, total):.1f}x the prefetching run's {total:.2f} s total",
                    )
                )
        imports = run_process(
            [ctx.python, "-X", "importtime", *_pytest_argv(ctx.python, "--collect-only")[1:]],
            cwd=folder,
            env=env,
            timeout=120,
        )
        rows = importtime_top(imports.stderr, 10)
        section.details.append(
            (
                "Slowest imports of the pytest start-up (`-X importtime`, cumulative; outside the target)",
                "\n".join(f"{c / 1000:8.1f} ms  {'  ' * d}{m}" for _, c, d, m in rows),
            )
        )
    from deploycheck.verify import VerificationState

    workers = inspect.signature(VerificationState).parameters["max_workers"].default
    section.notes.append(
        f"`VerificationState` reads with {workers} threads, so N checks cost about "
        f"ceil(N / {workers}) x L plus per-check overhead: one round of latency up to N = {workers}; "
        f"N = 100 takes {-(-100 // workers)} rounds. A pool as large as the number of distinct reads "
        f"(they wait on the network, not the CPU) would make any N about one round."
    )
    section.seconds = time.perf_counter() - started
    return section
