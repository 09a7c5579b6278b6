"""Reading the sandbox's request log: reads and writes per service, writes per endpoint."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["endpoint", "reads_writes", "summarise", "writes_by_endpoint"]

READ_METHODS = ("GET", "HEAD", "OPTIONS")

#: (service, path regex) -> endpoint label; the first match wins
ENDPOINTS: tuple[tuple[str, str, str], ...] = (
    ("cloudflare", r"/pages/projects/[^/]+$", "Pages project"),
    ("cloudflare", r"/pages/projects/[^/]+/deployments", "Pages deployments"),
    ("cloudflare", r"/workers/scripts/[^/]+/secrets-bulk$", "Worker secrets-bulk"),
    ("cloudflare", r"/workers/scripts/[^/]+/secrets(/|$)", "Worker secrets"),
    ("cloudflare", r"/workers/scripts/[^/]+/settings$", "Worker settings"),
    ("cloudflare", r"/workers/scripts/[^/]+/deployments", "Worker deployments"),
    ("cloudflare", r"/workers/scripts/[^/]+/versions", "Worker versions"),
    ("convex", r"/list_environment_variables$", "Convex list"),
    ("convex", r"/update_environment_variables$", "Convex update"),
    ("github", r"/secrets/public-key$", "GitHub public key"),
    ("github", r"/secrets(/[^/]+)?$", "GitHub secrets"),
    ("github", r"/variables(/[^/]+)?$", "GitHub variables"),
)


def endpoint(service: str, path: str) -> str:
    """A short label for the endpoint a request hit (``service path`` when unknown)."""
    for owner, pattern, label in ENDPOINTS:
        if owner == service and re.search(pattern, path):
            return label
    return f"{service} {path}"


def reads_writes(entries: Iterable[Mapping[str, Any]]) -> dict[str, tuple[int, int]]:
    """service -> (reads, writes), services sorted by name."""
    reads: Counter[str] = Counter()
    writes: Counter[str] = Counter()
    for entry in entries:
        service = str(entry["service"])
        if entry["method"] in READ_METHODS:
            reads[service] += 1
        else:
            writes[service] += 1
    return {s: (reads[s], writes[s]) for s in sorted(reads.keys() | writes.keys())}


def writes_by_endpoint(entries: Iterable[Mapping[str, Any]]) -> Counter[str]:
    """``METHOD endpoint`` -> count, for the writes only."""
    return Counter(
        f"{e['method']} {endpoint(str(e['service']), str(e['path']))}"
        for e in entries
        if e["method"] not in READ_METHODS
    )


def summarise(counts: Mapping[str, tuple[int, int]]) -> str:
    """``cloudflare 4 r / 0 w, github 2 r / 0 w`` (``none`` when empty)."""
    return ", ".join(f"{s} {r} r / {w} w" for s, (r, w) in counts.items()) or "none"
