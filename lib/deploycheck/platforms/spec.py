"""What a platform declares about itself, once: :class:`PlatformSpec`.

Every layer asks these facts of the registry (:mod:`deploycheck.platforms`) instead of
testing a platform's name: the label, the parameter naming its resource, whether secrets
and plain values are separate stores, case rules, value and count limits, how a person
removes a key, where the vendor's console shows the resource, and how to open an adapter.

A platform module declares ``SPEC = PlatformSpec(...)``; a separate package adds a
platform by declaring one and naming it in the ``deploycheck.platforms`` entry-point group.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from deploycheck.platforms.consoles import Console
from deploycheck.platforms.history import CodeHistory

__all__ = ["AdapterFactory", "DeployModel", "Limits", "OpenRequest", "PlatformSpec", "RemoveHint"]

#: how a platform's code is live (see :class:`PlatformSpec`)
DeployModel = Literal["deployment", "version", "push"]


@dataclass(frozen=True)
class Limits:
    """What one platform accepts as a variable name and value, and how many it keeps."""

    max_value_bytes: int | None = None
    max_name_bytes: int | None = None
    warn_name_chars: int | None = None
    forbidden_prefixes: tuple[str, ...] = ()
    reserved: tuple[str, ...] = ()
    #: at most this many variables and secrets together on one target
    max_keys: int | None = None
    #: at most this many secrets on one target
    max_secrets: int | None = None


@dataclass(frozen=True)
class OpenRequest:
    """Everything an adapter factory gets: the target, its parameters, the environment.

    ``fail(name)`` raises the configuration error for a missing parameter ``name``, with
    the file, line and key path of the target; ``resolve_path`` resolves a path written in
    deploycheck.yaml against the project root.
    """

    target: str
    env: str
    params: Mapping[str, Any]
    environ: Mapping[str, str]
    plain_names: tuple[str, ...] = ()
    local_file: Path | None = None
    fail: Callable[[str], Any] = field(default=lambda name: None)
    resolve_path: Callable[[str], Any] = field(default=lambda raw: raw)

    def require(self, name: str) -> str:
        """The non-empty string parameter ``name``; raises the configuration error otherwise."""
        value = self.params.get(name)
        if not isinstance(value, str) or not value:
            self.fail(name)
            msg = f"missing parameter {name!r}"  # fail() raises; this is a guard for bad factories
            raise ValueError(msg)
        return value


class AdapterFactory(Protocol):
    """Builds the adapter of one target (the registry's one uniform constructor)."""

    def __call__(self, request: OpenRequest) -> Any:
        """Return the adapter for ``request``; raise ConfigError for missing parameters or credentials."""
        ...


class RemoveHint(Protocol):
    """The vendor CLI's command that removes ``key`` from ``resource``, or None where none exists."""

    def __call__(self, resource: str, key: str, secret: bool) -> str | None:
        """One shell command, runnable as printed (key and resource names only, never a value)."""
        ...


@dataclass(frozen=True)
class PlatformSpec:
    """The facts of one platform, declared once in its module.

    ``typed_stores``: secrets and plain values live in separate stores, so a secret held
    as a plain value (or the reverse) is drift. ``config_marker``: the target-wide change
    marker moves on every configuration write (the Worker's active version), not only on
    code deploys. ``console`` builds the (name, URL) of the vendor's console page of a target
    from its parameters and the environment (see :mod:`deploycheck.platforms.consoles`).
    ``deploy_command`` (a format string over ``resource``) is the vendor's own deploy
    command when a target names none; ``deploy_rank`` and ``rollback_rank`` place the
    platform in the default deploy and rollback orders (None: deploycheck does not deploy
    or roll it back). ``params`` are the JSON Schema of the per-environment parameters the
    platform adds to a target (the built-in ones are written in the shipped schema).
    ``checks_section`` names the ``checks:`` section of deploycheck.yaml holding the
    defaults of the platform's shipped data-plane checks (``pages``, ``worker``, ``convex``).
    ``environment_prefixes`` name the environment variables that are the platform's own (its
    deploy command gets those and no other vendor's); ``local_readers`` are the programs that
    read the target's local ``.env`` file (see :mod:`deploycheck.platforms.dotenv_readers`).

    How its code is live, for deploy and rollback (``deploy_model``): ``deployment``, one of
    the deployments it lists serves production and a rollback re-activates an earlier one
    (Pages); ``version``, deployments send traffic to uploaded versions and a rollback sends
    100% to an earlier one (Workers); ``push``, it lists no deployments, only when code was
    last pushed, and a rollback redeploys the code of an earlier git ref from ``code_dir``
    (Convex). ``git_builds``: a deploy command that is a ``git push`` starts the platform's
    own build. ``expect_options`` pairs the checks' ``--expect-*`` options with the attribute
    of :class:`~deploycheck.deploy.Produced` holding their value (the first one must be
    known for any to be passed). ``rollback_scope`` says, line by line, what a rollback
    reverts and what it does not; ``schema_guard``: a rollback is guarded by a schema
    comparison and the decision matrix tells schema changes apart; ``durable_state``: code
    keeps state across deployments (Durable Objects), reported after a rollback.
    ``dev_marker_params`` are the target parameters whose values in DEV environments name a
    development resource (a PROD value naming one is a leak); ``prefetch_reads`` the API
    reads (:data:`deploycheck.verify.API_READS`) a verification run starts for each target.
    ``code_history`` lists the platform's revisions and rolls its code back keeping today's
    configuration (see :mod:`deploycheck.platforms.history`); ``rollback_source`` is ``git``
    for a platform whose rollback redeploys code from an earlier git commit (Convex).
    """

    name: str
    label: str
    factory: AdapterFactory
    resource_key: str
    short_label: str = ""
    aliases: tuple[str, ...] = ()
    typed_stores: bool = False
    case_insensitive: bool = False
    config_marker: bool = False
    remote: bool = True
    limits: Limits = field(default_factory=Limits)
    remove_hint: RemoveHint | None = None
    console: Console | None = None
    resource_id: Callable[[str], str] = field(default=lambda text: text)
    deploy_command: str | None = None
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    checks_section: str | None = None
    environment_prefixes: tuple[str, ...] = ()
    local_readers: tuple[str, ...] = ()
    deploy_rank: int | None = None
    rollback_rank: int | None = None
    deploy_model: DeployModel | None = None
    git_builds: bool = False
    expect_options: tuple[tuple[str, str], ...] = ()
    rollback_scope: tuple[tuple[str, str], ...] = ()
    schema_guard: bool = False
    code_dir: str | None = None
    durable_state: bool = False
    dev_marker_params: tuple[str, ...] = ()
    prefetch_reads: tuple[str, ...] = ()
    #: gradual deploys: the command uploading a new version without serving it, made from the
    #: target's deploy command (None when it cannot be; the platform then has no gradual deploys)
    version_upload: Callable[[str], str | None] | None = None
    code_history: CodeHistory | None = None
    rollback_source: Literal["platform", "git"] = "platform"

    @property
    def names(self) -> tuple[str, ...]:
        """The platform's name and its aliases, as accepted on every command line."""
        return (self.name, *self.aliases)

    def fold(self, name: str) -> str:
        """``name`` as the platform compares it (upper case where names are case-insensitive)."""
        return name.upper() if self.case_insensitive else name

    def how_to_remove(self, resource: str, key: str, secret: bool) -> str | None:
        """The vendor CLI's command that removes ``key`` from ``resource``, or None when the vendor
        has none that runs as printed (deploycheck's ``sync-env --remove`` always does)."""
        return self.remove_hint(resource, key, secret) if self.remove_hint is not None else None

    def console_url(self, params: Mapping[str, Any], environ: Mapping[str, str]) -> tuple[str, str] | None:
        """(console name, URL) of the vendor's page for a target, or None when the platform has none."""
        return self.console(params, environ) if self.console is not None else None
