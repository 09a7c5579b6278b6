"""Contract tests: the GitHub emulator's issue endpoints validated against GitHub's OpenAPI description.

The six operations of ``fixtures/vendor-api/github-issues-openapi-subset.json`` (copied from
GitHub's description as @octokit/openapi publishes it) are exercised in-process and over
real HTTP; every request and response (status, JSON body, ``Link``) must match, errors too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.response.exceptions import InvalidData

from deploycheck.sandbox.core import Request
from deploycheck.sandbox.github import GithubEmulator

SPEC_PATH = (
    Path(__file__).resolve().parents[2] / "fixtures" / "vendor-api" / "github-issues-openapi-subset.json"
)
TOKEN = "ghp_contract_issues_token"
ISSUES = "/repos/example/app/issues"
LABEL = "deploycheck-drift"


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


Send = Callable[[str, str, bytes, dict[str, str]], tuple[int, bytes, dict[str, str]]]


def _operations() -> list[str]:
    spec = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return sorted(op["operationId"] for item in spec["paths"].values() for op in item.values())


OPERATIONS = _operations()


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    """GitHub's OpenAPI description of the six issue operations."""
    return OpenAPI.from_file_path(str(SPEC_PATH))


def run_scenario(send: Send) -> list[Exchange]:
    """Open, label, list by label over pages, comment, close and reopen issues, plus the documented errors."""
    exchanges: list[Exchange] = []

    def do(
        operation: str, method: str, path: str, body: Any = None, query: dict[str, str] | None = None
    ) -> Any:
        raw = json.dumps(body).encode() if body is not None else b""
        status, data, headers = send(method, path, raw, query or {})
        exchanges.append(Exchange(operation, method, path, query or {}, raw, status, data, headers))
        return json.loads(data) if data else None

    first = do("issues/create", "POST", ISSUES, {"title": "Drift in production", "body": "3 findings",
                                                 "labels": [LABEL, "production"]})  # fmt: skip
    do("issues/create", "POST", ISSUES, {"title": "Other", "labels": [{"name": "bug"}]})
    do("issues/create", "POST", ISSUES, {"title": "Drift in sandbox", "labels": [LABEL]})
    do("issues/create", "POST", ISSUES, {"body": "no title"})  # 422
    number = first["number"]
    do("issues/list-for-repo", "GET", ISSUES, query={"labels": LABEL, "state": "open", "per_page": "1"})
    do("issues/list-for-repo", "GET", ISSUES, query={"labels": LABEL, "per_page": "1", "page": "2"})
    do("issues/list-for-repo", "GET", ISSUES, query={"state": "all", "sort": "updated", "direction": "asc"})
    do("issues/list-for-repo", "GET", ISSUES, query={"state": "sideways"})  # 422
    do("issues/get", "GET", f"{ISSUES}/{number}")
    do("issues/get", "GET", f"{ISSUES}/999")  # 404
    do(
        "issues/update",
        "PATCH",
        f"{ISSUES}/{number}",
        {"body": "4 findings", "title": "Drift in production (4)"},
    )
    do("issues/create-comment", "POST", f"{ISSUES}/{number}/comments", {"body": "More drift: 4 findings"})
    do("issues/create-comment", "POST", f"{ISSUES}/{number}/comments", {"body": "Still drifting"})
    do("issues/create-comment", "POST", f"{ISSUES}/{number}/comments", {})  # 422
    do("issues/list-comments", "GET", f"{ISSUES}/{number}/comments", query={"per_page": "1"})
    do("issues/update", "PATCH", f"{ISSUES}/{number}", {"state": "closed", "state_reason": "completed"})
    do("issues/update", "PATCH", f"{ISSUES}/{number}", {"state": "shut"})  # 422
    do("issues/update", "PATCH", f"{ISSUES}/999", {"state": "closed"})  # 404
    do("issues/list-for-repo", "GET", ISSUES, query={"labels": LABEL, "state": "closed"})
    do("issues/update", "PATCH", f"{ISSUES}/{number}", {"state": "open"})
    return exchanges


def validate(openapi: OpenAPI, exchange: Exchange) -> None:
    """Validate the request and the response of one exchange against the description."""
    __tracebackhide__ = True
    request = MockRequest(
        "https://api.github.com", exchange.method.lower(), exchange.path, args=exchange.query,
        data=exchange.body or None, headers={"Authorization": f"Bearer {TOKEN}"},
    )  # fmt: skip
    if exchange.status < 400:  # the scenario's bad requests are meant to break the request schema
        openapi.validate_request(request)
    headers = {"Link" if name.lower() == "link" else name: value for name, value in exchange.headers.items()}
    response = MockResponse(
        exchange.response_body, status_code=exchange.status, headers=headers,
        content_type="application/json" if exchange.response_body else None,  # type: ignore[arg-type]
    )  # fmt: skip
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
def exchanges() -> list[Exchange]:
    """The scenario run against an emulator called in-process."""
    return run_scenario(_direct_send())


@pytest.mark.parametrize("operation", OPERATIONS)
def test_issue_operation_matches_github_description(
    openapi: OpenAPI, exchanges: list[Exchange], operation: str
):
    """Every request/response of the operation, errors included, validates against GitHub's description."""
    mine = [e for e in exchanges if e.operation == operation]
    assert mine, f"scenario never exercised {operation}"
    for exchange in mine:
        validate(openapi, exchange)


def test_statuses_are_the_documented_ones(exchanges: list[Exchange]):
    """Create answers 201 with Location, a missing title 422, an unknown issue 404, a bad state 422."""
    statuses = [(e.operation, e.status) for e in exchanges]
    assert statuses.count(("issues/create", 201)) == 3 and ("issues/create", 422) in statuses
    assert ("issues/get", 404) in statuses and ("issues/update", 404) in statuses
    assert ("issues/update", 422) in statuses and ("issues/list-for-repo", 422) in statuses
    created = next(e for e in exchanges if e.operation == "issues/create" and e.status == 201)
    assert created.headers["location"] == json.loads(created.response_body)["url"]


def test_listing_by_label_pages_and_keeps_the_filter(exchanges: list[Exchange]):
    """Two open issues carry the label: one per page, the Link header keeps labels= and state=."""
    page1, page2 = (
        e for e in exchanges if e.operation == "issues/list-for-repo" and e.query.get("per_page") == "1"
    )
    assert [i["title"] for i in json.loads(page1.response_body)] == ["Drift in sandbox"]
    assert [i["title"] for i in json.loads(page2.response_body)] == ["Drift in production"]
    assert f"labels={LABEL}" in page1.headers["link"] and 'rel="next"' in page1.headers["link"]


def test_close_records_reason_time_and_closer(exchanges: list[Exchange]):
    """Closing sets state, state_reason, closed_at and closed_by; the closed list then holds it; reopen clears."""
    closed = next(e for e in exchanges if e.body and b'"closed"' in e.body and e.status == 200)
    issue = json.loads(closed.response_body)
    assert issue["state"] == "closed" and issue["state_reason"] == "completed" and issue["closed_at"]
    assert issue["closed_by"]["login"] == "github-actions[bot]" and issue["comments"] == 2
    listed = next(e for e in exchanges if e.query.get("state") == "closed")
    assert [i["number"] for i in json.loads(listed.response_body)] == [issue["number"]]
    reopened = json.loads(exchanges[-1].response_body)
    assert (
        reopened["state"] == "open"
        and reopened["state_reason"] == "reopened"
        and reopened["closed_at"] is None
    )


def test_validator_rejects_an_issue_without_its_number(openapi: OpenAPI, exchanges: list[Exchange]):
    """Control: an issue body lacking 'number' fails validation, so these contract tests can fail."""
    got = next(e for e in exchanges if e.operation == "issues/get" and e.status == 200)
    body = json.loads(got.response_body)
    del body["number"]
    with pytest.raises(InvalidData) as excinfo:
        validate(openapi, Exchange(**{**got.__dict__, "response_body": json.dumps(body).encode()}))
    assert "number" in repr(excinfo.value.__cause__)


@pytest.mark.sandbox
def test_issue_operations_over_http_match_github_description(openapi: OpenAPI, sandbox: Any):
    """Over real HTTP through the sandbox server, the six operations validate against the description."""
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {sandbox.github_token}",
                            "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"})  # fmt: skip

    def send(method: str, path: str, body: bytes, query: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        headers = {"Content-Type": "application/json"} if body else {}
        response = session.request(method, f"{sandbox.github_api_url}{path}", params=query, data=body or None,
                                   headers=headers, timeout=10)  # fmt: skip
        return response.status_code, response.content, {k.lower(): v for k, v in response.headers.items()}

    done = run_scenario(send)
    assert {e.operation for e in done} == set(OPERATIONS)
    for exchange in done:
        validate(openapi, exchange)
