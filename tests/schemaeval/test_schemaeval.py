"""The schema guard's Node path: schema.ts bundled with esbuild against the real convex package and evaluated.

These tests are the oracle for the static parser: what ``defineSchema(...).export()``
returns in Node is what a Convex deployment receives.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from convex_schema_pairs import PAIR_NAMES, PAIRS, expected, listing, load_static, side_folder
from deploycheck.rollback.schema import (
    NodeToolchain,
    Schema,
    SchemaEvalError,
    check_schema,
    diff_schemas,
    evaluate_folder,
)

FIXTURES = PAIRS.parent


def evaluate_side(pair: str, side: str, toolchain: NodeToolchain, tmp_path: Path) -> Schema:
    """One side of a fixture pair evaluated in Node (a two-file pair's side becomes a folder's schema.ts)."""
    folder = side_folder(pair, side)
    if folder is None:
        folder = tmp_path / side
        folder.mkdir()
        shutil.copy(PAIRS / pair / f"{side}.ts", folder / "schema.ts")
    result = evaluate_folder(folder, toolchain)
    assert result is not None
    static_strict = load_static(pair, side).strict_table_name_types
    # strictTableNameTypes is TypeScript-only and absent from export(); the guard reads it statically
    return dataclasses.replace(result.schema, strict_table_name_types=static_strict)


@pytest.mark.parametrize("pair", PAIR_NAMES)
def test_fixture_pairs_evaluated_in_node_give_the_expected_differences(
    pair: str, toolchain: NodeToolchain, tmp_path: Path
) -> None:
    """Every pair's Node verdict is the static one, or the true answer where the static parser refused."""
    want = expected(pair)
    node = want.get("node")
    if node == "error":
        with pytest.raises(SchemaEvalError, match="esbuild"):
            evaluate_side(pair, "live", toolchain, tmp_path)
        return
    diff = diff_schemas(evaluate_side(pair, "live", toolchain, tmp_path),
                        evaluate_side(pair, "target", toolchain, tmp_path))
    reference = node if isinstance(node, dict) else want
    assert listing(diff) == {"breaking": sorted(reference["breaking"]), "compatible": sorted(reference["compatible"])}


SINGLE = [*sorted(FIXTURES.glob("*.ts")), FIXTURES / "multi-file" / "schema.ts"]


@pytest.mark.parametrize("path", SINGLE, ids=lambda p: p.parent.name + "/" + p.name)
def test_static_parser_reads_each_fixture_schema_exactly_as_node_exports_it(
    path: Path, toolchain: NodeToolchain, tmp_path: Path
) -> None:
    """Every table the static parser reads has the document validator and indexes Convex exports."""
    from deploycheck.rollback.schema import parse_schema

    base = path.parent

    def read(name: str) -> str | None:
        candidate = base / name
        return candidate.read_text() if candidate.is_file() else None

    static = parse_schema(path.read_text(), path.name, read)
    folder = tmp_path / "convex"
    if path.name == "schema.ts":
        shutil.copytree(base, folder)
    else:
        folder.mkdir()
        shutil.copy(path, folder / "schema.ts")
    evaluated = evaluate_folder(folder, toolchain)
    assert evaluated is not None
    node = evaluated.schema
    assert node.schema_validation == static.schema_validation
    assert set(static.tables) <= set(node.tables)
    for name, table in static.tables.items():
        assert table.document == node.tables[name].document, name
        assert sorted(map(str, table.indexes)) == sorted(map(str, node.tables[name].indexes)), name
    if not static.externals:
        assert set(static.tables) == set(node.tables)


# -- the guard over a git repository -----------------------------------------------------------

OLD = """import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
export default defineSchema({ messages: defineTable({ body: v.string() }) });
"""
NEW = """import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import { Table } from "convex-helpers/server";
const Messages = Table("messages", { body: v.string(), pinned: v.boolean() });
export default defineSchema({ messages: Messages.table });
"""


def lock(convex: str) -> str:
    """A package-lock.json pinning ``convex``."""
    return json.dumps({"name": "app", "lockfileVersion": 3, "packages": {
        "": {"dependencies": {"convex": f"^{convex}"}}, "node_modules/convex": {"version": convex}}})


def git_app(tmp_path: Path, toolchain: NodeToolchain, commits: list[dict[str, str]]) -> Path:
    """A git repository with one commit per mapping of file -> text, and node_modules linked in."""
    root = tmp_path / "app"
    root.mkdir()
    run = lambda *args: subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)  # noqa: E731
    run("init", "-q", "-b", "main")
    run("config", "user.email", "t@example.com")
    run("config", "user.name", "T")
    (root / ".gitignore").write_text("node_modules\n")
    (root / "node_modules").symlink_to(toolchain.node_modules)
    for number, files in enumerate(commits):
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        run("add", "-A")
        run("commit", "-q", "-m", f"commit {number}")
    return root


def test_guard_takes_the_node_path_and_names_it(tmp_path: Path, toolchain: NodeToolchain) -> None:
    """With Node and convex installed the verdict comes from the evaluated JSON, and the report says so."""
    repo = git_app(tmp_path, toolchain, [{"convex/schema.ts": OLD}, {"convex/schema.ts": NEW}])
    result = check_schema(repo, "convex", "HEAD", "HEAD~1")
    assert result.method == "node"
    assert [f"{c.path}: {c.kind}" for c in result.diff.breaking] == ["messages.pinned: field added"]
    assert result.lines()[0].startswith("schemas read by: evaluated in Node")
    assert result.warnings == ("no lockfile at the current ref HEAD: its schema was evaluated with the packages "
                               "installed in node_modules",
                               "no lockfile at the target ref HEAD~1: its schema was evaluated with the packages "
                               "installed in node_modules")


def test_lockfile_pinning_other_versions_at_the_target_is_a_warning(tmp_path: Path, toolchain: NodeToolchain) -> None:
    """When the target's lockfile pins another convex than node_modules has, the report names both versions."""
    installed = toolchain.installed_version("convex")
    repo = git_app(tmp_path, toolchain, [
        {"convex/schema.ts": OLD, "package-lock.json": lock("1.17.0")},
        {"convex/schema.ts": NEW, "package-lock.json": lock(str(installed))},
    ])
    result = check_schema(repo, "convex", "HEAD", "HEAD~1")
    assert result.method == "node"
    assert result.warnings == (
        f"package-lock.json at the target ref HEAD~1 pins convex 1.17.0, but node_modules has {installed}: "
        f"the target schema was evaluated with convex {installed}",)
    assert any(line.startswith("WARNING   package-lock.json at the target ref") for line in result.lines())


def test_evaluation_failure_falls_back_to_the_static_parser_and_says_why(
    tmp_path: Path, toolchain: NodeToolchain
) -> None:
    """A schema that esbuild cannot bundle is read statically, and the report gives esbuild's error."""
    broken = NEW.replace('from "convex-helpers/server"', 'from "not-installed-helpers"')
    repo = git_app(tmp_path, toolchain, [{"convex/schema.ts": OLD}, {"convex/schema.ts": broken}])
    result = check_schema(repo, "convex", "HEAD", "HEAD~1")
    assert result.method == "static"
    assert "Node evaluation failed" in result.method_note and "not-installed-helpers" in result.method_note
    assert result.is_breaking  # the static parser refuses Table() from a package it does not know


def test_an_import_from_outside_the_convex_folder_is_bundled_from_the_whole_tree(
    tmp_path: Path, toolchain: NodeToolchain
) -> None:
    """A schema importing ``../shared/...`` is still evaluated in Node, from that ref's files."""
    shared = 'import { v } from "convex/values";\nexport const body = v.string();\n'
    schema = OLD.replace("body: v.string()", "body").replace(
        'import { v } from "convex/values";', 'import { v } from "convex/values";\nimport { body } from "../shared/fields";')
    repo = git_app(tmp_path, toolchain, [
        {"convex/schema.ts": schema, "shared/fields.ts": shared},
        {"shared/fields.ts": shared.replace("v.string()", "v.union(v.string(), v.null())")},
    ])
    result = check_schema(repo, "convex", "HEAD", "HEAD~1")
    assert result.method == "node", result.method_note
    assert [f"{c.path}: {c.kind}" for c in result.diff.breaking] == ["messages.body: union member added"]


def test_without_node_on_path_the_static_parser_gives_the_same_verdict_and_says_so(
    tmp_path: Path, toolchain: NodeToolchain, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same repository with node_modules but no Node on PATH: the report names the static parser and
    why, and its differences are the ones the Node evaluation found."""
    repo = git_app(tmp_path, toolchain, [{"convex/schema.ts": OLD}, {"convex/schema.ts": NEW}])
    by_node = check_schema(repo, "convex", "HEAD", "HEAD~1")
    git = shutil.which("git")
    assert git is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(git)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("DEPLOYCHECK_NODE", raising=False)
    by_parser = check_schema(repo, "convex", "HEAD", "HEAD~1")
    assert (by_node.method, by_parser.method) == ("node", "static")
    assert by_parser.lines()[0] == "schemas read by: static parser (Node evaluation unavailable: Node.js is not on PATH)"
    assert [str(c) for c in by_parser.diff.changes] == [str(c) for c in by_node.diff.changes]
