"""Run a Worker under the real Workers runtime (workerd) through ``wrangler dev --local``.

The harness installs nothing: it uses the wrangler that ``npm ci`` put in the Worker's
``node_modules/.bin``. Each run works on a temporary copy of the Worker directory (so its
``.dev.vars``, bundle output and Durable Object storage never land in the repository),
with a temporary HOME so wrangler never reads a login, and with metrics and the
``cf`` object download switched off (no network)::

    with WranglerDev(Path("fixtures/example/worker"), vars={"RATE_LIMIT_PER_MINUTE": "3"}) as dev:
        requests.get(f"{dev.url}/health", timeout=5)
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO

import requests

from deploycheck.errors import DeploycheckError
from deploycheck.redact import redact, register_secret

__all__ = ["START_DEADLINE_S", "WranglerDev", "WranglerDevError", "find_wrangler", "install_command"]

#: how long wrangler dev may take to answer its first /health
START_DEADLINE_S = 60.0
#: how long a stop waits for wrangler to shut workerd down before killing the group
STOP_GRACE_S = 10.0
_POLL_INTERVAL_S = 0.25
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COPY_IGNORE = shutil.ignore_patterns("node_modules", ".wrangler", ".dev.vars", ".dev.vars.*", ".env*")
# Inherited variables that could point wrangler at an account or change its output.
_DROPPED_PREFIXES = ("CLOUDFLARE_", "CF_", "WRANGLER_", "MINIFLARE_")


class WranglerDevError(DeploycheckError):
    """Raised when wrangler is not installed, exits early, or is not ready by the deadline."""


def find_wrangler(worker_dir: Path) -> Path | None:
    """Return the wrangler executable installed in ``worker_dir/node_modules``, if any."""
    candidate = worker_dir / "node_modules" / ".bin" / "wrangler"
    return candidate if candidate.is_file() and os.access(candidate, os.X_OK) else None


def install_command(worker_dir: Path) -> str:
    """Return the command that installs the pinned wrangler for ``worker_dir``."""
    return f"npm ci --prefix {worker_dir} --no-audit --no-fund"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _dev_vars_line(key: str, value: str) -> str:
    if not _NAME.fullmatch(key):
        msg = f"invalid Worker variable name {key!r}: use letters, digits and underscores"
        raise ValueError(msg)
    if "\n" in value or "\r" in value:
        msg = f"the value of Worker variable {key} spans several lines, which .dev.vars cannot hold"
        raise ValueError(msg)
    if "'" not in value:
        return f"{key}='{value}'"
    if '"' not in value:
        return f'{key}="{value}"'
    msg = f"the value of Worker variable {key} holds both quote characters, which .dev.vars cannot hold"
    raise ValueError(msg)


class WranglerDev:
    """One ``wrangler dev --local`` process serving a copy of a Worker directory on 127.0.0.1.

    ``vars`` and ``secrets`` are written to the copy's ``.dev.vars`` (they override the
    config's ``[vars]``); secret values are registered with the redactor so the captured
    output never shows them. ``config_text``, when given, replaces the copy's
    ``wrangler.toml`` (tests use it to drop a binding). ``port=0`` picks a free port. Use as
    a context manager, or call :meth:`start` and, always, :meth:`stop`.
    """

    def __init__(
        self,
        worker_dir: Path,
        port: int = 0,
        vars: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
        *,
        start_deadline: float = START_DEADLINE_S,
        wrangler: Path | None = None,
        config_text: str | None = None,
    ) -> None:
        self.worker_dir = Path(worker_dir).resolve()
        self.port = port
        self.vars = dict(vars or {})
        self.secrets = dict(secrets or {})
        self.start_deadline = start_deadline
        self.config_text = config_text
        self.wrangler = wrangler or find_wrangler(self.worker_dir)
        self._process: subprocess.Popen[bytes] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._log: IO[bytes] | None = None
        self._log_path: Path | None = None
        self._url: str | None = None
        for value in self.secrets.values():
            register_secret(value)

    @property
    def url(self) -> str:
        """The base URL the Worker answers on, e.g. ``http://127.0.0.1:41234``."""
        if self._url is None:
            msg = "wrangler dev is not running: call start() (or use it as a context manager) first"
            raise WranglerDevError(msg)
        return self._url

    @property
    def is_running(self) -> bool:
        """Whether the wrangler process is alive."""
        return self._process is not None and self._process.poll() is None

    def output(self) -> str:
        """Everything wrangler and the Worker printed so far, with secrets masked."""
        if self._log_path is None or not self._log_path.exists():
            return ""
        return redact(self._log_path.read_text(encoding="utf-8", errors="replace"))

    def _tail(self, lines: int = 30) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def _prepare(self, root: Path) -> Path:
        config_names = ("wrangler.toml", "wrangler.jsonc", "wrangler.json")
        if not any((self.worker_dir / name).is_file() for name in config_names):
            msg = f"{self.worker_dir} has no wrangler configuration ({', '.join(config_names)})"
            raise WranglerDevError(msg)
        copy = root / "worker"
        shutil.copytree(self.worker_dir, copy, ignore=_COPY_IGNORE)
        if self.config_text is not None:
            for name in config_names:
                (copy / name).unlink(missing_ok=True)
            (copy / "wrangler.toml").write_text(self.config_text, encoding="utf-8")
        values = {**self.vars, **self.secrets}
        if values:
            lines = [_dev_vars_line(key, value) for key, value in values.items()]
            (copy / ".dev.vars").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return copy

    def _environ(self, home: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_PREFIXES)}
        env.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            CLOUDFLARE_CF_FETCH_ENABLED="false",
            WRANGLER_SEND_METRICS="false",
            WRANGLER_HIDE_BANNER="true",
            NO_COLOR="1",
            CI="true",
        )
        return env

    def start(self) -> WranglerDev:
        """Start wrangler dev and wait until the Worker answers ``/health``; return self."""
        if self._process is not None:
            msg = "wrangler dev is already started; stop() it before starting again"
            raise WranglerDevError(msg)
        if self.wrangler is None:
            msg = (
                f"wrangler is not installed in {self.worker_dir / 'node_modules'}. "
                f"Next step: {install_command(self.worker_dir)}"
            )
            raise WranglerDevError(msg)
        self._tmp = tempfile.TemporaryDirectory(prefix="deploycheck-workerd-")
        root = Path(self._tmp.name)
        try:
            copy = self._prepare(root)
            home = root / "home"
            home.mkdir()
            port = self.port or _free_port()
            command = [
                str(self.wrangler), "dev",
                "--ip", "127.0.0.1", "--port", str(port),
                "--inspector-port", str(_free_port()),
                "--local", "--show-interactive-dev-session=false",
                "--persist-to", str(root / "state"),
                "--log-level", "info",
            ]  # fmt: skip
            self._log_path = root / "wrangler.log"
            self._log = self._log_path.open("wb")
            self._process = subprocess.Popen(
                command,
                cwd=copy,
                env=self._environ(home),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self._wait_ready(f"http://127.0.0.1:{port}")
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, url: str) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.start_deadline
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            code = self._process.poll()
            if code is not None:
                msg = f"wrangler dev exited with code {code} before it was ready. Its output:\n{self._tail()}"
                raise WranglerDevError(msg)
            try:
                response = requests.get(f"{url}/health", timeout=2)
                body = response.json()
            except (requests.RequestException, ValueError) as exc:
                last_error = type(exc).__name__
            else:
                if isinstance(body, dict) and "status" in body:
                    self._url = url
                    return
                last_error = f"HTTP {response.status_code} without a health document"
            time.sleep(_POLL_INTERVAL_S)
        msg = (
            f"wrangler dev did not answer {url}/health within {self.start_deadline:g} s "
            f"(last attempt: {last_error}). Its output:\n{self._tail()}"
        )
        raise WranglerDevError(msg)

    def stop(self) -> None:
        """Stop wrangler and workerd (the whole process group) and remove the temporary copy."""
        process, self._process, self._url = self._process, None, None
        if process is not None:
            self._signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self._signal_group(process.pid, signal.SIGKILL)
                process.wait(timeout=STOP_GRACE_S)
            # workerd may outlive wrangler's own exit by a moment: leave nothing behind
            self._signal_group(process.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
            self._log_path = None

    @staticmethod
    def _signal_group(pgid: int, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)

    def __enter__(self) -> WranglerDev:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
