"""Cloudflare Pages projects as the v4 API exposes them: env vars, deployments, rollback.

``secret_text`` values are stored but always returned as ``""``. A rollback makes a
successful production deployment the canonical (served) one again and returns it.
A direct upload creates a deployment whose files the Pages site emulator serves.
"""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from deploycheck.sandbox.cloudflare.envelope import ApiError, days_ago, iso, new_id, now, seed_id

__all__ = ["PagesDeployment", "PagesProject", "seed_projects", "site_html"]

PROJECT_NOT_FOUND = (
    8000007,
    "Project not found. The specified project name does not match any of your existing projects.",
)
DEPLOYMENT_NOT_FOUND = (
    8000009,
    "The deployment ID you have specified does not exist. Update the deployment ID and try again.",
)
ROLLBACK_REFUSED = 8000035
ENV_TYPES = ("plain_text", "secret_text")
STAGE_NAMES = ("queued", "initialize", "clone_repo", "build", "deploy")
_ALIAS_CHARS = re.compile(r"[^a-z0-9]+")


def branch_alias(branch: str) -> str:
    """The alias label of a branch: lowercased, other characters as ``-``, at most 28 long."""
    return _ALIAS_CHARS.sub("-", branch.lower()).strip("-")[:28]


def public_env_vars(env_vars: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """Env vars as the API returns them: secret values blanked."""
    return {
        name: {"type": var["type"], "value": "" if var["type"] == "secret_text" else var["value"]}
        for name, var in env_vars.items()
    }


def site_html(project: str, deployment_id: str, commit: str) -> bytes:
    """The page a seeded deployment serves."""
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="deploycheck-deployment" content="{deployment_id}">\n'
        f'<title>app.example.com</title>\n</head>\n<body data-app="app.example.com" '
        f'data-project="{project}" data-commit="{commit}">\n<div id="__next">'
        "<h1>app.example.com</h1></div>\n</body>\n</html>\n"
    ).encode()


@dataclass
class PagesDeployment:
    """One Pages deployment (production or preview) and the files it serves."""

    id: str
    project_id: str
    project_name: str
    environment: str
    created_on: datetime
    status: str
    branch: str
    commit_hash: str
    commit_message: str
    commit_dirty: bool = False
    trigger_type: str = "ad_hoc"
    env_vars: dict[str, dict[str, str]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def short_id(self) -> str:
        """The first 8 characters of the id, used in the deployment URL."""
        return self.id[:8]

    @property
    def is_success(self) -> bool:
        """Whether the deployment finished its deploy stage successfully."""
        return self.status == "success"

    def stages(self) -> list[dict[str, Any]]:
        """The five build stages; a failed deployment fails at build and never deploys."""
        stages = []
        moment = self.created_on
        for name in STAGE_NAMES:
            if self.status == "failure" and name == "deploy":
                stages.append({"name": name, "status": "idle", "started_on": None, "ended_on": None})
                continue
            status = "failure" if self.status == "failure" and name == "build" else "success"
            end = moment + timedelta(seconds=5)
            stages.append({"name": name, "status": status, "started_on": iso(moment), "ended_on": iso(end)})
            moment = end
        return stages

    def as_api(self, subdomain: str) -> dict[str, Any]:
        """The API shape."""
        stages = self.stages()
        latest = next(s for s in reversed(stages) if s["status"] != "idle")
        modified = latest["ended_on"] or iso(self.created_on)
        return {
            "id": self.id,
            "short_id": self.short_id,
            "project_id": self.project_id,
            "project_name": self.project_name,
            "environment": self.environment,
            "url": f"https://{self.short_id}.{subdomain}",
            "aliases": [f"https://{branch_alias(self.branch)}.{subdomain}"]
            if self.environment == "preview"
            else None,
            "created_on": iso(self.created_on),
            "modified_on": modified,
            "is_skipped": False,
            "latest_stage": latest,
            "stages": stages,
            "deployment_trigger": {
                "type": self.trigger_type,
                "metadata": {
                    "branch": self.branch,
                    "commit_hash": self.commit_hash,
                    "commit_message": self.commit_message,
                    "commit_dirty": self.commit_dirty,
                },
            },
            "build_config": _build_config(),
            "source": _source(),
            "env_vars": public_env_vars(self.env_vars),
            "uses_functions": False,
        }

    def stored(self) -> dict[str, Any]:
        """Everything stored, secret values included (for the admin state)."""
        return {
            "id": self.id,
            "environment": self.environment,
            "status": self.status,
            "created_on": iso(self.created_on),
            "branch": self.branch,
            "commit_hash": self.commit_hash,
            "env_vars": copy.deepcopy(self.env_vars),
            "files": sorted(self.files),
        }


def _source() -> dict[str, Any]:
    """The project's source control: the GitHub repository the reference app lives in."""
    return {
        "type": "github",
        "config": {
            "owner": "example",
            "owner_id": "8512300",
            "repo_name": "app",
            "repo_id": "731240067",
            "production_branch": "main",
            "deployments_enabled": True,
            "production_deployments_enabled": True,
            "pr_comments_enabled": True,
            "preview_deployment_setting": "all",
            "preview_branch_includes": ["*"],
            "preview_branch_excludes": [],
            "path_includes": ["*"],
            "path_excludes": [],
        },
    }


def _build_config() -> dict[str, Any]:
    return {
        "build_caching": False,
        "build_command": "npm run build",
        "destination_dir": "out",
        "root_dir": "apps/web",
        "web_analytics_tag": None,
        "web_analytics_token": None,
    }


@dataclass
class PagesProject:
    """One Pages project: per-environment env vars and the deployment history."""

    name: str
    id: str
    created_on: datetime
    production_branch: str = "main"
    env_vars: dict[str, dict[str, dict[str, str]]] = field(
        default_factory=lambda: {"production": {}, "preview": {}}
    )
    config_hash: dict[str, str] = field(default_factory=dict)
    deployments: list[PagesDeployment] = field(default_factory=list)
    canonical_id: str | None = None
    custom_domains: tuple[str, ...] = ("app.example.com",)

    @property
    def subdomain(self) -> str:
        """``<name>.pages.dev``."""
        return f"{self.name}.pages.dev"

    @property
    def canonical(self) -> PagesDeployment | None:
        """The production deployment being served."""
        return self.deployment(self.canonical_id) if self.canonical_id else None

    def aliased(self, label: str) -> PagesDeployment | None:
        """The deployment ``<label>.<subdomain>`` serves: by short id, else the branch's newest success."""
        for deployment in self.deployments:
            if deployment.short_id == label:
                return deployment
        for deployment in reversed(self.deployments):
            if deployment.is_success and branch_alias(deployment.branch) == label:
                return deployment
        return None

    def deployment(self, deployment_id: str) -> PagesDeployment:
        """The deployment with that id, or a 404 API error."""
        for deployment in self.deployments:
            if deployment.id == deployment_id:
                return deployment
        raise ApiError(404, *DEPLOYMENT_NOT_FOUND)

    def deployment_configs(self) -> dict[str, Any]:
        """``deployment_configs`` with secret values blanked."""
        return {
            env: {
                "env_vars": public_env_vars(self.env_vars[env]),
                "always_use_latest_compatibility_date": False,
                "build_image_major_version": 3,
                "compatibility_date": "2024-09-23",
                "compatibility_flags": [],
                "fail_open": True,
                "usage_model": "standard",
                "wrangler_config_hash": self.config_hash.get(env, ""),
            }
            for env in ("preview", "production")
        }

    def as_api(self) -> dict[str, Any]:
        """The API shape."""
        latest = self.deployments[-1] if self.deployments else None
        canonical = self.canonical
        return {
            "id": self.id,
            "name": self.name,
            "subdomain": self.subdomain,
            "domains": [self.subdomain, *self.custom_domains],
            "production_branch": self.production_branch,
            "created_on": iso(self.created_on),
            "build_config": _build_config(),
            "source": _source(),
            "framework": "nextjs",
            "framework_version": "15.1.6",
            "preview_script_name": f"pages-worker--{self.id[:7]}-preview",
            "production_script_name": f"pages-worker--{self.id[:7]}-production",
            "uses_functions": False,
            "latest_deployment": latest.as_api(self.subdomain) if latest else None,
            "canonical_deployment": canonical.as_api(self.subdomain) if canonical else None,
            "deployment_configs": self.deployment_configs(),
        }

    def patch(self, body: dict[str, Any]) -> None:  # noqa: PLR0912 - validates every field first
        """Merge a PATCH body's env vars (null deletes) and echoed config hashes; 400 on bad input."""
        configs = body.get("deployment_configs", {})
        if not isinstance(configs, dict):
            raise ApiError(400, 8000000, "deployment_configs must be an object")
        problems: list[str] = []
        for env, config in configs.items():
            if env not in ("production", "preview"):
                problems.append(f"unknown environment {env!r} (production, preview)")
            elif not isinstance(config, dict):
                problems.append(f"deployment_configs.{env} must be an object")
            else:
                for name, var in (config.get("env_vars") or {}).items():
                    if var is None:
                        continue
                    if not isinstance(var, dict) or var.get("type") not in ENV_TYPES:
                        problems.append(f"env var {name!r}: type must be one of {list(ENV_TYPES)}")
                    elif not isinstance(var.get("value"), str):
                        problems.append(f"env var {name!r}: value must be a string")
        if problems:
            raise ApiError(400, 8000000, "Invalid request body: " + "; ".join(problems))
        for env, config in configs.items():
            stored = self.env_vars[env]
            for name, var in (config.get("env_vars") or {}).items():
                if var is None:
                    stored.pop(name, None)
                else:
                    stored[name] = {"type": var["type"], "value": var["value"]}
            if "wrangler_config_hash" in config:
                self.config_hash[env] = str(config["wrangler_config_hash"])

    def rollback(self, deployment_id: str) -> PagesDeployment:
        """Serve an earlier successful production deployment again."""
        target = self.deployment(deployment_id)
        if target.environment != "production" or not target.is_success:
            raise ApiError(
                400,
                ROLLBACK_REFUSED,
                "You can only rollback to succesful builds on production. Deployment "
                f"{target.id} is a {target.environment} deployment with status {target.status}.",
            )
        self.canonical_id = target.id
        return target

    def add_deployment(
        self,
        *,
        branch: str,
        commit_hash: str,
        commit_message: str,
        files: dict[str, bytes],
        commit_dirty: bool = False,
        status: str = "success",
        created_on: datetime | None = None,
        deployment_id: str | None = None,
    ) -> PagesDeployment:
        """Record a deployment; a successful production one becomes canonical."""
        environment = "production" if branch == self.production_branch else "preview"
        deployment = PagesDeployment(
            id=deployment_id or new_id(),
            project_id=self.id,
            project_name=self.name,
            environment=environment,
            created_on=created_on or now(),
            status=status,
            branch=branch,
            commit_hash=commit_hash,
            commit_message=commit_message,
            commit_dirty=commit_dirty,
            env_vars=copy.deepcopy(self.env_vars[environment]),
            files=dict(files),
        )
        self.deployments.append(deployment)
        if environment == "production" and deployment.is_success:
            self.canonical_id = deployment.id
        return deployment

    def stored(self) -> dict[str, Any]:
        """Everything stored, secret values included (for the admin state)."""
        return {
            "name": self.name,
            "env_vars": copy.deepcopy(self.env_vars),
            "wrangler_config_hash": dict(self.config_hash),
            "canonical_deployment_id": self.canonical_id,
            "deployments": [d.stored() for d in self.deployments],
        }


def seed_projects(anchor: datetime) -> dict[str, PagesProject]:
    """The seeded project ``app-web``: three good production deploys, one failed, one preview."""
    name = "app-web"
    project = PagesProject(name=name, id=seed_id(f"{name}/project"), created_on=days_ago(60, anchor))
    for env in ("production", "preview"):
        project.config_hash[env] = hashlib.sha256(f"{name}/{env}/wrangler.toml".encode()).hexdigest()
    history = [
        ("main", "success", "Initial release", 20),
        ("main", "success", "Add log shipping", 13),
        ("main", "failure", "Broken build", 9),
        ("feature-x", "success", "Preview of feature x", 8),
        ("main", "success", "Tune rate limits", 6),
    ]
    for index, (branch, status, message, age) in enumerate(history, start=1):
        deployment_id = seed_id(f"{name}/deployment/{index}")
        commit = hashlib.sha1(f"{name}/commit/{index}".encode(), usedforsecurity=False).hexdigest()
        project.add_deployment(
            branch=branch,
            commit_hash=commit,
            commit_message=message,
            files={"/index.html": site_html(name, deployment_id, commit)},
            status=status,
            created_on=days_ago(age, anchor),
            deployment_id=deployment_id,
        )
    return {name: project}
