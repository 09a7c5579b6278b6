"""Exact evaluation of a Convex schema at a git ref: bundled with esbuild, run in Node.

The Convex CLI does not parse ``schema.ts``: it bundles it with esbuild (convex-js
``src/bundler/index.ts`` ``bundleSchema``) and the deployment evaluates the bundle and
reads ``defineSchema(...).export()`` (``src/server/schema.ts``): a JSON document of
tables, each with ``documentType`` (the ``json`` of its validator, ``ValidatorJSON`` in
``src/values/validators.ts``), its indexes, search and vector indexes, and
``schemaValidation``. :func:`evaluate_at` does the same with the app's own ``convex``
package and helper packages (from its ``node_modules``), on the ref's ``convex/`` folder
taken with ``git archive``, and :func:`schema_from_json` turns that JSON into the
:class:`~deploycheck.rollback.schema.model.Schema` the diff compares.

:func:`find_toolchain` says whether this is possible (Node on PATH, ``convex`` and
``esbuild`` installed in the app's ``node_modules``) and, if not, why.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

from deploycheck.errors import RollbackError
from deploycheck.rollback.schema.model import Index, Schema, Table, Validator, union_of

__all__ = [
    "EvaluatedSchema",
    "NodeToolchain",
    "SchemaEvalError",
    "evaluate_at",
    "evaluate_folder",
    "find_toolchain",
    "schema_from_json",
    "validator_from_json",
]

_TIMEOUT = 120.0


class SchemaEvalError(RollbackError):
    """Raised when a ref's schema.ts cannot be bundled or evaluated in Node."""


@dataclass(frozen=True)
class NodeToolchain:
    """Node and the app's ``node_modules`` holding ``convex`` and ``esbuild``."""

    node: str
    node_modules: Path

    @property
    def esbuild(self) -> Path:
        """The esbuild package the app has (the ``convex`` package depends on it)."""
        return self.node_modules / "esbuild"

    def installed_version(self, package: str) -> str | None:
        """The version of ``package`` in ``node_modules`` (None when absent)."""
        manifest = self.node_modules / package / "package.json"
        try:
            return str(json.loads(manifest.read_text())["version"])
        except (OSError, ValueError, KeyError):
            return None


@dataclass(frozen=True)
class EvaluatedSchema:
    """One ref's schema as Convex exports it, and the packages its bundle included."""

    schema: Schema
    packages: dict[str, str] = field(default_factory=dict)


def find_toolchain(
    app_dirs: list[Path], environ: dict[str, str] | None = None
) -> tuple[NodeToolchain | None, str]:
    """Node and a ``node_modules`` with ``convex`` and ``esbuild`` among ``app_dirs`` (nearest first).

    Returns the toolchain and "" or None and the reason it cannot be used.
    ``DEPLOYCHECK_NODE`` names the node binary (default: ``node`` on PATH).
    """
    env = os.environ if environ is None else environ
    node = env.get("DEPLOYCHECK_NODE") or shutil.which("node")
    if not node:
        return None, "Node.js is not on PATH"
    for folder in app_dirs:
        modules = folder / "node_modules"
        if (modules / "convex" / "package.json").is_file():
            if not (modules / "esbuild" / "package.json").is_file():
                return None, f"{modules} has convex but no esbuild"
            return NodeToolchain(node, modules.resolve()), ""
    where = ", ".join(str(d) for d in app_dirs) or "(none)"
    return None, f"no node_modules with the convex package in {where} (run npm install)"


def _package_of(path: str) -> str | None:
    marker = "node_modules/"
    if marker not in path:
        return None
    rest = path.rsplit(marker, 1)[1].split("/")
    return "/".join(rest[:2]) if rest[0].startswith("@") else rest[0]


def evaluate_at(repo: Path, commit: str, convex_dir: str, toolchain: NodeToolchain) -> EvaluatedSchema | None:
    """Bundle and evaluate ``convex_dir/schema.ts`` as it is at ``commit``.

    Only the Convex folder is taken from git first; when the schema imports a relative
    path outside it (``../shared/validators``), the whole tree at ``commit`` is taken and the
    bundle is built again. Returns None when that commit has no schema file; raises
    SchemaEvalError naming the step that failed (git archive, esbuild with its file:line,
    the evaluation).
    """
    folder = convex_dir if convex_dir not in {"", "."} else "."
    try:
        return _evaluate_archive(repo, commit, folder, folder, toolchain)
    except SchemaEvalError as exc:
        if folder == "." or 'Could not resolve "..' not in str(exc):
            raise
    return _evaluate_archive(repo, commit, ".", folder, toolchain)


def _evaluate_archive(repo: Path, commit: str, taken: str, folder: str,
                      toolchain: NodeToolchain) -> EvaluatedSchema | None:
    done = subprocess.run(["git", "archive", "--format=tar", commit, "--", taken], cwd=repo,
                          capture_output=True, timeout=120, check=False)
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        msg = f"git archive {commit[:12]} {taken}: {message[-1] if message else 'failed'}"
        raise SchemaEvalError(msg)
    with tempfile.TemporaryDirectory(prefix="deploycheck-schema-") as tmp:
        root = Path(tmp) / "src"
        with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
            archive.extractall(root, filter="data")
        try:
            label = f"{folder} at {commit[:12]}"
            return evaluate_folder(root / PurePosixPath(folder), toolchain, label=label, source=folder)
        except SchemaEvalError as exc:
            raise SchemaEvalError(str(exc).replace(str(root) + os.sep, "")) from None


def evaluate_folder(
    base: Path, toolchain: NodeToolchain, *, label: str = "", source: str = "."
) -> EvaluatedSchema | None:
    """Bundle and evaluate ``base/schema.ts`` (a Convex folder on disk); None when there is none."""
    label = label or str(base)
    entry = next((base / name for name in ("schema.ts", "schema.js") if (base / name).is_file()), None)
    if entry is None:
        return None
    with tempfile.TemporaryDirectory(prefix="deploycheck-bundle-") as tmp:
        script = resources.files("deploycheck") / "data" / "schema_eval.mjs"
        with resources.as_file(script) as script_path:
            try:
                run = subprocess.run(
                    [toolchain.node, str(script_path), str(toolchain.esbuild), str(entry),
                     str(toolchain.node_modules), tmp],
                    capture_output=True, text=True, timeout=_TIMEOUT, check=False, cwd=tmp,
                )
            except subprocess.TimeoutExpired:
                msg = f"evaluating schema.ts of {label} took longer than {_TIMEOUT:.0f} s"
                raise SchemaEvalError(msg) from None
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    try:
        answer = json.loads(lines[-1]) if lines else {}
    except ValueError:
        answer = {}
    if "schema" not in answer:
        error = str(answer.get("error") or run.stderr.strip()[-500:] or "no output")
        msg = f"schema.ts of {label}: {error}"
        raise SchemaEvalError(msg)
    name = f"{source}/{entry.name}" if source not in {"", "."} else entry.name
    packages: dict[str, str] = {}
    for path in answer.get("inputs", []):
        package = _package_of(str(path))
        if package and package not in packages:
            packages[package] = toolchain.installed_version(package) or "?"
    return EvaluatedSchema(schema_from_json(answer["schema"], name), packages)


# -- the export() JSON -------------------------------------------------------------------------


def _literal_text(value: Any) -> str:
    if isinstance(value, dict) and "$integer" in value:  # convexToJson of a bigint: 8 bytes little-endian
        raw = base64.b64decode(value["$integer"])
        return f"{int.from_bytes(raw, 'little', signed=True)}n"
    if isinstance(value, dict) and "$float" in value:
        return json.dumps(value, sort_keys=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(float(value)).removesuffix(".0")
    return json.dumps(value, ensure_ascii=False)


_PRIMITIVE_JSON = {"string": "string", "number": "float64", "bigint": "int64", "boolean": "boolean",
                   "bytes": "bytes", "null": "null", "any": "any"}


def validator_from_json(data: Any) -> Validator:  # noqa: PLR0911 - one return per ValidatorJSON type
    """A :class:`Validator` from convex-js's ``ValidatorJSON`` (``src/values/validators.ts``)."""
    kind = data.get("type") if isinstance(data, dict) else None
    if kind in _PRIMITIVE_JSON:
        return Validator(_PRIMITIVE_JSON[kind])  # type: ignore[arg-type]
    if kind == "id":
        return Validator("id", table=str(data["tableName"]))
    if kind == "literal":
        return Validator("literal", value=_literal_text(data["value"]))
    if kind == "array":
        return Validator("array", items=(validator_from_json(data["value"]),))
    if kind == "record":
        return Validator("record", items=(validator_from_json(data["keys"]),
                                          validator_from_json(data["values"]["fieldType"])))
    if kind == "object":
        fields = []
        for name, spec in data["value"].items():
            inner = validator_from_json(spec["fieldType"])
            fields.append((name, Validator("optional", items=(inner,)) if spec.get("optional") else inner))
        return Validator("object", fields=tuple(sorted(fields)))
    if kind == "union":
        return union_of([validator_from_json(member) for member in data["value"]])
    text = json.dumps(data, sort_keys=True)
    return Validator("unknown", text=text, digest=text, reason=f"validator type {kind!r} is not modelled")


def schema_from_json(data: dict[str, Any], source: str = "schema.ts") -> Schema:
    """A :class:`Schema` from ``defineSchema(...).export()`` (``src/server/schema.ts``)."""
    tables: dict[str, Table] = {}
    for table in data.get("tables", []):
        indexes: list[Index] = []
        for key in ("indexes", "stagedDbIndexes"):
            for index in table.get(key) or []:
                indexes.append(Index(str(index["indexDescriptor"]), "index", tuple(index["fields"])))
        for key in ("searchIndexes", "stagedSearchIndexes"):
            for index in table.get(key) or []:
                fields = (str(index["searchField"]), *index.get("filterFields", []))
                indexes.append(Index(str(index["indexDescriptor"]), "search", fields))
        for key in ("vectorIndexes", "stagedVectorIndexes"):
            for index in table.get(key) or []:
                fields = (str(index["vectorField"]), *index.get("filterFields", []))
                indexes.append(Index(str(index["indexDescriptor"]), "vector", fields,
                                     (("dimensions", str(index.get("dimensions"))),)))
        name = str(table["tableName"])
        tables[name] = Table(name, validator_from_json(table["documentType"]), tuple(indexes))
    return Schema(
        tables=dict(sorted(tables.items())),
        schema_validation=data.get("schemaValidation", True) is not False,
        source=source,
    )
