"""deploycheck.yaml loading: every problem at once, each with file:line, key path, valid choices, did-you-mean."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploycheck.config import find_config, load_config
from deploycheck.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]

GOOD = """\
project: demo
environments:
  development: {remote: false, values: dev}
  production: {}
targets:
  WEB:
    platform: cloudflare-pages
    environments:
      production: {project: app-web}
"""


def _load(tmp_path: Path, text: str):
    path = tmp_path / "deploycheck.yaml"
    path.write_text(text)
    return load_config(path)


def test_repo_config_loads():
    """The repository's own deploycheck.yaml is valid and names the reference app's targets."""
    config = load_config(REPO / "deploycheck.yaml")
    assert set(config.targets) >= {"NEXTJS", "CONVEX", "CLOUDFLARE_WORKER", "GITHUB"}
    assert config.environments["production"].remote and not config.environments["development"].remote


def test_minimal_config_defaults(tmp_path):
    """default_env falls back to development; a local environment is not remote."""
    config = _load(tmp_path, GOOD)
    assert config.default_env == "development"
    assert config.environments["development"].is_local
    assert config.environments["production"].values == "prod"


def test_every_problem_at_once_with_lines(tmp_path):
    """Four mistakes in one file give one ConfigError with four problems, each at its line."""
    text = (
        "project: demo\n"                      # 1
        "default_env: producton\n"             # 2
        "environments:\n"                      # 3
        "  production:\n"                      # 4
        "    remote: yes-please\n"             # 5
        "targets:\n"                           # 6
        "  WEB:\n"                             # 7
        "    platform: cloudflare-page\n"      # 8
        "    enviroments: {}\n"                # 9
    )  # fmt: skip
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    problems = {p.path: p for p in info.value.problems}
    assert len(info.value.problems) == 4, str(info.value)
    assert problems["default_env"].line == 2 and "did you mean 'production'" in problems["default_env"].hint
    assert problems["environments.production.remote"].line == 5
    assert "expected boolean" in problems["environments.production.remote"].message
    assert problems["targets.WEB.platform"].line == 8
    assert "did you mean 'cloudflare-pages'" in problems["targets.WEB.platform"].hint
    assert problems["targets.WEB.enviroments"].line == 9
    assert "did you mean 'environments'" in problems["targets.WEB.enviroments"].hint
    text = str(info.value)
    assert f"{tmp_path / 'deploycheck.yaml'}:8: targets.WEB.platform:" in text
    assert "valid: cloudflare-pages, cloudflare-worker, convex, github-actions, local-dotenv" in text


def test_target_naming_unknown_environment(tmp_path):
    """A target's parameters for an environment that does not exist are flagged with the valid names."""
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, GOOD.replace("      production: {project: app-web}", "      prodution: {project: app-web}"))
    (problem,) = info.value.problems
    assert problem.path == "targets.WEB.environments.prodution" and problem.line == 9
    assert "valid: development, production" in problem.message and "did you mean 'production'" in problem.hint


def test_yaml_syntax_error_has_line(tmp_path):
    """Broken YAML names the line of the syntax error."""
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, "project: demo\nenvironments:\n  a: [1, 2\ntargets: {}\n")
    assert "not valid YAML" in str(info.value)
    assert info.value.problems[0].line is not None


def test_missing_required_keys(tmp_path):
    """Missing project, environments and targets are each reported."""
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, "default_env: x\n")
    text = str(info.value)
    for key in ("project", "environments", "targets"):
        assert f"'{key}' is a required property" in text


def test_unknown_environment_lookup(tmp_path):
    """config.environment() of an unknown name lists the configured ones."""
    config = _load(tmp_path, GOOD)
    with pytest.raises(ConfigError, match=r"unknown name 'staging'; valid: development, production"):
        config.environment("staging")


def test_find_config_walks_up(tmp_path):
    """find_config finds deploycheck.yaml in a parent folder, and None when there is none."""
    (tmp_path / "deploycheck.yaml").write_text(GOOD)
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_config(deep) == tmp_path / "deploycheck.yaml"
    assert find_config(Path("/")) is None


def test_missing_file(tmp_path):
    """A config path that does not exist is a ConfigError naming it."""
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("typo", "fix", "line"),
    [
        ("^    platform: cloudflare-pages", "    platfrom: cloudflare-pages", "targets.NEXTJS.platfrom"),
        ("^targets:", "targts:", "targts"),
        ("^environments:", "enviroments:", "enviroments"),
    ],
)
def test_one_typo_is_one_problem(tmp_path, typo, fix, line) -> None:
    """A misspelt key is one problem (its did-you-mean), not a cascade of missing keys and unknown names."""
    import re

    from deploycheck.config import load_config
    from deploycheck.errors import ConfigError

    text = (Path(__file__).resolve().parents[1] / "deploycheck.yaml").read_text()
    path = tmp_path / "deploycheck.yaml"
    path.write_text(re.sub(typo, fix, text, count=1, flags=re.MULTILINE))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert len(caught.value.problems) == 1, str(caught.value)
    assert caught.value.problems[0].path == line
    assert "did you mean" in (caught.value.problems[0].hint or "")
