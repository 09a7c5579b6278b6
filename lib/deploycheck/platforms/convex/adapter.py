"""Convex: a deployment's environment variables, identity and function spec over HTTP.

Uses the documented Deployment API with ``Authorization: Convex <deploy key>``:
``GET /api/v1/list_environment_variables`` (one request reads every value),
``POST /api/v1/update_environment_variables`` (one transactional batch; explicit values
make it idempotent in effect, so it is retried), ``GET /api/v1/deployment_info``,
``GET /instance_name`` (unauthenticated reachability probe) and the system query
``_system/cli/modules:apiSpec``, subscribed to over the WebSocket sync protocol as
``npx convex function-spec`` does (``POST /api/query`` when ``spec_transport`` is "http").

Credentials: ``CONVEX_URL`` (or the target's ``url``) with ``CONVEX_DEPLOY_KEY``, else
``CONVEX_SELF_HOSTED_URL`` with ``CONVEX_SELF_HOSTED_ADMIN_KEY`` (a self-hosted backend, or
the sandbox). The deploy key wins when both are set, as in the Convex CLI (which then
talks to Convex's cloud), so export one pair, not both.

Convex values are readable. Whether one is a secret is the source-of-truth's call, not
Convex's: a var is marked ``secret`` unless its name is in ``plain_names`` (the
target's ``plain`` list), so a value is never shown by mistake.
"""

from __future__ import annotations

import shlex
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Literal

from deploycheck.errors import ConfigError, NotFoundError, Problem
from deploycheck.http import HttpClient, HttpSettings, require_credentials
from deploycheck.platforms.base import ApplyResult, ConfigState, RemoteVar, VarChange
from deploycheck.platforms.consoles import convex_console
from deploycheck.platforms.convex.sync import run_system_query
from deploycheck.platforms.dotenv_readers import NODE_DOTENV
from deploycheck.platforms.params import param_path
from deploycheck.platforms.spec import Limits, OpenRequest, PlatformSpec

__all__ = ["ConvexPlatform", "deployment_name_of_key", "normalize_function_id"]

PUSH_ACTIONS = ("push_config", "push_config_with_components")


def deployment_name_of_key(key: str) -> str | None:
    """The deployment a ``prod:<name>|<secret>`` deploy key belongs to, when it says."""
    if "|" not in key:
        return None
    head = key.split("|", 1)[0]
    if head.startswith(("preview:", "project:")) and head.count(":") >= 2:
        return None
    return head.split(":", 1)[1] if ":" in head else head


def normalize_function_id(identifier: str) -> str:
    """``messages.js:list`` -> ``messages:list`` (the form ``npx convex run`` takes)."""
    module, _, name = identifier.partition(":")
    for ext in (".js", ".ts", ".jsx", ".tsx", ".mjs", ".cjs"):
        if module.endswith(ext):
            module = module[: -len(ext)]
            break
    return f"{module}:{name}" if name else module


def _parse_convex_error(response: Any) -> tuple[str, str | int | None]:
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
        return text or f"HTTP {response.status_code}", None
    if isinstance(body, dict):
        message = body.get("message") or body.get("errorMessage") or f"HTTP {response.status_code}"
        code = body.get("code")
        return str(message), code if isinstance(code, str | int) else None
    return f"HTTP {response.status_code}", None


class ConvexPlatform:
    """One Convex deployment's environment variables (ConfigPlatform).

    Extra methods: :meth:`instance_name`, :meth:`deployment_info`, :meth:`function_spec`,
    :meth:`last_push_time`. Convex has no rollback API (roll back by redeploying old code).
    """

    platform = "convex"
    #: who reads this platform's local file (``local_file``) besides deploycheck
    LOCAL_READERS: tuple[str, ...] = (NODE_DOTENV,)
    #: the environment variables a deploy command of this platform may see
    ENVIRONMENT_PREFIXES: tuple[str, ...] = ("CONVEX_",)

    def __init__(
        self,
        client: HttpClient,
        *,
        deployment: str,
        plain_names: Collection[str] = (),
        target: str = "CONVEX",
        env: str = "",
        admin_key: str | None = None,
    ) -> None:
        self.client = client
        #: with the admin key, function_spec() runs over the sync protocol as the CLI does;
        #: "http" (or no key) asks ``POST /api/query`` instead
        self.spec_transport: Literal["sync", "http"] = "sync" if admin_key else "http"
        self._admin_key = admin_key
        self.deployment = deployment
        self.resource = deployment
        self.plain_names = frozenset(plain_names)
        self.target = target
        self.env = env
        client.hint = self._hint

    @classmethod
    def from_environ(
        cls,
        *,
        environ: Mapping[str, str],
        deployment: str | None = None,
        url: str | None = None,
        plain_names: Collection[str] = (),
        target: str = "CONVEX",
        env: str = "",
        settings: HttpSettings | None = None,
    ) -> ConvexPlatform:
        """Build from CONVEX_URL (else ``url``) and CONVEX_DEPLOY_KEY, or CONVEX_SELF_HOSTED_URL/_ADMIN_KEY.

        As in the Convex CLI, CONVEX_DEPLOY_KEY wins when both are set.

        Raises ConfigError when the key names another deployment than ``deployment``.
        """
        # the Convex CLI's precedence: a deploy key wins over the self-hosted pair
        self_hosted = bool(environ.get("CONVEX_SELF_HOSTED_URL")) and not environ.get("CONVEX_DEPLOY_KEY")
        if self_hosted:
            base_url = environ["CONVEX_SELF_HOSTED_URL"]
            variable = "CONVEX_SELF_HOSTED_URL"
            key = require_credentials(environ, {"CONVEX_SELF_HOSTED_ADMIN_KEY": "the self-hosted admin key"})[
                "CONVEX_SELF_HOSTED_ADMIN_KEY"
            ]
        else:
            base_url = environ.get("CONVEX_URL") or url or ""
            variable = "CONVEX_URL"
            key = environ.get("CONVEX_DEPLOY_KEY") or environ.get("CONVEX_DEPLOYMENT_TOKEN") or ""
            if not key:
                purpose = "a deploy key from the Convex dashboard, Settings > Deploy keys"
                require_credentials(environ, {"CONVEX_DEPLOY_KEY": purpose})
        if not base_url:
            where = param_path(target, env, "url")
            msg = "no Convex deployment URL."
            raise ConfigError(
                [Problem(source="environment", path="CONVEX_URL", message=msg, hint=f"Set {where}.")]
            )
        from deploycheck.redact import register_environment_credentials

        register_environment_credentials({"CONVEX_DEPLOY_KEY": key})
        key_deployment = deployment_name_of_key(key)
        name = deployment or key_deployment or "convex"
        if not self_hosted and deployment and key_deployment and key_deployment != deployment:
            msg = f"CONVEX_DEPLOY_KEY is a key of deployment {key_deployment!r}, not {deployment!r}."
            where = param_path(target, env, "deployment")
            hint = f"Export the deploy key of {deployment!r} or fix {where}."
            raise ConfigError(
                [Problem(source="environment", path="CONVEX_DEPLOY_KEY", message=msg, hint=hint)]
            )
        client = HttpClient(
            platform=cls.platform,
            base_url=base_url,
            base_url_variable=variable,
            headers={"Authorization": f"Convex {key}", "Content-Type": "application/json"},
            settings=settings or HttpSettings.from_environ(environ),
            parse_error=_parse_convex_error,
        )
        return cls(client, deployment=name, plain_names=plain_names, target=target, env=env, admin_key=key)

    def _hint(self, status: int | None, code: str | int | None, operation: str) -> str:
        if status in (401, 403):
            return f"check CONVEX_DEPLOY_KEY (a deploy key of {self.deployment!r} allowed to {operation})"
        if status == 404:
            return f"check CONVEX_URL / {param_path(self.target, self.env, 'url')}"
        if status == 429:
            return "Convex is rate limiting this key; wait and run again"
        return ""

    @property
    def requests(self) -> int:
        """HTTP requests made so far."""
        return self.client.requests

    def instance_name(self) -> str:
        """The deployment's name as it reports it (unauthenticated reachability probe)."""
        response = self.client.request("GET", "/instance_name", operation="probe instance name")
        return response.text.strip()

    def deployment_info(self) -> dict[str, Any]:
        """``{"kind": "cloud", "deploymentType": ..., ...}`` or ``{"kind": "selfHosted"}``."""
        operation = "read deployment info"
        body = self.client.json(
            self.client.request("GET", "/api/v1/deployment_info", operation=operation), operation
        )
        if not isinstance(body, dict):
            raise self.client.malformed(operation, "not an object")
        return body

    def list_env(self) -> dict[str, str]:
        """Every user environment variable, name -> value (one request)."""
        operation = "list environment variables"
        response = self.client.request("GET", "/api/v1/list_environment_variables", operation=operation)
        body = self.client.json(response, operation)
        values = body.get("environmentVariables") if isinstance(body, dict) else None
        if not isinstance(values, dict):
            raise self.client.malformed(operation, "no environmentVariables object")
        return {str(k): str(v) for k, v in values.items()}

    def read_config(self) -> ConfigState:
        """Every variable with its value, in one request."""
        before = self.requests
        found = {
            name: RemoteVar(name, value, secret=name not in self.plain_names)
            for name, value in self.list_env().items()
        }
        return ConfigState(self.platform, self.resource, found, marker=None, requests=self.requests - before)

    def apply_config(self, changes: Sequence[VarChange]) -> ApplyResult:
        """Apply every change in one transactional batch (any invalid change rejects all)."""
        if not changes:
            return ApplyResult(applied=())
        body = {
            "changes": [{"name": c.name, "value": None if c.action == "remove" else c.value} for c in changes]
        }
        self.client.request(
            "POST",
            "/api/v1/update_environment_variables",
            operation="update environment variables",
            json=body,
            idempotent=True,
        )
        return ApplyResult(applied=tuple(c.name for c in changes))

    def function_spec(self) -> list[str]:
        """Identifiers of the deployed functions (``messages.js:list``), HTTP actions as ``GET /path``.

        Runs ``_system/cli/modules:apiSpec`` the way ``npx convex function-spec`` does: a
        subscription over the WebSocket sync protocol (see :mod:`.convex_sync`).
        """
        operation = "read function spec"
        if self.spec_transport == "sync" and self._admin_key:
            functions = run_system_query(
                self.client.base_url,
                self._admin_key,
                "_system/cli/modules:apiSpec",
                operation=operation,
                settings=self.client.settings,
            )
        else:
            body = {"path": "_system/cli/modules:apiSpec", "args": [{}], "format": "convex_encoded_json"}
            response = self.client.request(
                "POST", "/api/query", operation=operation, json=body, idempotent=True
            )
            answer = self.client.json(response, operation)
            if not isinstance(answer, dict):
                raise self.client.malformed(operation, "not an object")
            if answer.get("status") == "error":
                raise self.client.malformed(operation, f"query failed: {answer.get('errorMessage', '?')}")
            functions = answer.get("value")
        if not isinstance(functions, list):
            raise self.client.malformed(operation, "value is not a list of functions")
        out: list[str] = []
        for item in functions:
            if not isinstance(item, dict):
                continue
            if "identifier" in item:
                out.append(str(item["identifier"]))
            elif item.get("functionType") == "HttpAction":
                out.append(f"{item.get('method', '?')} {item.get('path', '?')}")
        return out

    def last_push(self, since_ms: int = 0, *, max_pages: int = 50) -> tuple[int | None, str | None]:
        """The newest code push at or after ``since_ms``: (time in ms, its message), or (None, None).

        Read from the audit log's push events (Convex keeps no list of pushes); the log lists
        events oldest first from ``from`` and pages are followed by cursor, at most
        ``max_pages`` of 100 events. A deployment without an audit log (404) has no pushes.
        """
        operation = "read audit log"
        params: dict[str, Any] = {"from": max(since_ms, 0), "limit": 100}
        latest: tuple[int | None, str | None] = (None, None)
        for _ in range(max_pages):
            try:
                response = self.client.request(
                    "GET", "/api/v1/list_audit_log_events", operation=operation, params=params
                )
            except NotFoundError:
                return latest
            body = self.client.json(response, operation)
            items = body.get("items") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise self.client.malformed(operation, "no items list")
            for item in items:
                created = item.get("createTime") if isinstance(item, dict) else None
                if item.get("action") not in PUSH_ACTIONS or not isinstance(created, int | float):
                    continue
                stamp = int(created if created > 1e11 else created * 1000)  # tolerate seconds
                if latest[0] is None or stamp >= latest[0]:
                    metadata = item.get("metadata")
                    message = metadata.get("message") if isinstance(metadata, dict) else None
                    latest = (stamp, str(message) if message is not None else None)
            pagination = body.get("pagination") or {}
            cursor = pagination.get("nextCursor") if isinstance(pagination, dict) else None
            if not pagination.get("hasMore") or not cursor:
                break
            params = {**params, "cursor": cursor}
        return latest

    def last_push_time(self) -> float | None:
        """When code was last pushed (epoch seconds), or None."""
        stamp, _message = self.last_push()
        return stamp / 1000.0 if stamp is not None else None


def _open(request: OpenRequest) -> ConvexPlatform:
    return ConvexPlatform.from_environ(
        environ=request.environ,
        deployment=request.params.get("deployment"),
        url=request.params.get("url"),
        plain_names=request.plain_names,
        target=request.target,
        env=request.env,
    )


def _remove_hint(resource: str, key: str, secret: bool) -> str | None:
    # convex-js src/cli/lib/deploymentSelection.ts: --deployment NAME asks Convex's cloud (a
    # login) for the deployment, --admin-key would print a secret; without flags the CLI picks
    # CONVEX_DEPLOY_KEY, else CONVEX_SELF_HOSTED_URL/_ADMIN_KEY: the pair this adapter reads
    return shlex.join(["npx", "convex", "env", "remove", key])


SPEC = PlatformSpec(
    name="convex",
    label="Convex",
    short_label="Convex",
    environment_prefixes=ConvexPlatform.ENVIRONMENT_PREFIXES,
    local_readers=ConvexPlatform.LOCAL_READERS,
    factory=_open,
    resource_key="deployment",
    limits=Limits(
        max_value_bytes=8192,
        max_name_bytes=256,
        warn_name_chars=40,
        reserved=("CONVEX_CLOUD_URL", "CONVEX_SITE_URL"),
        max_keys=512,
    ),
    remove_hint=_remove_hint,
    console=convex_console,
    deploy_command="npx convex deploy --yes",
    deploy_rank=1,
    checks_section="convex",
    rollback_rank=3,
    deploy_model="push",
    rollback_scope=(
        ("code", "REVERTED: the Convex folder at the target git ref is deployed again"),
        ("plain vars", "NOT reverted: Convex does not version environment variables"),
        ("secrets", "NOT reverted: Convex does not version environment variables"),
        ("data", "NOT reverted: documents stay; the target schema must accept them (schema guard)"),
        ("Durable Object state", "none on Convex"),
    ),
    schema_guard=True,
    code_dir="convex",
    dev_marker_params=("deployment", "url"),
    prefetch_reads=("convex_info", "functions"),
    rollback_source="git",
)
