"""The Convex adapter against recorded Deployment API payloads."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import responses

from deploycheck.errors import AuthError, ConfigError, MalformedResponse, PlatformError
from deploycheck.platforms.base import ConfigPlatform, VarChange
from deploycheck.platforms.convex import ConvexPlatform, deployment_name_of_key, normalize_function_id

from .conftest import CONVEX_URL, FakeTime

KEY = "prod:prod-graceful-shrimp-355|eyJ2ZXJzaW9uIjoidGVzdCJ9"
Recorded = Callable[[str], responses.RequestsMock]


@pytest.fixture
def convex(fake_time: FakeTime) -> ConvexPlatform:
    """The adapter of deployment prod-graceful-shrimp-355; CONVEX_SECRET_X is marked plain."""
    adapter = ConvexPlatform.from_environ(
        environ={"CONVEX_DEPLOY_KEY": KEY},
        deployment="prod-graceful-shrimp-355",
        url=CONVEX_URL,
        plain_names=("NEXT_PUBLIC_APP_URL",),
        env="production",
    )
    fake_time.install(adapter.client)
    # recorded payloads are HTTP: the function spec is read through POST /api/query here
    adapter.spec_transport = "http"
    return adapter


def test_meets_protocol(convex: ConvexPlatform) -> None:
    """The Convex adapter is a ConfigPlatform."""
    assert isinstance(convex, ConfigPlatform)


def test_read_config_one_request(convex: ConvexPlatform, recorded: Recorded) -> None:
    """Values are readable; secrecy follows the plain names given, and one request reads all."""
    rsps = recorded("convex")
    state = convex.read_config()
    assert state.requests == 1
    assert state.vars["NEXT_PUBLIC_APP_URL"].value == "https://app.example.com"
    assert not state.vars["NEXT_PUBLIC_APP_URL"].secret
    assert state.vars["RESEND_API_KEY"].secret and state.vars["RESEND_API_KEY"].is_readable
    assert rsps.calls[0].request.headers["Authorization"] == f"Convex {KEY}"


def test_apply_is_one_batch(convex: ConvexPlatform, recorded: Recorded) -> None:
    """Every change goes in one update_environment_variables batch; removals are null."""
    rsps = recorded("convex")
    result = convex.apply_config(
        [VarChange("A", "add", "1", secret=False), VarChange("B", "remove", None, secret=True)]
    )
    assert result.applied == ("A", "B")
    assert len(rsps.calls) == 1
    assert json.loads(rsps.calls[0].request.body) == {
        "changes": [{"name": "A", "value": "1"}, {"name": "B", "value": None}]
    }


def test_update_retried_on_5xx(convex: ConvexPlatform, mocked: responses.RequestsMock) -> None:
    """The batch update carries explicit values, so a 5xx is retried."""
    url = f"{CONVEX_URL}/api/v1/update_environment_variables"
    mocked.post(url, status=503, json={"code": "ServiceUnavailable", "message": "try again"})
    mocked.post(url, status=200, body="")
    convex.apply_config([VarChange("A", "change", "2", secret=False)])
    assert len(mocked.calls) == 2


def test_probe_info_and_spec(convex: ConvexPlatform, recorded: Recorded) -> None:
    """instance_name, deployment_info and function_spec read the recorded deployment."""
    rsps = recorded("convex")
    assert convex.instance_name() == "prod-graceful-shrimp-355"
    assert convex.deployment_info()["deploymentType"] == "prod"
    spec = convex.function_spec()
    assert spec == ["messages.js:list", "messages.js:send", "logs.js:ingest", "GET /hook"]
    query = json.loads(rsps.calls[-1].request.body)
    assert query["path"] == "_system/cli/modules:apiSpec" and query["args"] == [{}]


def test_last_push_time(convex: ConvexPlatform, recorded: Recorded) -> None:
    """The last push is the newest push_config* event of the audit log, in seconds."""
    recorded("convex")
    assert convex.last_push_time() == 1755760000.0


def test_normalize_function_id() -> None:
    """Module extensions are dropped from function identifiers."""
    assert normalize_function_id("messages.js:list") == "messages:list"
    assert normalize_function_id("dir/logs.ts:ingest") == "dir/logs:ingest"


def test_key_deployment_name() -> None:
    """The deployment name is read from prod:/dev: keys and not from project keys."""
    assert deployment_name_of_key(KEY) == "prod-graceful-shrimp-355"
    assert deployment_name_of_key("bold-hyena-681|01c2") == "bold-hyena-681"
    assert deployment_name_of_key("preview:team:proj|abc") is None
    assert deployment_name_of_key("nokey") is None


def test_error_envelope_and_hint(convex: ConvexPlatform, mocked: responses.RequestsMock) -> None:
    """A Convex {code,message} error names the code and the key to check."""
    mocked.get(
        f"{CONVEX_URL}/api/v1/list_environment_variables",
        status=401,
        json={"code": "BadDeployKey", "message": "The provided deploy key was invalid."},
    )
    with pytest.raises(AuthError) as info:
        convex.read_config()
    assert info.value.code == "BadDeployKey"
    assert "CONVEX_DEPLOY_KEY" in str(info.value)
    assert "eyJ2ZXJzaW9u" not in str(info.value)


def test_query_error_is_reported(convex: ConvexPlatform, mocked: responses.RequestsMock) -> None:
    """A failed system query is reported as a malformed answer with its message."""
    mocked.post(f"{CONVEX_URL}/api/query", json={"status": "error", "errorMessage": "no such function"})
    with pytest.raises(MalformedResponse, match="no such function"):
        convex.function_spec()


def test_list_without_object_is_malformed(convex: ConvexPlatform, mocked: responses.RequestsMock) -> None:
    """A list answer without environmentVariables is MalformedResponse."""
    mocked.get(f"{CONVEX_URL}/api/v1/list_environment_variables", json={"vars": []})
    with pytest.raises(MalformedResponse):
        convex.list_env()


def test_key_for_other_deployment_refused() -> None:
    """A deploy key of another deployment is refused before any request."""
    with pytest.raises(ConfigError, match="dev-beaming-gull-639"):
        ConvexPlatform.from_environ(
            environ={"CONVEX_DEPLOY_KEY": "dev:dev-beaming-gull-639|abc", "CONVEX_URL": CONVEX_URL},
            deployment="prod-graceful-shrimp-355",
        )


def test_missing_key_names_variable() -> None:
    """Without a deploy key the error names CONVEX_DEPLOY_KEY."""
    with pytest.raises(ConfigError, match="CONVEX_DEPLOY_KEY"):
        ConvexPlatform.from_environ(environ={"CONVEX_URL": CONVEX_URL})


def test_self_hosted_variables(mocked: responses.RequestsMock) -> None:
    """CONVEX_SELF_HOSTED_URL and _ADMIN_KEY take precedence."""
    adapter = ConvexPlatform.from_environ(
        environ={
            "CONVEX_SELF_HOSTED_URL": "http://127.0.0.1:3210",
            "CONVEX_SELF_HOSTED_ADMIN_KEY": "convex-self-hosted|01c046ab",
            "CONVEX_URL": CONVEX_URL,
        },
        deployment="prod-graceful-shrimp-355",
    )
    assert adapter.client.base_url == "http://127.0.0.1:3210"
    mocked.get("http://127.0.0.1:3210/api/v1/list_environment_variables", json={"environmentVariables": {}})
    adapter.read_config()
    assert mocked.calls[0].request.headers["Authorization"] == "Convex convex-self-hosted|01c046ab"


def test_http_convex_url_refused() -> None:
    """A remote http CONVEX_URL is refused."""
    with pytest.raises(ConfigError, match="CONVEX_URL"):
        ConvexPlatform.from_environ(environ={"CONVEX_URL": "http://x.convex.cloud", "CONVEX_DEPLOY_KEY": KEY})


def test_no_url_names_config_key() -> None:
    """Without any URL the error points at the target's url parameter."""
    with pytest.raises(ConfigError, match=r"targets\.CONVEX\.environments\.production\.url"):
        ConvexPlatform.from_environ(environ={"CONVEX_DEPLOY_KEY": KEY}, env="production")


def test_non_json_error_body(convex: ConvexPlatform, mocked: responses.RequestsMock) -> None:
    """A plain-text error body still gives a message."""
    mocked.get(f"{CONVEX_URL}/api/v1/deployment_info", status=400, body="bad request: nope")
    with pytest.raises(PlatformError, match="bad request: nope"):
        convex.deployment_info()
