"""pytest glue: options, fixtures and hooks only (the logic lives in run, reporting, targets).

Loaded through the ``pytest11`` entry point. With a deploycheck.yaml in reach,
``pytest --env=production`` runs the checks in ``checks/`` against production, reports
PASS / WARN / FAIL and writes ``reports/report.html``, ``junit.xml`` and ``results.json``.
Every report is redacted here, in the worker that made it, before any other plugin sees it.

Fixtures: ``dc_config``, ``dc_env``, ``dc_settings`` (session) and ``target`` (one
:class:`~deploycheck.verify.targets.CheckTarget` per matching target). Platform-state fixtures
belong in the "platform fixtures" section below.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from deploycheck.config import Environment, ProjectConfig, Settings
from deploycheck.errors import DeploycheckError
from deploycheck.output import RedactingStream
from deploycheck.progress import ProgressMonitor
from deploycheck.pytest_plugin.dashboard import Dashboard, target_properties
from deploycheck.pytest_plugin.destructive import destructive_skip_reason
from deploycheck.pytest_plugin.reporter import RunReporter, reports_key
from deploycheck.redact import fingerprint, redact
from deploycheck.report import MESSAGE_PROPERTY, OUTCOME_PROPERTY, holds_secret, warn_message
from deploycheck.report import results as reporting
from deploycheck.verify import (
    CheckTarget,
    Run,
    RunOptions,
    check_platforms,
    scrub_file,
    select_targets,
    start_run,
)
from deploycheck.warnings import take_warnings

pytest_plugins = ["deploycheck.pytest_plugin.fixtures"]
run_key = pytest.StashKey[Run]()
streams_key = pytest.StashKey[tuple[Any, Any]]()
progress_key = pytest.StashKey[ProgressMonitor]()
#: copied report attributes that may carry text from the check
_REDACTED_FIELDS = ("longrepr", "sections", "user_properties", "extras")


# -- options and configuration -------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the deploycheck option group."""
    group = parser.getgroup("deploycheck", "deployment verification")
    group.addoption("--env", dest="dc_env", default=None, help="Environment to verify (default: default_env)")
    group.addoption(
        "--platform", dest="dc_platforms", action="append", default=[], metavar="NAME",
        help="Only check targets on this platform (repeatable)",
    )  # fmt: skip
    group.addoption(
        "--deploycheck-config",
        dest="dc_config",
        default=None,
        metavar="PATH",
        help="Path of deploycheck.yaml",
    )
    group.addoption(
        "--fail-on-warn", dest="dc_fail_on_warn", action="store_true", help="Let warnings fail the run"
    )
    group.addoption(
        "--no-reports", dest="dc_no_reports", action="store_true", help="Write no reports by default"
    )
    group.addoption(
        "--destructive", dest="dc_destructive", action="store_true",
        help="Run checks marked destructive on a remote environment too (default: local envs, sandbox)",
    )  # fmt: skip
    group.addoption(
        "--report-dir",
        dest="dc_report_dir",
        default=None,
        metavar="DIR",
        help="Where reports go (default: reports/); write --report-dir=DIR, as pytest takes a "
        "separate existing DIR for a test path",
    )
    group.addoption(
        "--dc-set", dest="dc_set", action="append", default=[], metavar="NAME=VALUE",
        help="Override a setting for this run (repeatable)",
    )  # fmt: skip


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Load the run (config, env, sandbox, settings) and turn on the default reports."""
    for line in ("platform(*names): platforms a check verifies", "destructive: changes platform state",
                 "severity(level): 'warn' turns a failure into a warning",
                 "target(name): the configured target of a check without a target parameter"):  # fmt: skip
        config.addinivalue_line("markers", line)
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
    if not config.getoption("dc_no_reports"):
        _configure_reports(config)
    config.pluginmanager.register(RunReporter(config, run), "deploycheck-reporter")
    if config.stash.get(reports_key, {}).get("html"):
        config.pluginmanager.register(Dashboard(config, run), "deploycheck-dashboard")


def _configure_reports(config: pytest.Config) -> None:
    folder = config.getoption("dc_report_dir")
    report_dir = Path(folder) if folder else config.rootpath / "reports"
    paths = {"results": report_dir / "results.json"}
    if config.pluginmanager.hasplugin("html") and getattr(config.option, "htmlpath", None) is None:
        config.option.htmlpath = str(report_dir / "report.html")
        config.option.self_contained_html = True
    if getattr(config.option, "htmlpath", None):
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


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the sandbox, restore the environment and streams, and re-check the written reports."""
    monitor = config.stash.get(progress_key, None)
    if monitor is not None:
        monitor.stop()
        del config.stash[progress_key]
    run = config.stash.get(run_key, None)
    if run is not None:
        run.close()
    _restore_streams(config)
    for name, path in config.stash.get(reports_key, {}).items():
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
    run = config.stash.get(run_key, None)
    if run is None:
        return []
    platforms = ", ".join(run.platforms) or "all"
    return [f"deploycheck: env {run.env.name}, platforms {platforms}, config {run.config.path}"]


def _run(config: pytest.Config) -> Run:
    run = config.stash.get(run_key, None)
    if run is None:
        msg = "deploycheck: no deploycheck.yaml found; run from the project or pass --deploycheck-config PATH"
        raise pytest.UsageError(msg)
    return run


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def dc_config(pytestconfig: pytest.Config) -> ProjectConfig:
    """The validated deploycheck.yaml of the run."""
    return _run(pytestconfig).config


@pytest.fixture(scope="session")
def dc_env(pytestconfig: pytest.Config) -> Environment:
    """The environment under verification."""
    return _run(pytestconfig).env


@pytest.fixture(scope="session")
def dc_settings(pytestconfig: pytest.Config) -> Settings:
    """The resolved settings of the environment, each with its source."""
    return _run(pytestconfig).settings


@pytest.fixture(scope="module")
def target(request: pytest.FixtureRequest) -> CheckTarget:
    """The target this instance of the check verifies (parametrized by pytest_generate_tests)."""
    value: CheckTarget = request.param
    return value


# -- platform fixtures: adapters and platform state, built on the fixtures above, go here. --


# -- collection ------------------------------------------------------------------------------


def _wanted_platforms(node: Any) -> tuple[str, ...]:
    marker = node.get_closest_marker("platform")
    return tuple(marker.args) if marker is not None else ()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``target`` over the env's targets, filtered by --platform and the platform marker."""
    if "target" not in metafunc.fixturenames or _target_is_own(metafunc):
        return
    run = _run(metafunc.config)
    try:
        wanted = check_platforms(_wanted_platforms(metafunc.definition), "@pytest.mark.platform")
    except DeploycheckError as exc:
        pytest.fail(str(exc), pytrace=False)
    targets = select_targets(run.config, run.env.name, run.platforms, wanted)
    if targets:
        params = [pytest.param(t, id=t.id) for t in targets]
    else:
        what = " or ".join(wanted or run.platforms) or "any platform"
        reason = f"no target on {what} in environment {run.env.name!r}"
        params = [pytest.param(None, id=f"{run.env.name}-none", marks=pytest.mark.skip(reason=reason))]
    metafunc.parametrize("target", params, indirect=True)


def _target_is_own(metafunc: pytest.Metafunc) -> bool:
    """True when the test parametrizes or defines its own ``target`` (a library test, not a check)."""
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs.get("argnames", "")
        if "target" in ([n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)):
            return True
    # a plugin's fixtures have an empty baseid; a conftest's or module's own have theirs
    defs = metafunc._arg2fixturedefs.get("target") or ()
    return bool(defs) and defs[-1].baseid != ""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect checks marked for platforms outside --platform; tag each item with env and platform."""
    run = config.stash.get(run_key, None)
    if run is None:
        return
    kept, dropped = [], []
    destructive = destructive_skip_reason(run.env, asked=bool(config.getoption("dc_destructive")))
    for item in items:
        if destructive is not None and item.get_closest_marker("destructive") is not None:
            item.add_marker(pytest.mark.skip(reason=destructive))
        callspec = getattr(item, "callspec", None)
        param = callspec.params.get("target") if callspec is not None else None
        wanted = _wanted_platforms(item)
        platform = param.platform if isinstance(param, CheckTarget) else (wanted[0] if wanted else "")
        if run.platforms and wanted and not set(wanted) & set(run.platforms):
            dropped.append(item)
            continue
        item.user_properties += [
            (reporting.ENV_PROPERTY, run.env.name),
            (reporting.PLATFORM_PROPERTY, platform),
            *target_properties(run, item),
        ]
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    """Never put a secret in a test id: a parameter holding one shows masked."""
    if isinstance(val, str) and holds_secret(val):
        return f"{argname}-{redact(val)}"
    return None


# -- outcomes and redaction ------------------------------------------------------------------


def _redact_report(config: pytest.Config, report: pytest.TestReport | pytest.CollectReport) -> None:
    data = config.hook.pytest_report_to_serializable(config=config, report=report)
    if data is None:
        return
    clean = reporting.redact_tree(data)
    if clean == data:
        return
    rebuilt = config.hook.pytest_report_from_serializable(config=config, data=clean)
    for name in _REDACTED_FIELDS:
        if name in vars(report) and name in vars(rebuilt):
            setattr(report, name, getattr(rebuilt, name))


def _apply_warnings(item: pytest.Item, report: pytest.TestReport) -> None:
    messages = take_warnings()
    marker = item.get_closest_marker("severity")
    level = (marker.args[0] if marker.args else marker.kwargs.get("level")) if marker else None
    if report.failed and level == "warn" and not hasattr(report, "wasxfail"):
        crash = getattr(report.longrepr, "reprcrash", None)
        first = str(crash.message) if crash is not None else report.longreprtext.strip()
        messages.insert(0, (first.splitlines() or ["failed"])[0])
        item.add_report_section("call", "failure (severity warn)", report.longreprtext)
        report.sections.append(("Captured failure (severity warn) call", report.longreprtext))
        report.outcome, report.longrepr = "passed", None
    if not messages or not report.passed:
        return
    message = redact("; ".join(messages))
    item.user_properties += [(OUTCOME_PROPERTY, "warn"), (MESSAGE_PROPERTY, message)]
    report.user_properties = list(item.user_properties)
    # a "Captured stdout" section: JUnit writes it to <system-out> (junit_logging = system-out)
    text = "".join(f"WARN: {m}\n" for m in messages)
    item.add_report_section("call", "stdout (deploycheck WARN)", text)
    report.sections.append(("Captured stdout (deploycheck WARN) call", text))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Turn warnings and severity('warn') failures into WARN, then redact the report."""
    report = yield
    if report.when == "call":
        _apply_warnings(item, report)
    elif report.when == "teardown":
        take_warnings()
    _redact_report(item.config, report)
    return report


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, Any]:
    """Redact collection reports (a module that fails to import may print a secret)."""
    report = yield
    _redact_report(collector.config, report)
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, Any] | None:
    """Show warned checks as ``W`` / ``WARN`` and count them as "warned"."""
    if report.when == "call" and warn_message(report) is not None:
        return "warned", "W", ("WARN", {"yellow": True})
    return None


def pytest_assertrepr_compare(
    config: pytest.Config, op: str, left: object, right: object
) -> list[str] | None:
    """Explain a comparison involving a secret by fingerprints only, never by its text."""

    def text(value: object) -> str:
        return value if isinstance(value, str) else repr(value)

    hidden = [holds_secret(text(left)), holds_secret(text(right))]
    if not any(hidden):
        return None
    names = ["<secret>" if h else "<value>" for h in hidden]
    return [
        f"{names[0]} {op} {names[1]}: values hidden; fingerprints:",
        f"left:  {fingerprint(text(left))}",
        f"right: {fingerprint(text(right))}",
        "Compare secrets with deploycheck.fingerprint(value).",
    ]


# -- report metadata and HTML ------------------------------------------------------------------


@pytest.hookimpl(optionalhook=True)
def pytest_metadata(metadata: dict[str, Any], config: pytest.Config) -> None:
    """Put the environment, platforms, config file and settings (secrets masked) in the report header."""
    run = config.stash.get(run_key, None)
    if run is not None:
        metadata["deploycheck environment"] = run.env.name
        metadata["deploycheck platforms"] = ", ".join(run.platforms) or "all"
        metadata["deploycheck config"] = str(run.config.path)
        for name, shown, source, origin in run.settings.rows():
            where = f"default, {origin}" if source == "default" else f"from {origin}"
            metadata[f"setting {name}"] = f"{shown} ({where})"
    for key, value in list(metadata.items()):
        metadata[key] = reporting.redact_tree(value)


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_table_header(cells: list[str]) -> None:
    """Add the deploycheck Outcome column (PASS / WARN / FAIL / SKIP / ERROR)."""
    cells.insert(1, '<th class="dc-outcome-head">Outcome</th>')


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_table_row(report: Any, cells: list[str]) -> None:
    """Label each row with its deploycheck outcome; warned rows get the WARN label and colour."""
    if report.when in (None, "collect") or (report.when != "call" and report.failed):
        outcome = "error" if report.failed else "pass"
    elif hasattr(report, "wasxfail") or report.skipped:
        outcome = "skip"
    elif report.failed:
        outcome = "fail"
    else:
        outcome = "warn" if warn_message(report) is not None else "pass"
    if outcome == "warn":
        cells[0] = cells[0].replace('class="col-result"', 'class="col-result dc-warned"')
    cells.insert(1, f'<td class="col-outcome dc-{outcome}">{outcome.upper()}</td>')
