"""Fixtures of the sync tests: a project folder in tmp_path, the CLI run in-process, clean global state."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from deploycheck.cli import main
from deploycheck.config import ProjectConfig, load_config
from deploycheck.redact import fingerprint, redactor, set_fingerprint_key

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_SOT = REPO / "fixtures" / "example" / "app.env"
CORPUS = REPO / "fixtures" / "sot-corpus"


@pytest.fixture(autouse=True)
def _clean_globals(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with no registered secrets, the per-process fingerprint key, no sync env vars."""
    for name in ("DEPLOYCHECK_SOT", "DEPLOYCHECK_STATE_DIR", "DEPLOYCHECK_LOCK_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    redactor.clear()
    set_fingerprint_key(None)
    yield
    redactor.clear()
    set_fingerprint_key(None)


@dataclass
class Project:
    """A copy of the repository's deploycheck.yaml in a temporary folder, with a state dir beside it."""

    root: Path
    config_path: Path
    state_dir: Path

    @property
    def config(self) -> ProjectConfig:
        """The loaded copy of the configuration."""
        return load_config(self.config_path)

    def args(self, *extra: str, sot: Path | None = EXAMPLE_SOT) -> list[str]:
        """sync-env arguments pointing at this project's config, state dir and ``sot``."""
        out = ["sync-env", "--config", str(self.config_path), "--state-dir", str(self.state_dir)]
        if sot is not None:
            out += ["--sot", str(sot)]
        return out + list(extra)

    def files(self) -> list[Path]:
        """Every file under the project folder except the config itself."""
        return sorted(p for p in self.root.rglob("*") if p.is_file() and p != self.config_path)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A project folder in tmp_path: local files and the state dir land there, never in the repo."""
    root = tmp_path / "project"
    root.mkdir()
    config_path = root / "deploycheck.yaml"
    shutil.copy(REPO / "deploycheck.yaml", config_path)
    return Project(root=root, config_path=config_path, state_dir=root / "state")


@dataclass
class CliRun:
    """Exit code and captured output of one in-process CLI run."""

    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Any:
    """Run ``deploycheck.cli.main(argv)`` in-process and capture its output."""

    def run(argv: list[str]) -> CliRun:
        capsys.readouterr()
        code = main(argv)
        captured = capsys.readouterr()
        return CliRun(code, captured.out, captured.err)

    return run


def platform_values(state: dict[str, Any], repository: str = "example/app") -> dict[str, dict[str, str]]:
    """What each sandbox platform holds, by target name of deploycheck.yaml: {target: {key: value}}."""

    def value(item: Any) -> str:
        if isinstance(item, dict):
            return str(item.get("value", item.get("text", "")))
        return str(item)

    worker = state["cloudflare"]["workers"]["log-ingestion"]
    pages = state["cloudflare"]["pages"]["app-web"]["env_vars"]["production"]
    convex = state["convex"]["deployments"]["prod-graceful-shrimp-355"]["environment_variables"]
    github = state["github"]["repositories"][repository]["environments"]["production"]
    return {
        "CLOUDFLARE_WORKER": {
            **{k: value(v) for k, v in worker.get("vars", {}).items()},
            **{k: value(v) for k, v in worker.get("secrets", {}).items()},
        },
        "NEXTJS": {k: value(v) for k, v in pages.items() if v is not None},
        "CONVEX": {k: value(v) for k, v in convex.items()},
        "GITHUB": {
            **{k: value(v) for k, v in github.get("variables", {}).items()},
            **{k: value(v) for k, v in github.get("secrets", {}).items()},
        },
    }


def fingerprints(values: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """The same mapping with every value replaced by its fingerprint (safe to compare and print)."""
    return {t: {k: fingerprint(v) for k, v in keys.items()} for t, keys in values.items()}
