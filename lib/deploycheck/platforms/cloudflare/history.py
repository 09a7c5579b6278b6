"""The code history of Workers and Pages, and their code rollbacks that keep today's configuration.

Worker: every version is a revision; its code is the script ``etag`` of the version
(``resources.script.etag``), so a version made by a secret or settings write
(``workers/triggered_by`` ``secret``, ``version_settings``) has its predecessor's code. A
code rollback builds a new version the way wrangler's ``versions secret put`` built one
from an existing version (up to 4.112, ``copyWorkerVersionWithNewSecrets``): the target's
modules downloaded from ``GET .../content/v2?version=ID`` with their content types and the
``cf-entrypoint`` main module, uploaded with ``POST .../versions`` whose metadata inherits
every non-secret binding of the latest version (``{"type": "inherit"}``) and keeps its
secrets (``keep_bindings: ["secret_text", "secret_key"]``), the target's compatibility
date and flags; then one deployment sends 100% of traffic to it. No secret goes back, so
the API has no reason to answer 10220.

Pages: every production deployment is a revision; its code is the commit it was built
from (the deployment id when it has none). A code rollback activates the deployment
(``POST .../deployments/{id}/rollback``); the project's env vars are not touched.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from deploycheck.errors import PlatformError
from deploycheck.platforms.base import ConfigState, RemoteVar
from deploycheck.platforms.history import CODE, CONFIG, CodeRollbackResult, Revision

__all__ = ["PAGES_HISTORY", "WORKER_HISTORY", "PagesHistory", "WorkerHistory", "read_modules"]

SECRET_TYPES = ("secret_text", "secret_key")
CONFIG_TRIGGERS = frozenset({"secret", "version_settings", "settings"})


def _public(binding: Mapping[str, Any]) -> tuple[str, str]:
    """(type, comparable content) of a binding as the API shows it (secret values never are)."""
    shown = {k: v for k, v in binding.items() if k not in ("name", "text", "key_base64", "key_jwk")}
    if binding.get("type") not in SECRET_TYPES and "text" in binding:
        shown["text"] = binding["text"]
    return str(binding.get("type")), json.dumps(shown, sort_keys=True, default=str)


def binding_changes(older: Sequence[Mapping[str, Any]], newer: Sequence[Mapping[str, Any]]) -> list[str]:
    """``+NAME``, ``-NAME`` and ``~NAME`` between two binding lists (secret values are not compared)."""
    before = {str(b.get("name")): _public(b) for b in older}
    after = {str(b.get("name")): _public(b) for b in newer}
    out = [f"+{n}" for n in sorted(after.keys() - before.keys())]
    out += [f"-{n}" for n in sorted(before.keys() - after.keys())]
    out += [f"~{n}" for n in sorted(before.keys() & after.keys()) if before[n] != after[n]]
    return out


def read_modules(content_type: str, body: bytes) -> dict[str, tuple[bytes, str]]:
    """Module name -> (content, content type) of a ``multipart/form-data`` script download."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        return {}
    out: dict[str, tuple[bytes, str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition") or part.get_filename()
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            out[name] = (payload, part.get_content_type())
    return out


class WorkerHistory:
    """The versions of a Worker script as revisions, and the code rollback by a new version."""

    versions_config = True
    keeps = (
        "today's vars, secrets and other bindings (inherited from the latest version); "
        "the target's compatibility date and flags come with its code"
    )

    def revisions(self, adapter: Any, *, limit: int = 20) -> list[Revision]:
        """The newest ``limit`` versions, newest first, with the deployments that sent them traffic."""
        versions = list(adapter.list_versions(limit=limit))[:limit]
        versions = [v if v.extra.get("etag") else adapter.get_version(v.id) for v in versions]
        deployments = adapter.list_deployments()
        active = next((d for d in deployments if d.active), None)
        live = {v for v, _ in active.versions} if active is not None else set()
        deployed: dict[str, list[str]] = {}
        for deployment in deployments:
            if deployment.single_version is not None:
                deployed.setdefault(deployment.single_version, []).append(deployment.id)
        out: list[Revision] = []
        for index, version in enumerate(versions):
            older = versions[index + 1] if index + 1 < len(versions) else None
            etag = version.extra.get("etag")
            annotations = version.extra.get("annotations") or {}
            trigger = annotations.get("workers/triggered_by")
            changes: list[str] = []
            config: list[str] = []
            if older is None or older.extra.get("etag") != etag:
                changes.append(CODE)
            if older is not None:
                config = binding_changes(older.bindings, version.bindings)
                if older.extra.get("script_runtime", {}).get("compatibility_date") != version.extra.get(
                    "script_runtime", {}
                ).get("compatibility_date"):
                    config.append("~compatibility_date")
                if trigger in CONFIG_TRIGGERS and not config:
                    config.append("secret value" if trigger == "secret" else "settings")
            if config:
                changes.append(CONFIG)
            out.append(
                Revision(
                    id=version.id,
                    kind="version",
                    created_on=version.created_on,
                    code=str(etag) if etag else None,
                    changes=tuple(changes),
                    config_changes=tuple(config),
                    active=version.id in live,
                    number=version.number,
                    author=version.extra.get("author_email"),
                    source=version.source,
                    triggered_by=trigger,
                    message=version.message,
                    extra={"deployments": tuple(deployed.get(version.id, ())), "latest": index == 0},
                )
            )
        return out

    def blocker(self, revisions: Sequence[Revision]) -> str:
        """Why a code rollback cannot be made ("" when it can)."""
        return "" if revisions else "the Worker has no version"

    def served_config(self, adapter: Any) -> ConfigState | None:
        """The vars and secrets of the version serving all traffic (None during a split).

        ``/settings`` shows the latest version, which serves nothing after a rollback to an
        older one; this reads what really serves.
        """
        marker = adapter.active_version()
        if marker is None or "," in marker:
            return None
        found: dict[str, RemoteVar] = {}
        for binding in adapter.get_version(marker).bindings:
            name, kind = str(binding.get("name")), binding.get("type")
            if kind in SECRET_TYPES:
                found[name] = RemoteVar(name, None, secret=True)
            elif kind == "plain_text":
                found[name] = RemoteVar(name, str(binding.get("text", "")), secret=False)
            elif kind == "json":
                found[name] = RemoteVar(name, json.dumps(binding.get("json"), sort_keys=True), secret=False)
        return ConfigState(adapter.platform, adapter.resource, found, marker=marker, config_marker=True)

    def action(self, adapter: Any, target: Revision) -> str:
        """The three requests of the code rollback."""
        path = f".../workers/scripts/{adapter.resource}"
        return (
            f"GET {path}/content/v2?version={target.id}; POST {path}/versions (its modules, bindings "
            "inherited from the latest version, keep_bindings secret_text/secret_key); "
            f"POST {path}/deployments "
            '{"versions": [{"version_id": <new version>, "percentage": 100}]}'
        )

    def source_files(self, adapter: Any, target: Revision) -> dict[str, bytes]:
        """The modules of ``target`` (read only)."""
        return {name: content for name, (content, _) in self._download(adapter, target.id)[1].items()}

    def _download(self, adapter: Any, version_id: str) -> tuple[str, dict[str, tuple[bytes, str]]]:
        operation = f"download worker version {version_id}"
        response = adapter.api.client.request(
            "GET",
            f"{adapter.api.account_path}/workers/scripts/{quote(adapter.resource, safe='')}/content/v2",
            operation=operation,
            params={"version": version_id},
        )
        content_type = response.headers.get("content-type", "")
        entrypoint = response.headers.get("cf-entrypoint")
        modules = read_modules(content_type, response.content)
        if not entrypoint or entrypoint not in modules:
            raise adapter.api.client.malformed(
                operation,
                f"no multipart modules with the cf-entrypoint main module (content type {content_type!r})",
            )
        return entrypoint, modules

    def roll_back_code(self, adapter: Any, target: Revision, *, message: str) -> CodeRollbackResult:
        """Upload ``target``'s code as a new version with today's bindings and deploy it at 100%."""
        latest = adapter.list_versions(limit=1)[0]
        current = adapter.get_version(latest.id)
        old = adapter.get_version(target.id)
        main, modules = self._download(adapter, target.id)
        runtime = old.extra.get("script_runtime") or {}
        metadata: dict[str, Any] = {
            "main_module": main,
            "bindings": [
                {"name": b.get("name"), "type": "inherit"}
                for b in current.bindings
                if b.get("type") not in SECRET_TYPES
            ],
            "keep_bindings": list(SECRET_TYPES),
            "annotations": {"workers/message": message[:100]},
        }
        if runtime.get("compatibility_date"):
            metadata["compatibility_date"] = runtime["compatibility_date"]
        if runtime.get("compatibility_flags") is not None:
            metadata["compatibility_flags"] = list(runtime["compatibility_flags"])
        files: list[tuple[str, tuple[str | None, bytes, str]]] = [
            ("metadata", (None, json.dumps(metadata).encode(), "application/json"))
        ]
        files += [(name, (name, content, kind)) for name, (content, kind) in modules.items()]
        path = f"/workers/scripts/{quote(adapter.resource, safe='')}/versions"
        result = adapter.api.call(
            "POST", path, operation="upload worker version (code rollback)", files=files, idempotent=False
        )
        if not isinstance(result, dict) or not result.get("id"):
            raise adapter.api.client.malformed("upload worker version (code rollback)", "result has no id")
        made = adapter.get_version(str(result["id"]))
        deployment = adapter.create_deployment({made.id: 100.0}, message=message)
        etag = made.extra.get("etag")
        before = {str(b.get("name")) for b in current.bindings}
        after = {str(b.get("name")) for b in made.bindings}
        if etag != target.code or before != after:
            msg = (
                f"the new version {made.id} does not carry what was uploaded: script etag {etag} (expected "
                f"{target.code}), bindings {sorted(after)} (expected {sorted(before)}); it was deployed "
                f"as deployment {deployment.id}: check it and roll back with --to"
            )
            raise PlatformError(msg, platform=adapter.platform, operation="code rollback")
        return CodeRollbackResult(
            id=made.id,
            code=str(etag) if etag else None,
            description=(
                f"deployment {deployment.id} sends 100% of traffic to the new version {made.id} "
                f"(#{made.number}): the code of version {target.id} (#{target.number}) with the "
                f"bindings of version {current.id} (#{current.number})"
            ),
            facts={
                "new_version": made.id,
                "deployment": deployment.id,
                "config_from": current.id,
                "code_from": target.id,
                "bindings": sorted(after),
                "config_bindings": [dict(b) for b in made.bindings if b.get("type") not in SECRET_TYPES],
                "previous_bindings": [dict(b) for b in current.bindings if b.get("type") not in SECRET_TYPES],
            },
        )


def _env_var_changes(older: Any, newer: Any) -> list[str]:
    def shown(value: Any) -> dict[str, tuple[str, str]]:
        if not isinstance(value, dict):
            return {}
        return {
            str(k): (str(v.get("type")), str(v.get("value", "")))
            for k, v in value.items()
            if isinstance(v, dict)
        }

    before, after = shown(older), shown(newer)
    out = [f"+{n}" for n in sorted(after.keys() - before.keys())]
    out += [f"-{n}" for n in sorted(before.keys() - after.keys())]
    out += [f"~{n}" for n in sorted(before.keys() & after.keys()) if before[n] != after[n]]
    return out


class PagesHistory:
    """The production deployments of a Pages project as revisions; code rollback activates one."""

    versions_config = False
    keeps = (
        "the project's env vars and secrets as configured now (they apply to new builds; "
        "values baked in at the target's build come with its files)"
    )

    def revisions(self, adapter: Any, *, limit: int = 20) -> list[Revision]:
        """The newest ``limit`` deployments of the stage, newest first."""
        deployments = adapter.list_deployments()[:limit]
        out: list[Revision] = []
        for index, deployment in enumerate(deployments):
            older = next((d for d in deployments[index + 1 :] if d.status == "success"), None)
            code = deployment.commit or deployment.id
            changes: list[str] = []
            if older is None or (older.commit or older.id) != code:
                changes.append(CODE)
            config = (
                _env_var_changes(older.extra.get("env_vars"), deployment.extra.get("env_vars"))
                if older
                else []
            )
            if config:
                changes.append(CONFIG)
            out.append(
                Revision(
                    id=deployment.id,
                    kind="deployment",
                    created_on=deployment.created_on,
                    code=code,
                    changes=tuple(changes),
                    config_changes=tuple(config),
                    active=deployment.active,
                    deployable=deployment.status == "success"
                    and deployment.extra.get("environment", "production") == "production",
                    source=deployment.extra.get("trigger"),
                    triggered_by=deployment.extra.get("branch"),
                    message=deployment.message,
                    commit=deployment.commit,
                    extra={"short_id": deployment.extra.get("short_id"), "status": deployment.status},
                )
            )
        return out

    def blocker(self, revisions: Sequence[Revision]) -> str:
        """Pages can always activate an earlier successful production deployment."""
        return ""

    def action(self, adapter: Any, target: Revision) -> str:
        """The one request of the rollback."""
        return f"POST .../pages/projects/{adapter.project}/deployments/{target.id}/rollback"

    def source_files(self, adapter: Any, target: Revision) -> dict[str, bytes]:
        """Pages code is static files: nothing to read a state version from."""
        return {}

    def served_config(self, adapter: Any) -> ConfigState | None:
        """The project's env vars of the stage (what new builds get)."""
        state: ConfigState = adapter.read_config()
        return state

    def roll_back_code(self, adapter: Any, target: Revision, *, message: str) -> CodeRollbackResult:
        """Make ``target`` the active production deployment."""
        deployment = adapter.roll_back(target.id, message=message)
        return CodeRollbackResult(
            id=deployment.id,
            code=deployment.commit or target.code,
            description=f"active deployment is now {deployment.id}"
            + (f" (commit {deployment.commit[:12]})" if deployment.commit else ""),
        )


WORKER_HISTORY = WorkerHistory()
PAGES_HISTORY = PagesHistory()
