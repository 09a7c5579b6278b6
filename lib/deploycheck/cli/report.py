"""``deploycheck report merge SHARD... --out DIR``: merge sharded runs' reports into one run's.

Each SHARD is a report folder (``results.json``, and ``junit.xml`` / ``report.html`` when
the shards have them), e.g. the artifacts of a matrix job downloaded side by side. The
merged folder gets the same four reports plus ``summary.md``; ``--summary FILE`` also
appends the summary to FILE (``"$GITHUB_STEP_SUMMARY"``). Idempotent and
order-independent. Exit code: 0 passed (warnings included), 1 a check failed, 2 bad input.

Example::

    deploycheck report merge shards/* --out reports --summary "$GITHUB_STEP_SUMMARY"
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``merge`` command."""
    sub = parser.add_subparsers(dest="report_command", metavar="COMMAND", required=True)
    merge = sub.add_parser(
        "merge",
        help="Merge shards' results.json, junit.xml, report.html and step summary into one run's",
        description="Merge report folders of sharded runs; exit 0 passed, 1 a check failed, 2 bad input.",
    )
    merge.add_argument("shards", nargs="+", type=Path, metavar="SHARD", help="A shard's report folder")
    merge.add_argument("--out", type=Path, required=True, metavar="DIR", help="Folder of the merged reports")
    merge.add_argument("--summary", type=Path, default=None, metavar="FILE",
                       help="Also append the Markdown summary to FILE (the step summary)")  # fmt: skip
    merge.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Merge the shards; print the merged counts and verdict; return the exit code."""
    from deploycheck.errors import Problem, UsageError
    from deploycheck.report import merge_reports, summary_lines

    result = merge_reports(args.shards, args.out)
    for line in summary_lines(result.results["counts"], result.results["env"]):
        print(line)
    print(f"merged {len(args.shards)} shard(s) into {args.out}: {', '.join(p.name for p in result.written)}")
    if args.summary is not None:
        try:
            with args.summary.open("a", encoding="utf-8") as handle:
                handle.write((args.out / "summary.md").read_text(encoding="utf-8") + "\n")
        except OSError as exc:
            msg = f"cannot append the summary: {exc.strerror}."
            raise UsageError([Problem(source=str(args.summary), message=msg)]) from None
    return 1 if result.verdict == "FAILED" else 0
