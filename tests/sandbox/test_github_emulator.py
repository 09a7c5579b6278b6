"""Unit tests of the GitHub Actions secrets/variables emulator, calling ``handle`` directly."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl import encoding, public

from deploycheck.redact import fingerprint
from deploycheck.sandbox.core import Request, Response
from deploycheck.sandbox.github import GithubEmulator
from deploycheck.sandbox.github import api as github_module

TOKEN = "ghp_unit_test_token_0123456789"
REPO = "/repos/example/app"
ENV = f"{REPO}/environments/production"


class FrozenClock:
    """A settable clock so tests control what 'now' is."""

    def __init__(self, now: float = 1_790_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FrozenClock:
    """A frozen clock shared by the emulator under test."""
    return FrozenClock()


@pytest.fixture
def github(clock: FrozenClock) -> GithubEmulator:
    """A GitHub emulator with repository example/app and environments production and staging/eu."""
    return GithubEmulator(TOKEN, environments=("production", "staging/eu"), now=clock)


def call(
    github: GithubEmulator,
    method: str,
    path: str,
    body: Any = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Send one request with the right token unless ``headers`` says otherwise."""
    sent = {"authorization": f"Bearer {TOKEN}", "host": "127.0.0.1:9999"} if headers is None else headers
    raw = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else b"")
    return github.handle(Request(method, path, {k: [v] for k, v in (query or {}).items()}, sent, raw))


def encrypt(public_key: str, value: str) -> str:
    """Encrypt ``value`` for ``public_key`` exactly as GitHub's documentation shows."""
    key = public.PublicKey(public_key.encode("utf-8"), encoding.Base64Encoder)
    return base64.b64encode(public.SealedBox(key).encrypt(value.encode("utf-8"))).decode("utf-8")


def put_secret(github: GithubEmulator, scope: str, name: str, value: str) -> Response:
    """Fetch the scope's public key and PUT ``value`` sealed for it."""
    key = call(
        github,
        "GET",
        f"{scope}/actions/secrets/public-key" if scope == REPO else f"{scope}/secrets/public-key",
    )
    assert key.status == 200
    assert isinstance(key.body, dict)
    path = f"{scope}/actions/secrets/{name}" if scope == REPO else f"{scope}/secrets/{name}"
    return call(
        github,
        "PUT",
        path,
        {"encrypted_value": encrypt(key.body["key"], value), "key_id": key.body["key_id"]},
    )


def stored_secret(github: GithubEmulator, name: str, env: str | None = None) -> dict[str, str]:
    """The stored (decrypted) secret from the snapshot."""
    repo = github.snapshot()["repositories"]["example/app"]
    scope = repo["environments"][env] if env else repo
    entry: dict[str, str] = scope["secrets"][name]
    return entry


# -- public keys and secrets ------------------------------------------------------------------


def test_each_scope_has_its_own_curve25519_public_key(github: GithubEmulator) -> None:
    """Repository and each environment answer a distinct 32-byte key with a distinct key_id."""
    keys = [
        call(github, "GET", f"{REPO}/actions/secrets/public-key").body,
        call(github, "GET", f"{ENV}/secrets/public-key").body,
        call(github, "GET", f"{REPO}/environments/staging%2Feu/secrets/public-key").body,
    ]
    assert all(isinstance(k, dict) and len(base64.b64decode(k["key"])) == 32 for k in keys)
    assert len({k["key"] for k in keys if isinstance(k, dict)}) == 3
    assert len({k["key_id"] for k in keys if isinstance(k, dict)}) == 3


def test_put_secret_creates_with_201_then_updates_with_204(github: GithubEmulator) -> None:
    """The first PUT answers 201 with an empty object, a second PUT 204, and the value is decrypted."""
    created = put_secret(github, REPO, "api_token", "first-value")
    updated = put_secret(github, REPO, "API_TOKEN", "second-value")
    assert (created.status, created.body) == (201, {})
    assert (updated.status, updated.body) == (204, None)
    assert fingerprint(stored_secret(github, "API_TOKEN")["value"]) == fingerprint("second-value")


def test_secret_names_are_stored_upper_case_and_found_case_insensitively(github: GithubEmulator) -> None:
    """A secret written as 'deploy_key' is listed and fetched as DEPLOY_KEY."""
    put_secret(github, REPO, "deploy_key", "v")
    got = call(github, "GET", f"{REPO}/actions/secrets/Deploy_Key")
    assert got.status == 200
    assert isinstance(got.body, dict)
    assert got.body["name"] == "DEPLOY_KEY"
    assert set(got.body) == {"name", "created_at", "updated_at"}


def test_updated_at_strictly_increases_within_one_second(github: GithubEmulator) -> None:
    """Two writes in the same second still get different, increasing updated_at values."""
    put_secret(github, REPO, "TOKEN", "one")
    first = stored_secret(github, "TOKEN")["updated_at"]
    put_secret(github, REPO, "TOKEN", "two")
    second = stored_secret(github, "TOKEN")
    assert second["updated_at"] > first
    assert second["created_at"] == first
    assert second["updated_at"].endswith("Z") and len(second["updated_at"]) == 20


def test_environment_secret_uses_the_environment_key(github: GithubEmulator) -> None:
    """An environment secret sealed with the environment's key is stored only in that environment."""
    assert put_secret(github, ENV, "DB_URL", "postgres://x").status == 201
    assert fingerprint(stored_secret(github, "DB_URL", "production")["value"]) == fingerprint("postgres://x")
    assert github.snapshot()["repositories"]["example/app"]["secrets"] == {}


def test_box_sealed_for_another_scope_is_rejected(github: GithubEmulator) -> None:
    """A box sealed with the repository key but sent with the environment key_id does not open: 422."""
    repo_key = call(github, "GET", f"{REPO}/actions/secrets/public-key").body
    env_key = call(github, "GET", f"{ENV}/secrets/public-key").body
    assert isinstance(repo_key, dict) and isinstance(env_key, dict)
    body = {"encrypted_value": encrypt(repo_key["key"], "x"), "key_id": env_key["key_id"]}
    response = call(github, "PUT", f"{ENV}/secrets/S", body)
    assert response.status == 422
    assert isinstance(response.body, dict)
    assert response.body["message"] == "Validation Failed"
    assert response.body["errors"][0]["field"] == "encrypted_value"
    assert github.snapshot()["repositories"]["example/app"]["environments"]["production"]["secrets"] == {}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"encrypted_value": "c2VjcmV0", "key_id": "wrong"}, "key_id"),
        ({"encrypted_value": "not base64!", "key_id": None}, "encrypted_value"),
        ({"encrypted_value": "c2VjcmV0", "key_id": None}, "encrypted_value"),
    ],
    ids=["key-id-mismatch", "invalid-base64", "not-a-sealed-box"],
)
def test_put_secret_validation_errors(github: GithubEmulator, body: dict[str, Any], field: str) -> None:
    """A wrong key_id, invalid base64 or a box that does not open answers 422 naming the field."""
    key = call(github, "GET", f"{REPO}/actions/secrets/public-key").body
    assert isinstance(key, dict)
    sent = {**body, "key_id": body["key_id"] or key["key_id"]}
    response = call(github, "PUT", f"{REPO}/actions/secrets/S", sent)
    assert response.status == 422
    assert isinstance(response.body, dict)
    assert response.body["errors"][0]["field"] == field
    assert response.body["status"] == "422"


@pytest.mark.parametrize("name", ["GITHUB_TOKEN", "github_x", "1ABC", "A-B", "A B"])
def test_invalid_secret_names_are_rejected(github: GithubEmulator, name: str) -> None:
    """Names with other characters, a leading digit or the GITHUB_ prefix answer 422."""
    response = put_secret(github, REPO, name.replace(" ", "%20"), "v")
    assert response.status == 422
    assert isinstance(response.body, dict)
    assert response.body["errors"][0]["field"] == "name"


def test_secret_larger_than_48_kb_is_rejected(github: GithubEmulator) -> None:
    """A value of 48 KB is accepted, one byte more answers 422."""
    assert put_secret(github, REPO, "BIG", "x" * 48 * 1024).status == 201
    assert put_secret(github, REPO, "BIGGER", "x" * (48 * 1024 + 1)).status == 422


def test_put_secret_with_missing_field_or_bad_json(github: GithubEmulator) -> None:
    """A body without key_id answers 422 'wasn't supplied'; a body that is not JSON answers 400."""
    missing = call(github, "PUT", f"{REPO}/actions/secrets/S", {"encrypted_value": "c2VjcmV0"})
    broken = call(github, "PUT", f"{REPO}/actions/secrets/S", b"{not json")
    assert missing.status == 422
    assert isinstance(missing.body, dict) and "key_id" in missing.body["message"]
    assert broken.status == 400
    assert isinstance(broken.body, dict) and broken.body["message"] == "Problems parsing JSON"


def test_delete_secret_answers_204_then_404(github: GithubEmulator) -> None:
    """Deleting an existing secret answers 204 and removes it; deleting again answers 404."""
    put_secret(github, REPO, "GONE", "v")
    assert call(github, "DELETE", f"{REPO}/actions/secrets/GONE").status == 204
    assert call(github, "GET", f"{REPO}/actions/secrets/GONE").status == 404
    assert call(github, "DELETE", f"{REPO}/actions/secrets/GONE").status == 404


def test_secret_list_paginates_with_link_header(github: GithubEmulator) -> None:
    """35 secrets: page 1 has the default 30 and next/last links, page 2 the other 5 and prev/first."""
    for index in range(35):
        put_secret(github, REPO, f"S{index:02d}", "v")
    first = call(github, "GET", f"{REPO}/actions/secrets")
    second = call(github, "GET", f"{REPO}/actions/secrets", query={"page": "2"})
    assert isinstance(first.body, dict) and isinstance(second.body, dict)
    assert first.body["total_count"] == 35
    assert [s["name"] for s in first.body["secrets"]] == [f"S{i:02d}" for i in range(30)]
    assert [s["name"] for s in second.body["secrets"]] == [f"S{i:02d}" for i in range(30, 35)]
    assert 'page=2>; rel="next"' in first.headers["link"]
    assert 'rel="last"' in first.headers["link"]
    assert 'rel="prev"' in second.headers["link"] and 'rel="first"' in second.headers["link"]
    assert 'rel="next"' not in second.headers["link"]
    assert first.headers["link"].startswith(f"<http://127.0.0.1:9999{REPO}/actions/secrets?per_page=30")


def test_secret_list_per_page_is_capped_at_100(github: GithubEmulator) -> None:
    """per_page above 100 is treated as 100; a single page has no Link header."""
    for index in range(3):
        put_secret(github, REPO, f"S{index}", "v")
    response = call(github, "GET", f"{REPO}/actions/secrets", query={"per_page": "500"})
    assert isinstance(response.body, dict) and len(response.body["secrets"]) == 3
    assert "link" not in response.headers


# -- variables --------------------------------------------------------------------------------


def test_variable_lifecycle(github: GithubEmulator) -> None:
    """POST creates (201), GET reads, PATCH updates (204), DELETE removes (204)."""
    assert call(github, "POST", f"{REPO}/actions/variables", {"name": "region", "value": "eu"}).status == 201
    got = call(github, "GET", f"{REPO}/actions/variables/REGION").body
    assert isinstance(got, dict) and (got["name"], got["value"]) == ("REGION", "eu")
    assert call(github, "PATCH", f"{REPO}/actions/variables/region", {"value": "us"}).status == 204
    again = call(github, "GET", f"{REPO}/actions/variables/REGION").body
    assert isinstance(again, dict) and again["value"] == "us"
    assert again["updated_at"] > got["updated_at"]
    assert call(github, "DELETE", f"{REPO}/actions/variables/REGION").status == 204
    assert call(github, "GET", f"{REPO}/actions/variables/REGION").status == 404


def test_creating_an_existing_variable_conflicts(github: GithubEmulator) -> None:
    """A second POST of the same name (any case) answers 409 Already exists."""
    call(github, "POST", f"{ENV}/variables", {"name": "MODE", "value": "a"})
    response = call(github, "POST", f"{ENV}/variables", {"name": "mode", "value": "b"})
    assert response.status == 409
    assert isinstance(response.body, dict) and response.body["message"].startswith("Already exists")


def test_patch_renames_and_refuses_taken_names(github: GithubEmulator) -> None:
    """PATCH with a new name renames the variable; renaming onto another variable answers 409."""
    call(github, "POST", f"{REPO}/actions/variables", {"name": "OLD", "value": "1"})
    call(github, "POST", f"{REPO}/actions/variables", {"name": "OTHER", "value": "2"})
    assert call(github, "PATCH", f"{REPO}/actions/variables/OLD", {"name": "NEW"}).status == 204
    assert set(github.snapshot()["repositories"]["example/app"]["variables"]) == {"NEW", "OTHER"}
    assert call(github, "PATCH", f"{REPO}/actions/variables/NEW", {"name": "other"}).status == 409
    assert call(github, "PATCH", f"{REPO}/actions/variables/MISSING", {"value": "x"}).status == 404


def test_variable_validation(github: GithubEmulator) -> None:
    """Bad names, values over 48 KB and missing fields answer 422 and store nothing."""
    path = f"{REPO}/actions/variables"
    assert call(github, "POST", path, {"name": "GITHUB_SHA", "value": "x"}).status == 422
    assert call(github, "POST", path, {"name": "OK", "value": "x" * (48 * 1024 + 1)}).status == 422
    assert call(github, "POST", path, {"name": "OK"}).status == 422
    assert call(github, "POST", path, {"name": "OK", "value": 3}).status == 422
    assert github.snapshot()["repositories"]["example/app"]["variables"] == {}


def test_variable_list_defaults_to_10_and_caps_at_30(github: GithubEmulator) -> None:
    """Variables list 10 per page by default and at most 30 per page, with Link pagination."""
    for index in range(35):
        call(github, "POST", f"{ENV}/variables", {"name": f"V{index:02d}", "value": str(index)})
    default = call(github, "GET", f"{ENV}/variables")
    capped = call(github, "GET", f"{ENV}/variables", query={"per_page": "100", "page": "2"})
    assert isinstance(default.body, dict) and isinstance(capped.body, dict)
    assert len(default.body["variables"]) == 10
    assert 'per_page=10&page=4>; rel="last"' in default.headers["link"]
    assert [v["name"] for v in capped.body["variables"]] == [f"V{i:02d}" for i in range(30, 35)]
    assert capped.body["total_count"] == 35


# -- routing, authentication, headers ---------------------------------------------------------


def test_url_encoded_environment_names(github: GithubEmulator) -> None:
    """An environment named 'staging/eu' is addressed as staging%2Feu."""
    path = f"{REPO}/environments/staging%2Feu/variables"
    assert call(github, "POST", path, {"name": "X", "value": "1"}).status == 201
    assert "X" in github.snapshot()["repositories"]["example/app"]["environments"]["staging/eu"]["variables"]


@pytest.mark.parametrize(
    "path",
    ["/repos/example/other/actions/secrets", f"{REPO}/environments/nowhere/secrets", "/repos/x", "/user"],
)
def test_unknown_repositories_environments_and_routes_are_404(github: GithubEmulator, path: str) -> None:
    """Unknown repositories, environments and routes answer GitHub's 404 'Not Found'."""
    response = call(github, "GET", path)
    assert response.status == 404
    assert isinstance(response.body, dict)
    assert response.body["message"] == "Not Found"
    assert response.body["documentation_url"].startswith("https://docs.github.com/rest")


def test_missing_credentials_require_authentication(github: GithubEmulator) -> None:
    """No Authorization header answers 401 'Requires authentication'."""
    response = call(github, "GET", f"{REPO}/actions/secrets", headers={})
    assert response.status == 401
    assert isinstance(response.body, dict) and response.body["message"] == "Requires authentication"


@pytest.mark.parametrize("header", ["Bearer wrong", "token wrong", "Basic abc", f"Bearer {TOKEN}x"])
def test_bad_credentials(github: GithubEmulator, header: str) -> None:
    """A wrong token answers 401 Bad credentials with GitHub's exact body."""
    response = call(github, "GET", f"{REPO}/actions/secrets", headers={"authorization": header})
    assert response.status == 401
    assert response.body == {
        "message": "Bad credentials",
        "documentation_url": "https://docs.github.com/rest",
        "status": "401",
    }


def test_token_scheme_is_accepted(github: GithubEmulator) -> None:
    """'Authorization: token <token>' works like Bearer."""
    response = call(github, "GET", f"{REPO}/actions/variables", headers={"authorization": f"token {TOKEN}"})
    assert response.status == 200


def test_rate_limit_headers_count_requests(github: GithubEmulator) -> None:
    """Each request uses one from the core budget; the headers say how many remain and when it resets."""
    first = call(github, "GET", f"{REPO}/actions/secrets").headers
    second = call(github, "GET", f"{REPO}/actions/secrets").headers
    assert first["x-ratelimit-limit"] == "5000"
    assert (first["x-ratelimit-used"], second["x-ratelimit-used"]) == ("1", "2")
    assert int(second["x-ratelimit-remaining"]) == int(first["x-ratelimit-remaining"]) - 1
    assert second["x-ratelimit-resource"] == "core"
    assert int(second["x-ratelimit-reset"]) == 1_790_000_000 + 3600


def test_exhausted_rate_limit_answers_403_until_reset(
    github: GithubEmulator, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the limit requests answer 403 with remaining 0; a new window starts after the reset time."""
    monkeypatch.setattr(github_module, "RATE_LIMIT", 2)
    statuses = [call(github, "GET", f"{REPO}/actions/secrets").status for _ in range(3)]
    limited = call(github, "GET", f"{REPO}/actions/secrets")
    assert statuses == [200, 200, 403]
    assert limited.headers["x-ratelimit-remaining"] == "0"
    clock.now += 3601
    assert call(github, "GET", f"{REPO}/actions/secrets").status == 200


def test_unsupported_api_version_is_refused(github: GithubEmulator) -> None:
    """An X-GitHub-Api-Version GitHub does not offer answers 400; 2022-11-28 is accepted."""
    headers = {"authorization": f"Bearer {TOKEN}", "x-github-api-version": "2020-01-01"}
    assert call(github, "GET", f"{REPO}/actions/secrets", headers=headers).status == 400
    headers["x-github-api-version"] = "2022-11-28"
    assert call(github, "GET", f"{REPO}/actions/secrets", headers=headers).status == 200


def test_reset_forgets_values_but_keeps_keys(github: GithubEmulator) -> None:
    """reset() empties every scope while public keys stay valid for clients that cached them."""
    key_before = call(github, "GET", f"{REPO}/actions/secrets/public-key").body
    put_secret(github, REPO, "A", "1")
    call(github, "POST", f"{ENV}/variables", {"name": "B", "value": "2"})
    github.reset()
    assert github.snapshot() == {
        "repositories": {
            "example/app": {
                "secrets": {},
                "variables": {},
                "environments": {
                    "production": {"secrets": {}, "variables": {}},
                    "staging/eu": {"secrets": {}, "variables": {}},
                },
            }
        },
        "issues": {"example/app": {}},
    }
    assert call(github, "GET", f"{REPO}/actions/secrets/public-key").body == key_before


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(max_size=200))
def test_any_unicode_secret_round_trips_through_the_sealed_box(github: GithubEmulator, value: str) -> None:
    """Whatever text a client seals, the emulator stores exactly that text."""
    assert put_secret(github, ENV, "ROUND_TRIP", value).status in (201, 204)
    assert fingerprint(stored_secret(github, "ROUND_TRIP", "production")["value"]) == fingerprint(value)


# -- end to end over real HTTP through the sandbox server --------------------------------------


@pytest.fixture
def gh_session(sandbox: Any) -> requests.Session:
    """A requests session authenticated against the sandbox's GitHub API."""
    session = requests.Session()
    session.headers.update(
        {
            "Authorization": f"Bearer {sandbox.github_token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
    )
    return session


@pytest.mark.sandbox
def test_http_secret_write_reaches_sandbox_state(
    sandbox: Any, sandbox_admin: Any, gh_session: requests.Session
) -> None:
    """A secret sealed and PUT over HTTP is stored decrypted in the sandbox state under the environment."""
    base = f"{sandbox.github_api_url}/repos/{sandbox.github_repository}/environments/production/secrets"
    key = gh_session.get(f"{base}/public-key", timeout=10).json()
    body = {"encrypted_value": encrypt(key["key"], "over-http-value"), "key_id": key["key_id"]}
    response = gh_session.put(f"{base}/WEBHOOK_SECRET", json=body, timeout=10)
    assert response.status_code == 201
    assert int(response.headers["x-ratelimit-remaining"]) < int(response.headers["x-ratelimit-limit"])
    state = sandbox_admin.state()["github"]["repositories"][sandbox.github_repository]
    stored = state["environments"]["production"]["secrets"]["WEBHOOK_SECRET"]["value"]
    assert fingerprint(stored) == fingerprint("over-http-value")
    assert [w["method"] for w in sandbox_admin.writes("github")] == ["PUT"]


@pytest.mark.sandbox
def test_http_link_header_pagination_can_be_followed(sandbox: Any, gh_session: requests.Session) -> None:
    """Following rel=next links over HTTP (requests parses them) visits every variable exactly once."""
    base = f"{sandbox.github_api_url}/repos/{sandbox.github_repository}/actions/variables"
    for index in range(23):
        assert (
            gh_session.post(base, json={"name": f"VAR_{index:02d}", "value": "v"}, timeout=10).status_code
            == 201
        )
    seen: list[str] = []
    url: str | None = f"{base}?per_page=5"
    while url:
        response = gh_session.get(url, timeout=10)
        seen += [v["name"] for v in response.json()["variables"]]
        url = response.links.get("next", {}).get("url")
    assert seen == [f"VAR_{i:02d}" for i in range(23)]


@pytest.mark.sandbox
def test_http_bad_token_is_refused(sandbox: Any) -> None:
    """A wrong token over HTTP answers 401 Bad credentials."""
    url = f"{sandbox.github_api_url}/repos/{sandbox.github_repository}/actions/secrets"
    response = requests.get(url, headers={"Authorization": "Bearer ghp_wrong"}, timeout=10)
    assert response.status_code == 401
    assert response.json()["message"] == "Bad credentials"
