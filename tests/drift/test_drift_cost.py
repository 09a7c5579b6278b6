"""Reading a platform costs the same number of requests whether the SoT has 10 keys or 500."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploycheck.config import load_config
from deploycheck.drift import run_drift

REPO = Path(__file__).resolve().parents[2]
TARGETS = ("NEXTJS", "CONVEX", "CLOUDFLARE_WORKER", "GITHUB")


def write_project(folder: Path, keys: int) -> Path:
    """A copy of deploycheck.yaml whose sandbox SoT is a generated table of ``keys`` keys."""
    folder.mkdir()
    rows = ["| TARGET | GROUP | KEY | DEV_VALUE | PROD_VALUE |", "|---|---|---|---|---|"]
    for n in range(keys):
        target = TARGETS[n % len(TARGETS)]
        name = f"GEN_{n:04d}_API_TOKEN" if n % 3 == 0 else f"GEN_{n:04d}_SETTING"
        rows.append(f"| {target} | Generated | {name} | dev-{n} | prod-value-{n:04d}-{'x' * 12} |")
    (folder / "app.env").write_text("\n".join(rows) + "\n")
    data = yaml.safe_load((REPO / "deploycheck.yaml").read_text())
    data["sot"] = str(folder / "app.env")
    data["environments"]["sandbox"]["sot"] = str(folder / "app.env")
    for target in data["targets"].values():
        target.pop("required", None)  # the generated table has only generated keys
    path = folder / "deploycheck.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def requests_by_service(admin: Any) -> Counter[str]:
    return Counter(r["service"] for r in admin.requests())


@pytest.mark.sandbox
def test_request_count_does_not_grow_with_the_sot(synced: Path, sandbox_admin: Any, tmp_path: Path) -> None:
    """Per target and per emulated service, a 500-key SoT costs exactly the requests a 10-key SoT costs."""
    counts: dict[int, tuple[dict[str, int], Counter[str]]] = {}
    for keys in (10, 500):
        config = load_config(write_project(tmp_path / f"sot{keys}", keys))
        sandbox_admin.clear_requests()
        report = run_drift(config, "sandbox", state_dir=synced)
        assert report.errors == []
        assert len(report.results) >= keys
        counts[keys] = ({t.target: t.requests for t in report.targets}, requests_by_service(sandbox_admin))
    small, large = counts[10], counts[500]
    assert set(small[0]) == set(TARGETS)
    assert small[0] == large[0]
    assert small[1] == large[1]
    assert all(n <= 5 for n in small[0].values()), small[0]
