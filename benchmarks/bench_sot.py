"""Parsing and validating a 10,000-row source-of-truth table, in-process.

The table is generated (every third key a secret, keys spread evenly over as many Convex
targets as keep each under the platform's limit: only the parser and the rules are
measured, nothing is synced) and loaded with :func:`deploycheck.sot.parse.load_sot` against the project's
configuration, which runs every platform rule.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from tempfile import TemporaryDirectory

from benchmarks.harness import Context, Row, Section, median, profile_top, time_call
from benchmarks.project import HEADER, key_name

NAME = "sot"
TITLE = "Source-of-truth parsing"
ROWS = 10_000
TARGET_S = 0.5


#: a Convex deployment holds at most 512 variables: the table spreads over this many per target
PER_TARGET = 500


def write_wide_project(folder: Path, rows: int) -> Path:
    """A project whose ``rows`` generated keys fit the platforms' limits: as many Convex targets
    (each its own deployment, 500 keys) as the table needs. Nothing is synced, only validated."""
    import yaml

    targets = max(1, -(-rows // PER_TARGET))
    sot = folder / "app.env"
    lines = [HEADER]
    for n in range(rows):
        target = f"CONVEX_{n % targets:02d}"
        lines.append(f"| {target} | Generated | {key_name(n)} | dev-{n:05d} | prod-{n:05d}-{'x' * 16} |\n")
    sot.write_text("".join(lines), encoding="utf-8")
    config = {
        "project": "bench.example.com",
        "default_env": "sandbox",
        "sot": str(sot),
        "environments": {"sandbox": {"remote": True, "values": "prod", "sandbox": True, "sot": str(sot)}},
        "targets": {
            f"CONVEX_{i:02d}": {
                "platform": "convex",
                "environments": {"sandbox": {"deployment": f"prod-bench-{i:02d}"}},
            }
            for i in range(targets)
        },
    }
    path = folder / "deploycheck.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def run(ctx: Context) -> Section:
    """Time load_sot on a generated table; profile it when the target is missed."""
    from deploycheck.config import load_config
    from deploycheck.sot import load_sot

    rows = 200 if ctx.smoke else ROWS
    repeats = ctx.repeats()
    section = Section(
        NAME,
        TITLE,
        method=(
            f"`load_sot(path, config)` on a generated {rows:,}-row table (every third key a secret, "
            f"spread evenly over as many Convex targets as keep each under its 512-variable limit), "
            f"in-process after one warm-up call; every platform rule runs. Median of {repeats} runs."
        ),
    )
    started = time.perf_counter()
    with TemporaryDirectory(prefix="dc-bench-sot-") as tmp:
        path = write_wide_project(Path(tmp), rows)
        config = load_config(path)
        sot_path = config.sot_path("sandbox")
        load = partial(load_sot, sot_path, config)
        entries = len(load().entries)
        if entries != rows:
            msg = f"the table has {rows} rows but load_sot returned {entries} entries"
            raise RuntimeError(msg)
        seconds = median(time_call(load, repeats))
        section.rows.append(
            Row(
                f"{rows:,} rows: parse and validate",
                f"{seconds:.3f} s",
                f"< {TARGET_S} s",
                "met" if seconds < TARGET_S else "missed",
                f"{seconds / rows * 1e6:.1f} us a row",
            )
        )
        if seconds >= TARGET_S:
            section.details.append(
                ("cProfile of one load_sot call (top entries by cumulative time)", profile_top(load))
            )
    section.seconds = time.perf_counter() - started
    return section
