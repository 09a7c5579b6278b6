"""What the shipped checks decide, without pytest: each function returns a :class:`Verdict`.

A check in ``checks/`` is a few lines: get the platform state from a fixture, call one
function here, hand the verdict to the ``judge`` fixture (PASS, WARN, FAIL or SKIP with
the message). Keeping the decisions here keeps them testable with plain data::

    verdict = checkers.worker_health(health)
    verdict.outcome, verdict.message   # ("warn", "log-ingestion reports degraded: ...")

The typed view of the ``checks:`` section of deploycheck.yaml is :class:`ChecksSettings`.
Configuration checks live in :mod:`deploycheck.verify.config_checks`, cross-platform ones
in :mod:`deploycheck.verify.chains`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from deploycheck.config import ProjectConfig, Target
from deploycheck.errors import ConfigError, Problem
from deploycheck.platforms import get_spec, platform_names
from deploycheck.platforms.base import Deployment
from deploycheck.verify.probes import HealthResult, PageResult, Polled

__all__ = [
    "ChecksSettings",
    "ConvexChecks",
    "Outcome",
    "PagesChecks",
    "PollSettings",
    "Verdict",
    "WorkerChecks",
    "certificate",
    "content_marker",
    "convex_functions",
    "convex_identity",
    "convex_reachable",
    "expected_pages_deployment",
    "expected_worker_version",
    "polled",
    "response_time",
    "served_deployment",
    "worker_active_deployment",
    "worker_health",
    "worker_state_version",
]

Outcome = Literal["pass", "warn", "fail", "skip"]


@dataclass(frozen=True)
class Verdict:
    """A check's decision and the sentence explaining it."""

    outcome: Outcome
    message: str = ""

    @property
    def is_ok(self) -> bool:
        """True for PASS and WARN (the run's exit code stays 0)."""
        return self.outcome in ("pass", "warn")


def _pass(message: str = "") -> Verdict:
    return Verdict("pass", message)


def _warn(message: str) -> Verdict:
    return Verdict("warn", message)


def _fail(message: str) -> Verdict:
    return Verdict("fail", message)


def _skip(message: str) -> Verdict:
    return Verdict("skip", message)


# -- the checks: section -------------------------------------------------------------------


@dataclass(frozen=True)
class PagesChecks:
    """``checks.pages``: which target, where the app is, what it must contain, how fast."""

    target: str = "NEXTJS"
    url_setting: str = "APP_URL"
    path: str = "/"
    marker: str | None = None
    warn_ms: float = 1500.0
    fail_ms: float = 5000.0
    cert_warn_days: int = 14


@dataclass(frozen=True)
class WorkerChecks:
    """``checks.worker``: which target, where its health endpoint is, how fast it must answer."""

    target: str = "CLOUDFLARE_WORKER"
    url_setting: str = "WORKER_URL"
    health_path: str = "/health"
    expected_state_version: int | None = None
    warn_ms: float = 1000.0
    fail_ms: float = 5000.0


@dataclass(frozen=True)
class ConvexChecks:
    """``checks.convex``: which target, and the functions its deployment must export."""

    target: str = "CONVEX"
    functions: tuple[str, ...] = ()


@dataclass(frozen=True)
class PollSettings:
    """``checks.poll``: how long an eventually consistent check may retry, and how often."""

    deadline_s: float = 10.0
    interval_s: float = 0.5


@dataclass(frozen=True)
class ChecksSettings:
    """The ``checks:`` section of deploycheck.yaml, typed, with defaults for what is left out."""

    pages: PagesChecks = field(default_factory=PagesChecks)
    worker: WorkerChecks = field(default_factory=WorkerChecks)
    convex: ConvexChecks = field(default_factory=ConvexChecks)
    poll: PollSettings = field(default_factory=PollSettings)
    integration: tuple[Mapping[str, Any], ...] = ()

    def for_target(self, target: Target, section: str | None = None) -> Any:
        """The check parameters of ``target``: its platform's section with the target's own ``checks:``.

        None when the shipped data-plane checks do not cover the target: its platform has no
        section, or the target is not the section's ``target`` and has no ``checks:`` block
        of its own (its URL would be another target's), or ``section`` is given and is not
        the platform's.
        """
        name = get_spec(target.platform).checks_section if target.platform in platform_names() else None
        if name is None or (section is not None and name != section):
            return None
        defaults: PagesChecks | WorkerChecks | ConvexChecks = getattr(self, name)
        own = dict(target.checks)
        if not own and defaults.target != target.name:
            return None
        valid = sorted(f.name for f in fields(defaults) if f.name != "target")
        unknown = sorted(set(own) - set(valid))
        if unknown:
            problems = [
                Problem(
                    source="deploycheck.yaml",
                    path=f"targets.{target.name}.checks.{key}",
                    message=f"{key!r} is not a parameter of the {name} checks; valid: {', '.join(valid)}.",
                    hint=f"Remove it, or move it to the section it belongs to (checks.{name} takes these).",
                )
                for key in unknown
            ]
            raise ConfigError(problems)
        if "functions" in own:
            own["functions"] = tuple(own["functions"])
        return replace(defaults, target=target.name, **own)

    @classmethod
    def from_config(cls, config: ProjectConfig) -> ChecksSettings:
        """Read ``config.checks`` (already validated against the JSON schema)."""
        raw = config.checks
        pages = dict(raw.get("pages") or {})
        worker = dict(raw.get("worker") or {})
        convex = dict(raw.get("convex") or {})
        convex["functions"] = tuple(convex.get("functions") or ())
        return cls(
            pages=PagesChecks(**pages),
            worker=WorkerChecks(**worker),
            convex=ConvexChecks(**convex),
            poll=PollSettings(**dict(raw.get("poll") or {})),
            integration=tuple(dict(chain) for chain in raw.get("integration") or ()),
        )


def polled(result: Polled, verdict: Verdict) -> Verdict:
    """Turn a PASS that needed retries into WARN "passed after N attempts" (flakiness shows)."""
    if verdict.outcome == "pass" and result.attempts > 1:
        detail = f" ({verdict.message})" if verdict.message else ""
        return _warn(f"passed after {result.attempts} attempts{detail}")
    return verdict


# -- Pages ---------------------------------------------------------------------------------


def page_answers(page: PageResult, where: str) -> Verdict:
    """PASS when the app URL answered 200, else FAIL saying what came back."""
    if page.is_ok:
        return _pass(page.describe())
    return _fail(
        f"{where}: {page.describe()}; expected HTTP 200. Next step: open {page.url} and check the deployment"
    )


def content_marker(page: PageResult, marker: str | None, where: str) -> Verdict:
    """PASS when the page contains the configured content marker; SKIP when none is configured."""
    if not marker:
        return _skip("no content marker configured (checks.pages.marker)")
    if page.error or page.status is None:
        return _fail(f"{where}: {page.describe()}; cannot look for the content marker {marker!r}")
    if page.contains(marker):
        return _pass(f"{page.url} contains {marker!r}")
    if not 200 <= page.status < 300:
        # the error page lacks the marker too; that is the status's failure, not a wrong build
        return _fail(f"{where}: {page.describe()}; cannot look for the content marker {marker!r}")
    return _fail(
        f"{where}: the page at {page.url} (HTTP {page.status}) lacks the content marker {marker!r}: "
        "the active deployment is not the expected build. Next step: redeploy the web app "
        "(deploycheck deploy) or roll it back (deploycheck rollback)"
    )


def response_time(elapsed_ms: float, warn_ms: float, fail_ms: float, what: str) -> Verdict:
    """PASS under ``warn_ms``, WARN up to ``fail_ms``, FAIL above it."""
    text = f"{what} answered in {elapsed_ms:.0f} ms"
    if elapsed_ms > fail_ms:
        return _fail(f"{text}, over the fail threshold of {fail_ms:.0f} ms")
    if elapsed_ms > warn_ms:
        return _warn(f"{text}, over the warn threshold of {warn_ms:.0f} ms")
    return _pass(text)


def expected_pages_deployment(
    active: Deployment | None, *, commit: str | None, deployment_id: str | None, where: str
) -> Verdict:
    """The active deployment is the one asked for by ``--expect-commit`` / ``--expect-pages-deployment``."""
    if not commit and not deployment_id:
        return _skip("no expectation given (--expect-commit, GITHUB_SHA or --expect-pages-deployment)")
    if active is None:
        return _fail(f"{where}: no active production deployment. Next step: deploy the web app")
    problems = []
    if deployment_id and active.id != deployment_id and active.extra.get("short_id") != deployment_id:
        problems.append(f"active deployment is {active.id}, expected {deployment_id}")
    if commit:
        have = active.commit or ""
        if not have or not (have.startswith(commit) or commit.startswith(have)):
            problems.append(f"active deployment {active.id} is commit {have or '(none)'}, expected {commit}")
    if problems:
        return _fail(
            f"{where}: {'; '.join(problems)}. Next step: deploy the expected build or check the deploy log"
        )
    return _pass(f"active deployment {active.id} is the expected one")


def served_deployment(page: PageResult, active: Deployment | None, where: str) -> Verdict:
    """The site serves the API's active deployment (its ``deploycheck-deployment`` meta names it)."""
    served = page.meta("deploycheck-deployment")
    if served is None:
        return _skip(f'{page.url} has no <meta name="deploycheck-deployment">; nothing to compare')
    if active is None:
        return _fail(f"{where}: the site serves {served} but the API reports no active deployment")
    if served in (active.id, active.extra.get("short_id")):
        return _pass(f"the site serves the active deployment {active.id}")
    return _fail(
        f"{where}: the site serves deployment {served}, the API's active deployment is {active.id}. "
        "Next step: wait for the edge to update, or purge the cache and re-run"
    )


def certificate(url: str, days_left: int | None, error: str | None, warn_days: int, where: str) -> Verdict:
    """WARN when the TLS certificate expires within ``warn_days``; SKIP for http URLs."""
    if not url.startswith("https://"):
        return _skip(f"{url} is not https: no certificate to check")
    if error is not None or days_left is None:
        return _fail(f"{where}: cannot read the TLS certificate of {url}: {error}")
    if days_left < 0:
        return _fail(f"{where}: the TLS certificate of {url} expired {-days_left} days ago")
    if days_left < warn_days:
        return _warn(f"the TLS certificate of {url} expires in {days_left} days (warn under {warn_days})")
    return _pass(f"the TLS certificate of {url} is valid for {days_left} more days")


# -- Worker --------------------------------------------------------------------------------


def worker_health(health: HealthResult, where: str) -> Verdict:
    """healthy = PASS, degraded = WARN, anything else or no answer = FAIL, with the reason."""
    status = health.status
    reason = f": {health.reason}" if health.reason else ""
    if status == "healthy":
        return _pass(f"{health.url} reports healthy")
    if status == "degraded":
        return _warn(f"{where} reports degraded at {health.url}{reason}")
    if status == "unreachable":
        return _fail(
            f"{where}: no answer from {health.url}{reason}. Next step: check the Worker's URL and logs"
        )
    code = f" (HTTP {health.http_status})" if health.http_status is not None else ""
    return _fail(
        f"{where} reports {status}{code} at {health.url}{reason}. Next step: check the Worker's logs "
        "(wrangler tail) or roll it back"
    )


def expected_worker_version(
    health: HealthResult, *, api_version: str | None, api_note: str | None, expected: str | None, where: str
) -> Verdict:
    """The code version /health reports equals the API's active version and ``--expect-worker-version``."""
    if health.error:
        return _fail(f"{where}: no health answer to read the version from: {health.reason}")
    reported = health.version
    if reported is None:
        return _fail(f"{where}: {health.url} reports no code version")
    problems = []
    if expected and reported != expected:
        problems.append(f"reports version {reported}, expected {expected} (--expect-worker-version)")
    if api_version and reported not in api_version.split(","):
        problems.append(f"reports version {reported}, the API's active version is {api_version}")
    if problems:
        return _fail(
            f"{where}: {'; '.join(problems)}. Next step: wait for the deployment to propagate, then re-run"
        )
    if not expected and not api_version:
        return _skip(f"{where} reports version {reported}; nothing to compare it with ({api_note})")
    return _pass(f"{where} runs version {reported}")


def worker_state_version(health: HealthResult, expected_override: int | None, where: str) -> Verdict:
    """Durable Object state equal to what the code expects = PASS, newer = WARN, older = FAIL."""
    if health.error:
        return _fail(f"{where}: no health answer to read the state version from: {health.reason}")
    state = health.state_version
    expected = expected_override if expected_override is not None else health.expected_state_version
    if state is None or expected is None:
        return _skip(f"{where} reports no Durable Object state version (state {state}, expected {expected})")
    if state == expected:
        return _pass(f"Durable Object state version {state} is what the code expects")
    if state > expected:
        return _warn(
            f"{where}: Durable Object state version {state} is newer than the code expects ({expected}), "
            "as after a rollback past a state migration; the code must read it compatibly"
        )
    return _fail(
        f"{where}: Durable Object state version {state} is older than the code expects ({expected}): "
        "migration not run. Next step: run the state migration or redeploy the Worker"
    )


def _is_rollback(deployment: Deployment) -> bool:
    message = (deployment.message or "").strip().lower()
    return deployment.extra.get("triggered_by") == "rollback" or message.startswith("rollback")


def worker_active_deployment(
    deployments: Sequence[Deployment], newest_version: str | None, where: str
) -> Verdict:
    """The active deployment serves the newest version, unless a rollback (WARN) or a split is in effect."""
    active = next((d for d in deployments if d.active), None)
    if active is None:
        return _fail(f"{where}: no active deployment. Next step: deploy the Worker (wrangler deploy)")
    if newest_version is None:
        return _skip(f"{where}: the API lists no versions")
    single = active.single_version
    if single is None:
        split = ", ".join(f"{v} {p:g}%" for v, p in active.versions)
        return _warn(f"{where}: gradual deployment in effect ({split}); newest version {newest_version}")
    if single == newest_version:
        return _pass(f"{where}: active deployment {active.id} serves the newest version {single}")
    if _is_rollback(active):
        return _warn(
            f"{where}: rollback in effect: active deployment {active.id} serves version {single}, "
            f"the newest version is {newest_version}"
        )
    return _fail(
        f"{where}: active deployment {active.id} serves version {single}, not the newest version "
        f"{newest_version}, and it is not a rollback. "
        "Next step: deploy the newest version or roll back on purpose"
    )


# -- Convex --------------------------------------------------------------------------------


def convex_reachable(instance_name: str | None, error: str | None, where: str) -> Verdict:
    """PASS when ``/instance_name`` answered."""
    if error is not None or not instance_name:
        return _fail(f"{where}: the deployment does not answer /instance_name: {error or 'empty answer'}")
    return _pass(f"{where} answers as {instance_name}")


def convex_identity(
    instance_name: str | None,
    info: Mapping[str, Any] | None,
    *,
    expected: str | None,
    remote: bool,
    where: str,
) -> Verdict:
    """The deployment is the one configured for the environment, and never a dev one for a remote env."""
    if instance_name is None or info is None:
        return _fail(f"{where}: cannot tell which deployment answers (no instance name or deployment info)")
    problems = []
    if expected and instance_name != expected:
        problems.append(f"answers as {instance_name!r}, the environment's deployment is {expected!r}")
    named = info.get("deploymentName") or info.get("name")
    if expected and isinstance(named, str) and named and named != expected:
        problems.append(f"deployment_info names {named!r}, expected {expected!r}")
    kind = info.get("deploymentType")
    if remote and (kind == "dev" or instance_name.startswith("dev-")):
        problems.append(f"it is a dev deployment (deploymentType {kind!r}) in a remote environment")
    if problems:
        return _fail(
            f"{where}: {'; '.join(problems)}. Next step: check CONVEX_URL / CONVEX_DEPLOY_KEY and the "
            "target's deployment in deploycheck.yaml"
        )
    return _pass(f"{where} is {instance_name} ({kind or info.get('kind', 'unknown kind')})")


def convex_functions(functions: Iterable[str], wanted: Sequence[str], where: str) -> Verdict:
    """Every function listed in ``checks.convex.functions`` is in the deployment's function spec."""
    from deploycheck.platforms.convex import normalize_function_id

    if not wanted:
        return _skip("no functions listed in checks.convex.functions")
    have = {normalize_function_id(f) for f in functions}
    missing = [name for name in wanted if normalize_function_id(name) not in have]
    if missing:
        return _fail(
            f"{where}: function(s) {', '.join(missing)} missing from the deployed function spec. "
            "Next step: deploy the Convex functions (npx convex deploy)"
        )
    return _pass(f"{where} exports {', '.join(wanted)}")
