"""``python -m benchmarks [--quick | --smoke] [--only NAME ...] [--output PATH | --no-write]``.

Runs the benchmarks, prints the Markdown report and writes it to ``docs/benchmarks.md``
(only after a full run of every benchmark: ``--only`` and ``--smoke`` runs write only to
an ``--output`` file).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks import BENCHMARKS
from benchmarks.harness import REPO, Context, Machine, Row, Section, render_report

DEFAULT_OUTPUT = REPO / "docs" / "benchmarks.md"


def build_parser() -> argparse.ArgumentParser:
    """The command line of the suite."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="Fewer repetitions (3 cheap, 1 expensive)")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="Minimal sizes, one run each: proves the suite runs, measures nothing",
    )
    parser.add_argument(
        "--only", action="append", default=[], choices=list(BENCHMARKS), metavar="NAME",
        help=f"Run only this benchmark (repeatable): {', '.join(BENCHMARKS)}",
    )  # fmt: skip
    parser.add_argument("--output", type=Path, default=None, help="Where to write the Markdown report")
    parser.add_argument("--no-write", action="store_true", help="Print the report, write no file")
    return parser


def run_benchmarks(names: Sequence[str], ctx: Context) -> list[Section]:
    """Run the named benchmarks in report order; a crash becomes a section saying so."""
    sections = []
    for name in [n for n in BENCHMARKS if n in names]:
        module = importlib.import_module(BENCHMARKS[name])
        print(f"running {name} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            section: Section = module.run(ctx)
        except Exception as exc:
            section = Section(name, module.TITLE, method="The benchmark did not finish.")
            section.rows.append(Row("run", f"{type(exc).__name__}: {exc}", "finishes", "missed"))
            section.seconds = time.perf_counter() - started
        print(f"  {name}: {section.seconds:.1f} s", file=sys.stderr, flush=True)
        sections.append(section)
    return sections


def main(argv: Sequence[str] | None = None) -> int:
    """Run, print and write; exit 1 when a target was missed, else 0."""
    args = build_parser().parse_args(argv)
    names = args.only or list(BENCHMARKS)
    ctx = Context(quick=args.quick, smoke=args.smoke)
    machine = Machine.detect()
    sections = run_benchmarks(names, ctx)
    command = "python -m benchmarks" + (" --quick" if args.quick else "") + (" --smoke" if args.smoke else "")
    command += "".join(f" --only {n}" for n in args.only)
    report = render_report(sections, machine, command)
    print(report)
    output = args.output or (DEFAULT_OUTPUT if not (args.only or args.smoke) else None)
    if output is not None and not args.no_write:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(report, encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)
    return 1 if any(s.missed for s in sections) else 0


if __name__ == "__main__":
    sys.exit(main())
