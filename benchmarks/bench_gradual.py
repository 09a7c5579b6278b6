"""Gradual deploy: time from a bad version's first unhealthy answer to the revert that takes its traffic away.

A copy of the example Worker is uploaded with the pinned wrangler (``wrangler versions
upload``) and rolled out by ``python -m deploycheck deploy --gradual 10,100`` as a
subprocess against a fresh sandbox, with a long soak at 10 % and a gate round every
``interval_s``. Half a second after the split appears, a version fault makes the new version
unhealthy. The sandbox's request log gives both ends: the first 503 the new version answered,
and the ``POST .../deployments`` that put 100 % back on the old version.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import yaml

from benchmarks.harness import REPO, Context, Row, Section, median, running_sandbox
from benchmarks.project import sandbox_environ

NAME = "gradual"
TITLE = "Gradual deploy: unhealthy version to revert"
WORKER_DIR = REPO / "fixtures" / "example" / "worker"
#: gate intervals measured (seconds); smoke runs the first only
INTERVALS = (1.0, 5.0)
PROBES = 5
SOAK_S = 30.0
#: seconds the new version serves healthily before the fault
HEALTHY_FOR_S = 0.5


def _project(folder: Path, interval: float) -> Path:
    """deploycheck.yaml (absolute paths) gradually deploying a copy of the example Worker."""
    copy = folder / "worker"
    if not copy.exists():
        shutil.copytree(WORKER_DIR, copy, ignore=shutil.ignore_patterns("node_modules"))
        (copy / "node_modules").symlink_to(WORKER_DIR / "node_modules", target_is_directory=True)
        toml = copy / "wrangler.toml"
        toml.write_text("keep_vars = true\n" + toml.read_text())
    data = yaml.safe_load((REPO / "deploycheck.yaml").read_text())
    data["environments"]["sandbox"]["sot"] = str(REPO / "fixtures" / "example" / "app.env")
    data["targets"]["CLOUDFLARE_WORKER"]["environments"]["sandbox"]["deploy_cwd"] = str(copy)
    data["deploy"]["gradual"] = {
        "CLOUDFLARE_WORKER": {
            "steps": [10, 100], "soak_s": SOAK_S, "interval_s": interval, "probes": PROBES, "verify": False,
        }
    }  # fmt: skip
    path = folder / f"deploycheck-{interval:g}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _split_version(admin: Any, old: str, deadline: float) -> str | None:
    while time.monotonic() < deadline:
        worker = admin.state()["cloudflare"]["workers"]["log-ingestion"]
        current = worker["deployments"][-1]["versions"]
        if len(current) == 2:
            return next(str(v["version_id"]) for v in current if v["version_id"] != old)
        time.sleep(0.05)
    return None


def _once(ctx: Context, folder: Path, interval: float) -> tuple[float, float, int] | str:
    """(first unhealthy -> revert s, fault -> revert s, bad answers) of one rollout, or why it failed."""
    with running_sandbox() as (info, admin):
        old = admin.state()["cloudflare"]["workers"]["log-ingestion"]["active_version_id"]
        argv = [ctx.python, "-m", "deploycheck", "deploy", "--config", str(_project(folder, interval)),
                "--env", "sandbox", "--yes", "--platform", "worker", "--allow-drift", "--no-verify",
                "--state-dir", str(folder / f"state-{time.monotonic_ns()}")]  # fmt: skip
        process = subprocess.Popen(argv, cwd=REPO, env=sandbox_environ(info), stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)  # fmt: skip
        new = _split_version(admin, old, time.monotonic() + 120)
        if new is None:
            process.kill()
            return "no split appeared: " + process.communicate()[0][-300:]
        time.sleep(HEALTHY_FOR_S)
        admin.fault(service="worker", version=new, health="unhealthy")
        injected = time.time()
        output, _ = process.communicate(timeout=SOAK_S + 60)
        log = admin.requests()
    bad = [e for e in log if e.get("version") == new and e["status"] == 503]
    if process.returncode != 1 or not bad:
        return f"the rollout did not stop (exit {process.returncode}): {output[-300:]}"
    first = bad[0]["time"]
    reverts = [e for e in log if e["service"] == "cloudflare" and e["method"] == "POST"
               and e["path"].endswith("/deployments") and e["time"] > first]  # fmt: skip
    if not reverts:
        return "no revert deployment after the first unhealthy answer"
    return reverts[0]["time"] - first, reverts[0]["time"] - injected, len(bad)


def run(ctx: Context) -> Section:
    """Measure the reaction of the gates at each interval."""
    repeats = ctx.repeats(expensive=True)
    intervals = INTERVALS[:1] if ctx.smoke else INTERVALS
    section = Section(
        NAME,
        TITLE,
        method=(
            f"`deploycheck deploy --gradual 10,100` (soak {SOAK_S:g} s, {PROBES} probes per version per "
            f"round, checks off) of a fresh `wrangler versions upload` against a fresh sandbox; "
            f"{HEALTHY_FOR_S:g} s after the 10 % split appears the new version is made unhealthy. Times "
            f"come from the sandbox request log (first 503 of the new version -> the revert's POST "
            f"/deployments); medians of {repeats} runs per gate interval."
        ),
    )
    if not (WORKER_DIR / "node_modules" / "wrangler").is_dir():
        section.rows.append(Row("wrangler", "not installed", verdict="missed",
                                note=f"npm ci --prefix {WORKER_DIR.relative_to(REPO)}"))  # fmt: skip
        return section
    with TemporaryDirectory(prefix="dc-bench-gradual-") as tmp:
        for interval in intervals:
            runs = [_once(ctx, Path(tmp), interval) for _ in range(repeats)]
            failures = [r for r in runs if isinstance(r, str)]
            measured = [r for r in runs if not isinstance(r, str)]
            if failures or not measured:
                section.rows.append(Row(f"interval {interval:g} s", "failed", verdict="missed",
                                        note=str(failures[0])[:200]))  # fmt: skip
                continue
            reaction = median([m[0] for m in measured])
            section.rows.append(Row(
                f"interval {interval:g} s: first unhealthy answer -> revert", f"{reaction:.2f} s",
                f"< {interval:g} s (one gate interval)", "met" if reaction < interval else "missed",
                note=f"fault -> revert {median([m[1] for m in measured]):.2f} s; "
                f"unhealthy answers served {max(m[2] for m in measured)} at most",
            ))  # fmt: skip
    return section
