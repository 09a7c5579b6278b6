"""Loading the schema fixture pairs of ``fixtures/convex-schemas/pairs`` (shared by the static and Node tests).

A pair is a folder with ``expected.yaml`` and either ``live.ts`` and ``target.ts`` or
``live/`` and ``target/`` folders (a Convex folder each, with an optional lockfile).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from deploycheck.rollback.schema import Schema, SchemaDiff, find_lockfile, parse_schema

PAIRS = Path(__file__).resolve().parents[1] / "fixtures" / "convex-schemas" / "pairs"
PAIR_NAMES = sorted(p.name for p in PAIRS.iterdir() if p.is_dir())


def side_folder(pair: str, side: str) -> Path | None:
    """The Convex folder of one side of a folder pair (None for a two-file pair)."""
    folder = PAIRS / pair / side
    return folder if folder.is_dir() else None


def load_static(pair: str, side: str) -> Schema:
    """Parse one side of a pair with the static parser, following imports and the side's lockfile."""
    folder = side_folder(pair, side)
    if folder is None:
        return parse_schema((PAIRS / pair / f"{side}.ts").read_text(), f"{side}.ts")

    def read(name: str) -> str | None:
        path = folder / name
        return path.read_text() if path.is_file() else None

    lock = find_lockfile(read, ["."])
    versions = lock[1] if lock else {}
    return parse_schema((folder / "schema.ts").read_text(), "schema.ts", read, versions.get)


def expected(pair: str) -> dict[str, Any]:
    """The pair's expected.yaml."""
    return yaml.safe_load((PAIRS / pair / "expected.yaml").read_text())


def listing(diff: SchemaDiff) -> dict[str, list[str]]:
    """The diff as expected.yaml lists it: ``path: kind`` of breaking and of compatible changes."""
    return {
        "breaking": sorted(f"{c.path}: {c.kind}" for c in diff.breaking),
        "compatible": sorted(f"{c.path}: {c.kind}" for c in diff.compatible),
    }
