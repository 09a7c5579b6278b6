"""Workers scripts as the Cloudflare v4 API exposes them: versions, deployments, secrets, settings.

Every configuration change goes through versions, as on Cloudflare: a secret put, bulk
patch or delete, and a settings PATCH of bindings create a new version (a copy of the
latest with the changed bindings) and a deployment sending 100% of traffic to it; both
fail with 10215 while the latest version is not the one deployed at 100%. Secrets are
bindings of a version, so rolling back to a version whose secret values differ from the
current one fails with 10220 unless ``?force=true``.

Each version records the Durable Object state version its code expects (the
``EXPECTED_STATE_VERSION = <int>`` line of its modules). Deploying code that expects a
newer state migrates the stored state; rolling back never lowers it.

Versions and deployments themselves are in :mod:`deploycheck.sandbox.cloudflare.versions`,
re-exported here.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from deploycheck.sandbox.cloudflare.envelope import ApiError, days_ago, iso, new_id, now, seed_id
from deploycheck.sandbox.cloudflare.versions import (
    ScriptService,
    WorkerDeployment,
    WorkerVersion,
    expected_state_version,
    public_binding,
)

__all__ = ["WorkerScript", "seed_scripts"]

SCRIPT_NOT_FOUND = (10007, "workers.api.error.script_not_found")
SECRET_EDIT_BLOCKED = 10215
SECRETS_CHANGED = 10220
@dataclass
class WorkerScript:
    """One Worker script and its history; ``state_version`` is its Durable Object state."""

    name: str
    created_on: datetime
    versions: list[WorkerVersion] = field(default_factory=list)
    deployments: list[WorkerDeployment] = field(default_factory=list)
    state_version: int = 1
    logpush: bool = False
    tags: list[str] = field(default_factory=list)
    tail_consumers: list[dict[str, Any]] = field(default_factory=list)
    service: ScriptService = field(default_factory=ScriptService)

    # -- reading -------------------------------------------------------------

    @property
    def latest_version(self) -> WorkerVersion:
        """The newest version (deployed or not)."""
        return self.versions[-1]

    @property
    def current_deployment(self) -> WorkerDeployment | None:
        """The deployment serving traffic now."""
        return self.deployments[-1] if self.deployments else None

    @property
    def active_version(self) -> WorkerVersion:
        """The version receiving the largest share of traffic."""
        deployment = self.current_deployment
        if deployment is None:
            return self.latest_version
        top = max(deployment.versions, key=lambda v: float(v["percentage"]))
        return self.version(str(top["version_id"]))

    def serving_version(self, draw: float, override: str | None = None) -> WorkerVersion:
        """The version that serves one request: ``override`` if the deployment has it, else by percentage.

        ``draw`` is uniform in [0, 1); the versions of the current deployment take
        consecutive shares of it by their percentages, as a gradual deployment splits traffic.
        """
        deployment = self.current_deployment
        if deployment is None:
            return self.latest_version
        ids = [str(v["version_id"]) for v in deployment.versions]
        if override in ids:
            return self.version(str(override))
        threshold = 0.0
        for item in deployment.versions:
            threshold += float(item["percentage"]) / 100.0
            if draw < threshold:
                return self.version(str(item["version_id"]))
        return self.version(ids[-1])

    def version(self, version_id: str) -> WorkerVersion:
        """The version with that id, or a 404 API error."""
        for version in self.versions:
            if version.id == version_id:
                return version
        raise ApiError(404, 10316, f"Version {version_id!r} not found for script {self.name!r}")

    def settings(self) -> dict[str, Any]:
        """The ``/settings`` result: bindings and runtime settings of the latest version."""
        version = self.latest_version
        return {
            "bindings": [public_binding(b) for b in version.bindings],
            "compatibility_date": version.compatibility_date,
            "compatibility_flags": list(version.compatibility_flags),
            "limits": {"cpu_ms": 30000},
            "logpush": self.logpush,
            "tags": list(self.tags),
            "tail_consumers": copy.deepcopy(self.tail_consumers),
            "usage_model": "bundled",
        }

    def script_settings(self) -> dict[str, Any]:
        """The ``/script-settings`` result (no bindings)."""
        return {
            "logpush": self.logpush,
            "tail_consumers": copy.deepcopy(self.tail_consumers),
            "tags": list(self.tags),
            "observability": dict(self.service.observability),
        }

    def script_object(self) -> dict[str, Any]:
        """The script shape an upload returns."""
        version = self.latest_version
        return {
            "id": self.name,
            "etag": version.etag,
            "handlers": ["fetch"],
            "created_on": iso(self.created_on),
            "modified_on": iso(version.created_on),
            "usage_model": "bundled",
            "compatibility_date": version.compatibility_date,
            "compatibility_flags": list(version.compatibility_flags),
            "has_modules": True,
            "logpush": self.logpush,
            "tail_consumers": copy.deepcopy(self.tail_consumers),
            "deployment_id": version.id,
            "startup_time_ms": 4,
            "tag": self.service.tag,
            "tags": list(self.tags),
            "migration_tag": self.service.migration_tag,
            "last_deployed_from": self.service.last_deployed_from,
        }

    def stored(self) -> dict[str, Any]:
        """Everything stored, secret values included (for the admin state)."""
        active = self.active_version
        return {
            "name": self.name,
            "active_version_id": active.id,
            "latest_version_id": self.latest_version.id,
            "vars": active.vars(),
            "secrets": active.secrets(),
            "state_version": self.state_version,
            "expected_state_version": active.expected_state_version,
            "versions": [v.stored() for v in self.versions],
            "deployments": [d.as_api() for d in self.deployments],
            "service": self.service.stored(),
        }

    # -- writing -------------------------------------------------------------

    def require_latest_deployed(self) -> None:
        """Refuse a config edit (10215) while the latest version is not deployed at 100%."""
        deployment = self.current_deployment
        latest = self.latest_version
        if deployment is None or not any(
            v["version_id"] == latest.id and float(v["percentage"]) == 100.0 for v in deployment.versions
        ):
            raise ApiError(
                400,
                SECRET_EDIT_BLOCKED,
                "Secret edit failed. You attempted to modify a secret, but the latest version of your "
                "Worker isn't currently deployed. Please ensure that the latest version of your Worker "
                "is fully deployed (wrangler versions deploy) before modifying secrets. Alternatively, "
                "you can use the Cloudflare dashboard to modify secrets and deploy the version.",
            )

    def add_version(
        self,
        *,
        bindings: list[dict[str, Any]],
        source: str,
        annotations: dict[str, str],
        modules: dict[str, bytes] | None = None,
        module_types: dict[str, str] | None = None,
        main_module: str | None = None,
        compatibility_date: str | None = None,
        compatibility_flags: list[str] | None = None,
        created_on: datetime | None = None,
        version_id: str | None = None,
    ) -> WorkerVersion:
        """Append a version; unspecified code and runtime settings are copied from the latest."""
        base = self.versions[-1] if self.versions else None
        code = modules if modules is not None else (dict(base.modules) if base else {})
        if module_types is None:
            module_types = dict(base.module_types) if base is not None and modules is None else {}
        version = WorkerVersion(
            id=version_id or new_id(),
            number=(base.number + 1) if base else 1,
            created_on=created_on or now(),
            source=source,
            bindings=copy.deepcopy(bindings),
            modules=code,
            module_types=dict(module_types),
            main_module=main_module or (base.main_module if base else "index.js"),
            compatibility_date=compatibility_date or (base.compatibility_date if base else "2024-09-23"),
            compatibility_flags=list(
                compatibility_flags
                if compatibility_flags is not None
                else (base.compatibility_flags if base else [])
            ),
            annotations=dict(annotations),
            expected_state_version=(
                expected_state_version(code)
                if modules is not None or base is None
                else base.expected_state_version
            ),
        )
        self.versions.append(version)
        return version

    def deploy(
        self,
        versions: list[dict[str, Any]],
        *,
        source: str,
        annotations: dict[str, str],
        created_on: datetime | None = None,
        deployment_id: str | None = None,
    ) -> WorkerDeployment:
        """Record a deployment and migrate the Durable Object state if the code expects newer."""
        deployment = WorkerDeployment(
            id=deployment_id or new_id(),
            created_on=created_on or now(),
            source=source,
            versions=[{"version_id": v["version_id"], "percentage": v["percentage"]} for v in versions],
            annotations=dict(annotations),
        )
        self.deployments.append(deployment)
        expected = max(self.version(str(v["version_id"])).expected_state_version for v in versions)
        self.state_version = max(self.state_version, expected)
        return deployment

    def change_bindings(self, bindings: list[dict[str, Any]], *, triggered_by: str) -> WorkerVersion:
        """New version with ``bindings``, deployed at 100% (the secret/settings side effect)."""
        self.require_latest_deployed()
        annotations = {"workers/triggered_by": triggered_by}
        version = self.add_version(bindings=bindings, source="api", annotations=annotations)
        self.deploy([{"version_id": version.id, "percentage": 100}], source="api", annotations=annotations)
        return version

    def changed_secrets(self, targets: list[str]) -> list[str]:
        """Names of secrets whose values differ between the active version and ``targets``."""
        current = self.active_version.secrets()
        changed: set[str] = set()
        for version_id in targets:
            other = self.version(version_id).secrets()
            changed.update(
                name for name in current.keys() | other.keys() if current.get(name) != other.get(name)
            )
        return sorted(changed)


_SEED_MODULE = """// log-ingestion Worker ({label})
export class RateLimiterDO {{}}
export const EXPECTED_STATE_VERSION = {state};
export default {{
  async fetch(request, env) {{
    return new Response("ok");
  }},
}};
"""


def seed_scripts(anchor: datetime) -> dict[str, WorkerScript]:
    """The seeded scripts: ``log-ingestion`` with three versions, each deployed in turn, before ``anchor``."""
    name = "log-ingestion"
    service = ScriptService(
        tag=seed_id(f"{name}/tag").replace("-", ""),
        migration_tag="v1",
        durable_object_classes={"RateLimiterDO": "sqlite"},
    )
    script = WorkerScript(name=name, created_on=days_ago(30, anchor), service=service)
    do_binding = {
        "type": "durable_object_namespace",
        "name": "RATE_LIMITER",
        "class_name": "RateLimiterDO",
        "namespace_id": seed_id("log-ingestion/do/RateLimiterDO").replace("-", ""),
    }
    for index, (age, state) in enumerate([(21, 1), (14, 1), (7, 2)], start=1):
        label = f"release {index}"
        modules = {"index.js": _SEED_MODULE.format(label=label, state=state).encode()}
        version = script.add_version(
            bindings=[do_binding],
            source="wrangler",
            annotations={"workers/triggered_by": "upload", "workers/message": label},
            modules=modules,
            main_module="index.js",
            compatibility_date="2024-09-23",
            created_on=days_ago(age, anchor),
            version_id=seed_id(f"{name}/version/{index}"),
        )
        script.deploy(
            [{"version_id": version.id, "percentage": 100}],
            source="wrangler",
            annotations={"workers/triggered_by": "upload"},
            created_on=days_ago(age - 0.01, anchor),
            deployment_id=seed_id(f"{name}/deployment/{index}"),
        )
    script.state_version = 2
    return {name: script}
