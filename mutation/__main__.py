"""``python -m mutation [--quick] [--module NAME ...] [--max-children N] [--work DIR]``.

Runs mutmut on each module of ``mutation/modules.toml`` against its focused tests, prints
the table (module, mutants, killed, equivalent, survived, score) and every real survivor,
and exits 1 when a module scores below the floor (or, after a full run, when an entry of
``mutation/equivalent.toml`` no longer matches a surviving mutant), 2 on a bad setup.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from mutation.harness import (
    WORK,
    HarnessError,
    Score,
    load_settings,
    render_survivors,
    render_table,
    run_module,
    stale_equivalents,
)


def build_parser(names: Sequence[str]) -> argparse.ArgumentParser:
    """The command line of the harness."""
    parser = argparse.ArgumentParser(prog="python -m mutation", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="Only the deterministic sample of each module")
    parser.add_argument(
        "--module", action="append", default=[], choices=list(names), metavar="NAME",
        help=f"Run only this module (repeatable): {', '.join(names)}",
    )  # fmt: skip
    parser.add_argument(
        "--work", type=Path, default=WORK, help="Where the modules are staged (default: .mutation/)"
    )
    parser.add_argument(
        "--max-children", type=int, default=os.cpu_count() or 2, help="Mutants tested at once (default: CPUs)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run, print the table and the survivors; the exit code says whether the floor holds."""
    try:
        settings = load_settings()
    except HarnessError as exc:
        print(f"HarnessError: {exc}", file=sys.stderr)
        return 2
    args = build_parser(list(settings.modules)).parse_args(argv)
    started = time.perf_counter()
    scores: list[Score] = []
    for name in args.module or list(settings.modules):
        module = settings.modules[name]
        print(f"mutating {module.path} against {' '.join(module.tests)} ...", file=sys.stderr, flush=True)
        try:
            score = run_module(
                module, settings, quick=args.quick, max_children=args.max_children, root=args.work
            )
        except HarnessError as exc:
            print(f"HarnessError: {exc}", file=sys.stderr)
            return 2
        print(f"  {len(score.mutants)} mutants, {score.score:.1%} in {score.seconds:.0f} s", file=sys.stderr)
        scores.append(score)
    failed = False
    for score in scores:
        if score.survivors:
            print(render_survivors(score) + "\n")
    stale = [] if args.quick else stale_equivalents(settings, scores)
    for entry in stale:
        failed = True
        print(f"stale entry in mutation/equivalent.toml ({entry.module}, {entry.function}): no surviving "
              f"mutant changes {entry.original!r} to {entry.mutant!r}; remove or update it")  # fmt: skip
    kind = "quick sample" if args.quick else "every mutant"
    print(f"\nmutation testing ({kind}, floor {settings.floor:.0%}, {time.perf_counter() - started:.0f} s)")
    print(render_table(scores, settings.floor))
    below = [s.module.path for s in scores if s.score < settings.floor]
    if below:
        failed = True
        print(f"\nbelow the floor of {settings.floor:.0%}: {', '.join(below)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
