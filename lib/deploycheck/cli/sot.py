"""``deploycheck sot encrypt|decrypt|edit|set|rekey``: the encrypted source-of-truth table.

Examples::

    deploycheck sot encrypt         # seal every value cell to the recipients in deploycheck.yaml
    deploycheck sot decrypt --to -  # print the opened table (stdout only, never a file)
    deploycheck sot edit            # $EDITOR on a 0600 temp copy, validated, re-sealed, shredded
    printf %s "$TOKEN" | deploycheck sot set API_TOKEN --target CONVEX --prod-value-stdin
    deploycheck sot rekey           # re-seal every cell after a recipient change

The table is the one ``--sot`` / ``DEPLOYCHECK_SOT`` / the config names (of ``--env``).
Every command validates the result before it replaces the file (atomically); on any
error nothing is written. Exit codes: 0 done, 2 bad input (nothing written).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from deploycheck.cli.options import add_project_options, load_project

if TYPE_CHECKING:
    from deploycheck.config import ProjectConfig
    from deploycheck.sot import Column

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The actions, each with ``--config``, ``--env`` and ``--sot``."""
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    common = argparse.ArgumentParser(add_help=False)
    add_project_options(common, env="Environment whose table to use (default: default_env)", state_dir=False)
    actions.add_parser("encrypt", parents=[common], help="Seal every value cell not sealed yet")
    decrypt = actions.add_parser("decrypt", parents=[common], help="Print the opened table")
    decrypt.add_argument("--to", required=True, metavar="-", help="Only '-' (stdout): never a file")
    actions.add_parser("edit", parents=[common], help="Edit the opened table in $EDITOR, then re-seal it")
    actions.add_parser("rekey", parents=[common], help="Re-seal every cell to the recipients configured now")
    setter = actions.add_parser("set", parents=[common], help="Seal one value read from stdin into the table")
    setter.add_argument("key", metavar="KEY", help="The variable name")
    setter.add_argument("--target", required=True, metavar="T", help="The row's target")
    which = setter.add_mutually_exclusive_group(required=True)
    which.add_argument("--prod-value-stdin", action="store_true", help="Read the PROD_VALUE from stdin")
    which.add_argument("--dev-value-stdin", action="store_true", help="Read the DEV_VALUE from stdin")
    setter.add_argument("--group", default="Secrets", help="GROUP of a new row (default Secrets)")


def run(args: argparse.Namespace) -> int:
    """Dispatch to the action; see the module docstring."""
    from deploycheck.errors import SoTError, UsageError
    from deploycheck.sot import Keyring

    if args.action == "decrypt" and args.to != "-":
        raise UsageError(
            f"--to {args.to!r}: a decrypted table is only ever printed (--to -), never written to a file; "
            "use `deploycheck sot edit` to change it."
        )
    config, _, path = load_project(args)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise SoTError(f"cannot read the table {path}: {exc.strerror}") from None
    if args.action == "decrypt":
        from deploycheck.sot import open_table

        _print_opened(open_table(text, str(path), Keyring.from_environ(config)))
        return 0
    if args.action == "edit":
        return _edit(config, path, text)
    new = _change(args, config, text)
    _save(config, path, new)
    print(f"{path}: {args.action} done; every value cell is sealed.")
    return 0


def _print_opened(text: str) -> None:
    """Write the opened table to the real stdout: the one output that shows values, on request."""
    import stat

    from deploycheck.output import RedactingStream

    sys.stdout.flush()
    stream = sys.stdout.wrapped if isinstance(sys.stdout, RedactingStream) else sys.stdout
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
        if stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            print(
                "warning: stdout is a regular file: the decrypted table is now on disk; delete it when done.",
                file=sys.stderr,
            )
    stream.write(text)
    stream.flush()


def _change(args: argparse.Namespace, config: ProjectConfig, text: str) -> str:
    from deploycheck.errors import UsageError
    from deploycheck.sot import Keyring, seal_table, set_value

    if args.action == "encrypt":
        return seal_table(text, config)
    if args.action == "rekey":
        return seal_table(text, config, keyring=Keyring.from_environ(config))
    value = sys.stdin.read()
    value = value[:-1] if value.endswith("\n") else value
    if not value:
        raise UsageError(
            'no value on stdin: pipe the value in, e.g. `printf %s "$VALUE" | deploycheck sot set ...`.'
        )
    from deploycheck.redact import register_secret

    register_secret(value)
    column: Column = "prod" if args.prod_value_stdin else "dev"
    return set_value(
        text, config, key=args.key, target=args.target, column=column, value=value, group=args.group
    )


def _validate(config: ProjectConfig, path: Path, text: str) -> None:
    """Parse and check the new table (opening nothing more), so a broken table is never written."""
    from deploycheck.sot import sot_from_text

    sot_from_text(text, path, config, columns=())


def _save(config: ProjectConfig, path: Path, text: str) -> None:
    from deploycheck.state.ledger import write_atomic

    _validate(config, path, text)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    write_atomic(path, text, mode=mode)


def _edit(config: ProjectConfig, path: Path, text: str) -> int:
    """Open what this identity can, edit in $EDITOR, validate, re-seal changed cells only, shred the copy."""
    from deploycheck.errors import UsageError
    from deploycheck.sot import Cell, Keyring, rewrite_cells

    keyring = Keyring.from_environ(config)
    opened: dict[tuple[str, str, str], tuple[str, str]] = {}

    def open_cell(cell: Cell) -> str:
        from deploycheck.sot import is_sealed

        if not is_sealed(cell.text):
            return cell.text
        value = keyring.open(cell.text)
        if value is None:
            return cell.text  # not ours to read: stays sealed, and unchanged
        opened[(cell.key, cell.target, cell.column)] = (value, cell.text)
        return value

    import subprocess
    import tempfile

    plain = rewrite_cells(text, open_cell)
    editor = shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")
    # memory-backed where the system has it, so the opened copy need not reach a disk
    shm = Path("/dev/shm")  # noqa: S108 - mkdtemp makes a private 0700 folder inside it
    folder = tempfile.mkdtemp(prefix="deploycheck-sot-", dir=shm if shm.is_dir() else None)
    temp = Path(folder) / path.name
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(plain)
        done = subprocess.run([*editor, str(temp)], check=False)
        if done.returncode != 0:
            raise UsageError(f"the editor exited with {done.returncode}: nothing was written.")
        edited = temp.read_text("utf-8")
    finally:
        _shred(temp)
        with contextlib.suppress(OSError):
            os.rmdir(folder)
    if edited == plain:
        print(f"{path}: no change.")
        return 0
    _validate(config, path, edited)
    from deploycheck.sot import is_sealed, recipients_for, seal

    def reseal(cell: Cell) -> str:
        if not cell.text or is_sealed(cell.text):
            return cell.text
        old = opened.get((cell.key, cell.target, cell.column))
        if old is not None and old[0] == cell.text:
            return old[1]  # unchanged value: the same ciphertext, a minimal diff
        return seal(cell.text, recipients_for(config, cell.column))

    _save(config, path, rewrite_cells(edited, reseal))
    print(f"{path}: saved; changed cells re-sealed, the temporary copy shredded.")
    return 0


def _shred(path: Path) -> None:
    """Overwrite ``path`` with zeros, flush it to disk, and remove it."""
    with contextlib.suppress(FileNotFoundError):
        size = path.stat().st_size
        with path.open("r+b") as handle:
            handle.write(b"\0" * size)
            handle.flush()
            os.fsync(handle.fileno())
        path.unlink()
