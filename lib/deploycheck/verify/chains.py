"""Integration checks across platforms: chains of HTTP steps, and the two built-in ones.

A chain (``checks.integration`` in deploycheck.yaml) is a list of steps run in order;
each step may capture values from its answer for the steps after it::

    - name: worker-log-roundtrip
      platforms: [cloudflare-worker]
      steps:
        - name: send a log
          method: POST
          url: ${WORKER_URL}/logs
          headers: {Origin: "${APP_URL|origin}"}
          json: {level: info, message: "deploycheck ${run_id}"}
          expect_status: 202
          expect_json: {accepted: true}
          capture: {log_id: json.id}
        - name: read it back
          url: ${WORKER_URL}/logs
          expect_json: {logs: [{id: "${log_id}"}]}
          poll: true

``${NAME}`` is a captured value, else a setting (APP_URL, ...), else ``run_id`` (unique
per run); ``${NAME|origin}`` keeps only scheme://host:port. ``expect_json`` is a subset:
objects match when every expected key matches, lists when every expected item matches
some item. ``capture`` paths: ``json.a.b.0``, ``header.<name>``, ``status``, ``text``.
A ``poll: true`` step is retried until it meets its expectations or the poll deadline
passes; a chain that passed only after retrying reports WARN ("passed after N attempts").
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from deploycheck.verify.checkers import PollSettings, Verdict
from deploycheck.verify.probes import CallResult, call, poll

__all__ = [
    "Chain",
    "ChainError",
    "Step",
    "app_convex_url",
    "capture",
    "chains",
    "is_subset",
    "log_roundtrip_chain",
    "origin_of",
    "run_chain",
    "substitute",
]

_VARIABLE = re.compile(r"\$\{([A-Za-z_][\w.-]*)(?:\|(origin|host))?\}")
Sender = Callable[..., CallResult]


class ChainError(ValueError):
    """A chain refers to an unknown variable or capture path (a configuration mistake)."""


@dataclass(frozen=True)
class Step:
    """One HTTP request of a chain and what its answer must look like."""

    name: str
    url: str
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    expect_status: tuple[int, ...] = (200,)
    expect_json: Any = None
    expect_headers: Mapping[str, str] = field(default_factory=dict)
    capture: Mapping[str, str] = field(default_factory=dict)
    poll: bool = False

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], index: int) -> Step:
        """Build a step from its deploycheck.yaml mapping (validated by the JSON schema)."""
        status = data.get("expect_status", 200)
        return cls(
            name=str(data.get("name") or f"step {index + 1}"),
            url=str(data["url"]),
            method=str(data.get("method", "GET")).upper(),
            headers={str(k): str(v) for k, v in (data.get("headers") or {}).items()},
            json=data.get("json"),
            expect_status=tuple(status) if isinstance(status, list) else (int(status),),
            expect_json=data.get("expect_json"),
            expect_headers={str(k).lower(): str(v) for k, v in (data.get("expect_headers") or {}).items()},
            capture={str(k): str(v) for k, v in (data.get("capture") or {}).items()},
            poll=bool(data.get("poll", False)),
        )


@dataclass(frozen=True)
class Chain:
    """A named list of steps; ``platforms`` lets ``--platform`` select it."""

    name: str
    steps: tuple[Step, ...]
    platforms: tuple[str, ...] = ()
    description: str = ""
    destructive: bool = False

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Chain:
        """Build a chain from its ``checks.integration`` item."""
        return cls(
            name=str(data["name"]),
            steps=tuple(Step.from_dict(s, i) for i, s in enumerate(data.get("steps") or ())),
            platforms=tuple(data.get("platforms") or ()),
            description=str(data.get("description", "")),
            destructive=bool(data.get("destructive", False)),
        )


def origin_of(url: str) -> str:
    """``https://app.example.com/path`` -> ``https://app.example.com``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def substitute(value: Any, variables: Mapping[str, str]) -> Any:
    """Replace ``${NAME}`` / ``${NAME|origin}`` / ``${NAME|host}`` in strings, lists and mappings."""
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            name, function = match.group(1), match.group(2)
            if name not in variables:
                known = ", ".join(sorted(variables)) or "(none)"
                msg = f"unknown variable ${{{name}}}; known: {known}"
                raise ChainError(msg)
            text = variables[name]
            if function == "origin":
                return origin_of(text)
            if function == "host":
                return urlsplit(text).hostname or text
            return text

        return _VARIABLE.sub(replace, value)
    if isinstance(value, list):
        return [substitute(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, variables) for key, item in value.items()}
    return value


def is_subset(expected: Any, actual: Any) -> bool:
    """True when ``actual`` contains ``expected``: keys of objects, some matching item per list item."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and is_subset(value, actual[key]) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return isinstance(actual, list) and all(any(is_subset(e, a) for a in actual) for e in expected)
    return bool(expected == actual)


def capture(result: CallResult, path: str) -> str:
    """The value at ``path`` in an answer: ``json.a.0.b``, ``header.<name>``, ``status`` or ``text``."""
    head, _, rest = path.partition(".")
    if head == "status":
        return str(result.status)
    if head == "text":
        return result.text
    if head == "header":
        found = result.headers.get(rest.lower())
        if found is None:
            msg = f"no header {rest!r} to capture"
            raise ChainError(msg)
        return found
    if head != "json":
        msg = f"capture path {path!r} must start with json., header., status or text"
        raise ChainError(msg)
    node: Any = result.json()
    for part in rest.split(".") if rest else []:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            msg = f"the answer has no {path!r}"
            raise ChainError(msg)
    return node if isinstance(node, str) else str(node)


def _problem(
    step: Step, result: CallResult, expected_json: Any, expected_headers: Mapping[str, str]
) -> str | None:
    if result.error is not None or result.status is None:
        return result.describe()
    if result.status not in step.expect_status:
        wanted = " or ".join(map(str, step.expect_status))
        return f"{result.describe()}, expected HTTP {wanted}: {result.text[:160]!r}"
    for name, value in expected_headers.items():
        have = result.headers.get(name)
        if have != value:
            return f"{result.describe()} with {name}: {have!r}, expected {value!r}"
    if expected_json is not None and not is_subset(expected_json, result.json()):
        return f"{result.describe()}; the JSON answer does not contain {expected_json!r}"
    return None


def run_chain(
    chain: Chain,
    variables: Mapping[str, str],
    poll_settings: PollSettings,
    *,
    send: Sender = call,
    sleep: Callable[[float], None] = time.sleep,
    where: str = "",
) -> Verdict:
    """Run the chain's steps in order; FAIL at the first step that misses its expectations."""
    values = {"run_id": uuid.uuid4().hex[:12], **variables}
    label = where or f"integration chain {chain.name!r}"
    retried: list[str] = []
    for index, step in enumerate(chain.steps, start=1):
        try:
            url = substitute(step.url, values)
            headers = substitute(dict(step.headers), values)
            body = substitute(step.json, values)
            expected_json = substitute(step.expect_json, values)
            expected_headers = substitute(dict(step.expect_headers), values)
        except ChainError as exc:
            return Verdict(
                "fail", f"{label}, step {index} ({step.name}): {exc}. Next step: fix checks.integration"
            )

        def probe(st: Step = step, url: str = url, headers: Any = headers, body: Any = body) -> CallResult:
            return send(st.method, url, headers=headers, json_body=body)

        def ok(
            result: CallResult, st: Step = step, ej: Any = expected_json, eh: Any = expected_headers
        ) -> bool:
            return _problem(st, result, ej, eh) is None

        deadline = poll_settings.deadline_s if step.poll else 0.0
        outcome = poll(probe, ok, deadline_s=deadline, interval_s=poll_settings.interval_s, sleep=sleep)
        result: CallResult = outcome.value
        if not outcome.ok:
            tries = f" after {outcome.attempts} attempts" if outcome.attempts > 1 else ""
            problem = _problem(step, result, expected_json, expected_headers)
            return Verdict("fail", f"{label}, step {index} ({step.name}){tries}: {problem}")
        if outcome.attempts > 1:
            retried.append(f"step {index} ({step.name}) passed after {outcome.attempts} attempts")
        try:
            for name, path in step.capture.items():
                values[name] = capture(result, path)
        except ChainError as exc:
            return Verdict("fail", f"{label}, step {index} ({step.name}): {exc}")
    if retried:
        return Verdict("warn", f"{label}: {'; '.join(retried)}")
    return Verdict("pass", f"{label}: {len(chain.steps)} step(s) passed")


def log_roundtrip_chain(worker_url: str, app_url: str) -> Chain:
    """The built-in chain: the Worker accepts a log from the app's origin (CORS) and returns it."""
    base = worker_url.rstrip("/")
    origin = origin_of(app_url)
    cors = {"access-control-allow-origin": origin}
    steps = (
        Step(
            name="CORS preflight",
            method="OPTIONS",
            url=f"{base}/logs",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
            expect_status=(200, 204),
            expect_headers=cors,
        ),
        Step(
            name="POST a log",
            method="POST",
            url=f"{base}/logs",
            headers={"Origin": origin},
            json={
                "level": "info",
                "message": "deploycheck integration check ${run_id}",
                "source": "deploycheck",
            },
            expect_status=(200, 201, 202),
            expect_headers=cors,
            expect_json={"accepted": True},
            capture={"log_id": "json.id"},
        ),
        Step(
            name="GET /logs returns it",
            url=f"{base}/logs",
            headers={"Origin": origin},
            expect_json={"logs": [{"id": "${log_id}"}]},
            poll=True,
        ),
    )
    return Chain(
        name="worker-accepts-app-logs", steps=steps, platforms=("cloudflare-worker",), destructive=True
    )


def app_convex_url(url: str | None, source: str, instance_name: str | None, error: str | None) -> Verdict:
    """The web app's configured Convex URL points at the Convex deployment that was checked."""
    if not url:
        return Verdict("skip", f"the web app has no Convex URL configured ({source})")
    host = urlsplit(url).hostname or ""
    configured = host.split(".", 1)[0]
    if error is not None or not instance_name:
        return Verdict(
            "fail", f"cannot read the Convex deployment's instance name: {error or 'empty answer'}"
        )
    if configured == instance_name:
        return Verdict(
            "pass", f"the web app's Convex URL ({source}) names {instance_name}, the checked deployment"
        )
    return Verdict(
        "fail",
        f"the web app's Convex URL ({source}) names deployment {configured!r}, but the Convex deployment "
        f"checked is {instance_name!r}. Next step: fix NEXT_PUBLIC_CONVEX_URL in the source of truth and "
        "run deploycheck sync-env, then rebuild the web app",
    )


def chains(raw: Sequence[Mapping[str, Any]]) -> list[Chain]:
    """Every chain of ``checks.integration``."""
    return [Chain.from_dict(item) for item in raw]
