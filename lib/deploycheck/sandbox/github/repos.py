"""The repository and environment objects of the GitHub emulator.

- ``GET /repos/{owner}/{repo}``: the repository (a default PyGithub script's first call,
  ``Github().get_repo(...)``, which then builds every further URL from the object's ``url``).
- ``GET /repos/{owner}/{repo}/environments``: ``{total_count, environments}``, paged.
- ``GET /repos/{owner}/{repo}/environments/{name}``: one environment.

URLs in the objects are built from the request's ``Host``, so a client pointed at the
sandbox stays on it. Names are matched case-insensitively, as GitHub does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from deploycheck.sandbox.core import Request, Response, json_response
from deploycheck.sandbox.github.store import link_header, page_slice

__all__ = ["RepositoryFacts", "answer_repository_request"]

_CREATED = "2024-01-15T09:30:00Z"
_UPDATED = "2026-11-20T12:00:00Z"
_DOCS = "https://docs.github.com/rest"


@dataclass(frozen=True)
class RepositoryFacts:
    """What the repository object shows: its full name and its environments' names."""

    full_name: str
    environments: tuple[str, ...]


def _number(name: str) -> int:
    """A stable positive id derived from ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") & 0x3FFFFFFF


def _not_found(docs: str) -> Response:
    return json_response(404, {"message": "Not Found", "documentation_url": docs, "status": "404"})


def _base(request: Request) -> str:
    host = request.header("host")
    return f"http://{host}" if host else "https://api.github.com"


def repository_object(facts: RepositoryFacts, base: str) -> dict[str, Any]:
    """The full repository object GitHub returns for ``GET /repos/{owner}/{repo}``."""
    owner, name = facts.full_name.split("/", 1)
    url = f"{base}/repos/{facts.full_name}"
    owner_url = f"{base}/users/{owner}"
    html = f"https://github.com/{facts.full_name}"
    return {
        "id": _number(facts.full_name),
        "node_id": "R_" + hashlib.sha1(facts.full_name.encode(), usedforsecurity=False).hexdigest()[:16],
        "name": name,
        "full_name": facts.full_name,
        "private": True,
        "owner": {
            "login": owner,
            "id": _number(owner),
            "node_id": "O_" + hashlib.sha1(owner.encode(), usedforsecurity=False).hexdigest()[:16],
            "avatar_url": f"https://avatars.githubusercontent.com/u/{_number(owner)}?v=4",
            "url": owner_url,
            "html_url": f"https://github.com/{owner}",
            "type": "Organization",
            "site_admin": False,
        },
        "html_url": html,
        "description": "The reference app deployed by deploycheck",
        "fork": False,
        "url": url,
        "hooks_url": f"{url}/hooks",
        "issues_url": f"{url}/issues{{/number}}",
        "pulls_url": f"{url}/pulls{{/number}}",
        "deployments_url": f"{url}/deployments",
        "git_url": f"git://github.com/{facts.full_name}.git",
        "ssh_url": f"git@github.com:{facts.full_name}.git",
        "clone_url": f"{html}.git",
        "created_at": _CREATED,
        "updated_at": _UPDATED,
        "pushed_at": _UPDATED,
        "homepage": "https://app.example.com",
        "size": 1024,
        "stargazers_count": 0,
        "watchers_count": 0,
        "language": "TypeScript",
        "has_issues": True,
        "has_projects": False,
        "has_wiki": False,
        "has_pages": False,
        "has_discussions": False,
        "forks_count": 0,
        "archived": False,
        "disabled": False,
        "open_issues_count": 0,
        "license": None,
        "allow_forking": False,
        "is_template": False,
        "topics": [],
        "visibility": "private",
        "forks": 0,
        "open_issues": 0,
        "watchers": 0,
        "default_branch": "main",
        "permissions": {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True},
        "network_count": 0,
        "subscribers_count": 1,
    }


def environment_object(facts: RepositoryFacts, name: str, base: str) -> dict[str, Any]:
    """One environment as ``GET .../environments/{name}`` returns it."""
    return {
        "id": _number(f"{facts.full_name}/{name}"),
        "node_id": "EN_"
        + hashlib.sha1(f"{facts.full_name}/{name}".encode(), usedforsecurity=False).hexdigest()[:16],
        "name": name,
        "url": f"{base}/repos/{facts.full_name}/environments/{quote(name, safe='')}",
        "html_url": f"https://github.com/{facts.full_name}/deployments/activity_log?environments_filter={quote(name)}",
        "created_at": _CREATED,
        "updated_at": _UPDATED,
        "can_admins_bypass": True,
        "protection_rules": [],
        "deployment_branch_policy": None,
    }


def answer_repository_request(
    request: Request, repositories: Mapping[str, RepositoryFacts]
) -> Response | None:
    """The answer to a repository or environment object request, or None for other paths.

    ``repositories`` maps lowercased full names to their facts.
    """
    parts = tuple(request.path.strip("/").split("/"))
    if not 3 <= len(parts) <= 5 or parts[0] != "repos" or request.method.upper() != "GET":
        return None
    if len(parts) >= 4 and parts[3] != "environments":
        return None
    facts = repositories.get(f"{unquote(parts[1])}/{unquote(parts[2])}".lower())
    base = _base(request)
    if len(parts) == 3:
        docs = f"{_DOCS}/repos/repos#get-a-repository"
        return json_response(200, repository_object(facts, base)) if facts else _not_found(docs)
    if len(parts) == 4:
        return _environments(request, facts, base)
    docs = f"{_DOCS}/deployments/environments#get-an-environment"
    wanted = unquote(parts[4]).lower()
    name = next((n for n in (facts.environments if facts else ()) if n.lower() == wanted), None)
    if facts is None or name is None:
        return _not_found(docs)
    return json_response(200, environment_object(facts, name, base))


def _environments(request: Request, facts: RepositoryFacts | None, base: str) -> Response:
    if facts is None:
        return _not_found(f"{_DOCS}/deployments/environments#list-environments")
    page, per_page = page_slice(request.arg("page"), request.arg("per_page"), 30, 100)
    names = sorted(facts.environments, key=str.lower)
    chosen = names[(page - 1) * per_page : page * per_page]
    body = {"total_count": len(names), "environments": [environment_object(facts, n, base) for n in chosen]}
    link = link_header(f"{base}{request.path}", page, per_page, len(names))
    return json_response(200, body, {"link": link} if link else None)
