"""Emulator of the GitHub REST API (version 2022-11-28) for Actions secrets and variables, and issues.

Covers the 20 operations deploycheck uses, at repository and environment level: the
public key, list/get/put/delete of secrets (sealed boxes opened with the scope's real
private key) and list/create/get/update/delete of variables, with GitHub's
authentication errors, validation errors, ``Link`` pagination and rate-limit headers;
the repository and environment objects (:mod:`deploycheck.sandbox.github.repos`). Issues
and their comments: :mod:`deploycheck.sandbox.github.issues`.
"""

from __future__ import annotations

import secrets as _secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from deploycheck.sandbox.core import Request, Response, json_response
from deploycheck.sandbox.github.issues import IssuesApi, is_issues_path
from deploycheck.sandbox.github.replies import error as _error
from deploycheck.sandbox.github.replies import object_body
from deploycheck.sandbox.github.repos import RepositoryFacts, answer_repository_request
from deploycheck.sandbox.github.store import (
    MAX_VALUE_BYTES,
    Entry,
    LogicalClock,
    Scope,
    link_header,
    name_problem,
    page_slice,
)

__all__ = ["GithubEmulator"]

API_VERSIONS = ("2022-11-28", "2026-03-10")
RATE_LIMIT = 5000
UNAUTHENTICATED_RATE_LIMIT = 60
_REST_DOCS = "https://docs.github.com/rest"
_RATE_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
#: GitHub's documented per-scope limits (repository, environment)
_LIMITS = {"repository": (100, 500), "environment": (100, 100)}


@dataclass
class _Repository:
    full_name: str
    scope: Scope
    environments: dict[str, tuple[str, Scope]]


@dataclass(frozen=True)
class _Route:
    repo: _Repository
    scope: Scope
    level: str  # "repository" or "environment"
    kind: str  # "secrets" or "variables"
    rest: tuple[str, ...]
    action: str  # "list", "public-key", "get", "put", "create", "update" or "delete"


def _docs(kind: str, level: str, action: str) -> str:
    """The documentation URL GitHub puts in errors of one operation."""
    noun = "secret" if kind == "secrets" else "variable"
    if level == "repository":
        slugs = {
            "list": f"list-repository-{kind}",
            "public-key": "get-a-repository-public-key",
            "get": f"get-a-repository-{noun}",
            "put": f"create-or-update-a-repository-{noun}",
            "create": f"create-a-repository-{noun}",
            "update": f"update-a-repository-{noun}",
            "delete": f"delete-a-repository-{noun}",
        }
    else:
        slugs = {
            "list": f"list-environment-{kind}",
            "public-key": "get-an-environment-public-key",
            "get": f"get-an-environment-{noun}",
            "put": f"create-or-update-an-environment-{noun}",
            "create": f"create-an-environment-{noun}",
            "update": f"update-an-environment-{noun}",
            "delete": f"delete-an-environment-{noun}",
        }
    return f"{_REST_DOCS}/actions/{kind}#{slugs[action]}"


def _validation_failed(docs: str, resource: str, field: str, code: str, message: str) -> Response:
    error = {"resource": resource, "field": field, "code": code, "message": message}
    return _error(422, "Validation Failed", docs, errors=[error])


class GithubEmulator:
    """GitHub's REST API for Actions secrets and variables of one repository.

    Example::

        github = GithubEmulator("ghp_test", repository="example/app", environments=("production",))
        github.handle(Request("GET", "/repos/example/app/actions/secrets/public-key",
                              headers={"authorization": "Bearer ghp_test"}))
    """

    service = "github"

    def __init__(
        self,
        token: str,
        repository: str = "example/app",
        environments: tuple[str, ...] = ("production",),
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.lock = threading.RLock()
        self._token = token
        self._now = now
        self._clock = LogicalClock(now)
        secret_limit, variable_limit = _LIMITS["repository"]
        env_secret_limit, env_variable_limit = _LIMITS["environment"]
        self._repos = {
            repository.lower(): _Repository(
                full_name=repository,
                scope=Scope(secret_limit, variable_limit),
                environments={
                    name.lower(): (name, Scope(env_secret_limit, env_variable_limit)) for name in environments
                },
            )
        }
        self._window_start = 0.0
        self._used = {"core": 0, "anonymous": 0}
        self.issues = IssuesApi([repository], now)

    # -- Emulator protocol -------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one request exactly as api.github.com would."""
        with self.lock:
            authenticated, denial = self._authenticate(request)
            limit_headers, limited = self._count_request(authenticated)
            response = denial or limited or self._version_error(request) or self._dispatch(request)
            response.headers.update(limit_headers)
            response.headers.setdefault("x-github-api-version-selected", API_VERSIONS[0])
            response.headers["x-github-media-type"] = "github.v3; format=json"
            response.headers["x-github-request-id"] = _secrets.token_hex(8).upper()
            return response

    def snapshot(self) -> dict[str, Any]:
        """Every stored secret (decrypted) and variable of every repository and environment."""
        with self.lock:
            repositories: dict[str, Any] = {}
            for repo in self._repos.values():
                state: dict[str, Any] = repo.scope.snapshot()
                state["environments"] = {name: scope.snapshot() for name, scope in repo.environments.values()}
                repositories[repo.full_name] = state
            return {"repositories": repositories, "issues": self.issues.snapshot()}

    def reset(self) -> None:
        """Forget every secret, variable and counted request; keypairs stay as they are."""
        with self.lock:
            for repo in self._repos.values():
                repo.scope.clear()
                for _name, scope in repo.environments.values():
                    scope.clear()
            self._used = {"core": 0, "anonymous": 0}
            self._window_start = 0.0
            self.issues.reset()

    # -- request plumbing ---------------------------------------------------------------------

    def _authenticate(self, request: Request) -> tuple[bool, Response | None]:
        header = request.header("authorization").strip()
        if not header:
            return False, _error(401, "Requires authentication", "https://docs.github.com/rest")
        scheme, _, credential = header.partition(" ")
        if scheme.lower() in ("bearer", "token") and _secrets.compare_digest(
            credential.strip().encode(), self._token.encode()
        ):
            return True, None
        return False, _error(401, "Bad credentials")

    def _count_request(self, authenticated: bool) -> tuple[dict[str, str], Response | None]:
        now = self._now()
        if now >= self._window_start + 3600:
            self._window_start = now
            self._used = {"core": 0, "anonymous": 0}
        bucket, limit = ("core", RATE_LIMIT) if authenticated else ("anonymous", UNAUTHENTICATED_RATE_LIMIT)
        exceeded = self._used[bucket] >= limit
        if not exceeded:
            self._used[bucket] += 1
        headers = {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(limit - self._used[bucket]),
            "x-ratelimit-used": str(self._used[bucket]),
            "x-ratelimit-reset": str(int(self._window_start + 3600)),
            "x-ratelimit-resource": "core",
        }
        if exceeded:
            return headers, _error(403, "API rate limit exceeded for this token.", _RATE_DOCS)
        return headers, None

    def _version_error(self, request: Request) -> Response | None:
        version = request.header("x-github-api-version")
        if version and version not in API_VERSIONS:
            docs = f"{_REST_DOCS}/overview/api-versions"
            return _error(400, f"API version {version} is not supported.", docs)
        return None

    def _route(self, request: Request) -> _Route | Response:
        parts = tuple(request.path.strip("/").split("/"))
        if len(parts) < 5 or parts[0] != "repos":
            return _error(404, "Not Found")
        repo = self._repos.get(f"{unquote(parts[1])}/{unquote(parts[2])}".lower())
        scope: Scope | None = None
        if parts[3] == "actions" and parts[4] in ("secrets", "variables"):
            level, kind, rest = "repository", parts[4], parts[5:]
            scope = repo.scope if repo else None
        elif parts[3] == "environments" and len(parts) >= 6 and parts[5] in ("secrets", "variables"):
            level, kind, rest = "environment", parts[5], parts[6:]
            env = repo.environments.get(unquote(parts[4]).lower()) if repo else None
            scope = env[1] if env else None
        else:
            return _error(404, "Not Found")
        action = _action(request.method, kind, rest)
        if len(rest) > 1 or not action:
            return _error(404, "Not Found")
        if repo is None or scope is None:
            return _error(404, "Not Found", _docs(kind, level, action))
        return _Route(repo, scope, level, kind, rest, action)

    def _dispatch(self, request: Request) -> Response:
        if is_issues_path(request.path):
            return self.issues.handle(request)
        facts = {
            key: RepositoryFacts(repo.full_name, tuple(name for name, _ in repo.environments.values()))
            for key, repo in self._repos.items()
        }
        answered = answer_repository_request(request, facts)
        if answered is not None:
            return answered
        route = self._route(request)
        if isinstance(route, Response):
            return route
        docs = _docs(route.kind, route.level, route.action)
        handler = getattr(self, f"_{route.kind}_{route.action.replace('-', '_')}")
        result: Response = handler(request, route, docs)
        return result

    # -- secrets ------------------------------------------------------------------------------

    def _secrets_public_key(self, request: Request, route: _Route, docs: str) -> Response:
        return json_response(200, {"key_id": route.scope.key_id, "key": route.scope.public_key})

    def _secrets_list(self, request: Request, route: _Route, docs: str) -> Response:
        return self._list(request, route.scope.secrets, "secrets", Entry.as_secret, default=30, maximum=100)

    def _secrets_get(self, request: Request, route: _Route, docs: str) -> Response:
        entry = route.scope.secrets.get(unquote(route.rest[0]).upper())
        return json_response(200, entry.as_secret()) if entry else _error(404, "Not Found", docs)

    def _secrets_put(self, request: Request, route: _Route, docs: str) -> Response:
        name = unquote(route.rest[0])
        problem = name_problem(name)
        if problem:
            return _validation_failed(docs, "Secret", "name", "invalid", problem)
        value = _secret_value(request, route.scope, docs)
        if isinstance(value, Response):
            return value
        name = name.upper()
        existing = route.scope.secrets.get(name)
        if existing is None and len(route.scope.secrets) >= route.scope.secret_limit:
            message = f"A {route.level} can hold at most {route.scope.secret_limit} secrets."
            return _validation_failed(docs, "Secret", "name", "custom", message)
        if existing is not None:
            existing.value, existing.updated_at = value, self._clock.tick(existing.updated_at)
            return Response(204)
        stamp = self._clock.tick()
        route.scope.secrets[name] = Entry(name, value, stamp, stamp)
        return json_response(201, {})

    def _secrets_delete(self, request: Request, route: _Route, docs: str) -> Response:
        if route.scope.secrets.pop(unquote(route.rest[0]).upper(), None) is None:
            return _error(404, "Not Found", docs)
        return Response(204)

    # -- variables ----------------------------------------------------------------------------

    def _variables_list(self, request: Request, route: _Route, docs: str) -> Response:
        variables = route.scope.variables
        return self._list(request, variables, "variables", Entry.as_variable, default=10, maximum=30)

    def _variables_get(self, request: Request, route: _Route, docs: str) -> Response:
        entry = route.scope.variables.get(unquote(route.rest[0]).upper())
        return json_response(200, entry.as_variable()) if entry else _error(404, "Not Found", docs)

    def _variables_create(self, request: Request, route: _Route, docs: str) -> Response:
        body = _json_body(request, docs, {"name": True, "value": True})
        if isinstance(body, Response):
            return body
        name, value = body["name"], body["value"]
        invalid = self._variable_problem(name, value, docs)
        if invalid:
            return invalid
        name = name.upper()
        if name in route.scope.variables:
            return _error(409, "Already exists - Variable already exists", docs)
        if len(route.scope.variables) >= route.scope.variable_limit:
            message = f"A {route.level} can hold at most {route.scope.variable_limit} variables."
            return _validation_failed(docs, "Variable", "name", "custom", message)
        stamp = self._clock.tick()
        route.scope.variables[name] = Entry(name, value, stamp, stamp)
        return json_response(201, {})

    def _variables_update(self, request: Request, route: _Route, docs: str) -> Response:
        current = unquote(route.rest[0]).upper()
        entry = route.scope.variables.get(current)
        if entry is None:
            return _error(404, "Not Found", docs)
        body = _json_body(request, docs, {"name": False, "value": False})
        if isinstance(body, Response):
            return body
        new_name = body.get("name", current)
        value = body.get("value", entry.value)
        invalid = self._variable_problem(new_name, value, docs)
        if invalid:
            return invalid
        new_name = new_name.upper()
        if new_name != current and new_name in route.scope.variables:
            return _error(409, "Already exists - Variable already exists", docs)
        del route.scope.variables[current]
        entry.name, entry.value, entry.updated_at = new_name, value, self._clock.tick(entry.updated_at)
        route.scope.variables[new_name] = entry
        return Response(204)

    def _variables_delete(self, request: Request, route: _Route, docs: str) -> Response:
        if route.scope.variables.pop(unquote(route.rest[0]).upper(), None) is None:
            return _error(404, "Not Found", docs)
        return Response(204)

    @staticmethod
    def _variable_problem(name: str, value: str, docs: str) -> Response | None:
        problem = name_problem(name)
        if problem:
            return _validation_failed(docs, "Variable", "name", "invalid", problem)
        if len(value.encode("utf-8")) > MAX_VALUE_BYTES:
            message = f"Variable values are limited to {MAX_VALUE_BYTES // 1024} KB."
            return _validation_failed(docs, "Variable", "value", "too_large", message)
        return None

    # -- shared -------------------------------------------------------------------------------

    @staticmethod
    def _list(
        request: Request,
        store: dict[str, Entry],
        key: str,
        show: Callable[[Entry], dict[str, str]],
        *,
        default: int,
        maximum: int,
    ) -> Response:
        page, per_page = page_slice(request.arg("page"), request.arg("per_page"), default, maximum)
        names = sorted(store)
        chosen = names[(page - 1) * per_page : page * per_page]
        body = {"total_count": len(names), key: [show(store[name]) for name in chosen]}
        host = request.header("host")
        base_url = f"http://{host}{request.path}" if host else f"https://api.github.com{request.path}"
        link = link_header(base_url, page, per_page, len(names))
        return json_response(200, body, {"link": link} if link else None)


def _action(method: str, kind: str, rest: tuple[str, ...]) -> str:
    """The operation a method on a collection (``rest`` empty) or item names, or ``""``."""
    method = method.upper()
    if not rest:
        return {"GET": "list", "POST": "create" if kind == "variables" else ""}.get(method, "")
    if kind == "secrets" and rest[0] == "public-key":
        return "public-key" if method == "GET" else ""
    if kind == "secrets":
        return {"GET": "get", "PUT": "put", "DELETE": "delete"}.get(method, "")
    return {"GET": "get", "PATCH": "update", "DELETE": "delete"}.get(method, "")


def _secret_value(request: Request, scope: Scope, docs: str) -> str | Response:
    """The decrypted value of a PUT secret body, or GitHub's error."""
    body = _json_body(request, docs, {"encrypted_value": True, "key_id": True})
    if isinstance(body, Response):
        return body
    if body["key_id"] != scope.key_id:
        message = "key_id does not match the public key."
        return _validation_failed(docs, "Secret", "key_id", "invalid", message)
    value = scope.decrypt(body["encrypted_value"])
    if value is None:
        message = "encrypted_value is not a sealed box for this public key."
        return _validation_failed(docs, "Secret", "encrypted_value", "invalid", message)
    if len(value.encode("utf-8")) > MAX_VALUE_BYTES:
        message = f"Secret values are limited to {MAX_VALUE_BYTES // 1024} KB."
        return _validation_failed(docs, "Secret", "encrypted_value", "too_large", message)
    return value


def _json_body(request: Request, docs: str, fields: dict[str, bool]) -> dict[str, Any] | Response:
    """The JSON object body with string ``fields`` (``True`` = required), or GitHub's error."""
    body = object_body(request, docs)
    if isinstance(body, Response):
        return body
    for name, required in fields.items():
        if name not in body:
            if required:
                return _error(422, f'Invalid request.\n\n"{name}" wasn\'t supplied.', docs)
            continue
        if not isinstance(body[name], str):
            message = f"Invalid request.\n\nFor 'properties/{name}', {body[name]!r} is not a string."
            return _error(422, message, docs)
    return body
