"""Coordinated multi-platform deploy: drift-gated before, each platform independently, verified after.

The seed's Pattern 1: Convex, the Worker and Pages each keep their own pipeline, run
here in ``deploy.order``; one platform's failure does not stop the others (unless
``stop_on_failure``); one verification covers every deployed platform; each platform's
rollback boundary is what it served before the deploy.

:func:`run` runs the whole sequence for the resolved environment (:func:`deploy`, for an
environment's name):

1. the gate: drift detection of the environment (:func:`deploycheck.drift.run`);
   drift, or a platform the gate cannot read, stops the deploy unless ``allow_drift``;
2. per target: read its deployment state, run its deploy command
   (:mod:`deploycheck.deploy.command`), read the state again and prove something new is live
   (:mod:`deploycheck.deploy.readback`), append the result to the audit log;
   a Worker target deployed gradually (``--gradual``, ``deploy.gradual``) is uploaded and moved
   step by step instead, gated at each step (:mod:`deploycheck.deploy.gradual`);
3. the checks of the deployed platforms, expecting the new ids
   (:mod:`deploycheck.deploy.verify`);
4. a summary with each platform's result and, for each failure, the rollback command.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from deploycheck.deploy.command import run_command
from deploycheck.deploy.plan import DeployPlan, DeployStep, plan_deploy
from deploycheck.deploy.readback import PlatformStateReader, Produced, Snapshot, StateReader, moved, produced
from deploycheck.deploy.render import (
    DeployReport,
    GateResult,
    StepOutcome,
    previous_deploy_commit,
    print_summary,
    rollback_commands,
)
from deploycheck.deploy.verify import Verification, verify_deploy
from deploycheck.errors import DeploycheckError, Problem, UsageError
from deploycheck.platforms import get_spec
from deploycheck.platforms.base import ConfigPlatform
from deploycheck.platforms.reads import BindingReads
from deploycheck.redact import redact
from deploycheck.state import move_target_marker

if TYPE_CHECKING:
    from deploycheck.config import Environment, ProjectConfig
    from deploycheck.deploy.gradual import GradualSettings
    from deploycheck.state import StateBackend

__all__ = ["DeployOptions", "Deployer", "deploy", "expectations", "run", "run_gate"]


@dataclass
class DeployOptions:
    """What the user asked for (see ``deploycheck deploy --help``).

    ``settle_s`` bounds how long a command that exited 0 may take for its deployment to
    appear in the platform API; a git-triggered Pages build may take the step's timeout.
    """

    env: str
    platforms: tuple[str, ...] = ()
    allow_drift: bool = False
    dry_run: bool = False
    yes: bool = False
    interactive: bool = False
    verify: bool = True
    stop_on_failure: bool | None = None
    sot: Path | None = None
    state_dir: Path | None = None
    report_dir: Path | None = None
    #: the environment the deploy commands run with (never in ``repr``: it holds credentials)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ), repr=False)
    settle_s: float = 15.0
    poll_s: float = 0.5
    lock_timeout: float = 5.0
    confirm: Callable[[str], bool] | None = None
    #: deploy the Worker targets gradually (``--gradual``), with these steps (None: configured ones)
    gradual: bool = False
    gradual_steps: tuple[float, ...] | None = None
    #: what to do with a split already in progress: ``continue``, ``revert`` (None: ask or refuse)
    resume: str | None = None


def run_gate(
    config: ProjectConfig,
    env: Environment,
    *,
    sot: Path | None,
    state_dir: Path | None,
    environ: Mapping[str, str],
) -> GateResult:
    """Run drift detection over ``env`` and say whether a deploy may proceed."""
    from deploycheck.drift import render_text
    from deploycheck.drift import run as detect_drift

    report = detect_drift(config, env, sot_path=sot, state_dir=state_dir, environ=environ)
    code = report.exit_code
    if code == 0:
        compared = len(report.results)
        summary = f"no drift ({compared} key(s) on {len(report.targets)} target(s) match the source of truth)"
    elif report.errors:
        names = ", ".join(f"{e.target} ({e.platform})" for e in report.errors)
        summary = f"{len(report.errors)} target(s) could not be read: {names}"
        if report.failing:
            summary += f"; {len(report.failing)} drift finding(s)"
    else:
        summary = f"drift found: {len(report.failing)} finding(s)"
    return GateResult(code == 0, code, summary, render_text(report))


@dataclass(eq=False)
class Deployer:
    """Runs the steps of a plan (see :func:`deploy`)."""

    config: ProjectConfig
    options: DeployOptions
    out: TextIO
    reader: StateReader
    store: StateBackend

    def write(self, text: str) -> None:
        """Print one redacted line."""
        self.out.write(redact(text) + "\n")
        self.out.flush()

    def command_environ(self, step: DeployStep) -> dict[str, str]:
        """The environment of a deploy command: its own platform's variables and the non-secret
        rest (:func:`deploycheck.deploy.environ.command_environment`), plus, for this same
        deploycheck, its package folder on PYTHONPATH."""
        from deploycheck.deploy.environ import command_environment

        environ = command_environment(step.platform, self.options.environ)
        if step.argv[:3] == (sys.executable, "-m", "deploycheck"):
            import deploycheck

            lib = str(Path(deploycheck.__file__).resolve().parent.parent)
            paths = [p for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p]
            if lib not in paths:
                environ["PYTHONPATH"] = os.pathsep.join([lib, *paths])
        return environ

    def _wait_for_new(
        self, step: DeployStep, before: Snapshot, deadline: float
    ) -> tuple[Snapshot, Produced | None]:
        pushed = get_spec(step.platform).deploy_model == "push"
        since = int(before.active) if pushed and before.active else None
        while True:
            after = self.reader.read(step.platform, step.target, since_ms=since)
            found = produced(before, after)
            if (found is not None and found.live) or time.monotonic() >= deadline:
                return after, found
            if found is not None and found.status in ("failure", "failed", "canceled"):
                return after, found
            time.sleep(self.options.poll_s)

    def run_step(self, step: DeployStep) -> StepOutcome:
        """Deploy one target: snapshot, command, snapshot, verdict."""
        self.write(
            f"== {step.label} -> {step.resource}: {step.command}  (in {step.cwd}, timeout {step.timeout:g} s)"
        )
        try:
            before = self.reader.read(step.platform, step.target)
        except DeploycheckError as exc:
            reason = f"could not read its deployment state before deploying, so nothing was run: {exc}"
            return StepOutcome(step, "failed", reason)
        result = run_command(
            step.argv,
            cwd=step.cwd,
            environ=self.command_environ(step),
            timeout=step.timeout,
            out=self.out,
            prefix=f"[{step.platform}] ",
        )
        wait = step.timeout if step.triggered else self.options.settle_s
        deadline = time.monotonic() + (wait if result.ok else 0.0)
        try:
            after, found = self._wait_for_new(step, before, deadline)
        except DeploycheckError as exc:
            reason = f"{result.describe()}; its deployment state could not be read back: {exc}"
            return StepOutcome(step, "failed", reason, result, before, partial=result.ok)
        outcome = StepOutcome(step, "failed", "", result, before, after, found, partial=moved(before, after))
        if not result.ok:
            outcome.reason = f"the command {result.describe()}"
            if outcome.partial:
                outcome.reason += " after partially applying (what serves traffic changed)"
        elif found is None:
            outcome.reason = "the command exited 0 but no new deployment appeared"
        elif not found.live:
            outcome.reason = f"the new {found.describe()} did not become live"
            outcome.partial = True
        else:
            outcome.status = "deployed"
            outcome.partial = False
        return outcome

    def audit(self, outcome: StepOutcome) -> None:
        """Append the step to the audit log (a deploy is recorded even when it failed)."""
        self.store.append_audit(outcome.to_event(self.options.env))

    def run_steps(self, plan: DeployPlan, gradual: dict[str, GradualSettings], report: DeployReport) -> None:
        """Deploy each step of ``plan`` under the state lock, appending outcomes to ``report``;
        the targets of ``gradual`` go out gradually."""
        options = self.options
        passed = report.gate is not None and report.gate.passed
        with self.store.lock(options.lock_timeout, purpose=f"deploy {options.env}"):
            failed = False
            for step in plan.steps:
                if failed and plan.stop_on_failure:
                    outcome = StepOutcome(
                        step, "skipped", "not run: an earlier platform failed (stop_on_failure)"
                    )
                else:
                    chosen = gradual.get(step.target)
                    outcome = (
                        self.run_step(step)
                        if chosen is None
                        else self._run_gradual(step, chosen, carry=passed)
                    )
                    self.audit(outcome)
                    if outcome.status == "deployed" and passed:
                        carry_marker(self.store, options.env, outcome, _opener(self.config, options))
                failed = failed or outcome.status == "failed"
                report.outcomes.append(outcome)
                if outcome.status != "skipped":
                    self.write(
                        f"   {step.label}: {outcome.status}{': ' + outcome.reason if outcome.reason else ''}"
                    )

    def _run_gradual(self, step: DeployStep, settings: GradualSettings, *, carry: bool) -> StepOutcome:
        """One Worker target's gradual deploy (:func:`deploycheck.deploy.gradual.run_gradual`); with
        ``carry`` (the drift gate passed) the ledger's marker follows each code-only move."""
        from deploycheck.config import Settings
        from deploycheck.deploy.gradual import Rollout, run_gradual
        from deploycheck.verify import ChecksSettings

        config, options = self.config, self.options
        checks = ChecksSettings.from_config(config)
        worker = checks.for_target(config.targets[step.target], "worker") or checks.worker
        base = Settings.from_config(config, options.env, environ=options.environ).value(worker.url_setting)
        if not base:
            why = f"setting {worker.url_setting} has no value in {options.env}"
            return StepOutcome(step, "failed", f"{why}: the gates cannot probe the Worker")
        try:
            adapter = _opener(config, options)(step.target)
        except DeploycheckError as exc:
            return StepOutcome(step, "failed", f"could not open the target: {exc}")
        stamp = time.strftime("%Y%m%dT%H%M%S")
        folder = options.report_dir or config.resolve_path("reports") / f"deploy-{options.env}-{stamp}"

        def step_checks(percent: float, new: str) -> Verification:
            return verify_deploy(
                config=config,
                env=options.env,
                platforms=[step.platform],
                expect={"--expect-worker-version": new},
                report_dir=folder / f"gradual-{percent:g}",
                environ=_environ_for_checks(options),
                out=self.out,
            )

        rollout = Rollout(
            env=options.env,
            step=step,
            settings=settings,
            adapter=adapter,
            health_url=base.rstrip("/") + "/" + worker.health_path.lstrip("/"),
            store=self.store,
            out=self.out,
            environ=self.command_environ(step),
            checks=step_checks,
            resume=options.resume,
            carry=carry,
        )
        return run_gradual(rollout)


def _environ_for_checks(options: DeployOptions) -> dict[str, str]:
    environ = dict(options.environ)
    if options.state_dir is not None:
        environ["DEPLOYCHECK_STATE_DIR"] = str(options.state_dir)
    if options.sot is not None:
        environ["DEPLOYCHECK_SOT"] = str(options.sot)
    return environ


def _preconditions(environment: Environment, options: DeployOptions) -> None:
    problems: list[Problem] = []
    if environment.sandbox and not options.environ.get("DEPLOYCHECK_SANDBOX_ADMIN_URL"):
        problems.append(
            Problem(
                "--env",
                f"environment {options.env!r} is the sandbox, and no sandbox is running here.",
                hint="Start `deploycheck sandbox` and export the environment its first line prints.",
            )
        )
    if environment.remote and not options.dry_run and not options.yes and not options.interactive:
        problems.append(
            Problem(
                "--yes",
                f"environment {options.env!r} is remote and there is no terminal to confirm on: "
                "pass --yes, or --dry-run to see the plan.",
            )
        )
    if problems:
        raise UsageError(problems)


def _print_plan(plan: DeployPlan, out: TextIO) -> None:
    out.write(f"Plan ({plan.env}): {' -> '.join(plan.platforms) or 'nothing to deploy'}")
    out.write(f"; {'stop' if plan.stop_on_failure else 'continue'} on failure\n")
    for index, step in enumerate(plan.steps, 1):
        source = "" if step.configured else "  [default command]"
        wait = "  [waits for the platform's build]" if step.triggered else ""
        out.write(f"  {index}. {step.label} -> {step.resource}: {step.command}{source}{wait}\n")
        out.write(f"     in {step.cwd}, timeout {step.timeout:g} s\n")


def _stopped_by_gate(report: DeployReport, options: DeployOptions, out: TextIO) -> bool:
    """Print the gate's outcome; True when it stops the deploy (drift, and no --allow-drift)."""
    assert report.gate is not None
    out.write(redact(f"Gate (drift check of {options.env}): {report.gate.summary}") + "\n")
    if report.gate.passed:
        return False
    out.write(redact(report.gate.report).rstrip() + "\n")
    if not options.allow_drift:
        report.stopped_by_gate = True
        if options.dry_run:
            # a dry run always shows the whole plan, even the one the gate would stop
            _print_plan(report.plan, out)
        out.write(
            "Deploy stopped by the drift gate: nothing was deployed. Reconcile the drift with "
            "each finding's command above (sync-env --only writes the SoT's value of a key; "
            "sync-env --remove deletes a key the SoT does not assign) or pass --allow-drift to "
            "deploy anyway.\n"
        )
        return True
    if options.dry_run:
        out.write("--allow-drift: a real run would deploy despite the gate.\n")
    else:
        out.write("--allow-drift: deploying despite the gate.\n")
    return False


def deploy(config: ProjectConfig, options: DeployOptions, out: TextIO, **hooks: Any) -> DeployReport:
    """:func:`run` for the environment ``options.env`` names (ConfigError when there is none);
    ``hooks`` are :func:`run`'s ``gate``, ``reader`` and ``verifier``."""
    return run(config, config.environment(options.env), options, out, **hooks)


def run(
    config: ProjectConfig,
    env: Environment,
    options: DeployOptions,
    out: TextIO,
    *,
    gate: Callable[[], GateResult] | None = None,
    reader: StateReader | None = None,
    verifier: Callable[[list[str], dict[str, str]], Verification] | None = None,
) -> DeployReport:
    """Gate, deploy each planned target of ``env``, verify, summarize; see the module docstring.

    ``env`` is the resolved environment (``options.env`` is set to its name); ``gate``,
    ``reader`` and ``verifier`` default to drift detection, the platform adapters and the
    pytest checks. Raises an InputError (nothing run) for bad input.
    """
    from deploycheck.deploy.gradual import gradual_targets
    from deploycheck.state import open_state

    options = replace(options, env=env.name)
    plan = plan_deploy(config, options.env, options.platforms, stop_on_failure=options.stop_on_failure)
    _preconditions(env, options)
    targets = [config.targets[s.target] for s in plan.steps]
    gradual = gradual_targets(config, options.env, targets, options.gradual_steps, asked=options.gradual)
    report = DeployReport(options.env, plan, dry_run=options.dry_run)
    sot_path = config.sot_path(
        options.env, str(options.sot) if options.sot else options.environ.get("DEPLOYCHECK_SOT")
    )
    store = open_state(config, sot_path, options.state_dir, options.environ)
    if gradual and not options.dry_run:
        from deploycheck.deploy.gradual import check_splits

        ask = options.confirm if options.interactive and not options.yes else None
        adapters = {name: _opener(config, options)(name) for name in gradual}
        options.resume = check_splits(adapters, store, options.env, options.resume, ask)
    report.gate = (
        gate
        or (
            lambda: run_gate(
                config, env, sot=options.sot, state_dir=options.state_dir, environ=options.environ
            )
        )
    )()
    if _stopped_by_gate(report, options, out):
        return report
    _print_plan(plan, out)
    for name, settings in gradual.items():
        out.write(redact(f"  gradual ({name}): {settings.upload_command}, then {settings.describe()}") + "\n")
    if options.dry_run:
        out.write("Dry run: nothing was run.\n")
        return report
    question = f"Deploy {', '.join(plan.platforms)} to {options.env}? [y/N] "
    if not options.yes and options.confirm is not None and not options.confirm(question):
        out.write("Cancelled: nothing was deployed.\n")
        report.cancelled = True
        return report
    previous = {p: previous_deploy_commit(store, options.env, p) for p in plan.platforms}
    state_reader = reader or PlatformStateReader(_opener(config, options))
    deployer = Deployer(config, options, out, state_reader, store)
    deployer.run_steps(plan, gradual, report)
    deployed = [o for o in report.outcomes if o.status == "deployed"]
    if options.verify and deployed:
        expect = expectations(deployed)
        platforms = list(dict.fromkeys(o.step.platform for o in deployed))
        out.write(f"== verification of {', '.join(platforms)} in {options.env}\n")
        report.verification = (verifier or _default_verifier(config, options, out))(platforms, expect)
    report.rollbacks, report.undo = rollback_commands(config, report, previous)
    print_summary(report, out)
    return report


def expectations(deployed: list[StepOutcome]) -> dict[str, str]:
    """The checks' ``--expect-*`` options naming what this deploy made live (option -> value)."""
    expect: dict[str, str] = {}
    for outcome in deployed:
        made = outcome.produced
        if made is None:
            continue
        options = get_spec(outcome.step.platform).expect_options
        # the first option names what was made: without it, none of the others is passed
        if options and getattr(made, options[0][1]):
            for option, attribute in options:
                value = getattr(made, attribute)
                if value:
                    expect[option] = str(value)
    return expect


def carry_marker(
    store: StateBackend, env: str, outcome: StepOutcome, opener: Callable[[str], ConfigPlatform]
) -> bool:
    """After deploycheck's own code deploy, move the target's ledger marker to the new version when
    that deploy is the only change: it started from the version the ledger recorded (the gate found
    no drift) and the new version carries the same secret bindings (a code upload inherits the
    secrets' values). Returns whether the marker moved; any doubt leaves it, so drift reports."""
    before = outcome.before.active if outcome.before else None
    after = outcome.after.active if outcome.after else None
    target = outcome.step.target
    ledger = store.ledger()
    if before is None or after is None or before == after:
        return False
    try:
        adapter = opener(target)
    except DeploycheckError:
        return False

    def code_only(recorded: str | None) -> bool:
        return (
            recorded == before
            and isinstance(adapter, BindingReads)
            and adapter.secret_bindings(before) == adapter.secret_bindings(after)
        )

    return move_target_marker(ledger, env, target, adapter, after, may_move=code_only)


def _opener(config: ProjectConfig, options: DeployOptions) -> Callable[[str], ConfigPlatform]:
    from deploycheck.platforms import open_target

    def opener(target: str) -> ConfigPlatform:
        return open_target(config, config.targets[target], options.env, options.environ)

    return opener


def _default_verifier(
    config: ProjectConfig, options: DeployOptions, out: TextIO
) -> Callable[[list[str], dict[str, str]], Verification]:
    def verifier(platforms: list[str], expect: dict[str, str]) -> Verification:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        folder = options.report_dir or config.resolve_path("reports") / f"deploy-{options.env}-{stamp}"
        return verify_deploy(
            config=config,
            env=options.env,
            platforms=platforms,
            expect=expect,
            report_dir=folder,
            environ=_environ_for_checks(options),
            out=out,
        )

    return verifier
