"""What the reusable GitHub Action (``action.yml``) runs: one command, its step summary and outputs.

:func:`run_ci_command` runs ``verify``, ``drift``, ``deploy`` or ``sync-env`` for one
environment, writes its reports to a folder, and returns a :class:`CiResult`: the
verdict, counts, the Markdown for ``$GITHUB_STEP_SUMMARY`` and the step outputs
(``verdict``, ``failed``, ``warned``, ``drift_findings``, ``exit_code``; after a deploy
also ``pages_deployment``, ``worker_version``, ``commit`` and ``expect_args``, the
``--expect-*`` options a later verification passes). :func:`write_outputs` and
:func:`append_summary` speak the runner's file commands, as ``@actions/core`` does
(``name<<delimiter`` blocks for values with newlines).
"""

from __future__ import annotations

import io
import json
import secrets
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from deploycheck.errors import Problem, UsageError
from deploycheck.redact import redact

if TYPE_CHECKING:
    from deploycheck.config import ProjectConfig

__all__ = ["COMMANDS", "CiRequest", "CiResult", "append_summary", "run_ci_command", "write_outputs"]

Command = Literal["verify", "drift", "deploy", "sync-env"]
COMMANDS: tuple[Command, ...] = ("verify", "drift", "deploy", "sync-env")


@dataclass
class CiResult:
    """The outcome of one command as the action reports it."""

    command: str
    env: str
    exit_code: int
    verdict: str
    summary: str
    failed: int = 0
    warned: int = 0
    drift_findings: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    def outputs(self) -> dict[str, str]:
        """The step outputs (strings, as the runner stores them)."""
        return {
            "verdict": self.verdict,
            "failed": str(self.failed),
            "warned": str(self.warned),
            "drift_findings": str(self.drift_findings),
            "exit_code": str(self.exit_code),
            **self.extra,
        }


def write_outputs(outputs: Mapping[str, str], environ: Mapping[str, str], out: TextIO = sys.stdout) -> None:
    """Append ``outputs`` to the file ``$GITHUB_OUTPUT`` names (or print them when it is not set)."""
    path = environ.get("GITHUB_OUTPUT")
    lines = []
    for name, value in outputs.items():
        text = redact(value)
        if "\n" in text or "\r" in text:
            delimiter = f"ghadelimiter_{secrets.token_hex(8)}"
            lines.append(f"{name}<<{delimiter}\n{text}\n{delimiter}\n")
        else:
            lines.append(f"{name}={text}\n")
    if not path:
        out.write("".join(f"output {line}" for line in lines if "<<" not in line))
        return
    _append(path, "".join(lines), "GITHUB_OUTPUT")


def append_summary(markdown: str, environ: Mapping[str, str]) -> bool:
    """Append ``markdown`` to ``$GITHUB_STEP_SUMMARY``; False when the variable is not set."""
    path = environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    _append(path, redact(markdown).rstrip("\n") + "\n\n", "GITHUB_STEP_SUMMARY")
    return True


def _append(path: str, text: str, variable: str) -> None:
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        msg = f"cannot append to {variable} {path}: {exc.strerror}"
        raise UsageError(
            [Problem(source=variable, message=msg, hint="Run inside a GitHub Actions step.")]
        ) from None


def _counts_from(results: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(results.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("checks"), list) else None


def _verification(command: str, env: str, code: int, results: Path, extra: dict[str, str]) -> CiResult:
    from deploycheck.report import render_markdown

    data = _counts_from(results)
    if data is None:
        summary = (
            f"## deploycheck {command}: {env}\n\n**No results**: the checks did not run (exit {code}).\n"
        )
        return CiResult(command, env, code or 1, "ERROR", summary, extra=extra)
    counts = data.get("counts") or {}
    failed = int(counts.get("fail", 0)) + int(counts.get("error", 0))
    verdict = str(data.get("verdict") or "ERROR")
    if code != 0 and verdict.startswith("PASSED"):
        verdict = "FAILED"  # e.g. --fail-on-warn, or a deploy step failed after its checks passed
    return CiResult(command, env, code, verdict, render_markdown(data), failed, int(counts.get("warn", 0)),
                    extra=extra)  # fmt: skip


@dataclass(frozen=True)
class CiRequest:
    """One command of the action: where, what for, and with which reports folder and extra arguments."""

    config: ProjectConfig
    env: str
    platforms: Sequence[str]
    report_dir: Path
    extra: Sequence[str]
    verify: bool
    environ: Mapping[str, str]
    out: TextIO
    #: runs a deploycheck command line (the CLI's ``main``), for commands only the CLI composes
    run_cli: Callable[[list[str]], int] | None = None


def _verify(req: CiRequest) -> CiResult:
    from deploycheck.deploy import run_command
    from deploycheck.verify import checks_command

    args = checks_command(req.config, req.env, req.platforms, report_dir=req.report_dir, extra=req.extra)
    done = run_command(args, cwd=req.config.root, environ=req.environ, timeout=3600, out=req.out)
    code = done.exit_code if done.exit_code is not None else 1
    return _verification("verify", req.env, code, req.report_dir / "results.json", {})


def _drift(req: CiRequest) -> CiResult:
    from deploycheck.drift import render_json, render_markdown, render_text, run_drift

    config, env, platforms, report_dir, out = req.config, req.env, req.platforms, req.report_dir, req.out
    targets = tuple(name for name, t in config.targets.items() if not platforms or t.platform in platforms)
    if platforms and not targets:
        msg = f"no target of {env} runs on {', '.join(platforms)}."
        raise UsageError([Problem(source="platforms", message=msg, hint="Check the platforms input.")])
    report = run_drift(config, env, targets=targets if platforms else None, environ=req.environ)
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "drift.json").write_text(render_json(report), encoding="utf-8")
    markdown = render_markdown(report)
    (report_dir / "drift.md").write_text(markdown, encoding="utf-8")
    out.write(render_text(report))
    code = report.exit_code
    verdict = {0: "PASSED", 1: "FAILED"}.get(code, "ERROR")
    return CiResult("drift", env, code, verdict, markdown, drift_findings=len(report.failing),
                    failed=len(report.failing))  # fmt: skip


def _deploy(req: CiRequest) -> CiResult:
    from deploycheck.deploy import DeployOptions, deploy, expectations

    env, verify = req.env, req.verify
    options = DeployOptions(env=env, platforms=tuple(req.platforms), yes=True, verify=verify,
                            report_dir=req.report_dir, environ=dict(req.environ))  # fmt: skip
    text = io.StringIO()
    report = deploy(req.config, options, text)
    req.out.write(text.getvalue())
    expect = expectations([o for o in report.outcomes if o.status == "deployed"])
    extra = {
        "pages_deployment": expect.get("--expect-pages-deployment", ""),
        "worker_version": expect.get("--expect-worker-version", ""),
        "commit": expect.get("--expect-commit", ""),
        "expect_args": shlex.join(item for pair in expect.items() for item in pair),
    }
    tail = "\n".join(line for line in text.getvalue().splitlines()[-40:] if line.strip())
    deployed = "\n".join(
        f"| {o.step.platform} | {o.step.target} | {o.status} | {_cell(o.reason)} |" for o in report.outcomes
    )
    table = "| Platform | Target | Status | Detail |\n| --- | --- | --- | --- |\n" + deployed
    if verify and report.verification is not None and report.verification.results is not None:
        result = _verification("deploy", env, report.exit_code, report.verification.results, extra)
        result.summary = f"## deploycheck deploy: {env}\n\n{table}\n\n{result.summary}"
        return result
    verdict = "PASSED" if report.exit_code == 0 else "FAILED"
    summary = f"## deploycheck deploy: {env}\n\n**{verdict}**\n\n{table}\n\n```\n{tail}\n```\n"
    failed = sum(1 for o in report.outcomes if o.status != "deployed")
    return CiResult("deploy", env, report.exit_code, verdict, summary, failed=failed, extra=extra)


def _sync(req: CiRequest) -> CiResult:
    if req.run_cli is None:
        msg = "sync-env needs the command line's runner (run_ci_command(..., run_cli=main))."
        raise UsageError([Problem(source="command", message=msg)])
    config, env, platforms, extra = req.config, req.env, req.platforms, req.extra
    mode = "deploy-prod" if config.environment(env).values == "prod" else "deploy-dev"
    targets = [
        f"--target={name}" for name, t in config.targets.items() if platforms and t.platform in platforms
    ]
    argv = [
        "sync-env",
        f"--mode={mode}",
        "--env",
        env,
        "--yes",
        "--config",
        str(config.path),
        *targets,
        *extra,
    ]
    code = req.run_cli(argv)
    verdict = "PASSED" if code == 0 else ("ERROR" if code in (2, 3) else "FAILED")
    summary = (
        f"## deploycheck sync-env: {env}\n\n**{verdict}**: `deploycheck {shlex.join(argv)}` exited {code}.\n"
    )
    return CiResult("sync-env", env, code, verdict, summary, failed=int(code != 0))


def _cell(text: object) -> str:
    return redact(str(text)).replace("|", "\\|").replace("\n", " ")


def run_ci_command(
    command: str,
    *,
    config: ProjectConfig,
    env: str,
    platforms: Sequence[str] = (),
    report_dir: Path,
    extra: Sequence[str] = (),
    verify: bool = True,
    environ: Mapping[str, str],
    out: TextIO = sys.stdout,
    run_cli: Callable[[list[str]], int] | None = None,
) -> CiResult:
    """Run one of :data:`COMMANDS` for ``env``, its reports in ``report_dir`` (see the module docstring)."""
    config.environment(env)  # an unknown environment is a ConfigError naming the valid ones
    req = CiRequest(config, env, tuple(platforms), report_dir, tuple(extra), verify, environ, out, run_cli)
    runners: dict[str, Callable[[CiRequest], CiResult]] = {
        "verify": _verify,
        "drift": _drift,
        "deploy": _deploy,
        "sync-env": _sync,
    }
    if command in runners:
        return runners[command](req)
    msg = f"unknown command {command!r}; valid: {', '.join(COMMANDS)}."
    raise UsageError([Problem(source="command", message=msg)])
