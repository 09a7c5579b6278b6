"""Local emulators of every platform the reference app uses, speaking the vendors' HTTP APIs.

    with Sandbox() as info:
        os.environ.update(info.environ())
        ...  # deploycheck talks to http://127.0.0.1 instead of the vendors

Services, in port order: cloudflare, github, convex, pages (the site), worker (the
log-ingestion Worker), admin (see :mod:`deploycheck.sandbox.admin`).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any

from deploycheck.sandbox.admin import AdminEmulator
from deploycheck.sandbox.core import Emulator
from deploycheck.sandbox.faults import FaultRegistry
from deploycheck.sandbox.ratelimit import RateLimits
from deploycheck.sandbox.server import RequestLog, ServiceServer

__all__ = [
    "ACCOUNT_ID",
    "CONVEX_DEPLOYMENT",
    "GITHUB_ENVIRONMENT",
    "GITHUB_REPOSITORY",
    "PAGES_PROJECT",
    "SERVICE_ORDER",
    "WORKER_SCRIPT",
    "Sandbox",
    "SandboxInfo",
]

#: the seeded Cloudflare account (fixed so configurations can name it)
ACCOUNT_ID = "0d1e2c3b4a5968778695a4b3c2d1e0f1"
PAGES_PROJECT = "app-web"
WORKER_SCRIPT = "log-ingestion"
CONVEX_DEPLOYMENT = "prod-graceful-shrimp-355"
GITHUB_REPOSITORY = "example/app"
GITHUB_ENVIRONMENT = "production"
#: the public origin of the reference app, allowed by the Worker's CORS rules
APP_ORIGIN = "https://app.example.com"
SERVICE_ORDER = ("cloudflare", "github", "convex", "pages", "worker", "admin")


@dataclass(frozen=True)
class SandboxInfo:
    """Where each emulated service listens and the credentials it accepts."""

    cloudflare_api_base_url: str
    cloudflare_api_token: str
    cloudflare_account_id: str
    github_api_url: str
    github_token: str
    github_repository: str
    convex_url: str
    convex_deploy_key: str
    convex_self_hosted_admin_key: str
    pages_url: str
    worker_url: str
    admin_url: str

    def as_dict(self) -> dict[str, str]:
        """The fields as a plain dict."""
        return asdict(self)

    def environ(self) -> dict[str, str]:
        """The environment variables that point deploycheck (and vendor CLIs) at the sandbox."""
        return {
            "CLOUDFLARE_API_BASE_URL": self.cloudflare_api_base_url,
            "CLOUDFLARE_API_TOKEN": self.cloudflare_api_token,
            "CLOUDFLARE_ACCOUNT_ID": self.cloudflare_account_id,
            "GITHUB_API_URL": self.github_api_url,
            "GITHUB_TOKEN": self.github_token,
            "GITHUB_REPOSITORY": self.github_repository,
            "CONVEX_URL": self.convex_url,
            # the Convex CLI's self-hosted pair; CONVEX_DEPLOY_KEY would send the CLI to the cloud
            "CONVEX_SELF_HOSTED_URL": self.convex_url,
            "CONVEX_SELF_HOSTED_ADMIN_KEY": self.convex_self_hosted_admin_key,
            "APP_URL": self.pages_url,
            "WORKER_URL": self.worker_url,
            "DEPLOYCHECK_SANDBOX_ADMIN_URL": self.admin_url,
            # wrangler would otherwise send usage metrics to Cloudflare from every sandbox deploy
            "WRANGLER_SEND_METRICS": "false",
        }


class Sandbox:
    """All emulated services on loopback ports; a context manager yielding :class:`SandboxInfo`.

    ``port=0`` picks a free port for each service; any other value binds
    ``port .. port+5`` in :data:`SERVICE_ORDER`.
    """

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.faults = FaultRegistry()
        #: emulated vendor rate limits, off until switched on (admin ``POST /rate-limits``)
        self.limits = RateLimits()
        self.log = RequestLog()
        self.emulators: dict[str, Emulator] = {}
        self.servers: dict[str, ServiceServer] = {}
        self.info: SandboxInfo | None = None
        self._stopping = threading.Event()
        self._state_lock = threading.Lock()

    def __enter__(self) -> SandboxInfo:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> SandboxInfo:
        """Bind every port, seed every emulator and serve; returns where everything is."""
        with self._state_lock:
            if self.info is not None:
                return self.info
            self._stopping.clear()
            try:
                self._bind()
                info = self._build_info()
                self._build_emulators(info)
            except BaseException:
                self._close_servers()
                raise
            for server in self.servers.values():
                server.start()
            self.info = info
            return info

    def stop(self) -> None:
        """Stop every server; hanging requests are released, nothing is waited on for long."""
        with self._state_lock:
            self._stopping.set()
            self.faults.clear()
            self._close_servers()
            self.info = None

    def reset(self) -> None:
        """Every emulator back to its seed; faults, rate limits and the request log cleared."""
        self.faults.clear()
        self.limits.clear()
        for emulator in self.emulators.values():
            with emulator.lock:
                emulator.reset()
        self.log.clear()

    def _bind(self) -> None:
        for offset, service in enumerate(SERVICE_ORDER):
            port = 0 if self.port == 0 else self.port + offset
            is_admin = service == "admin"
            self.servers[service] = ServiceServer(
                service,
                port,
                faults=None if is_admin else self.faults,
                log=None if is_admin else self.log,
                stopping=self._stopping,
                limits=self.limits if service in ("cloudflare", "github") else None,
            )

    def _build_info(self) -> SandboxInfo:
        urls = {name: server.url for name, server in self.servers.items()}
        # one admin key, in its deploy-key (prod:<name>|...) and self-hosted (<name>|...) forms
        admin_secret = secrets.token_hex(32)
        return SandboxInfo(
            cloudflare_api_base_url=f"{urls['cloudflare']}/client/v4",
            cloudflare_api_token=secrets.token_urlsafe(30),
            cloudflare_account_id=ACCOUNT_ID,
            github_api_url=urls["github"],
            github_token=f"ghp_{secrets.token_hex(18)}",
            github_repository=GITHUB_REPOSITORY,
            convex_url=urls["convex"],
            convex_deploy_key=f"prod:{CONVEX_DEPLOYMENT}|{admin_secret}",
            convex_self_hosted_admin_key=f"{CONVEX_DEPLOYMENT}|{admin_secret}",
            pages_url=urls["pages"],
            worker_url=urls["worker"],
            admin_url=urls["admin"],
        )

    def _build_emulators(self, info: SandboxInfo) -> None:
        from deploycheck.sandbox.cloudflare import CloudflareEmulator
        from deploycheck.sandbox.convex import ConvexEmulator
        from deploycheck.sandbox.dataplane import PagesSiteEmulator, WorkerEmulator
        from deploycheck.sandbox.github import GithubEmulator

        cloudflare = CloudflareEmulator(
            account_id=info.cloudflare_account_id, token=info.cloudflare_api_token
        )
        self.emulators["cloudflare"] = cloudflare
        self.emulators["pages"] = PagesSiteEmulator(cloudflare)
        self.emulators["worker"] = WorkerEmulator(
            cloudflare, faults=self.faults, allowed_origins=[info.pages_url, APP_ORIGIN]
        )
        self.emulators["github"] = GithubEmulator(
            info.github_token, repository=info.github_repository, environments=(GITHUB_ENVIRONMENT,)
        )
        self.emulators["convex"] = ConvexEmulator(
            info.convex_deploy_key, deployment=CONVEX_DEPLOYMENT, url=info.convex_url
        )
        self.emulators["admin"] = AdminEmulator(
            info=self.describe,
            log=self.log,
            faults=self.faults,
            emulators=self.emulators,
            reset=self.reset,
            limits=self.limits,
        )
        for name, emulator in self.emulators.items():
            self.servers[name].emulator = emulator

    def describe(self) -> dict[str, Any]:
        """The JSON line ``deploycheck sandbox`` prints: every info field plus ``env``."""
        info = self.info
        if info is None:
            return {}
        return {**info.as_dict(), "env": info.environ()}

    def _close_servers(self) -> None:
        servers, self.servers = self.servers, {}
        for server in servers.values():  # every loop is told first, so no stop waits on another
            server.request_stop()
        for server in servers.values():
            server.stop()
        self.emulators = {}
