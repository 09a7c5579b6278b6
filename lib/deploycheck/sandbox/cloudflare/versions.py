"""One Worker version and one deployment, as the Cloudflare v4 API shows and the sandbox stores them.

:class:`WorkerVersion` (immutable code, bindings with secret values kept, annotations,
the Durable Object state version its code expects) and :class:`WorkerDeployment` (which
versions serve traffic at which percentages), with the binding helpers they share.
Scripts and their history are in :mod:`deploycheck.sandbox.cloudflare.scripts`.
"""

from __future__ import annotations

import copy
import hashlib
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from deploycheck.sandbox.cloudflare.envelope import ApiError, iso

__all__ = [
    "AUTHOR_EMAIL",
    "SECRET_TYPES",
    "VAR_TYPES",
    "ScriptService",
    "WorkerDeployment",
    "WorkerVersion",
    "expected_state_version",
    "public_binding",
    "secret_changes",
]

AUTHOR_EMAIL = "deploy@example.com"
_STATE_VERSION = re.compile(rb"EXPECTED_STATE_VERSION\s*=\s*(\d+)")
SECRET_TYPES = ("secret_text", "secret_key")
VAR_TYPES = ("plain_text", "json")


def expected_state_version(modules: dict[str, bytes], default: int = 1) -> int:
    """The Durable Object state version the code expects: the highest ``EXPECTED_STATE_VERSION``."""
    found = [int(m.group(1)) for source in modules.values() for m in _STATE_VERSION.finditer(source)]
    return max(found) if found else default


def public_binding(binding: dict[str, Any]) -> dict[str, Any]:
    """A binding as the API returns it: secret values are never included."""
    if binding.get("type") in SECRET_TYPES:
        return {k: v for k, v in binding.items() if k not in ("text", "key_base64", "key_jwk")}
    return dict(binding)


@dataclass
class ScriptService:
    """A script's state outside its versions: migrations, triggers, workers.dev, observability.

    ``durable_object_classes`` maps each class a migration created to its storage
    (``sqlite`` for ``new_sqlite_classes``, ``kv`` for ``new_classes``).
    """

    tag: str = field(default_factory=lambda: uuid.uuid4().hex)
    migration_tag: str | None = None
    durable_object_classes: dict[str, str] = field(default_factory=dict)
    workers_dev: bool = True
    previews_enabled: bool = True
    schedules: list[dict[str, Any]] = field(default_factory=list)
    routes: list[dict[str, Any]] = field(default_factory=list)
    observability: dict[str, Any] = field(default_factory=lambda: {"enabled": False})
    last_deployed_from: str = "wrangler"

    def stored(self) -> dict[str, Any]:
        """Everything stored (for the admin state)."""
        return {
            "tag": self.tag,
            "migration_tag": self.migration_tag,
            "durable_object_classes": dict(self.durable_object_classes),
            "workers_dev": self.workers_dev,
            "previews_enabled": self.previews_enabled,
            "schedules": [dict(s) for s in self.schedules],
            "routes": [dict(r) for r in self.routes],
            "observability": dict(self.observability),
            "last_deployed_from": self.last_deployed_from,
        }


@dataclass
class WorkerVersion:
    """One immutable version of a Worker: code, bindings (secret values kept), annotations."""

    id: str
    number: int
    created_on: datetime
    source: str
    bindings: list[dict[str, Any]]
    modules: dict[str, bytes]
    main_module: str
    compatibility_date: str
    compatibility_flags: list[str]
    annotations: dict[str, str]
    expected_state_version: int
    author_email: str = AUTHOR_EMAIL
    #: module name -> the content type it was uploaded with (``application/javascript+module`` if absent)
    module_types: dict[str, str] = field(default_factory=dict)

    @property
    def etag(self) -> str:
        """A content hash of the code."""
        digest = hashlib.sha256()
        for name in sorted(self.modules):
            digest.update(name.encode() + b"\0" + self.modules[name])
        return digest.hexdigest()

    def secrets(self) -> dict[str, str]:
        """Secret binding name -> value."""
        return {b["name"]: str(b.get("text", "")) for b in self.bindings if b.get("type") in SECRET_TYPES}

    def vars(self) -> dict[str, Any]:
        """Plain-text and JSON binding name -> value."""
        return {
            b["name"]: b.get("text") if b.get("type") == "plain_text" else b.get("json")
            for b in self.bindings
            if b.get("type") in VAR_TYPES
        }

    def short(self) -> dict[str, Any]:
        """The list item shape."""
        created = iso(self.created_on)
        return {
            "id": self.id,
            "number": self.number,
            "metadata": {
                "author_email": self.author_email,
                "author_id": hashlib.md5(self.author_email.encode(), usedforsecurity=False).hexdigest(),
                "created_on": created,
                "modified_on": created,
                "source": self.source,
                "hasPreview": False,
            },
            "annotations": dict(self.annotations),
        }

    def full(self) -> dict[str, Any]:
        """The detail shape: the short item plus resources and annotations."""
        item = self.short()
        item["resources"] = {
            "bindings": [public_binding(b) for b in self.bindings],
            "script": {"etag": self.etag, "handlers": ["fetch"], "last_deployed_from": self.source},
            "script_runtime": {
                "compatibility_date": self.compatibility_date,
                "compatibility_flags": list(self.compatibility_flags),
                "usage_model": "bundled",
                "limits": {"cpu_ms": 30000},
            },
        }
        item["startup_time_ms"] = 4
        return item

    def stored(self) -> dict[str, Any]:
        """Everything stored, secret values included (for the admin state)."""
        return {
            "id": self.id,
            "number": self.number,
            "created_on": iso(self.created_on),
            "source": self.source,
            "bindings": copy.deepcopy(self.bindings),
            "annotations": dict(self.annotations),
            "main_module": self.main_module,
            "modules": sorted(self.modules),
            "expected_state_version": self.expected_state_version,
        }


@dataclass
class WorkerDeployment:
    """Which versions serve traffic, at which percentages, since ``created_on``."""

    id: str
    created_on: datetime
    source: str
    versions: list[dict[str, Any]]
    annotations: dict[str, str] = field(default_factory=dict)
    strategy: str = "percentage"
    author_email: str = AUTHOR_EMAIL

    def as_api(self) -> dict[str, Any]:
        """The API shape."""
        return {
            "id": self.id,
            "source": self.source,
            "strategy": self.strategy,
            "author_email": self.author_email,
            "created_on": iso(self.created_on),
            "annotations": dict(self.annotations),
            "versions": [dict(v) for v in self.versions],
        }


def secret_changes(
    entries: Mapping[str, Any], refusal: Callable[[str, Any], str | None]
) -> dict[str, dict[str, Any] | None]:
    """The binding changes of a ``{name: secret or null}`` body: null removes the binding, a
    secret becomes a ``secret_text`` binding of its ``text``. ``refusal`` says what is wrong
    with an entry that is not null (None when nothing is), answered as 400/10021."""
    changes: dict[str, dict[str, Any] | None] = {}
    for name, entry in entries.items():
        if entry is None:
            changes[name] = None
            continue
        problem = refusal(name, entry)
        if problem is not None:
            raise ApiError(400, 10021, problem)
        changes[name] = {"type": "secret_text", "name": name, "text": entry["text"]}
    return changes
