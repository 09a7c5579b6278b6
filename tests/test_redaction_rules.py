"""The redaction rules at their edges: secret lengths, public values, prefixes, credentials from the environment."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import pytest

from deploycheck.redact import (
    MASK,
    Redactor,
    redact,
    redactor,
    register_environment_credentials,
    register_public,
    register_secret,
)

ALPHABET = "abcdefghijklmnopqrstuvwxyz"


@pytest.fixture
def process_redactor() -> Iterator[None]:
    """The process-wide redactor, restored to what it held before the test."""
    saved = (set(redactor._secrets), set(redactor._short), set(redactor._public_pieces))
    yield
    redactor.clear()
    redactor.add_many([*saved[0], *saved[1]])
    redactor._public_pieces |= saved[2]


def test_four_character_secret_is_masked_as_a_whole_word() -> None:
    """A 4-character secret (the shortest one kept) is masked alone and inside a word alike."""
    r = Redactor()
    r.add("k9Zq")
    assert r.redact("pin k9Zq, ok") == f"pin {MASK}, ok"
    assert r.redact("k9Zq") == MASK
    assert r.redact("xk9Zqx") == f"x{MASK}x"
    assert r.count == 1


def test_three_character_secret_is_not_registered() -> None:
    """A secret under 4 characters is not registered: masking it everywhere would help nobody."""
    r = Redactor()
    r.add("k9Z")
    assert r.count == 0
    assert r.redact("pin k9Z") == "pin k9Z"


def test_eight_character_secret_is_masked_inside_a_longer_word() -> None:
    """An 8-character secret is one full piece: it is masked even in the middle of a longer word."""
    r = Redactor()
    r.add("Zq8kLm2w")
    assert r.redact("prefixZq8kLm2wsuffix") == f"prefix{MASK}suffix"


def test_seven_character_secret_is_masked_inside_a_word() -> None:
    """A 7-character secret is below a piece but still masked whole, inside a longer word and as a word."""
    r = Redactor()
    r.add("Zq8kLm2")
    assert r.redact("prefixZq8kLm2suffix") == f"prefix{MASK}suffix"
    assert r.redact("prefixZq8kLm") == "prefixZq8kLm"
    assert r.redact("is Zq8kLm2") == f"is {MASK}"


def test_last_piece_of_a_secret_is_masked_and_shorter_tails_are_not() -> None:
    """The last 8 characters of a secret are masked on their own; its last 7 are not a piece and stay."""
    r = Redactor()
    r.add(ALPHABET)
    assert r.redact(f"..{ALPHABET[-8:]}..") == f"..{MASK}.."
    assert r.redact(f"..{ALPHABET[-9:-1]}..") == f"..{MASK}.."
    assert r.redact(f"..{ALPHABET[-7:]}..") == f"..{ALPHABET[-7:]}.."


def test_longer_short_secret_wins_over_a_shorter_one_it_starts_with() -> None:
    """Of two short secrets where one starts with the other, the longer is masked whole, leaving no tail."""
    r = Redactor()
    r.add("p@ss")
    r.add("p@ss-12")
    assert r.redact("login p@ss-12 ok") == f"login {MASK} ok"
    assert r.redact("login p@ss ok") == f"login {MASK} ok"


def test_several_short_secrets_are_all_masked() -> None:
    """Every registered short secret is masked, not only the first."""
    r = Redactor()
    r.add_many(["alpha1", "bravo2", None, ""])
    assert r.redact("alpha1 and bravo2") == f"{MASK} and {MASK}"
    assert r.count == 2


def test_secret_added_after_output_started_is_masked() -> None:
    """Secrets registered after a first redaction are masked in later output (long and short alike)."""
    r = Redactor()
    r.add("first-secret-value")
    assert r.redact("first-secret-value") == MASK
    r.add("second-secret-value")
    r.add("tiny9")
    assert r.redact("second-secret-value tiny9") == f"{MASK} {MASK}"


def test_clear_forgets_every_secret_and_public_value() -> None:
    """After clear() nothing is masked; secrets registered afterwards are masked again."""
    r = Redactor()
    r.add("some-long-secret-1")
    r.add("tiny9")
    r.add_public("https://app.example.com")
    assert r.redact("some-long-secret-1 tiny9") == f"{MASK} {MASK}"
    r.clear()
    assert r.count == 0
    assert r.redact("some-long-secret-1 tiny9") == "some-long-secret-1 tiny9"
    r.add("tiny8")
    assert r.redact("tiny8 tiny9") == f"{MASK} tiny9"
    r.add("other-long-secret")
    assert r.redact("other-long-secret tiny8 tiny9") == f"{MASK} {MASK} tiny9"


SECRET_URL = "redis://default:S3cretPassw0rd@cache.example.com:6379"
PUBLIC_URL = "https://app.example.com/login"


def test_piece_shared_with_a_public_value_stays_visible() -> None:
    """A piece of a secret that also stands in a public value is not masked in that public value."""
    r = Redactor()
    r.add(SECRET_URL)
    assert r.redact(f"open {PUBLIC_URL}") == f"open https://app{MASK}.com/login"
    r.add_public(PUBLIC_URL)
    assert r.redact(f"open {PUBLIC_URL}") == f"open {PUBLIC_URL}"


def test_whole_secret_is_masked_even_when_all_its_pieces_are_public() -> None:
    """The public-value exemption never unmasks the secret itself, nor its own private pieces."""
    r = Redactor()
    r.add(SECRET_URL)
    r.add_public(PUBLIC_URL)
    assert r.redact(f"url={SECRET_URL}") == f"url=redis://{MASK}"
    hidden = r.redact("pw S3cretPassw0rd!")
    assert MASK in hidden and "S3cretPa" not in hidden
    r.add("app.example.com")
    r.add_public("app.example.com")
    assert r.redact("host app.example.com") == f"host {MASK}"


def test_public_value_registered_after_output_started_takes_effect() -> None:
    """A public value registered after a first redaction unmasks its pieces from then on."""
    r = Redactor()
    r.add(SECRET_URL)
    assert MASK in r.redact(PUBLIC_URL)
    r.add_public(PUBLIC_URL)
    assert r.redact(PUBLIC_URL) == PUBLIC_URL


def test_every_public_value_counts_not_only_the_last() -> None:
    """Several public values each keep their shared pieces visible."""
    r = Redactor()
    r.add(SECRET_URL)
    r.add("amqp://user:Qw3rtyQw3rty@queue.internal.net:5672")
    r.add_public("https://app.example.com")
    r.add_public("https://app.example.com")
    r.add_public("https://ui.internal.net")
    assert r.redact("https://app.example.com") == "https://app.example.com"
    assert r.redact("https://ui.internal.net") == "https://ui.internal.net"


def test_eight_character_public_value_and_its_last_piece_count() -> None:
    """A public value of exactly 8 characters is one public piece; so is the last piece of a longer one."""
    r = Redactor()
    r.add("xx.example.orgyy")
    r.add_public(".example")
    assert r.redact("a.example") == "a.example"
    r.add_public("www-mple.org")
    assert r.redact("z-mple.org") == "z-mple.org"
    assert r.redact("example.org") == f"{MASK}org"


@pytest.mark.parametrize("value", [None, "", "short"])
def test_empty_or_short_public_values_change_nothing(value: str | None) -> None:
    """A missing, empty or sub-piece public value is accepted and exempts nothing."""
    plain, r = Redactor(), Redactor()
    plain.add(SECRET_URL)
    r.add(SECRET_URL)
    r.add_public(value)
    for text in ("cache.example.com", "https://short.example.com"):
        assert r.redact(text) == plain.redact(text) != text


def test_url_scheme_of_a_secret_is_not_masked_elsewhere() -> None:
    """A secret URL's scheme (``https://``, one full piece) does not mask every other URL."""
    r = Redactor()
    r.add("https://hooks.example.net/T0KEN-abc")
    assert r.redact("see https://docs.other.org") == "see https://docs.other.org"
    assert r.redact("hook https://hooks.example.net/T0KEN-abc") == f"hook https://{MASK}"


def test_convex_key_prefix_is_not_masked() -> None:
    """Registering a whole Convex deploy key masks only its part after '|', not ``prod:<deployment>``."""
    r = Redactor()
    part = secrets.token_hex(12)
    r.add(f"prod:happy-otter-123|{part}")
    assert r.redact("deployment prod:happy-otter-123") == "deployment prod:happy-otter-123"
    assert r.redact(f"key {part}") == f"key {MASK}"


def test_self_hosted_admin_key_keeps_its_label_visible(process_redactor: None) -> None:
    """CONVEX_SELF_HOSTED_ADMIN_KEY ``convex-self-hosted|<hex>``: the hex is masked, the label is not."""
    part = secrets.token_hex(16)
    register_environment_credentials({"CONVEX_SELF_HOSTED_ADMIN_KEY": f"convex-self-hosted|{part}"})
    assert redact(f"admin key {part}") == f"admin key {MASK}"
    assert redact("using convex-self-hosted") == "using convex-self-hosted"


def test_credential_part_after_the_first_bar_is_masked_whole(process_redactor: None) -> None:
    """Everything after the first '|' of a credential is the secret, even when it holds another '|'."""
    head, tail = secrets.token_hex(4), secrets.token_hex(6)
    register_environment_credentials({"CONVEX_DEPLOY_KEY": f"convex-self-hosted|{head}|{tail}"})
    assert redact(f"{head}|{tail}") == MASK


def test_credentials_read_from_os_environ(process_redactor: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an explicit mapping the credentials come from the process environment."""
    token = "ghp_" + secrets.token_hex(16)
    monkeypatch.setenv("GITHUB_TOKEN", token)
    register_environment_credentials()
    assert redact(f"token {token}") == f"token {MASK}"


def test_process_wide_public_value_registration(process_redactor: None) -> None:
    """register_public exempts the shared pieces of a public value in the process-wide redactor."""
    register_secret("mysql://root:Hunter2Hunter2@db.internal.example:3306")
    assert MASK in redact("db.internal.example")
    register_public("https://db.internal.example")
    assert redact("db.internal.example") == "db.internal.example"


def test_xml_escaped_form_with_both_quotes_is_masked() -> None:
    """A secret holding both quote characters is masked in its XML-escaped form (&quot; and &apos;) as well as
    its HTML-escaped one (&quot; and &#x27;)."""
    secret = "ab\"cd'ef-0123456789"
    r = Redactor()
    r.add(secret)
    xml = secret.replace('"', "&quot;").replace("'", "&apos;")
    assert r.redact(f"<v>{xml}</v>") == f"<v>{MASK}</v>"
    assert r.redact(f"<v>{secret.replace(chr(34), '&quot;').replace(chr(39), '&#x27;')}</v>") == f"<v>{MASK}</v>"


def test_eight_character_secret_written_twice_shows_one_mask() -> None:
    """An 8-character secret is a whole piece: written twice back to back, the two masks fold into one."""
    r = Redactor()
    r.add("Zq8kLm2w")
    assert r.redact("id=Zq8kLm2wZq8kLm2w;") == f"id={MASK};"


def test_age_identity_file_lines_are_masked_one_by_one(process_redactor: None) -> None:
    """DEPLOYCHECK_AGE_KEY holds an age identity file: each line is a secret of its own, so the secret key line
    printed alone is masked whole, nothing of it left visible."""
    key_line = "AGE-SECRET-KEY-1" + secrets.token_hex(20).upper()
    identity = f"# created: 2026-01-01T00:00:00Z\n  {key_line}  \n"
    register_environment_credentials({"DEPLOYCHECK_AGE_KEY": identity})
    assert redact(f"identity {key_line}.") == f"identity {MASK}."
    other = "ghp_" + secrets.token_hex(16) + "\nsecond-line-value"
    register_environment_credentials({"GITHUB_TOKEN": other})
    assert redact(f"token {other}") == f"token {MASK}"


def test_non_ascii_secret_is_masked_in_json_written_without_ascii_escapes() -> None:
    """A non-ASCII secret holding a quote is masked whole in JSON written with ensure_ascii=False (how
    results.json and reports keep their text readable), not only in the \\u-escaped form."""
    secret = 'café"-0123456789'
    r = Redactor()
    r.add(secret)
    assert r.redact(json.dumps({"m": secret}, ensure_ascii=False)) == f'{{"m": "{MASK}"}}'
    assert r.redact(json.dumps({"m": secret})) == f'{{"m": "{MASK}"}}'
