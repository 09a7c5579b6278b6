"""The redactor, fingerprints and the redacting stream and report helpers."""

from __future__ import annotations

import io
import secrets

import pytest

from deploycheck.output import RedactingStream
from deploycheck.redact import (
    MASK,
    Redactor,
    fingerprint,
    mask_value,
    register_environment_credentials,
    register_secret,
    set_fingerprint_key,
)
from deploycheck.report import holds_secret, redact_tree


@pytest.fixture
def secret() -> str:
    """A fresh random secret registered with the process-wide redactor."""
    value = "s3cr3t-" + secrets.token_hex(10)
    register_secret(value)
    return value


def test_whole_secret_and_every_piece_are_masked():
    """A secret, and any 8-character piece of it, is masked wherever it appears."""
    redactor = Redactor()
    value = "abcdefghijklmnopqrstuvwxyz"
    redactor.add(value)
    assert redactor.redact(f"token={value}!") == f"token={MASK}!"
    assert MASK in redactor.redact("…ijklmnop…")
    assert redactor.redact("abcdefg") == "abcdefg"  # 7 characters: not a piece


def test_short_secrets_are_masked_inside_words_too():
    """Secrets of 4 to 7 characters are masked wherever they appear, inside words too (id_<secret>_x);
    under 4 they are not registered (the table refuses them)."""
    redactor = Redactor()
    redactor.add("hunter2")
    redactor.add("abc")
    assert redactor.redact("pw hunter2.") == f"pw {MASK}."
    assert redactor.redact("id_hunter2_x") == f"id_{MASK}_x"
    assert redactor.redact("abc") == "abc"


@pytest.mark.parametrize(
    ("secret", "shown"),
    [
        ("it's-a\\secret-value", repr),
        ('quote"and\\back-slash', lambda v: __import__("json").dumps(v)),
        ("<tag>&amp;'value'", lambda v: __import__("html").escape(v)),
        ("a<b>&c\"d'e-secret", lambda v: __import__("xml.sax.saxutils", fromlist=["x"]).escape(v, {'"': "&quot;", "'": "&apos;"})),
    ],
)
def test_escaped_forms_of_a_secret_are_masked(secret, shown):
    """A secret shown repr-, JSON-, HTML- or XML-escaped is masked, and so is every 8-character piece
    of the escaped form (pytest -l prints locals with repr)."""
    redactor = Redactor()
    redactor.add(secret)
    text = f"locals: value = {shown(secret)} end"
    masked = redactor.redact(text)
    escaped = shown(secret).strip("'\"")
    pieces = {escaped[i : i + 8] for i in range(len(escaped) - 7)}
    assert not any(p in masked for p in pieces), masked


def test_fingerprint_equality_and_key():
    """Equal values share a fingerprint, different values do not; the key changes them all."""
    set_fingerprint_key(None)  # an in-process sync-env of an earlier test keys this process
    assert fingerprint("a-value") == fingerprint("a-value") != fingerprint("b-value")
    assert fingerprint("a-value").startswith("sha256:") and len(fingerprint("a-value")) == 23
    before = fingerprint("a-value")
    set_fingerprint_key(b"k" * 32)
    try:
        assert fingerprint("a-value") != before
    finally:
        set_fingerprint_key(None)
    assert fingerprint("a-value") == before


def test_mask_value():
    """Secrets show as fingerprints, plain values as themselves, missing ones as (absent)."""
    assert mask_value("x", secret=False) == "x"
    assert mask_value("x-secret-value", secret=True) == fingerprint("x-secret-value")
    assert mask_value(None, secret=True) == "(absent)"


def test_convex_key_registers_only_its_secret_part(secret):
    """A Convex deploy key masks its part after '|', never the deployment name."""
    part = secrets.token_hex(16)
    register_environment_credentials({"CONVEX_DEPLOY_KEY": f"prod:prod-graceful-shrimp-355|{part}"})
    assert holds_secret(part)
    assert not holds_secret("prod-graceful-shrimp-355")


def test_redacting_stream_masks_secret_split_across_writes(secret):
    """A secret written in two pieces on one line is still masked."""
    sink = io.StringIO()
    stream = RedactingStream(sink)
    stream.write("value: " + secret[:5])
    stream.write(secret[5:] + "\n")
    stream.flush()
    assert secret not in sink.getvalue() and MASK in sink.getvalue()


def test_holds_secret_ignores_asterisks(secret):
    """holds_secret finds registered secrets, not runs of asterisks the redactor would fold."""
    assert holds_secret(f"x {secret} y")
    assert not holds_secret("/************* css comment")


def test_redact_tree(secret):
    """redact_tree masks strings inside nested dicts, lists and tuples and keeps other values."""
    data = {"a": [secret, ("t", secret)], "n": 3, secret: None}
    clean = redact_tree(data)
    assert clean == {"a": [MASK, ("t", MASK)], "n": 3, MASK: None}
    assert data["a"][0] == secret  # the input is not changed


def test_a_secret_longer_than_the_recursion_limit_is_masked_whole():
    """A 5,000-character secret (a PEM key, a bundle of certificates) is masked in one piece.

    Its letters form one long chain of the pattern's trie; building that chain must not
    recurse once per character.
    """
    redactor = Redactor()
    value = secrets.token_hex(2500)
    redactor.add(value)
    assert redactor.redact(f"key={value}.") == f"key={MASK}."
    assert redactor.redact(value[1000:1008]) == MASK


def test_the_longest_secret_at_a_position_wins():
    """Where one secret starts with another's piece, the longer secret is masked whole.

    Nothing of the longer one (not even its tail after the shared 8 characters) is left.
    """
    redactor = Redactor()
    redactor.add("abcdefgh-1234567")
    redactor.add("abcdefgh-zyxwvut-long-tail")
    assert redactor.redact("[abcdefgh-zyxwvut-long-tail]") == f"[{MASK}]"
    assert redactor.redact("[abcdefgh-1234567]") == f"[{MASK}]"
    assert redactor.redact("[abcdefgh-]") == f"[{MASK}-]"
