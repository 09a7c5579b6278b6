"""What the check fixtures see of a :class:`~deploycheck.verify.state.VerificationState`.

Per-platform views (:class:`PagesView`, :class:`WorkerApiView`, :class:`ConvexView`) built
from the session's shared reads, :func:`check_url` for settings that name URLs, and
:func:`start_reads`, which begins the reads a check fixture will need before it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deploycheck.config import Target
from deploycheck.errors import ConfigError, DeploycheckError, Problem
from deploycheck.platforms import get_spec
from deploycheck.platforms.base import Deployment
from deploycheck.verify.checkers import ChecksSettings, PagesChecks
from deploycheck.verify.probes import PageResult
from deploycheck.verify.reads import Fetched, StateReads
from deploycheck.verify.split import Split, active_split

__all__ = [
    "ConvexView",
    "PagesView",
    "WorkerApiView",
    "check_url",
    "convex_target",
    "convex_view",
    "pages_view",
    "start_reads",
    "worker_api_view",
]


def check_url(state: StateReads, setting: str, path: str = "") -> str:
    """The URL of setting ``setting`` (APP_URL, WORKER_URL, ...) joined with ``path``.

    Raises ConfigError naming the setting when it has no value in the environment.
    """
    base = state.settings.value(setting)
    if not base:
        msg = f"setting {setting} has no value in environment {state.env!r}."
        hint = f"Export {setting}, pass --dc-set {setting}=URL or set environments.{state.env}.settings."
        raise ConfigError([Problem(source=str(state.config.path), path=setting, message=msg, hint=hint)])
    if not path:
        return base.rstrip("/")
    return base.rstrip("/") + "/" + path.lstrip("/")


@dataclass(frozen=True)
class PagesView:
    """The Pages app as a check sees it: the page, and the API's active deployment (or why not)."""

    url: str
    page: PageResult
    active_read: Fetched

    @property
    def active(self) -> Deployment | None:
        """The active production deployment (raises the API read's error)."""
        value: Deployment | None = self.active_read.get()
        return value


@dataclass(frozen=True)
class WorkerApiView:
    """The Worker's deployments (newest first) and the id of its newest uploaded version."""

    deployments: list[Deployment]
    newest_version: str | None

    @property
    def active_version(self) -> str | None:
        """The version the active deployment serves (ids joined by "," during a split)."""
        active = next((d for d in self.deployments if d.active), None)
        if active is None or not active.versions:
            return None
        return active.single_version or ",".join(v for v, _ in active.versions)

    @property
    def split(self) -> Split | None:
        """The active deployment when it splits traffic between versions (a gradual deployment)."""
        return active_split(self.deployments)


@dataclass(frozen=True)
class ConvexView:
    """A Convex deployment as a check sees it: ``/instance_name``, ``deployment_info``, functions."""

    target: Target
    url: str
    instance: PageResult
    info_read: Fetched
    functions_read: Fetched

    @property
    def instance_name(self) -> str | None:
        """The name the deployment answers with, or None when it did not answer 200."""
        return self.instance.body.strip() if self.instance.is_ok and self.instance.body.strip() else None

    @property
    def instance_error(self) -> str | None:
        """Why ``/instance_name`` gave no name, or None."""
        if self.instance_name is not None:
            return None
        return self.instance.describe()

    def as_dict(self) -> dict[str, Any]:
        """``{"instance_name", "deployment_info", "functions"}`` (None where a read failed)."""
        return {
            "instance_name": self.instance_name,
            "deployment_info": self.info_read.value,
            "functions": self.functions_read.value,
        }


def pages_view(state: StateReads, target: Target, checks: PagesChecks) -> PagesView:
    """The page at the target's URL (``checks`` of the target) and its active deployment (reads shared)."""
    url = check_url(state, checks.url_setting, checks.path)
    return PagesView(url=url, page=state.page(url), active_read=state.fetch("pages_active", target))


def worker_api_view(state: StateReads, target: Target) -> tuple[WorkerApiView | None, Fetched]:
    """(the view, None-error read) or (None, the failed read) of the Worker's deployments and versions."""
    deployments = state.fetch("deployments", target)
    if deployments.error is not None:
        return None, deployments
    versions = state.fetch("worker_versions", target)
    if versions.error is not None:
        return None, versions
    newest = max(versions.value, key=lambda v: (v.number or 0, v.created_on), default=None)
    return WorkerApiView(list(deployments.value), newest.id if newest is not None else None), versions


def convex_target(state: StateReads, target: Target | None, checks: ChecksSettings) -> Target:
    """The Convex target under check: ``target`` when it is one, else ``checks.convex.target``."""
    if target is not None and get_spec(target.platform).checks_section == "convex":
        return target
    return state.config.targets[checks.convex.target]


def _convex_url(state: StateReads, target: Target) -> str:
    url = state.settings.value("CONVEX_URL") or state.environ.get("CONVEX_URL")
    if not url:
        url = str((target.params(state.env) or {}).get("url") or "")
    if not url:
        return check_url(state, "CONVEX_URL")
    return url.rstrip("/")


def convex_view(state: StateReads, target: Target) -> ConvexView:
    """The Convex deployment's answers for ``target`` (reads shared per session)."""
    url = _convex_url(state, target)
    return ConvexView(
        target=target,
        url=url,
        instance=state.page(f"{url}/instance_name"),
        info_read=state.fetch("convex_info", target),
        functions_read=state.fetch("functions", target),
    )


def start_reads(
    state: StateReads, fixture: str, target: Target | None, checks: ChecksSettings
) -> None:
    """Begin the reads the check fixture ``fixture`` will need for ``target``; returns at once.

    Unknown fixture names start nothing; a setting without a value starts nothing (the
    fixture reports it when the check runs).
    """
    try:
        section = get_spec(target.platform).checks_section if target is not None else None
        if fixture == "pages" and target is not None and section == "pages":
            section = checks.for_target(target)
            if section is None:
                return
            url = check_url(state, section.url_setting, section.path)
            state.start_page(url)
            state.start("pages_active", target)
            if url.startswith("https://"):
                state.start_certificate(url)
        elif fixture == "worker_health":
            worker = (checks.for_target(target, "worker") if target is not None else None) or checks.worker
            state.start_health(check_url(state, worker.url_setting), worker.health_path)
        elif (
            fixture in ("worker_api", "worker_deployments")
            and target
            and section == "worker"
        ):
            state.start("deployments", target)
            state.start("worker_versions", target)
        elif fixture == "convex":
            chosen = convex_target(state, target, checks)
            state.start_page(f"{_convex_url(state, chosen)}/instance_name")
            state.start("convex_info", chosen)
            state.start("functions", chosen)
        elif fixture == "config_read" and target is not None:
            state.start("config", target)
    except (DeploycheckError, KeyError):
        return
