"""An encrypted source-of-truth table: each value cell sealed on its own with age (pyrage).

A sealed cell reads ``age:<base64 of the age file>``; TARGET, GROUP, KEY and TYPE stay
readable, so the table can be committed in the app's repository and a diff shows which
keys of which targets changed, as SOPS and dotenvx files do. DEV_VALUE cells are sealed
to ``encryption.recipients.dev`` in deploycheck.yaml, PROD_VALUE cells to
``encryption.recipients.prod``: developers hold a DEV identity, CI and the operators a
PROD one (a PROD recipient usually appears in the dev list too).

What stays visible: key names, groups, targets, which cells are empty, and each value's
length rounded up to :data:`PAD` bytes (values are padded before sealing). Whether two
cells hold the same value does not show: every seal uses a fresh file key.

The identity (``AGE-SECRET-KEY-1...``) comes from ``DEPLOYCHECK_AGE_KEY`` (one or more
identities, a CI secret), else ``DEPLOYCHECK_AGE_KEY_FILE``, else
``encryption.identity_file``, else ``~/.config/deploycheck/age.key``. Opened values live
only in memory: no command writes a decrypted table to disk (``sot edit`` uses a 0600
temporary file that it overwrites and removes).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deploycheck.errors import Problem, SoTError
from deploycheck.redact import register_secret

if TYPE_CHECKING:
    from deploycheck.config import ProjectConfig
    from deploycheck.sot.model import Column, Entry

__all__ = [
    "PAD",
    "PREFIX",
    "Keyring",
    "is_sealed",
    "open_entries",
    "seal",
]

PREFIX = "age:"
PAD = 32
COLUMNS: tuple[Column, ...] = ("dev", "prod")
DEFAULT_IDENTITY_FILE = Path("~/.config/deploycheck/age.key")


def is_sealed(cell: str | None) -> bool:
    """Whether a cell holds a sealed value."""
    return bool(cell) and str(cell).startswith(PREFIX)


def _pyrage() -> Any:
    try:
        import pyrage
    except ModuleNotFoundError:  # pragma: no cover - pyrage comes with the age extra
        msg = "the table has sealed cells (age:...), and opening them needs pyrage, which is not installed."
        hint = "pip install 'deploycheck[age]'"
        problem = Problem(source="sot", message=msg, hint=hint)
        raise SoTError([problem], title="cannot open an encrypted table") from None
    return pyrage


def seal(value: str, recipients: Sequence[str]) -> str:
    """``value`` sealed to ``recipients`` (age public keys) as one cell: ``age:<base64>``."""
    pyrage = _pyrage()
    data = value.encode("utf-8")
    data += b"\0" * (-len(data) % PAD or (PAD if not data else 0))
    keys = [pyrage.x25519.Recipient.from_str(r) for r in recipients]
    return PREFIX + base64.b64encode(pyrage.encrypt(data, keys)).decode("ascii")


class Keyring:
    """The age identities of this machine, and where they came from (for messages)."""

    def __init__(self, identities: Sequence[Any], source: str) -> None:
        self.identities = list(identities)
        self.source = source

    @classmethod
    def from_environ(cls, config: ProjectConfig | None, environ: Mapping[str, str] | None = None) -> Keyring:
        """Identities from DEPLOYCHECK_AGE_KEY, else the key file (see the module docstring)."""
        env = os.environ if environ is None else environ
        text = env.get("DEPLOYCHECK_AGE_KEY") or ""
        source = "DEPLOYCHECK_AGE_KEY"
        if not text.strip():
            configured = config.encryption.identity_file if config and config.encryption else None
            path = Path(
                env.get("DEPLOYCHECK_AGE_KEY_FILE") or configured or DEFAULT_IDENTITY_FILE
            ).expanduser()
            source = f"DEPLOYCHECK_AGE_KEY (unset) or the key file {path}"
            try:
                text = path.read_text("utf-8")
                source = f"the key file {path}"
            except OSError:
                text = ""
        return cls.parse(text, source)

    @classmethod
    def parse(cls, text: str, source: str) -> Keyring:
        """Every ``AGE-SECRET-KEY-1...`` line of ``text`` (comments and blank lines skipped)."""
        pyrage = _pyrage()
        identities = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            register_secret(line)
            try:
                identities.append(pyrage.x25519.Identity.from_str(line))
            except pyrage.IdentityError:
                msg = f"line {number} of {source} is not an age identity (AGE-SECRET-KEY-1...)."
                hint = "Give the identity age-keygen printed, one per line."
                raise SoTError(
                    [Problem(source=source, message=msg, hint=hint)], title="unusable age identity"
                ) from None
        return cls(identities, source)

    def open(self, cell: str) -> str | None:
        """The value of a sealed cell, or None when none of the identities is a recipient."""
        pyrage = _pyrage()
        try:
            data = base64.b64decode(cell[len(PREFIX) :], validate=True)
        except ValueError:
            return None
        if not self.identities:
            return None
        try:
            plain = pyrage.decrypt(data, self.identities)
        except pyrage.DecryptError:
            return None
        value = bytes(plain).rstrip(b"\0").decode("utf-8")
        register_secret(value)
        return value


def recipients_of(config: ProjectConfig | None, column: Column) -> tuple[str, ...]:
    """The configured age recipients of a value column (empty without an ``encryption:`` section)."""
    if config is None or config.encryption is None:
        return ()
    return config.encryption.recipients.get(column, ())


def _environments(config: ProjectConfig | None, column: Column) -> str:
    if config is None:
        return "?"
    names = [e.name for e in config.environments.values() if e.values == column]
    return ", ".join(names) or "(none)"


def open_entries(
    entries: Sequence[Entry],
    source: Path,
    config: ProjectConfig | None,
    *,
    columns: Collection[Column] | None = None,
    keyring: Keyring | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[Entry]:
    """``entries`` with their sealed cells opened; SoTError when a needed column cannot be.

    ``columns`` are the value columns this run needs (None: both). A sealed cell of a
    column not needed that this machine cannot open is left sealed (it is never sent
    anywhere: a run only reads its own column). The error names the recipients the
    column is sealed to and the environments whose values could not be read.
    """
    if not any(is_sealed(e.dev) or is_sealed(e.prod) for e in entries):
        return list(entries)
    ring = keyring or Keyring.from_environ(config, environ)
    needed = set(COLUMNS if columns is None else columns)
    failed: dict[Column, list[int]] = {}
    opened = []
    for entry in entries:
        cells: dict[str, str | None] = {}
        for column in COLUMNS:
            cell = entry.dev if column == "dev" else entry.prod
            if not is_sealed(cell):
                continue
            assert cell is not None  # is_sealed checked it
            value = ring.open(cell)
            if value is None:
                if column in needed:
                    failed.setdefault(column, []).append(entry.line)
                continue
            cells[column] = value
        opened.append(replace(entry, **cells) if cells else entry)  # type: ignore[arg-type]
    if failed:
        problems = []
        for column, lines in failed.items():
            to = ", ".join(recipients_of(config, column)) or "(encryption.recipients is not configured)"
            msg = (
                f"{len(lines)} {column.upper()}_VALUE cell(s) (line {', '.join(map(str, lines[:5]))}"
                f"{', ...' if len(lines) > 5 else ''}) cannot be opened with {ring.source}: they are sealed "
                f"to {to}; environment(s) {_environments(config, column)} cannot be read."
            )
            hint = "Set DEPLOYCHECK_AGE_KEY to an identity of one of those recipients (nothing was written)."
            problems.append(Problem(source=str(source), line=lines[0], message=msg, hint=hint))
        raise SoTError(problems, title=f"cannot decrypt the source-of-truth table {source}")
    return opened
