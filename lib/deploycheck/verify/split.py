"""Split Worker deployments: which versions serve, each version's own health, and what checks say.

During a gradual deployment (``wrangler versions deploy A@90 B@10``, or ``deploycheck deploy
--gradual``) two versions of a Worker serve traffic at once against the same Durable
Objects. A plain ``/health`` read is answered by one of them at random, so checks ask each
version in turn, pinning it with Cloudflare's ``Cloudflare-Workers-Version-Overrides:
<script>="<version id>"`` header (honoured for versions of the active deployment), and
report each version's percentage, code version and the Durable Object state version it
expects.

The rollouts deploycheck drives leave a trail in the audit log (``operation:
deploy-gradual``); :func:`unfinished_rollout` finds one that never reached its end, so a
re-run or a rollback can tell a rollout of its own from a split made by hand.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from deploycheck.platforms.base import Deployment
from deploycheck.redact import redact
from deploycheck.verify.checkers import Verdict
from deploycheck.verify.probes import DEFAULT_TIMEOUT, HealthResult

if TYPE_CHECKING:
    import requests

__all__ = [
    "OVERRIDE_HEADER",
    "ROLLOUT_OPERATION",
    "Split",
    "active_split",
    "pinned_health",
    "split_state_versions",
    "split_state_versions_now",
    "split_worker_version",
    "unfinished_rollout",
]

#: Cloudflare's request header pinning the version of a split deployment that serves a request
OVERRIDE_HEADER = "Cloudflare-Workers-Version-Overrides"
#: the audit-log operation of each step of a gradual deploy
ROLLOUT_OPERATION = "deploy-gradual"
#: the phases after which a rollout is over
FINISHED_PHASES = frozenset({"done", "reverted", "resolved"})


@dataclass(frozen=True)
class Split:
    """The active deployment of a Worker when it serves more than one version."""

    deployment: str
    versions: tuple[tuple[str, float], ...]

    def describe(self) -> str:
        """``A 90%, B 10%``."""
        return ", ".join(f"{version} {share:g}%" for version, share in self.versions)

    def share(self, version: str) -> float:
        """The percentage of traffic ``version`` gets (0 when it is not in the split)."""
        return next((share for v, share in self.versions if v == version), 0.0)

    @property
    def ids(self) -> tuple[str, ...]:
        """The version ids, in the deployment's order."""
        return tuple(v for v, _ in self.versions)


def active_split(deployments: Iterable[Deployment]) -> Split | None:
    """The active deployment as a :class:`Split` when it serves several versions, else None."""
    active = next((d for d in deployments if d.active), None)
    if active is None or len(active.versions) < 2:
        return None
    return Split(active.id, tuple(active.versions))


def pinned_health(
    url: str,
    script: str,
    version: str,
    *,
    session: requests.Session | None = None,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> HealthResult:
    """GET the health ``url`` answered by ``version`` of ``script`` (pinned by the override header);
    never raises. An answer from another version (the platform ignored the pin) is an error naming both.
    """
    import requests  # imported when used: loading the plugin stays light (#21)

    headers = {"Accept": "application/json", OVERRIDE_HEADER: f'{script}="{version}"'}
    start = time.perf_counter()
    try:
        response = (session or requests).get(url, headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        elapsed = (time.perf_counter() - start) * 1000
        return HealthResult(url, None, elapsed_ms=elapsed, error=redact(type(exc).__name__))
    elapsed = (time.perf_counter() - start) * 1000
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return HealthResult(
            url,
            response.status_code,
            elapsed_ms=elapsed,
            error=f"HTTP {response.status_code}, no JSON object",
        )
    served = data.get("version")
    if served is not None and str(served) != version:
        error = f"pinned to version {version}, answered by version {served}"
        return HealthResult(url, response.status_code, data, elapsed, error=error)
    return HealthResult(url, response.status_code, data, elapsed)


def split_worker_version(split: Split, reported: str | None, expected: str | None, where: str) -> Verdict:
    """During a split: WARN naming both versions and their shares (FAIL when the expected or the
    reported version is not one of them)."""
    problems = []
    if expected and expected not in split.ids:
        problems.append(f"--expect-worker-version {expected} is not in the split ({split.describe()})")
    if reported and reported not in split.ids:
        problems.append(f"/health reports version {reported}, not in the split ({split.describe()})")
    if problems:
        return Verdict(
            "fail",
            f"{where}: {'; '.join(problems)}. Next step: finish or revert the rollout "
            "(deploycheck deploy --gradual --resume continue|revert)",
        )
    target = f"; {expected} gets {split.share(expected):g}%" if expected else ""
    return Verdict(
        "warn",
        f"{where}: gradual deployment in effect: {split.describe()}{target}; this answer came from "
        f"{reported or 'an unnamed version'}",
    )


def split_state_versions(
    split: Split, health: Mapping[str, HealthResult], expected_override: int | None, where: str
) -> Verdict:
    """The Durable Object state version each version of a split expects, against the one stored.

    WARN when every version reads the stored state (listing each); FAIL when a version that
    still serves expects an older state than the stored one (the newer version wrote state
    the older cannot read) or a newer one (migration not run), or did not answer.
    """
    lines: list[str] = []
    problems: list[str] = []
    stored: int | None = None
    for version, share in split.versions:
        result = health.get(version)
        if result is None or result.error:
            why = result.reason if result else "not read"
            problems.append(f"version {version} ({share:g}%) gave no health answer: {why}")
            continue
        expects = expected_override if expected_override is not None else result.expected_state_version
        stored = result.state_version if result.state_version is not None else stored
        lines.append(f"{version} ({share:g}%) expects state version {expects}")
        if expects is not None and result.state_version is not None and share > 0:
            if result.state_version > expects:
                problems.append(
                    f"version {version} serves {share:g}% but expects state version {expects}, older than "
                    f"the stored {result.state_version}: the newer version wrote state it cannot read"
                )
            elif result.state_version < expects:
                problems.append(
                    f"version {version} expects state version {expects}, the stored one is "
                    f"{result.state_version}: migration not run"
                )
    summary = f"{'; '.join(lines)}; the Durable Object holds state version {stored}"
    if problems:
        return Verdict(
            "fail",
            f"{where}: split {split.describe()}: {'; '.join(problems)} ({summary}). Next step: revert the "
            "rollout (deploycheck rollback cloudflare-worker) or ship code that reads both state versions",
        )
    return Verdict("warn", f"{where}: gradual deployment in effect: {summary}")


def split_state_versions_now(
    split: Split, health_url: str, script: str, expected_override: int | None, where: str
) -> Verdict:
    """:func:`split_state_versions` over a pinned ``/health`` read of each version of the split."""
    import requests

    with requests.Session() as session:
        health = {v: pinned_health(health_url, script, v, session=session) for v in split.ids}
    return split_state_versions(split, health, expected_override, where)


def unfinished_rollout(events: Sequence[Mapping[str, Any]], env: str, target: str) -> dict[str, Any] | None:
    """The last ``deploy-gradual`` event of ``env``/``target`` when that rollout never finished."""
    last: dict[str, Any] | None = None
    for event in events:
        if (
            event.get("operation") == ROLLOUT_OPERATION
            and event.get("env") == env
            and event.get("target") == target
        ):
            last = dict(event)
    if last is None or last.get("phase") in FINISHED_PHASES:
        return None
    return last
