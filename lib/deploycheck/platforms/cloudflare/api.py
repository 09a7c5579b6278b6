"""What the Cloudflare v4 API shares across Workers and Pages: the envelope, errors, pages.

Every Cloudflare answer is ``{"success", "errors", "messages", "result"}``; ``success``
is checked even on HTTP 200 (wrangler does the same). Errors carry
``[{"code": int, "message": str}]``; the first code becomes the PlatformError's vendor
code. Page-style lists (``page``/``per_page``, ``result_info.total_count``) are read
until ``page * per_page >= total_count`` or a short page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from deploycheck.errors import AuthError, PlatformError
from deploycheck.http import Hinter, HttpClient, HttpSettings, error_for_status, require_credentials
from deploycheck.http.pace import Pace

if TYPE_CHECKING:
    import requests

__all__ = [
    "DEFAULT_BASE_URL",
    "CloudflareApi",
    "classify_cloudflare",
    "cloudflare_api",
    "parse_cloudflare_error",
]

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
MAX_PAGES = 200


def parse_cloudflare_error(response: requests.Response) -> tuple[str, str | int | None]:
    """(message, first vendor code) from a Cloudflare error envelope."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code} {response.reason or ''}".strip(), None
    return _envelope_error(body, response.status_code)


def _envelope_error(body: Any, status: int) -> tuple[str, str | int | None]:
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors:
        return f"HTTP {status}", None
    texts: list[str] = []
    code: str | int | None = None
    for item in errors:
        if not isinstance(item, dict):
            continue
        if code is None and isinstance(item.get("code"), int | str):
            code = item["code"]
        texts.append(f"{item.get('message', '')} [{item.get('code')}]".strip())
    return "; ".join(texts) or f"HTTP {status}", code


#: codes Cloudflare uses for a missing, malformed, wrong or under-privileged token
AUTH_CODES = frozenset({6003, 6100, 6101, 6102, 6103, 6111, 9103, 9106, 9109, 10000, 10001})


def classify_cloudflare(status: int | None, code: str | int | None) -> type[PlatformError] | None:
    """AuthError for Cloudflare's authentication codes, whatever the status (6003 comes as 400)."""
    return AuthError if code in AUTH_CODES else None


def _auth_hint(status: int | None, code: str | int | None) -> str:
    if status == 401 or code in AUTH_CODES:
        return "check CLOUDFLARE_API_TOKEN (it is missing, expired or wrong)"
    if status == 429:
        return "Cloudflare allows 1200 requests per 5 minutes per token; wait and run again"
    return ""


class CloudflareApi:
    """One account's Cloudflare API: an :class:`HttpClient` plus envelope handling."""

    def __init__(self, client: HttpClient, account_id: str) -> None:
        self.client = client
        self.account_id = account_id

    @property
    def account_path(self) -> str:
        """``/accounts/<account id>``."""
        return f"/accounts/{self.account_id}"

    def result(self, response: requests.Response, operation: str) -> Any:
        """The ``result`` of an envelope; raise the vendor error when ``success`` is false."""
        client = self.client
        if response.headers.get("cf-mitigated", "").lower() == "challenge":
            raise PlatformError(
                "blocked by a Cloudflare challenge (WAF), not answered by the API",
                platform=client.platform,
                operation=operation,
                status=response.status_code,
                hint="run from a network Cloudflare does not challenge, or check the base URL",
            )
        if response.status_code in (204, 205) and not response.content:
            return {}
        body = client.json(response, operation)
        if not isinstance(body, dict) or "success" not in body:
            raise client.malformed(operation, "no Cloudflare envelope (success/errors/result)")
        if body.get("success") is not True:
            message, code = _envelope_error(body, response.status_code)
            status = response.status_code if response.status_code >= 400 else None
            raise error_for_status(
                status,
                message,
                platform=client.platform,
                operation=operation,
                code=code,
                hint=client.hint(status, code, operation),
                cls=client.classify(status, code),
            )
        return body.get("result")

    def call(self, method: str, path: str, *, operation: str, **kwargs: Any) -> Any:
        """Send one request under the account and return its envelope's ``result``."""
        response = self.client.request(method, self.account_path + path, operation=operation, **kwargs)
        return self.result(response, operation)

    def paged(
        self,
        path: str,
        *,
        operation: str,
        items: Callable[[Any], list[Any]],
        params: Mapping[str, Any] | None = None,
        per_page: int = 25,
        limit: int | None = None,
    ) -> list[Any]:
        """Every item of a page-style list, reading pages until ``total_count`` is reached."""
        out: list[Any] = []
        page = 1
        while page <= MAX_PAGES:
            query = {**(params or {}), "page": page, "per_page": per_page}
            response = self.client.request("GET", self.account_path + path, operation=operation, params=query)
            result = self.result(response, operation)
            batch = items(result)
            out.extend(batch)
            info = self.client.json(response, operation).get("result_info") or {}
            total = info.get("total_count") if isinstance(info, dict) else None
            got_per_page = info.get("per_page", per_page) if isinstance(info, dict) else per_page
            if limit is not None and len(out) >= limit:
                return out[:limit]
            if not batch or len(batch) < int(got_per_page or per_page):
                break
            if isinstance(total, int) and page * int(got_per_page or per_page) >= total:
                break
            if len(out) > max(total if isinstance(total, int) else 0, 0) and isinstance(total, int):
                raise self.client.malformed(operation, f"more items than the reported total_count {total}")
            page += 1
        else:
            raise self.client.malformed(operation, f"more than {MAX_PAGES} pages")
        return out


#: Cloudflare's client API limit: 1,200 requests per 5 minutes per token (a 429 past it)
API_PACE = Pace(1200, 300.0, (), "1,200 requests per 5 minutes")


def cloudflare_api(
    *,
    platform: str,
    environ: Mapping[str, str],
    hint: Callable[[int | None, str | int | None, str], str],
    settings: HttpSettings | None = None,
) -> CloudflareApi:
    """Build the API for ``platform`` from CLOUDFLARE_API_BASE_URL / _TOKEN / _ACCOUNT_ID."""
    creds = require_credentials(
        environ,
        {
            "CLOUDFLARE_API_TOKEN": "an API token with Workers Scripts and Pages permissions",
            "CLOUDFLARE_ACCOUNT_ID": "the 32-hex account id from the dashboard",
        },
    )

    def full_hint(status: int | None, code: str | int | None, operation: str) -> str:
        return _auth_hint(status, code) or hint(status, code, operation)

    hinter: Hinter = full_hint
    client = HttpClient(
        platform=platform,
        base_url=environ.get("CLOUDFLARE_API_BASE_URL") or DEFAULT_BASE_URL,
        base_url_variable="CLOUDFLARE_API_BASE_URL",
        headers={"Authorization": f"Bearer {creds['CLOUDFLARE_API_TOKEN']}", "Accept": "application/json"},
        settings=settings or HttpSettings.from_environ(environ),
        parse_error=parse_cloudflare_error,
        hint=hinter,
        classify=classify_cloudflare,
        pace=API_PACE,
    )
    return CloudflareApi(client, creds["CLOUDFLARE_ACCOUNT_ID"])


class CloudflareAdapter:
    """What the Workers and Pages adapters share: the API, its request count, and hints.

    A subclass sets ``api`` and calls :meth:`_install_hints`; its :meth:`_own_hint` adds
    the next step for its own resources after the API's generic hints.
    """

    api: CloudflareApi
    #: the environment variables a deploy command of this platform may see (wrangler's own)
    ENVIRONMENT_PREFIXES: tuple[str, ...] = ("CLOUDFLARE_", "WRANGLER_")

    def _install_hints(self) -> None:
        base = self.api.client.hint

        def hint(status: int | None, code: str | int | None, operation: str) -> str:
            return base(status, code, operation) or self._own_hint(status, code, operation)

        self.api.client.hint = hint

    def _own_hint(self, status: int | None, code: str | int | None, operation: str) -> str:
        """The next step for this adapter's resources ("" when it has none)."""
        return ""

    @property
    def requests(self) -> int:
        """HTTP requests made so far."""
        return self.api.client.requests
