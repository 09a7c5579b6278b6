"""Merging the reports of sharded runs (``deploycheck report merge``) into the reports of one run.

Each shard (a GitHub Actions matrix job: one platform, one environment) writes its own
``results.json``, ``junit.xml`` and ``report.html``; :func:`merge_reports` folds N such
folders into one folder whose counts, verdict and check list are those a single
unsharded run would give, plus the Markdown step summary (``summary.md``).

The merge is idempotent and order-independent: every check is keyed by its id (JUnit:
classname and name; HTML: the test id); a check present in several inputs (a shard
merged twice, or a merged folder merged again with one of its shards) is kept once; if
two inputs disagree about one check the worse outcome wins, ties broken by content, and
everything is written in sorted order. Durations are summed per distinct check.

``report.html`` is pytest-html 4's self-contained page: its data blob (one entry per
test) is merged and the parts of the page that count tests (deploycheck's summary line
and verdict, pytest-html's run count and filter counts) are rewritten from the merged
data. A page without those parts is refused rather than merged with stale counts.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from deploycheck.errors import Problem, UsageError
from deploycheck.report.dashboard import TargetRow, render_dashboard
from deploycheck.report.results import CheckRecord, load_results, render_markdown, verdict
from deploycheck.report.rootcause import group_causes

__all__ = ["MergeResult", "merge_html", "merge_junit", "merge_reports", "merge_results"]

_RANK = {"pass": 0, "skip": 1, "warn": 2, "fail": 3, "error": 4}
_REPORTS = ("results.json", "junit.xml", "report.html")


@dataclass(frozen=True)
class MergeResult:
    """What a merge wrote: the merged ``results.json`` document and the paths."""

    results: dict[str, Any]
    written: tuple[Path, ...]

    @property
    def verdict(self) -> str:
        """The merged verdict (PASSED, PASSED with warnings, FAILED)."""
        return str(self.results["verdict"])


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _names(values: Iterable[Any]) -> list[str]:
    """Sorted distinct names, splitting earlier merges' ``a, b`` lists so re-merging is stable."""
    found: set[str] = set()
    for value in values:
        items = value if isinstance(value, list) else str(value or "").split(", ")
        found.update(str(item) for item in items if str(item))
    return sorted(found)


# -- results.json -----------------------------------------------------------------------------


def merge_results(documents: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One ``results.json`` document of every check of ``documents`` (see the module docstring)."""
    checks: dict[str, dict[str, Any]] = {}
    for document in documents:
        for check in document["checks"]:
            current = checks.get(check["id"])
            if current is None or _check_key(check) > _check_key(current):
                checks[check["id"]] = check
    ordered = [checks[key] for key in sorted(checks)]
    counts = Counter(str(c.get("outcome")) for c in ordered)
    envs = _names(d.get("env") for d in documents)
    merged: dict[str, Any] = {"env": ", ".join(envs)}
    configs = _names(d.get("config") for d in documents if d.get("config"))
    if configs:
        merged["config"] = ", ".join(configs)
    merged["platforms"] = _names(p for d in documents for p in (d.get("platforms") or []))
    merged["verdict"] = verdict(counts)
    merged["counts"] = {k: counts.get(k, 0) for k in _RANK}
    merged["checks"] = ordered
    return merged


def _check_key(check: dict[str, Any]) -> tuple[int, str]:
    return _RANK.get(str(check.get("outcome")), 0), _canonical(check)


# -- junit.xml --------------------------------------------------------------------------------


def _case_rank(case: ET.Element) -> int:
    tags = {child.tag for child in case}
    if "error" in tags:
        return 3
    if "failure" in tags:
        return 2
    return 1 if "skipped" in tags else 0


def merge_junit(texts: Sequence[str], sources: Sequence[str]) -> str:
    """One JUnit XML document holding every distinct test case of ``texts`` in one ``testsuite``."""
    cases: dict[tuple[str, str], tuple[tuple[int, str], ET.Element]] = {}
    stamps: list[str] = []
    hosts: list[str] = []
    for text, source in zip(texts, sources, strict=True):
        try:
            root = ET.fromstring(text)  # noqa: S314 - our own reports, parsed without DTDs or entities
        except ET.ParseError as exc:
            raise UsageError(
                [Problem(source=source, line=exc.position[0], message=f"not XML: {exc}.")]
            ) from None
        suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
        if root.tag not in ("testsuite", "testsuites"):
            raise UsageError([Problem(source=source, message="not a JUnit report (no testsuite).")])
        for suite in suites:
            stamps += [suite.get("timestamp", "")] if suite.get("timestamp") else []
            hosts += [suite.get("hostname", "")] if suite.get("hostname") else []
            for case in suite.findall("testcase"):
                key = (case.get("classname", ""), case.get("name", ""))
                rank = (_case_rank(case), ET.tostring(case, encoding="unicode"))
                if key not in cases or rank > cases[key][0]:
                    cases[key] = (rank, case)
    suite = ET.Element("testsuite", {"name": "pytest"})
    kept = [cases[key][1] for key in sorted(cases)]
    ranks = Counter(_case_rank(case) for case in kept)
    seconds = sum(float(case.get("time") or 0) for case in kept)
    suite.set("errors", str(ranks[3]))
    suite.set("failures", str(ranks[2]))
    suite.set("skipped", str(ranks[1]))
    suite.set("tests", str(len(kept)))
    suite.set("time", f"{seconds:.3f}")
    if stamps:
        suite.set("timestamp", min(stamps))
    if hosts:
        suite.set("hostname", ", ".join(_names(hosts)))
    suite.extend(kept)
    root = ET.Element("testsuites", {"name": "pytest tests"})
    root.append(suite)
    return '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root, encoding="unicode")


# -- report.html ------------------------------------------------------------------------------

_BLOB_RE = re.compile(r'(<div id="data-container" data-jsonblob=")([^"]*)(")')
_RECORD_FIELDS = frozenset(f.name for f in fields(CheckRecord))
#: the dashboard block of :func:`deploycheck.report.dashboard.render_dashboard`, up to its own script
_DASHBOARD_RE = re.compile(r'<div id="dc-dashboard".*?<script>.*?</script>', re.S)
_RUN_COUNT_RE = re.compile(r'<p class="run-count">[^<]*</p>')
_GENERATED_RE = re.compile(r"<p>Report generated on .*?</p>", re.S)
#: pytest-html's result names and the filter labels it writes beside each checkbox
_FILTERS = (
    ("failed", "Failed"), ("passed", "Passed"), ("skipped", "Skipped"), ("xfailed", "Expected failures"),
    ("xpassed", "Unexpected passes"), ("error", "Errors"), ("rerun", "Reruns"), ("retried", "Retried"),
)  # fmt: skip
_HTML_RANK = {"passed": 0, "xpassed": 0, "skipped": 1, "xfailed": 1, "rerun": 1, "failed": 2, "error": 3}


def _blob(text: str, source: str) -> dict[str, Any]:
    match = _BLOB_RE.search(text)
    missing = [name for name, regex in (("data-jsonblob", _BLOB_RE), ("dc-dashboard", _DASHBOARD_RE),
                                        ("run-count", _RUN_COUNT_RE)) if not regex.search(text)]  # fmt: skip
    if match is None or missing:
        msg = f"not a pytest-html 4 report written by deploycheck (no {', '.join(missing)})."
        raise UsageError(
            [Problem(source=source, message=msg, hint="Merge report.html files of deploycheck runs.")]
        )
    data: dict[str, Any] = json.loads(html.unescape(match.group(2)))
    return data


def _entry_key(entries: list[dict[str, Any]]) -> tuple[int, str]:
    worst = max((_HTML_RANK.get(str(e.get("result", "")).lower(), 0) for e in entries), default=0)
    return worst, _canonical(entries)


def _duration_text(seconds: float) -> str:
    if seconds < 1:
        return f"{round(seconds * 1000)} ms"
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _merge_blobs(blobs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    tests: dict[str, list[dict[str, Any]]] = {}
    for blob in blobs:
        for test_id, entries in (blob.get("tests") or {}).items():
            if test_id not in tests or _entry_key(entries) > _entry_key(tests[test_id]):
                tests[test_id] = entries
    environment: dict[str, Any] = {}
    for key in sorted({k for blob in blobs for k in (blob.get("environment") or {})}):
        values = [blob["environment"][key] for blob in blobs if key in (blob.get("environment") or {})]
        # lists are flattened, so a merged value merged again with its parts stays what it was
        items = [item for value in values for item in (value if isinstance(value, list) else [value])]
        distinct = sorted({_canonical(item) for item in items})
        environment[key] = (
            json.loads(distinct[0]) if len(distinct) == 1 else [json.loads(v) for v in distinct]
        )
    titles = _names(blob.get("title") for blob in blobs)
    base = min(
        blobs, key=lambda b: _canonical({k: v for k, v in b.items() if k not in ("tests", "environment")})
    )
    title = titles[0] if len(titles) == 1 else "deploycheck: merged verification"
    return {**base, "environment": environment, "tests": {k: tests[k] for k in sorted(tests)}, "title": title}


def _replacement(state: str, number: int, label: str) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        return f"{match.group(1)}{state}>{match.group(2)}{number} {label}"

    return replace


def _filter_counts(page: str, tests: dict[str, list[dict[str, Any]]]) -> str:
    """pytest-html's filter checkboxes: each count, and ``disabled`` when it is 0."""
    by_kind = Counter(str(entries[-1].get("result", "")).lower() for entries in tests.values() if entries)
    for kind, label in _FILTERS:
        number = by_kind.get(kind, 0)
        state = " " if number else " disabled"  # as pytest-html writes them
        pattern = re.compile(
            rf'(<input[^>]*data-test-result="{kind}")\s*(?:disabled)?\s*>(\s*<span class="{kind}">)\d+ '
            + re.escape(label)
        )
        page = pattern.sub(_replacement(state, number, label), page)
    return page


def _dashboard(results: dict[str, Any]) -> str:
    """The dashboard of the merged run, rendered again from the merged results.

    The target rows come from the records (a merged page has no console links: those need
    the environment of a run), and the drift section from the drift checks' records.
    """
    records = [
        CheckRecord(**{k: v for k, v in check.items() if k in _RECORD_FIELDS}) for check in results["checks"]
    ]
    targets = {
        (r.target, r.platform, r.resource): TargetRow(name=r.target, platform=r.platform, resource=r.resource)
        for r in records
        if r.target
    }
    verdict = str(results["verdict"]).removeprefix("Verification ").strip()
    return render_dashboard(
        env=str(results.get("env") or ""),
        verdict=verdict,
        records=records,
        targets=[targets[key] for key in sorted(targets)],
        causes=group_causes(records),
        drift=[],
        duration_s=sum(r.duration for r in records),
    )


def merge_html(texts: Sequence[str], sources: Sequence[str], results: dict[str, Any]) -> str:
    """One pytest-html page of every test of ``texts``, its counts from the merged ``results``."""
    blobs = [_blob(text, source) for text, source in zip(texts, sources, strict=True)]
    merged = _merge_blobs(blobs)
    # the template: the pages differ only in what is rewritten below; pick one independent of order
    template = min(texts, key=lambda t: hashlib.sha256(_BLOB_RE.sub("", t).encode()).hexdigest())
    blob = html.escape(json.dumps(merged), quote=True)
    page = _BLOB_RE.sub(lambda m: m.group(1) + blob + m.group(3), template)
    board = _dashboard(results)
    page = _DASHBOARD_RE.sub(lambda m: board, page, count=1)
    seconds = sum(float(c.get("duration") or 0) for c in results["checks"])
    run_count = f'<p class="run-count">{len(results["checks"])} tests took {_duration_text(seconds)}.</p>'
    page = _RUN_COUNT_RE.sub(lambda m: run_count, page, count=1)
    generated = "<p>Merged from the reports of several shards by deploycheck report merge.</p>"
    page = _GENERATED_RE.sub(lambda m: generated, page, count=1)
    title = html.escape(merged["title"])
    page = re.sub(r'(<h1 id="title">)[^<]*(</h1>)', lambda m: m.group(1) + title + m.group(2), page, count=1)
    return _filter_counts(page, merged["tests"])


# -- the command ------------------------------------------------------------------------------


def _read(folder: Path, name: str) -> str | None:
    path = folder / name
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError([Problem(source=str(path), message=f"cannot read: {exc.strerror}.")]) from None


def _write_all(files: dict[Path, str]) -> tuple[Path, ...]:
    """Write every file through a temporary sibling and a rename, so a reader never sees half a report."""
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    return tuple(files)


def merge_reports(folders: Sequence[Path], out: Path) -> MergeResult:
    """Merge the report folders ``folders`` into ``out`` (results.json, junit.xml, report.html, summary.md).

    Every folder needs a ``results.json``; ``junit.xml`` and ``report.html`` are merged when
    every folder has one and refused when only some do. Nothing is written on bad input.
    """
    if not folders:
        raise UsageError([Problem(source="report merge", message="no shard folders given.",
                                  hint="deploycheck report merge shards/* --out reports")])  # fmt: skip
    folders = list(dict.fromkeys(folders))  # a folder named twice is one input
    problems = [Problem(source=str(f), message="is not a folder.") for f in folders if not f.is_dir()]
    if problems:
        raise UsageError(problems)
    documents = [load_results(folder / "results.json") for folder in folders]
    merged = merge_results(documents)
    files = {out / "results.json": json.dumps(merged, indent=2, ensure_ascii=False) + "\n"}
    for name in _REPORTS[1:]:
        texts = {folder: _read(folder, name) for folder in folders}
        present = [folder for folder, text in texts.items() if text is not None]
        if not present:
            continue
        if len(present) != len(folders):
            lacking = [str(folder / name) for folder in folders if texts[folder] is None]
            msg = f"{name} is missing here while other shards have one; the merge would lack their checks."
            raise UsageError([Problem(source=path, message=msg, hint="Merge shards of the same kind of run.")
                              for path in lacking])  # fmt: skip
        sources = [str(folder / name) for folder in folders]
        bodies = [texts[folder] or "" for folder in folders]
        if name == "junit.xml":
            files[out / name] = merge_junit(bodies, sources)
        else:
            files[out / name] = merge_html(bodies, sources, merged)
    files[out / "summary.md"] = render_markdown(merged)
    return MergeResult(merged, _write_all(files))
