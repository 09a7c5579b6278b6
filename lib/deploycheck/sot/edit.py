"""Rewriting a source-of-truth table cell by cell: sealing, opening, setting one value.

:func:`rewrite_cells` keeps every line it does not change byte for byte (comments,
blank lines, alignment), so sealing a table or changing one value gives a diff of just
those rows. :func:`seal_table`, :func:`open_table` and :func:`set_value` are the
``deploycheck sot`` commands' work; none of them touches the disk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from deploycheck.errors import Problem, SoTError, UsageError
from deploycheck.sot.crypt import Keyring, is_sealed, recipients_of, seal
from deploycheck.sot.parse import split_row

if TYPE_CHECKING:
    from deploycheck.config import ProjectConfig
    from deploycheck.sot.model import Column

__all__ = ["Cell", "open_table", "recipients_for", "rewrite_cells", "seal_table", "set_value"]

VALUE_COLUMNS: dict[str, Column] = {"DEV_VALUE": "dev", "PROD_VALUE": "prod"}


@dataclass(frozen=True)
class Cell:
    """One value cell of a data row: its line, the row's KEY and TARGET, its column and text."""

    line: int
    key: str
    target: str
    column: Column
    text: str


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|")


def rewrite_cells(text: str, change: Callable[[Cell], str]) -> str:
    """``text`` with each DEV_VALUE / PROD_VALUE cell replaced by ``change(cell)``.

    Rows whose cells all come back unchanged keep their exact line.
    """
    out: list[str] = []
    header: list[str] | None = None
    for number, raw in enumerate(text.splitlines(keepends=True), start=1):
        line = raw.strip()
        cells = split_row(line) if line.startswith("|") else None
        if cells is None:
            out.append(raw)
            continue
        if header is None:
            header = [c.upper() for c in cells]
            out.append(raw)
            continue
        if all(set(c) <= set(":-") and c for c in cells) or len(cells) != len(header):
            out.append(raw)
            continue
        row = dict(zip(header, cells, strict=True))
        new = list(cells)
        for index, name in enumerate(header):
            if name in VALUE_COLUMNS:
                cell = Cell(
                    number, row.get("KEY", ""), row.get("TARGET", ""), VALUE_COLUMNS[name], cells[index]
                )
                new[index] = change(cell)
        if new == cells:
            out.append(raw)
            continue
        ending = "\n" if raw.endswith("\n") else ""
        out.append("| " + " | ".join(_escape(c) for c in new) + " |" + ending)
    return "".join(out)


def recipients_for(config: ProjectConfig, column: Column) -> tuple[str, ...]:
    """The recipients of ``column``; UsageError when deploycheck.yaml configures none."""
    found = recipients_of(config, column)
    if not found:
        msg = (
            f"no age recipients for {column.upper()}_VALUE cells: encryption.recipients.{column} is not set."
        )
        hint = "Add an encryption: section with recipients for dev and prod (age public keys, age1...)."
        raise UsageError([Problem(source=str(config.path), path="encryption", message=msg, hint=hint)])
    return found


def seal_table(text: str, config: ProjectConfig, *, keyring: Keyring | None = None) -> str:
    """Seal every non-empty value cell that is not sealed yet; with ``keyring``, re-seal sealed ones too
    (``rekey``: every cell to the recipients configured now; SoTError for a cell it cannot open)."""
    failures: list[Problem] = []

    def change(cell: Cell) -> str:
        if not cell.text:
            return cell.text
        value: str | None = cell.text
        if is_sealed(cell.text):
            if keyring is None:
                return cell.text
            value = keyring.open(cell.text)
            if value is None:
                failures.append(
                    Problem(source=str(config.path), line=cell.line, message=f"{cell.key}: cannot open")
                )
                return cell.text
        assert value is not None  # set above
        return seal(value, recipients_for(config, cell.column))

    result = rewrite_cells(text, change)
    if failures:
        raise SoTError(failures, title="cannot re-seal cells this identity cannot open (nothing was written)")
    return result


def open_table(text: str, source: str, keyring: Keyring) -> str:
    """Every sealed cell opened (for ``decrypt --to -``); SoTError naming the cells that cannot be."""
    failures: list[int] = []

    def change(cell: Cell) -> str:
        if not is_sealed(cell.text):
            return cell.text
        value = keyring.open(cell.text)
        if value is None:
            failures.append(cell.line)
            return cell.text
        return value

    result = rewrite_cells(text, change)
    if failures:
        msg = f"{len(failures)} cell(s) cannot be opened with {keyring.source} (lines {failures[:5]})."
        hint = "Use an identity of the column's recipients (DEPLOYCHECK_AGE_KEY); nothing was printed."
        raise SoTError([Problem(source=source, line=failures[0], message=msg, hint=hint)])
    return result


def set_value(
    text: str, config: ProjectConfig, *, key: str, target: str, column: Column, value: str, group: str
) -> str:
    """``text`` with ``key``'s ``column`` cell on ``target`` sealed to ``value`` (a new row when absent)."""
    sealed = seal(value, recipients_for(config, column))
    found = []

    def change(cell: Cell) -> str:
        targets = [t.strip() for t in cell.target.split(",")]
        if cell.key == key and target in targets and cell.column == column:
            found.append(cell.line)
            return sealed
        return cell.text

    result = rewrite_cells(text, change)
    if found:
        return result
    header = next(split_row(line.strip()) for line in text.splitlines() if line.strip().startswith("|"))
    assert header is not None  # the caller validated the table
    cells = {"TARGET": target, "GROUP": group, "KEY": key, "DEV_VALUE": "", "PROD_VALUE": "", "TYPE": ""}
    cells[{"dev": "DEV_VALUE", "prod": "PROD_VALUE"}[column]] = sealed
    row = "| " + " | ".join(_escape(cells.get(name.upper(), "")) for name in header) + " |\n"
    return result + ("" if result.endswith("\n") or not result else "\n") + row
