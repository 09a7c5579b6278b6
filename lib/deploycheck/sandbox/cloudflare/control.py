"""The Cloudflare v4 control plane: Workers and Pages endpoints under ``/client/v4``.

Answers with the vendor's envelope ``{success, errors, messages, result[, result_info]}``
and error codes: 9106 no credentials, 6003/6111 a malformed Authorization header, 10000
an unknown token or a foreign account, 7003 an unknown route or malformed account id,
10007 an unknown script, 8000007 an unknown Pages project. State lives in
:mod:`deploycheck.sandbox.cloudflare.scripts` and :mod:`deploycheck.sandbox.cloudflare.projects`;
the Pages endpoints are in :mod:`deploycheck.sandbox.cloudflare.pages`; uploads are
parsed in :mod:`deploycheck.sandbox.cloudflare.uploads`; the other endpoints
``wrangler deploy`` calls (services, subdomains, schedules, routes, script-settings) are
in :mod:`deploycheck.sandbox.cloudflare.services`.
"""

from __future__ import annotations

import re
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any

from deploycheck.sandbox.cloudflare.assets import ASSETS_PREFIX, AssetStore
from deploycheck.sandbox.cloudflare.envelope import (
    ApiError,
    form_json,
    json_body,
    now,
    ok,
    page_of,
    parse_multipart,
)
from deploycheck.sandbox.cloudflare.pages import PagesEndpoints
from deploycheck.sandbox.cloudflare.projects import PagesProject, seed_projects
from deploycheck.sandbox.cloudflare.reads import WorkerReads
from deploycheck.sandbox.cloudflare.scripts import (
    SCRIPT_NOT_FOUND,
    SECRETS_CHANGED,
    WorkerScript,
    seed_scripts,
)
from deploycheck.sandbox.cloudflare.services import WorkersServices
from deploycheck.sandbox.cloudflare.uploads import (
    merge_bindings,
    replace_bindings,
    request_source,
    version_from_upload,
)
from deploycheck.sandbox.cloudflare.versions import SECRET_TYPES, secret_changes
from deploycheck.sandbox.core import Request, Response

__all__ = ["API_PREFIX", "CloudflareEmulator"]

API_PREFIX = "/client/v4"
_TOKEN_FORMAT = re.compile(r"^[A-Za-z0-9_-]{20,}$")
_ACCOUNT_FORMAT = re.compile(r"^[0-9a-f]{32}$")
_Handler = Callable[[Request, list[str]], Response]


class CloudflareEmulator:
    """The Workers and Pages API of one account, accepting one API token."""

    service = "cloudflare"

    def __init__(self, *, account_id: str, token: str) -> None:
        self.lock = threading.RLock()
        self.account_id = account_id
        self.token = token
        self.scripts: dict[str, WorkerScript] = {}
        self.projects: dict[str, PagesProject] = {}
        # seeded history is dated relative to start-up so resets restore identical records
        self._anchor = now()
        self.services = WorkersServices(lambda: self.scripts, self._script)
        self.assets = AssetStore(account_id)
        self.pages = PagesEndpoints(lambda: self.projects, self.assets)
        self.reads = WorkerReads(self._script)
        account = r"/accounts/([^/]+)"
        script = rf"{account}/workers/scripts/([^/]+)"
        project = rf"{account}/pages/projects/([^/]+)"
        self._routes: list[tuple[str, re.Pattern[str], _Handler]] = [
            (m, re.compile(f"^{p}$"), h)
            for m, p, h in [
                *self.services.routes(account, script),
                *self.reads.routes(account, script),
                ("PUT", script, self._upload_script),
                ("GET", f"{script}/secrets", self._list_secrets),
                ("PUT", f"{script}/secrets", self._put_secret),
                ("GET", f"{script}/secrets/([^/]+)", self._get_secret),
                ("DELETE", f"{script}/secrets/([^/]+)", self._delete_secret),
                ("PATCH", f"{script}/secrets-bulk", self._bulk_secrets),
                ("GET", f"{script}/settings", self._get_settings),
                ("PATCH", f"{script}/settings", self._patch_settings),
                ("GET", f"{script}/script-settings", self._get_script_settings),
                ("GET", f"{script}/versions", self._list_versions),
                ("POST", f"{script}/versions", self._upload_version),
                ("GET", f"{script}/versions/([^/]+)", self._get_version),
                ("GET", f"{script}/deployments", self._list_deployments),
                ("POST", f"{script}/deployments", self._create_deployment),
                *self.pages.routes(account, project),
            ]
        ]
        self.reset()

    # -- Emulator protocol -----------------------------------------------------

    def reset(self) -> None:
        """Back to the seeded script and project."""
        with self.lock:
            self.scripts = seed_scripts(self._anchor)
            self.projects = seed_projects(self._anchor)
            self.services.reset()
            self.assets.reset()

    def snapshot(self) -> dict[str, Any]:
        """Every stored value, secret values included."""
        with self.lock:
            return {
                "account_id": self.account_id,
                "workers_subdomain": self.services.subdomain,
                "workers": {name: s.stored() for name, s in self.scripts.items()},
                "pages": {name: p.stored() for name, p in self.projects.items()},
            }

    def handle(self, request: Request) -> Response:
        """Authenticate, route and answer one API request."""
        try:
            return self._handle(request)
        except ApiError as exc:
            return exc.response()

    def _handle(self, request: Request) -> Response:
        if not request.path.startswith(API_PREFIX + "/"):
            raise ApiError(404, 7003, "No route for the URI")
        path = request.path[len(API_PREFIX) :]
        if path.startswith(ASSETS_PREFIX):  # authenticated by the upload JWT, not the API token
            return self.assets.handle(request, path)
        self._authenticate(request)
        allowed: list[str] = []
        for method, pattern, handler in self._routes:
            match = pattern.match(path)
            if match is None:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            params = [urllib.parse.unquote(p) for p in match.groups()]
            self._check_account(request.path, params[0])
            return handler(request, params[1:])
        if allowed:
            raise ApiError(405, 10405, f"Method {request.method} not allowed; use {', '.join(allowed)}")
        raise ApiError(404, 7003, "No route for the URI")

    def _authenticate(self, request: Request) -> None:
        header = request.header("authorization")
        if not header:
            if request.header("x-auth-key") or request.header("x-auth-email"):
                raise ApiError(403, 9103, "Unknown X-Auth-Key or X-Auth-Email")
            raise ApiError(400, 9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not _TOKEN_FORMAT.match(token.strip()):
            raise ApiError(
                400,
                6003,
                "Invalid request headers",
                chain=[{"code": 6111, "message": "Invalid format for Authorization header"}],
            )
        if token.strip() != self.token:
            raise ApiError(403, 10000, "Authentication error")

    def _check_account(self, path: str, account_id: str) -> None:
        if not _ACCOUNT_FORMAT.match(account_id):
            raise ApiError(
                404, 7003, f"Could not route to {path}, perhaps your object identifier is invalid?"
            )
        if account_id != self.account_id:
            raise ApiError(403, 10000, "Authentication error")

    # -- Workers ---------------------------------------------------------------

    def _script(self, name: str) -> WorkerScript:
        script = self.scripts.get(name)
        if script is None:
            raise ApiError(404, *SCRIPT_NOT_FOUND)
        return script

    def _list_secrets(self, request: Request, params: list[str]) -> Response:
        script = self._script(params[0])
        return ok([_secret_item(b) for b in script.latest_version.bindings if b.get("type") in SECRET_TYPES])

    def _get_secret(self, request: Request, params: list[str]) -> Response:
        script = self._script(params[0])
        for binding in script.latest_version.bindings:
            if binding.get("type") in SECRET_TYPES and binding["name"] == params[1]:
                return ok(_secret_item(binding))
        raise ApiError(404, 10056, f"Secret {params[1]!r} not found on script {script.name!r}")

    def _put_secret(self, request: Request, params: list[str]) -> Response:
        script = self._script(params[0])
        body = json_body(request)
        name, text, kind = body.get("name"), body.get("text"), body.get("type", "secret_text")
        if not isinstance(name, str) or not name or not isinstance(text, str) or kind != "secret_text":
            raise ApiError(400, 10021, "A secret needs a string name, a string text and type secret_text")
        binding = {"type": "secret_text", "name": name, "text": text}
        script.change_bindings(
            replace_bindings(script.latest_version.bindings, {name: binding}), triggered_by="secret"
        )
        return ok(_secret_item(binding))

    def _delete_secret(self, request: Request, params: list[str]) -> Response:
        script = self._script(params[0])
        name = params[1]
        if name not in script.latest_version.secrets():
            raise ApiError(404, 10056, f"Secret {name!r} not found on script {script.name!r}")
        bindings = replace_bindings(script.latest_version.bindings, {name: None})
        script.change_bindings(bindings, triggered_by="secret")
        return ok(None)

    def _bulk_secrets(self, request: Request, params: list[str]) -> Response:
        script = self._script(params[0])
        body = json_body(request)
        secrets = body.get("secrets")
        if not isinstance(secrets, dict):
            raise ApiError(400, 10021, "secrets must be an object of name -> secret or null")
        changes = secret_changes(secrets, _bulk_secret_refusal)
        bindings = replace_bindings(script.latest_version.bindings, changes)
        script.change_bindings(bindings, triggered_by="secret")
        return ok({name: _secret_item(b) for name, b in changes.items() if b is not None})

    def _get_settings(self, request: Request, params: list[str]) -> Response:
        return ok(self._script(params[0]).settings())

    def _get_script_settings(self, request: Request, params: list[str]) -> Response:
        return ok(self._script(params[0]).script_settings())

    def _patch_settings(self, request: Request, params: list[str]) -> Response:
        script = self._script(params[0])
        if request.header("content-type").lower().startswith("multipart/form-data"):
            parts = {p.name: p for p in parse_multipart(request)}
            if "settings" not in parts:
                raise ApiError(400, 10021, "The multipart body needs a 'settings' part")
            settings = form_json(parts["settings"])
        else:
            body = json_body(request)
            settings = body["settings"] if isinstance(body.get("settings"), dict) else body
        for key in ("logpush", "tags", "tail_consumers"):
            if key in settings:
                setattr(script, key, settings[key])
        if "bindings" in settings or "compatibility_date" in settings or "compatibility_flags" in settings:
            current = script.latest_version
            bindings = current.bindings
            if "bindings" in settings:
                bindings = merge_bindings(
                    current.bindings, settings["bindings"], settings.get("keep_bindings")
                )
            if bindings != current.bindings or any(
                settings.get(k, getattr(current, k)) != getattr(current, k)
                for k in ("compatibility_date", "compatibility_flags")
            ):
                script.require_latest_deployed()
                annotations = {"workers/triggered_by": "version_settings"}
                version = script.add_version(
                    bindings=bindings,
                    source="api",
                    annotations=annotations,
                    compatibility_date=settings.get("compatibility_date"),
                    compatibility_flags=settings.get("compatibility_flags"),
                )
                script.deploy(
                    [{"version_id": version.id, "percentage": 100}], source="api", annotations=annotations
                )
        return ok(script.settings())

    def _list_versions(self, request: Request, params: list[str]) -> Response:
        script = self._script(params[0])
        newest_first = list(reversed(script.versions))
        if (request.arg("deployable") or "").lower() == "true":
            items = [v.short() for v in newest_first]
            return ok(
                {"items": items},
                {"page": 1, "per_page": len(items), "count": len(items), "total_count": len(items)},
            )
        chunk, info = page_of(request, newest_first, 10, 100, total_pages=False)
        # items carry their resources, as Cloudflare's do (`wrangler versions secret list --latest-version`)
        return ok({"items": [v.full() for v in chunk]}, info)

    def _get_version(self, request: Request, params: list[str]) -> Response:
        return ok(self._script(params[0]).version(params[1]).full())

    def _list_deployments(self, request: Request, params: list[str]) -> Response:
        script = self._script(params[0])
        return ok({"deployments": [d.as_api() for d in reversed(script.deployments)]})

    def _create_deployment(self, request: Request, params: list[str]) -> Response:
        script = self._script(params[0])
        body = json_body(request)
        if body.get("strategy") != "percentage":
            raise ApiError(400, 10021, "strategy must be 'percentage'")
        versions = body.get("versions")
        if not isinstance(versions, list) or not 1 <= len(versions) <= 2:
            raise ApiError(400, 10021, "A deployment needs one or two versions")
        targets: list[dict[str, Any]] = []
        for item in versions:
            if not isinstance(item, dict) or not isinstance(item.get("version_id"), str):
                raise ApiError(400, 10021, "Each version needs a version_id and a percentage")
            percentage = item.get("percentage")
            if not isinstance(percentage, int | float) or not 0.01 <= percentage <= 100:
                raise ApiError(400, 10021, "percentage must be between 0.01 and 100")
            script.version(item["version_id"])
            targets.append({"version_id": item["version_id"], "percentage": percentage})
        if abs(sum(float(t["percentage"]) for t in targets) - 100.0) > 0.001:
            raise ApiError(400, 10021, "The percentages of a deployment's versions must add up to 100")
        annotations = body.get("annotations") or {}
        if not isinstance(annotations, dict):
            raise ApiError(400, 10021, "annotations must be an object")
        force = (request.arg("force") or "").lower() == "true"
        # 10220 guards rollbacks only: deploying a newer version is how `versions secret put` lands
        deployed = script.current_deployment
        newest = (
            max((script.version(str(v["version_id"])).number for v in deployed.versions), default=0)
            if deployed
            else 0
        )
        older = [t["version_id"] for t in targets if script.version(t["version_id"]).number < newest]
        changed = script.changed_secrets(older) if older else []
        if changed and not force:
            raise ApiError(400, SECRETS_CHANGED, f"The following secrets have changed: {', '.join(changed)}")
        message = str(annotations.get("workers/message", ""))[:1000]
        not_latest = [t for t in targets if t["version_id"] != script.latest_version.id]
        triggered_by = "rollback" if len(targets) == 1 and not_latest else "deployment"
        stored = {"workers/triggered_by": triggered_by}
        if message:
            stored["workers/message"] = message
        deployment = script.deploy(targets, source=request_source(request), annotations=stored)
        return ok(deployment.as_api())

    def _upload_script(self, request: Request, params: list[str]) -> Response:
        name = params[0]
        script = self.scripts.get(name)
        if script is None:
            script = WorkerScript(name=name, created_on=now())
        version = version_from_upload(
            script, request, annotations={"workers/triggered_by": "upload"}, script_upload=True
        )
        self.scripts[name] = script
        script.deploy(
            [{"version_id": version.id, "percentage": 100}],
            source=request_source(request),
            annotations={"workers/triggered_by": "upload"},
        )
        return ok(script.script_object())

    def _upload_version(self, request: Request, params: list[str]) -> Response:
        script = self._script(params[0])
        version = version_from_upload(
            script, request, annotations={"workers/triggered_by": "version_upload"}, script_upload=False
        )
        return ok(version.full())


def _secret_item(binding: dict[str, Any]) -> dict[str, Any]:
    return {"name": binding["name"], "type": binding["type"]}


def _bulk_secret_refusal(name: str, secret: Any) -> str | None:
    if not isinstance(secret, dict) or not isinstance(secret.get("text"), str):
        return f"secret {name!r} needs a string text"
    if secret.get("type", "secret_text") != "secret_text":
        return f"secret {name!r}: type must be secret_text"
    return None
