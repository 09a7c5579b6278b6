"""Platform-specific rollbacks: what each one reverts, how its target is chosen, and how it runs.

Planning only reads (GET requests, ``git show``); :func:`execute` is the one place that
writes. Pages activates an earlier production deployment; a Worker gets a deployment
sending 100% of traffic to an earlier version (the way ``wrangler rollback`` chooses
it); Convex redeploys its folder as it was at an earlier git ref, from a temporary
checkout, after the schema guard.
"""

from __future__ import annotations

import io
import os
import shlex
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from deploycheck.errors import PlatformError, Problem, RollbackError, UsageError
from deploycheck.platforms import all_specs, get_spec
from deploycheck.platforms.base import Deployment, DeploymentPlatform
from deploycheck.platforms.history import Revision
from deploycheck.platforms.reads import VersionListReads, missing_read
from deploycheck.redact import redact
from deploycheck.rollback.schema import (
    Evaluator,
    GuardResult,
    check_schema,
    folder_diff,
    previous_ref,
    resolve_ref,
)

__all__ = ["Plan", "execute", "plan_convex", "plan_pages", "plan_worker"]

@dataclass(frozen=True)
class Plan:
    """A rollback of one target: where it is now, where it goes, and why it may not proceed."""

    platform: str
    target: str
    resource: str
    current: str | None
    to: str | None
    action: str
    details: tuple[str, ...] = ()
    guard: GuardResult | None = None
    problem: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    #: ``code`` keeps today's configuration (the default); ``config`` rolls configuration back too
    mode: str = "config"
    #: the revisions of the rollback's target and of what runs now, when the platform lists them
    revision: Revision | None = None
    current_revision: Revision | None = None

    @property
    def is_possible(self) -> bool:
        """True when a target was found and nothing blocks the rollback (the guard aside)."""
        return not self.problem and self.to is not None


def _describe(deployment: Deployment) -> str:
    parts = [deployment.id]
    if deployment.created_on:
        parts.append(f"created {deployment.created_on}")
    if deployment.commit:
        parts.append(f"commit {deployment.commit[:12]}")
    if deployment.message:
        parts.append(repr(deployment.message[:60]))
    return ", ".join(parts)


def plan_pages(adapter: DeploymentPlatform, target: str, to: str | None) -> Plan:
    """Choose the previous successful production deployment (or ``to``) of a Pages project."""
    deployments: list[Deployment] = adapter.list_deployments()
    current = next((d for d in deployments if d.active), None)
    base = Plan(adapter.platform, target, adapter.resource, current.id if current else None, None, "")
    if to is not None:
        chosen = next((d for d in deployments if d.id == to or d.extra.get("short_id") == to), None)
        if chosen is None:
            recent = ", ".join(d.id for d in deployments[:5]) or "(none)"
            raise UsageError(
                [
                    Problem(
                        "--to", f"no deployment {to!r} in Pages project {adapter.resource}; recent: {recent}."
                    )
                ]
            )
    else:
        older = deployments
        if current is not None:
            older = [d for d in deployments if d.created_on < current.created_on and d.id != current.id]
        chosen = next((d for d in older if d.status == "success"), None)
        if chosen is None:
            return replace(base, problem="no earlier successful production deployment to roll back to")
    if current is not None and chosen.id == current.id:
        return replace(base, to=chosen.id, problem=f"deployment {chosen.id} is already active")
    details = (
        f"current: {_describe(current)}" if current else "current: (none active)",
        f"target:  {_describe(chosen)}",
    )
    return replace(
        base,
        to=chosen.id,
        action=f"POST .../pages/projects/{adapter.resource.split('/')[0]}/deployments/{chosen.id}/rollback",
        details=details,
    )


def plan_worker(adapter: DeploymentPlatform, target: str, to: str | None) -> Plan:
    """Choose the version to send 100% of traffic to, as ``wrangler rollback`` does, or ``to``.

    Deployments sorted by ``created_on`` descending, the current one dropped, the first
    that ran a single version at 100% wins.
    """
    deployments: list[Deployment] = sorted(
        adapter.list_deployments(), key=lambda d: d.created_on, reverse=True
    )
    current = next((d for d in deployments if d.active), deployments[0] if deployments else None)
    current_text = current.single_version or ",".join(v for v, _ in current.versions) if current else None
    base = Plan(adapter.platform, target, adapter.resource, current_text, None, "")
    if to is not None:
        by_deployment = next((d for d in deployments if d.id == to), None)
        version = by_deployment.single_version if by_deployment else to
        if version is None:
            raise UsageError(
                [Problem("--to", f"deployment {to} splits traffic between versions; name a version.")]
            )
        if not isinstance(adapter, VersionListReads):
            raise missing_read(adapter, VersionListReads, "a rollback to a named version")
        known = {v.id for v in adapter.list_versions()}
        if version not in known:
            raise UsageError(
                [
                    Problem(
                        "--to",
                        f"no version {to!r} of Worker {adapter.resource}; recent: "
                        f"{', '.join(sorted(known)[:5]) or '(none)'}.",
                    )
                ]
            )
        source = by_deployment
    else:
        earlier = [d for d in deployments if current is None or d.id != current.id]
        source = next((d for d in earlier if d.single_version is not None), None)
        if source is None:
            return replace(base, problem="no earlier deployment ran a single version at 100%")
        version = source.single_version
    if current is not None and current.single_version == version:
        return replace(base, to=version, problem=f"version {version} already serves 100% of traffic")
    details = (
        f"current: version {current_text} (deployment {current.id})" if current else "current: (none)",
        f"target:  version {version}" + (f" (from deployment {_describe(source)})" if source else ""),
    )
    return replace(
        base,
        to=version,
        action=f"POST .../workers/scripts/{adapter.resource}/deployments "
        f'{{"versions": [{{"version_id": "{version}", "percentage": 100}}]}}',
        details=details,
    )


def plan_convex(
    repo: Path, target: str, params: Mapping[str, Any], convex_dir: str, *, from_ref: str, to: str | None,
    evaluator: Evaluator = "auto", platform: str | None = None,
) -> Plan:
    """Choose the git ref to redeploy (``to``, else the previous commit that changed the folder)
    and run the schema guard from ``from_ref`` to it (``evaluator``: see :func:`check_schema`).

    ``platform`` names the target's platform (default: the first whose ``deploy_model`` is ``push``)."""
    live = resolve_ref(repo, from_ref, "--from")
    base = Plan(
        platform or next(s.name for s in all_specs() if s.deploy_model == "push"),
        target,
        str(params.get("deployment") or params.get("url") or target),
        from_ref,
        None,
        "",
        params=dict(params),
    )
    if to is None:
        to = previous_ref(repo, convex_dir, from_ref)
        if to is None:
            return replace(base, problem=f"no earlier commit changed {convex_dir}; pass --to REF")
    target_commit = resolve_ref(repo, to, "--to")
    if target_commit == live:
        return replace(base, to=to, problem=f"{to} is the live ref {from_ref}")
    diff = folder_diff(repo, convex_dir, live, target_commit)
    if not diff:
        return replace(
            base,
            to=to,
            problem=f"{convex_dir} is the same at {to} ({target_commit[:12]}) as at {from_ref}: the rollback "
            "would change nothing; pass --to an earlier REF that changed it",
        )
    guard = check_schema(repo, convex_dir, from_ref, to, evaluator)
    command = str(params.get("deploy_command") or "npx convex deploy")
    details = (
        f"current: {from_ref} ({live[:12]})",
        f"target:  {to} ({target_commit[:12]}), folder {convex_dir}",
        f"reverts ({convex_dir} from {live[:12]} to {target_commit[:12]}):",
        *(f"  {line}" for line in diff),
        f"schema guard: {guard.summary()}",
        *(f"  {line}" for line in guard.lines()),
    )
    return replace(
        base,
        to=to,
        guard=guard,
        details=details,
        action=f"check out {convex_dir} at {target_commit[:12]} into a temporary folder; run: {command}",
    )


def _checkout(repo: Path, commit: str, paths: list[str], dest: Path) -> None:
    """Extract ``paths`` as they are at ``commit`` into ``dest`` (``git archive``; no work tree touched)."""
    done = subprocess.run(
        ["git", "archive", "--format=tar", commit, "--", *paths],
        cwd=repo,
        capture_output=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        error = done.stderr.decode(errors="replace").strip()
        msg = f"git archive {commit[:12]} {' '.join(paths)} failed: {error}"
        raise RollbackError(msg)
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        archive.extractall(dest, filter="data")


def _command(text: str, checkout: Path, convex_dir: str, ref: str) -> list[str]:
    words = [w.replace("{dir}", str(checkout / convex_dir)).replace("{ref}", ref) for w in shlex.split(text)]
    if words and words[0] == "deploycheck":  # the same deploycheck, whatever PATH says
        return [
            sys.executable,
            "-c",
            "import sys; from deploycheck.cli import main; sys.exit(main())",
            *words[1:],
        ]
    return words


def _run_convex(plan: Plan, repo: Path, convex_dir: str, environ: Mapping[str, str], timeout: float) -> str:
    assert plan.to is not None
    commit = resolve_ref(repo, plan.to, "--to")
    deploy_cwd = str(plan.params.get("deploy_cwd") or "")
    paths = [convex_dir] + ([deploy_cwd] if deploy_cwd and not deploy_cwd.startswith(convex_dir) else [])
    command = str(plan.params.get("deploy_command") or "npx convex deploy")
    with tempfile.TemporaryDirectory(prefix="deploycheck-rollback-") as temp:
        checkout = Path(temp)
        _checkout(repo, commit, [p for p in paths if p not in {"", "."}] or ["."], checkout)
        cwd = checkout / deploy_cwd if deploy_cwd else checkout
        cwd.mkdir(parents=True, exist_ok=True)
        modules = repo / (deploy_cwd or convex_dir) / "node_modules"
        if modules.is_dir() and not (cwd / "node_modules").exists():
            (cwd / "node_modules").symlink_to(modules.resolve(), target_is_directory=True)
        args = _command(command, checkout, convex_dir, plan.to)
        env = {**os.environ, **environ, "DEPLOYCHECK_ROLLBACK_REF": commit}
        try:
            done = subprocess.run(
                args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RollbackError(f"convex: the deploy command {command!r} did not run: {exc}") from None
    output = redact((done.stdout + done.stderr).strip())
    if done.returncode != 0:
        tail = "\n".join(output.splitlines()[-15:])
        advice = (
            # the Convex CLI's line when the deployment's check of the stored documents fails
            "the deployment refused the target's schema: documents stored by the current code do not "
            "match it (above). Nothing was deployed; migrate those documents, or fix forward."
            if "Schema validation failed" in output
            else "Nothing else was changed; fix the command or the checkout and run the rollback again."
        )
        msg = f"convex: the deploy command {command!r} exited {done.returncode} at {plan.to}:\n{tail}\n"
        msg += advice
        raise RollbackError(msg)
    return output


def _secret_names(message: str) -> str:
    _, _, names = message.partition("have changed:")
    return names.strip().rstrip(".") or message


def execute(
    plan: Plan,
    adapter: DeploymentPlatform | None,
    *,
    force: bool,
    message: str,
    repo: Path | None = None,
    convex_dir: str = "",
    environ: Mapping[str, str] | None = None,
    timeout: float = 600.0,
) -> str:
    """Carry out ``plan``; return a one-line description of the new live state."""
    if not plan.is_possible or plan.to is None:
        raise RollbackError(f"{plan.platform}: cannot roll back: {plan.problem or 'no target'}")
    model = get_spec(plan.platform).deploy_model
    if model in ("deployment", "version") and adapter is None:
        raise RollbackError(f"{plan.platform}: cannot roll back: no adapter")
    if model == "deployment":
        assert adapter is not None
        deployment = adapter.roll_back(plan.to, message=message)
        return f"active deployment is now {deployment.id}"
    if model == "version":
        assert adapter is not None
        try:
            deployment = adapter.roll_back(plan.to, force=force, message=message)
        except PlatformError as exc:
            if str(exc.code) != "10220":
                raise
            names = _secret_names(exc.detail)
            msg = (
                f"{plan.platform}: the API refused the rollback to version {plan.to}: secrets changed "
                f"since that version: {names}. Rolling back would restore their old values. Re-run with "
                '--force --reason "why" to roll back anyway, or fix forward.'
            )
            raise RollbackError(msg) from None
        return f"deployment {deployment.id} sends 100% of traffic to version {plan.to}"
    if model == "push":
        assert repo is not None
        _run_convex(plan, repo, convex_dir, environ or {}, timeout)
        return f"Convex code deployed from {plan.to}"
    raise RollbackError(f"{plan.platform}: rollback is not supported")
