"""Tests of the benchmark harness: statistics, Markdown, generated projects, and a smoke run of each benchmark.

No timing is asserted: the benchmarks' targets live in docs/benchmarks.md, not here.
"""

from __future__ import annotations

import importlib
import math
import shutil
import sys
from pathlib import Path

import pytest
from benchmarks.__main__ import main
from benchmarks.harness import (
    Context,
    Machine,
    Row,
    Section,
    importtime_top,
    markdown_table,
    median,
    profile_process,
    profile_top,
    ratio,
    render_report,
)
from benchmarks.project import distribute, write_sot
from benchmarks.requestlog import endpoint, reads_writes, writes_by_endpoint

from benchmarks import BENCHMARKS

MACHINE = Machine(
    cpu="Test CPU", cores=2, usable_cores=2, memory_gib=3.5, python="CPython 3.11.9",
    os="Linux-test", date="2026-01-01 00:00 UTC", load="0.10, 0.20, 0.30",
)  # fmt: skip


def test_median_of_odd_and_even_counts() -> None:
    """The median is the middle value, or the mean of the two middle values."""
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert median([0.7]) == 0.7


def test_median_of_nothing_is_an_error() -> None:
    """An empty list of measurements has no median."""
    with pytest.raises(ValueError, match="no values"):
        median([])


def test_ratio_and_division_by_zero() -> None:
    """A ratio divides; a non-positive denominator gives infinity instead of raising."""
    assert ratio(9.0, 1.5) == 6.0
    assert math.isinf(ratio(1.0, 0.0))
    assert math.isinf(ratio(1.0, -0.1))


def test_markdown_table_escapes_cells() -> None:
    """Pipes and backslashes in cells are escaped and newlines flattened, one line per row."""
    table = markdown_table(("Case", "Value"), [("a|b", "1\n2"), ("c\\d", "3")])
    assert table.splitlines() == [
        "| Case | Value |",
        "|---|---|",
        "| a\\|b | 1 2 |",
        "| c\\\\d | 3 |",
    ]


def test_markdown_table_rejects_ragged_rows() -> None:
    """A row with the wrong number of cells is an error, not a broken table."""
    with pytest.raises(ValueError, match="2 cells, the table 3"):
        markdown_table(("a", "b", "c"), [("1", "2")])


def test_report_names_the_machine_and_marks_misses() -> None:
    """The report lists the machine, puts targeted rows in the summary and bolds a missed target."""
    section = Section("demo", "Demo", method="How it was measured.")
    section.rows += [
        Row("fast case", "0.10 s", "< 0.5 s", "met"),
        Row("slow case", "0.90 s", "< 0.5 s", "missed", "why"),
        Row("context", "42"),
    ]
    section.details.append(("Profile", "ncalls tottime"))
    report = render_report([section], MACHINE, "python -m benchmarks")
    assert "| CPU | Test CPU |" in report
    assert "| Memory | 3.5 GiB |" in report
    assert "| Python | CPython 3.11.9 |" in report
    assert "| Demo | slow case | 0.90 s (target < 0.5 s) | **missed** |" in report
    assert "| Demo | context |" not in report  # untargeted rows stay out of the summary
    assert "| slow case | 0.90 s | < 0.5 s | **missed** | why |" in report
    assert "```\nncalls tottime\n```" in report


def test_machine_detect_fills_every_field() -> None:
    """This machine's facts are found: CPU, cores, Python, OS and date."""
    machine = Machine.detect()
    assert machine.cpu and machine.cores >= 1 and machine.usable_cores >= 1
    assert machine.python.split()[-1].count(".") == 2
    assert machine.date.endswith("UTC")


def test_importtime_top_sorts_by_cumulative_time() -> None:
    """`-X importtime` lines are parsed and the slowest cumulative imports come first."""
    stderr = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       100 |        100 |   re\n"
        "import time:        50 |       5000 | deploycheck\n"
        "import time:       900 |        900 |     deploycheck.errors\n"
    )
    assert importtime_top(stderr, 2) == [(50, 5000, 0, "deploycheck"), (900, 900, 2, "deploycheck.errors")]


def test_profiles_list_the_top_entries() -> None:
    """A profiled call and a profiled subprocess each give a cProfile table naming the work done."""
    in_process = profile_top(lambda: sorted(range(1000), key=str), limit=5)
    assert in_process.splitlines()[0].split()[:2] == ["ncalls", "tottime"]
    assert "sorted" in in_process
    subprocess_profile = profile_process([sys.executable, "-m", "json.tool", "--help"], limit=5)
    assert "ncalls" in subprocess_profile
    assert "run_module" in subprocess_profile


def test_distribute_respects_caps() -> None:
    """Keys go round-robin, a capped target takes no more, and too many keys are refused."""
    assignment = distribute(10, {"GITHUB": 1})
    assert assignment[:5] == ["NEXTJS", "CONVEX", "CLOUDFLARE_WORKER", "GITHUB", "GITHUB_REPO"]
    assert assignment.count("GITHUB") == 1
    assert len(assignment) == 10
    with pytest.raises(ValueError, match="do not fit"):
        distribute(6, dict.fromkeys(("NEXTJS", "CONVEX", "CLOUDFLARE_WORKER", "GITHUB", "GITHUB_REPO"), 1))
    assert len(distribute(1000)) == 1000  # the largest benchmarked table fits the platforms' limits


def test_write_sot_counts_keys_per_target(tmp_path: Path) -> None:
    """The generated table has one row per key and the returned counts add up."""
    path = tmp_path / "app.env"
    counts = write_sot(path, 9, caps={"GITHUB": 1})
    rows = [line for line in path.read_text().splitlines() if line.startswith("| ") and "KEY" not in line]
    assert len(rows) == 9
    assert counts == {"NEXTJS": 2, "CONVEX": 2, "CLOUDFLARE_WORKER": 2, "GITHUB": 1, "GITHUB_REPO": 2}


def test_request_log_reads_writes_and_endpoints() -> None:
    """Log entries are counted as reads or writes per service, writes labelled by endpoint."""
    log = [
        {"service": "cloudflare", "method": "GET", "path": "/client/v4/accounts/a/pages/projects/app-web"},
        {"service": "cloudflare", "method": "PATCH", "path": "/client/v4/accounts/a/pages/projects/app-web"},
        {
            "service": "cloudflare",
            "method": "PATCH",
            "path": "/client/v4/accounts/a/workers/scripts/w/secrets-bulk",
        },
        {"service": "github", "method": "PUT", "path": "/repos/o/r/environments/production/secrets/A_TOKEN"},
        {
            "service": "github",
            "method": "GET",
            "path": "/repos/o/r/environments/production/secrets/public-key",
        },
    ]
    assert reads_writes(log) == {"cloudflare": (1, 2), "github": (1, 1)}
    assert writes_by_endpoint(log) == {
        "PATCH Pages project": 1,
        "PATCH Worker secrets-bulk": 1,
        "PUT GitHub secrets": 1,
    }
    assert endpoint("convex", "/api/v1/other") == "convex /api/v1/other"


def test_smoke_context_runs_once() -> None:
    """Smoke and quick contexts shrink the repetition counts."""
    assert Context(smoke=True).repeats(expensive=False) == 1
    assert Context(quick=True).repeats(expensive=False) == 3
    assert Context(quick=True).repeats(expensive=True) == 1
    assert Context().repeats(expensive=True) == 3
    assert Context().repeats() == 5


@pytest.mark.sandbox
@pytest.mark.slow
@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_benchmark_smoke_run(name: str) -> None:
    """Each benchmark runs end to end at minimal sizes and produces rows with verdicts."""
    if name == "suite" and not (shutil.which("curl") and shutil.which("jq")):
        pytest.skip("the suite benchmark's seed-style baseline needs curl and jq (apt-get install curl jq)")
    module = importlib.import_module(BENCHMARKS[name])
    section = module.run(Context(smoke=True))
    assert section.name == name
    assert section.rows
    assert {r.verdict for r in section.rows} <= {"met", "missed", "info"}
    assert any(r.verdict != "info" for r in section.rows)
    assert section.method


def test_command_line_writes_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m benchmarks --smoke --only sot --output PATH` prints and writes the Markdown report."""
    output = tmp_path / "bench.md"
    main(["--smoke", "--only", "sot", "--output", str(output)])
    text = output.read_text()
    assert text.startswith("# Benchmarks")
    assert "python -m benchmarks --smoke --only sot" in text
    assert "Source-of-truth parsing" in text
    assert "## Machine" in capsys.readouterr().out
