"""Where each platform's own console shows a target: the links of the report's target rows.

One fact per platform, next to the adapters: the URL of the vendor's dashboard page
for the resource a target names (the Worker, the Pages project, the Convex deployment,
the GitHub environment). Cloudflare pages need the account id, read from
``CLOUDFLARE_ACCOUNT_ID``; without it the account's home page is given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

__all__ = ["CONSOLES", "CONSOLE_VARIABLES", "console_url"]

#: the environment variables a console URL may use
CONSOLE_VARIABLES = ("CLOUDFLARE_ACCOUNT_ID", "GITHUB_REPOSITORY")


def _cloudflare(
    path: Callable[[Mapping[str, Any]], str],
) -> Callable[[Mapping[str, Any], Mapping[str, str]], str]:
    def build(params: Mapping[str, Any], environ: Mapping[str, str]) -> str:
        account = environ.get("CLOUDFLARE_ACCOUNT_ID", "")
        if not account:
            return "https://dash.cloudflare.com/"
        return f"https://dash.cloudflare.com/{quote(account)}/{path(params)}"

    return build


def _convex(params: Mapping[str, Any], environ: Mapping[str, str]) -> str:
    deployment = str(params.get("deployment") or "")
    return (
        f"https://dashboard.convex.dev/d/{quote(deployment)}"
        if deployment
        else "https://dashboard.convex.dev/"
    )


def _github(params: Mapping[str, Any], environ: Mapping[str, str]) -> str:
    repository = str(params.get("repository") or environ.get("GITHUB_REPOSITORY") or "")
    if not repository:
        return "https://github.com/"
    environment = str(params.get("environment") or "")
    if environment:
        return f"https://github.com/{repository}/deployments/{quote(environment)}"
    return f"https://github.com/{repository}/settings/secrets/actions"


#: platform -> (console name, URL builder from the target's parameters and the environment)
CONSOLES: dict[str, tuple[str, Callable[[Mapping[str, Any], Mapping[str, str]], str]]] = {
    "cloudflare-worker": (
        "Cloudflare dashboard",
        _cloudflare(lambda p: f"workers/services/view/{quote(str(p.get('script', '')))}/production"),
    ),
    "cloudflare-pages": (
        "Cloudflare dashboard",
        _cloudflare(lambda p: f"pages/view/{quote(str(p.get('project', '')))}"),
    ),
    "convex": ("Convex dashboard", _convex),
    "github-actions": ("GitHub", _github),
}


def console_url(
    platform: str, params: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[str, str] | None:
    """(console name, URL) of the vendor's page for a target, or None for a platform without one."""
    entry = CONSOLES.get(platform)
    if entry is None:
        return None
    name, build = entry
    return name, build(params, environ)
