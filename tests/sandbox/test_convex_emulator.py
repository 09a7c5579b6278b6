"""Unit tests of the Convex deployment emulator, calling ``handle`` directly, with response schemas."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import requests

from deploycheck.redact import fingerprint
from deploycheck.sandbox.convex import ConvexEmulator
from deploycheck.sandbox.core import Request, Response

NAME = "prod-graceful-shrimp-355"
KEY = f"prod:{NAME}|0123456789abcdef0123456789abcdef"
AUTH = {"authorization": f"Convex {KEY}"}

# Schemas of the documented response shapes (convex-backend deployment API and system queries).
ERROR_SCHEMA = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}
LIST_SCHEMA = {
    "type": "object",
    "required": ["environmentVariables"],
    "additionalProperties": False,
    "properties": {"environmentVariables": {"type": "object", "additionalProperties": {"type": "string"}}},
}
DEPLOYMENT_INFO_SCHEMA = {
    "type": "object",
    "required": [
        "kind",
        "deploymentType",
        "teamId",
        "projectId",
        "projectName",
        "projectSlug",
        "id",
        "reference",
    ],
    "properties": {
        "kind": {"const": "cloud"},
        "deploymentType": {"enum": ["dev", "prod", "preview", "custom"]},
        "teamId": {"type": "integer"},
        "projectId": {"type": "integer"},
        "projectName": {"type": "string"},
        "projectSlug": {"type": "string"},
        "id": {"type": "integer"},
        "reference": {"type": "string"},
        "lastPushTime": {"type": ["integer", "null"]},
    },
}
CHECK_ADMIN_KEY_SCHEMA = {
    "type": "object",
    "required": ["success", "allowedOps", "isReadOnly"],
    "properties": {
        "success": {"type": "boolean"},
        "allowedOps": {"type": "array", "items": {"type": "string"}},
        "isReadOnly": {"type": "boolean"},
    },
}
FUNCTION_SCHEMA = {
    "oneOf": [
        {
            "type": "object",
            "required": ["identifier", "functionType", "visibility", "args", "returns"],
            "properties": {
                "identifier": {"type": "string", "pattern": r"^[\w/.-]+\.js:[\w$]+$"},
                "functionType": {"enum": ["Query", "Mutation", "Action", "HttpAction"]},
                "visibility": {
                    "type": "object",
                    "required": ["kind"],
                    "properties": {"kind": {"enum": ["public", "internal"]}},
                },
                "args": {"type": "object", "required": ["type"]},
                "returns": {"type": "object", "required": ["type"]},
            },
        },
        {
            "type": "object",
            "required": ["functionType", "method", "path"],
            "not": {"required": ["identifier"]},
            "properties": {"functionType": {"const": "HttpAction"}, "method": {"type": "string"}},
        },
    ]
}
QUERY_SCHEMA = {
    "oneOf": [
        {"type": "object", "required": ["status", "value"], "properties": {"status": {"const": "success"}}},
        {
            "type": "object",
            "required": ["status", "errorMessage"],
            "properties": {"status": {"const": "error"}, "errorMessage": {"type": "string"}},
        },
    ]
}
AUDIT_SCHEMA = {
    "type": "object",
    "required": ["items", "pagination"],
    "properties": {
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["actor", "action", "createTime", "metadata"],
                "properties": {
                    "actor": {"type": "object", "required": ["kind"]},
                    "action": {"type": "string"},
                    "createTime": {"type": "integer"},
                    "metadata": {"type": "object"},
                    "clientIp": {"type": ["string", "null"]},
                    "clientUserAgent": {"type": ["string", "null"]},
                },
            },
        },
        "pagination": {
            "type": "object",
            "required": ["hasMore"],
            "properties": {"hasMore": {"type": "boolean"}, "nextCursor": {"type": ["string", "null"]}},
        },
    },
}


class StepClock:
    """A clock that advances one millisecond per reading, so event times are distinct."""

    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        self.now += 0.001
        return self.now


@pytest.fixture
def convex() -> ConvexEmulator:
    """A freshly seeded Convex deployment emulator."""
    return ConvexEmulator(KEY, now=StepClock())


def call(
    convex: ConvexEmulator,
    method: str,
    path: str,
    body: Any = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Send one request, authenticated with the deploy key unless ``headers`` says otherwise."""
    raw = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else b"")
    sent = {**(AUTH if headers is None else headers), "host": "127.0.0.1:3210"}
    return convex.handle(Request(method, path, {k: [v] for k, v in (query or {}).items()}, sent, raw))


def update(convex: ConvexEmulator, *changes: tuple[str, str | None], path: str = "/api/v1") -> Response:
    """POST one update_environment_variables batch."""
    body = {"changes": [{"name": n, "value": v} for n, v in changes]}
    return call(convex, "POST", f"{path}/update_environment_variables", body)


def variables(convex: ConvexEmulator) -> dict[str, str]:
    """The listed environment variables, after checking the response shape."""
    response = call(convex, "GET", "/api/v1/list_environment_variables")
    assert response.status == 200
    jsonschema.validate(response.body, LIST_SCHEMA)
    assert isinstance(response.body, dict)
    listed: dict[str, str] = response.body["environmentVariables"]
    return listed


def query(convex: ConvexEmulator, path: str, args: dict[str, Any] | None = None) -> Any:
    """Run a function through POST /api/query and return the validated body."""
    body = {"path": path, "args": [args or {}], "format": "convex_encoded_json"}
    response = call(convex, "POST", "/api/query", body)
    assert response.status == 200
    jsonschema.validate(response.body, QUERY_SCHEMA)
    return response.body


# -- environment variables --------------------------------------------------------------------


def test_set_list_and_delete_environment_variables(convex: ConvexEmulator) -> None:
    """A batch sets variables (200, empty body); a null value deletes; deleting a missing one is a no-op."""
    response = update(convex, ("API_URL", "https://api.example.com"), ("MODE", "live"))
    assert (response.status, response.body) == (200, b"")
    assert variables(convex) == {"API_URL": "https://api.example.com", "MODE": "live"}
    assert update(convex, ("MODE", None), ("NEVER_SET", None)).status == 200
    assert variables(convex) == {"API_URL": "https://api.example.com"}


def test_unversioned_paths_use_the_same_handlers(convex: ConvexEmulator) -> None:
    """/api/update_environment_variables and /api/list_environment_variables behave like /api/v1/."""
    assert update(convex, ("LEGACY", "yes"), path="/api").status == 200
    response = call(convex, "GET", "/api/list_environment_variables")
    assert response.body == {"environmentVariables": {"LEGACY": "yes"}}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (("1BAD", "x"), "EnvironmentVariableNameInvalid"),
        (("BAD-NAME", "x"), "EnvironmentVariableNameInvalid"),
        (("N" * 257, "x"), "EnvironmentVariableNameTooLong"),
        (("BIG", "é" * 4097), "EnvironmentVariableValueTooLarge"),
        (("CONVEX_CLOUD_URL", "x"), "EnvVarNameForbidden"),
        (("CONVEX_SITE_URL", "x"), "EnvVarNameForbidden"),
        (("KEEP", "twice"), "EnvVarNameNotUnique"),
    ],
    ids=["leading-digit", "dash", "long-name", "value-8KiB", "cloud-url", "site-url", "duplicate"],
)
def test_one_bad_change_rejects_the_whole_batch(
    convex: ConvexEmulator, change: tuple[str, str | None], code: str
) -> None:
    """Any invalid change answers 400 with the backend's code and applies none of the batch."""
    update(convex, ("KEEP", "old"))
    response = update(convex, ("KEEP", "new"), ("ALSO", "new"), change)
    assert response.status == 400
    jsonschema.validate(response.body, ERROR_SCHEMA)
    assert isinstance(response.body, dict) and response.body["code"] == code
    assert variables(convex) == {"KEEP": "old"}


def test_limits_on_count_and_total_size(convex: ConvexEmulator) -> None:
    """513 variables break EnvVarLimitMet; 512 KiB in total breaks EnvVarTotalSizeLimitMet."""
    many = [(f"V{i}", "x") for i in range(513)]
    assert update(convex, *many[:512]).status == 200
    over = update(convex, many[512])
    assert isinstance(over.body, dict) and over.body["code"] == "EnvVarLimitMet"
    convex.reset()
    heavy = [(f"H{i}", "x" * 8192) for i in range(64)]
    too_heavy = update(convex, *heavy)
    assert isinstance(too_heavy.body, dict) and too_heavy.body["code"] == "EnvVarTotalSizeLimitMet"
    assert variables(convex) == {}


def test_value_of_exactly_8_kib_and_leading_underscore_are_accepted(convex: ConvexEmulator) -> None:
    """The backend's limits are inclusive and its name regex accepts a leading underscore."""
    assert update(convex, ("_PRIVATE", "x" * 8192)).status == 200
    assert fingerprint(variables(convex)["_PRIVATE"]) == fingerprint("x" * 8192)


@pytest.mark.parametrize(
    "body", [b"{oops", {"nochanges": []}, {"changes": [{"value": "x"}]}, {"changes": "x"}]
)
def test_malformed_update_bodies_are_bad_requests(convex: ConvexEmulator, body: Any) -> None:
    """A body that is not JSON or lacks the changes list answers 400 BadJsonBody."""
    response = call(convex, "POST", "/api/v1/update_environment_variables", body)
    assert response.status == 400
    assert isinstance(response.body, dict) and response.body["code"] == "BadJsonBody"


# -- authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": f"Convex {KEY}"},
        {"authorization": f"convex {KEY.split(':', 1)[1]}"},
        {"authorization": f"CONVEX {KEY}"},
    ],
    ids=["full-key", "without-type-prefix", "upper-case-scheme"],
)
def test_deploy_key_forms_are_accepted(convex: ConvexEmulator, headers: dict[str, str]) -> None:
    """The full key or the part after the type prefix, with a case-insensitive 'Convex ' scheme."""
    assert call(convex, "GET", "/api/v1/list_environment_variables", headers=headers).status == 200


def test_admin_key_query_parameter_is_accepted(convex: ConvexEmulator) -> None:
    """Without an Authorization header the ?adminKey= parameter authenticates."""
    response = call(convex, "GET", "/api/v1/list_environment_variables", query={"adminKey": KEY}, headers={})
    assert response.status == 200


@pytest.mark.parametrize(
    "key",
    [f"prod:{NAME}|wrong", f"prod:prod-other-deployment-1|{KEY.split('|')[1]}", "garbage"],
    ids=["wrong-secret", "other-deployment", "garbage"],
)
def test_wrong_keys_are_bad_admin_keys(convex: ConvexEmulator, key: str) -> None:
    """A wrong secret or a key for another deployment answers 401 BadAdminKey."""
    response = call(
        convex,
        "POST",
        "/api/v1/update_environment_variables",
        {"changes": []},
        headers={"authorization": f"Convex {key}"},
    )
    assert response.status == 401
    assert response.body == {
        "code": "BadAdminKey",
        "message": "The provided admin key was invalid for this instance",
    }


@pytest.mark.parametrize(
    "headers", [{}, {"authorization": "Bearer some-user-jwt"}], ids=["missing", "bearer"]
)
def test_missing_admin_key_is_a_bad_deploy_key(convex: ConvexEmulator, headers: dict[str, str]) -> None:
    """No admin key at all answers 403 BadDeployKey naming the deployment."""
    response = call(convex, "GET", "/api/v1/list_environment_variables", headers=headers)
    assert response.status == 403
    jsonschema.validate(response.body, ERROR_SCHEMA)
    assert isinstance(response.body, dict) and response.body["code"] == "BadDeployKey"
    assert NAME in response.body["message"]


def test_public_identity_routes_need_no_key(convex: ConvexEmulator) -> None:
    """/instance_name, /instance_version, /version and / answer text without credentials."""
    assert call(convex, "GET", "/instance_name", headers={}).body == NAME
    assert call(convex, "GET", "/version", headers={}).status == 200
    assert call(convex, "GET", "/instance_version", headers={}).body == call(convex, "GET", "/version").body
    root = call(convex, "GET", "/", headers={})
    assert root.body == "This Convex deployment is running. See https://docs.convex.dev/."


def test_check_admin_key(convex: ConvexEmulator) -> None:
    """check_admin_key confirms a valid key with its allowed operations and refuses a bad one."""
    good = call(convex, "GET", "/api/check_admin_key")
    jsonschema.validate(good.body, CHECK_ADMIN_KEY_SCHEMA)
    assert isinstance(good.body, dict) and good.body["success"] is True
    assert call(convex, "GET", "/api/check_admin_key", headers={"authorization": "Convex x|y"}).status == 401


def test_unknown_routes_and_methods(convex: ConvexEmulator) -> None:
    """Unknown paths answer 404; a known path with the wrong method answers 405."""
    assert call(convex, "GET", "/api/v1/nothing_here").status == 404
    assert call(convex, "DELETE", "/api/v1/list_environment_variables").status == 405


# -- deployment info, function spec, pushes ---------------------------------------------------


def test_deployment_info_names_the_deployment(convex: ConvexEmulator) -> None:
    """deployment_info answers kind cloud, type prod and the deployment name as reference."""
    response = call(convex, "GET", "/api/v1/deployment_info")
    jsonschema.validate(response.body, DEPLOYMENT_INFO_SCHEMA)
    assert isinstance(response.body, dict)
    assert (response.body["deploymentType"], response.body["reference"]) == ("prod", NAME)


def test_seeded_function_spec(convex: ConvexEmulator) -> None:
    """The seed push exposes messages.js:list (query), messages.js:send and logs.js:ingest (mutations)."""
    body = query(convex, "_system/cli/modules:apiSpec")
    for function in body["value"]:
        jsonschema.validate(function, FUNCTION_SCHEMA)
    kinds = {f["identifier"]: f["functionType"] for f in body["value"]}
    assert kinds == {
        "messages.js:list": "Query",
        "messages.js:send": "Mutation",
        "logs.js:ingest": "Mutation",
    }


def test_cloud_url_system_query(convex: ConvexEmulator) -> None:
    """_system/cli/convexUrl:cloudUrl answers the URL the deployment is reached at."""
    assert query(convex, "_system/cli/convexUrl:cloudUrl")["value"] == "http://127.0.0.1:3210"
    configured = ConvexEmulator(KEY, url="https://prod-graceful-shrimp-355.convex.cloud/")
    assert query(configured, "_system/cli/convexUrl:cloudUrl")["value"] == f"https://{NAME}.convex.cloud"


def test_system_queries_need_the_admin_key(convex: ConvexEmulator) -> None:
    """Calling a _system function without a key is refused like any admin route."""
    body = {"path": "_system/cli/modules:apiSpec", "args": [{}]}
    assert call(convex, "POST", "/api/query", body, headers={}).status == 403


def test_environment_variable_system_queries(convex: ConvexEmulator) -> None:
    """queryEnvironmentVariables lists user vars; :get also reads the built-in CONVEX_CLOUD_URL."""
    update(convex, ("A", "1"))
    assert query(convex, "_system/cli/queryEnvironmentVariables")["value"] == [{"name": "A", "value": "1"}]
    got = query(convex, "_system/cli/queryEnvironmentVariables:get", {"name": "CONVEX_CLOUD_URL"})
    assert got["value"] == {"name": "CONVEX_CLOUD_URL", "value": "http://127.0.0.1:3210"}
    assert query(convex, "_system/cli/queryEnvironmentVariables:get", {"name": "MISSING"})["value"] is None


def test_unknown_and_user_functions_answer_errors(convex: ConvexEmulator) -> None:
    """An unknown function and a user function (not executed by the sandbox) both answer status error."""
    assert "Could not find public function" in query(convex, "nope:missing")["errorMessage"]
    assert query(convex, "messages:list")["status"] == "error"


def test_push_replaces_the_function_spec(convex: ConvexEmulator) -> None:
    """A push derives identifiers from exports, marks internal ones, lists HTTP routes and dates the push."""
    before = call(convex, "GET", "/api/v1/deployment_info").body
    modules = [
        {"path": "messages.ts", "source": "export const list = query({ handler: async () => [] });"},
        {
            "path": "jobs/cleanup.ts",
            "source": "export const run = internalMutation({ handler: async () => {} });",
        },
        {
            "path": "http.ts",
            "source": "export const hook = httpAction(async () => new Response());\n"
            'http.route({ path: "/hook", method: "POST", handler: hook });',
        },
    ]
    response = call(
        convex, "POST", "/api/push_config", {"modules": modules, "schema": None, "message": "sha=abc1234"}
    )
    assert response.status == 200
    assert isinstance(response.body, dict) and response.body["functions"] == 4
    spec = query(convex, "_system/cli/modules:apiSpec")["value"]
    for function in spec:
        jsonschema.validate(function, FUNCTION_SCHEMA)
    identifiers = {f.get("identifier"): f for f in spec}
    assert set(identifiers) == {"messages.js:list", "jobs/cleanup.js:run", "http.js:hook", None}
    assert identifiers["jobs/cleanup.js:run"]["visibility"] == {"kind": "internal"}
    assert identifiers[None] == {"functionType": "HttpAction", "method": "POST", "path": "/hook"}
    after = call(convex, "GET", "/api/v1/deployment_info").body
    assert isinstance(before, dict) and isinstance(after, dict)
    assert after["lastPushTime"] == response.body["pushedAt"] > before["lastPushTime"]


def test_generated_modules_are_not_functions(convex: ConvexEmulator) -> None:
    """Modules under _generated/ are accepted but contribute no functions, as the CLI never bundles them."""
    modules = [
        {"path": "_generated/server.ts", "source": "export const fake = query({});"},
        {"path": "tasks.ts", "source": "export const get = query({});"},
    ]
    response = call(convex, "POST", "/api/push_config", {"modules": modules})
    assert isinstance(response.body, dict) and response.body["functions"] == 1


def test_dry_run_push_changes_nothing(convex: ConvexEmulator) -> None:
    """A dryRun push counts functions but leaves the spec and push history alone."""
    modules = [{"path": "a.ts", "source": "export const f = query({});"}]
    response = call(convex, "POST", "/api/push_config", {"modules": modules, "dryRun": True})
    assert isinstance(response.body, dict) and response.body["functions"] == 1
    assert len(convex.snapshot()["deployments"][NAME]["pushes"]) == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"modules": [{"path": "../evil.ts", "source": ""}]}, "InvalidModulePath"),
        ({"modules": [{"path": "/abs/path.ts", "source": ""}]}, "InvalidModulePath"),
        ({"modules": [], "message": "m" * 1025}, "PushMessageTooLong"),
        ({"modules": "nope"}, "BadJsonBody"),
    ],
    ids=["parent-path", "absolute-path", "long-message", "modules-not-a-list"],
)
def test_bad_pushes_are_rejected(convex: ConvexEmulator, body: dict[str, Any], code: str) -> None:
    """Invalid module paths, over-long messages and malformed bodies answer 400 and change nothing."""
    response = call(convex, "POST", "/api/push_config", body)
    assert response.status == 400
    assert isinstance(response.body, dict) and response.body["code"] == code
    assert len(convex.snapshot()["deployments"][NAME]["pushes"]) == 1


def test_push_requires_the_admin_key(convex: ConvexEmulator) -> None:
    """Pushing with a wrong key answers 401 and stores nothing."""
    response = call(
        convex, "POST", "/api/push_config", {"modules": []}, headers={"authorization": "Convex nope"}
    )
    assert response.status == 401
    assert len(convex.snapshot()["deployments"][NAME]["pushes"]) == 1


# -- audit log, snapshot, reset ---------------------------------------------------------------


def test_audit_log_records_env_changes_and_pushes(convex: ConvexEmulator) -> None:
    """Creating, updating and deleting variables and pushing each add one event, oldest first."""
    update(convex, ("A", "1"))
    update(convex, ("A", "2"))
    update(convex, ("A", "2"))  # unchanged: no event
    update(convex, ("A", None))
    call(convex, "POST", "/api/push_config", {"modules": [], "message": "sha=1234567"})
    response = call(convex, "GET", "/api/v1/list_audit_log_events", query={"from": "0", "limit": "100"})
    jsonschema.validate(response.body, AUDIT_SCHEMA)
    assert isinstance(response.body, dict)
    events = [(e["action"], e["metadata"]) for e in response.body["items"]]
    assert events == [
        ("push_config", {"message": "Initial deploy"}),
        ("create_environment_variable", {"variable_name": "A"}),
        ("update_environment_variable", {"variable_name": "A"}),
        ("delete_environment_variable", {"variable_name": "A"}),
        ("push_config", {"message": "sha=1234567"}),
    ]
    times = [e["createTime"] for e in response.body["items"]]
    assert times == sorted(times)


def test_audit_log_pages_with_a_cursor_and_filters_by_time(convex: ConvexEmulator) -> None:
    """limit and cursor walk the log page by page; from skips older events."""
    update(convex, *[(f"V{i}", "x") for i in range(4)])
    first = call(convex, "GET", "/api/v1/list_audit_log_events", query={"from": "0", "limit": "2"}).body
    assert isinstance(first, dict) and first["pagination"]["hasMore"] is True
    cursor = first["pagination"]["nextCursor"]
    rest = call(
        convex, "GET", "/api/v1/list_audit_log_events", query={"from": "0", "limit": "10", "cursor": cursor}
    )
    assert isinstance(rest.body, dict) and len(rest.body["items"]) == 3
    assert rest.body["pagination"] == {"hasMore": False, "nextCursor": None}
    newest = rest.body["items"][-1]["createTime"]
    recent = call(convex, "GET", "/api/v1/list_audit_log_events", query={"from": str(newest)}).body
    assert isinstance(recent, dict) and [e["metadata"] for e in recent["items"]] == [{"variable_name": "V3"}]


def test_audit_log_requires_from(convex: ConvexEmulator) -> None:
    """Listing audit events without the from parameter answers 400."""
    assert call(convex, "GET", "/api/v1/list_audit_log_events").status == 400


def test_snapshot_and_reset(convex: ConvexEmulator) -> None:
    """The snapshot holds vars, pushes and functions; reset returns to the single seed push."""
    update(convex, ("SECRET", "value-1"))
    call(convex, "POST", "/api/push_config", {"modules": [], "message": "empty"})
    state = convex.snapshot()["deployments"][NAME]
    assert fingerprint(state["environment_variables"]["SECRET"]) == fingerprint("value-1")
    assert [p["message"] for p in state["pushes"]] == ["Initial deploy", "empty"]
    assert state["functions"] == []
    convex.reset()
    seeded = convex.snapshot()["deployments"][NAME]
    assert seeded["environment_variables"] == {}
    assert len(seeded["pushes"]) == 1
    assert {f["identifier"] for f in seeded["functions"]} == {
        "messages.js:list",
        "messages.js:send",
        "logs.js:ingest",
    }


# -- end to end over real HTTP through the sandbox server --------------------------------------


@pytest.fixture
def cx_session(sandbox: Any) -> requests.Session:
    """A requests session carrying the sandbox's Convex deploy key."""
    session = requests.Session()
    session.headers.update(
        {"Authorization": f"Convex {sandbox.convex_deploy_key}", "Convex-Client": "npm-cli-1.45.0"}
    )
    return session


@pytest.mark.sandbox
def test_http_env_var_batch_reaches_sandbox_state(
    sandbox: Any, sandbox_admin: Any, cx_session: requests.Session
) -> None:
    """An update batch over HTTP is listed back and shows in the sandbox state; a bad batch changes nothing."""
    url = sandbox.convex_url
    ok = cx_session.post(
        f"{url}/api/v1/update_environment_variables",
        json={"changes": [{"name": "TOKEN", "value": "t-1"}]},
        timeout=10,
    )
    assert (ok.status_code, ok.content) == (200, b"")
    bad = cx_session.post(
        f"{url}/api/v1/update_environment_variables",
        json={"changes": [{"name": "TOKEN", "value": "t-2"}, {"name": "CONVEX_SITE_URL", "value": "x"}]},
        timeout=10,
    )
    assert (bad.status_code, bad.json()["code"]) == (400, "EnvVarNameForbidden")
    listed = cx_session.get(f"{url}/api/v1/list_environment_variables", timeout=10).json()
    jsonschema.validate(listed, LIST_SCHEMA)
    state = sandbox_admin.state()["convex"]["deployments"][NAME]["environment_variables"]
    assert (
        fingerprint(listed["environmentVariables"]["TOKEN"])
        == fingerprint(state["TOKEN"])
        == fingerprint("t-1")
    )


@pytest.mark.sandbox
def test_http_identity_function_spec_and_push(sandbox: Any, cx_session: requests.Session) -> None:
    """Over HTTP: instance_name, deployment_info, function spec, cloudUrl, and a push moving lastPushTime."""
    url = sandbox.convex_url
    assert requests.get(f"{url}/instance_name", timeout=10).text == NAME
    info = cx_session.get(f"{url}/api/v1/deployment_info", timeout=10).json()
    jsonschema.validate(info, DEPLOYMENT_INFO_SCHEMA)
    spec = cx_session.post(
        f"{url}/api/query",
        json={"path": "_system/cli/modules:apiSpec", "args": [{}], "format": "convex_encoded_json"},
        timeout=10,
    ).json()
    assert {f["identifier"] for f in spec["value"]} >= {
        "messages.js:list",
        "messages.js:send",
        "logs.js:ingest",
    }
    cloud = cx_session.post(
        f"{url}/api/query", json={"path": "_system/cli/convexUrl:cloudUrl", "args": [{}]}, timeout=10
    ).json()
    assert cloud["value"].rstrip("/") == url.rstrip("/")
    pushed = cx_session.post(
        f"{url}/api/push_config",
        json={
            "modules": [{"path": "ping.ts", "source": "export const ping = query({});"}],
            "message": "sha=feedbee",
        },
        timeout=10,
    ).json()
    after = cx_session.get(f"{url}/api/v1/deployment_info", timeout=10).json()
    assert after["lastPushTime"] == pushed["pushedAt"] > info["lastPushTime"]
    events = cx_session.get(f"{url}/api/v1/list_audit_log_events", params={"from": 0}, timeout=10).json()
    assert events["items"][-1]["metadata"] == {"message": "sha=feedbee"}


@pytest.mark.sandbox
def test_http_wrong_deploy_key_is_refused(sandbox: Any) -> None:
    """A deploy key with the wrong secret answers 401 BadAdminKey over HTTP."""
    url = f"{sandbox.convex_url}/api/v1/list_environment_variables"
    response = requests.get(url, headers={"Authorization": f"Convex prod:{NAME}|wrong"}, timeout=10)
    assert (response.status_code, response.json()["code"]) == (401, "BadAdminKey")
