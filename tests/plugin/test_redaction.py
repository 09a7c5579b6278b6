"""Secrets never leak: canary secrets touched every way a check can, then every output scanned."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

PIECE = 8

CHECKS = """
    import logging
    import os
    import sys

    import pytest
    import deploycheck

    TOKEN = os.environ["API_TOKEN"]
    GH = os.environ["GITHUB_TOKEN"]
    SOT = os.environ["CANARY_SOT"]
    log = logging.getLogger("checks")


    def test_prints_and_logs_then_fails():
        print("token:", TOKEN, "sot:", SOT)
        print("gh:", GH, file=sys.stderr)
        log.warning("logging the token %s", TOKEN)
        log.info("and the github one %s", GH)
        assert TOKEN == "not-the-token"


    def test_passes_after_printing():
        print("passing with", TOKEN, SOT, GH)
        log.warning("sot %s", SOT)


    def test_assert_in_structure():
        assert {"token": TOKEN, "gh": GH} == {"token": "x", "gh": "y"}


    def test_assert_substring():
        assert TOKEN[:12] in "nothing here"


    def test_raises_with_secret():
        raise RuntimeError(f"could not authenticate with {GH} (sot {SOT})")


    def test_fail_message():
        pytest.fail(f"explicit failure showing {TOKEN}")


    def test_warns_with_secret():
        deploycheck.warn(f"token about to expire: {TOKEN}")


    @pytest.mark.severity("warn")
    def test_severity_warn_with_secret():
        assert SOT.endswith("zz"), f"sot value {SOT} looks odd"


    def test_property(record_property):
        record_property("token", TOKEN)


    @pytest.mark.parametrize("value", [TOKEN, "plain"])
    def test_parametrized(value):
        assert value


    def test_locals():
        local_secret = GH
        assert local_secret is None
"""


def _canary() -> str:
    return "CANARY-" + secrets.token_hex(12)


def _pieces(value: str) -> set[str]:
    return {value[i : i + PIECE] for i in range(len(value) - PIECE + 1)}


def _leaks(text: str, canaries: list[str]) -> list[str]:
    return sorted({piece for canary in canaries for piece in _pieces(canary) if piece in text})


@pytest.fixture
def canary_project(project: pytest.Pytester, write_check, monkeypatch) -> tuple[pytest.Pytester, list[str]]:
    """A project whose run knows three canary secrets: a secret setting, a credential, a SoT secret."""
    token, github, sot = _canary(), _canary(), _canary()
    sot_file = project.path / "app.env"
    sot_file.write_text(
        "| TARGET | GROUP | KEY | DEV_VALUE | PROD_VALUE |\n"
        "|---|---|---|---|---|\n"
        f"| WORKER | Hooks | WEBHOOK_SECRET | {sot} | {sot}-prod |\n"
    )
    monkeypatch.setenv("DEPLOYCHECK_SOT", str(sot_file))
    monkeypatch.setenv("API_TOKEN", token)
    monkeypatch.setenv("GITHUB_TOKEN", github)
    monkeypatch.setenv("CANARY_SOT", sot)
    write_check(CHECKS)
    return project, [token, github, sot, f"{sot}-prod"]


@pytest.mark.parametrize(
    "args",
    [["-rA", "-l", "-vv"], ["-n", "2", "-rA", "-l"], ["--log-cli-level=INFO", "-vv"]],
    ids=["serial", "xdist", "live-logs"],
)
def test_canaries_leak_nowhere(canary_project, args):
    """No canary, nor any 8-character piece of one, appears in stdout, stderr, report.html, junit.xml or results.json."""
    project, canaries = canary_project
    result = project.runpytest_subprocess(*args)
    assert result.ret == 1
    outputs = {"stdout": result.stdout.str(), "stderr": result.stderr.str()}
    reports = project.path / "reports"
    for name in ("report.html", "junit.xml", "results.json"):
        outputs[name] = (reports / name).read_text()
    for name, text in outputs.items():
        assert _leaks(text, canaries) == [], f"canary pieces leaked into {name}"
    # the checks did run and did touch the secrets: masks are visible where the values were
    assert "token: ***" in outputs["stdout"] or "token: ***" in outputs["report.html"]
    assert "masked leftover secret" not in outputs["stderr"], "the report path leaked; only the last scrub caught it"
    assert "warned" in result.stdout.lines[-1]


def test_secret_comparison_is_explained_by_fingerprint(canary_project):
    """A failed comparison involving a secret shows fingerprints, not a diff."""
    project, _ = canary_project
    result = project.runpytest_subprocess("-k", "prints_and_logs")
    result.stdout.fnmatch_lines(["*<secret> == <value>: values hidden; fingerprints:*", "*left:  sha256:*"])


def test_without_the_plugin_canaries_do_leak(canary_project):
    """Control: the same checks with the plugin disabled print the canaries (the scan can fail)."""
    project, canaries = canary_project
    result = project.runpytest_subprocess("-p", "no:deploycheck", "-rA")
    assert _leaks(result.stdout.str(), canaries)


def test_scan_detects_a_leak(tmp_path: Path):
    """The scan itself finds a single 8-character piece of a canary (so a clean scan means something)."""
    canary = _canary()
    assert _leaks(f"prefix {canary[5:13]} suffix", [canary]) == [canary[5:13]]
    assert _leaks("nothing", [canary]) == []
