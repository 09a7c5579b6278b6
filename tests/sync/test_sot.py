"""The source-of-truth parser and model: rows, escapes, columns, secret classification."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deploycheck.config import load_config
from deploycheck.errors import SoTError
from deploycheck.sot import dev_markers, is_secret_name, load_sot, parse_sot, split_row

from .conftest import EXAMPLE_SOT, REPO

HEADER = "| TARGET | GROUP | KEY | DEV_VALUE | PROD_VALUE |\n|---|---|---|---|---|\n"
REQUIRED = (
    "| NEXTJS,CONVEX | App | NEXT_PUBLIC_APP_URL | http://localhost:3200 | https://app.example.com |\n"
    "| NEXTJS | App | NEXT_PUBLIC_CONVEX_URL | https://dev-beaming-gull-639.convex.cloud "
    "| https://prod-graceful-shrimp-355.convex.cloud |\n"
    "| CLOUDFLARE_WORKER | W | UPSTASH_REDIS_REST_URL | http://localhost:8079 | https://eu1-x.upstash.io |\n"
    "| CLOUDFLARE_WORKER | W | UPSTASH_REDIS_REST_TOKEN | devtoken0001 | AXq8Lx2vN5bR7tY1wE4uI6oP3aZk |\n"
)


@pytest.fixture(scope="module")
def config():  # type: ignore[no-untyped-def]
    """The repository's deploycheck.yaml."""
    return load_config(REPO / "deploycheck.yaml")


def write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    """Write a table of the required rows plus ``body`` and return its path."""
    path = tmp_path / "app.env"
    path.write_text(header + REQUIRED + body, encoding="utf-8")
    return path


def test_split_row_trims_cells_and_unescapes_pipes() -> None:
    """Cells are trimmed and ``\\|`` becomes a literal pipe inside a value."""
    assert split_row(r"| a |  b\|c  | d\\x |") == ["a", "b|c", r"d\\x"]


def test_split_row_rejects_an_unclosed_row() -> None:
    """A row without its closing pipe is not a row."""
    assert split_row("| a | b") is None


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FFF), max_size=40))
def test_escaped_values_parse_back_exactly(value: str) -> None:
    """Any printable value written with escaped pipes reads back as its trimmed self."""
    if value.endswith("\\"):
        value += "x"
    escaped = value.replace("|", "\\|")
    cells = split_row(f"| KEY | {escaped} |")
    assert cells == ["KEY", value.strip()]


def test_example_table_loads_with_every_target(config) -> None:  # type: ignore[no-untyped-def]
    """The reference table parses cleanly, covers every target and has about fifteen keys."""
    sot = load_sot(EXAMPLE_SOT, config)
    assert set(sot.targets()) == {"NEXTJS", "CONVEX", "CLOUDFLARE_WORKER", "GITHUB"}
    assert 15 <= len(sot.key_names()) <= 20
    assert sot.warnings == []
    assert all(e.prod for e in sot.entries)


def test_example_prod_secrets_look_like_real_secrets(config) -> None:  # type: ignore[no-untyped-def]
    """Every PROD secret of the example is a long, mixed-character string, not a placeholder."""
    sot = load_sot(EXAMPLE_SOT, config)
    for entry in (e for e in sot.entries if e.secret):
        assert entry.prod is not None
        assert len(entry.prod) >= 32, entry.key
        assert any(c.isdigit() for c in entry.prod) and any(c.isupper() for c in entry.prod), entry.key


def test_entry_fields_and_columns(config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An entry knows its targets, group, line, source and both values; empty DEV is None."""
    path = write(tmp_path, "| GITHUB | Notify | SLACK_WEBHOOK_URL |  | https://hooks.slack.com/x/Yk8vQ3nR6tW9 |\n")
    sot = load_sot(path, config)
    entry = sot.for_target("GITHUB")[0]
    assert entry.key == "SLACK_WEBHOOK_URL" and entry.group == "Notify"
    assert entry.value("dev") is None
    assert entry.value("prod") == "https://hooks.slack.com/x/Yk8vQ3nR6tW9"
    assert entry.secret is True
    assert entry.line == 7 and entry.source == path
    assert "hooks.slack" not in repr(entry)


def test_multi_target_rows_belong_to_each_target(config) -> None:  # type: ignore[no-untyped-def]
    """A NEXTJS,CONVEX row appears in both targets' entries."""
    sot = load_sot(EXAMPLE_SOT, config)
    assert "NEXT_PUBLIC_APP_URL" in {e.key for e in sot.for_target("NEXTJS")}
    assert "NEXT_PUBLIC_APP_URL" in {e.key for e in sot.for_target("CONVEX")}
    assert "NEXT_PUBLIC_APP_URL" not in {e.key for e in sot.for_target("GITHUB")}


def test_comments_and_blank_lines_are_ignored(config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Comment and blank lines may appear anywhere, even inside the table."""
    path = write(tmp_path, "\n# a comment\n   # indented comment\n\n| CONVEX | C | APP_ENV | d | p |\n")
    assert "APP_ENV" in load_sot(path, config).key_names()


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY", False),
        ("NEXT_PUBLIC_MAPBOX_TOKEN", False),
        ("CLERK_SECRET_KEY", True),
        ("UPSTASH_REDIS_REST_TOKEN", True),
        ("DB_PASSWORD", True),
        ("JWT_PRIVATE_PEM", True),
        ("OPENAI_API_KEY", True),
        ("SLACK_WEBHOOK_URL", True),
        ("LOG_LEVEL", False),
        ("KEYBOARD_LAYOUT", False),
    ],
)
def test_secret_rule_by_name(key: str, secret: bool) -> None:
    """NEXT_PUBLIC_* is plain; SECRET/TOKEN/PASSWORD/PRIVATE/WEBHOOK or a _KEY suffix is secret."""
    assert is_secret_name(key) is secret


def test_type_column_overrides_the_rule(config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A TYPE column says secret or plain explicitly; an empty cell falls back to the rule."""
    header = "| TARGET | GROUP | KEY | DEV_VALUE | PROD_VALUE | TYPE |\n|---|---|---|---|---|---|\n"
    body = "".join(line.rstrip("\n") + "  |\n" for line in REQUIRED.splitlines())
    body += "| CONVEX | C | LOG_LEVEL | dev-level-1 | prod-level-1 | secret |\n| CONVEX | C | API_TOKEN_NAME | d | p | plain |\n"
    path = tmp_path / "typed.env"
    path.write_text(header + body, encoding="utf-8")
    sot = load_sot(path, config)
    kinds = {e.key: e.secret for e in sot.entries}
    assert kinds["LOG_LEVEL"] is True
    assert kinds["API_TOKEN_NAME"] is False
    assert kinds["UPSTASH_REDIS_REST_TOKEN"] is True


def test_config_lists_override_the_rule(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A target's secrets:/plain: lists in deploycheck.yaml decide before the name rule."""
    text = project.config_path.read_text("utf-8").replace(
        "    local_file: apps/convex/.env.local\n",
        "    local_file: apps/convex/.env.local\n    secrets: [LOG_LEVEL]\n    plain: [PUBLIC_API_KEY]\n",
    )
    project.config_path.write_text(text, encoding="utf-8")
    path = write(tmp_path, "| CONVEX | C | LOG_LEVEL | dev-level-1 | prod-level-1 |\n| CONVEX | C | PUBLIC_API_KEY | d | p |\n")
    kinds = {e.key: e.secret for e in load_sot(path, project.config).entries}
    assert kinds == {**kinds, "LOG_LEVEL": True, "PUBLIC_API_KEY": False}


def test_secret_values_cover_both_columns_without_deployment_names(config) -> None:  # type: ignore[no-untyped-def]
    """secret_values() holds every secret of both columns; a Convex key gives only its part after '|'."""
    sot = load_sot(EXAMPLE_SOT, config)
    values = sot.secret_values()
    clerk = next(e for e in sot.entries if e.key == "CLERK_SECRET_KEY")
    assert clerk.dev in values and clerk.prod in values
    deploy_key = next(e for e in sot.entries if e.key == "CONVEX_DEPLOY_KEY")
    assert deploy_key.prod is not None and deploy_key.prod not in values
    assert deploy_key.prod.split("|", 1)[1] in values
    assert not any(v.startswith("https://") for v in values)
    assert not any(v == e.prod for e in sot.entries if not e.secret for v in values)


def test_secret_with_equal_dev_and_prod_is_a_warning(config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A secret whose PROD_VALUE equals its DEV_VALUE loads, with one warning naming its line."""
    path = write(tmp_path, "| CONVEX | C | OPENAI_API_KEY | sk-same-Q2xvdWRmbGFy | sk-same-Q2xvdWRmbGFy |\n")
    sot = load_sot(path, config)
    assert len(sot.warnings) == 1
    warning = str(sot.warnings[0])
    assert f"{path}:7" in warning and "same value" in warning
    assert "sk-same" not in warning


def test_dev_markers_come_from_config_and_dev_column(config) -> None:  # type: ignore[no-untyped-def]
    """The development deployment is known from the config's Convex params and the DEV_VALUE column."""
    sot = load_sot(EXAMPLE_SOT, config)
    names, hosts = dev_markers(sot.entries, config)
    assert "dev-beaming-gull-639" in names
    assert "dev-beaming-gull-639.convex.cloud" in hosts


def test_every_problem_is_reported_at_once(config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Syntax and rule problems of different rows come in one SoTError, sorted by line."""
    path = write(
        tmp_path,
        "| CONVEX | C | LOG_LEVEL | debug |\n| CONVX | C | APP_ENV | d | p |\n| CONVEX | C | X | d |  |\n",
    )
    with pytest.raises(SoTError) as caught:
        load_sot(path, config)
    lines = [p.line for p in caught.value.problems]
    assert lines == [7, 8, 9]
    assert caught.value.exit_code == 2


def test_missing_file_names_the_override(tmp_path: Path) -> None:
    """A missing table raises SoTError telling how to point at another one."""
    with pytest.raises(SoTError, match="DEPLOYCHECK_SOT"):
        load_sot(tmp_path / "nope.env")


def test_parse_without_config_skips_platform_rules(tmp_path: Path) -> None:
    """parse_sot alone checks syntax only: unknown targets pass through."""
    entries, problems = parse_sot(HEADER + "| ANYTHING | g | K | d | p |\n", tmp_path / "x.env")
    assert problems == [] and entries[0].targets == ("ANYTHING",)
