"""Cloudflare Workers: secrets, plain-text vars, versions, deployments and rollback.

Reading costs three requests whatever the number of keys: the script settings (bindings:
plain_text vars) and the deployments list concurrently (the active version id is the
target-wide change marker), then the active version, whose ``secret_text`` bindings are
the secrets that serve traffic (after a rollback to a version without them, they are
missing, whatever the latest version holds; during a split deployment the secrets list).
Secrets are written in one merge-patch request to
``secrets-bulk`` (null deletes); plain vars by reading the settings, merging the
bindings and sending them back as the ``settings`` part of a multipart PATCH, as
wrangler does. Rollback creates a deployment sending 100% of traffic to an older
version, exactly like ``wrangler rollback``.

A secrets write counts only when the platform shows it: ``secrets-bulk`` must answer its
documented result (a map naming every secret written), and afterwards a new version must
be active that carries each written secret's binding (and none of the removed ones);
otherwise the names are reported failed or unconfirmed, never applied.

Idempotency: ``secrets-bulk`` and the settings PATCH carry explicit values, so repeating
them leaves the same state and they are retried; creating a deployment is not retried
on 5xx or timeout.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from deploycheck.errors import NotFoundError, PlatformError
from deploycheck.http import HttpSettings
from deploycheck.http.client import dumps
from deploycheck.platforms.base import ApplyResult, ConfigState, Deployment, RemoteVar, VarChange
from deploycheck.platforms.cloudflare.api import CloudflareAdapter, CloudflareApi, cloudflare_api
from deploycheck.platforms.cloudflare.history import WORKER_HISTORY
from deploycheck.platforms.consoles import cloudflare_console
from deploycheck.platforms.dotenv_readers import WRANGLER
from deploycheck.platforms.params import param_path
from deploycheck.platforms.spec import Limits, OpenRequest, PlatformSpec

__all__ = ["CloudflareWorkerPlatform", "WorkerVersion"]

SECRETS_CHANGED = 10220
SECRET_BINDINGS = frozenset({"secret_text", "secret_key"})


@dataclass(frozen=True)
class WorkerVersion:
    """One uploaded version of a Worker script (``bindings`` only from :meth:`get_version`)."""

    id: str
    number: int | None
    created_on: str
    source: str | None = None
    message: str | None = None
    bindings: tuple[Mapping[str, Any], ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)


def _deployment(item: Any, active: bool) -> Deployment:
    annotations = item.get("annotations") or {}
    versions = tuple(
        (str(v.get("version_id")), float(v.get("percentage", 0))) for v in item.get("versions") or []
    )
    return Deployment(
        id=str(item.get("id")),
        created_on=str(item.get("created_on", "")),
        active=active,
        status="success",
        versions=versions,
        message=annotations.get("workers/message"),
        extra={
            "source": item.get("source"),
            "strategy": item.get("strategy"),
            "author_email": item.get("author_email"),
            "triggered_by": annotations.get("workers/triggered_by"),
        },
    )


def _version(item: Any) -> WorkerVersion:
    metadata = item.get("metadata") or {}
    annotations = item.get("annotations") or {}
    resources = item.get("resources") or {}
    return WorkerVersion(
        id=str(item.get("id")),
        number=item.get("number"),
        created_on=str(metadata.get("created_on", "")),
        source=metadata.get("source"),
        message=annotations.get("workers/message"),
        bindings=tuple(resources.get("bindings") or ()),
        extra={
            "annotations": annotations,
            "startup_time_ms": item.get("startup_time_ms"),
            "author_email": metadata.get("author_email"),
            "etag": (resources.get("script") or {}).get("etag"),
            "script_runtime": dict(resources.get("script_runtime") or {}),
        },
    )


def _plain_text(binding: Mapping[str, Any]) -> str | None:
    kind = binding.get("type")
    if kind == "plain_text":
        return str(binding.get("text", ""))
    if kind == "json":
        return dumps(binding.get("json"))
    return None


class CloudflareWorkerPlatform(CloudflareAdapter):
    """The Worker script ``script`` in one Cloudflare account (ConfigPlatform and DeploymentPlatform).

    Extra methods: :meth:`list_secrets`, :meth:`put_secret`, :meth:`delete_secret`,
    :meth:`put_secrets`, :meth:`settings`, :meth:`list_versions`, :meth:`get_version`,
    :meth:`active_version`, :meth:`create_deployment`.
    """

    platform = "cloudflare-worker"
    #: who reads this platform's local file (``local_file``) besides deploycheck
    LOCAL_READERS: tuple[str, ...] = (WRANGLER,)

    def __init__(
        self, api: CloudflareApi, *, script: str, target: str = "CLOUDFLARE_WORKER", env: str = ""
    ) -> None:
        self.api = api
        self.script = script
        self.resource = script
        self.target = target
        self.env = env
        #: the active version id seen by the last read_config (what a write must move on from)
        self.read_marker: str | None = None
        self._install_hints()

    @classmethod
    def from_environ(
        cls,
        *,
        script: str,
        environ: Mapping[str, str],
        target: str = "CLOUDFLARE_WORKER",
        env: str = "",
        settings: HttpSettings | None = None,
    ) -> CloudflareWorkerPlatform:
        """Build the adapter from CLOUDFLARE_* variables in ``environ``."""
        api = cloudflare_api(
            platform=cls.platform, environ=environ, hint=lambda s, c, o: "", settings=settings
        )
        return cls(api, script=script, target=target, env=env)

    def _own_hint(self, status: int | None, code: str | int | None, operation: str) -> str:
        if status == 404 or code in (10007, 10090):
            where = param_path(self.target, self.env, "script")
            return f"check {where} (script {self.script!r} was not found in the account)"
        if status == 403:
            writes = ("put", "delete", "create", "update")
            needed = "Edit" if any(w in operation for w in writes) else "Read"
            return f"token lacks Workers Scripts:{needed}"
        if code == SECRETS_CHANGED:
            return "secrets changed since that version; re-run with --force to deploy it anyway"
        if code == 10215:
            return (
                "the latest version is not the one fully deployed (after a rollback, or during a gradual "
                "deployment), and Cloudflare changes secrets only then: deploy the version to keep "
                "(npx wrangler versions deploy, or deploycheck deploy), then re-run"
            )
        return ""

    @property
    def _path(self) -> str:
        return f"/workers/scripts/{quote(self.script, safe='')}"

    # -- secrets and vars ------------------------------------------------------------------------

    def list_secrets(self) -> list[str]:
        """Names of the script's secrets (values are never readable)."""
        result = self.api.call("GET", f"{self._path}/secrets", operation="list worker secrets")
        if not isinstance(result, list):
            raise self.api.client.malformed("list worker secrets", "result is not a list")
        return [str(item["name"]) for item in result if isinstance(item, dict) and "name" in item]

    def put_secret(self, name: str, value: str) -> None:
        """Create or update one secret (PUT, idempotent)."""
        body = {"name": name, "text": value, "type": "secret_text"}
        self.api.call("PUT", f"{self._path}/secrets", operation=f"put worker secret {name}", json=body)

    def delete_secret(self, name: str) -> None:
        """Delete one secret; an already absent secret is not an error."""
        try:
            self.api.call(
                "DELETE",
                f"{self._path}/secrets/{quote(name, safe='')}",
                operation=f"delete worker secret {name}",
                params={"url_encoded": "true"},
            )
        except NotFoundError:
            return

    def put_secrets(self, secrets: Mapping[str, str | None]) -> None:
        """Create, update (value) or delete (None) several secrets in one ``secrets-bulk`` PATCH.

        Merge-patch: names left out stay as they are. Retried like an idempotent request,
        since sending the same explicit values twice leaves the same state. A success
        envelope whose ``result`` does not name every secret written is a
        MalformedResponse: the write cannot be counted as applied.
        """
        body = {
            "secrets": {
                name: None if value is None else {"name": name, "text": value, "type": "secret_text"}
                for name, value in secrets.items()
            }
        }
        operation = "update worker secrets (bulk)"
        result = self.api.call(
            "PATCH",
            f"{self._path}/secrets-bulk",
            operation=operation,
            data=json.dumps(body).encode("utf-8"),
            headers={"Content-Type": "application/merge-patch+json"},
            idempotent=True,
        )
        written = [name for name, value in secrets.items() if value is not None]
        if not isinstance(result, dict) or any(name not in result for name in written):
            shown = "null" if result is None else type(result).__name__
            raise self.api.client.malformed(
                operation, f"success without the written secrets in result (got {shown}); not applied"
            )

    def settings(self) -> dict[str, Any]:
        """The script settings (bindings, compatibility date, ...)."""
        result = self.api.call("GET", f"{self._path}/settings", operation="read worker settings")
        if not isinstance(result, dict):
            raise self.api.client.malformed("read worker settings", "result is not an object")
        return result

    def plain_vars(self, settings: Mapping[str, Any] | None = None) -> dict[str, str]:
        """Plain-text (and JSON) variables from the settings bindings."""
        found = settings if settings is not None else self.settings()
        out: dict[str, str] = {}
        for binding in found.get("bindings") or []:
            if isinstance(binding, dict) and (text := _plain_text(binding)) is not None:
                out[str(binding.get("name"))] = text
        return out

    def secret_bindings(self, version_id: str) -> set[str]:
        """Names of the secret bindings ``version_id`` carries (what it serves)."""
        version = self.get_version(version_id)
        return {str(b.get("name")) for b in version.bindings if b.get("type") in SECRET_BINDINGS}

    def read_config(self) -> ConfigState:
        """Plain vars (values), the active version id and its secret bindings, in three requests."""
        before = self.requests
        # independent reads: concurrently, reading costs two round trips instead of three
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="worker-read") as pool:
            plain_read = pool.submit(self.plain_vars)
            marker_read = pool.submit(self.active_version)
            plain, marker = plain_read.result(), marker_read.result()
        if marker is not None and "," not in marker:
            names: Sequence[str] = sorted(self.secret_bindings(marker))
        else:  # no single active version: the script's secrets list
            names = self.list_secrets()
        found: dict[str, RemoteVar] = {n: RemoteVar(n, value, secret=False) for n, value in plain.items()}
        for name in names:
            found[name] = RemoteVar(name, None, secret=True)
        self.read_marker = marker
        return ConfigState(
            self.platform,
            self.resource,
            found,
            marker=marker,
            requests=self.requests - before,
            config_marker=True,
        )

    def apply_config(self, changes: Sequence[VarChange]) -> ApplyResult:
        """Apply plain-var changes with one settings PATCH and secrets with one bulk PATCH."""
        plain = [c for c in changes if not c.secret]
        secret = [c for c in changes if c.secret]
        failed: dict[str, str] = {}
        before = self.read_marker
        if plain and self._write_plain(plain, secret) and secret:
            # the settings write made its own version: the secrets write must make another
            before = self.active_version()
        if secret:
            try:
                self.put_secrets({c.name: None if c.action == "remove" else c.value for c in secret})
            except PlatformError as exc:
                if not plain:
                    raise
                failed = {c.name: f"{type(exc).__name__}: {exc}" for c in secret}
        marker = self.active_version()
        applied = tuple(c.name for c in changes if c.name not in failed)
        unconfirmed = self._unconfirmed([c for c in secret if c.name not in failed], before, marker)
        return ApplyResult(applied=applied, failed=failed, marker=marker, unconfirmed=unconfirmed)

    def _unconfirmed(
        self, secret: Sequence[VarChange], before: str | None, marker: str | None
    ) -> dict[str, str]:
        """Secret changes the active version does not show: no new version, or bindings not as written."""
        if not secret:
            return {}
        if marker is None or "," in marker:
            return {c.name: "no single active version after the write" for c in secret}
        if before is not None and marker == before:
            why = f"the active version is still {marker}: the platform made no new version"
            return {c.name: why for c in secret}
        bound = self.secret_bindings(marker)
        out: dict[str, str] = {}
        for change in secret:
            if (change.action == "remove") == (change.name in bound):
                state = "still carries" if change.action == "remove" else "lacks"
                out[change.name] = f"the active version {marker} {state} its binding"
        return out

    def _write_plain(self, plain: Sequence[VarChange], secret: Sequence[VarChange]) -> bool:
        """Merge plain changes into the bindings; drop plain bindings whose name becomes a secret.

        Returns whether a settings PATCH was sent."""
        current = self.settings()
        bindings = [b for b in current.get("bindings") or [] if isinstance(b, dict)]
        replaced = {c.name for c in plain} | {c.name for c in secret}
        plain_kinds = {"plain_text", "json"}
        merged = [b for b in bindings if not (b.get("name") in replaced and b.get("type") in plain_kinds)]
        # a plain var taking over a secret's name replaces the secret binding
        names_now_plain = {c.name for c in plain if c.action != "remove"}
        merged = [
            b for b in merged if not (b.get("name") in names_now_plain and b.get("type") == "secret_text")
        ]
        merged += [
            {"type": "plain_text", "name": c.name, "text": c.value or ""}
            for c in plain
            if c.action != "remove"
        ]
        if merged == bindings:
            return False
        self.api.call(
            "PATCH",
            f"{self._path}/settings",
            operation="update worker settings (plain vars)",
            files={"settings": (None, dumps({"bindings": merged}), "application/json")},
            idempotent=True,
        )
        return True

    # -- versions and deployments ------------------------------------------------------------------

    def list_versions(self, limit: int | None = None, *, per_page: int = 100) -> list[WorkerVersion]:
        """Uploaded versions, latest first (at most ``limit``), read ``per_page`` at a time."""
        items = self.api.paged(
            f"{self._path}/versions",
            operation="list worker versions",
            items=lambda result: list((result or {}).get("items") or []),
            per_page=per_page,
            limit=limit,
        )
        return [_version(item) for item in items]

    def get_version(self, version_id: str) -> WorkerVersion:
        """One version with its bindings (secret values are never included)."""
        result = self.api.call(
            "GET",
            f"{self._path}/versions/{quote(version_id, safe='')}",
            operation=f"read worker version {version_id}",
        )
        if not isinstance(result, dict):
            raise self.api.client.malformed("read worker version", "result is not an object")
        return _version(result)

    def list_deployments(self) -> list[Deployment]:
        """Deployments newest first; the first one the API lists is serving traffic."""
        result = self.api.call("GET", f"{self._path}/deployments", operation="list worker deployments")
        items = (result or {}).get("deployments") if isinstance(result, dict) else None
        if not isinstance(items, list):
            raise self.api.client.malformed("list worker deployments", "result.deployments is not a list")
        active_id = items[0].get("id") if items else None
        ordered = sorted(items, key=lambda d: str(d.get("created_on", "")), reverse=True)
        return [_deployment(item, item.get("id") == active_id) for item in ordered]

    def active_version(self) -> str | None:
        """The version id the active deployment serves (ids joined by "," during a split)."""
        deployments = self.list_deployments()
        active = next((d for d in deployments if d.active), None)
        if active is None or not active.versions:
            return None
        return active.single_version or ",".join(v for v, _ in active.versions)

    def create_deployment(
        self, versions: Mapping[str, float], *, force: bool = False, message: str = "Rollback"
    ) -> Deployment:
        """Deploy ``versions`` (id -> percentage). Never retried on 5xx or timeout.

        Raises PlatformError with code 10220 (secret names in the message) when secrets
        changed since a version and ``force`` is False.
        """
        body = {
            "strategy": "percentage",
            "versions": [{"version_id": v, "percentage": p} for v, p in versions.items()],
            "annotations": {"workers/message": message[:100]},
        }
        result = self.api.call(
            "POST",
            f"{self._path}/deployments",
            operation="create worker deployment",
            json=body,
            params={"force": "true"} if force else None,
            idempotent=False,
        )
        if not isinstance(result, dict) or "id" not in result:
            raise self.api.client.malformed("create worker deployment", "result has no deployment id")
        return _deployment(result, active=True)

    def roll_back(self, to: str, *, force: bool = False, message: str = "Rollback") -> Deployment:
        """Send 100% of traffic to ``to`` (a version id, or a deployment id serving one version)."""
        deployments = self.list_deployments()
        match = next((d for d in deployments if d.id == to), None)
        version = to
        if match is not None:
            if match.single_version is None:
                listing = shlex.join(["npx", "wrangler", "deployments", "list", "--name", self.script])
                raise PlatformError(
                    f"deployment {to} splits traffic between versions; name one version id instead",
                    platform=self.platform,
                    operation="roll back",
                    hint=f"pick one of its version ids ({listing} lists them) and pass it as --to",
                )
            version = match.single_version
        return self.create_deployment({version: 100.0}, force=force, message=message)


def _open(request: OpenRequest) -> CloudflareWorkerPlatform:
    return CloudflareWorkerPlatform.from_environ(
        script=request.require("script"), environ=request.environ, target=request.target, env=request.env
    )


def _remove_hint(resource: str, key: str, secret: bool) -> str | None:
    """``wrangler secret delete`` for a secret; a plain var set through the API has no wrangler
    command (``wrangler deploy`` without ``--keep-vars`` would replace every var)."""
    if not secret:
        return None
    return shlex.join(["npx", "wrangler", "secret", "delete", key, "--name", resource])


def _version_upload(deploy_command: str) -> str | None:
    """``npx wrangler deploy --env production --keep-vars`` -> ``npx wrangler versions upload --env
    production``: the upload of a gradual deploy (``versions upload`` has no ``--keep-vars``; it
    keeps the vars with ``keep_vars = true`` in the wrangler configuration)."""
    try:
        words = shlex.split(deploy_command)
    except ValueError:
        return None
    for index, word in enumerate(words[:-1]):
        if word.rsplit("/", 1)[-1] == "wrangler" and words[index + 1] == "deploy":
            rest = [w for w in words[index + 2 :] if w != "--keep-vars"]
            return shlex.join([*words[: index + 1], "versions", "upload", *rest])
    return None


SPEC = PlatformSpec(
    name="cloudflare-worker",
    label="Cloudflare Workers",
    short_label="Workers",
    aliases=("worker",),
    environment_prefixes=CloudflareWorkerPlatform.ENVIRONMENT_PREFIXES,
    local_readers=CloudflareWorkerPlatform.LOCAL_READERS,
    factory=_open,
    resource_key="script",
    typed_stores=True,
    config_marker=True,
    # Workers limits: 5 KB per environment variable, 128 variables and secrets per script
    limits=Limits(max_value_bytes=5 * 1024, max_keys=128),
    remove_hint=_remove_hint,
    console=cloudflare_console(
        lambda p: f"workers/services/view/{quote(str(p.get('script', '')))}/production"
    ),
    deploy_command="npx wrangler deploy",
    deploy_rank=2,
    checks_section="worker",
    rollback_rank=2,
    deploy_model="version",
    expect_options=(("--expect-worker-version", "version_id"),),
    rollback_scope=(
        ("code", "REVERTED: 100% of traffic goes to the earlier version"),
        ("plain vars", "REVERTED: vars are bindings of each version; the earlier version's values return"),
        (
            "secrets",
            "REVERTED: secrets are bindings of each version; secrets changed since then go back "
            "to their old values (the API refuses with 10220 unless --force)",
        ),
        ("data", "NOT reverted: KV, D1, R2 and Redis keep what the newer code wrote"),
        (
            "Durable Object state",
            "NOT reverted: state persists across deployments; the older code must "
            "read state the newer code wrote (state version reported after)",
        ),
    ),
    durable_state=True,
    prefetch_reads=("deployments", "worker_versions"),
    version_upload=_version_upload,
    code_history=WORKER_HISTORY,
)
