"""The GitHub Actions adapter against recorded REST API payloads."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import responses
from nacl import public

from deploycheck.errors import AuthError, ConfigError, PlatformError
from deploycheck.platforms.base import ConfigPlatform, VarChange
from deploycheck.platforms.github_actions import GithubActionsPlatform, seal
from deploycheck.redact import fingerprint

from .conftest import GITHUB_ENV, FakeTime

Recorded = Callable[[str], responses.RequestsMock]


@pytest.fixture
def github(fake_time: FakeTime) -> GithubActionsPlatform:
    """The production environment of example/app."""
    adapter = GithubActionsPlatform.from_environ(
        repository="example/app",
        environment="production",
        environ={"GITHUB_TOKEN": "ghp_unit_test_token_123"},
    )
    fake_time.install(adapter.client)
    return adapter


@pytest.fixture
def keypair(mocked: responses.RequestsMock) -> public.PrivateKey:
    """A fresh key pair whose public half the mocked API hands out."""
    private = public.PrivateKey.generate()
    key = base64.b64encode(bytes(private.public_key)).decode()
    mocked.get(f"{GITHUB_ENV}/secrets/public-key", json={"key_id": "kid-1", "key": key})
    return private


def _open(private: public.PrivateKey, body: bytes | str) -> str:
    data = json.loads(body)
    return public.SealedBox(private).decrypt(base64.b64decode(data["encrypted_value"])).decode()


def test_meets_protocol(github: GithubActionsPlatform) -> None:
    """The GitHub adapter is a ConfigPlatform."""
    assert isinstance(github, ConfigPlatform)


def test_read_config_follows_links(github: GithubActionsPlatform, recorded: Recorded) -> None:
    """Secrets and variables are read across Link rel=next pages, names upper-cased."""
    rsps = recorded("github_actions")
    state = github.read_config()
    assert state.requests == 4
    assert sorted(state.vars) == [
        "APP_URL",
        "CLOUDFLARE_API_TOKEN",
        "CONVEX_DEPLOY_KEY",
        "SENTRY_AUTH_TOKEN",
        "WORKER_URL",
    ]
    assert state.vars["CONVEX_DEPLOY_KEY"].marker == "2026-08-11T14:59:22Z"
    assert state.vars["SENTRY_AUTH_TOKEN"].value is None
    assert state.vars["WORKER_URL"].value == "https://log-ingestion.example.workers.dev"
    headers = rsps.calls[0].request.headers
    assert headers["Accept"] == "application/vnd.github+json"
    assert headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert headers["Authorization"] == "Bearer ghp_unit_test_token_123"
    assert "per_page=100" in rsps.calls[0].request.url or "per_page=30" in rsps.calls[0].request.url


def test_seal_matches_docs() -> None:
    """seal() produces a sealed box the private key opens."""
    private = public.PrivateKey.generate()
    sealed = seal(base64.b64encode(bytes(private.public_key)).decode(), "s3cr3t-välue")
    assert public.SealedBox(private).decrypt(base64.b64decode(sealed)).decode() == "s3cr3t-välue"


def test_put_secret_is_sealed(
    github: GithubActionsPlatform, mocked: responses.RequestsMock, keypair: public.PrivateKey
) -> None:
    """A secret PUT carries the key id and a sealed box of the value."""
    mocked.put(f"{GITHUB_ENV}/secrets/API_KEY", status=201)
    mocked.get(
        f"{GITHUB_ENV}/secrets?per_page=100",
        json={"total_count": 1, "secrets": [{"name": "API_KEY", "created_at": "t0", "updated_at": "t1"}]},
    )
    result = github.apply_config([VarChange("api_key", "add", "value-for-api-key", secret=True)])
    assert result.ok and result.markers == {"api_key": "t1"}
    put = next(c.request for c in mocked.calls if c.request.method == "PUT")
    assert json.loads(put.body)["key_id"] == "kid-1"
    assert fingerprint(_open(keypair, put.body)) == fingerprint("value-for-api-key")


def test_variables_post_patch_delete(github: GithubActionsPlatform, mocked: responses.RequestsMock) -> None:
    """add POSTs, change PATCHes, remove DELETEs; no public key is fetched without secrets."""
    mocked.post(f"{GITHUB_ENV}/variables", status=201)
    mocked.patch(f"{GITHUB_ENV}/variables/B", status=204)
    mocked.delete(f"{GITHUB_ENV}/variables/C", status=204)
    result = github.apply_config(
        [
            VarChange("A", "add", "1", secret=False),
            VarChange("B", "change", "2", secret=False),
            VarChange("C", "remove", None, secret=False),
        ]
    )
    assert result.ok and set(result.applied) == {"A", "B", "C"}
    assert sorted(c.request.method for c in mocked.calls) == ["DELETE", "PATCH", "POST"]
    post = next(c.request for c in mocked.calls if c.request.method == "POST")
    assert json.loads(post.body) == {"name": "A", "value": "1"}


def test_add_existing_variable_falls_back_to_patch(
    github: GithubActionsPlatform, mocked: responses.RequestsMock
) -> None:
    """POSTing a variable that exists (409) is followed by a PATCH."""
    mocked.post(f"{GITHUB_ENV}/variables", status=409, json={"message": "Already exists"})
    mocked.patch(f"{GITHUB_ENV}/variables/A", status=204)
    assert github.apply_config([VarChange("A", "add", "1", secret=False)]).ok
    assert [c.request.method for c in mocked.calls] == ["POST", "PATCH"]


def test_change_missing_variable_creates_it(
    github: GithubActionsPlatform, mocked: responses.RequestsMock
) -> None:
    """PATCHing a missing variable (404) is followed by a POST."""
    mocked.patch(f"{GITHUB_ENV}/variables/A", status=404, json={"message": "Not Found"})
    mocked.post(f"{GITHUB_ENV}/variables", status=201)
    assert github.apply_config([VarChange("A", "change", "1", secret=False)]).ok
    assert [c.request.method for c in mocked.calls] == ["PATCH", "POST"]


def test_variable_post_not_retried_on_500(
    github: GithubActionsPlatform, mocked: responses.RequestsMock
) -> None:
    """A 5xx on a variable POST is a per-name failure, not repeated."""
    mocked.post(f"{GITHUB_ENV}/variables", status=502, json={"message": "Server Error"})
    result = github.apply_config([VarChange("A", "add", "1", secret=False)])
    assert not result.ok and "not retried" in result.failed["A"]
    assert len(mocked.calls) == 1


def test_failures_collected_per_name(
    github: GithubActionsPlatform, mocked: responses.RequestsMock, keypair: public.PrivateKey
) -> None:
    """One failing secret does not stop the others; its error names it without the value."""
    mocked.put(f"{GITHUB_ENV}/secrets/GOOD", status=204)
    mocked.put(f"{GITHUB_ENV}/secrets/BAD", status=422, json={"message": "Invalid request."})
    mocked.get(f"{GITHUB_ENV}/secrets?per_page=100", json={"total_count": 0, "secrets": []})
    result = github.apply_config(
        [
            VarChange("GOOD", "change", "good-value-1", secret=True),
            VarChange("BAD", "change", "bad-value-22", secret=True),
        ]
    )
    assert result.applied == ("GOOD",)
    assert "put secret BAD" in result.failed["BAD"] and "bad-value" not in result.failed["BAD"]


def test_writes_run_at_most_four_at_a_time(
    github: GithubActionsPlatform, mocked: responses.RequestsMock, keypair: public.PrivateKey
) -> None:
    """Secret writes run concurrently, never more than four in flight."""
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def slow(request: Any) -> tuple[int, dict[str, str], str]:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return 204, {}, ""

    for i in range(10):
        mocked.add_callback(responses.PUT, f"{GITHUB_ENV}/secrets/S{i}", callback=slow)
    mocked.get(f"{GITHUB_ENV}/secrets?per_page=100", json={"total_count": 0, "secrets": []})
    result = github.apply_config([VarChange(f"S{i}", "add", f"value-{i}", secret=True) for i in range(10)])
    assert result.ok
    assert 1 < state["peak"] <= 4


def test_delete_absent_secret_is_fine(github: GithubActionsPlatform, mocked: responses.RequestsMock) -> None:
    """Deleting a secret that is already gone is not a failure."""
    mocked.delete(f"{GITHUB_ENV}/secrets/GONE", status=404, json={"message": "Not Found"})
    assert github.apply_config([VarChange("GONE", "remove", None, secret=True)]).ok


def test_401_says_check_token(github: GithubActionsPlatform, mocked: responses.RequestsMock) -> None:
    """A 401 names GITHUB_TOKEN."""
    mocked.get(f"{GITHUB_ENV}/variables?per_page=30", status=401, json={"message": "Bad credentials"})
    with pytest.raises(AuthError, match="Bad credentials") as info:
        github.read_config()
    assert info.value.hint == "check GITHUB_TOKEN (bad credentials)"


def test_link_to_other_origin_refused(github: GithubActionsPlatform, mocked: responses.RequestsMock) -> None:
    """A next link to another host is not followed with the token."""
    mocked.get(
        f"{GITHUB_ENV}/variables?per_page=30",
        json={"total_count": 60, "variables": []},
        headers={"Link": '<https://attacker.example/x?page=2>; rel="next"'},
    )
    with pytest.raises(PlatformError, match="refusing"):
        github.list_variables()
    assert len(mocked.calls) == 1


def test_repository_variant_paths(mocked: responses.RequestsMock) -> None:
    """Without an environment the repository-level endpoints are used."""
    adapter = GithubActionsPlatform.from_environ(repository="example/app", environ={"GITHUB_TOKEN": "t"})
    mocked.get(
        "https://api.github.com/repos/example/app/actions/variables?per_page=30", json={"variables": []}
    )
    mocked.get("https://api.github.com/repos/example/app/actions/secrets?per_page=100", json={"secrets": []})
    assert adapter.read_config().vars == {}


def test_missing_token_and_bad_repository() -> None:
    """A missing GITHUB_TOKEN and a malformed repository are configuration errors."""
    with pytest.raises(ConfigError, match="GITHUB_TOKEN"):
        GithubActionsPlatform.from_environ(repository="example/app", environ={})
    with pytest.raises(ConfigError, match="owner/name"):
        GithubActionsPlatform.from_environ(repository="example", environ={"GITHUB_TOKEN": "t"})
