"""Fixtures for the plugin's tests: a pytester project with its own tiny deploycheck.yaml."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import pytest

CONFIG = """\
project: demo
default_env: local
environments:
  local:
    remote: false
    values: dev
    settings:
      APP_URL: http://localhost:3200
  production:
    settings:
      APP_URL: https://app.example.com
settings:
  APP_URL:
    aliases: [NEXT_PUBLIC_APP_URL]
  API_TOKEN:
    secret: true
targets:
  WORKER:
    platform: cloudflare-worker
    environments:
      local: {script: log-ingestion-dev}
      production: {script: log-ingestion}
  WEB:
    platform: cloudflare-pages
    local_file: apps/web/.env.local
    environments:
      production: {project: app-web}
  GITHUB:
    platform: github-actions
    environments:
      production: {repository: example/app, environment: production}
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester folder holding deploycheck.yaml (envs local and production) and a checks/ folder."""
    pytester.makefile(".yaml", deploycheck=CONFIG)
    pytester.makeini(
        """
        [pytest]
        testpaths = checks
        junit_logging = system-out
        """
    )
    pytester.mkdir("checks")
    return pytester


@pytest.fixture
def write_check(project: pytest.Pytester) -> Callable[..., None]:
    """A function writing checks/<name>.py from dedented source."""

    def write(source: str, name: str = "test_checks") -> None:
        (project.path / "checks" / f"{name}.py").write_text(textwrap.dedent(source))

    return write
