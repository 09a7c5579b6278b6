"""The Pages endpoints of the Cloudflare v4 emulator, under ``/accounts/{id}/pages/projects``.

- ``GET|PATCH .../projects/{name}``: the project (8000007 for an unknown name).
- ``GET .../projects/{name}/deployments`` (``env=production|preview``, paged) and
  ``GET .../deployments/{id}``: deployments, newest first.
- ``POST .../projects/{name}/deployments``: a direct upload (``manifest`` part plus files).
- ``POST .../deployments/{id}/rollback``: make an earlier production deployment active.
"""

from __future__ import annotations

from collections.abc import Callable

from deploycheck.sandbox.cloudflare.envelope import (
    ApiError,
    FormPart,
    form_json,
    json_body,
    ok,
    page_args,
    parse_multipart,
)
from deploycheck.sandbox.cloudflare.projects import PROJECT_NOT_FOUND, PagesProject
from deploycheck.sandbox.core import Request, Response

__all__ = ["PagesEndpoints"]

_Handler = Callable[[Request, list[str]], Response]


class PagesEndpoints:
    """The Pages project endpoints, over the emulator's projects."""

    def __init__(self, projects: Callable[[], dict[str, PagesProject]]) -> None:
        self._projects = projects

    def routes(self, project: str) -> list[tuple[str, str, _Handler]]:
        """(method, path regex, handler) of every endpoint here, given the project regex."""
        return [
            ("GET", project, self._get_project),
            ("PATCH", project, self._patch_project),
            ("GET", f"{project}/deployments", self._list_pages_deployments),
            ("POST", f"{project}/deployments", self._direct_upload),
            ("GET", f"{project}/deployments/([^/]+)", self._get_pages_deployment),
            ("POST", f"{project}/deployments/([^/]+)/rollback", self._rollback_pages),
        ]

    def _project(self, name: str) -> PagesProject:
        project = self._projects().get(name)
        if project is None:
            raise ApiError(404, *PROJECT_NOT_FOUND)
        return project

    def _get_project(self, request: Request, params: list[str]) -> Response:
        return ok(self._project(params[0]).as_api())

    def _patch_project(self, request: Request, params: list[str]) -> Response:
        project = self._project(params[0])
        project.patch(json_body(request))
        return ok(project.as_api())

    def _list_pages_deployments(self, request: Request, params: list[str]) -> Response:
        project = self._project(params[0])
        env = request.arg("env")
        if env is not None and env not in ("production", "preview"):
            raise ApiError(400, 8000000, f"env must be production or preview, got {env!r}")
        found = [d for d in reversed(project.deployments) if env is None or d.environment == env]
        page, per_page = page_args(request, 25, 100)
        chunk = found[(page - 1) * per_page : page * per_page]
        info = {
            "page": page,
            "per_page": per_page,
            "count": len(chunk),
            "total_count": len(found),
            "total_pages": max(1, -(-len(found) // per_page)),
        }
        return ok([d.as_api(project.subdomain) for d in chunk], info)

    def _get_pages_deployment(self, request: Request, params: list[str]) -> Response:
        project = self._project(params[0])
        return ok(project.deployment(params[1]).as_api(project.subdomain))

    def _rollback_pages(self, request: Request, params: list[str]) -> Response:
        project = self._project(params[0])
        return ok(project.rollback(params[1]).as_api(project.subdomain))

    def _direct_upload(self, request: Request, params: list[str]) -> Response:
        project = self._project(params[0])
        parts = parse_multipart(request)
        fields = {p.name: p for p in parts if p.filename is None}
        if "manifest" not in fields:
            raise ApiError(400, 8000000, "A direct upload needs a 'manifest' part")
        manifest = form_json(fields["manifest"])
        files = {_site_path(p): p.content for p in parts if p.filename is not None}
        missing = sorted(set(manifest) - set(files))
        if missing:
            raise ApiError(400, 8000000, f"Files in the manifest were not uploaded: {', '.join(missing)}")
        deployment = project.add_deployment(
            branch=_field(fields, "branch") or project.production_branch,
            commit_hash=_field(fields, "commit_hash"),
            commit_message=_field(fields, "commit_message"),
            commit_dirty=_field(fields, "commit_dirty") == "true",
            files=files,
        )
        return ok(deployment.as_api(project.subdomain))


def _site_path(part: FormPart) -> str:
    path = part.filename or part.name
    return path if path.startswith("/") else "/" + path


def _field(fields: dict[str, FormPart], name: str) -> str:
    part = fields.get(name)
    return part.text() if part is not None else ""
