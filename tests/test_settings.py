"""Settings resolution: --set > environment > local .env files (local envs only) > config default."""

from __future__ import annotations

import builtins
import io
import textwrap
from pathlib import Path

import pytest

from deploycheck.config import Settings, load_config, parse_overrides
from deploycheck.errors import ConfigError, UsageError
from deploycheck.redact import fingerprint, redact

CONFIG = """\
project: demo
default_env: development
environments:
  development:
    remote: false
    values: dev
    settings:
      APP_URL: http://localhost:3000
      WORKER_URL: http://localhost:8787
  production:
    remote: true
    settings:
      APP_URL: https://app.example.com
      WORKER_URL: https://log-ingestion.example.workers.dev
settings:
  APP_URL:
    aliases: [NEXT_PUBLIC_APP_URL]
  WORKER_URL: {}
  API_TOKEN:
    secret: true
targets:
  NEXTJS:
    platform: cloudflare-pages
    local_file: apps/web/.env.local
    environments:
      development: {project: app-web}
      production: {project: app-web}
  WORKER:
    platform: cloudflare-worker
    local_file: apps/worker/.dev.vars
    environments:
      production: {script: log-ingestion}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with deploycheck.yaml and a planted apps/web/.env.local of development values."""
    (tmp_path / "deploycheck.yaml").write_text(CONFIG)
    web = tmp_path / "apps" / "web"
    web.mkdir(parents=True)
    (web / ".env.local").write_text("# local development\nNEXT_PUBLIC_CONVEX_URL=https://dev.convex.cloud\nNEXT_PUBLIC_APP_URL=http://localhost:3200\n")
    return tmp_path


def test_default_comes_from_config_with_line(project):
    """With nothing else set, a setting is the environment's default, origin deploycheck.yaml:<line>."""
    settings = Settings.from_config(load_config(project / "deploycheck.yaml"), "production", {}, {})
    app = settings.get("APP_URL")
    assert (app.value, app.source, app.origin) == ("https://app.example.com", "default", "deploycheck.yaml:13")


def test_local_file_beats_default_in_development(project):
    """In a local environment the target's .env.local value (by alias) wins over the default, with file:line."""
    settings = Settings.from_config(load_config(project / "deploycheck.yaml"), "development", {}, {})
    app = settings.get("APP_URL")
    assert (app.value, app.source, app.origin) == ("http://localhost:3200", "local-file", "apps/web/.env.local:3")
    assert settings.get("WORKER_URL").source == "default"


def test_environment_beats_local_file_and_name_beats_alias(project):
    """An environment variable wins over local files; the setting's own name wins over its alias."""
    config = load_config(project / "deploycheck.yaml")
    settings = Settings.from_config(config, "development", {}, {"NEXT_PUBLIC_APP_URL": "http://alias"})
    assert (settings.get("APP_URL").value, settings.get("APP_URL").origin) == ("http://alias", "env NEXT_PUBLIC_APP_URL")
    both = {"NEXT_PUBLIC_APP_URL": "http://alias", "APP_URL": "http://name"}
    assert Settings.from_config(config, "development", {}, both).get("APP_URL").value == "http://name"


def test_empty_environment_variable_is_unset(project):
    """An exported but empty variable does not hide the lower sources."""
    settings = Settings.from_config(load_config(project / "deploycheck.yaml"), "production", {}, {"APP_URL": ""})
    assert settings.get("APP_URL").source == "default"


def test_command_line_beats_everything(project):
    """--set wins over the environment, local files and defaults."""
    config = load_config(project / "deploycheck.yaml")
    settings = Settings.from_config(config, "development", {"APP_URL": "https://cli"}, {"APP_URL": "https://env"})
    app = settings.get("APP_URL")
    assert (app.value, app.source, app.origin) == ("https://cli", "cli", "--set APP_URL")


def test_production_never_opens_local_files(project, monkeypatch):
    """Production resolves APP_URL to its default and opens no file under the project (the seed's lesson)."""
    config = load_config(project / "deploycheck.yaml")
    opened: list[str] = []
    real_open = builtins.open
    real_io_open = io.open

    def spy(opener):
        def wrapped(file, *args, **kwargs):
            if str(project) in str(file):
                opened.append(str(file))
                raise AssertionError(f"opened {file}")
            return opener(file, *args, **kwargs)

        return wrapped

    monkeypatch.setattr(builtins, "open", spy(real_open))
    monkeypatch.setattr(io, "open", spy(real_io_open))
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: opened.append(str(self)) or "")
    settings = Settings.from_config(config, "production", {}, {})
    app = settings.get("APP_URL")
    assert (app.value, app.source) == ("https://app.example.com", "default")
    assert opened == []
    assert all(s.source != "local-file" for s in settings)


def test_development_does_open_local_files(project, monkeypatch):
    """The same spy sees development read .env.local: the production test above can fail."""
    config = load_config(project / "deploycheck.yaml")
    opened: list[str] = []
    real_open = Path.open

    def spy(self, *args, **kwargs):
        opened.append(self.name)
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", spy)
    Settings.from_config(config, "development", {}, {})
    assert opened == [".env.local"]


def test_unknown_and_unset_settings(project):
    """get() of an unknown name lists the valid ones; an unset one says how to set it."""
    settings = Settings.from_config(load_config(project / "deploycheck.yaml"), "production", {}, {})
    with pytest.raises(ConfigError, match=r"unknown setting 'APP_ULR'.*did you mean 'APP_URL'"):
        settings.get("APP_ULR")
    with pytest.raises(ConfigError, match=r"API_TOKEN has no value in environment 'production'.*--set API_TOKEN"):
        settings.get("API_TOKEN")
    assert settings.find("API_TOKEN") is None and settings.value("API_TOKEN", "x") == "x"


def test_unknown_override_is_usage_error(project):
    """Overrides naming unknown settings are refused, every one at once."""
    config = load_config(project / "deploycheck.yaml")
    with pytest.raises(UsageError) as info:
        Settings.from_config(config, "production", {"APP_ULR": "x", "NOPE": "y"}, {})
    assert len(info.value.problems) == 2
    assert "did you mean 'APP_URL'" in str(info.value)


def test_unknown_environment_is_config_error(project):
    """An unknown environment name is a ConfigError listing the configured ones."""
    with pytest.raises(ConfigError, match="valid: development, production"):
        Settings.from_config(load_config(project / "deploycheck.yaml"), "staging", {}, {})


def test_secret_setting_is_registered_and_masked(project):
    """A secret setting's value is registered with the redactor and shown as its fingerprint."""
    value = "tok-secret-value-42-abcdef"
    settings = Settings.from_config(load_config(project / "deploycheck.yaml"), "production", {}, {"API_TOKEN": value})
    token = settings.get("API_TOKEN")
    assert token.secret and token.shown == fingerprint(value)
    assert value not in redact(f"the token is {value}")
    assert value not in token.describe()
    assert any(row[0] == "API_TOKEN" and row[1] == fingerprint(value) for row in settings.rows())


def test_settings_are_frozen(project):
    """Settings and ResolvedSetting cannot be changed after resolution."""
    settings = Settings.from_config(load_config(project / "deploycheck.yaml"), "production", {}, {})
    with pytest.raises(AttributeError):
        settings.env = "development"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        settings.get("APP_URL").value = "x"  # type: ignore[misc]


def test_parse_overrides():
    """NAME=VALUE items parse (values may hold '='); malformed items are all reported."""
    assert parse_overrides(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}
    with pytest.raises(UsageError) as info:
        parse_overrides(["oops", "=v"])
    assert len(info.value.problems) == 2


def test_repo_config_production_ignores_planted_env_local(tmp_path, monkeypatch):
    """With the repo's deploycheck.yaml, a planted apps/web/.env.local never reaches production."""
    repo = Path(__file__).resolve().parents[1]
    (tmp_path / "deploycheck.yaml").write_text((repo / "deploycheck.yaml").read_text())
    web = tmp_path / "apps" / "web"
    web.mkdir(parents=True)
    (web / ".env.local").write_text(textwrap.dedent("NEXT_PUBLIC_APP_URL=http://localhost:3200\n"))
    config = load_config(tmp_path / "deploycheck.yaml")
    production = Settings.from_config(config, "production", {}, {})
    assert production.get("APP_URL").value == "https://app.example.com"
    development = Settings.from_config(config, "development", {}, {})
    assert development.get("APP_URL").origin == "apps/web/.env.local:1"
