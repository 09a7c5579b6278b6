"""Configuration: each platform holds what the source of truth assigns it, and no development value.

One test per target, ids ``test_config_matches_sot[production-app-web]``. Values are
compared by fingerprint and never shown; each failure names the platform, the key and
the sync-env command that fixes it.
"""

from __future__ import annotations

import pytest

from deploycheck.verify import (
    ConfigSubject,
    config_matches_sot,
    dev_markers,
    no_dev_values,
    required_keys,
)


def _subject(target, dc_env) -> ConfigSubject:
    return ConfigSubject(env=dc_env, target=target.target, resource=target.resource)


def _entries(request, target) -> list:
    """The SoT rows of the target, or none when the SoT is not on this machine."""
    try:
        sot = request.getfixturevalue("dc_sot")
    except pytest.skip.Exception:
        return []
    return sot.for_target(target.name)


def test_config_matches_sot(target, dc_sot, platform_config, dc_env, judge) -> None:
    """Every key the SoT assigns to the target is on its platform, readable values matching by fingerprint."""
    entries = dc_sot.for_target(target.name)
    if not entries:
        pytest.skip(f"the source of truth assigns no key to {target.name}")
    judge(config_matches_sot(_subject(target, dc_env), entries, platform_config))


def test_config_no_dev_values(request, target, platform_config, dc_config, dc_env, judge) -> None:
    """A production environment holds no DEV_VALUE, localhost / 127.0.0.1 address or dev deployment name."""
    entries = _entries(request, target)
    judge(no_dev_values(_subject(target, dc_env), entries, platform_config, dev_markers(dc_config)))


def test_config_required_keys(request, target, platform_config, dc_env, judge) -> None:
    """Every key in targets.<TARGET>.required is present on the platform."""
    keys = [entry.key for entry in _entries(request, target)]
    judge(required_keys(_subject(target, dc_env), platform_config, keys))
