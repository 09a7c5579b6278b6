"""The source-of-truth table: one file holding every key for every target and environment.

The format is a pipe table with a header row and a separator row::

    # comments and blank lines are allowed anywhere
    | TARGET        | GROUP   | KEY                 | DEV_VALUE             | PROD_VALUE              |
    |---------------|---------|---------------------|-----------------------|-------------------------|
    | NEXTJS,CONVEX | App     | NEXT_PUBLIC_APP_URL | http://localhost:3200 | https://app.example.com |

- TARGET names one or more targets of ``deploycheck.yaml``, comma-separated.
- Cells are trimmed. A ``|`` inside a value is written ``\\|``; every other backslash is
  kept as it is.
- An empty DEV_VALUE means "not set in development"; PROD_VALUE must be set for every
  key deployed to an environment that takes PROD values.
- An optional TYPE column (``secret`` | ``plain``, empty = decide by rule) says which
  keys are secrets. Without it, the target's ``secrets:`` / ``plain:`` lists in
  ``deploycheck.yaml`` decide, and otherwise :func:`is_secret_name`: names starting with
  ``NEXT_PUBLIC_`` are plain (they are shipped to browsers), names containing SECRET,
  TOKEN, PASSWORD, PRIVATE, CREDENTIAL or WEBHOOK, or ending in ``_KEY``, are secrets,
  everything else is plain.

Secrets go to the platforms' secret stores, plain values to their variables.
:func:`load_sot` parses and validates the whole file and raises
:class:`~deploycheck.errors.SoTError` listing every problem, each with file:line and the
next step; platform rules live in :mod:`deploycheck.sot.rules`. The parsed model
(:class:`Entry`, :class:`SourceOfTruth`, :func:`is_secret_name`) is in
:mod:`deploycheck.sot.model`, re-exported here.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from deploycheck.errors import Problem, SoTError
from deploycheck.sot.model import Column, Entry, SourceOfTruth, is_secret_name

if TYPE_CHECKING:
    from deploycheck.config import ProjectConfig

__all__ = ["COLUMNS", "load_sot", "parse_sot", "sot_from_text", "split_row"]

#: the required header, in order
COLUMNS: tuple[str, ...] = ("TARGET", "GROUP", "KEY", "DEV_VALUE", "PROD_VALUE")
TYPE_COLUMN = "TYPE"
HEADER_EXAMPLE = "| TARGET | GROUP | KEY | DEV_VALUE | PROD_VALUE |"
_SEPARATOR_CELL = re.compile(r"^:?-+:?$")


@dataclass(frozen=True)
class _Row:
    line: int
    cells: list[str]


def split_row(text: str) -> list[str] | None:
    """Split one table row into trimmed cells, honouring ``\\|``; None if the row is not closed.

    ``"| a | b\\\\|c |"`` gives ``["a", "b|c"]``. A row must start and end with ``|``.
    """
    cells: list[str] = []
    current: list[str] = []
    i = 1  # the caller checked text[0] == "|"
    closed = False
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] == "|":
            current.append("|")
            i += 2
            continue
        if char == "|":
            cells.append("".join(current).strip())
            current = []
            closed = True
        else:
            closed = closed and char.isspace()
            current.append(char)
        i += 1
    if not closed or "".join(current).strip():
        return None
    return cells


def _problem(source: Path, line: int | None, message: str, hint: str) -> Problem:
    return Problem(source=str(source), line=line, message=message, hint=hint)


def _read_rows(text: str, source: Path) -> tuple[list[_Row], list[Problem]]:
    rows: list[_Row] = []
    problems: list[Problem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith("|"):
            problems.append(
                _problem(
                    source,
                    number,
                    "not a table row: every line must be a row starting with '|', a '#' comment, "
                    "or blank.",
                    "Turn the line into a row or a comment ('# ...').",
                )
            )
            continue
        cells = split_row(line)
        if cells is None:
            problems.append(
                _problem(
                    source,
                    number,
                    "the row does not end with '|'.",
                    "End the row with ' |'; write a '|' inside a value as '\\|'.",
                )
            )
            continue
        rows.append(_Row(number, cells))
    return rows, problems


def _header(rows: list[_Row], source: Path) -> tuple[dict[str, int], list[Problem]]:
    """Check the header and separator rows; return column name -> index."""
    expected = (
        f"Start the table with the header {HEADER_EXAMPLE} (optionally a TYPE column) and a separator row."
    )
    if not rows:
        return {}, [_problem(source, 1, "the file holds no table.", expected)]
    head = rows[0]
    names = [c.upper() for c in head.cells]
    problems: list[Problem] = []
    allowed = (*COLUMNS, TYPE_COLUMN)
    missing = [c for c in COLUMNS if c not in names]
    unknown = [c for c in names if c not in allowed]
    repeated = sorted({c for c in names if names.count(c) > 1})
    if missing or unknown or repeated:
        details = []
        if missing:
            details.append(f"missing {', '.join(missing)}")
        if unknown:
            details.append(f"unknown {', '.join(repr(c) for c in unknown)}")
        if repeated:
            details.append(f"repeated {', '.join(repeated)}")
        problems.append(
            _problem(
                source,
                head.line,
                f"the first row is not a valid header ({'; '.join(details)}); columns: {', '.join(allowed)}.",
                expected,
            )
        )
        return {}, problems
    if len(rows) < 2 or not _is_separator(rows[1]):
        line = rows[1].line if len(rows) > 1 else head.line
        problems.append(
            _problem(
                source,
                line,
                "the header row must be followed by a separator row such as |---|---|---|---|---|.",
                "Add the separator row right below the header.",
            )
        )
    elif len(rows[1].cells) != len(names):
        problems.append(
            _problem(
                source,
                rows[1].line,
                f"the separator row has {len(rows[1].cells)} cells, the header has {len(names)}.",
                "Give the separator one '---' cell per column.",
            )
        )
    return {name: index for index, name in enumerate(names)}, problems


def _is_separator(row: _Row) -> bool:
    return bool(row.cells) and all(_SEPARATOR_CELL.match(c) for c in row.cells)


def _type_of(
    cell: str, key: str, targets: tuple[str, ...], config: ProjectConfig | None
) -> bool | None:
    kind = cell.lower()
    if kind == "secret":
        return True
    if kind == "plain":
        return False
    if kind:
        return None
    if config is not None:
        configured = [config.targets[t] for t in targets if t in config.targets]
        if any(key in t.secrets for t in configured):
            return True
        if any(key in t.plain for t in configured):
            return False
    return is_secret_name(key)


def parse_sot(
    text: str, source: Path, config: ProjectConfig | None = None
) -> tuple[list[Entry], list[Problem]]:
    """Parse the table's text into entries and the syntax problems found (no platform rules)."""
    rows, problems = _read_rows(text, source)
    columns, header_problems = _header(rows, source)
    problems += header_problems
    if not columns:
        return [], sorted(problems, key=lambda p: p.line or 0)
    start = 2 if len(rows) > 1 and _is_separator(rows[1]) else 1
    entries: list[Entry] = []
    width = len(columns)
    for row in rows[start:]:
        if _is_separator(row):
            problems.append(
                _problem(
                    source,
                    row.line,
                    "a separator row in the middle of the table.",
                    "Remove it: only the row below the header is a separator.",
                )
            )
            continue
        if [c.upper() for c in row.cells] == [c for c, _ in sorted(columns.items(), key=lambda kv: kv[1])]:
            problems.append(
                _problem(source, row.line, "the header row is repeated.", "Keep one header at the top.")
            )
            continue
        if len(row.cells) != width:
            hint = (
                "A '|' inside a value must be escaped as '\\|'."
                if len(row.cells) > width
                else "Fill every column; leave a cell empty as '|  |'."
            )
            message = f"the row has {len(row.cells)} cells, the header has {width}."
            problems.append(_problem(source, row.line, message, hint))
            continue
        entry, row_problems = _entry(row, columns, source, config)
        problems += row_problems
        if entry is not None:
            entries.append(entry)
    return entries, sorted(problems, key=lambda p: p.line or 0)


def _entry(
    row: _Row, columns: dict[str, int], source: Path, config: ProjectConfig | None
) -> tuple[Entry | None, list[Problem]]:
    def cell(name: str) -> str:
        index = columns.get(name)
        return row.cells[index] if index is not None else ""

    problems: list[Problem] = []
    target_cell, key = cell("TARGET"), cell("KEY")
    targets = tuple(t.strip() for t in target_cell.split(","))
    if not target_cell:
        hint = "Name a target, e.g. CONVEX."
        problems.append(_problem(source, row.line, "the TARGET cell is empty.", hint))
    elif any(not t for t in targets):
        problems.append(
            _problem(
                source,
                row.line,
                f"the TARGET cell {target_cell!r} has an empty name in its list.",
                "Separate target names with single commas, e.g. NEXTJS,CONVEX.",
            )
        )
    if not key:
        problems.append(_problem(source, row.line, "the KEY cell is empty.", "Name the variable."))
    secret = _type_of(cell(TYPE_COLUMN), key, targets, config)
    if secret is None:
        problems.append(
            _problem(
                source,
                row.line,
                f"TYPE {cell(TYPE_COLUMN)!r} is not allowed; valid: secret, plain (or empty).",
                "Write secret, plain, or leave the cell empty to decide by name.",
            )
        )
    if problems:
        return None, problems
    entry = Entry(
        targets=tuple(t for t in targets if t),
        group=cell("GROUP"),
        key=key,
        dev=cell("DEV_VALUE") or None,
        prod=cell("PROD_VALUE") or None,
        secret=bool(secret),
        line=row.line,
        source=source,
    )
    return entry, []


def load_sot(
    path: Path | str,
    config: ProjectConfig | None = None,
    *,
    columns: Collection[Column] | None = None,
    environ: Mapping[str, str] | None = None,
) -> SourceOfTruth:
    """Read, parse and validate the table at ``path``; raise SoTError listing every problem.

    With ``config``, targets and platform rules are checked too (see
    :func:`deploycheck.sot.rules.validate`). Warnings are returned on the result. Sealed
    cells (an encrypted table, :mod:`deploycheck.sot.crypt`) are opened in memory with the
    identity from ``environ``; ``columns`` are the value columns the caller needs (None:
    both), the only ones that must open.
    """
    source = Path(path)
    try:
        data = source.read_bytes()
    except OSError as exc:
        hint = "Create it, or point --sot / DEPLOYCHECK_SOT at the table"
        example = config.path.parent / "fixtures" / "example" / "app.env" if config is not None else None
        if example is not None and example.is_file():
            hint += f" (to try deploycheck out: --sot {example})"
        hint += "."
        raise SoTError([_problem(source, None, f"cannot read the table: {exc.strerror}.", hint)]) from None
    try:
        # "utf-8-sig": a table saved as UTF-8 with a byte-order mark (Windows editors) reads the same
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SoTError(
            [_problem(source, line, "the file is not UTF-8 text.", "Save the table as UTF-8.")]
        ) from None
    return sot_from_text(text, source, config, columns=columns, environ=environ)


def sot_from_text(
    text: str,
    source: Path,
    config: ProjectConfig | None = None,
    *,
    columns: Collection[Column] | None = None,
    environ: Mapping[str, str] | None = None,
) -> SourceOfTruth:
    """Parse, open and validate a table's ``text`` as :func:`load_sot` does (``source`` names it)."""
    from deploycheck.sot.crypt import open_entries
    from deploycheck.sot.rules import validate

    entries, problems = parse_sot(text, source, config)
    if not problems:
        entries = open_entries(entries, source, config, columns=columns, environ=environ)
    warnings: list[Problem] = []
    if config is not None and entries:
        rule_problems, warnings = validate(entries, config)
        problems += rule_problems
    if problems:
        problems.sort(key=lambda p: p.line or 0)
        raise SoTError(problems, title=f"invalid source-of-truth table {source}")
    return SourceOfTruth(path=source, entries=entries, warnings=warnings)
