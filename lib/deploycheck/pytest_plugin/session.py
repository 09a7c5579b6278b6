"""The run's state in a pytest session: every stash key of the plugin, and when the platforms open.

``pytest_configure`` loads the run from files alone (:func:`~deploycheck.verify.start_run`:
deploycheck.yaml, the environment, the settings, the secrets to mask) and turns on the
default reports. Nothing here asks a platform anything during collection: the platforms
open (the embedded sandbox starts and is synced) when the first check needs them,
through :func:`open_run`, and the session's :class:`~deploycheck.verify.VerificationState`
is made then too (:func:`verification_state`). Under xdist the controller opens the run at
``pytest_sessionstart``, before it starts the workers, so every worker shares its sandbox.

As in pytest's own ``stepwise`` and ``faulthandler`` plugins, the stash keys live here and
the other modules reach the run's state only through the functions below.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from deploycheck.errors import DeploycheckError
from deploycheck.output import RedactingStream
from deploycheck.progress import ProgressMonitor
from deploycheck.pytest_plugin.options import register_markers
from deploycheck.redact import redact
from deploycheck.report import results as reporting
from deploycheck.verify import Run, RunOptions, VerificationState, scrub_file, start_run

__all__ = [
    "get_run",
    "open_run",
    "report_paths",
    "require_run",
    "stash_once",
    "verification_state",
]

#: the loaded run (config, environment, settings, results); absent without a deploycheck.yaml
run_key = pytest.StashKey[Run]()
#: the session's platform reads, made when the first check needs them
state_key = pytest.StashKey[VerificationState]()
#: the controller's original (stdout, stderr), restored at the end
streams_key = pytest.StashKey[tuple[Any, Any]]()
#: the progress monitor writing to the terminal while a slow read is under way
progress_key = pytest.StashKey[ProgressMonitor]()
#: report name ("results", "html", "junit") -> path, for the reports this run writes by default
reports_key = pytest.StashKey[dict[str, Path]]()
#: what collection computes once per session from files (the drift cases of the SoT), by name
memo_key = pytest.StashKey[dict[str, Any]]()

T = TypeVar("T")
NO_CONFIG = "deploycheck: no deploycheck.yaml found; run from the project or pass --deploycheck-config PATH"


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def get_run(config: pytest.Config) -> Run | None:
    """The session's run, or None when no deploycheck.yaml applies."""
    return config.stash.get(run_key, None)


def require_run(config: pytest.Config) -> Run:
    """The session's run; a usage error naming the missing deploycheck.yaml when there is none."""
    run = get_run(config)
    if run is None:
        raise pytest.UsageError(NO_CONFIG)
    return run


def open_run(config: pytest.Config) -> Run:
    """The session's run with its platforms ready (the embedded sandbox started and synced), once.

    A sandbox that cannot start or sync ends the session with the reason (exit code 4, as a
    usage error at start-up did), never with a traceback.
    """
    run = require_run(config)
    try:
        run.open()
    except DeploycheckError as exc:
        pytest.exit(redact(str(exc)), returncode=pytest.ExitCode.USAGE_ERROR)
    _fill_metadata(config, run)
    return run


def verification_state(config: pytest.Config) -> VerificationState:
    """The session's shared platform reads (made on first use, after the platforms open)."""
    state = config.stash.get(state_key, None)
    if state is None:
        run = open_run(config)
        state = VerificationState(run.config, run.env.name, run.settings)
        config.stash[state_key] = state
    return state


def stash_once(config: pytest.Config, name: str, make: Callable[[], T]) -> T:
    """The session's value ``name``, made by ``make`` on first use (collection's per-session memo)."""
    memo = config.stash.setdefault(memo_key, {})
    if name not in memo:
        memo[name] = make()
    value: T = memo[name]
    return value


def report_paths(config: pytest.Config) -> dict[str, Path]:
    """The reports this run writes by default, by name."""
    return config.stash.get(reports_key, {})


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Register the markers, load the run from files and turn on the default reports."""
    register_markers(config)
    options = RunOptions(
        env=config.getoption("dc_env"),
        config_path=config.getoption("dc_config"),
        platforms=config.getoption("dc_platforms"),
        overrides=config.getoption("dc_set"),
        search_from=(config.rootpath, Path.cwd()),
        controller=not _is_worker(config),
    )
    if not _is_worker(config):
        # before the run starts: the terminal reporter and anything the sandbox sync prints
        config.stash[streams_key] = (sys.stdout, sys.stderr)
        sys.stdout = RedactingStream(sys.stdout)
        sys.stderr = RedactingStream(sys.stderr)
    try:
        run = start_run(options)
    except DeploycheckError as exc:
        _restore_streams(config)
        raise pytest.UsageError(redact(str(exc))) from None
    if run is None:
        return
    config.stash[run_key] = run
    # capture is suspended here: fd 2 is the terminal or CI log (an xdist worker inherits it)
    config.stash[progress_key] = ProgressMonitor.to_fd(os.dup(2), close=True).start()
    if _is_worker(config):
        return
    # --collect-only runs nothing: no default reports (and no pytest-html machinery to load)
    if not config.getoption("dc_no_reports") and not config.option.collectonly:
        _configure_reports(config)
    _register_reporters(config, run)


def _register_reporters(config: pytest.Config, run: Run) -> None:
    from deploycheck.pytest_plugin.dashboard import Dashboard
    from deploycheck.pytest_plugin.reporter import RunReporter

    reporter = RunReporter(config, run, report_paths(config))
    config.pluginmanager.register(reporter, "deploycheck-reporter")
    if getattr(config.option, "htmlpath", None):
        dashboard = Dashboard(config, run, reporter, full="html" in report_paths(config))
        config.pluginmanager.register(dashboard, "deploycheck-dashboard")


def _configure_reports(config: pytest.Config) -> None:
    folder = config.getoption("dc_report_dir")
    report_dir = Path(folder) if folder else config.rootpath / "reports"
    paths = {"results": report_dir / "results.json"}
    if config.pluginmanager.hasplugin("html") and getattr(config.option, "htmlpath", None) is None:
        config.option.htmlpath = str(report_dir / "report.html")
        config.option.self_contained_html = True
    if getattr(config.option, "htmlpath", None):
        from importlib import resources

        config.option.css = [
            *config.option.css,
            str(resources.files("deploycheck").joinpath("data/report.css")),
        ]
        paths["html"] = Path(config.option.htmlpath)
    if config.pluginmanager.hasplugin("junitxml") and config.option.xmlpath is None:
        config.option.xmlpath = str(report_dir / "junit.xml")
    if config.option.xmlpath:
        paths["junit"] = Path(config.option.xmlpath)
    config.stash[reports_key] = paths


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Under xdist, open the platforms on the controller before it starts the workers (they share them)."""
    config = session.config
    if _is_worker(config) or get_run(config) is None or config.option.collectonly:
        return
    if config.pluginmanager.getplugin("dsession") is not None:
        open_run(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the reads and the sandbox, restore the environment and streams, re-check the written reports."""
    state = config.stash.get(state_key, None)
    if state is not None:
        state.close()
        del config.stash[state_key]
    monitor = config.stash.get(progress_key, None)
    if monitor is not None:
        monitor.stop()
        del config.stash[progress_key]
    run = get_run(config)
    if run is not None:
        run.close()
    _restore_streams(config)
    for name, path in report_paths(config).items():
        if scrub_file(path):
            sys.stderr.write(f"deploycheck: masked leftover secret text in the {name} report {path}\n")


def _restore_streams(config: pytest.Config) -> None:
    streams = config.stash.get(streams_key, None)
    if streams is not None:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        sys.stdout, sys.stderr = streams
        del config.stash[streams_key]


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Name the environment, platforms and config file in the terminal header."""
    run = get_run(config)
    if run is None:
        return []
    platforms = ", ".join(run.platforms) or "all"
    return [f"deploycheck: env {run.env.name}, platforms {platforms}, config {run.config.path}"]


@pytest.hookimpl(optionalhook=True)
def pytest_metadata(metadata: dict[str, Any], config: pytest.Config) -> None:
    """Put the environment, platforms, config file and settings (secrets masked) in the report header."""
    run = get_run(config)
    if run is not None:
        _run_metadata(metadata, run)
    for key, value in list(metadata.items()):
        metadata[key] = reporting.redact_tree(value)


def _run_metadata(metadata: dict[str, Any], run: Run) -> None:
    metadata["deploycheck environment"] = run.env.name
    metadata["deploycheck platforms"] = ", ".join(run.platforms) or "all"
    metadata["deploycheck config"] = str(run.config.path)
    for name, shown, source, origin in run.settings.rows():
        where = f"default, {origin}" if source == "default" else f"from {origin}"
        metadata[f"setting {name}"] = reporting.redact_tree(f"{shown} ({where})")


def _fill_metadata(config: pytest.Config, run: Run) -> None:
    """Refresh the report header's settings once the platforms are open (the sandbox exports its URLs)."""
    if not config.pluginmanager.hasplugin("metadata"):
        return
    from pytest_metadata.plugin import metadata_key  # type: ignore[import-untyped]

    metadata = config.stash.get(metadata_key, None)
    if metadata is not None:
        _run_metadata(metadata, run)
