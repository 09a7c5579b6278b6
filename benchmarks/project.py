"""Generated projects: a copy of deploycheck.yaml whose sandbox SoT is a table of N keys.

Keys go round-robin to the four targets of the reference app, but never past a
platform's documented per-scope limit (:data:`CAPS`): once a target is full the rest go
to the others, so every generated table can really be synced. Every third key is a
secret by name (``*_API_TOKEN``); the others are plain settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from benchmarks.harness import REPO

__all__ = [
    "CAPS",
    "TARGETS",
    "distribute",
    "key_name",
    "sandbox_environ",
    "sync_argv",
    "write_project",
    "write_sot",
]

TARGETS = ("NEXTJS", "CONVEX", "CLOUDFLARE_WORKER", "GITHUB", "GITHUB_REPO")
#: keys a target may hold, as the table's rules allow: Pages and Workers 128, a Convex
#: deployment 512 (ENV_VAR_LIMIT), a GitHub environment or repository 100 secrets and 100
#: variables (150 keys of which every third is a secret stay under both)
CAPS: Mapping[str, int] = {
    "NEXTJS": 128, "CLOUDFLARE_WORKER": 128, "CONVEX": 512, "GITHUB": 150, "GITHUB_REPO": 150,
}  # fmt: skip
#: a GitHub scope also holds at most 100 of each kind (secrets, variables)
KIND_CAPS: Mapping[str, int] = {"GITHUB": 100, "GITHUB_REPO": 100}
#: the fifth target: the repository's own Actions secrets and variables, beside the environment's
GITHUB_REPO_TARGET = {
    "platform": "github-actions",
    "description": "repository-level Actions secrets and variables",
    "environments": {"sandbox": {"repository": "example/app"}},
}
HEADER = "| TARGET | GROUP | KEY | DEV_VALUE | PROD_VALUE |\n|---|---|---|---|---|\n"


def key_name(n: int) -> str:
    """The n-th generated key: every third one a secret by name."""
    return f"BENCH_{n:05d}_API_TOKEN" if n % 3 == 0 else f"BENCH_{n:05d}_SETTING"


def distribute(keys: int, caps: Mapping[str, int] = CAPS, targets: Sequence[str] = TARGETS) -> list[str]:
    """The target of each of ``keys`` keys: round-robin, skipping targets at their cap.

    Raises ValueError when the keys do not fit under the caps.
    """
    counts = dict.fromkeys(targets, 0)
    kinds: dict[tuple[str, bool], int] = {}
    chosen: list[str] = []
    turn = 0
    for n in range(keys):
        secret = key_name(n).endswith("_TOKEN")
        for _ in range(len(targets)):
            name = targets[turn % len(targets)]
            turn += 1
            kind_full = kinds.get((name, secret), 0) >= KIND_CAPS.get(name, keys) if caps else False
            if counts[name] < caps.get(name, keys) and not kind_full:
                counts[name] += 1
                kinds[(name, secret)] = kinds.get((name, secret), 0) + 1
                chosen.append(name)
                break
        else:
            msg = f"{keys} keys do not fit under the per-target caps {dict(caps)}"
            raise ValueError(msg)
    return chosen


def write_sot(path: Path, keys: int, *, caps: Mapping[str, int] = CAPS, tag: str = "") -> dict[str, int]:
    """Write a table of ``keys`` generated keys to ``path``; return how many each target got.

    ``tag`` goes into every PROD value, so two tables with different tags differ in
    every value.
    """
    assignment = distribute(keys, caps)
    lines = [HEADER]
    for n, target in enumerate(assignment):
        prod = f"prod-{tag}{n:05d}-{'x' * 16}"
        lines.append(f"| {target} | Generated | {key_name(n)} | dev-{n:05d} | {prod} |\n")
    path.write_text("".join(lines), encoding="utf-8")
    counts = dict.fromkeys(TARGETS, 0)
    for target in assignment:
        counts[target] += 1
    return counts


def write_project(folder: Path, keys: int, *, caps: Mapping[str, int] = CAPS) -> tuple[Path, dict[str, int]]:
    """A deploycheck.yaml in ``folder`` (copied from the repository's) whose SoT has ``keys`` keys.

    Returns the config path and the keys per target. The default environment is
    ``sandbox``; the targets' ``required`` lists are dropped (the table has only generated keys).
    """
    folder.mkdir(parents=True, exist_ok=True)
    sot = folder / "app.env"
    counts = write_sot(sot, keys, caps=caps)
    data: dict[str, Any] = yaml.safe_load((REPO / "deploycheck.yaml").read_text(encoding="utf-8"))
    data["sot"] = str(sot)
    data["default_env"] = "sandbox"
    data["environments"]["sandbox"]["sot"] = str(sot)
    data["targets"]["GITHUB_REPO"] = GITHUB_REPO_TARGET
    for target in data["targets"].values():
        target.pop("required", None)
    path = folder / "deploycheck.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path, counts


def sandbox_environ(info: Any) -> dict[str, str]:
    """This process's environment pointed at the sandbox, without variables that would redirect a run."""
    env = {**os.environ, **info.environ()}
    for name in ("DEPLOYCHECK_SOT", "DEPLOYCHECK_STATE_DIR", "GITHUB_STEP_SUMMARY", "PYTEST_ADDOPTS"):
        env.pop(name, None)
    return env


def sync_argv(python: str, config: Path, state_dir: Path) -> list[str]:
    """``deploycheck sync-env --mode=deploy-prod --env sandbox --yes`` for a generated project."""
    return [
        python, "-m", "deploycheck", "sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes",
        "--config", str(config), "--state-dir", str(state_dir),
    ]  # fmt: skip
