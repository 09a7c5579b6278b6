"""The options several commands share (deploycheck.cli.options): one wording and one type everywhere."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from deploycheck.cli import COMMANDS, build_parser
from deploycheck.cli.options import load_project, lock_timeout
from deploycheck.cli.reference import _walk
from deploycheck.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]

#: option -> (metavar, help) every command shows for it
SHARED = {
    "--config": ("PATH", "Path of deploycheck.yaml"),
    "--sot": ("PATH", "Source-of-truth table (or DEPLOYCHECK_SOT)"),
    "--state-dir": ("PATH", "Ledger, audit log and lock folder"),
}


def _uses() -> list[tuple[str, str, argparse.Action]]:
    return [
        (name, flag, action)
        for name, parser in _walk(build_parser())
        for action in parser._actions
        for flag in action.option_strings
        if flag in SHARED
    ]


def test_shared_options_read_the_same_in_every_command() -> None:
    """--config, --sot and --state-dir have the same metavar and help, and parse to a Path, in every command."""
    uses = _uses()
    assert {name.split()[0] for name, flag, _ in uses if flag == "--state-dir"} >= {"drift", "sync-env", "deploy", "state"}
    for name, flag, action in uses:
        assert (action.metavar, action.help) == SHARED[flag], f"deploycheck {name} {flag}"
        assert action.type is Path and action.default is None, f"deploycheck {name} {flag}"


def test_every_command_of_the_table_has_its_parser() -> None:
    """Each entry of COMMANDS becomes a subcommand with the table's help line and the module's run."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    listed = {choice.dest: choice.help for choice in sub._choices_actions}
    assert listed == {name: command.help for name, command in COMMANDS.items()}
    for name, command in COMMANDS.items():
        assert sub.choices[name].get_default("func").__module__ == command.module


def test_load_project_takes_sot_from_the_option_then_the_environment(tmp_path, monkeypatch) -> None:
    """load_project: --sot wins over DEPLOYCHECK_SOT, which wins over the config's table; --env defaults."""
    args = argparse.Namespace(config=REPO / "deploycheck.yaml", env=None, sot=None)
    monkeypatch.delenv("DEPLOYCHECK_SOT", raising=False)
    config, env, sot = load_project(args)
    assert env == config.default_env
    assert sot == config.sot_path(env)
    monkeypatch.setenv("DEPLOYCHECK_SOT", str(tmp_path / "from-env.env"))
    assert load_project(args)[2] == tmp_path / "from-env.env"
    args.sot = tmp_path / "given.env"
    assert load_project(args)[2] == tmp_path / "given.env"


def test_load_project_refuses_an_unknown_environment() -> None:
    """An --env the config does not define is a ConfigError naming it, not a table of another env."""
    args = argparse.Namespace(config=REPO / "deploycheck.yaml", env="no-such-env", sot=None)
    with pytest.raises(ConfigError, match="no-such-env"):
        load_project(args)


@pytest.mark.parametrize(("given", "environ", "expected"), [(2.5, "9", 2.5), (None, "9", 9.0), (None, "", 5.0)])
def test_lock_timeout_order(given, environ, expected, monkeypatch) -> None:
    """--lock-timeout, else DEPLOYCHECK_LOCK_TIMEOUT, else 5 seconds."""
    monkeypatch.setenv("DEPLOYCHECK_LOCK_TIMEOUT", environ)
    assert lock_timeout(given) == expected
