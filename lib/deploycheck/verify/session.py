"""One verification run's state (the pytest plugin's pytest-free half).

:func:`start_run` loads deploycheck.yaml and picks the environment; :func:`run`, given the
resolved environment, resolves the settings and registers every secret with the redactor:
both read files only, so collection stays offline. :meth:`Run.open` is the first step that
touches a platform: it starts the embedded sandbox when the environment needs one (and
syncs it), once, when the first check needs the platforms. :meth:`Run.close` undoes what
both changed (sandbox, os.environ). Bad input raises an
:class:`~deploycheck.errors.InputError` carrying every problem.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploycheck.config import Environment, ProjectConfig, Settings, find_config, load_config, parse_overrides
from deploycheck.errors import ConfigError, Problem
from deploycheck.redact import redact
from deploycheck.report import Results, holds_secret
from deploycheck.sot import register_run_secrets
from deploycheck.verify.targets import check_platforms

__all__ = ["Run", "RunOptions", "run", "scrub_file", "start_run"]

#: set by the controller once its sandbox runs; workers (and nested runs) reuse that one
SANDBOX_ADMIN_VARIABLE = "DEPLOYCHECK_SANDBOX_ADMIN_URL"


@dataclass(frozen=True)
class RunOptions:
    """What the command line asked for."""

    env: str | None = None
    config_path: str | None = None
    platforms: Sequence[str] = ()
    overrides: Sequence[str] = ()
    search_from: Sequence[Path] = ()
    controller: bool = True


@dataclass
class Run:
    """The loaded configuration, environment and settings of a run, and what to undo at its end."""

    config: ProjectConfig
    env: Environment
    settings: Settings
    platforms: tuple[str, ...]
    results: Results
    sandbox: Any = None
    saved_environ: dict[str, str | None] = field(default_factory=dict)
    state_dir: tempfile.TemporaryDirectory[str] | None = None
    overrides: Sequence[str] = ()
    controller: bool = True
    opened: bool = False
    _open_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def open(self) -> None:
        """Make the platforms ready, once: start and sync the embedded sandbox when the environment
        needs one, then resolve the settings again (the sandbox exports its URLs).

        Idempotent and thread-safe; an error leaves the run closed (nothing half-started).
        """
        with self._open_lock:
            if self.opened:
                return
            try:
                if self.env.sandbox and self.controller and not os.environ.get(SANDBOX_ADMIN_VARIABLE):
                    _start_sandbox(self)
                    self.settings = Settings.from_config(
                        self.config, self.env.name, parse_overrides(self.overrides, "--dc-set")
                    )
            except BaseException:
                self.close()
                raise
            self.opened = True

    def export(self, variables: Mapping[str, str]) -> None:
        """Set environment variables for the run, remembering the previous values."""
        for name, value in variables.items():
            self.saved_environ.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def close(self) -> None:
        """Stop the embedded sandbox and restore the environment variables the run changed."""
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None
        for name, value in self.saved_environ.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self.saved_environ.clear()
        if self.state_dir is not None:
            self.state_dir.cleanup()
            self.state_dir = None


def _locate(options: RunOptions) -> Path | None:
    if options.config_path:
        path = Path(options.config_path).expanduser()
        if not path.is_file():
            msg = "no such file."
            raise ConfigError([Problem(source=str(path), message=msg, hint="Check --deploycheck-config.")])
        return path
    for start in options.search_from:
        found = find_config(start)
        if found is not None:
            return found
    return None


def start_run(options: RunOptions) -> Run | None:
    """Build the run from files alone (no platform is asked anything, no sandbox starts; see
    :meth:`Run.open`); None when no deploycheck.yaml applies and none was asked for."""
    path = _locate(options)
    if path is None:
        if options.env:
            msg = "--env was given but there is no deploycheck.yaml in this folder or any parent."
            raise ConfigError([Problem(source="--env", message=msg, hint="Pass --deploycheck-config PATH.")])
        return None
    config = load_config(path)
    return run(config, config.environment(options.env or config.default_env), options)


def run(config: ProjectConfig, env: Environment, options: RunOptions) -> Run:
    """Build the verification run of the resolved environment ``env`` from files alone:
    register every secret, resolve the settings (:meth:`Run.open` starts the sandbox later).

    The pytest plugin runs the checks against what this returns; :meth:`Run.close` undoes it.
    """
    platforms = check_platforms(options.platforms, "--platform")
    overrides = parse_overrides(options.overrides, "--dc-set")
    started = Run(
        config=config,
        env=env,
        settings=Settings(env.name, config.path),
        platforms=platforms,
        results=Results(env.name),
        overrides=tuple(options.overrides),
        controller=options.controller,
    )
    register_run_secrets(config, env.name)
    started.settings = Settings.from_config(config, env.name, overrides)
    return started


def _start_sandbox(run: Run) -> None:
    from deploycheck.sandbox import Sandbox

    sandbox = Sandbox(port=0)
    info = sandbox.start()
    run.sandbox = sandbox
    run.export(info.environ())
    run.state_dir = tempfile.TemporaryDirectory(prefix="deploycheck-state-")
    run.export({"DEPLOYCHECK_STATE_DIR": run.state_dir.name})
    register_run_secrets(run.config, run.env.name)
    _sync_sandbox(run)
    _deploy_checkout(run)


def _deploy_checkout(run: Run) -> None:
    """Serve the web app of this checkout, recording its commit, as ``deploycheck deploy`` would.

    GitHub Actions sets ``GITHUB_SHA`` (the default of ``--expect-commit``) to the commit it
    checked out; the sandbox's seeded deployments are of other commits (#19).
    """
    from deploycheck.verify.checkout import deploy_checkout

    deploy_checkout(run.config, run.env.name, os.environ)


def _sync_sandbox(run: Run) -> None:
    """Bring the fresh sandbox to the synced state, as ``sync-env --mode=deploy-prod`` would.

    The ledger, key and audit log go to the run's own state dir, never the project's.
    """
    from deploycheck.errors import SyncError
    from deploycheck.sot import load_sot
    from deploycheck.state import StateStore
    from deploycheck.sync import run as sync

    config, env = run.config, run.env.name
    sot_path = config.sot_path(env, os.environ.get("DEPLOYCHECK_SOT"))
    if not sot_path.is_file():
        sys.stderr.write(f"deploycheck: sandbox not synced: no source-of-truth table at {sot_path}\n")
        return
    assert run.state_dir is not None
    report = sync(
        config,
        run.env,
        load_sot(sot_path, config, columns=(run.env.values,)),
        StateStore.for_project(config, sot_path, run.state_dir.name),
        mode="deploy-prod" if run.env.values == "prod" else "deploy-dev",
        purpose=f"sandbox sync {env}",
        keyed_output=False,
    )
    if not report.ok:
        failed = ", ".join(o.target for o in report.outcomes if not o.ok)
        msg = f"the embedded sandbox could not be synced ({failed}); see deploycheck sync-env --env {env}"
        raise SyncError(msg)


def scrub_file(path: Path) -> int:
    """Redact a written report in place (a last line of defence); return 1 when it held a secret."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return 0
    if not holds_secret(text):
        return 0
    path.write_text(redact(text), encoding="utf-8")
    return 1
