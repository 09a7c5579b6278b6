"""The npm package versions a JavaScript lockfile pins, read from the lockfile's text.

:func:`locked_versions` reads ``package-lock.json`` (lockfile versions 1-3),
``pnpm-lock.yaml``, ``yarn.lock`` (classic and berry) and ``bun.lock``, and returns the
version of each top-level dependency. The schema guard uses it to pin the packages a
``schema.ts`` imports (the static parser's digests) and to warn when the lockfile at the
target ref pins other versions than the ones installed in ``node_modules``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import yaml

__all__ = ["LOCKFILES", "find_lockfile", "locked_versions"]

LOCKFILES = ("package-lock.json", "pnpm-lock.yaml", "yarn.lock", "bun.lock", "npm-shrinkwrap.json")

_YARN_ENTRY = re.compile(r'^"?(@?[^@\s"]+)@[^\n]*:\s*\n((?:[ \t]+[^\n]*\n?)*)', re.MULTILINE)
_YARN_VERSION = re.compile(r'^\s+version:?\s+"?([^"\s]+)"?', re.MULTILINE)


def _package_lock(text: str) -> dict[str, str]:
    data = json.loads(text)
    out: dict[str, str] = {}
    for key, entry in (data.get("packages") or {}).items():
        top_level = key.startswith("node_modules/") and "/node_modules/" not in key
        if top_level and isinstance(entry, dict) and "version" in entry:
            out[key.removeprefix("node_modules/")] = str(entry["version"])
    for name, entry in (data.get("dependencies") or {}).items():
        if isinstance(entry, dict) and "version" in entry:
            out.setdefault(name, str(entry["version"]))
    return out


def _pnpm_lock(text: str) -> dict[str, str]:
    data = yaml.safe_load(text) or {}
    out: dict[str, str] = {}
    importers = data.get("importers") or {".": data}
    root = importers.get(".") or {}
    for group in ("dependencies", "devDependencies", "optionalDependencies"):
        for name, entry in (root.get(group) or {}).items():
            version = entry.get("version") if isinstance(entry, dict) else entry
            if version is not None:
                out[name] = str(version).split("(")[0]
    return out


def _yarn_lock(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for match in _YARN_ENTRY.finditer(text):
        version = _YARN_VERSION.search(match.group(2))
        if version:
            out.setdefault(match.group(1), version.group(1))
    return out


def _bun_lock(text: str) -> dict[str, str]:
    # bun.lock is JSON with trailing commas
    data = json.loads(re.sub(r",(\s*[}\]])", r"\1", text))
    out: dict[str, str] = {}
    for name, entry in (data.get("packages") or {}).items():
        if isinstance(entry, list) and entry and str(entry[0]).startswith(f"{name}@"):
            out[name] = entry[0][len(name) + 1 :]
    return out


_READERS: dict[str, Callable[[str], dict[str, str]]] = {
    "package-lock.json": _package_lock,
    "npm-shrinkwrap.json": _package_lock,
    "pnpm-lock.yaml": _pnpm_lock,
    "yarn.lock": _yarn_lock,
    "bun.lock": _bun_lock,
}


def locked_versions(name: str, text: str) -> dict[str, str]:
    """The versions pinned by the lockfile ``name`` (its base name) holding ``text``.

    Returns an empty mapping when the lockfile cannot be read; never raises for bad content.
    """
    reader = _READERS.get(name.rsplit("/", 1)[-1])
    if reader is None:
        return {}
    try:
        return reader(text)
    except (ValueError, yaml.YAMLError, AttributeError, TypeError):
        return {}


def find_lockfile(read: Callable[[str], str | None], folders: list[str]) -> tuple[str, dict[str, str]] | None:
    """The first lockfile in ``folders`` (nearest first) that ``read(path)`` finds, and its versions."""
    for folder in folders:
        for name in LOCKFILES:
            path = f"{folder}/{name}" if folder not in {"", "."} else name
            text = read(path)
            if text is not None:
                return path, locked_versions(name, text)
    return None
