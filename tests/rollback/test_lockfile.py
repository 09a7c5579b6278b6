"""Versions pinned by npm, pnpm, yarn and bun lockfiles, as the schema guard reads them."""

from __future__ import annotations

import json

import pytest

from deploycheck.rollback.schema import find_lockfile, locked_versions

PACKAGE_LOCK = json.dumps({
    "lockfileVersion": 3,
    "packages": {
        "": {"dependencies": {"convex": "^1.17.0"}},
        "node_modules/convex": {"version": "1.17.4"},
        "node_modules/@convex-dev/auth": {"version": "0.0.80"},
        "node_modules/convex/node_modules/esbuild": {"version": "0.23.0"},
    },
})
PNPM = """lockfileVersion: '9.0'
importers:
  .:
    dependencies:
      convex:
        specifier: ^1.17.0
        version: 1.17.4(react@18.3.1)
      '@convex-dev/auth':
        specifier: ^0.0.80
        version: 0.0.80
"""
YARN_CLASSIC = '''# yarn lockfile v1

convex@^1.17.0:
  version "1.17.4"
  resolved "https://registry.yarnpkg.com/convex/-/convex-1.17.4.tgz"

"@convex-dev/auth@^0.0.80":
  version "0.0.80"
'''
YARN_BERRY = '''__metadata:
  version: 8

"convex@npm:^1.17.0":
  version: 1.17.4
  resolution: "convex@npm:1.17.4"

"@convex-dev/auth@npm:^0.0.80":
  version: 0.0.80
'''
BUN = '''{
  "lockfileVersion": 1,
  "packages": {
    "convex": ["convex@1.17.4", "", {}, "sha512-x"],
    "@convex-dev/auth": ["@convex-dev/auth@0.0.80", "", {}, "sha512-y"],
    "convex/esbuild": ["esbuild@0.23.0", "", {}, "sha512-z"],
  },
}
'''


@pytest.mark.parametrize(
    ("name", "text"),
    [("package-lock.json", PACKAGE_LOCK), ("pnpm-lock.yaml", PNPM), ("yarn.lock", YARN_CLASSIC),
     ("yarn.lock", YARN_BERRY), ("bun.lock", BUN)],
    ids=["npm", "pnpm", "yarn-classic", "yarn-berry", "bun"],
)
def test_each_lockfile_format_yields_the_top_level_versions(name: str, text: str) -> None:
    """convex and a scoped package are read with their exact pinned versions; nested copies are not."""
    versions = locked_versions(name, text)
    assert versions["convex"] == "1.17.4"
    assert versions["@convex-dev/auth"] == "0.0.80"
    assert "esbuild" not in versions


def test_unreadable_lockfile_gives_no_versions() -> None:
    """A corrupt lockfile pins nothing (the guard then treats package versions as unknown)."""
    assert locked_versions("package-lock.json", "{not json") == {}
    assert locked_versions("pnpm-lock.yaml", ":\n- [") == {}


def test_the_nearest_lockfile_wins() -> None:
    """find_lockfile looks in the Convex folder's parents nearest first."""
    files = {"package-lock.json": PACKAGE_LOCK, "app/pnpm-lock.yaml": PNPM.replace("1.17.4", "1.20.0")}
    found = find_lockfile(files.get, ["app", "."])
    assert found is not None and found[0] == "app/pnpm-lock.yaml" and found[1]["convex"] == "1.20.0"
