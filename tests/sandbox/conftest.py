"""Fixtures of the sandbox tests: a bare Cloudflare API client bound to the sandbox."""

from __future__ import annotations

from typing import Any

import pytest
import requests


class CloudflareClient:
    """Sends requests to the sandbox's Cloudflare API with its token and account."""

    def __init__(self, info: Any) -> None:
        self.info = info
        self.base = info.cloudflare_api_base_url
        self.account = f"{self.base}/accounts/{info.cloudflare_account_id}"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {info.cloudflare_api_token}"

    def script(self, name: str = "log-ingestion") -> str:
        """The URL of a Worker script."""
        return f"{self.account}/workers/scripts/{name}"

    def project(self, name: str = "app-web") -> str:
        """The URL of a Pages project."""
        return f"{self.account}/pages/projects/{name}"

    def call(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send a request (5 s timeout)."""
        kwargs.setdefault("timeout", 5)
        return self.session.request(method, url, **kwargs)

    def result(self, method: str, url: str, **kwargs: Any) -> Any:
        """Send a request that must succeed; its ``result``."""
        response = self.call(method, url, **kwargs)
        body = response.json()
        assert response.status_code == 200, body
        assert body["success"] is True, body
        assert body["errors"] == []
        return body["result"]

    def error(self, method: str, url: str, **kwargs: Any) -> tuple[int, int, str]:
        """Send a request that must fail; (HTTP status, first error code, its message)."""
        response = self.call(method, url, **kwargs)
        body = response.json()
        assert body["success"] is False, body
        assert body["result"] is None
        return response.status_code, body["errors"][0]["code"], body["errors"][0]["message"]

    def put_secret(self, name: str, text: str, script: str = "log-ingestion") -> Any:
        """Put one Worker secret the way wrangler does."""
        return self.result("PUT", f"{self.script(script)}/secrets", json={"name": name, "text": text, "type": "secret_text"})

    def deployments(self, script: str = "log-ingestion") -> list[dict[str, Any]]:
        """The Worker's deployments, newest first."""
        return self.result("GET", f"{self.script(script)}/deployments")["deployments"]

    def versions(self, script: str = "log-ingestion") -> list[dict[str, Any]]:
        """The Worker's versions, newest first (first page of 100)."""
        return self.result("GET", f"{self.script(script)}/versions", params={"per_page": 100})["items"]


@pytest.fixture
def cf(sandbox: Any) -> CloudflareClient:
    """A Cloudflare API client of the (reset) sandbox."""
    return CloudflareClient(sandbox)
