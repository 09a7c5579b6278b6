"""A small local runner of GitHub Actions steps, so tests run the workflows' own steps for real.

It reads a workflow job (or the composite ``action.yml``) and runs its steps in order the
way the Actions runner does: ``${{ }}`` expressions over the ``github``, ``inputs``,
``env``, ``secrets``, ``matrix``, ``steps`` and ``runner`` contexts; ``if:`` with
``success()`` as the default and ``always()``, ``failure()``, ``cancelled()``; ``run:``
scripts under ``bash --noprofile --norc -eo pipefail``; a fresh ``GITHUB_OUTPUT`` per
step, parsed (``name=value`` and ``name<<DELIMITER`` blocks) into ``steps.ID.outputs``;
``GITHUB_ENV`` lines carried to later steps; one ``GITHUB_STEP_SUMMARY`` per job.

``uses: ./`` runs the repository's composite action with its ``with:`` inputs. Four
marketplace actions are stood in for: ``actions/checkout`` (the tests run in the
checkout), ``actions/setup-python`` (the test interpreter is first on PATH),
``actions/upload-artifact`` (copies ``path`` into the run's ``artifacts-N/NAME``, so tests
can check what a run uploads) and ``actions/download-artifact`` with ``pattern`` (copies
the matching artifacts of earlier runs, as a later job of one workflow run gets them). Any other action, or an expression this evaluator does not know,
fails the test rather than being skipped silently.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_TOKEN_RE = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)|(?P<op>\|\||&&|==|!=|<=|>=|[!()<>.,\[\]])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)
_EXPR_RE = re.compile(r"\$\{\{(.*?)\}\}", re.S)


class Unsupported(Exception):
    """The workflow uses something this runner does not stand in for."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if not match or match.end() == pos:
            raise Unsupported(f"cannot parse expression {text!r} at {pos}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str, contexts: Mapping[str, Any], status: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.contexts = contexts
        self.status = status

    def peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.tokens[self.pos]
        if value is not None and token[1] != value:
            raise Unsupported(f"expected {value!r}, got {token[1]!r}")
        self.pos += 1
        return token

    def parse(self) -> Any:
        value = self.or_()
        if self.pos != len(self.tokens):
            raise Unsupported(f"trailing tokens in expression: {self.tokens[self.pos :]}")
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == "||":
            self.take()
            right = self.and_()
            value = value or right
        return value

    def and_(self) -> Any:
        value = self.compare()
        while self.peek() == "&&":
            self.take()
            right = self.compare()
            value = value and right
        return value

    def compare(self) -> Any:
        value = self.unary()
        while self.peek() in ("==", "!="):
            op = self.take()[1]
            right = self.unary()
            same = _loose(value) == _loose(right)
            value = same if op == "==" else not same
        return value

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not self.unary()
        return self.primary()

    def primary(self) -> Any:
        kind, text = self.take()
        if text == "(":
            value = self.or_()
            self.take(")")
            return value
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind != "name":
            raise Unsupported(f"unexpected {text!r}")
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        if self.peek() == "(":
            return self.call(text)
        value: Any = self.contexts.get(text)
        if text not in self.contexts:
            raise Unsupported(f"unknown context {text!r}")
        while self.peek() in (".", "["):
            if self.take()[1] == ".":
                key = self.take()[1]
            else:
                key = str(self.or_())
                self.take("]")
            value = value.get(key) if isinstance(value, Mapping) else None
        return value

    def call(self, name: str) -> Any:
        self.take("(")
        args = []
        while self.peek() != ")":
            args.append(self.or_())
            if self.peek() == ",":
                self.take()
        self.take(")")
        if name == "always":
            return True
        if name == "success":
            return self.status == "success"
        if name == "failure":
            return self.status == "failure"
        if name == "cancelled":
            return False
        if name == "format":
            return re.sub(r"\{(\d+)\}", lambda m: _text(args[int(m.group(1)) + 1]), str(args[0]))
        if name == "toJSON":
            return json.dumps(args[0])
        raise Unsupported(f"function {name}() is not supported")


def _loose(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def evaluate(expression: str, contexts: Mapping[str, Any], status: str = "success") -> Any:
    """The value of one expression (without the ``${{ }}``)."""
    return _Parser(expression, contexts, status).parse()


def interpolate(value: Any, contexts: Mapping[str, Any], status: str = "success") -> str:
    """A field with ``${{ }}`` parts replaced by their values, as text."""
    text = _text(value)
    return _EXPR_RE.sub(lambda m: _text(evaluate(m.group(1), contexts, status)), text)


def condition(raw: Any, contexts: Mapping[str, Any], status: str) -> bool:
    """An ``if:``: an expression with or without ``${{ }}``; ``success()`` when absent."""
    if raw is None:
        return status == "success"
    text = str(raw).strip()
    if isinstance(raw, bool):
        return raw
    match = re.fullmatch(r"\$\{\{(.*)\}\}", text, re.S)
    expression = match.group(1) if match else text
    has_status = re.search(r"\b(always|success|failure|cancelled)\(", expression)
    value = evaluate(expression, contexts, status)
    return bool(value) if has_status else bool(value) and status == "success"


def parse_command_file(text: str) -> dict[str, str]:
    """``GITHUB_OUTPUT`` / ``GITHUB_ENV`` contents: ``name=value`` lines and ``name<<DELIM`` blocks."""
    values: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            block = []
            for inner in lines:
                if inner == delimiter:
                    break
                block.append(inner)
            else:
                raise ValueError(f"unterminated {delimiter} block for {name}")
            values[name] = "\n".join(block)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    return values


@dataclass
class StepRecord:
    """What one step did: its name, whether it ran, its outcome, outputs and log."""

    name: str
    ran: bool
    outcome: str = "skipped"
    outputs: dict[str, str] = field(default_factory=dict)
    log: str = ""


@dataclass
class JobRun:
    """A finished job (or composite action): its steps, outcome, outputs and runner files."""

    steps: list[StepRecord]
    outcome: str
    outputs: dict[str, str]
    summary: str
    artifacts: Path

    def step(self, name: str) -> StepRecord:
        """The step named ``name`` (its ``name:`` or ``id:``)."""
        return next(s for s in self.steps if name in (s.name,))

    @property
    def log(self) -> str:
        """Every step's output, in order."""
        return "\n".join(f"== {s.name} ({s.outcome})\n{s.log}" for s in self.steps)


class Runner:
    """Runs the steps of a job of ``workflow`` (or of ``action.yml``) in the checkout ``repo``.

    ``environ`` is the runner's environment (what Actions sets for every step, plus the
    test's); ``github`` and ``secrets`` are the expression contexts; ``skip`` names steps
    the test does not run (e.g. an install the test environment already has).
    """

    def __init__(
        self,
        repo: Path,
        workdir: Path,
        environ: Mapping[str, str],
        *,
        github: Mapping[str, Any] | None = None,
        secrets: Mapping[str, str] | None = None,
        skip: tuple[str, ...] = (),
        timeout: float = 600,
    ) -> None:
        self.repo = repo
        self.workdir = workdir
        self.environ = dict(environ)
        self.github = {"action_path": str(repo), "workspace": str(repo), **(github or {})}
        self.secrets = dict(secrets or {})
        self.skip = skip
        self.timeout = timeout
        self.files = workdir / "runner-files"
        self.files.mkdir(parents=True, exist_ok=True)
        self.count = 0
        self.runs = 0
        self.artifacts = workdir / "artifacts"
        self.summary = self.files / "step_summary"

    def _new_run(self) -> None:
        """Each job run (a workflow run) has its own artifacts and job summary."""
        self.runs += 1
        self.artifacts = self.workdir / f"artifacts-{self.runs}"
        self.summary = self.files / f"step_summary-{self.runs}"
        self.summary.write_text("")

    # -- public ---------------------------------------------------------------------------------

    def run_job(
        self, workflow: Path, job: str, inputs: Mapping[str, str], matrix: Mapping[str, str] | None = None
    ) -> JobRun:
        """Run every step of ``job`` of ``workflow`` with the ``inputs`` of a workflow_dispatch."""
        self._new_run()
        data = yaml.safe_load(workflow.read_text())
        spec = data["jobs"][job]
        contexts: dict[str, Any] = {
            "github": self.github, "inputs": dict(inputs), "secrets": self.secrets, "matrix": dict(matrix or {}),
            "env": {}, "steps": {}, "runner": {"temp": str(self.files), "os": "Linux"}, "vars": {},
        }  # fmt: skip
        env = {k: interpolate(v, contexts) for k, v in (data.get("env") or {}).items()}
        contexts["env"] = dict(env)
        env.update({k: interpolate(v, contexts) for k, v in (spec.get("env") or {}).items()})
        return self._steps(spec["steps"], contexts, env, composite=False)

    def run_action(self, inputs: Mapping[str, str], env: Mapping[str, str] | None = None) -> JobRun:
        """Run the composite ``action.yml`` of the repository with ``inputs`` (defaults filled in)."""
        self._new_run()
        return self._action(dict(inputs), dict(env or {}))

    # -- steps ----------------------------------------------------------------------------------

    def _action(self, given: dict[str, str], env: dict[str, str]) -> JobRun:
        action = yaml.safe_load((self.repo / "action.yml").read_text())
        inputs = {}
        for name, spec in (action.get("inputs") or {}).items():
            if name in given:
                inputs[name] = given.pop(name)
            elif spec.get("required"):
                raise Unsupported(f"the action's required input {name!r} was not given")
            else:
                inputs[name] = _text(spec.get("default", ""))
        if given:
            raise Unsupported(f"the action has no input(s) {sorted(given)}")  # actionlint reports it too
        contexts: dict[str, Any] = {
            "github": self.github, "inputs": inputs, "env": dict(env), "steps": {},
            "runner": {"temp": str(self.files), "os": "Linux"},
        }  # fmt: skip
        run = self._steps(action["runs"]["steps"], contexts, env, composite=True)
        run.outputs = {
            name: interpolate(spec.get("value", ""), contexts)
            for name, spec in (action.get("outputs") or {}).items()
        }
        return run

    def _steps(
        self, steps: list[dict[str, Any]], contexts: dict[str, Any], env: dict[str, str], *, composite: bool
    ) -> JobRun:
        status = "success"
        records: list[StepRecord] = []
        for step in steps:
            name = str(step.get("name") or step.get("id") or step.get("uses") or "run")
            contexts["env"] = dict(env)
            name = interpolate(name, contexts)
            if not condition(step.get("if"), contexts, status) or name in self.skip:
                records.append(StepRecord(name, ran=False))
                continue
            step_env = {**env, **{k: interpolate(v, contexts) for k, v in (step.get("env") or {}).items()}}
            record = self._step(step, name, contexts, step_env)
            records.append(record)
            if step.get("id"):
                contexts["steps"][step["id"]] = {"outputs": record.outputs, "outcome": record.outcome,
                                                 "conclusion": record.outcome}  # fmt: skip
            if record.outcome == "failure" and not step.get("continue-on-error"):
                status = "failure"
            env.update(self._take_env())
        return JobRun(records, status, {}, self.summary.read_text(), self.artifacts)

    def _step(
        self, step: dict[str, Any], name: str, contexts: dict[str, Any], env: dict[str, str]
    ) -> StepRecord:
        uses = step.get("uses")
        if uses is None:
            return self._run(name, interpolate(step["run"], contexts), env)
        with_ = {k: interpolate(v, contexts) for k, v in (step.get("with") or {}).items()}
        action = str(uses).split("@")[0]
        if action == "./":
            inner = self._action(with_, env)
            log = inner.log
            return StepRecord(name, True, inner.outcome, inner.outputs, log)
        if action in ("actions/checkout", "actions/setup-python"):
            return StepRecord(name, True, "success", {}, f"stood in for {uses}")
        if action == "actions/upload-artifact":
            source = Path({**self.environ, **env}.get("GITHUB_WORKSPACE", self.repo)) / with_["path"]
            target = self.artifacts / with_["name"]
            if target.exists():
                return StepRecord(
                    name, True, "failure", {}, f"an artifact named {with_['name']} already exists"
                )
            if source.is_dir():
                shutil.copytree(source, target)
            return StepRecord(name, True, "success", {}, f"uploaded {source} as {with_['name']}")
        if action == "actions/download-artifact":
            return self._download(name, with_, env)
        raise Unsupported(f"step {name!r} uses {uses}, which this runner does not stand in for")

    def _download(self, name: str, with_: dict[str, str], env: dict[str, str]) -> StepRecord:
        """Every artifact of the earlier runs matching ``pattern`` into ``path/NAME`` (merge-multiple off)."""
        import fnmatch

        if "pattern" not in with_ or with_.get("merge-multiple", "false") != "false":
            raise Unsupported("download-artifact stands in only for pattern: without merge-multiple")
        target = Path({**self.environ, **env}.get("GITHUB_WORKSPACE", self.repo)) / with_.get("path", ".")
        found = sorted(
            p for p in self.workdir.glob("artifacts-*/*") if fnmatch.fnmatch(p.name, with_["pattern"])
        )
        for artifact in found:
            shutil.copytree(artifact, target / artifact.name)
        names = ", ".join(p.name for p in found)
        return StepRecord(name, True, "success", {}, f"downloaded {len(found)} artifact(s): {names}")

    def _run(self, name: str, script: str, env: dict[str, str]) -> StepRecord:
        self.count += 1
        output = self.files / f"output-{self.count}"
        output.write_text("")
        (self.files / "env").write_text("")
        script_path = self.files / f"step-{self.count}.sh"
        script_path.write_text(script)
        environ = {**self.environ, **env, "GITHUB_OUTPUT": str(output), "GITHUB_ENV": str(self.files / "env"),
                   "GITHUB_STEP_SUMMARY": str(self.summary), "RUNNER_TEMP": str(self.files)}  # fmt: skip
        cwd = Path(environ.get("GITHUB_WORKSPACE", self.repo))
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_path)],
            cwd=cwd, env=environ, capture_output=True, text=True, timeout=self.timeout, check=False,
        )  # fmt: skip
        outcome = "success" if done.returncode == 0 else "failure"
        log = done.stdout + done.stderr + f"\n[exit {done.returncode}]"
        return StepRecord(name, True, outcome, parse_command_file(output.read_text()), log)

    def _take_env(self) -> dict[str, str]:
        path = self.files / "env"
        if not path.is_file():
            return {}
        values = parse_command_file(path.read_text())
        path.write_text("")
        return values
