"""Property-based tests of the two parsers/writers that see arbitrary text: the SoT and .env files.

The SoT parser must never fail with anything but a SoTError, whatever the text; a value
written to a ``.env.local`` file (by the adapter or by ``sync-env --mode=local``) must read
back identical with python-dotenv.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from dotenv import dotenv_values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deploycheck.cli import main
from deploycheck.config import load_config
from deploycheck.errors import SoTError, SyncError
from deploycheck.platforms.base import VarChange
from deploycheck.platforms.dotenv_readers import unrepresentable
from deploycheck.platforms.local_dotenv import LocalDotenvPlatform
from deploycheck.redact import redactor
from deploycheck.sot import load_sot
from deploycheck.sync import readers_of

from .conftest import CONFIG

FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
NAMES = st.from_regex(r"[A-Z_][A-Z0-9_]{0,20}", fullmatch=True)
#: characters that matter to the grammars, mixed into arbitrary unicode
TRICKY = st.sampled_from(
    ["'", '"', "#", "=", "\\", "$", "${HOME}", "${", "}", " ", "\t", "\n", "\r", "|", "é", "😀", "\u2028"]
)
VALUES = st.lists(st.one_of(TRICKY, st.text(max_size=8)), max_size=12).map("".join)


def tag(request: pytest.FixtureRequest, column: str) -> None:
    """Count this test in the "properties" table."""
    request.node.user_properties.append(("reliability-cell", f"properties|hypothesis|{column}"))


@FAST
@given(values=st.dictionaries(NAMES, VALUES, min_size=1, max_size=6))
def test_dotenv_writer_round_trips_any_value(values: dict[str, str], request) -> None:  # type: ignore[no-untyped-def]
    """Whatever the values (quotes, #, =, newlines, unicode, ${}), python-dotenv reads back exactly
    what is written; a value no quoting carries to every reader is refused and nothing is written."""
    tag(request, ".env writer")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "apps" / ".env.local"
        adapter = LocalDotenvPlatform(path)
        changes = [VarChange(name, "add", value, secret=True) for name, value in values.items()]
        if any(unrepresentable(v, ()) for v in values.values()):
            with pytest.raises(SyncError, match="nothing was written"):
                adapter.apply_config(changes)
            assert not path.exists()
            return
        adapter.apply_config(changes)
        assert dotenv_values(path, interpolate=False, encoding="utf-8") == values
        assert path.stat().st_mode & 0o777 == 0o600


def cell(value: str) -> str:
    """``value`` as a table cell (``|`` escaped)."""
    return value.replace("|", "\\|")


TABLE_VALUES = (
    st.lists(st.one_of(TRICKY, st.text(max_size=8)), min_size=1, max_size=10)
    .map("".join)
    .map(lambda v: v.replace("\n", " ").replace("\r", " ").replace("\u2028", " ").strip())
    .filter(lambda v: v and "\\|" not in v and not v.endswith("\\") and v.isprintable())
    # a cell that starts with "age:" is a sealed cell by definition (sot.crypt), not plain text
    .filter(lambda v: not v.startswith("age:"))
)
LOCAL_CONFIG = """\
project: prop-test
default_env: development
environments:
  development: {remote: false, values: dev}
targets:
  APP:
    platform: convex
    local_file: app/.env.local
    environments:
      development: {deployment: dev-prop-1}
"""


@settings(FAST, max_examples=60)
@given(
    values=st.dictionaries(
        NAMES.filter(lambda n: not n.startswith("CONVEX")), TABLE_VALUES, min_size=1, max_size=5
    )
)
def test_sync_local_round_trips_table_values(values: dict[str, str], request) -> None:  # type: ignore[no-untyped-def]
    """``sync-env --mode=local`` writes DEV values that python-dotenv reads back identical, or refuses
    (exit 2, nothing written) a value the file's readers cannot all read back exactly."""
    tag(request, ".env round trip")
    redactor.clear()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "deploycheck.yaml").write_text(LOCAL_CONFIG)
        rows = [
            f"| APP | G | {name} | {cell(value)} | prod-{i} |"
            for i, (name, value) in enumerate(values.items())
        ]
        table = (
            "| TARGET | GROUP | KEY | DEV_VALUE | PROD_VALUE |\n|---|---|---|---|---|\n"
            + "\n".join(rows)
            + "\n"
        )
        (root / "app.env").write_text(table, "utf-8")
        argv = ["sync-env", "--mode=local", "--config", str(root / "deploycheck.yaml")]
        code = main([*argv, "--sot", str(root / "app.env"), "--state-dir", str(root / "state")])
        written = root / "app" / ".env.local"
        readers = readers_of(load_config(root / "deploycheck.yaml").targets["APP"])
        if any(unrepresentable(v, readers) for v in values.values()):
            assert code == 2
            assert not written.exists()
            redactor.clear()
            return
        assert code == 0
        assert dotenv_values(written, interpolate=False, encoding="utf-8") == values
        assert written.stat().st_mode & 0o777 == 0o600
    redactor.clear()


ROW_PIECES = st.sampled_from(
    ["|", " | ", "\\|", "---", ":--", "NEXTJS", "CONVEX,GITHUB", "KEY", "APP_ENV", "TARGET", "GROUP",
     "DEV_VALUE", "PROD_VALUE", "TYPE", "secret", "#", "\t", "localhost", "http://127.0.0.1", ",", " "]
)  # fmt: skip
LINES = st.lists(st.one_of(ROW_PIECES, st.text(max_size=6)), max_size=14).map("".join)
HEADER = "| TARGET | GROUP | KEY | DEV_VALUE | PROD_VALUE |\n|---|---|---|---|---|\n"


@FAST
@given(lines=st.lists(LINES, max_size=12), with_header=st.booleans())
def test_sot_parser_raises_only_sot_errors(lines: list[str], with_header: bool, request) -> None:  # type: ignore[no-untyped-def]
    """Any table text either loads or raises SoTError: never another exception."""
    tag(request, "SoT parser fuzz")
    config = load_config(CONFIG)
    text = (HEADER if with_header else "") + "\n".join(lines)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.env"
        path.write_text(text, "utf-8")
        try:
            load_sot(path, config)
        except SoTError as exc:
            assert exc.problems and all(p.source == str(path) for p in exc.problems)


@FAST
@given(data=st.binary(max_size=300))
def test_sot_parser_survives_arbitrary_bytes(data: bytes, request) -> None:  # type: ignore[no-untyped-def]
    """Arbitrary bytes (not UTF-8, NUL, BOM) load or raise SoTError, never another exception."""
    tag(request, "SoT bytes fuzz")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.env"
        path.write_bytes(data)
        try:
            load_sot(path, load_config(CONFIG))
        except SoTError as exc:
            assert all(p.source == str(path) for p in exc.problems)
