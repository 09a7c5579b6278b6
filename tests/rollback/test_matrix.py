"""The decision matrix and ``deploycheck rollback advise``."""

from __future__ import annotations

import pytest

from deploycheck.cli import main
from deploycheck.errors import ConfigError, UsageError
from deploycheck.rollback.matrix import (
    DEFAULT_MATRIX,
    decide,
    load_matrix,
    normalize_impact,
    normalize_severity,
)

SEED_ROWS = [
    # severity, impact as the seed writes it, platform line, action, timeline
    ("Critical", "All users", "cloudflare-pages:", "immediate rollback", "< 5 min"),
    ("Critical", "All users", "convex (with schema changes):", "immediate rollback", "< 5 min"),
    ("High", ">50% users", "cloudflare-pages:", "quick rollback", "< 15 min"),
    ("High", ">50% users", "cloudflare-worker:", "quick rollback", "< 15 min"),
    ("High", ">50% users", "convex (with schema changes):", "investigate first", "< 30 min"),
    ("High", ">50% users", "convex (no schema changes):", "quick rollback", "< 15 min"),
    ("Medium", "<50% users", "cloudflare-worker:", "forward fix", "< 1 hour"),
    ("Medium", "<50% users", "convex (with schema changes):", "forward fix", "< 1 hour"),
]


@pytest.mark.parametrize(("severity", "impact", "platform", "action", "timeline"), SEED_ROWS)
def test_advise_prints_the_seed_matrix_decision(
    severity: str, impact: str, platform: str, action: str, timeline: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``rollback advise`` prints each row of the seed's decision matrix for its platforms."""
    assert main(["rollback", "advise", "--severity", severity, "--impact", impact]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.strip().startswith(platform))
    assert f"{action}, {timeline}" in line


@pytest.mark.parametrize(
    ("args", "listed"),
    [
        (["--severity", "sev1", "--impact", "all"], "valid: critical, high, medium, low"),
        (["--severity", "high", "--impact", "half"], "valid: all"),
    ],
)
def test_unknown_severity_or_impact_lists_the_valid_ones(
    args: list[str], listed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown severity or impact exits 2 and names the valid choices."""
    assert main(["rollback", "advise", *args]) == 2
    assert listed in capsys.readouterr().err


@pytest.mark.parametrize(("text", "name"), [("all", "all"), ("All users", "all"), (">50%", "majority"),
                                            ("> 50% users", "majority"), ("minority", "minority"),
                                            ("<50% users", "minority")])
def test_impact_spellings(text: str, name: str) -> None:
    """Command-line names and the seed's spellings of impact both work."""
    assert normalize_impact(text) == name


def test_low_severity_is_a_forward_fix() -> None:
    """Low severity, whatever the impact, is a forward fix."""
    decision = decide(DEFAULT_MATRIX, normalize_severity("low"), "all", "cloudflare-worker")
    assert decision.row.action == "forward fix" and not decision.is_rollback


def test_combination_missing_from_matrix_falls_back_with_a_note() -> None:
    """A severity with an impact the matrix lacks uses that severity's row and says so."""
    decision = decide(DEFAULT_MATRIX, "high", "minority", "cloudflare-pages")
    assert decision.row.action == "quick rollback"
    assert "no matrix row" in decision.note


def test_matrix_from_config_replaces_the_default() -> None:
    """``rollback.matrix`` rows replace the default; severities come from them."""
    matrix = load_matrix([{"severity": "sev1", "impact": ">50%", "action": "page everyone", "timeline": "now",
                           "platforms": ["all"]}])
    assert normalize_severity("SEV1", matrix) == "sev1"
    assert decide(matrix, "sev1", "majority", "convex").row.action == "page everyone"
    with pytest.raises(UsageError):
        normalize_severity("critical", matrix)


def test_bad_matrix_rows_are_all_reported() -> None:
    """Unknown impacts, platforms and conditions in the configured matrix are reported together."""
    with pytest.raises(ConfigError) as info:
        load_matrix([{"severity": "x", "impact": "lots", "action": "a", "timeline": "t", "platforms": ["heroku"],
                      "when": "sometimes"}])
    assert len(info.value.problems) == 3
