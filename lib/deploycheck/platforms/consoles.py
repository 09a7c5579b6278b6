"""Builders of vendor console links: where a platform's own console shows a target.

Each platform's spec names its console (``PlatformSpec.console``, built with these
helpers): the URL of the vendor's dashboard page for the resource a target names (the
Worker, the Pages project, the Convex deployment, the GitHub environment), from the
target's parameters and the environment. Cloudflare pages need the account id, read from
``CLOUDFLARE_ACCOUNT_ID``; without it the account's home page is given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

__all__ = ["CONSOLE_VARIABLES", "Console", "cloudflare_console", "convex_console", "github_console"]

#: the environment variables a console URL may use
CONSOLE_VARIABLES = ("CLOUDFLARE_ACCOUNT_ID", "GITHUB_REPOSITORY")


#: (console name, URL) of a target's page, from its parameters and the environment
Console = Callable[[Mapping[str, Any], Mapping[str, str]], tuple[str, str]]


def cloudflare_console(path: Callable[[Mapping[str, Any]], str]) -> Console:
    """The Cloudflare dashboard page ``path(params)`` of the account in ``CLOUDFLARE_ACCOUNT_ID``."""

    def build(params: Mapping[str, Any], environ: Mapping[str, str]) -> tuple[str, str]:
        account = environ.get("CLOUDFLARE_ACCOUNT_ID", "")
        if not account:
            return "Cloudflare dashboard", "https://dash.cloudflare.com/"
        return "Cloudflare dashboard", f"https://dash.cloudflare.com/{quote(account)}/{path(params)}"

    return build


def convex_console(params: Mapping[str, Any], environ: Mapping[str, str]) -> tuple[str, str]:
    """The Convex dashboard page of the target's deployment."""
    deployment = str(params.get("deployment") or "")
    url = f"https://dashboard.convex.dev/d/{quote(deployment)}" if deployment else "https://dashboard.convex.dev/"
    return "Convex dashboard", url


def github_console(params: Mapping[str, Any], environ: Mapping[str, str]) -> tuple[str, str]:
    """The GitHub page of the target's environment, or of the repository's Actions secrets."""
    repository = str(params.get("repository") or environ.get("GITHUB_REPOSITORY") or "")
    if not repository:
        return "GitHub", "https://github.com/"
    environment = str(params.get("environment") or "")
    if environment:
        return "GitHub", f"https://github.com/{repository}/deployments/{quote(environment)}"
    return "GitHub", f"https://github.com/{repository}/settings/secrets/actions"
