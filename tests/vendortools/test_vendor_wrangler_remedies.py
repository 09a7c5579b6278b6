"""The wrangler commands drift prints for secrets the table lacks, run by the wrangler under test.

``tests/drift/test_remedies_run.py`` runs them as printed (``npx wrangler ...``) with the wrangler
the example Worker pins; here the same printed arguments go to the wrangler of this env (the
current release under Node 22 in ``vendortools-node22``), so a wrangler that renamed an option
fails here.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from deploycheck.cli import main
from deploycheck.platforms import open_target
from deploycheck.platforms.base import VarChange

pytestmark = pytest.mark.sandbox
CONFIG = Path(__file__).resolve().parents[2] / "deploycheck.yaml"
WranglerRun = Callable[..., subprocess.CompletedProcess[str]]


def _finding(capsys: pytest.CaptureFixture[str], target: str, key: str) -> list[dict]:
    capsys.readouterr()
    main(["drift", "--env", "sandbox", "--config", str(CONFIG), "--target", target, "--format", "json"])
    return [f for f in json.loads(capsys.readouterr().out)["findings"] if f["key"] == key]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("CLOUDFLARE_WORKER", "npx wrangler secret delete LEFTOVER_TOKEN --name log-ingestion"),
        ("NEXTJS", "npx wrangler pages secret delete LEFTOVER_TOKEN --project-name app-web --env production"),
    ],
)
def test_the_printed_wrangler_remedy_removes_the_secret(
    target: str, expected: str, synced: Path, wrangler: WranglerRun, capsys: pytest.CaptureFixture[str]
) -> None:
    """A secret the table does not have: drift's vendor command, its words after `npx wrangler` given to this
    wrangler off a terminal, exits 0 and the finding is gone."""
    from deploycheck.config import load_config

    config = load_config(CONFIG)
    adapter = open_target(config, config.targets[target], "sandbox")
    assert adapter.apply_config([VarChange("LEFTOVER_TOKEN", "add", "leftover-value-123", True)]).ok
    [finding] = _finding(capsys, target, "LEFTOVER_TOKEN")
    assert finding["vendor_command"] == expected
    words = shlex.split(expected)
    assert words[:2] == ["npx", "wrangler"]
    done = wrangler(*words[2:])
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert _finding(capsys, target, "LEFTOVER_TOKEN") == []
