"""The plugin's command-line options and markers: what a run of the checks can be asked.

``--env``, ``--platform``, ``--deploycheck-config``, ``--dc-set`` choose what is verified;
``--fail-on-warn``, ``--no-reports``, ``--report-dir`` shape the outcome and the reports;
``--destructive`` lets state-changing checks run on a remote environment; the ``--expect-*``
options say what must be deployed. Only :func:`pytest_addoption` lives here; the markers
are registered by :mod:`.session`'s ``pytest_configure`` through :func:`register_markers`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from deploycheck.platforms import platform_names

__all__ = ["parse_commit", "platform_marker", "register_markers"]

#: the plugin's own markers (name(args): meaning)
MARKERS = (
    "platform(*names): platforms a check verifies",
    "destructive: changes platform state",
    "severity(level): 'warn' turns a failure into a warning",
    "target(name): the configured target of a check without a target parameter",
)


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
    group.addoption(
        "--expect-commit", dest="dc_expect_commit", default=None, metavar="REF", type=parse_commit,
        help="The commit (or git ref, e.g. HEAD) the active Pages deployment must be built from "
        "(default: GITHUB_SHA)",
    )  # fmt: skip
    group.addoption(
        "--expect-pages-deployment", dest="dc_expect_pages_deployment", default=None, metavar="ID",
        help="The Pages deployment id that must be active",
    )  # fmt: skip
    group.addoption(
        "--expect-worker-version", dest="dc_expect_worker_version", default=None, metavar="ID",
        help="The Worker version id /health must report",
    )  # fmt: skip


def parse_commit(value: str) -> str:
    """``--expect-commit``: a commit hash as given, or the commit a git ref names in this checkout."""
    from deploycheck.gitrepo import is_commit_hash, resolve_commit

    if is_commit_hash(value):
        return value.lower()
    commit = resolve_commit(value, Path.cwd())
    if commit is None:
        msg = (
            f"--expect-commit {value!r} is neither a commit hash nor a ref git resolves in {Path.cwd()}. "
            "Hint: pass a commit hash, or run from the checkout (e.g. --expect-commit HEAD)"
        )
        raise pytest.UsageError(msg)
    return commit


def platform_marker(platform: str) -> str:
    """The per-platform marker name: ``cloudflare-worker`` -> ``cloudflare_worker``."""
    return platform.replace("-", "_")


def register_markers(config: pytest.Config) -> None:
    """Declare the plugin's markers and one marker per registered platform."""
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    for platform in platform_names():
        config.addinivalue_line(
            "markers", f"{platform_marker(platform)}: the check verifies a {platform} target"
        )
