"""Fixtures of the rollback tests: a temporary git repository holding a Convex app and its config."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

CONFIG = """\
project: rollback-test
default_env: sandbox
sot: app.env
environments:
  sandbox:
    remote: true
    values: prod
    sandbox: true
  staging:
    remote: true
    values: dev
targets:
  CONVEX:
    platform: convex
    environments:
      sandbox:
        deployment: prod-graceful-shrimp-355
        deploy_command: deploycheck sandbox upload convex --dir {dir} --message "rollback {ref}"
      staging:
        deployment: prod-graceful-shrimp-355
        deploy_command: deploycheck sandbox upload convex --dir {dir}
rollback:
  order: [convex]
  convex_dir: convex
"""

MODULE = """\
import { query } from "./_generated/server";
export const list = query({ args: {}, handler: async (ctx) => await ctx.db.query("messages").collect() });
"""


class GitApp:
    """A git work tree with deploycheck.yaml and a Convex folder; ``commit`` records a schema."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.email", "test@example.com")
        self.git("config", "user.name", "Test")
        (root / "deploycheck.yaml").write_text(CONFIG)
        (root / "app.env").write_text("| TARGET | GROUP | KEY | DEV_VALUE | PROD_VALUE |\n|---|---|---|---|---|\n")
        (root / "convex").mkdir()
        (root / "convex" / "messages.ts").write_text(MODULE)

    def git(self, *args: str) -> str:
        """Run git in the repository and return its output."""
        done = subprocess.run(["git", *args], cwd=self.root, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    def commit(self, schema: str, message: str) -> str:
        """Write ``convex/schema.ts``, commit everything, and return the commit id."""
        (self.root / "convex" / "schema.ts").write_text(schema)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def git_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitApp:
    """A fresh git repository with a Convex app; the audit log goes to a temporary state dir."""
    monkeypatch.setenv("DEPLOYCHECK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("DEPLOYCHECK_SOT", raising=False)
    return GitApp(tmp_path / "app")


@pytest.fixture
def audit_lines(tmp_path: Path) -> Callable[[], list[dict[str, object]]]:
    """A function returning the audit log's events written so far."""
    import json

    def read() -> list[dict[str, object]]:
        files = list((tmp_path / "state").glob("*.audit.jsonl"))
        if not files:
            return []
        return [json.loads(line) for line in files[0].read_text().splitlines() if line.strip()]

    return read
