"""The command line: docs/cli.md is current, --version, shell completion, plain-text help."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploycheck.cli import build_parser, main
from deploycheck.cli.reference import plain, render_reference

REPO = Path(__file__).resolve().parents[1]


def test_the_reference_page_is_current() -> None:
    """docs/cli.md is exactly what the parsers generate (regenerate: python -m deploycheck.cli.reference)."""
    page = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    assert page == render_reference(build_parser()), "run: python -m deploycheck.cli.reference > docs/cli.md"


def test_the_reference_names_every_command() -> None:
    """Every subcommand has a section, the rollback platforms included."""
    page = render_reference(build_parser())
    for name in ("sandbox", "sync-env", "drift", "verify", "rollback advise", "rollback cloudflare-pages",
                 "deploy", "config", "completion"):  # fmt: skip
        assert f"## `deploycheck {name}`" in page


def test_version(capsys) -> None:
    """`deploycheck --version` prints the installed version and exits 0."""
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("deploycheck 0.")


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_scripts_come_from_shtab(shell, capsys) -> None:
    """`deploycheck completion SHELL` prints shtab's script, which knows the subcommands."""
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert "shtab" in script
    assert "sync-env" in script and "rollback" in script


def test_help_is_plain_text() -> None:
    """No reST markup (double backquotes, :class: roles) in any --help."""
    page = "\n".join(line for line in render_reference(build_parser()).splitlines() if not line.startswith("```"))
    assert "``" not in page
    assert ":class:" not in page and ":func:" not in page
    assert plain("``deploycheck deploy``: see :class:`~deploycheck.deploy.run.Deployer`") == "deploycheck deploy: see Deployer"
