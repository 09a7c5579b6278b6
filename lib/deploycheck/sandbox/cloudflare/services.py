"""The Workers endpoints ``wrangler deploy`` calls around the script upload.

- ``GET /accounts/{id}/workers/services/{name}``: the script's service, answering 10090
  ``workers.api.error.service_not_found`` for an unknown name (wrangler then creates it);
  ``default_environment.script`` carries ``tag``, ``tags``, ``migration_tag`` and
  ``last_deployed_from`` (``dash`` and ``api`` make wrangler warn before overwriting).
- ``GET /accounts/{id}/workers/scripts``: every script, where wrangler finds the
  ``migration_tag`` that decides which Durable Object migrations to send.
- ``GET|PUT /accounts/{id}/workers/subdomain``: the account's workers.dev subdomain.
- ``GET|POST .../scripts/{name}/subdomain``: whether the script answers on workers.dev
  (``previews_enabled`` defaults to ``enabled`` when a POST leaves it out).
- ``GET|PUT .../scripts/{name}/schedules`` (cron triggers) and ``.../routes``: a PUT
  replaces the whole list, as the API does.
- ``PATCH .../scripts/{name}/script-settings``: logpush, tail consumers, observability
  and tags, the settings that live outside versions.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from deploycheck.sandbox.cloudflare.envelope import ApiError, iso, json_body, json_list, now, ok
from deploycheck.sandbox.cloudflare.scripts import WorkerScript
from deploycheck.sandbox.core import Request, Response

__all__ = ["ACCOUNT_SUBDOMAIN", "WorkersServices"]

#: the seeded account's workers.dev subdomain: scripts answer on <script>.example.workers.dev
ACCOUNT_SUBDOMAIN = "example"
SERVICE_NOT_FOUND = (10090, "workers.api.error.service_not_found")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,#?LW-]+$")
_Handler = Callable[[Request, list[str]], Response]


class WorkersServices:
    """The account-level and per-script endpoints of a deploy, over the emulator's scripts."""

    def __init__(
        self, scripts: Callable[[], dict[str, WorkerScript]], script: Callable[[str], WorkerScript]
    ) -> None:
        self._scripts = scripts
        self._script = script
        self.subdomain = ACCOUNT_SUBDOMAIN

    def reset(self) -> None:
        """Back to the seeded subdomain."""
        self.subdomain = ACCOUNT_SUBDOMAIN

    def routes(self, account: str, script: str) -> list[tuple[str, str, _Handler]]:
        """(method, path regex, handler) of every endpoint here, given the account and script regexes."""
        return [
            ("GET", f"{account}/workers/services/([^/]+)", self._get_service),
            ("GET", f"{account}/workers/scripts", self._list_scripts),
            ("GET", f"{account}/workers/subdomain", self._get_subdomain),
            ("PUT", f"{account}/workers/subdomain", self._put_subdomain),
            ("GET", f"{script}/subdomain", self._get_script_subdomain),
            ("POST", f"{script}/subdomain", self._post_script_subdomain),
            ("GET", f"{script}/schedules", self._get_schedules),
            ("PUT", f"{script}/schedules", self._put_schedules),
            ("GET", f"{script}/routes", self._get_routes),
            ("PUT", f"{script}/routes", self._put_routes),
            ("PATCH", f"{script}/script-settings", self._patch_script_settings),
        ]

    # -- account level -------------------------------------------------------

    def _get_service(self, request: Request, params: list[str]) -> Response:
        script = self._scripts().get(params[0])
        if script is None:
            raise ApiError(404, *SERVICE_NOT_FOUND)
        created, modified = iso(script.created_on), iso(script.latest_version.created_on)
        environment = {
            "environment": "production",
            "created_on": created,
            "modified_on": modified,
            "script": script.script_object(),
        }
        return ok(
            {
                "id": script.name,
                "default_environment": environment,
                "created_on": created,
                "modified_on": modified,
                "environments": [{k: v for k, v in environment.items() if k != "script"}],
            }
        )

    def _list_scripts(self, request: Request, params: list[str]) -> Response:
        return ok([s.script_object() for s in self._scripts().values()])

    def _get_subdomain(self, request: Request, params: list[str]) -> Response:
        return ok({"subdomain": self.subdomain})

    def _put_subdomain(self, request: Request, params: list[str]) -> Response:
        wanted = json_body(request).get("subdomain")
        if not isinstance(wanted, str) or not _SUBDOMAIN.match(wanted):
            raise ApiError(400, 10031, f"Subdomain {wanted!r} is unavailable or invalid")
        self.subdomain = wanted
        return ok({"subdomain": wanted})

    # -- per script ------------------------------------------------------------

    def _get_script_subdomain(self, request: Request, params: list[str]) -> Response:
        service = self._script(params[0]).service
        return ok({"enabled": service.workers_dev, "previews_enabled": service.previews_enabled})

    def _post_script_subdomain(self, request: Request, params: list[str]) -> Response:
        service = self._script(params[0]).service
        body = json_body(request)
        enabled, previews = body.get("enabled"), body.get("previews_enabled", body.get("enabled"))
        if not isinstance(enabled, bool) or not isinstance(previews, bool):
            raise ApiError(400, 10021, "enabled (and previews_enabled, if given) must be booleans")
        service.workers_dev, service.previews_enabled = enabled, previews
        return ok({"enabled": enabled, "previews_enabled": previews})

    def _get_schedules(self, request: Request, params: list[str]) -> Response:
        return ok({"schedules": [dict(s) for s in self._script(params[0]).service.schedules]})

    def _put_schedules(self, request: Request, params: list[str]) -> Response:
        service = self._script(params[0]).service
        body = json_list(request)
        moment = iso(now())
        schedules: list[dict[str, Any]] = []
        for item in body:
            cron = item.get("cron") if isinstance(item, dict) else None
            if not isinstance(cron, str) or not _valid_cron(cron):
                raise ApiError(400, 10100, f"Invalid cron expression: {cron!r}")
            schedules.append({"cron": cron, "created_on": moment, "modified_on": moment})
        service.schedules = schedules
        return ok({"schedules": [dict(s) for s in schedules]})

    def _get_routes(self, request: Request, params: list[str]) -> Response:
        return ok([dict(r) for r in self._script(params[0]).service.routes])

    def _put_routes(self, request: Request, params: list[str]) -> Response:
        script = self._script(params[0])
        routes: list[dict[str, Any]] = []
        for item in json_list(request):
            pattern = item.get("pattern") if isinstance(item, dict) else None
            if not isinstance(pattern, str) or not pattern or "/" not in pattern:
                raise ApiError(400, 10022, f"Invalid route pattern {pattern!r}: expected host/path")
            route = {"id": uuid.uuid5(uuid.NAMESPACE_URL, pattern).hex, "pattern": pattern}
            route["script"] = script.name
            if isinstance(item, dict) and isinstance(item.get("zone_name"), str):
                route["zone_name"] = item["zone_name"]
            routes.append(route)
        script.service.routes = routes
        return ok([dict(r) for r in routes])

    def _patch_script_settings(self, request: Request, params: list[str]) -> Response:
        script = self._script(params[0])
        body = json_body(request)
        if "logpush" in body:
            if not isinstance(body["logpush"], bool):
                raise ApiError(400, 10021, "logpush must be a boolean")
            script.logpush = body["logpush"]
        for key in ("tags", "tail_consumers"):
            if key in body:
                value = body[key] if body[key] is not None else []
                if not isinstance(value, list):
                    raise ApiError(400, 10021, f"{key} must be a list")
                setattr(script, key, value)
        if "observability" in body:
            if not isinstance(body["observability"], dict):
                raise ApiError(400, 10021, "observability must be an object")
            script.service.observability = dict(body["observability"])
        return ok(script.script_settings())


def _valid_cron(cron: str) -> bool:
    fields = cron.split()
    return 5 <= len(fields) <= 6 and all(_CRON_FIELD.match(f) for f in fields)
