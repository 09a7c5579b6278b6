"""Cloudflare Pages: a project's env vars for one stage, its deployments, and rollback.

Env vars live in ``deployment_configs.<stage>.env_vars`` of the project (one GET reads
them all). ``secret_text`` values come back as ``""``, so they are read as
``RemoteVar(value=None, secret=True)``. Changes go out in one PATCH of the project
(null deletes, keys left out are kept) echoing ``wrangler_config_hash`` as wrangler
does; the PATCH carries explicit values, so it is retried like an idempotent request. Its
documented answer is the updated project: a change counts only when that project shows
it (each written name with its type, each removed name gone, plain values equal); a
success without a project raises MalformedResponse, and names it does not show are
returned unconfirmed.
Rollback is ``POST .../deployments/{id}/rollback`` with ``{}`` and is never retried on
5xx or timeout.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from deploycheck.http import HttpSettings
from deploycheck.platforms.base import ApplyResult, ConfigState, Deployment, RemoteVar, VarChange
from deploycheck.platforms.cloudflare.api import CloudflareAdapter, CloudflareApi, cloudflare_api
from deploycheck.platforms.cloudflare.history import PAGES_HISTORY
from deploycheck.platforms.consoles import cloudflare_console
from deploycheck.platforms.dotenv_readers import NEXT_ENV, NODE_DOTENV
from deploycheck.platforms.params import param_error, param_path
from deploycheck.platforms.spec import Limits, OpenRequest, PlatformSpec

__all__ = ["CloudflarePagesPlatform"]

STAGES = ("production", "preview")


def _deployment(item: Mapping[str, Any], active_id: str | None) -> Deployment:
    trigger = item.get("deployment_trigger") or {}
    metadata = trigger.get("metadata") or {}
    stage = item.get("latest_stage") or {}
    return Deployment(
        id=str(item.get("id")),
        created_on=str(item.get("created_on", "")),
        active=active_id is not None and item.get("id") == active_id,
        status=str(stage.get("status", "unknown")),
        commit=metadata.get("commit_hash"),
        url=item.get("url"),
        message=metadata.get("commit_message"),
        extra={
            "environment": item.get("environment"),
            "short_id": item.get("short_id"),
            "branch": metadata.get("branch"),
            "aliases": tuple(item.get("aliases") or ()),
            "stage": stage.get("name"),
            "trigger": trigger.get("type"),
            "env_vars": item.get("env_vars"),
        },
    )


def _not_shown(change: VarChange, shown: Any) -> str:
    """Why the project returned by the PATCH does not show ``change`` ("" when it does)."""
    if change.action == "remove":
        return "" if not isinstance(shown, dict) else "the updated project still holds it"
    kind = "secret_text" if change.secret else "plain_text"
    if not isinstance(shown, dict) or shown.get("type") != kind:
        return f"the updated project does not hold it as {kind}"
    if not change.secret and shown.get("value") != (change.value or ""):
        return "the updated project holds another value"
    return ""


class CloudflarePagesPlatform(CloudflareAdapter):
    """The env vars of one stage (production or preview) of a Pages project, and its deployments.

    Extra methods: :meth:`project`, :meth:`active_deployment`, :meth:`get_deployment`.
    """

    platform = "cloudflare-pages"
    #: who reads this platform's local file (``local_file``) besides deploycheck
    LOCAL_READERS: tuple[str, ...] = (NODE_DOTENV, NEXT_ENV)

    def __init__(
        self,
        api: CloudflareApi,
        *,
        project: str,
        stage: str = "production",
        target: str = "NEXTJS",
        env: str = "",
    ) -> None:
        if stage not in STAGES:
            msg = f"unknown Pages stage {stage!r}; valid: {', '.join(STAGES)}."
            raise param_error(target, env, "stage", msg)
        self.api = api
        self.project = project
        self.stage = stage
        self.resource = f"{project}/{stage}"
        self.target = target
        self.env = env
        #: deployments read per page when listing
        self.per_page = 25
        self._install_hints()

    @classmethod
    def from_environ(
        cls,
        *,
        project: str,
        stage: str,
        environ: Mapping[str, str],
        target: str = "NEXTJS",
        env: str = "",
        settings: HttpSettings | None = None,
    ) -> CloudflarePagesPlatform:
        """Build the adapter from CLOUDFLARE_* variables in ``environ``."""
        api = cloudflare_api(
            platform=cls.platform, environ=environ, hint=lambda s, c, o: "", settings=settings
        )
        return cls(api, project=project, stage=stage, target=target, env=env)

    def _own_hint(self, status: int | None, code: str | int | None, operation: str) -> str:
        if status == 404 or code == 8000007:
            where = param_path(self.target, self.env, "project")
            return f"check {where} (project {self.project!r} or the deployment was not found)"
        if status == 403:
            needed = "Edit" if "read" not in operation and "list" not in operation else "Read"
            return f"token lacks Cloudflare Pages:{needed}"
        return ""

    @property
    def _path(self) -> str:
        return f"/pages/projects/{quote(self.project, safe='')}"

    def project_info(self) -> dict[str, Any]:
        """The project object (deployment configs, canonical and latest deployment, ...)."""
        result = self.api.call("GET", self._path, operation="read pages project")
        if not isinstance(result, dict):
            raise self.api.client.malformed("read pages project", "result is not an object")
        return result

    def _stage_config(self, project: Mapping[str, Any]) -> Mapping[str, Any]:
        configs = project.get("deployment_configs") or {}
        config = configs.get(self.stage) if isinstance(configs, dict) else None
        return config if isinstance(config, dict) else {}

    def read_config(self) -> ConfigState:
        """Every env var of the stage with one request; the marker is the active deployment id."""
        before = self.requests
        project = self.project_info()
        found: dict[str, RemoteVar] = {}
        for name, entry in (self._stage_config(project).get("env_vars") or {}).items():
            if not isinstance(entry, dict):
                continue  # null entries are deleted vars
            if entry.get("type") == "secret_text":
                found[name] = RemoteVar(name, None, secret=True)
            else:
                found[name] = RemoteVar(name, str(entry.get("value", "")), secret=False)
        canonical = project.get("canonical_deployment") or {}
        marker = canonical.get("id") if isinstance(canonical, dict) else None
        return ConfigState(
            self.platform, self.resource, found, marker=marker, requests=self.requests - before
        )

    def apply_config(self, changes: Sequence[VarChange]) -> ApplyResult:
        """Apply every change in one PATCH (after one GET for ``wrangler_config_hash``)."""
        if not changes:
            return ApplyResult(applied=())
        project = self.project_info()
        env_vars: dict[str, Any] = {}
        for change in changes:
            if change.action == "remove":
                env_vars[change.name] = None
            else:
                kind = "secret_text" if change.secret else "plain_text"
                env_vars[change.name] = {"type": kind, "value": change.value or ""}
        stage_body: dict[str, Any] = {"env_vars": env_vars}
        config_hash = self._stage_config(project).get("wrangler_config_hash")
        if config_hash is not None:
            stage_body["wrangler_config_hash"] = config_hash
        result = self.api.call(
            "PATCH",
            self._path,
            operation="update pages env vars",
            json={"deployment_configs": {self.stage: stage_body}},
            idempotent=True,
        )
        if not isinstance(result, dict) or not isinstance(self._stage_config(result).get("env_vars"), dict):
            shown = "null" if result is None else type(result).__name__
            raise self.api.client.malformed(
                "update pages env vars", f"success without the updated project (got {shown}); not applied"
            )
        canonical = result.get("canonical_deployment")
        marker = canonical.get("id") if isinstance(canonical, dict) else None
        shown_vars = self._stage_config(result)["env_vars"]
        unconfirmed = {c.name: why for c in changes if (why := _not_shown(c, shown_vars.get(c.name)))}
        return ApplyResult(applied=tuple(c.name for c in changes), marker=marker, unconfirmed=unconfirmed)

    # -- deployments --------------------------------------------------------------------------------

    def _list_raw(self) -> list[Any]:
        return self.api.paged(
            f"{self._path}/deployments",
            operation="list pages deployments",
            items=lambda result: list(result or []),
            params={"env": self.stage},
            per_page=self.per_page,
        )

    def active_deployment(self) -> Deployment | None:
        """The deployment serving the stage: the canonical one, else the latest successful one."""
        project = self.project_info()
        canonical = project.get("canonical_deployment")
        if self.stage == "production" and isinstance(canonical, dict) and canonical.get("id"):
            return _deployment(canonical, str(canonical["id"]))
        for item in self._list_raw():
            if (item.get("latest_stage") or {}).get("status") == "success":
                return _deployment(item, str(item.get("id")))
        return None

    def list_deployments(self) -> list[Deployment]:
        """Deployments of the stage, newest first; the canonical one has ``active=True``."""
        project = self.project_info()
        canonical = project.get("canonical_deployment")
        active_id = (
            canonical.get("id") if isinstance(canonical, dict) and self.stage == "production" else None
        )
        items = sorted(self._list_raw(), key=lambda d: str(d.get("created_on", "")), reverse=True)
        if active_id is None:
            latest = next(
                (d for d in items if (d.get("latest_stage") or {}).get("status") == "success"), None
            )
            active_id = latest.get("id") if latest else None
        return [_deployment(item, active_id) for item in items]

    def get_deployment(self, deployment_id: str) -> Deployment:
        """One deployment by id (``active`` is not set: use :meth:`active_deployment`)."""
        result = self.api.call(
            "GET",
            f"{self._path}/deployments/{quote(deployment_id, safe='')}",
            operation=f"read pages deployment {deployment_id}",
        )
        if not isinstance(result, dict):
            raise self.api.client.malformed("read pages deployment", "result is not an object")
        return _deployment(result, None)

    def roll_back(self, to: str, *, force: bool = False, message: str = "Rollback") -> Deployment:
        """Make the production deployment ``to`` live again (never retried on 5xx or timeout).

        ``force`` and ``message`` are accepted for the DeploymentPlatform protocol; Pages
        has no such options.
        """
        result = self.api.call(
            "POST",
            f"{self._path}/deployments/{quote(to, safe='')}/rollback",
            operation=f"roll back pages to {to}",
            json={},
            idempotent=False,
        )
        if not isinstance(result, dict):
            raise self.api.client.malformed("roll back pages", "result is not a deployment")
        return _deployment(result, str(result.get("id")))


def _open(request: OpenRequest) -> CloudflarePagesPlatform:
    return CloudflarePagesPlatform.from_environ(
        project=request.require("project"),
        stage=str(request.params.get("stage") or "production"),
        environ=request.environ,
        target=request.target,
        env=request.env,
    )


def _remove_hint(resource: str, key: str, secret: bool) -> str | None:
    """``wrangler pages secret delete`` for a secret (it PATCHes ``env_vars.KEY: null`` of the
    stage its hidden global ``--env`` names, production by default); plain variables have no
    wrangler command."""
    if not secret:
        return None
    project, _, stage = resource.partition("/")
    words = ["npx", "wrangler", "pages", "secret", "delete", key, "--project-name", project]
    return shlex.join([*words, "--env", stage or "production"])


SPEC = PlatformSpec(
    name="cloudflare-pages",
    label="Cloudflare Pages",
    short_label="Pages",
    aliases=("pages",),
    environment_prefixes=CloudflarePagesPlatform.ENVIRONMENT_PREFIXES,
    local_readers=CloudflarePagesPlatform.LOCAL_READERS,
    factory=_open,
    resource_key="project",
    typed_stores=True,
    # Pages: 5 KB per variable, 128 variables and secrets per project environment
    limits=Limits(
        max_value_bytes=5 * 1024,
        reserved=("CF_PAGES", "CF_PAGES_BRANCH", "CF_PAGES_COMMIT_SHA", "CF_PAGES_URL"),
        max_keys=128,
    ),
    remove_hint=_remove_hint,
    console=cloudflare_console(lambda p: f"pages/view/{quote(str(p.get('project', '')))}"),
    deploy_command="npx wrangler pages deploy out --project-name {resource} --branch main",
    deploy_rank=3,
    checks_section="pages",
    rollback_rank=1,
    deploy_model="deployment",
    git_builds=True,
    expect_options=(("--expect-pages-deployment", "deployment_id"), ("--expect-commit", "commit")),
    rollback_scope=(
        ("code", "REVERTED: the earlier deployment's files (and values baked in at its build) are served"),
        ("plain vars", "NOT reverted: project env vars stay as configured now (they apply to new builds)"),
        ("secrets", "NOT reverted: project secrets stay as configured now"),
        ("data", "none: a Pages site is stateless"),
        ("Durable Object state", "none on Pages"),
    ),
    prefetch_reads=("pages_active",),
    code_history=PAGES_HISTORY,
)
