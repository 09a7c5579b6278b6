"""The GitHub emulator's repository and environment objects, over plain HTTP."""

from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.sandbox


def _get(sandbox, path: str, token: str | None = None) -> requests.Response:  # type: ignore[no-untyped-def]
    headers = {
        "Authorization": f"Bearer {token or sandbox.github_token}",
        "Accept": "application/vnd.github+json",
    }
    return requests.get(f"{sandbox.github_api_url}{path}", headers=headers, timeout=5)


def test_the_repository_object_carries_urls_of_the_sandbox(sandbox) -> None:  # type: ignore[no-untyped-def]
    """GET /repos/{owner}/{repo} (any case) answers the repository, its url on the sandbox's own host."""
    response = _get(sandbox, "/repos/Example/App")
    assert response.status_code == 200
    repo = response.json()
    assert repo["full_name"] == "example/app" and repo["default_branch"] == "main"
    assert repo["url"] == f"{sandbox.github_api_url}/repos/example/app"
    assert repo["owner"]["login"] == "example" and repo["permissions"]["admin"] is True
    assert _get(sandbox, "/repos/example/other").status_code == 404
    assert _get(sandbox, "/repos/example/app", token="ghp_wrong").status_code == 401


def test_environments_list_and_get(sandbox) -> None:  # type: ignore[no-untyped-def]
    """The environments list holds production; get answers it by any case; an unknown one is 404."""
    listed = _get(sandbox, "/repos/example/app/environments").json()
    assert listed["total_count"] == 1
    assert [e["name"] for e in listed["environments"]] == ["production"]
    one = _get(sandbox, "/repos/example/app/environments/Production")
    assert one.status_code == 200 and one.json() == listed["environments"][0]
    assert one.json()["url"] == f"{sandbox.github_api_url}/repos/example/app/environments/production"
    missing = _get(sandbox, "/repos/example/app/environments/staging")
    assert missing.status_code == 404 and missing.json()["message"] == "Not Found"
