"""The command line's start-up: `deploycheck --help` imports no HTTP, YAML, schema or crypto library.

Behavioural, not timed: the interpreter reports what it imported (`-X importtime`), and a
module that `--help` does not need must not be among them. The figures are in
docs/benchmarks.md (`python -m benchmarks --only startup`).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

#: libraries a run may need but `--help` never does
HEAVY = ("requests", "urllib3", "yaml", "jsonschema", "nacl", "deploycheck.platforms", "http.client")


def _imported(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "deploycheck", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


@pytest.mark.parametrize("args", [("--help",), ("--version",), ("drift", "--help"), ("sync-env", "--help")])
def test_help_imports_no_heavy_library(args: tuple[str, ...]) -> None:
    """`deploycheck --help` (and a subcommand's help) loads none of requests, yaml, jsonschema, nacl."""
    imported = _imported(*args)
    assert "deploycheck.cli" in imported  # the probe sees the package's own imports
    loaded = sorted(name for name in imported if name in HEAVY or name.split(".")[0] in HEAVY)
    assert loaded == [], f"`deploycheck {' '.join(args)}` imported {loaded}"


def test_rollback_help_still_lists_every_platform() -> None:
    """`deploycheck rollback --help` builds the per-platform commands that `--help` alone skips."""
    done = subprocess.run(
        [sys.executable, "-m", "deploycheck", "rollback", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for name in ("cloudflare-pages", "cloudflare-worker", "convex", "advise", "all"):
        assert name in done.stdout


def test_a_deferred_command_runs_when_named() -> None:
    """The summary-only rollback parser is never the one parsing a rollback command line."""
    from deploycheck.cli import build_parser

    args = build_parser(["rollback", "advise", "--severity", "high", "--impact", "all"]).parse_args(
        ["rollback", "advise", "--severity", "high", "--impact", "all"]
    )
    assert args.rollback_command == "advise"
    assert args.severity == "high"
