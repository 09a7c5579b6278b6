"""Contract tests: every GitHub emulator response validated against GitHub's OpenAPI description.

The 20 Actions secrets/variables operations of ``fixtures/vendor-api/github-openapi-subset.json``
(transcribed from github/rest-api-description, 2022-11-28) are exercised once directly
through ``handle`` and once over real HTTP against the sandbox; each request and each
response (status, JSON body, ``Link`` header) must match the description.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from nacl import encoding, public
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.response.exceptions import InvalidData

from deploycheck.sandbox.core import Request
from deploycheck.sandbox.github import GithubEmulator

SPEC_PATH = Path(__file__).resolve().parents[2] / "fixtures" / "vendor-api" / "github-openapi-subset.json"
SPEC_SERVER = "https://api.github.com"
TOKEN = "ghp_contract_test_token"
REPO = "/repos/example/app"
SCOPES = {"repo": (REPO, f"{REPO}/actions"), "environment": (REPO, f"{REPO}/environments/production")}


@dataclass
class Exchange:
    """One request the scenario sent and the response it got."""

    operation: str
    method: str
    path: str
    query: dict[str, str]
    body: bytes
    status: int
    response_body: bytes
    headers: dict[str, str]


Send = Callable[[str, str, Any, dict[str, str]], tuple[int, bytes, dict[str, str]]]


def _operations() -> list[str]:
    spec = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return sorted(
        op["operationId"]
        for item in spec["paths"].values()
        for method, op in item.items()
        if method in ("get", "put", "post", "patch", "delete")
    )


OPERATIONS = _operations()


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    """GitHub's OpenAPI description of the 20 operations."""
    return OpenAPI.from_file_path(str(SPEC_PATH))


def _seal(key: str, value: str) -> str:
    box = public.SealedBox(public.PublicKey(key.encode("utf-8"), encoding.Base64Encoder))
    return base64.b64encode(box.encrypt(value.encode("utf-8"))).decode("ascii")


def run_scenario(send: Send) -> list[Exchange]:
    """Exercise all 20 operations (PUT both creating and updating, lists over several pages)."""
    exchanges: list[Exchange] = []

    def do(
        operation: str, method: str, path: str, body: Any = None, query: dict[str, str] | None = None
    ) -> Any:
        raw = json.dumps(body).encode() if body is not None else b""
        status, data, headers = send(method, path, raw, query or {})
        exchanges.append(Exchange(operation, method, path, query or {}, raw, status, data, headers))
        return json.loads(data) if data else None

    for level, (_repo, base) in SCOPES.items():
        noun = "repo" if level == "repo" else "environment"
        key = do(f"actions/get-{noun}-public-key", "GET", f"{base}/secrets/public-key")
        for name in ("ALPHA", "BRAVO", "CHARLIE"):
            sealed = {"encrypted_value": _seal(key["key"], f"{name}-value"), "key_id": key["key_id"]}
            do(f"actions/create-or-update-{noun}-secret", "PUT", f"{base}/secrets/{name}", sealed)
        again = {"encrypted_value": _seal(key["key"], "new"), "key_id": key["key_id"]}
        do(f"actions/create-or-update-{noun}-secret", "PUT", f"{base}/secrets/ALPHA", again)
        do(f"actions/list-{noun}-secrets", "GET", f"{base}/secrets", query={"per_page": "2"})
        do(f"actions/list-{noun}-secrets", "GET", f"{base}/secrets", query={"per_page": "2", "page": "2"})
        do(f"actions/get-{noun}-secret", "GET", f"{base}/secrets/BRAVO")
        do(f"actions/delete-{noun}-secret", "DELETE", f"{base}/secrets/BRAVO")
        for name in ("ONE", "TWO", "THREE"):
            do(
                f"actions/create-{noun}-variable",
                "POST",
                f"{base}/variables",
                {"name": name, "value": name.lower()},
            )
        do(f"actions/list-{noun}-variables", "GET", f"{base}/variables", query={"per_page": "2"})
        do(f"actions/list-{noun}-variables", "GET", f"{base}/variables", query={"page": "1"})
        do(f"actions/get-{noun}-variable", "GET", f"{base}/variables/ONE")
        do(f"actions/update-{noun}-variable", "PATCH", f"{base}/variables/ONE", {"value": "uno"})
        do(f"actions/delete-{noun}-variable", "DELETE", f"{base}/variables/TWO")
    return exchanges


def validate(openapi: OpenAPI, exchange: Exchange) -> None:
    """Validate the request and the response of one exchange against the description."""
    __tracebackhide__ = True
    request = MockRequest(
        SPEC_SERVER,
        exchange.method.lower(),
        exchange.path,
        args=exchange.query,
        data=exchange.body or None,
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    openapi.validate_request(request)
    headers = {"Link" if name.lower() == "link" else name: value for name, value in exchange.headers.items()}
    content_type = "application/json" if exchange.response_body else None
    response = MockResponse(
        exchange.response_body,
        status_code=exchange.status,
        headers=headers,
        content_type=content_type,  # type: ignore[arg-type]
    )
    openapi.validate_response(request, response)


def _direct_send() -> Send:
    github = GithubEmulator(TOKEN)

    def send(method: str, path: str, body: bytes, query: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        headers = {"authorization": f"Bearer {TOKEN}", "host": "api.github.test"}
        response = github.handle(Request(method, path, {k: [v] for k, v in query.items()}, headers, body))
        data, _content_type = response.encoded()
        return response.status, data, response.headers

    return send


@pytest.fixture(scope="module")
def direct_exchanges() -> list[Exchange]:
    """The scenario run against an emulator called in-process."""
    return run_scenario(_direct_send())


@pytest.mark.parametrize("operation", OPERATIONS)
def test_operation_matches_github_description(
    openapi: OpenAPI, direct_exchanges: list[Exchange], operation: str
) -> None:
    """Every request/response of the operation validates against GitHub's OpenAPI description."""
    mine = [e for e in direct_exchanges if e.operation == operation]
    assert mine, f"scenario never exercised {operation}"
    for exchange in mine:
        validate(openapi, exchange)


def test_put_secret_is_exercised_with_both_documented_statuses(direct_exchanges: list[Exchange]) -> None:
    """The scenario sees 201 (create) and 204 (update) for both secret PUT operations."""
    for operation in ("actions/create-or-update-repo-secret", "actions/create-or-update-environment-secret"):
        assert {e.status for e in direct_exchanges if e.operation == operation} == {201, 204}


def test_multi_page_lists_carry_a_link_header(direct_exchanges: list[Exchange]) -> None:
    """Lists split over pages declare Link (validated above as the described header)."""
    paged = [
        e
        for e in direct_exchanges
        if e.operation.startswith("actions/list-") and e.query.get("per_page") == "2"
    ]
    assert len(paged) == 6
    assert all('rel="next"' in e.headers["link"] or 'rel="prev"' in e.headers["link"] for e in paged)


def test_validator_rejects_a_response_that_breaks_the_description(
    openapi: OpenAPI, direct_exchanges: list[Exchange]
) -> None:
    """A secrets list whose entries lack updated_at fails validation, so the contract tests can fail."""
    listing = next(e for e in direct_exchanges if e.operation == "actions/list-repo-secrets")
    body = json.loads(listing.response_body)
    for secret in body["secrets"]:
        del secret["updated_at"]
    broken = Exchange(**{**listing.__dict__, "response_body": json.dumps(body).encode()})
    with pytest.raises(InvalidData) as excinfo:
        validate(openapi, broken)
    assert "updated_at" in repr(excinfo.value.__cause__)


@pytest.mark.sandbox
def test_all_operations_over_http_match_github_description(openapi: OpenAPI, sandbox: Any) -> None:
    """Over real HTTP through the sandbox server, all 20 operations validate against the description."""
    session = requests.Session()
    session.headers.update(
        {
            "Authorization": f"Bearer {sandbox.github_token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
    )

    def send(method: str, path: str, body: bytes, query: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        headers = {"Content-Type": "application/json"} if body else {}
        url = f"{sandbox.github_api_url}{path}"
        response = session.request(method, url, params=query, data=body or None, headers=headers, timeout=10)
        return response.status_code, response.content, {k.lower(): v for k, v in response.headers.items()}

    exchanges = run_scenario(send)
    assert {e.operation for e in exchanges} == set(OPERATIONS)
    for exchange in exchanges:
        validate(openapi, exchange)
