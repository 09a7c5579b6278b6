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


#: every construct the guard must read (or refuse precisely), the pairs built on it, and how to see it there
CONSTRUCTS = {
    "helper function returning fields": (["local-helper-fn"], r"=> \(\{ \.\.\.fields"),
    "convex-helpers Table()": (["helper-table"], r'Table\("worlds"'),
    "local validator module imported as .js": (["validators-js-import"], r'from "\./validators\.js"'),
    "spread of package tables": (["auth-tables-same", "auth-tables-upgraded"], r"\.\.\.authTables"),
    "constants and computed keys": (["computed-keys"], r"\[CURRENCIES\.USD\]:"),
    "regex literals in the schema file": (["regex-literals", "regex-literals-breaking"], r'= /\^\[\^?[@a-z]'),
    "union of objects": (["union-of-objects", "discriminated"], r"v\.union\(\s*v\.object\("),
    "nested arrays": (["nested-arrays"], r"v\.array\(v\.array\("),
    "v.id": (["id-and-nullable"], r'v\.id\("_storage"\)'),
    "v.record": (["records"], r"v\.record\("),
    "search and vector indexes": (["search-vector-indexes", "indexes-only"], r"\.vectorIndex\("),
    "schema options": (["validation-off", "validation-was-off", "tables-not-listed-loose"],
                       r"schemaValidation: false|strictTableNameTypes: false"),
    "unreadable validator": (["unreadable-changed", "unreadable-unchanged"], r"\.map\("),
    "unresolved import": (["unresolved-import"], r'from "\./'),
}


def _sources(pair: str) -> str:
    from convex_schema_pairs import PAIRS

    return "\n".join(path.read_text() for path in sorted((PAIRS / pair).rglob("*.ts")))


@pytest.mark.parametrize("construct", sorted(CONSTRUCTS))
def test_every_construct_of_real_apps_has_pairs_with_a_verdict_and_a_reason(construct: str) -> None:
    """Each construct is used by its pairs' sources, and each of those pairs states its verdict and why."""
    import re

    pairs, pattern = CONSTRUCTS[construct]
    for pair in pairs:
        assert pair in PAIR_NAMES, pair
        assert re.search(pattern, _sources(pair)), f"{pair} does not use {construct}"
        want = expected(pair)
        assert want["verdict"] in {"breaking", "compatible"} and str(want.get("reason", "")).strip()


@pytest.mark.parametrize("pair", PAIR_NAMES)
def test_each_difference_names_its_place_both_validators_and_why(pair: str) -> None:
    """Every change of every pair has a table (and field) path, at least one side's validator, and a reason;
    a field or type change shows both sides' validators."""
    diff = diff_schemas(load_static(pair, "live"), load_static(pair, "target"))
    for change in diff.changes:
        assert change.path and change.reason, change
        assert change.live or change.target, change
        if change.kind in {"type changed", "union member added", "literal changed", "field made optional"}:
            assert change.live and change.target, change
        assert str(change).startswith(f"{change.path}: {change.kind}")
