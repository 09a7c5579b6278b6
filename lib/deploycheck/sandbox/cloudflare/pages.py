"""The Pages endpoints of the Cloudflare v4 emulator, under ``/accounts/{id}/pages/projects``.

- ``GET .../projects``: every project (paged), the call a script starts with.
- ``GET|PATCH .../projects/{name}``: the project (8000007 for an unknown name).
- ``GET .../projects/{name}/upload-token``: the JWT of the asset upload
  (:mod:`deploycheck.sandbox.cloudflare.assets`).
- ``GET .../projects/{name}/deployments`` (``env=production|preview``, paged) and
  ``GET .../deployments/{id}``: deployments, newest first.
- ``POST .../projects/{name}/deployments``: a direct upload. The ``manifest`` part maps
  each site path to an asset hash; a path whose file is not a part of the body is taken
  from the asset store (``wrangler pages deploy``), 8000096 when it was never uploaded.
  ``branch`` picks production (the production branch) or a preview with a branch alias.
- ``POST .../deployments/{id}/retry``: a new deployment of the same files and branch.
- ``POST .../deployments/{id}/rollback``: make an earlier production deployment active.
- ``GET .../deployments/{id}/history/logs``: the deployment's log lines.
- ``GET .../projects/{name}/domains`` and ``.../domains/{domain}``: the custom domains
  (8000018 for an unknown one).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from deploycheck.sandbox.cloudflare.assets import AssetStore
from deploycheck.sandbox.cloudflare.envelope import (
    ApiError,
    FormPart,
    form_json,
    iso,
    json_body,
    ok,
    page_of,
    parse_multipart,
)
from deploycheck.sandbox.cloudflare.projects import PROJECT_NOT_FOUND, PagesProject
from deploycheck.sandbox.core import Request, Response

__all__ = ["PagesEndpoints"]

#: parts of a deployment body that configure it rather than being site files
CONFIG_PARTS = frozenset(
    {
        "_headers",
        "_redirects",
        "_routes.json",
        "_worker.js",
        "_worker.bundle",
        "functions-filepath-routing-config.json",
    }
)
ASSET_MISSING = 8000096
DOMAIN_NOT_FOUND = 8000018
_Handler = Callable[[Request, list[str]], Response]


class PagesEndpoints:
    """The Pages project endpoints, over the emulator's projects."""

    def __init__(self, projects: Callable[[], dict[str, PagesProject]], assets: AssetStore) -> None:
        self._projects = projects
        self.assets = assets

    def routes(self, account: str, project: str) -> list[tuple[str, str, _Handler]]:
        """(method, path regex, handler) of every endpoint here, given the account and project regexes."""
        return [
            ("GET", f"{account}/pages/projects", self._list_projects),
            ("GET", f"{project}/upload-token", self._upload_token),
            ("POST", f"{project}/deployments/([^/]+)/retry", self._retry),
            ("GET", f"{project}/deployments/([^/]+)/history/logs", self._logs),
            ("GET", f"{project}/domains", self._list_domains),
            ("GET", f"{project}/domains/([^/]+)", self._get_domain),
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

    def _list_projects(self, request: Request, params: list[str]) -> Response:
        projects = sorted(self._projects().values(), key=lambda p: p.created_on, reverse=True)
        chunk, info = page_of(request, projects, 10, 10)
        return ok([p.as_api() for p in chunk], info)

    def _upload_token(self, request: Request, params: list[str]) -> Response:
        project = self._project(params[0])
        return ok({"jwt": self.assets.issue_token(project.name)})

    def _retry(self, request: Request, params: list[str]) -> Response:
        project = self._project(params[0])
        source = project.deployment(params[1])
        deployment = project.add_deployment(
            branch=source.branch,
            commit_hash=source.commit_hash,
            commit_message=source.commit_message,
            files=source.files,
        )
        return ok(deployment.as_api(project.subdomain))

    def _logs(self, request: Request, params: list[str]) -> Response:
        project = self._project(params[0])
        deployment = project.deployment(params[1])
        lines = [
            {"ts": stage["ended_on"] or stage["started_on"], "line": f"{stage['name']}: {stage['status']}"}
            for stage in deployment.stages()
            if stage["status"] != "idle"
        ]
        if deployment.status == "failure":
            lines.append({"ts": lines[-1]["ts"], "line": "Error: the build failed"})
        return ok({"total": len(lines), "includes_container_logs": False, "data": lines})

    def _list_domains(self, request: Request, params: list[str]) -> Response:
        project = self._project(params[0])
        domains = [_domain(project, name) for name in project.custom_domains]
        info = {"page": 1, "per_page": 100, "count": len(domains), "total_count": len(domains)}
        return ok(domains, info)

    def _get_domain(self, request: Request, params: list[str]) -> Response:
        project = self._project(params[0])
        if params[1] not in project.custom_domains:
            message = f"The domain {params[1]!r} is not a domain of {project.name}"
            raise ApiError(404, DOMAIN_NOT_FOUND, message)
        return ok(_domain(project, params[1]))

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
        chunk, info = page_of(request, found, 25, 100)
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
        files = {
            _site_path(p): p.content for p in parts if p.filename is not None and p.name not in CONFIG_PARTS
        }
        with self.assets.lock:
            for path, digest in manifest.items():
                asset = self.assets.assets.get(digest) if isinstance(digest, str) else None
                if _site_path_of(path) not in files and asset is not None:
                    files[_site_path_of(path)] = asset.content
        missing = sorted(p for p in manifest if _site_path_of(p) not in files)
        if missing:
            raise ApiError(
                400, ASSET_MISSING, f"Files in the manifest were never uploaded: {', '.join(missing[:10])}"
            )
        deployment = project.add_deployment(
            branch=_field(fields, "branch") or project.production_branch,
            commit_hash=_field(fields, "commit_hash"),
            commit_message=_field(fields, "commit_message"),
            commit_dirty=_field(fields, "commit_dirty") == "true",
            files=files,
        )
        return ok(deployment.as_api(project.subdomain))


def _domain(project: PagesProject, name: str) -> dict[str, object]:
    digest = hashlib.sha256(f"{project.name}/{name}".encode()).hexdigest()
    return {
        "id": f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}",
        "name": name,
        "certificate_authority": "google",
        "created_on": iso(project.created_on),
        "domain_id": digest[32:64],
        "zone_tag": digest[:32],
        "status": "active",
        "validation_data": {"method": "http", "status": "active"},
        "verification_data": {"status": "active"},
    }


def _site_path(part: FormPart) -> str:
    return _site_path_of(part.filename or part.name)


def _site_path_of(path: str) -> str:
    return path if path.startswith("/") else "/" + path


def _field(fields: dict[str, FormPart], name: str) -> str:
    part = fields.get(name)
    return part.text() if part is not None else ""
