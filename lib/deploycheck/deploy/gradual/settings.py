"""What a gradual deploy does, from ``deploy.gradual.<TARGET>`` of deploycheck.yaml and ``--gradual``.

::

    deploy:
      gradual:
        CLOUDFLARE_WORKER:
          steps: [10, 50, 100]   # percentages of traffic on the new version, ending at 100
          soak_s: 60             # how long each step holds before the next
          interval_s: 5          # one gate round every interval_s during the soak
          probes: 20             # /health answers per version per round
          healthy_share: 0.95    # share of the new version's answers that must be healthy
          latency_ratio: 2.0     # new version's median latency at most this times the old one's
          latency_floor_ms: 100  # ... measured against at least this many ms (loopback noise)
          tolerance: 10          # points above the step the new version may serve of unpinned traffic
          state_gate: true       # fail when the new version writes state the old one cannot read
          verify: true           # run the Worker checks at each step
          upload_command: npx wrangler versions upload --env production   # default: from deploy_command

A target listed there deploys gradually on every ``deploycheck deploy``; ``--gradual
10,50,100`` does so for every Worker target (with these settings, or the defaults) and
replaces the steps.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from deploycheck.config import ProjectConfig, Target
from deploycheck.errors import ConfigError, Problem, UsageError
from deploycheck.platforms import get_spec

__all__ = ["GradualSettings", "gradual_targets", "parse_steps"]


@dataclass(frozen=True)
class GradualSettings:
    """The steps, soak, probes and gate thresholds of one target's gradual deploy."""

    target: str
    upload_command: str
    steps: tuple[float, ...] = (10.0, 50.0, 100.0)
    soak_s: float = 60.0
    interval_s: float = 5.0
    probes: int = 20
    healthy_share: float = 0.95
    latency_ratio: float = 2.0
    latency_floor_ms: float = 100.0
    tolerance: float = 10.0
    state_gate: bool = True
    verify: bool = True

    def describe(self) -> str:
        """``10% -> 50% -> 100%, soak 60 s per step, ...``: how the plan prints it."""
        steps = " -> ".join(f"{s:g}%" for s in self.steps)
        return (
            f"{steps}; soak {self.soak_s:g} s per step, a gate round every {self.interval_s:g} s of "
            f"{self.probes} probe(s) per version: healthy >= {self.healthy_share:.0%}, latency <= "
            f"{self.latency_ratio:g}x the old version's (floor {self.latency_floor_ms:g} ms), traffic <= "
            f"step + {self.tolerance:g} points"
            + (", Durable Object state readable by both" if self.state_gate else "")
        )


def parse_steps(text: str, source: str = "--gradual") -> tuple[float, ...]:
    """``"10,50,100"`` -> ``(10.0, 50.0, 100.0)``; UsageError unless rising percentages ending at 100."""
    try:
        steps = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        steps = ()
    problem = _steps_problem(steps)
    if problem:
        raise UsageError([Problem(source, f"{problem}, got {text!r}.", hint="e.g. --gradual 10,50,100")])
    return steps


def _steps_problem(steps: Sequence[float]) -> str:
    if not steps:
        return "steps must be comma-separated percentages"
    if any(not 0 < s <= 100 for s in steps):
        return "every step must be a percentage above 0 and at most 100"
    if any(b <= a for a, b in itertools.pairwise(steps)):
        return "steps must rise"
    if steps[-1] != 100:
        return "the last step must be 100 (a gradual deploy ends with the new version serving all traffic)"
    return ""


def _settings(
    config: ProjectConfig, target: Target, env: str, raw: Mapping[str, Any], steps: tuple[float, ...] | None
) -> GradualSettings:
    where = f"deploy.gradual.{target.name}"
    params = target.params(env) or {}
    spec = get_spec(target.platform)
    upload = raw.get("upload_command")
    if not upload and spec.version_upload is not None:
        command = str(params.get("deploy_command") or spec.deploy_command or "")
        upload = spec.version_upload(command)
    if not upload:
        raise ConfigError(
            [
                Problem(
                    str(config.path),
                    f"no upload command for the gradual deploy of {target.name}: its deploy command "
                    "is not `wrangler deploy`, so the upload of a version that serves no traffic "
                    "cannot be made from it.",
                    config.line_of(where),
                    f"{where}.upload_command",
                    "Set upload_command (e.g. npx wrangler versions upload --env production).",
                )
            ]
        )
    known = {f.name for f in fields(GradualSettings)} - {"target", "upload_command"}
    values = {k: v for k, v in raw.items() if k in known}
    if "steps" in values:
        values["steps"] = tuple(float(s) for s in values["steps"])
        problem = _steps_problem(values["steps"])
        if problem:
            raise ConfigError(
                [Problem(str(config.path), f"{problem}.", config.line_of(where), f"{where}.steps")]
            )
    made = GradualSettings(target=target.name, upload_command=str(upload), **values)
    return replace(made, steps=steps) if steps else made


def gradual_targets(
    config: ProjectConfig,
    env: str,
    targets: Sequence[Target],
    steps: tuple[float, ...] | None,
    *,
    asked: bool,
) -> dict[str, GradualSettings]:
    """target name -> settings of each target of ``targets`` deployed gradually.

    A target with ``deploy.gradual.<TARGET>`` is; with ``asked`` (``--gradual``) every target of a
    platform that can is. UsageError when ``--gradual`` finds no such target; ConfigError for a
    ``deploy.gradual`` entry naming an unknown target or one whose platform has no gradual deploys.
    """
    configured: Mapping[str, Any] = config.deploy.get("gradual") or {}
    problems: list[Problem] = []
    for name in configured:
        target = config.targets.get(name)
        if target is None or get_spec(target.platform).version_upload is None:
            why = (
                "is not a target"
                if target is None
                else f"is a {target.platform} target, which has no gradual deploys"
            )
            problems.append(
                Problem(
                    str(config.path),
                    f"{name!r} {why}.",
                    config.line_of(f"deploy.gradual.{name}"),
                    f"deploy.gradual.{name}",
                    "List Worker targets (cloudflare-worker) only.",
                )
            )
    if problems:
        raise ConfigError(problems)
    chosen: dict[str, GradualSettings] = {}
    for target in targets:
        can = get_spec(target.platform).version_upload is not None
        if target.name in configured or (asked and can):
            chosen[target.name] = _settings(
                config, target, env, dict(configured.get(target.name) or {}), steps
            )
    if asked and not chosen:
        raise UsageError(
            [
                Problem(
                    "--gradual",
                    f"no target deployed in {env!r} can be deployed gradually "
                    "(only Cloudflare Worker targets can).",
                )
            ]
        )
    return chosen
