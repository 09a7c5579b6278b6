"""The gates of one step of a gradual deploy: one round of probes, and what it decides.

A round asks the Worker's ``/health`` ``probes`` times pinned to the new version and as
many times pinned to the old one (Cloudflare's ``Cloudflare-Workers-Version-Overrides``
header), and as many times unpinned, as users arrive. Its gates:

- ``healthy-share``: the share of the new version's answers that say healthy, from the
  new version, is at least ``healthy_share``;
- ``latency``: the new version's median latency is at most ``latency_ratio`` times the
  old one's (never measured against less than ``latency_floor_ms``);
- ``traffic-share``: the new version answered at most the step's percentage plus
  ``tolerance`` points of the unpinned requests of the step so far (the platform splits as
  it was told), plus three standard deviations of that count (a split is drawn per request,
  so five requests at 10 % often give one or two to the new version by chance);
- ``state-version``: while the old version still serves, the Durable Object state is not
  newer than the old version expects (the new version wrote state the old one cannot read);
- ``checks``: the deployment checks of the Worker (run once per step, by the rollout).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from deploycheck.deploy.gradual.settings import GradualSettings
from deploycheck.verify import HealthResult
from deploycheck.verify.split import pinned_health

__all__ = ["GateCheck", "ProbeRound", "evaluate", "probe_round"]


@dataclass(frozen=True)
class GateCheck:
    """One gate's verdict in one round, with its figures."""

    gate: str
    passed: bool
    figures: str
    data: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """``healthy-share FAILED: 3 of 20 ...``."""
        return f"{self.gate} {'passed' if self.passed else 'FAILED'}: {self.figures}"


@dataclass(frozen=True)
class ProbeRound:
    """The answers of one round: pinned to the new version, pinned to the old one, unpinned."""

    new: tuple[HealthResult, ...]
    old: tuple[HealthResult, ...]
    unpinned_new: int
    unpinned: int


def _unpinned(url: str, session: requests.Session, count: int, new: str) -> tuple[int, int]:
    served = answered = 0
    for _ in range(count):
        try:
            response = session.get(url, headers={"Accept": "application/json"}, timeout=(5.0, 10.0))
            body = response.json()
        except (requests.RequestException, ValueError):
            continue
        answered += 1
        if isinstance(body, dict) and body.get("version") == new:
            served += 1
    return served, answered


def probe_round(
    url: str, script: str, old: str | None, new: str, probes: int, *, healthy_share: float = 0.0
) -> ProbeRound:
    """Ask ``url`` (the Worker's ``/health``) ``probes`` times per version and unpinned; never raises.

    The new version is asked first; when fewer than ``healthy_share`` of its answers are healthy
    the round ends there (the healthy-share gate has failed: the revert need not wait)."""
    with requests.Session() as session:
        fresh = tuple(pinned_health(url, script, new, session=session) for _ in range(probes))
        healthy = sum(1 for r in fresh if not r.error and r.status == "healthy" and r.http_status == 200)
        if healthy < healthy_share * len(fresh):
            return ProbeRound(fresh, (), 0, 0)
        stale = tuple(pinned_health(url, script, old, session=session) for _ in range(probes)) if old else ()
        served, answered = _unpinned(url, session, probes if old else 0, new)
    return ProbeRound(fresh, stale, served, answered)


def _median(results: Sequence[HealthResult]) -> float | None:
    times = [r.elapsed_ms for r in results if not r.error]
    return statistics.median(times) if times else None


def _healthy(results: Sequence[HealthResult], settings: GradualSettings) -> GateCheck:
    healthy = sum(1 for r in results if not r.error and r.status == "healthy" and r.http_status == 200)
    share = healthy / len(results) if results else 0.0
    worst = next((r for r in results if r.error or r.status != "healthy"), None)
    example = ""
    if worst is not None:
        code = f"HTTP {worst.http_status} " if worst.http_status is not None else ""
        example = f"; e.g. {code}{worst.status}{': ' + worst.reason if worst.reason else ''}"
    return GateCheck(
        "healthy-share",
        share >= settings.healthy_share,
        f"{healthy} of {len(results)} /health answers from the new version healthy ({share:.0%}, "
        f"threshold {settings.healthy_share:.0%}){example}",
        {"healthy": healthy, "probes": len(results), "share": round(share, 4)},
    )


def _latency(probe: ProbeRound, settings: GradualSettings) -> GateCheck | None:
    new, old = _median(probe.new), _median(probe.old)
    if new is None or old is None:
        return None
    limit = settings.latency_ratio * max(old, settings.latency_floor_ms)
    return GateCheck(
        "latency",
        new <= limit,
        f"median {new:.0f} ms on the new version, {old:.0f} ms on the old one (limit {limit:.0f} ms = "
        f"{settings.latency_ratio:g} x max(old, {settings.latency_floor_ms:g} ms))",
        {"new_ms": round(new, 1), "old_ms": round(old, 1), "limit_ms": round(limit, 1)},
    )


def _traffic(probe: ProbeRound, step: float, settings: GradualSettings) -> GateCheck | None:
    if not probe.unpinned:
        return None
    share = 100.0 * probe.unpinned_new / probe.unpinned
    p = step / 100.0
    noise = 300.0 * math.sqrt(p * (1 - p) / probe.unpinned)
    limit = step + settings.tolerance + noise
    return GateCheck(
        "traffic-share",
        share <= limit,
        f"the new version answered {probe.unpinned_new} of {probe.unpinned} unpinned requests ({share:.0f}%, "
        f"limit {step:g}% + {settings.tolerance:g} points + {noise:.0f} for chance = {limit:.0f}%)",
        {"served": probe.unpinned_new, "requests": probe.unpinned, "share": round(share, 1)},
    )


def _state(probe: ProbeRound) -> GateCheck | None:
    fresh = next((r for r in probe.new if not r.error and r.state_version is not None), None)
    stale = next((r for r in probe.old if not r.error and r.expected_state_version is not None), None)
    if fresh is None or stale is None:
        return None
    stored, new_expects = fresh.state_version, fresh.expected_state_version
    old_expects = stale.expected_state_version
    assert stored is not None and old_expects is not None
    figures = (
        f"the Durable Object holds state version {stored}; the new version expects {new_expects}, "
        f"the old one (still serving) expects {old_expects}"
    )
    if stored > old_expects:
        figures += ": the new version wrote state the old one cannot read"
    data = {"stored": stored, "new_expects": new_expects, "old_expects": old_expects}
    return GateCheck("state-version", stored <= old_expects, figures, data)


def evaluate(probe: ProbeRound, step: float, settings: GradualSettings) -> list[GateCheck]:
    """The gates of one round at ``step`` percent (the old-version gates only while it serves)."""
    checks: list[GateCheck | None] = [_healthy(probe.new, settings)]
    if step < 100:
        if settings.state_gate:
            checks.insert(0, _state(probe))
        checks += [_latency(probe, settings), _traffic(probe, step, settings)]
    return [c for c in checks if c is not None]
