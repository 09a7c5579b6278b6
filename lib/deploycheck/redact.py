"""Secret redaction and fingerprints.

One process-wide :class:`Redactor` knows every secret value of the run: secret values
of the source-of-truth table for every environment, credentials read from the
environment, and anything else registered with :func:`register_secret`. Every output
path (terminal, captured output, logs, reports, exception messages, CLI output) passes
text through :func:`redact`, which masks each secret and every 8-character piece of one,
in the forms it takes in output too: as Python's ``repr`` escapes it (``pytest -l`` shows
locals that way), as JSON, HTML and XML escape it.

Short secrets: a secret of 4 to 7 characters has no 8-character piece, so it is masked
wherever it appears, inside words too (``id_<secret>_x``); text that happens to contain
it is over-masked, which is the price of never printing it. A "secret" of 1 to 3
characters cannot be masked without destroying every output and protects nothing, so the
table refuses it (:mod:`deploycheck.sot.rules`); such values are not registered here.

Secrets are compared by :func:`fingerprint`, a keyed hash, never by value.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import os
import re
import secrets as _secrets
import threading
from collections.abc import Iterable
from typing import Any

__all__ = [
    "MASK",
    "Redactor",
    "fingerprint",
    "mask_value",
    "redact",
    "redactor",
    "register_public",
    "register_secret",
    "set_fingerprint_key",
]

MASK = "***"
#: pieces of a secret this long or longer are masked wherever they appear
PIECE = 8
#: secrets shorter than this are not registered (the table refuses them): masking "1" everywhere helps nobody
MIN_SECRET = 4

_process_key = _secrets.token_bytes(32)
_fingerprint_key: bytes = _process_key


def set_fingerprint_key(key: bytes | None) -> None:
    """Use ``key`` (the ledger key) for fingerprints; ``None`` restores the per-process key."""
    global _fingerprint_key  # noqa: PLW0603 - one key per process, like the redactor
    _fingerprint_key = key if key is not None else _process_key


def fingerprint(value: str, key: bytes | None = None) -> str:
    """Return a keyed fingerprint of ``value``, e.g. ``sha256:3f1c9a0b7d2e4f61``.

    Two values have the same fingerprint under the same key exactly when they are equal
    (up to HMAC-SHA256 collisions); the fingerprint reveals nothing of the value.
    """
    digest = hmac.new(key or _fingerprint_key, value.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"sha256:{digest[:16]}"


def mask_value(value: str | None, *, secret: bool) -> str:
    """Show a value in output: secrets as their fingerprint, plain values as they are."""
    if value is None:
        return "(absent)"
    if secret:
        return fingerprint(value)
    return value


class Redactor:
    """Masks registered secrets, and every 8-character piece of them, in any text."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._short: set[str] = set()
        self._public_pieces: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._short_pattern: re.Pattern[str] | None = None

    def add(self, value: str | None) -> None:
        """Register one secret value; empty and very short values are handled safely.

        Public prefixes are not secret and are left visible: a URL's scheme
        (``https://``, itself exactly one 8-character piece, which would otherwise mask
        every URL in every output) and a Convex key's ``prod:<deployment>|``.
        """
        if not value:
            return
        value = _secret_part(str(value))
        if len(value) < MIN_SECRET:
            return
        with self._lock:
            for form in escaped_forms(value):
                if len(form) < PIECE:
                    if form not in self._short:
                        self._short.add(form)
                        self._short_pattern = None
                elif form not in self._secrets:
                    self._secrets.add(form)
                    self._pattern = None

    def add_public(self, value: str | None) -> None:
        """Register a value known to be public (a plain SoT value, a configured URL).

        An 8-character piece of a secret that also stands in a public value reveals
        nothing, so it is not masked on its own: ``.example.com`` in a secret Redis URL
        must not mask every ``app.example.com`` in the output. Whole secrets are always
        masked.
        """
        if not value or len(value) < PIECE:
            return
        pieces = {value[i : i + PIECE] for i in range(len(value) - PIECE + 1)}
        with self._lock:
            if not pieces <= self._public_pieces:
                self._public_pieces |= pieces
                self._pattern = None

    def add_many(self, values: Iterable[str | None]) -> None:
        """Register several secret values."""
        for value in values:
            self.add(value)

    def clear(self) -> None:
        """Forget every registered secret (tests use this between runs)."""
        with self._lock:
            self._secrets.clear()
            self._short.clear()
            self._public_pieces.clear()
            self._pattern = None
            self._short_pattern = None

    @property
    def count(self) -> int:
        """How many secrets are registered."""
        return len(self._secrets) + len(self._short)

    def _compiled(self) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
        with self._lock:
            if self._pattern is None and self._secrets:
                pieces: set[str] = set()
                for value in self._secrets:
                    pieces.add(value)
                    pieces.update(
                        piece
                        for i in range(len(value) - PIECE + 1)
                        if (piece := value[i : i + PIECE]) not in self._public_pieces
                    )
                self._pattern = re.compile(longest_of(pieces))
            if self._short_pattern is None and self._short:
                self._short_pattern = re.compile(longest_of(self._short))
            return self._pattern, self._short_pattern

    def redact(self, text: str) -> str:
        """Return ``text`` with every secret, and every 8-character piece of one, masked."""
        if not text or (not self._secrets and not self._short):
            return text
        pattern, short = self._compiled()
        if pattern is not None:
            text = pattern.sub(MASK, text)
            # a run of masks and leftovers shorter than a piece: fold adjacent masks
            text = text.replace(MASK + MASK, MASK)
        if short is not None:
            text = short.sub(MASK, text)
        return text


#: marks a node of :func:`longest_of`'s trie where a word ends
_END = ""


def longest_of(words: Iterable[str]) -> str:
    """A regular expression matching, at each position, the longest of ``words`` found there.

    The words are arranged as a trie (``abc|abd|b`` becomes ``(?:ab(?:c|d)|b)``), and a
    node where a word ends is an optional group tried after every longer word, so a whole
    secret is masked in one piece rather than as its first 8 characters. A flat alternation
    of every piece, longest first, matches the same, but the regex engine tries each of its
    hundreds of alternatives at every position of the text; the trie tries one path, which
    makes masking a 100 KB report several times faster.
    """
    root: dict[str, dict[str, Any]] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[_END] = {}
    return _branch(root)


def _branch(node: dict[str, Any]) -> str:
    """The expression of one trie node; a chain of single children is written as one literal."""
    alternatives = []
    for char, first in node.items():
        if char == _END:
            continue
        run, child = [char], first
        # follow the chain iteratively, so a secret of any length costs no recursion
        while len(child) == 1 and _END not in child:
            ((next_char, child),) = child.items()
            run.append(next_char)
        alternatives.append(re.escape("".join(run)) + _branch(child))
    optional = _END in node
    if len(alternatives) == 1 and not optional:
        return alternatives[0]
    if not alternatives:
        return ""
    return "(?:" + "|".join(alternatives) + ")" + ("?" if optional else "")


def escaped_forms(value: str) -> list[str]:
    """``value`` and the forms output may show it in: repr-, JSON-, HTML- and XML-escaped."""
    forms = [
        value,
        repr(value)[1:-1],
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        html.escape(value, quote=True),
        # XML's five entities; xml.sax.saxutils would import urllib.request and http.client
        html.escape(value, quote=False).replace('"', "&quot;").replace("'", "&apos;"),
    ]
    return list(dict.fromkeys(forms))


_CONVEX_KEY = re.compile(r"^(?:prod|dev|preview|project)(?::[\w-]+)+\|(.+)$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://(?=.)")


def _secret_part(value: str) -> str:
    match = _CONVEX_KEY.match(value)
    if match:
        return match.group(1)
    scheme = _SCHEME.match(value)
    return value[scheme.end() :] if scheme else value


redactor = Redactor()


def register_secret(value: str | None) -> None:
    """Register a secret value with the process-wide redactor."""
    redactor.add(value)


def register_public(value: str | None) -> None:
    """Register a public value with the process-wide redactor (see :meth:`Redactor.add_public`)."""
    redactor.add_public(value)


def redact(text: str) -> str:
    """Mask every registered secret in ``text`` using the process-wide redactor."""
    return redactor.redact(text)


#: environment variables whose values are credentials, registered at start-up
CREDENTIAL_VARIABLES = (
    "CLOUDFLARE_API_TOKEN",
    "CLOUDFLARE_API_KEY",
    "CONVEX_DEPLOY_KEY",
    "CONVEX_DEPLOYMENT_TOKEN",
    "CONVEX_SELF_HOSTED_ADMIN_KEY",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    # the shared ledger key, the S3 state bucket's credentials and age identities (one per line)
    "DEPLOYCHECK_LEDGER_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "DEPLOYCHECK_AGE_KEY",
)


def register_environment_credentials(environ: dict[str, str] | None = None) -> None:
    """Register the vendor credentials found in the environment with the redactor."""
    env = os.environ if environ is None else environ
    for name in CREDENTIAL_VARIABLES:
        value = env.get(name)
        if value and "|" in value:
            # Convex keys read "prod:<deployment name>|<secret>": only the part after "|" is
            # secret, and masking pieces of the deployment name would hide which one was used
            value = value.split("|", 1)[1]
        if value and name == "DEPLOYCHECK_AGE_KEY":
            for line in value.splitlines():
                register_secret(line.strip())
            continue
        register_secret(value)
