"""Rules a parsed source-of-truth table must meet before anything is written anywhere.

Each rule cites its vendor source (``/work/shared/vendor-api``):

- every key is a variable name, ``^[A-Za-z_][A-Za-z0-9_]*$`` (what shells, dotenv files and
  every platform here accept);
- GitHub Actions (convex-github.md B4): letters, digits and underscore, not starting with
  a digit or ``GITHUB_``, names are case-insensitive (so ``a`` and ``A`` collide), values
  up to 48 KB;
- Convex (A3): names ``^[a-zA-Z_][a-zA-Z0-9_]*$`` up to 256 bytes (the docs' 40-character
  limit is a warning), values up to 8 KiB, ``CONVEX_CLOUD_URL`` / ``CONVEX_SITE_URL`` are
  system variables that cannot be set;
- Cloudflare Workers: values up to 5 KB and 128 variables and secrets together per Worker
  (developers.cloudflare.com/workers/platform/limits, "Environment variables"); Cloudflare
  Pages runs its Functions as Workers under the same limits (5 KB, 128), and sets
  ``CF_PAGES``, ``CF_PAGES_BRANCH``, ``CF_PAGES_COMMIT_SHA`` and ``CF_PAGES_URL`` itself
  (developers.cloudflare.com/pages/configuration/build-configuration);
- counts: GitHub stores at most 100 secrets per repository or environment, Convex 512
  variables per deployment (``ENV_VAR_LIMIT``, convex-github.md A3). The table's keys are
  counted here; :func:`count_problems` counts a plan's result (what the platform keeps
  plus what the sync adds) before any write.

And the table's own rules: known targets, one row per key and target, PROD_VALUE set for
keys deployed where PROD values go, and no PROD_VALUE pointing at development (localhost,
any address of 127.0.0.0/8, ``::1``, ``0.0.0.0``, or the development Convex deployment's name
or URL). A secret whose PROD_VALUE
equals its DEV_VALUE is a warning.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from deploycheck.errors import Problem
from deploycheck.platforms import Limits, get_spec, platform_names

if TYPE_CHECKING:
    from deploycheck.config import ProjectConfig, Target
    from deploycheck.sot.model import Entry

__all__ = ["PlatformLimits", "count_problems", "dev_markers", "limits_of", "validate"]

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LOCAL_HOSTS = re.compile(
    r"(?i)(?<![\w.-])(localhost|127(?:\.\d{1,3}){3}|0\.0\.0\.0|\[(?:0{0,4}:){2,7}0{0,3}1\]|(?<!:)::1)(?![\w-])"
)


@dataclass(frozen=True, kw_only=True)
class PlatformLimits(Limits):
    """What one platform accepts as a variable name and value: its spec's :class:`Limits`, with
    the platform's label and whether its names are case-insensitive."""

    label: str
    case_insensitive: bool = False


def limits_of(platform: str) -> PlatformLimits | None:
    """The name and value rules of ``platform``, from its spec in the registry (None if unknown)."""
    if platform not in platform_names():
        return None
    spec = get_spec(platform)
    # vars(), not asdict(): the fields are flat values, and asdict's deep copy made a 10,000-row
    # table's validation 1.8x slower (limits_of runs for every row and target)
    return PlatformLimits(**vars(spec.limits), label=spec.label, case_insensitive=spec.case_insensitive)


def _at(entry: Entry, message: str, hint: str, path: str = "") -> Problem:
    return Problem(source=str(entry.source), line=entry.line, message=message, hint=hint, path=path)


def _unknown_targets(entry: Entry, config: ProjectConfig) -> list[Problem]:
    problems = []
    valid = sorted(config.targets)
    for name in entry.targets:
        if name in config.targets:
            continue
        close = difflib.get_close_matches(name, valid, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        problems.append(
            _at(
                entry,
                f"unknown TARGET {name!r}; valid: {', '.join(valid)}.",
                f"{hint}Use a target defined in deploycheck.yaml, or add it there.".strip(),
                path=entry.key,
            )
        )
    return problems


def _name_problems(entry: Entry, config: ProjectConfig) -> list[Problem]:
    key = entry.key
    if not NAME.match(key):
        return [
            _at(
                entry,
                f"KEY {key!r} is not a valid variable name: use letters, digits and '_', "
                "not starting with a digit.",
                "Rename the key, e.g. replace '-' or '.' with '_'.",
            )
        ]
    problems = []
    for target in _known(entry, config):
        limits = limits_of(target.platform)
        if limits is None:
            continue
        upper = key.upper()
        for prefix in limits.forbidden_prefixes:
            if upper.startswith(prefix):
                problems.append(
                    _at(
                        entry,
                        f"{limits.label} (target {target.name}) refuses names starting with "
                        f"{prefix}: {key!r}.",
                        f"Rename the key so it does not start with {prefix}.",
                    )
                )
        if key in limits.reserved:
            problems.append(
                _at(
                    entry,
                    f"{key!r} is a name {limits.label} sets itself (target {target.name}); it cannot be set.",
                    f"Remove the row, or drop {target.name} from its TARGET cell.",
                )
            )
        if limits.max_name_bytes is not None and len(key.encode()) > limits.max_name_bytes:
            problems.append(
                _at(
                    entry,
                    f"{key!r} is longer than {limits.label}'s {limits.max_name_bytes}-byte name limit.",
                    "Shorten the key.",
                )
            )
    return problems


def _known(entry: Entry, config: ProjectConfig) -> list[Target]:
    return [config.targets[t] for t in entry.targets if t in config.targets]


def _size_problems(entry: Entry, config: ProjectConfig) -> list[Problem]:
    problems = []
    for target in _known(entry, config):
        limits = limits_of(target.platform)
        if limits is None or limits.max_value_bytes is None:
            continue
        for column, value in (("DEV_VALUE", entry.dev), ("PROD_VALUE", entry.prod)):
            size = len(value.encode("utf-8")) if value else 0
            if size > limits.max_value_bytes:
                problems.append(
                    _at(
                        entry,
                        f"{column} of {entry.key!r} is {size} bytes; {limits.label} (target {target.name}) "
                        f"accepts at most {limits.max_value_bytes}.",
                        "Shorten the value, or store it elsewhere and keep a reference here.",
                    )
                )
    return problems


def _control_problems(entry: Entry) -> list[Problem]:
    problems = []
    for column, value in (("DEV_VALUE", entry.dev), ("PROD_VALUE", entry.prod)):
        if value and any(ord(c) < 32 or ord(c) == 127 for c in value):
            problems.append(
                _at(
                    entry,
                    f"{column} of {entry.key!r} contains a control character.",
                    "Remove tabs and other control characters from the value.",
                )
            )
    return problems


def _prod_environments(config: ProjectConfig) -> list[str]:
    return [e.name for e in config.environments.values() if e.values == "prod"]


def _dev_environments(config: ProjectConfig) -> list[str]:
    # sandbox environments are local emulators: their resources name nothing real
    return [e.name for e in config.environments.values() if e.values == "dev" and not e.sandbox]


def dev_markers(entries: Iterable[Entry], config: ProjectConfig) -> tuple[set[str], set[str]]:
    """Names and URL hosts of the development Convex deployment(s).

    They come from the (non-sandbox) DEV environments' target parameters that the platform's
    spec names in ``dev_marker_params`` (Convex: ``deployment``, ``url``) and from the
    DEV_VALUE of ``CONVEX_DEPLOYMENT`` and of ``*CONVEX_URL`` / ``*CONVEX_SITE_URL`` keys.
    Returns ``(names, hosts)``.
    """
    names: set[str] = set()
    urls: set[str] = set()
    for target in config.targets.values():
        marking = get_spec(target.platform).dev_marker_params
        for env in _dev_environments(config) if marking else ():
            params = target.params(env) or {}
            for name in marking:
                if not params.get(name):
                    continue
                (urls if name == "url" or name.endswith("_url") else names).add(str(params[name]))
    for entry in entries:
        if not entry.dev or entry.secret:
            continue
        upper = entry.key.upper()
        if upper == "CONVEX_DEPLOYMENT":
            names.add(entry.dev.split("|", 1)[0].split(":", 1)[-1])
        elif upper.endswith(("CONVEX_URL", "CONVEX_SITE_URL")):
            urls.add(entry.dev)
    hosts = {h for h in (urlsplit(u).hostname for u in urls) if h}
    hosts = {h for h in hosts if not LOCAL_HOSTS.search(h)}
    return {n for n in names if len(n) >= 4}, hosts


def _points_at_dev(entry: Entry, names: set[str], hosts: set[str]) -> str | None:
    value = entry.prod or ""
    local = LOCAL_HOSTS.search(value)
    if local:
        return f"points at {local.group(1)}"
    for name in sorted(names):
        if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", value):
            return f"names the development deployment {name!r}"
    if "://" in value:
        host = urlsplit(value).hostname
        if host and host in hosts:
            return f"points at the development host {host!r}"
    return None


def _duplicates(entries: list[Entry], config: ProjectConfig) -> list[Problem]:
    problems = []
    seen: dict[tuple[str, str], Entry] = {}
    for entry in entries:
        for target_name in entry.targets:
            target = config.targets.get(target_name)
            limits = limits_of(target.platform) if target else None
            key = entry.key.upper() if limits and limits.case_insensitive else entry.key
            first = seen.setdefault((target_name, key), entry)
            if first is entry:
                continue
            same = "" if first.key == entry.key else f" ({limits.label if limits else ''} names ignore case)"
            problems.append(
                _at(
                    entry,
                    f"duplicate KEY {entry.key!r} for target {target_name}: "
                    f"already set at line {first.line}{same}.",
                    "Keep one row per key and target; merge or delete the other row.",
                )
            )
    return problems


def count_problems(
    target: str, platform: str, *, keys: int, secrets: int, source: str, what: str
) -> list[Problem]:
    """Problems when a target would hold more variables / secrets than ``platform`` allows."""
    limits = limits_of(platform)
    if limits is None:
        return []
    keys_hint = "Move keys to another target, or remove some from the table."
    secrets_hint = "Move secrets to another environment or repository, or remove some from the table."
    problems = []
    for most, count, kind, scope, hint in (
        (limits.max_keys, keys, "variables and secrets", "", keys_hint),
        (limits.max_secrets, secrets, "secrets", " per repository or environment", secrets_hint),
    ):
        if most is not None and count > most:
            message = f"target {target} would hold {count} {kind} ({what}); "
            message += f"{limits.label} allows at most {most}{scope}."
            problems.append(Problem(source=source, message=message, hint=hint))
    return problems


def _counts(entries: list[Entry], config: ProjectConfig) -> list[Problem]:
    problems = []
    for target in config.targets.values():
        rows = [e for e in entries if target.name in e.targets]
        if rows:
            problems += count_problems(
                target.name,
                target.platform,
                keys=len({e.key.upper() for e in rows}),
                secrets=len({e.key.upper() for e in rows if e.secret}),
                source=str(rows[0].source),
                what="the table's rows for it",
            )
    return problems


def _short_secret(entry: Entry, warnings: list[Problem]) -> list[Problem]:
    """Secrets of 1-3 characters are refused (no redactor can hide them); 4-7 get a warning
    (they are masked wherever they appear, inside other words too). See deploycheck.redact."""
    from deploycheck.redact import MIN_SECRET, PIECE

    if not entry.secret:
        return []
    problems = []
    for column, value in (("DEV_VALUE", entry.dev), ("PROD_VALUE", entry.prod)):
        if not value:
            continue
        if len(value) < MIN_SECRET:
            problems.append(
                _at(
                    entry,
                    f"{column} of secret {entry.key!r} is {len(value)} characters long; a secret "
                    f"shorter than {MIN_SECRET} characters cannot be kept out of output (masking it "
                    "would mask ordinary text).",
                    "Use a longer secret, or mark the key plain (TYPE plain, or the target's plain: "
                    "list) if it is not secret.",
                )
            )
        elif len(value) < PIECE:
            warnings.append(
                _at(
                    entry,
                    f"{column} of secret {entry.key!r} is {len(value)} characters long: it is masked "
                    "wherever it appears in output, inside other words too.",
                    f"Use a secret of at least {PIECE} characters.",
                )
            )
    return problems


def _required(entries: list[Entry], config: ProjectConfig) -> list[Problem]:
    problems = []
    for target in config.targets.values():
        rows = [e for e in entries if target.name in e.targets]
        present = {e.key for e in rows}
        for key in target.required:
            if key in present:
                continue
            where = rows[0] if rows else (entries[0] if entries else None)
            if where is None:
                continue
            problems.append(
                _at(
                    where,
                    f"target {target.name} requires {key!r} "
                    f"(deploycheck.yaml targets.{target.name}.required) but no row sets it.",
                    f"Add a row | {target.name} | ... | {key} | ... | ... |.",
                )
            )
    return problems


def validate(entries: list[Entry], config: ProjectConfig) -> tuple[list[Problem], list[Problem]]:
    """Check parsed entries against ``config`` and the platform rules.

    Returns ``(problems, warnings)``: problems make the table unusable (exit code 2),
    warnings are shown and the run goes on. Messages never include a secret's value.
    """
    problems: list[Problem] = []
    warnings: list[Problem] = []
    prod_envs = _prod_environments(config)
    names, hosts = dev_markers(entries, config)
    for entry in entries:
        problems += _unknown_targets(entry, config)
        problems += _name_problems(entry, config)
        problems += _size_problems(entry, config)
        problems += _control_problems(entry)
        known = _known(entry, config)
        deployed = sorted({env for t in known for env in prod_envs if t.deployed_in(env)})
        if entry.prod is None and deployed:
            problems.append(
                _at(
                    entry,
                    f"PROD_VALUE of {entry.key!r} is empty, but {', '.join(t.name for t in known)} "
                    f"is deployed to {', '.join(deployed)}.",
                    "Fill PROD_VALUE, or remove the targets that go to production from the row.",
                )
            )
        reason = _points_at_dev(entry, names, hosts) if entry.prod else None
        if reason:
            shown = "" if entry.secret else f" ({entry.prod!r})"
            problems.append(
                _at(
                    entry,
                    f"PROD_VALUE of {entry.key!r}{shown} {reason}: production must not use development.",
                    "Put the production value in PROD_VALUE; development values belong in DEV_VALUE.",
                )
            )
        problems += _short_secret(entry, warnings)
        if entry.secret and entry.prod and entry.prod == entry.dev:
            warnings.append(
                _at(
                    entry,
                    f"secret {entry.key!r} has the same value in development and production.",
                    "Use a separate secret for production so a leaked development value is harmless.",
                )
            )
        for target in known:
            limits = limits_of(target.platform)
            if limits and limits.warn_name_chars and len(entry.key) > limits.warn_name_chars:
                warnings.append(
                    _at(
                        entry,
                        f"{entry.key!r} is longer than the {limits.warn_name_chars} characters "
                        f"{limits.label}'s limits page documents.",
                        "Shorten the key if the platform refuses it.",
                    )
                )
    problems += _duplicates(entries, config)
    problems += _required(entries, config)
    problems += _counts(entries, config)
    return problems, warnings
