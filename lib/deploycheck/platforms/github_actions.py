"""GitHub Actions: repository or environment secrets and variables.

Secrets are write-only: listing gives names and ``updated_at`` (the per-key marker).
A secret is written as a libsodium sealed box of the value under the repository's (or
environment's) public key, exactly as GitHub's docs show. Variables are readable;
creating one is a POST, changing one a PATCH. Lists follow ``Link: rel=next`` (secrets
100 a page, variables 30 a page, the maximums). Names are upper-cased: GitHub stores
them so.

Writes go one request per key (GitHub has no batch endpoint), at most four at a time.
PUT, PATCH (explicit value) and DELETE are retried as idempotent; a variable POST is not
retried on 5xx or timeout.
"""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

from deploycheck.errors import DeploycheckError, PlatformError
from deploycheck.http import HttpClient, HttpSettings, require_credentials
from deploycheck.http.pace import WRITE_METHODS, Pace
from deploycheck.platforms.base import ApplyResult, ConfigState, RemoteVar, VarChange
from deploycheck.platforms.consoles import github_console
from deploycheck.platforms.params import param_error, param_path
from deploycheck.platforms.spec import Limits, OpenRequest, PlatformSpec

__all__ = ["DEFAULT_BASE_URL", "GithubActionsPlatform", "seal"]

DEFAULT_BASE_URL = "https://api.github.com"
WORKERS = 4


def seal(public_key: str, value: str) -> str:
    """Encrypt ``value`` for GitHub: a sealed box under the base64 ``public_key``, base64 encoded."""
    from nacl import encoding, public

    # GitHub's docs pass an encoder instance; its methods are static, so the class is the same
    key = public.PublicKey(public_key.encode("utf-8"), encoding.Base64Encoder)
    sealed_box = public.SealedBox(key)
    encrypted = sealed_box.encrypt(value.encode("utf-8"))
    return b64encode(encrypted).decode("utf-8")


def _parse_github_error(response: Any) -> tuple[str, str | int | None]:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code} {response.reason or ''}".strip(), None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        message = body["message"]
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            details = [e.get("message") or e.get("code") for e in errors if isinstance(e, dict)]
            message += " (" + "; ".join(str(d) for d in details if d) + ")"
        return message, None
    return f"HTTP {response.status_code}", None


def _total_count(response: Any) -> int | None:
    """The ``total_count`` a GitHub list page reports (None when absent or unreadable)."""
    try:
        body = response.json()
    except ValueError:
        return None
    total = body.get("total_count") if isinstance(body, dict) else None
    return total if isinstance(total, int) and total >= 0 else None


def _count_items(response: Any, kind: str) -> int:
    """How many ``kind`` items a GitHub list page holds (0 when unreadable)."""
    try:
        body = response.json()
    except ValueError:
        return 0
    items = body.get(kind) if isinstance(body, dict) else None
    return len(items) if isinstance(items, list) else 0


#: GitHub's secondary rate limit: about 80 content-creating requests a minute per token
#: (docs: rate-limits-for-the-rest-api, "about secondary rate limits")
CONTENT_CREATING_PACE = Pace(80, 60.0, WRITE_METHODS, "80 content-creating requests a minute")


class GithubActionsPlatform:
    """The Actions secrets and variables of a repository, or of one of its environments.

    Extra methods: :meth:`public_key`, :meth:`list_secrets`, :meth:`list_variables`,
    :meth:`put_secret`, :meth:`delete_secret`, :meth:`set_variable`, :meth:`delete_variable`.
    """

    platform = "github-actions"
    #: the environment variables a deploy command of this platform may see
    ENVIRONMENT_PREFIXES: tuple[str, ...] = ("GITHUB_", "GH_")

    def __init__(
        self,
        client: HttpClient,
        *,
        repository: str,
        environment: str | None = None,
        target: str = "GITHUB",
        env: str = "",
        workers: int = WORKERS,
    ) -> None:
        owner, _, name = repository.partition("/")
        if not owner or not name or "/" in name:
            msg = f"repository must read owner/name, got {repository!r}."
            raise param_error(target, env, "repository", msg)
        self.client = client
        self.repository = repository
        self.environment = environment
        self.resource = f"{repository}:{environment}" if environment else repository
        self.target = target
        self.env = env
        self.workers = max(1, workers)
        base = f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"
        self._prefix = (
            f"{base}/environments/{quote(environment, safe='')}" if environment else f"{base}/actions"
        )
        self._key: tuple[str, str] | None = None
        client.hint = self._hint

    @classmethod
    def from_environ(
        cls,
        *,
        repository: str,
        environ: Mapping[str, str],
        environment: str | None = None,
        target: str = "GITHUB",
        env: str = "",
        settings: HttpSettings | None = None,
    ) -> GithubActionsPlatform:
        """Build from GITHUB_API_URL and GITHUB_TOKEN in ``environ``."""
        token = require_credentials(
            environ, {"GITHUB_TOKEN": "a token with the repo scope or Secrets:write"}
        )["GITHUB_TOKEN"]
        client = HttpClient(
            platform=cls.platform,
            base_url=environ.get("GITHUB_API_URL") or DEFAULT_BASE_URL,
            base_url_variable="GITHUB_API_URL",
            headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "Authorization": f"Bearer {token}",
            },
            settings=settings or HttpSettings.from_environ(environ),
            parse_error=_parse_github_error,
            pace=CONTENT_CREATING_PACE,
        )
        return cls(client, repository=repository, environment=environment, target=target, env=env)

    def _hint(self, status: int | None, code: str | int | None, operation: str) -> str:
        if status == 401:
            return "check GITHUB_TOKEN (bad credentials)"
        if status == 403:
            return "GITHUB_TOKEN lacks the repo scope / Secrets and Variables permission, or hit a rate limit"
        if status == 404:
            where = param_path(self.target, self.env)
            return (
                f"check {where}.repository and .environment, and that GITHUB_TOKEN can see {self.repository}"
            )
        if status == 422:
            return (
                "GitHub rejected the name or value (names: [A-Z0-9_], not starting with GITHUB_ or a digit)"
            )
        return ""

    @property
    def requests(self) -> int:
        """HTTP requests made so far."""
        return self.client.requests

    # -- reading ---------------------------------------------------------------------------------------

    def public_key(self) -> tuple[str, str]:
        """(key_id, base64 key) that secrets of this repository or environment are sealed with."""
        operation = "read secrets public key"
        body = self.client.json(
            self.client.request("GET", f"{self._prefix}/secrets/public-key", operation=operation), operation
        )
        if not isinstance(body, dict) or not body.get("key_id") or not body.get("key"):
            raise self.client.malformed(operation, "no key_id/key")
        self._key = (str(body["key_id"]), str(body["key"]))
        return self._key

    def _list(self, kind: str, per_page: int) -> list[dict[str, Any]]:
        operation = f"list {kind}"
        out: list[dict[str, Any]] = []
        for response in self.client.pages(
            f"{self._prefix}/{kind}",
            operation=operation,
            params={"per_page": per_page},
            total_count=_total_count,
            count_items=lambda r: _count_items(r, kind),
        ):
            body = self.client.json(response, operation)
            items = body.get(kind) if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise self.client.malformed(operation, f"no {kind} list")
            out.extend(item for item in items if isinstance(item, dict) and "name" in item)
        return out

    def list_secrets(self) -> list[RemoteVar]:
        """Secret names (upper-cased) with ``updated_at`` as the marker; values are never returned."""
        return [
            RemoteVar(str(s["name"]).upper(), None, secret=True, marker=s.get("updated_at"))
            for s in self._list("secrets", 100)
        ]

    def list_variables(self) -> list[RemoteVar]:
        """Variables with their values and ``updated_at`` markers."""
        return [
            RemoteVar(
                str(v["name"]).upper(), str(v.get("value", "")), secret=False, marker=v.get("updated_at")
            )
            for v in self._list("variables", 30)
        ]

    def read_config(self) -> ConfigState:
        """Secrets and variables from the two list endpoints (one page per 100 secrets / 30 variables),
        the two lists read concurrently."""
        before = self.requests
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="github-read") as pool:
            variables_read = pool.submit(self.list_variables)
            secrets_read = pool.submit(self.list_secrets)
            variables, secrets = variables_read.result(), secrets_read.result()
        found = {v.name: v for v in variables}
        found.update({s.name: s for s in secrets})
        return ConfigState(self.platform, self.resource, found, marker=None, requests=self.requests - before)

    # -- writing ---------------------------------------------------------------------------------------

    def put_secret(self, name: str, value: str, key: tuple[str, str] | None = None) -> None:
        """Create or update one secret, sealed under the public key (fetched once when not given)."""
        key_id, public = key or self._key or self.public_key()
        body = {"encrypted_value": seal(public, value), "key_id": key_id}
        self.client.request(
            "PUT",
            f"{self._prefix}/secrets/{quote(name.upper(), safe='')}",
            operation=f"put secret {name}",
            json=body,
        )

    def delete_secret(self, name: str) -> None:
        """Delete one secret; an absent one is not an error."""
        self._delete("secret", name)

    def set_variable(self, name: str, value: str, *, exists: bool | None = None) -> None:
        """Create (POST, not retried on 5xx) or update (PATCH) a variable.

        ``exists=False`` POSTs and falls back to PATCH when GitHub says it already exists;
        ``True`` PATCHes; ``None`` PATCHes and POSTs after a 404.
        """
        name = name.upper()
        body = {"name": name, "value": value}
        path = f"{self._prefix}/variables/{quote(name, safe='')}"
        if exists is False:
            operation = f"create variable {name}"
            response = self.client.request(
                "POST",
                f"{self._prefix}/variables",
                operation=operation,
                json=body,
                idempotent=False,
                accept=(409, 422),
            )
            if response.status_code < 300:
                return
            if response.status_code == 422 and "exist" not in response.text.lower():
                raise self.client.error(response, operation)
            exists = True
        response = self.client.request(
            "PATCH",
            path,
            operation=f"update variable {name}",
            json=body,
            idempotent=True,
            accept=(404,) if exists is None else (),
        )
        if response.status_code == 404:
            self.client.request(
                "POST",
                f"{self._prefix}/variables",
                operation=f"create variable {name}",
                json=body,
                idempotent=False,
            )

    def delete_variable(self, name: str) -> None:
        """Delete one variable; an absent one is not an error."""
        self._delete("variable", name)

    def _delete(self, kind: str, name: str) -> None:
        self.client.request(
            "DELETE",
            f"{self._prefix}/{kind}s/{quote(name.upper(), safe='')}",
            operation=f"delete {kind} {name}",
            accept=(404,),
        )

    def _apply_one(self, change: VarChange, key: tuple[str, str] | None) -> None:
        if change.secret:
            if change.action == "remove":
                self.delete_secret(change.name)
            else:
                self.put_secret(change.name, change.value or "", key)
        elif change.action == "remove":
            self.delete_variable(change.name)
        else:
            # "add" is a POST (PATCH when it exists after all), "change" a PATCH (POST after a 404)
            self.set_variable(
                change.name, change.value or "", exists=False if change.action == "add" else None
            )

    def apply_config(self, changes: Sequence[VarChange]) -> ApplyResult:
        """Apply each change with its own request, at most four at a time.

        Failures are collected per name in ``ApplyResult.failed`` (message without
        values); markers are the ``updated_at`` of the secrets written, listed afterwards.
        """
        if not changes:
            return ApplyResult(applied=())
        key = self.public_key() if any(c.secret and c.action != "remove" for c in changes) else None
        applied: list[str] = []
        failed: dict[str, str] = {}
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            futures = {c.name: pool.submit(self._apply_one, c, key) for c in changes}
            for name, future in futures.items():
                try:
                    future.result()
                except DeploycheckError as exc:
                    failed[name] = str(exc)
                else:
                    applied.append(name)
        markers: dict[str, str] = {}
        written = {c.name.upper(): c.name for c in changes if c.name in applied and c.action != "remove"}
        if any(c.secret for c in changes if c.name in written.values()):
            try:
                for item in self.list_secrets():
                    if item.name in written and item.marker:
                        markers[written[item.name]] = item.marker
            except PlatformError:
                pass  # markers are a convenience; the writes themselves succeeded
        return ApplyResult(applied=tuple(applied), failed=failed, markers=markers)


def _open(request: OpenRequest) -> GithubActionsPlatform:
    repository = request.params.get("repository") or request.environ.get("GITHUB_REPOSITORY") or ""
    if not repository:
        repository = request.require("repository")
    return GithubActionsPlatform.from_environ(
        repository=repository,
        environment=request.params.get("environment") or None,
        environ=request.environ,
        target=request.target,
        env=request.env,
    )


SPEC = PlatformSpec(
    name="github-actions",
    label="GitHub Actions",
    short_label="GitHub",
    aliases=("github",),
    environment_prefixes=GithubActionsPlatform.ENVIRONMENT_PREFIXES,
    factory=_open,
    resource_key="repository",
    typed_stores=True,
    case_insensitive=True,
    # GitHub: secrets up to 48 KB, names may not start with GITHUB_, 100 secrets per scope
    limits=Limits(max_value_bytes=48 * 1024, forbidden_prefixes=("GITHUB_",), max_secrets=100),
    # no vendor command: `gh secret delete` talks https to github.com or GH_HOST's /api/v3 only,
    # so it cannot be run against the sandbox; `sync-env --remove` is the remedy
    console=github_console,
    resource_id=lambda text: text.replace("/", "-"),
)
