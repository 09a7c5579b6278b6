"""The table's validation rules one by one: development markers, platform limits, duplicates, required keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploycheck.config import ProjectConfig, load_config
from deploycheck.errors import Problem
from deploycheck.sot import Entry, dev_markers, parse_sot, validate

CONFIG = """\
project: rules.example
default_env: development
environments:
  development: {remote: false, values: dev}
  production: {remote: true, values: prod}
  sandbox: {remote: true, values: prod, sandbox: true}
  emulated: {remote: false, values: dev, sandbox: true}
  preview: {remote: false, values: dev}
targets:
  WORKER:
    platform: cloudflare-worker
    environments:
      production: {script: api}
      sandbox: {script: api}
  CONVEX:
    platform: convex
    environments:
      development: {deployment: dev-happy-cat-111, url: https://dev-happy-cat-111.convex.cloud}
      production: {deployment: prod-calm-dog-222}
      emulated: {deployment: emu-odd-emu-333, url: https://emu-odd-emu-333.convex.cloud}
      preview: {url: https://convex.preview.rules.example}
  GH:
    platform: github-actions
    environments:
      production: {repository: example/app}
  PAGES:
    platform: cloudflare-pages
    environments:
      production: {project: web}
  LOCAL:
    platform: local-dotenv
    local_file: .env.local
"""
HEADER = "| TARGET | GROUP | KEY | DEV_VALUE | PROD_VALUE |\n|---|---|---|---|---|\n"


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> ProjectConfig:
    """A project with a Convex dev deployment, an emulated (sandbox) dev environment and one target per platform."""
    path = tmp_path_factory.mktemp("rules") / "deploycheck.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return load_config(path)


def entries(rows: str) -> list[Entry]:
    parsed, problems = parse_sot(HEADER + rows, Path("app.env"))
    assert problems == []
    return parsed


def check(config: ProjectConfig, rows: str) -> tuple[list[str], list[str]]:
    problems, warnings = validate(entries(rows), config)
    return [str(p) for p in problems], [str(w) for w in warnings]


def messages(found: list[Problem]) -> list[str]:
    return [p.message for p in found]


# -- development markers -----------------------------------------------------------------------


def test_dev_markers_from_the_config_skip_sandbox_environments(config: ProjectConfig) -> None:
    """The dev deployment's name and host come from DEV environments' Convex params, not from sandbox ones."""
    names, hosts = dev_markers([], config)
    assert names == {"dev-happy-cat-111"}
    assert hosts == {"dev-happy-cat-111.convex.cloud", "convex.preview.rules.example"}


def test_dev_markers_from_convex_deployment_dev_value(config: ProjectConfig) -> None:
    """CONVEX_DEPLOYMENT's DEV_VALUE (``dev:<name>``, optionally ``|key``) names a development deployment."""
    names, _ = dev_markers(entries("| LOCAL | C | CONVEX_DEPLOYMENT | dev:quick-fox-444 | |\n"), config)
    assert "quick-fox-444" in names
    names, _ = dev_markers(entries("| LOCAL | C | convex_deployment | dev:quick-fox-555\\|abc | |\n"), config)
    assert "quick-fox-555" in names


@pytest.mark.parametrize("key", ["CONVEX_URL", "NEXT_PUBLIC_CONVEX_URL", "VITE_CONVEX_SITE_URL", "next_public_convex_url"])
def test_dev_markers_from_convex_url_dev_values(config: ProjectConfig, key: str) -> None:
    """Every *CONVEX_URL / *CONVEX_SITE_URL DEV_VALUE gives a development host."""
    _, hosts = dev_markers(entries(f"| LOCAL | C | {key} | https://dev-sly-owl-666.convex.site | |\n"), config)
    assert "dev-sly-owl-666.convex.site" in hosts


def test_dev_markers_ignore_secrets_other_keys_local_hosts_and_short_names(config: ProjectConfig) -> None:
    """Secret rows, unrelated keys, loopback hosts and names under 4 characters are no markers."""
    rows = (
        "| LOCAL | C | CONVEX_DEPLOY_KEY | dev:secret-one-777\\|k3y | |\n"
        "| LOCAL | C | OTHER_URL | https://other-host.example | |\n"
        "| LOCAL | C | CONVEX_URL | http://127.0.0.1:3210 | |\n"
        "| LOCAL | C | SITE_CONVEX_URL | http://localhost:3211 | |\n"
        "| LOCAL | C | CONVEX_DEPLOYMENT | dev:abc | |\n"
    )
    names, hosts = dev_markers(entries(rows), config)
    assert names == {"dev-happy-cat-111"}
    assert hosts == {"dev-happy-cat-111.convex.cloud", "convex.preview.rules.example"}


def test_prod_value_at_the_dev_convex_host_is_refused(config: ProjectConfig) -> None:
    """A PROD_VALUE URL on a development Convex host is a problem naming the host and showing the value."""
    problems, _ = check(config, "| WORKER | W | BACKEND_URL | x | https://convex.preview.rules.example/api |\n")
    assert problems == [
        "app.env:3: PROD_VALUE of 'BACKEND_URL' ('https://convex.preview.rules.example/api') points at the "
        "development host 'convex.preview.rules.example': production must not use development. "
        "Hint: Put the production value in PROD_VALUE; development values belong in DEV_VALUE."
    ]
    problems, _ = check(config, "| WORKER | W | BACKEND_URL | x | https://dev-happy-cat-111.convex.cloud |\n")
    assert "names the development deployment 'dev-happy-cat-111'" in problems[0]
    assert check(config, "| WORKER | W | BACKEND_URL | x | convex.preview.rules.example |\n")[0] == []


def test_prod_value_at_a_dev_host_from_the_dev_column_is_refused(config: ProjectConfig) -> None:
    """A dev host learnt from a *CONVEX_URL DEV_VALUE is refused in any row's PROD_VALUE."""
    rows = (
        "| WORKER | W | CONVEX_URL | https://dev-sly-owl-666.convex.cloud | https://prod-calm-dog-222.convex.cloud |\n"
        "| WORKER | W | CALLBACK | x | https://dev-sly-owl-666.convex.cloud |\n"
    )
    problems, _ = check(config, rows)
    assert len(problems) == 1
    assert "'CALLBACK'" in problems[0] and "development host 'dev-sly-owl-666.convex.cloud'" in problems[0]


def test_prod_value_naming_the_dev_deployment_is_refused(config: ProjectConfig) -> None:
    """A PROD_VALUE naming the dev deployment (as a whole word) is refused; a longer name containing it is not."""
    problems, _ = check(config, "| CONVEX | C | DEPLOYMENT | x | prod:dev-happy-cat-111 |\n")
    assert [p.split(": production")[0] for p in problems] == [
        "app.env:3: PROD_VALUE of 'DEPLOYMENT' ('prod:dev-happy-cat-111') names the development deployment "
        "'dev-happy-cat-111'"
    ]
    problems, _ = check(config, "| CONVEX | C | DEPLOYMENT | x | dev-happy-cat-1112 |\n")
    assert problems == []
    problems, _ = check(config, "| CONVEX | C | DEPLOYMENT | x | xdev-happy-cat-111 |\n")
    assert problems == []


@pytest.mark.parametrize(
    ("value", "host"),
    [("http://localhost:3000", "localhost"), ("redis://127.0.0.1:6379", "127.0.0.1"),
     ("http://0.0.0.0:80", "0.0.0.0"), ("http://[::1]:8080/x", "[::1]")],
)  # fmt: skip
def test_prod_value_at_a_loopback_host_is_refused(config: ProjectConfig, value: str, host: str) -> None:
    """A PROD_VALUE on a loopback or wildcard address is refused, naming it."""
    problems, _ = check(config, f"| WORKER | W | API | x | {value} |\n")
    assert len(problems) == 1
    assert f"points at {host}: production must not use development." in problems[0]


def test_secret_prod_value_pointing_at_dev_is_refused_without_its_value(config: ProjectConfig) -> None:
    """A secret pointing at development is refused too, and the message leaves its value out."""
    problems, _ = check(config, "| WORKER | W | DATABASE_PASSWORD | x | pw@dev-happy-cat-111 |\n")
    assert problems[0].startswith(
        "app.env:3: PROD_VALUE of 'DATABASE_PASSWORD' names the development deployment 'dev-happy-cat-111'"
    )


def test_prod_value_on_a_production_host_passes(config: ProjectConfig) -> None:
    """A production URL and a host that merely contains "localhost" pass; the dev name followed by a dot does not."""
    rows = (
        "| WORKER | W | BACKEND_URL | x | https://prod-calm-dog-222.convex.cloud |\n"
        "| WORKER | W | NOTE | x | dev-happy-cat-111.convex.cloud.example |\n"
        "| WORKER | W | NOTE_TWO | x | mylocalhost.example |\n"
    )
    problems, _ = check(config, rows)
    assert len(problems) == 1
    assert "PROD_VALUE of 'NOTE' " in problems[0] and "names the development deployment" in problems[0]


# -- platform limits and names -----------------------------------------------------------------


def test_github_refuses_names_starting_with_github_in_any_case(config: ProjectConfig) -> None:
    """GitHub refuses a name starting GITHUB_ (case-insensitively), with a rename hint."""
    # values of 4+ characters: the name reads as a secret, and shorter secrets are refused on their own
    problems, _ = check(config, "| GH | G | github_token_x | abcd | efgh |\n")
    assert problems == [
        "app.env:3: GitHub Actions (target GH) refuses names starting with GITHUB_: 'github_token_x'. "
        "Hint: Rename the key so it does not start with GITHUB_."
    ]


def test_reserved_names_are_refused(config: ProjectConfig) -> None:
    """Names a platform sets itself (CONVEX_SITE_URL, CF_PAGES_URL) are refused for that platform only."""
    problems, _ = check(config, "| CONVEX | C | CONVEX_SITE_URL | a | b |\n| PAGES | P | CF_PAGES_URL | a | b |\n")
    assert problems == [
        "app.env:3: 'CONVEX_SITE_URL' is a name Convex sets itself (target CONVEX); it cannot be set. "
        "Hint: Remove the row, or drop CONVEX from its TARGET cell.",
        "app.env:4: 'CF_PAGES_URL' is a name Cloudflare Pages sets itself (target PAGES); it cannot be set. "
        "Hint: Remove the row, or drop PAGES from its TARGET cell.",
    ]
    assert check(config, "| WORKER | W | CF_PAGES_URL | a | b |\n")[0] == []


def test_convex_name_length_limits(config: ProjectConfig) -> None:
    """Convex: a name over 256 bytes is refused; one over 40 characters only warns; 40 and 256 are fine."""
    at_warn, over_warn = "K" * 40, "K" * 41
    assert check(config, f"| CONVEX | C | {at_warn} | a | b |\n") == ([], [])
    _, warnings = check(config, f"| CONVEX | C | {over_warn} | a | b |\n")
    assert warnings == [
        f"app.env:3: {over_warn!r} is longer than the 40 characters Convex's limits page documents. "
        "Hint: Shorten the key if the platform refuses it."
    ]
    assert check(config, f"| CONVEX | C | {'N' * 256} | a | b |\n")[0] == []
    problems, _ = check(config, f"| CONVEX | C | {'N' * 257} | a | b |\n")
    assert problems == [
        f"app.env:3: {'N' * 257!r} is longer than Convex's 256-byte name limit. Hint: Shorten the key."
    ]


@pytest.mark.parametrize(("target", "limit", "label"), [("CONVEX", 8192, "Convex"), ("WORKER", 5120, "Cloudflare Workers"),
                                                         ("GH", 49152, "GitHub Actions")])  # fmt: skip
def test_value_size_limits(config: ProjectConfig, target: str, limit: int, label: str) -> None:
    """A value at the platform's byte limit passes; one byte more is refused, naming column, size and limit."""
    assert check(config, f"| {target} | G | BIG | {'v' * limit} | p |\n")[0] == []
    problems, _ = check(config, f"| {target} | G | BIG | d | {'é' * ((limit + 2) // 2)} |\n")
    size = 2 * ((limit + 2) // 2)
    assert problems == [
        f"app.env:3: PROD_VALUE of 'BIG' is {size} bytes; {label} (target {target}) accepts at most {limit}. "
        "Hint: Shorten the value, or store it elsewhere and keep a reference here."
    ]
    problems, _ = check(config, f"| {target} | G | BIG | {'d' * (limit + 1)} | p |\n")
    assert problems[0].startswith(f"app.env:3: DEV_VALUE of 'BIG' is {limit + 1} bytes")


def test_platform_without_a_size_limit_takes_any_value(config: ProjectConfig) -> None:
    """Local files have no value limit; Cloudflare Pages has its own (5 KiB), named per column."""
    assert check(config, f"| LOCAL | G | BIG | {'v' * 60000} | {'v' * 60000} |\n")[0] == []
    assert check(config, f"| PAGES | G | BIG | {'v' * 5120} | {'v' * 5120} |\n")[0] == []
    problems, _ = check(config, f"| PAGES,LOCAL | G | BIG | {'v' * 5121} | ok |\n")
    assert [p.split(". Hint")[0] for p in problems] == [
        "app.env:3: DEV_VALUE of 'BIG' is 5121 bytes; Cloudflare Pages (target PAGES) accepts at most 5120"
    ]


def test_control_characters_are_refused_per_column(config: ProjectConfig) -> None:
    """A control character (below 32, or DEL) in a value is refused, naming the column."""
    rows = [
        Entry(("WORKER",), "W", "A", "ok\x7f", "fine", False, 3, Path("app.env")),
        Entry(("WORKER",), "W", "B", "ok", "tab\there", False, 4, Path("app.env")),
        Entry(("WORKER",), "W", "C", "space ok ~", "é ok", False, 5, Path("app.env")),
    ]
    problems, _ = validate(rows, config)
    assert messages(problems) == [
        "DEV_VALUE of 'A' contains a control character.",
        "PROD_VALUE of 'B' contains a control character.",
    ]
    assert problems[0].hint == "Remove tabs and other control characters from the value."


def test_invalid_key_name_is_refused(config: ProjectConfig) -> None:
    """A key that is not a variable name is refused with a rename hint, and no platform rule is checked."""
    rows = [Entry(("GH",), "G", "GITHUB-X", "a", "b", False, 3, Path("app.env"))]
    problems, _ = validate(rows, config)
    assert [str(p) for p in problems] == [
        "app.env:3: KEY 'GITHUB-X' is not a valid variable name: use letters, digits and '_', not starting with a "
        "digit. Hint: Rename the key, e.g. replace '-' or '.' with '_'."
    ]


def test_unknown_target_suggests_the_closest(config: ProjectConfig) -> None:
    """An unknown TARGET lists the valid ones and suggests the closest, the key as the problem's path."""
    problems, _ = validate(entries("| WORKR | W | A | a | b |\n| ZZZZZ | W | B | a | b |\n"), config)
    assert [str(p) for p in problems] == [
        "app.env:3: A: unknown TARGET 'WORKR'; valid: CONVEX, GH, LOCAL, PAGES, WORKER. "
        "Hint: did you mean 'WORKER'? Use a target defined in deploycheck.yaml, or add it there.",
        "app.env:4: B: unknown TARGET 'ZZZZZ'; valid: CONVEX, GH, LOCAL, PAGES, WORKER. "
        "Hint: Use a target defined in deploycheck.yaml, or add it there.",
    ]


# -- the table's own rules ---------------------------------------------------------------------


def test_empty_prod_value_of_a_deployed_key_is_refused(config: ProjectConfig) -> None:
    """An empty PROD_VALUE is refused when a target of the row goes to production, not for local-only rows."""
    problems, _ = check(config, "| WORKER,LOCAL | W | A | a | |\n| LOCAL | L | B | a | |\n")
    assert problems == [
        "app.env:3: PROD_VALUE of 'A' is empty, but WORKER, LOCAL is deployed to production, sandbox. "
        "Hint: Fill PROD_VALUE, or remove the targets that go to production from the row."
    ]


def test_duplicate_rows_per_target(config: ProjectConfig) -> None:
    """The same key twice for a target is refused at the second row; GitHub names collide ignoring case."""
    problems, _ = check(
        config,
        "| WORKER | W | A | a | b |\n| WORKER | W | A | c | d |\n| WORKER | W | a | a | b |\n"
        "| GH | G | TOKEN_X | abcd | efgh |\n| GH | G | token_x | abcd | efgh |\n| LOCAL | L | A | a | b |\n",
    )
    assert problems == [
        "app.env:4: duplicate KEY 'A' for target WORKER: already set at line 3. "
        "Hint: Keep one row per key and target; merge or delete the other row.",
        "app.env:7: duplicate KEY 'token_x' for target GH: already set at line 6 (GitHub Actions names ignore case). "
        "Hint: Keep one row per key and target; merge or delete the other row.",
    ]


def test_required_keys_are_enforced_per_target(tmp_path: Path) -> None:
    """A target's required key missing from the table is reported at the target's first row."""
    path = tmp_path / "deploycheck.yaml"
    path.write_text(CONFIG.replace("    platform: cloudflare-worker\n",
                                   "    platform: cloudflare-worker\n    required: [A, B]\n"), encoding="utf-8")  # fmt: skip
    config = load_config(path)
    problems, _ = validate(entries("| GH | G | X | a | b |\n| WORKER | W | A | a | b |\n"), config)
    assert [str(p) for p in problems] == [
        "app.env:4: target WORKER requires 'B' (deploycheck.yaml targets.WORKER.required) but no row sets it. "
        "Hint: Add a row | WORKER | ... | B | ... | ... |."
    ]
    problems, _ = validate(entries("| GH | G | X | a | b |\n"), config)
    assert [p.line for p in problems] == [3, 3]
    assert validate([], config) == ([], [])


def test_same_secret_in_both_columns_warns_without_the_value(config: ProjectConfig) -> None:
    """A secret with equal DEV and PROD values warns; a plain value or an empty pair does not."""
    rows = (
        "| WORKER | W | API_TOKEN | tok-same-9f8e7d | tok-same-9f8e7d |\n"
        "| WORKER | W | MODE | live | live |\n"
        "| LOCAL | W | LOCAL_TOKEN | | |\n"
    )
    problems, warnings = check(config, rows)
    assert problems == []
    assert warnings == [
        "app.env:3: secret 'API_TOKEN' has the same value in development and production. "
        "Hint: Use a separate secret for production so a leaked development value is harmless."
    ]


def test_every_unknown_target_of_a_row_is_reported(config: ProjectConfig) -> None:
    """A row naming a known target first and an unknown one after still reports the unknown one."""
    problems, _ = validate(entries("| WORKER,WORKR | W | A | a | b |\n"), config)
    assert messages(problems) == ["unknown TARGET 'WORKR'; valid: CONVEX, GH, LOCAL, PAGES, WORKER."]


def test_size_limit_checked_after_a_target_without_one(config: ProjectConfig) -> None:
    """A target without a value limit listed first does not hide the limit of the next target."""
    problems, _ = check(config, f"| LOCAL,WORKER | W | BIG | d | {'v' * 5121} |\n")
    assert [p.split(" accepts")[0] for p in problems] == [
        "app.env:3: PROD_VALUE of 'BIG' is 5121 bytes; Cloudflare Workers (target WORKER)"
    ]


def test_duplicate_found_for_every_target_of_a_multi_target_row(config: ProjectConfig) -> None:
    """A key set by a two-target row and again for its second target alone is a duplicate for that target."""
    problems, _ = check(config, "| WORKER,GH | W | A | a | b |\n| GH | G | A | c | d |\n")
    assert [p.split(":", 3)[2].strip() for p in problems] == ["duplicate KEY 'A' for target GH"]


def _entry(key: str, dev: str | None, secret: bool = False) -> Entry:
    return Entry(("LOCAL",), "C", key, dev, None, secret, 3, Path("app.env"))


def test_dev_markers_skip_empty_and_secret_rows_but_read_the_rest(config: ProjectConfig) -> None:
    """Rows with no DEV_VALUE or a secret one give no marker, and rows after them are still read."""
    rows = [
        _entry("CONVEX_DEPLOYMENT", None),
        _entry("CONVEX_URL", "https://dev-secret-owl-888.convex.cloud", secret=True),
        _entry("CONVEX_DEPLOYMENT", "dev:bright-elk-999"),
        _entry("NEXT_PUBLIC_CONVEX_URL", "https://dev-bright-elk-999.convex.cloud"),
    ]
    names, hosts = dev_markers(rows, config)
    assert names == {"dev-happy-cat-111", "bright-elk-999"}
    assert hosts == {"dev-happy-cat-111.convex.cloud", "convex.preview.rules.example", "dev-bright-elk-999.convex.cloud"}


def test_dev_marker_names_of_four_characters_count(config: ProjectConfig) -> None:
    """A deployment name of 4 characters is a marker; 3 are too few to search for safely."""
    names, _ = dev_markers([_entry("CONVEX_DEPLOYMENT", "dev:abcd"), _entry("CONVEX_DEPLOYMENT", "dev:xyz")], config)
    assert "abcd" in names and "xyz" not in names


def test_dev_marker_name_stops_at_the_first_bar(config: ProjectConfig) -> None:
    """Everything from the first '|' of CONVEX_DEPLOYMENT's value on is not part of the name."""
    names, _ = dev_markers([_entry("CONVEX_DEPLOYMENT", "dev:quick-fox-555|a1|b2")], config)
    assert "quick-fox-555" in names


def test_count_limits_refuse_one_over_and_take_the_limit(config: ProjectConfig) -> None:
    """A Worker takes 128 variables and secrets and refuses 129; GitHub takes 100 secrets per environment and
    refuses 101; each refusal names the target, the count, the platform's limit and what to do."""
    worker = "".join(f"| WORKER | W | K{i} | a | b |\n" for i in range(129))
    assert check(config, worker) == (
        ["app.env: target WORKER would hold 129 variables and secrets (the table's rows for it); Cloudflare "
         "Workers allows at most 128. Hint: Move keys to another target, or remove some from the table."],
        [],
    )  # fmt: skip
    assert check(config, "".join(f"| WORKER | W | K{i} | a | b |\n" for i in range(128))) == ([], [])
    github = "".join(f"| GH | G | TOKEN_{i} | abcd | efgh |\n" for i in range(101))
    assert check(config, github)[0] == [
        "app.env: target GH would hold 101 secrets (the table's rows for it); GitHub Actions allows at most 100 per "
        "repository or environment. Hint: Move secrets to another environment or repository, or remove some from "
        "the table."
    ]
    assert check(config, "".join(f"| GH | G | TOKEN_{i} | abcd | efgh |\n" for i in range(100)))[0] == []


def test_secret_under_four_characters_is_refused_with_the_reason(config: ProjectConfig) -> None:
    """A 1-3 character secret is refused at its row and column, saying why it cannot be masked and what to do."""
    assert check(config, "| GH | G | TOKEN_X | abc | efgh |\n")[0] == [
        "app.env:3: DEV_VALUE of secret 'TOKEN_X' is 3 characters long; a secret shorter than 4 characters cannot "
        "be kept out of output (masking it would mask ordinary text). Hint: Use a longer secret, or mark the key "
        "plain (TYPE plain, or the target's plain: list) if it is not secret."
    ]


def test_secret_of_four_to_seven_characters_warns_and_eight_is_quiet(config: ProjectConfig) -> None:
    """A 4-7 character secret is kept but warned about (it is masked inside other words too), naming the
    column; 8 characters (a whole piece) gives no warning."""
    assert check(config, "| GH | G | TOKEN_X | abcdefgh | abcdefg |\n") == (
        [],
        ["app.env:3: PROD_VALUE of secret 'TOKEN_X' is 7 characters long: it is masked wherever it appears in "
         "output, inside other words too. Hint: Use a secret of at least 8 characters."],
    )  # fmt: skip


def test_short_secret_in_prod_is_refused_when_dev_is_empty(config: ProjectConfig) -> None:
    """An empty DEV_VALUE does not stop the PROD_VALUE from being checked: a 2-character one is refused."""
    problems, _ = check(config, "| GH | G | TOKEN_X |  | ab |\n")
    assert [p.split(";")[0] for p in problems] == ["app.env:3: PROD_VALUE of secret 'TOKEN_X' is 2 characters long"]


def test_count_limit_of_one_target_survives_the_targets_after_it(config: ProjectConfig) -> None:
    """A Worker over its count limit is reported even when a later target (LOCAL) has rows within its own."""
    rows = "".join(f"| WORKER | W | K{i} | a | b |\n" for i in range(129)) + "| LOCAL | L | Z | a | b |\n"
    assert [p.split(";")[0] for p in check(config, rows)[0]] == [
        "app.env: target WORKER would hold 129 variables and secrets (the table's rows for it)"
    ]
