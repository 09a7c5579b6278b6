"""The app's own readers are the oracle of the local files deploycheck writes.

Node's ``dotenv``, Next.js's ``@next/env`` and wrangler's ``.dev.vars`` reader (the dotenv
16.3.1 wrangler pins), installed from npm at pinned versions by ``tox -e dotenvreaders``
(``npm ci`` in this folder), read each file ``sync-env --mode=local`` and
:func:`deploycheck.platforms.local_dotenv.write_dotenv` write. Whatever deploycheck writes,
every reader of that file reads back exactly; whatever it refuses, no quoting would have
carried to every reader.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from dotenv import dotenv_values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deploycheck.cli import main
from deploycheck.errors import SyncError
from deploycheck.platforms.dotenv_readers import NEXT_ENV, NODE_DOTENV, WRANGLER, unrepresentable
from deploycheck.platforms.local_dotenv import write_dotenv

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
MODULES = HERE / "node_modules"
NODE_READERS = (NODE_DOTENV, NEXT_ENV, WRANGLER)
ISSUE_EXAMPLES = ("it's", "back\\slash", "pa$$word")


def _require_readers() -> None:
    if MODULES.is_dir() and shutil.which("node"):
        return
    if os.environ.get("DEPLOYCHECK_REQUIRE_NODE_READERS"):
        pytest.fail("the Node readers are not installed: run `npm ci --prefix tests/dotenvreaders`")
    pytest.skip("the Node readers are not installed (tox -e dotenvreaders installs them)")


def read_with(requests: list[tuple[Path, str]]) -> list[dict[str, str]]:
    """What each (file, reader) pair reads, in one Node process."""
    _require_readers()
    payload = json.dumps([{"path": str(p), "reader": r} for p, r in requests])
    done = subprocess.run(
        ["node", str(HERE / "read.js")],
        input=payload,
        capture_output=True,
        text=True,
        cwd=HERE,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: list[dict[str, str]] = json.loads(done.stdout)
    return result


def tag(request: pytest.FixtureRequest, row: str) -> None:
    """Count this test in the "local files" table of the reliability matrix."""
    request.node.user_properties.append(("reliability-cell", f"local files|{row}|node readers"))


def test_issue_examples_reach_every_reader(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """it's, back\\slash and pa$$word are read back exactly by Node's dotenv and wrangler, and by
    Next.js where its expansion leaves them alone; what Next.js would change is refused."""
    tag(request, "issue examples")
    for reader in NODE_READERS:
        folder = tmp_path / reader.replace("/", "_")
        folder.mkdir()
        values = {f"K{i}": v for i, v in enumerate(ISSUE_EXAMPLES) if unrepresentable(v, (reader,)) is None}
        write_dotenv(folder / ".env.local", values)
        [seen] = read_with([(folder / ".env.local", reader)])
        assert {k: seen.get(k) for k in values} == values, reader
    assert unrepresentable("pa$$word", (NEXT_ENV,)) is not None


def test_sync_env_local_files_read_back_by_their_readers(
    tmp_path: Path, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    """The files sync-env --mode=local writes for the example project are read back exactly by the
    tools that read them: Next.js for apps/web/.env.local, wrangler for the Worker's .dev.vars,
    Node's dotenv for the Convex folder."""
    tag(request, "sync-env --mode=local")
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(REPO / "deploycheck.yaml", root / "deploycheck.yaml")
    table = REPO / "fixtures" / "example" / "app.env"
    argv = ["sync-env", "--mode=local", "--config", str(root / "deploycheck.yaml"), "--sot", str(table)]
    assert main([*argv, "--state-dir", str(tmp_path / "state")]) == 0, capsys.readouterr().err
    files = {
        "apps/web/.env.local": NEXT_ENV,
        "apps/workers/log-ingestion/.dev.vars": WRANGLER,
        "apps/convex/.env.local": NODE_DOTENV,
    }
    seen = read_with([(root / f, r) for f, r in files.items()])
    for (name, _), got in zip(files.items(), seen, strict=True):
        expected = {k: v for k, v in dotenv_values(root / name, interpolate=False).items() if v is not None}
        assert {k: got.get(k) for k in expected} == expected, name


VALUES = st.text(alphabet=st.sampled_from(list("ab Z09_-=:#'\"`\\$${}\n\r\t/.é🙂")), min_size=0, max_size=12)


def _candidates(value: str) -> list[str]:
    """Every quoting a writer could try: single, double (with \\n/\\r escapes), backticks, bare."""
    escaped = value.replace("\n", "\\n").replace("\r", "\\r")
    return [f"'{value}'", f'"{escaped}"', f"`{value}`", value]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(VALUES, min_size=1, max_size=8))
def test_property_written_values_read_back_and_refusals_are_necessary(
    tmp_path_factory: pytest.TempPathFactory, values: list[str]
) -> None:
    """Generated values: whatever write_dotenv writes, python-dotenv and every Node reader read back
    exactly (Next.js for the values it accepts for Next); a value it refuses has no quoting that
    python-dotenv and Node's dotenv both read back."""
    folder = tmp_path_factory.mktemp("readers")
    mapping = {f"K{i}": v for i, v in enumerate(values)}
    requests: list[tuple[Path, str]] = []
    expected: list[dict[str, str]] = []
    for reader in NODE_READERS:
        accepted = {k: v for k, v in mapping.items() if unrepresentable(v, (reader,)) is None}
        path = folder / reader.replace("/", "_") / ".env.local"
        path.parent.mkdir()
        write_dotenv(path, accepted)
        assert dotenv_values(path, interpolate=False) == accepted
        requests.append((path, reader))
        expected.append(accepted)
    refused = [v for v in mapping.values() if unrepresentable(v, ()) is not None]
    probes: list[tuple[str, Path]] = []
    for n, value in enumerate(refused):
        for m, quoted in enumerate(_candidates(value)):
            probe = folder / f"probe-{n}-{m}" / ".env.local"
            probe.parent.mkdir()
            probe.write_text(f"K={quoted}\n", "utf-8", newline="")
            probes.append((value, probe))
            requests.append((probe, NODE_DOTENV))
    seen = read_with(requests)
    for want, got in zip(expected, seen[: len(NODE_READERS)], strict=True):
        assert {k: got.get(k) for k in want} == want
    for (value, probe), got in zip(probes, seen[len(NODE_READERS) :], strict=True):
        python = dotenv_values(probe, interpolate=False).get("K")
        assert not (got.get("K") == value and python == value), (
            f"{value!r} was representable as {probe.read_text()!r}"
        )
    with pytest.raises(SyncError) if refused else _nothing():
        write_dotenv(folder / "all.env", mapping)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
