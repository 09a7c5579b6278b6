"""The small harness every benchmark shares: repetition, medians, machine facts, Markdown.

A benchmark module exposes ``NAME``, ``TITLE`` and ``run(ctx) -> Section``. A
:class:`Section` holds the rows of its table (each row a measured value against its
target, with a verdict), notes on method, and details (profiles) that explain a miss.
:func:`render_report` turns the sections and the :class:`Machine` into the Markdown of
``docs/benchmarks.md``.
"""

from __future__ import annotations

import cProfile
import datetime as dt
import io
import os
import platform
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from deploycheck.sandbox import SandboxInfo
    from deploycheck.sandbox.admin import AdminClient

__all__ = [
    "Context",
    "Machine",
    "Row",
    "Section",
    "Verdict",
    "importtime_top",
    "markdown_table",
    "median",
    "profile_process",
    "profile_top",
    "ratio",
    "render_report",
    "run_process",
    "running_sandbox",
    "time_call",
    "time_process",
]

REPO = Path(__file__).resolve().parents[1]
Verdict = Literal["met", "missed", "info"]
VERDICT_TEXT: dict[str, str] = {"met": "met", "missed": "**missed**", "info": "-"}


@dataclass(frozen=True)
class Context:
    """How hard to try: full (5 cheap / 3 expensive repetitions), ``quick``, or ``smoke``.

    ``smoke`` also shrinks every size to the minimum that still exercises the code (the
    harness test uses it); ``python`` is the interpreter run for subprocesses.
    """

    quick: bool = False
    smoke: bool = False
    python: str = sys.executable
    repo: Path = REPO

    def repeats(self, *, expensive: bool = False) -> int:
        """Repetitions of one measurement."""
        if self.smoke:
            return 1
        if self.quick:
            return 1 if expensive else 3
        return 3 if expensive else 5


@dataclass(frozen=True)
class Row:
    """One line of a benchmark's table: what was measured, the value, the target, the verdict."""

    case: str
    measured: str
    target: str = ""
    verdict: Verdict = "info"
    note: str = ""


@dataclass
class Section:
    """A benchmark's result: its table, how it was measured, and profiles explaining misses."""

    name: str
    title: str
    method: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def missed(self) -> list[Row]:
        """The rows whose target was missed."""
        return [r for r in self.rows if r.verdict == "missed"]


# -- statistics ------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    """The median of ``values`` (raises ValueError when there are none)."""
    if not values:
        msg = "median of no values"
        raise ValueError(msg)
    return float(statistics.median(values))


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, or infinity when the denominator is not positive."""
    return numerator / denominator if denominator > 0 else float("inf")


def time_call(fn: Callable[[], object], repeats: int) -> list[float]:
    """Wall seconds of ``repeats`` calls of ``fn``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


@dataclass(frozen=True)
class ProcessRun:
    """One finished subprocess: wall seconds, exit code and its output."""

    seconds: float
    returncode: int
    stdout: str
    stderr: str


def run_process(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> ProcessRun:
    """Run ``argv`` to completion (bounded by ``timeout``) and time it from spawn to exit."""
    start = time.perf_counter()
    done = subprocess.run(
        list(argv),
        cwd=cwd,
        env=dict(env) if env is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return ProcessRun(time.perf_counter() - start, done.returncode, done.stdout, done.stderr)


def time_process(
    argv: Sequence[str],
    repeats: int,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    expect: Iterable[int] = (0,),
    timeout: float = 300,
) -> list[float]:
    """Wall seconds of ``repeats`` runs of ``argv``; raise RuntimeError on an unexpected exit code."""
    allowed = set(expect)
    times = []
    for _ in range(repeats):
        done = run_process(argv, cwd=cwd, env=env, timeout=timeout)
        if done.returncode not in allowed:
            tail = (done.stdout + done.stderr)[-2000:]
            msg = f"{' '.join(argv)} exited {done.returncode}:\n{tail}"
            raise RuntimeError(msg)
        times.append(done.seconds)
    return times


# -- explaining a miss -------------------------------------------------------------------------


def profile_top(fn: Callable[[], object], limit: int = 12) -> str:
    """cProfile of one call of ``fn``: the top entries by cumulative time, as text."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        fn()
    finally:
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats("cumulative").print_stats(limit)
    lines = [line.rstrip() for line in out.getvalue().splitlines()]
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return "\n".join(line for line in lines[start:] if line)


def profile_process(
    argv: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None, limit: int = 15
) -> str:
    """cProfile of one run of a Python command (``argv[0]`` the interpreter): the top entries by
    cumulative time, as text."""
    with tempfile.TemporaryDirectory(prefix="dc-bench-profile-") as tmp:
        out_file = Path(tmp) / "profile.out"
        run_process([argv[0], "-m", "cProfile", "-o", str(out_file), *argv[1:]], cwd=cwd, env=env)
        if not out_file.is_file():
            return "(no profile written)"
        out = io.StringIO()
        pstats.Stats(str(out_file), stream=out).strip_dirs().sort_stats("cumulative").print_stats(limit)
    lines = [line.rstrip() for line in out.getvalue().splitlines()]
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return "\n".join(line for line in lines[start:] if line)


_IMPORTTIME = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def parse_importtime(stderr: str) -> list[tuple[int, int, int, str]]:
    """``-X importtime`` lines as (self us, cumulative us, depth, module)."""
    found = []
    for line in stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if match:
            depth = (len(match.group(3)) - 1) // 2
            found.append((int(match.group(1)), int(match.group(2)), depth, match.group(4)))
    return found


def importtime_top(stderr: str, limit: int = 10) -> list[tuple[int, int, int, str]]:
    """The ``limit`` imports with the largest cumulative time (top-level ones first on ties)."""
    return sorted(parse_importtime(stderr), key=lambda e: (-e[1], e[2]))[:limit]


# -- the sandbox ---------------------------------------------------------------------------------


@contextmanager
def running_sandbox() -> Iterator[tuple[SandboxInfo, AdminClient]]:
    """A fresh ``Sandbox(port=0)`` on 127.0.0.1 and its admin client; stopped on exit."""
    from deploycheck.sandbox import Sandbox
    from deploycheck.sandbox.admin import AdminClient

    sandbox = Sandbox(port=0)
    info = sandbox.start()
    try:
        yield info, AdminClient(info.admin_url)
    finally:
        sandbox.stop()


# -- the machine and the report -------------------------------------------------------------------


@dataclass(frozen=True)
class Machine:
    """Where the benchmarks ran."""

    cpu: str
    cores: int
    usable_cores: int
    memory_gib: float
    python: str
    os: str
    date: str
    load: str

    @classmethod
    def detect(cls) -> Machine:
        """Read the CPU model, core counts, memory and load of this machine."""
        cpu = platform.processor() or platform.machine()
        memory = 0.0
        try:
            text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
            model = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
            cpu = model.group(1).strip() if model else cpu
            mem = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(encoding="utf-8"), re.M)
            memory = int(mem.group(1)) / 1024**2 if mem else 0.0
        except OSError:
            pass
        usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        try:
            load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
        except OSError:
            load = "unknown"
        return cls(
            cpu=cpu,
            cores=os.cpu_count() or 1,
            usable_cores=usable,
            memory_gib=memory,
            python=f"{platform.python_implementation()} {platform.python_version()}",
            os=platform.platform(),
            date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            load=load,
        )

    def rows(self) -> list[tuple[str, str]]:
        """(field, value) pairs for the machine table."""
        return [
            ("CPU", self.cpu),
            ("Cores", f"{self.cores} ({self.usable_cores} usable by this process)"),
            ("Memory", f"{self.memory_gib:.1f} GiB"),
            ("Python", self.python),
            ("OS", self.os),
            ("Date", self.date),
            ("Load average at start (1, 5, 15 min)", self.load),
        ]


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A GitHub Markdown table; ``|`` inside a cell is escaped, newlines become spaces."""
    lines = [
        "| " + " | ".join(_cell(h) for h in headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    for row in rows:
        cells = list(row)
        if len(cells) != len(headers):
            msg = f"row has {len(cells)} cells, the table {len(headers)}: {cells!r}"
            raise ValueError(msg)
        lines.append("| " + " | ".join(_cell(str(c)) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def summary_rows(sections: Sequence[Section]) -> list[tuple[str, str, str, str]]:
    """(benchmark, case, measured, verdict) of every row that has a target."""
    return [
        (s.title, r.case, f"{r.measured} (target {r.target})", VERDICT_TEXT[r.verdict])
        for s in sections
        for r in s.rows
        if r.verdict != "info"
    ]


def render_report(sections: Sequence[Section], machine: Machine, command: str) -> str:
    """The whole Markdown report: machine, summary of targets, then each benchmark's table."""
    parts = [
        "# Benchmarks\n",
        f"Generated by `{command}` (see `benchmarks/`); do not edit by hand. Every benchmark "
        "runs against its own `Sandbox(port=0)` on 127.0.0.1. Times are medians of the stated "
        "number of runs. The machine may be shared with other work (see the load average), so a "
        "single timing can vary by a few hundred milliseconds; request counts are exact.\n",
        "## Machine\n",
        markdown_table(("Field", "Value"), machine.rows()),
        "## Targets\n",
        markdown_table(("Benchmark", "Case", "Measured", "Target"), summary_rows(sections)),
    ]
    for number, section in enumerate(sections, 1):
        parts.append(f"## {number}. {section.title}\n")
        parts.append(section.method.strip() + "\n")
        table = [(r.case, r.measured, r.target, VERDICT_TEXT[r.verdict], r.note) for r in section.rows]
        parts.append(markdown_table(("Case", "Measured", "Target", "Verdict", "Note"), table))
        parts.extend(f"- {note}" for note in section.notes)
        if section.notes:
            parts.append("")
        for heading, text in section.details:
            parts.append(f"{heading}\n\n```\n{text.rstrip()}\n```\n")
        parts.append(f"_Benchmark wall time: {section.seconds:.1f} s._\n")
    return "\n".join(parts).rstrip() + "\n"
