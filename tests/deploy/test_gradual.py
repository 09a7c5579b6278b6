"""Gradual deploys without a sandbox: steps, settings, the gates' decisions, split verdicts, the matrix."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploycheck.cli import main
from deploycheck.config import load_config
from deploycheck.deploy.gradual import GradualSettings, evaluate, gradual_targets, parse_steps
from deploycheck.deploy.gradual.gates import ProbeRound
from deploycheck.errors import ConfigError, UsageError
from deploycheck.platforms import get_spec
from deploycheck.platforms.base import Deployment
from deploycheck.rollback.matrix import DEFAULT_MATRIX, decide
from deploycheck.verify import HealthResult
from deploycheck.verify.split import (
    active_split,
    split_state_versions,
    split_worker_version,
    unfinished_rollout,
)

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = GradualSettings(target="CLOUDFLARE_WORKER", upload_command="npx wrangler versions upload")


def health(status: str = "healthy", ms: float = 10.0, state: int = 2, expects: int = 2) -> HealthResult:
    """A parsed /health answer."""
    data = {"status": status, "version": "v", "state_version": state, "expected_state_version": expects}
    return HealthResult("http://w/health", 200 if status == "healthy" else 503, data, ms)


def probe(new: list[HealthResult], old: list[HealthResult], served: int = 1, answered: int = 10) -> ProbeRound:
    """One round's answers."""
    return ProbeRound(tuple(new), tuple(old), served, answered)


@pytest.mark.parametrize(
    ("text", "steps"), [("10,50,100", (10.0, 50.0, 100.0)), ("100", (100.0,)), ("1, 5,25 ,100", (1.0, 5.0, 25.0, 100.0))]
)
def test_steps_parse_rising_percentages_ending_at_100(text: str, steps: tuple[float, ...]) -> None:
    """--gradual takes comma-separated rising percentages that end at 100."""
    assert parse_steps(text) == steps


@pytest.mark.parametrize(
    ("text", "message"),
    [("10,50", "last step must be 100"), ("50,10,100", "must rise"), ("0,100", "above 0"),
     ("10,abc,100", "comma-separated"), ("10,150", "at most 100")],
)  # fmt: skip
def test_bad_steps_are_a_usage_error_naming_the_rule(text: str, message: str) -> None:
    """Steps that do not rise, exceed 100, do not end at 100 or are not numbers are refused."""
    with pytest.raises(UsageError, match=message):
        parse_steps(text)


def test_cli_refuses_bad_steps_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """`deploy --gradual 10,50` exits 2 before anything runs, saying the last step must be 100."""
    assert main(["deploy", "--env", "sandbox", "--gradual", "10,50", "--dry-run"]) == 2
    assert "the last step must be 100" in capsys.readouterr().err


def test_the_upload_command_comes_from_wrangler_deploy() -> None:
    """`wrangler deploy ... --keep-vars` becomes `wrangler versions upload ...` (which has no --keep-vars)."""
    upload = get_spec("cloudflare-worker").version_upload
    assert upload is not None
    assert upload("npx wrangler deploy --env production --keep-vars") == "npx wrangler versions upload --env production"
    assert upload("./deploy.sh") is None


def test_gradual_targets_from_the_flag_and_the_config(tmp_path: Path) -> None:
    """--gradual makes every Worker target gradual with the default gates; deploy.gradual sets its own;
    a deploy.gradual entry that is not a Worker target is a ConfigError naming it."""
    config = load_config(ROOT / "deploycheck.yaml")
    targets = [config.targets[name] for name in ("CONVEX", "CLOUDFLARE_WORKER")]
    chosen = gradual_targets(config, "sandbox", targets, (25.0, 100.0), asked=True)
    assert list(chosen) == ["CLOUDFLARE_WORKER"]
    assert chosen["CLOUDFLARE_WORKER"].steps == (25.0, 100.0)
    assert chosen["CLOUDFLARE_WORKER"].upload_command == "npx wrangler versions upload --env production"
    assert gradual_targets(config, "sandbox", targets, None, asked=False) == {}
    with pytest.raises(UsageError, match="can be deployed gradually"):
        gradual_targets(config, "sandbox", targets[:1], None, asked=True)
    config.deploy["gradual"] = {"CLOUDFLARE_WORKER": {"soak_s": 1, "steps": [5, 100]}, "CONVEX": {}}
    with pytest.raises(ConfigError, match="'CONVEX' is a convex target, which has no gradual deploys"):
        gradual_targets(config, "sandbox", targets, None, asked=False)
    del config.deploy["gradual"]["CONVEX"]
    chosen = gradual_targets(config, "sandbox", targets, None, asked=False)
    assert chosen["CLOUDFLARE_WORKER"].steps == (5.0, 100.0) and chosen["CLOUDFLARE_WORKER"].soak_s == 1


def test_a_healthy_round_passes_every_gate() -> None:
    """Healthy, as fast as the old version, its share of traffic, same state: every gate passes."""
    results = evaluate(probe([health()] * 5, [health()] * 5, served=2, answered=20), 10.0, SETTINGS)
    assert [(g.gate, g.passed) for g in results] == [
        ("state-version", True), ("healthy-share", True), ("latency", True), ("traffic-share", True),
    ]


def test_unhealthy_answers_fail_the_healthy_share_with_figures() -> None:
    """2 of 5 healthy is 40 %, under the 95 % threshold: the gate fails and says why, with an example."""
    new = [health(), health(), health("unhealthy"), health("unhealthy"), health("unhealthy")]
    gate = next(g for g in evaluate(probe(new, [health()] * 5), 10.0, SETTINGS) if g.gate == "healthy-share")
    assert not gate.passed
    assert gate.figures.startswith("2 of 5 /health answers from the new version healthy (40%, threshold 95%)")
    assert "HTTP 503 unhealthy" in gate.figures


def test_a_slow_new_version_fails_the_latency_gate_but_loopback_noise_does_not() -> None:
    """500 ms against 100 ms fails (limit 2 x 100); 9 ms against 3 ms passes (the floor is 100 ms)."""
    slow = evaluate(probe([health(ms=500)] * 5, [health(ms=100)] * 5), 50.0, SETTINGS)
    assert not next(g for g in slow if g.gate == "latency").passed
    noise = evaluate(probe([health(ms=9)] * 5, [health(ms=3)] * 5), 50.0, SETTINGS)
    assert next(g for g in noise if g.gate == "latency").passed


def test_the_traffic_share_allows_for_chance_but_not_for_a_split_ignored() -> None:
    """1 of 5 at 10 % is chance; 20 of 20 at 10 % means the platform sends everything to the new version."""
    chance = evaluate(probe([health()] * 5, [health()] * 5, served=1, answered=5), 10.0, SETTINGS)
    assert next(g for g in chance if g.gate == "traffic-share").passed
    ignored = evaluate(probe([health()] * 5, [health()] * 5, served=20, answered=20), 10.0, SETTINGS)
    assert not next(g for g in ignored if g.gate == "traffic-share").passed


def test_state_the_old_version_cannot_read_fails_the_state_gate_while_it_serves() -> None:
    """The new version migrated to 3, the old one expects 2: the state gate fails at 10 %, and at 100 %
    (the old one no longer serves) only the health gate is asked."""
    new, old = [health(state=3, expects=3)] * 5, [health(state=3, expects=2)] * 5
    gate = evaluate(probe(new, old), 10.0, SETTINGS)[0]
    assert (gate.gate, gate.passed) == ("state-version", False)
    assert "the new version wrote state the old one cannot read" in gate.figures
    assert [g.gate for g in evaluate(probe(new, []), 100.0, SETTINGS)] == ["healthy-share"]


def test_split_verdicts_warn_naming_both_versions_and_fail_on_unreadable_state() -> None:
    """During a split the version check WARNs with both versions and shares; the state check WARNs
    listing what each expects, and FAILs when a serving version expects older state than stored."""
    split = active_split([Deployment("d", "t", True, versions=(("A", 90.0), ("B", 10.0)))])
    assert split is not None and split.describe() == "A 90%, B 10%"
    verdict = split_worker_version(split, "A", "B", "worker w")
    assert verdict.outcome == "warn" and "A 90%, B 10%" in verdict.message and "B gets 10%" in verdict.message
    assert split_worker_version(split, "C", None, "worker w").outcome == "fail"
    same = split_state_versions(split, {"A": health(), "B": health()}, None, "worker w")
    assert same.outcome == "warn"
    assert "A (90%) expects state version 2; B (10%) expects state version 2" in same.message
    ahead = split_state_versions(split, {"A": health(state=3), "B": health(state=3, expects=3)}, None, "w")
    assert ahead.outcome == "fail" and "the newer version wrote state it cannot read" in ahead.message


def test_an_unfinished_rollout_is_the_last_one_not_done() -> None:
    """The audit trail's last deploy-gradual event of the target tells whether the rollout ended."""
    event = {"operation": "deploy-gradual", "env": "e", "target": "T"}
    started = [{**event, "phase": "start"}, {**event, "phase": "step", "percent": 10}]
    assert unfinished_rollout(started, "e", "T") == started[-1]
    assert unfinished_rollout([*started, {**event, "phase": "done"}], "e", "T") is None
    assert unfinished_rollout(started, "e", "OTHER") is None


def test_the_matrix_stops_a_gradual_rollout_before_rolling_back() -> None:
    """During a split, every severity's Worker decision is to stop the rollout; without one the seed's
    rows hold (high, majority: quick rollback)."""
    for severity in ("critical", "high", "medium", "low"):
        decision = decide(DEFAULT_MATRIX, severity, "minority", "cloudflare-worker", gradual=True)
        assert decision.row.action.startswith("stop the rollout") and not decision.is_rollback
    plain = decide(DEFAULT_MATRIX, "high", "majority", "cloudflare-worker")
    assert plain.row.action == "quick rollback"
    assert decide(DEFAULT_MATRIX, "high", "majority", "cloudflare-pages", gradual=True).row.action == "quick rollback"


def test_advise_shows_the_gradual_case(capsys: pytest.CaptureFixture[str]) -> None:
    """`rollback advise` prints the Worker's gradual-rollout row beside the usual one."""
    assert main(["rollback", "advise", "--severity", "high", "--impact", "majority"]) == 0
    out = capsys.readouterr().out
    assert "cloudflare-worker (during a gradual rollout): stop the rollout (0% to the new version), < 5 min" in out
