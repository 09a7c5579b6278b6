"""Fixtures of the state backend tests: a project whose ``state:`` names a bucket on moto's server.

The server and the per-test bucket are the ``moto_url`` and ``bucket`` fixtures of
tests/s3_server.py (moto's server mode over real HTTP on 127.0.0.1).
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from deploycheck.config import load_config
from deploycheck.redact import redactor, set_fingerprint_key
from deploycheck.state import S3StateStore
from s3_server import AWS, bucket_objects, s3_client

__all__ = ["AWS", "EXAMPLE_SOT", "REPO", "S3Project", "bucket_objects", "s3_client", "write_s3_config"]

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_SOT = REPO / "fixtures" / "example" / "app.env"


@pytest.fixture(autouse=True)
def _clean_globals(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No registered secrets, no sync variables, moto's test credentials in the environment."""
    for name in (
        "DEPLOYCHECK_SOT",
        "DEPLOYCHECK_STATE_DIR",
        "DEPLOYCHECK_LOCK_TIMEOUT",
        "DEPLOYCHECK_LEDGER_KEY",
        "DEPLOYCHECK_S3_ENDPOINT_URL",
        "DEPLOYCHECK_STATE_BACKEND",
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in AWS.items():
        monkeypatch.setenv(name, value)
    redactor.clear()
    set_fingerprint_key(None)
    yield
    redactor.clear()
    set_fingerprint_key(None)


@dataclass
class S3Project:
    """A copy of the repository's deploycheck.yaml whose ``state:`` names a bucket on the moto server."""

    root: Path
    config_path: Path
    bucket: str
    endpoint: str
    ledger_key: str = field(default_factory=lambda: secrets.token_hex(32))

    def environ(self, machine: str, base: dict[str, str] | None = None) -> dict[str, str]:
        """The environment of one "machine": its own HOME and state dir, the shared key and bucket."""
        home = self.root / machine
        home.mkdir(exist_ok=True)
        return {
            **(base or {}),
            **AWS,
            "HOME": str(home),
            "XDG_STATE_HOME": str(home / "state"),
            "USER": machine,
            "DEPLOYCHECK_LEDGER_KEY": self.ledger_key,
        }

    def store(self, environ: dict[str, str] | None = None) -> S3StateStore:
        """The S3 state store of this project, as deploycheck opens it."""
        env = {**AWS, "DEPLOYCHECK_LEDGER_KEY": self.ledger_key, **(environ or {})}
        return S3StateStore.for_project(load_config(self.config_path), env)


def write_s3_config(root: Path, bucket: str, endpoint: str, extra: str = "") -> Path:
    """deploycheck.yaml of the repository with a ``state:`` section for ``bucket`` appended."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / "deploycheck.yaml"
    shutil.copy(REPO / "deploycheck.yaml", path)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"\nstate:\n  backend: s3\n  bucket: {bucket}\n  endpoint_url: {endpoint}\n{extra}")
    return path


@pytest.fixture
def s3_project(tmp_path: Path, bucket: str, moto_url: str) -> S3Project:
    """A project folder in tmp_path using the s3 backend on a fresh bucket."""
    root = tmp_path / "project"
    path = write_s3_config(root, bucket, moto_url, "  lock_ttl: 30\n")
    return S3Project(root=root, config_path=path, bucket=bucket, endpoint=moto_url)
