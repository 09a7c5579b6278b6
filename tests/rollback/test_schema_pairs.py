"""The schema fixture pairs: each pair's static verdict, every difference, and where refusals point."""

from __future__ import annotations

import pytest

from convex_schema_pairs import PAIR_NAMES, expected, listing, load_static
from deploycheck.rollback.schema import diff_schemas


def test_the_fixture_set_covers_the_constructs_of_real_apps() -> None:
    """There are at least twenty-five pairs, breaking and compatible, folder pairs among them."""
    verdicts = [expected(pair)["verdict"] for pair in PAIR_NAMES]
    assert len(PAIR_NAMES) >= 25
    assert verdicts.count("breaking") >= 10 and verdicts.count("compatible") >= 6


@pytest.mark.parametrize("pair", PAIR_NAMES)
def test_pair_differences_match_the_expected_classification(pair: str) -> None:
    """Each pair yields exactly the breaking and compatible changes and the verdict its expected.yaml lists."""
    want = expected(pair)
    diff = diff_schemas(load_static(pair, "live"), load_static(pair, "target"))
    assert listing(diff) == {"breaking": sorted(want["breaking"]), "compatible": sorted(want["compatible"])}
    assert ("breaking" if diff.is_breaking else "compatible") == want["verdict"]


@pytest.mark.parametrize("pair", [p for p in PAIR_NAMES if "where" in expected(p)])
def test_refusals_name_the_reason_and_the_file_and_line(pair: str) -> None:
    """A refused validator's change says why and points at the file:line of what could not be read."""
    diff = diff_schemas(load_static(pair, "live"), load_static(pair, "target"))
    for path, where in expected(pair)["where"].items():
        change = next(c for c in diff.breaking if c.path == path)
        assert f"at {where}" in change.reason, change.reason
        assert change.reason.startswith("cannot compare: ")


def test_every_breaking_pair_is_refused_by_the_guard_verdict() -> None:
    """No pair expected to break is ever judged compatible (the dangerous error)."""
    let_through = [p for p in PAIR_NAMES if expected(p)["verdict"] == "breaking"
                   and not diff_schemas(load_static(p, "live"), load_static(p, "target")).is_breaking]
    assert let_through == []
