"""Integration chains: substitution, subset matching, captures, polling and the built-in checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deploycheck.verify import (
    CallResult,
    Chain,
    ChainError,
    PollSettings,
    Step,
    app_convex_url,
    capture,
    is_subset,
    log_roundtrip_chain,
    run_chain,
    substitute,
)

FAST = PollSettings(deadline_s=5, interval_s=0.1)


def answer(status: int = 200, body: Any = None, headers: dict[str, str] | None = None) -> CallResult:
    return CallResult("GET", "http://x", status, headers or {}, json.dumps(body) if body is not None else "")


def test_substitute_settings_captures_and_origin() -> None:
    """${NAME}, ${NAME|origin} and ${NAME|host} are replaced in nested values; unknown names raise ChainError."""
    variables = {"APP_URL": "https://app.example.com/path", "id": "42"}
    out = substitute({"o": "${APP_URL|origin}", "l": ["${id}", "${APP_URL|host}"]}, variables)
    assert out == {"o": "https://app.example.com", "l": ["42", "app.example.com"]}
    with pytest.raises(ChainError, match="unknown variable"):
        substitute("${NOPE}", variables)


def test_is_subset() -> None:
    """Objects match by listed keys, lists by some matching item per expected item."""
    actual = {"accepted": True, "logs": [{"id": "a", "x": 1}, {"id": "b"}]}
    assert is_subset({"accepted": True}, actual)
    assert is_subset({"logs": [{"id": "b"}]}, actual)
    assert not is_subset({"logs": [{"id": "c"}]}, actual)
    assert not is_subset({"accepted": False}, actual)


def test_capture_paths() -> None:
    """json.<path>, header.<name>, status and text read from an answer; a missing path raises."""
    result = answer(202, {"log": {"ids": ["a", "b"]}}, {"x-request-id": "r1"})
    assert capture(result, "json.log.ids.1") == "b"
    assert capture(result, "header.X-Request-Id") == "r1"
    assert capture(result, "status") == "202"
    with pytest.raises(ChainError):
        capture(result, "json.log.missing")


class FakeSender:
    """Answers each request from a queue per (method, url); records what was sent."""

    def __init__(self, answers: dict[tuple[str, str], list[CallResult]]) -> None:
        self.answers = answers
        self.sent: list[tuple[str, str, Any, Any]] = []

    def __call__(self, method: str, url: str, *, headers: Any = None, json_body: Any = None) -> CallResult:
        self.sent.append((method, url, headers, json_body))
        queue = self.answers[(method, url)]
        return queue.pop(0) if len(queue) > 1 else queue[0]


def chain(poll: bool = False) -> Chain:
    return Chain.from_dict(
        {
            "name": "roundtrip",
            "steps": [
                {
                    "method": "POST",
                    "url": "${WORKER_URL}/logs",
                    "json": {"message": "m ${run_id}"},
                    "expect_status": 202,
                    "capture": {"log_id": "json.id"},
                },
                {"url": "${WORKER_URL}/logs", "expect_json": {"logs": [{"id": "${log_id}"}]}, "poll": poll},
            ],
        }
    )


def test_chain_passes_and_substitutes_captures() -> None:
    """A chain whose steps meet their expectations passes; a captured value is used by the next step."""
    send = FakeSender(
        {
            ("POST", "http://w/logs"): [answer(202, {"id": "L1"})],
            ("GET", "http://w/logs"): [answer(200, {"logs": [{"id": "L1"}]})],
        }
    )
    verdict = run_chain(chain(), {"WORKER_URL": "http://w"}, FAST, send=send, sleep=lambda s: None)
    assert verdict.outcome == "pass", verdict.message
    assert send.sent[0][3]["message"].startswith("m ")
    assert "${run_id}" not in send.sent[0][3]["message"]


def test_chain_fails_at_first_unmet_step() -> None:
    """A wrong status fails the chain naming the step and what came back."""
    send = FakeSender({("POST", "http://w/logs"): [answer(403, {"error": "origin not allowed"})]})
    verdict = run_chain(chain(), {"WORKER_URL": "http://w"}, FAST, send=send, sleep=lambda s: None)
    assert verdict.outcome == "fail"
    assert "step 1" in verdict.message
    assert "expected HTTP 202" in verdict.message


def test_polled_step_passing_after_retries_warns() -> None:
    """A poll step that passes on its third attempt makes the chain WARN "passed after 3 attempts"."""
    send = FakeSender(
        {
            ("POST", "http://w/logs"): [answer(202, {"id": "L1"})],
            ("GET", "http://w/logs"): [
                answer(200, {"logs": []}),
                answer(200, {"logs": []}),
                answer(200, {"logs": [{"id": "L1"}]}),
            ],
        }
    )
    verdict = run_chain(chain(poll=True), {"WORKER_URL": "http://w"}, FAST, send=send, sleep=lambda s: None)
    assert verdict.outcome == "warn"
    assert "passed after 3 attempts" in verdict.message


def test_unpolled_step_does_not_retry() -> None:
    """Without poll: true a step is tried once."""
    send = FakeSender(
        {
            ("POST", "http://w/logs"): [answer(202, {"id": "L1"})],
            ("GET", "http://w/logs"): [answer(200, {"logs": []}), answer(200, {"logs": [{"id": "L1"}]})],
        }
    )
    verdict = run_chain(chain(), {"WORKER_URL": "http://w"}, FAST, send=send, sleep=lambda s: None)
    assert verdict.outcome == "fail"
    assert len(send.sent) == 2


def test_log_roundtrip_chain_checks_cors_echo() -> None:
    """The built-in chain fails when Access-Control-Allow-Origin does not echo the app's origin."""
    origin = "https://app.example.com"
    built = log_roundtrip_chain("http://w/", f"{origin}/")
    assert [s.method for s in built.steps] == ["OPTIONS", "POST", "GET"]
    assert built.steps[0].headers["Origin"] == origin
    send = FakeSender(
        {("OPTIONS", "http://w/logs"): [answer(204, None, {"access-control-allow-origin": "*"})]}
    )
    verdict = run_chain(built, {}, FAST, send=send, sleep=lambda s: None)
    assert verdict.outcome == "fail"
    assert "access-control-allow-origin" in verdict.message


def test_step_defaults() -> None:
    """A step defaults to GET expecting 200."""
    step = Step.from_dict({"url": "http://x"}, 0)
    assert (step.method, step.expect_status, step.name) == ("GET", (200,), "step 1")


def test_app_convex_url() -> None:
    """The URL's first host label must be the checked deployment's instance name."""
    url = "https://prod-graceful-shrimp-355.convex.cloud"
    assert app_convex_url(url, "NEXT_PUBLIC_CONVEX_URL", "prod-graceful-shrimp-355", None).outcome == "pass"
    wrong = app_convex_url(url, "NEXT_PUBLIC_CONVEX_URL", "dev-beaming-gull-639", None)
    assert wrong.outcome == "fail"
    assert "prod-graceful-shrimp-355" in wrong.message
    assert app_convex_url(None, "nowhere", "x", None).outcome == "skip"


def test_schema_rejects_malformed_chain_step(tmp_path) -> None:
    """deploycheck.yaml with an unknown step key or a bad capture path is refused, naming the key path."""
    from deploycheck.config import load_config
    from deploycheck.errors import ConfigError

    repo = Path(__file__).resolve().parents[2]
    text = (repo / "deploycheck.yaml").read_text(encoding="utf-8")
    text = text.replace("capture: {log_id: json.id}", "capture: {log_id: body.id}\n          expect_body: x")
    (tmp_path / "deploycheck.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "deploycheck.yaml")
    message = str(caught.value)
    assert "checks.integration[0].steps[0].expect_body" in message
    assert "checks.integration[0].steps[0].capture.log_id" in message
