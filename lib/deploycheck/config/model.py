"""The project description, ``deploycheck.yaml``, loaded and validated once.

Every problem in the file is reported at once, each with the file, the line, the key
path, what was expected and the valid choices; nothing runs while the file is wrong.
The shape is described by ``deploycheck/data/deploycheck.schema.json`` so editors can
complete it. Finding the problems (line numbers, schema and name checks) is the job of
:mod:`deploycheck.config.problems`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from deploycheck.config.problems import (
    CONFIG_NAME,
    duplicate_keys,
    missing_sections,
    node_lines,
    parse_yaml,
    schema_problems,
    semantic_problems,
    unknown_name,
)
from deploycheck.errors import ConfigError, Problem

__all__ = [
    "EncryptionConfig",
    "Environment",
    "ProjectConfig",
    "Setting",
    "StateConfig",
    "Target",
    "find_config",
    "load_config",
]



@dataclass(frozen=True)
class Environment:
    """One deployment environment (development, production, sandbox, ...)."""

    name: str
    remote: bool = True
    values: Literal["dev", "prod"] = "prod"
    sandbox: bool = False
    sot: Path | None = None
    settings: dict[str, str] = field(default_factory=dict)
    #: run checks marked destructive (None: only where not remote, or in the sandbox)
    destructive: bool | None = None

    @property
    def is_local(self) -> bool:
        """True when the environment may read local ``.env`` files (never for remote ones)."""
        return not self.remote


@dataclass(frozen=True)
class Target:
    """A SoT target (NEXTJS, CONVEX, ...) mapped to a platform and per-environment parameters."""

    name: str
    platform: str
    local_file: Path | None = None
    allow_outside_repo: bool = False
    required: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    plain: tuple[str, ...] = ()
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the target's own check parameters (``targets.<T>.checks``), over ``checks.<section>``
    checks: dict[str, Any] = field(default_factory=dict)

    def params(self, env: str) -> dict[str, Any] | None:
        """The parameters of this target in ``env``, or None when it is not deployed there."""
        return self.environments.get(env)

    def deployed_in(self, env: str) -> bool:
        """True when the target has parameters (a platform resource) in ``env``."""
        return env in self.environments


@dataclass(frozen=True)
class Setting:
    """A named value checks use (APP_URL, WORKER_URL, ...)."""

    name: str
    aliases: tuple[str, ...] = ()
    secret: bool = False
    description: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        """The variable names looked up for this setting, in order."""
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class StateConfig:
    """The ``state:`` section: where the ledger, audit log and lock live.

    ``backend`` is ``local`` (the state dir, the default) or ``s3`` (an S3-compatible
    bucket: AWS S3, Cloudflare R2, MinIO), with ``bucket``, ``prefix``, ``endpoint_url``,
    ``region`` and ``lock_ttl`` (seconds) for the latter.
    """

    backend: str = "local"
    bucket: str | None = None
    prefix: str | None = None
    endpoint_url: str | None = None
    region: str | None = None
    lock_ttl: float = 120.0


@dataclass(frozen=True)
class EncryptionConfig:
    """The ``encryption:`` section: age recipients per value column (``dev``, ``prod``)."""

    recipients: dict[str, tuple[str, ...]]
    identity_file: Path | None = None


@dataclass(frozen=True)
class ProjectConfig:
    """The validated contents of ``deploycheck.yaml``."""

    path: Path
    project: str
    default_env: str
    environments: dict[str, Environment]
    targets: dict[str, Target]
    settings: dict[str, Setting]
    sot: Path | None = None
    state_dir: Path | None = None
    state: StateConfig = field(default_factory=StateConfig)
    encryption: EncryptionConfig | None = None
    checks: dict[str, Any] = field(default_factory=dict)
    rollback: dict[str, Any] = field(default_factory=dict)
    deploy: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    @property
    def root(self) -> Path:
        """The directory holding deploycheck.yaml; relative paths are resolved from it."""
        return self.path.parent

    def resolve_path(self, value: str | Path) -> Path:
        """Resolve a path from the config: ``~`` expanded, relative to the config's folder."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.root / path

    def environment(self, name: str) -> Environment:
        """Return the environment ``name`` or raise a ConfigError listing the configured ones."""
        try:
            return self.environments[name]
        except KeyError:
            problem = unknown_name(str(self.path), None, "--env", name, self.environments)
            raise ConfigError([problem]) from None

    def targets_for(self, env: str, platforms: tuple[str, ...] | None = None) -> list[Target]:
        """The targets deployed in ``env``, optionally only those on ``platforms``."""
        return [
            t
            for t in self.targets.values()
            if t.deployed_in(env) and (not platforms or t.platform in platforms)
        ]

    def sot_path(self, env: str | None = None, override: str | None = None) -> Path:
        """Where the source-of-truth table is: ``override`` (--sot / DEPLOYCHECK_SOT), the
        environment's own ``sot``, the project's ``sot``, else ``~/.env-configs/<project>.env``."""
        if override:
            return Path(override).expanduser()
        if env is not None and env in self.environments and self.environments[env].sot is not None:
            return self.environments[env].sot  # type: ignore[return-value]
        if self.sot is not None:
            return self.sot
        return Path.home() / ".env-configs" / f"{self.project}.env"

    def line_of(self, path: str) -> int | None:
        """The line in deploycheck.yaml where the key path ``path`` is written, when known."""
        return self.lines.get(path)


def find_config(start: Path | None = None) -> Path | None:
    """Look for deploycheck.yaml in ``start`` (default: the working directory) and its parents."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def load_config(path: Path | str | None = None) -> ProjectConfig:
    """Load and validate deploycheck.yaml; raise ConfigError listing every problem.

    ``path`` defaults to the nearest deploycheck.yaml from the working directory up.
    """
    if path is None:
        found = find_config()
        if found is None:
            raise ConfigError(
                [
                    Problem(
                        source=str(Path.cwd() / CONFIG_NAME),
                        message="no deploycheck.yaml in this folder or any parent.",
                        hint="Run from the project root or pass --deploycheck-config / --config PATH.",
                    )
                ]
            )
        path = found
    path = Path(path).resolve()
    source = str(path)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(
            [Problem(source=source, message=f"cannot read the file: {exc.strerror}.", hint="Check the path.")]
        ) from None
    import yaml  # when a config loads, not at plugin load

    try:
        node, data = parse_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            [Problem(source=source, line=line, message=f"not valid YAML: {problem}.", hint="Fix the syntax.")]
        ) from None
    lines: dict[str, int] = {}
    duplicates: list[Problem] = []
    if node is not None:
        node_lines(node, "", lines)
        # problems of the top level (a missing section) point at where the mapping starts
        lines.setdefault("", node.start_mark.line + 1)
        duplicates = duplicate_keys(node, "", source)
    if not isinstance(data, dict):
        raise ConfigError(
            [
                Problem(
                    source=source, line=1, message="expected a mapping at the top level.", hint="See README."
                )
            ]
        )
    shape = schema_problems(data, source, lines)
    # a misspelt section makes every name that refers into it "unknown": report the typo alone
    cross = [] if missing_sections(shape) else semantic_problems(data, source, lines)
    problems = duplicates + shape + cross
    if problems:
        raise ConfigError(problems, title=f"invalid deploycheck configuration in {source}")
    return _build(path, data, lines)


def _encryption(data: dict[str, Any] | None, resolve: Any) -> EncryptionConfig | None:
    if not data:
        return None
    recipients = {column: tuple(keys) for column, keys in data["recipients"].items()}
    return EncryptionConfig(recipients=recipients, identity_file=resolve(data.get("identity_file")))


def _build(path: Path, data: dict[str, Any], lines: dict[str, int]) -> ProjectConfig:
    root = path.parent

    def resolve(value: str | None) -> Path | None:
        if value is None:
            return None
        p = Path(value).expanduser()
        return p if p.is_absolute() else root / p

    environments = {
        name: Environment(
            name=name,
            remote=bool(env.get("remote", True)),
            values=env.get("values", "dev" if env.get("remote") is False else "prod"),
            sandbox=bool(env.get("sandbox", False)),
            sot=resolve(env.get("sot")),
            settings={k: str(v) for k, v in (env.get("settings") or {}).items()},
            destructive=env.get("destructive"),
        )
        for name, env in data["environments"].items()
        for env in [env or {}]
    }
    targets = {
        name: Target(
            name=name,
            platform=t["platform"],
            local_file=resolve(t.get("local_file")),
            allow_outside_repo=bool(t.get("allow_outside_repo", False)),
            required=tuple(t.get("required") or ()),
            secrets=tuple(t.get("secrets") or ()),
            plain=tuple(t.get("plain") or ()),
            environments={e: dict(p or {}) for e, p in (t.get("environments") or {}).items()},
            checks=dict(t.get("checks") or {}),
        )
        for name, t in data["targets"].items()
    }
    settings = {
        name: Setting(
            name=name,
            aliases=tuple(s.get("aliases") or ()),
            secret=bool(s.get("secret", False)),
            description=s.get("description", ""),
        )
        for name, s in (data.get("settings") or {}).items()
        for s in [s or {}]
    }
    default_env = data.get("default_env") or (
        "development" if "development" in environments else next(iter(environments))
    )
    return ProjectConfig(
        path=path,
        project=data["project"],
        default_env=default_env,
        environments=environments,
        targets=targets,
        settings=settings,
        sot=resolve(data.get("sot")),
        state_dir=resolve(data.get("state_dir")),
        state=StateConfig(**(data.get("state") or {})),
        encryption=_encryption(data.get("encryption"), resolve),
        checks=dict(data.get("checks") or {}),
        rollback=dict(data.get("rollback") or {}),
        deploy=dict(data.get("deploy") or {}),
        lines=lines,
    )
