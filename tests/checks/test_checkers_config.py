"""Configuration checks: SoT presence and fingerprints, development values, required keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploycheck.config import Environment, Target, load_config
from deploycheck.platforms.base import ConfigState, RemoteVar
from deploycheck.redact import fingerprint
from deploycheck.sot import Entry
from deploycheck.verify import (
    ConfigSubject,
    config_matches_sot,
    dev_markers,
    no_dev_values,
    required_keys,
)

PROD = Environment(name="production", values="prod")
DEV = Environment(name="development", remote=False, values="dev")
TARGET = Target(name="CONVEX", platform="convex", required=("APP_ENV", "NEXT_PUBLIC_APP_URL"))
SECRET = "sk_live_verysecretvalue0123456789"


def entry(key: str, dev: str | None, prod: str | None, *, secret: bool = False) -> Entry:
    return Entry(("CONVEX",), "g", key, dev, prod, secret, 1, Path("app.env"))


def state(**values: str | None) -> ConfigState:
    return ConfigState("convex", "prod-x", {k: RemoteVar(k, v, secret=v is None) for k, v in values.items()})


ENTRIES = [
    entry("APP_ENV", "development", "production"),
    entry("CLERK_SECRET_KEY", "sk_test_devsecretvalue0123", SECRET, secret=True),
    entry("ONLY_DEV", "x", None),
]
SUBJECT = ConfigSubject(env=PROD, target=TARGET, resource="prod-x")


def test_matching_config_passes() -> None:
    """Every SoT key present with the same value passes; keys empty in the column are not expected."""
    verdict = config_matches_sot(SUBJECT, ENTRIES, state(APP_ENV="production", CLERK_SECRET_KEY=SECRET))
    assert verdict.outcome == "pass"


def test_missing_and_different_fail_with_fingerprints_and_command() -> None:
    """A missing key and a different value fail, naming platform, keys, fingerprints and the sync command."""
    other = "sk_live_othersecretvalue987654321"
    verdict = config_matches_sot(SUBJECT, ENTRIES, state(CLERK_SECRET_KEY=other))
    assert verdict.outcome == "fail"
    assert "convex prod-x (CONVEX)" in verdict.message
    assert "missing APP_ENV" in verdict.message
    assert f"platform {fingerprint(other)}, source of truth {fingerprint(SECRET)}" in verdict.message
    assert "--mode=deploy-prod --env production --target CONVEX --only APP_ENV --only CLERK_SECRET_KEY" in (
        verdict.message
    )
    assert SECRET not in verdict.message
    assert other not in verdict.message


def test_write_only_secret_counts_as_present() -> None:
    """A write-only secret (no readable value) is checked for presence only."""
    verdict = config_matches_sot(SUBJECT, ENTRIES, state(APP_ENV="production", CLERK_SECRET_KEY=None))
    assert verdict.outcome == "pass"


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("APP_ENV", "development", "holds its DEV_VALUE"),
        ("API_URL", "http://localhost:3000", "localhost"),
        ("API_URL", "http://127.0.0.1:8787/logs", "127.0.0.1"),
        (
            "CONVEX_URL",
            "https://dev-beaming-gull-639.convex.cloud",
            "development deployment dev-beaming-gull-639",
        ),
        ("CONVEX_DEPLOY_KEY", "dev:dev-x-1|secretpart", "development deploy key"),
    ],
)
def test_dev_values_in_production_fail(key: str, value: str, reason: str) -> None:
    """DEV_VALUEs, localhost addresses, dev deployment names and dev keys fail in production, without the value."""
    verdict = no_dev_values(SUBJECT, ENTRIES, state(**{key: value}), ("dev-beaming-gull-639",))
    assert verdict.outcome == "fail"
    assert reason in verdict.message
    assert key in verdict.message
    if "secret" in value:
        assert value not in verdict.message


def test_dev_value_check_passes_clean_production_and_skips_development() -> None:
    """Production values pass; a development environment is not checked for development values."""
    clean = state(APP_ENV="production", API_URL="https://api.example.com")
    assert no_dev_values(SUBJECT, ENTRIES, clean, ()).outcome == "pass"
    dev_subject = ConfigSubject(env=DEV, target=TARGET, resource="dev-x")
    assert no_dev_values(dev_subject, ENTRIES, state(APP_ENV="development"), ()).outcome == "skip"


def test_dev_value_equal_to_prod_is_not_a_dev_value() -> None:
    """A key whose DEV_VALUE equals its PROD_VALUE is not flagged."""
    same = [entry("ACCOUNT", "abc123", "abc123")]
    assert no_dev_values(SUBJECT, same, state(ACCOUNT="abc123"), ()).outcome == "pass"


def test_required_keys() -> None:
    """Required keys present pass; missing ones fail with the sync command or "add it to the SoT"."""
    assert required_keys(SUBJECT, state(APP_ENV="p", NEXT_PUBLIC_APP_URL="u"), []).outcome == "pass"
    verdict = required_keys(SUBJECT, state(), ["APP_ENV"])
    assert verdict.outcome == "fail"
    assert "--only APP_ENV" in verdict.message
    assert "add NEXT_PUBLIC_APP_URL to the source of truth for CONVEX" in verdict.message


def test_dev_markers_from_repository_config() -> None:
    """The development Convex deployment of deploycheck.yaml is a development marker."""
    assert "dev-beaming-gull-639" in dev_markers(load_config())
