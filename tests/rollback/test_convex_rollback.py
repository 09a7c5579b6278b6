"""Convex rollbacks from a temporary git repository: the schema guard, the deploy, the audit log."""

from __future__ import annotations

import pytest

from deploycheck.cli import main
from deploycheck.rollback.schema import check_schema, previous_ref

OLD = """\
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  messages: defineTable({ author: v.string(), body: v.string() }),
});
"""
BREAKING = """\
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

const status = v.union(v.literal("sent"), v.literal("read"));

export default defineSchema({
  messages: defineTable({ author: v.string(), body: v.string(), status }),
  reactions: defineTable({ message: v.id("messages"), emoji: v.string() }),
});
"""
COMPATIBLE = """\
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  messages: defineTable({ author: v.string(), body: v.string() }).index("by_author", ["author"]),
});
"""


def pushes(admin) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    """The pushes the sandbox's Convex deployment received, oldest first."""
    return admin.state()["convex"]["deployments"]["prod-graceful-shrimp-355"]["pushes"]


def rollback(git_app, *args: str) -> int:  # type: ignore[no-untyped-def]
    """Run ``deploycheck rollback`` against the temporary repository's config."""
    return main(["rollback", *args, "--config", str(git_app.root / "deploycheck.yaml")])


def test_guard_reads_both_refs_from_git(git_app) -> None:  # type: ignore[no-untyped-def]
    """The guard compares the schema at the live ref with the one at the target ref, from git alone."""
    old = git_app.commit(OLD, "old schema")
    git_app.commit(BREAKING, "add status and reactions")
    (git_app.root / "convex" / "schema.ts").write_text("this working-tree edit is never read")
    result = check_schema(git_app.root, "convex", "HEAD", old)
    assert sorted(str(c).split(" (")[0] for c in result.diff.breaking) == ["messages.status: field added"]
    assert [str(c).split(" (")[0] for c in result.diff.compatible] == ["reactions: table added"]
    assert result.method == "static"
    assert previous_ref(git_app.root, "convex", "HEAD") == old


def test_breaking_change_is_refused_with_the_list(git_app, sandbox_env, sandbox_admin, audit_lines, capsys) -> None:  # type: ignore[no-untyped-def]
    """A rollback across breaking schema changes exits 1, lists them, deploys nothing, and is audited."""
    git_app.commit(OLD, "old schema")
    git_app.commit(BREAKING, "add status and reactions")
    before = len(pushes(sandbox_admin))
    code = rollback(git_app, "convex", "--env", "sandbox", "--to", "HEAD~1", "--yes", "--reason", "bad deploy")
    captured = capsys.readouterr()
    assert code == 1
    assert "SchemaGuardError" in captured.err
    assert "messages.status: field added" in captured.err and "reactions" not in captured.err
    assert "schemas read by: static parser" in captured.out
    assert "Fix forward" in captured.err
    assert len(pushes(sandbox_admin)) == before
    assert sandbox_admin.writes() == []
    assert [e["result"] for e in audit_lines()] == ["refused"]


def test_compatible_change_deploys_the_old_code(git_app, sandbox_env, sandbox_admin, audit_lines, capsys) -> None:  # type: ignore[no-untyped-def]
    """A compatible rollback deploys the Convex folder at the target ref through the deploy command."""
    old = git_app.commit(OLD, "old schema")
    git_app.commit(COMPATIBLE, "add an index")
    code = rollback(git_app, "convex", "--env", "sandbox", "--yes", "--reason", "slow queries", "--no-verify")
    out = capsys.readouterr().out
    assert code == 0, out
    assert "1 compatible change" in out
    last = pushes(sandbox_admin)[-1]
    assert last["schema"] == OLD
    assert last["message"] == f"rollback {old}"
    assert git_app.git("status", "--porcelain") == ""
    event = audit_lines()[-1]
    assert (event["result"], event["to"], event["reason"]) == ("ok", old, "slow queries")


def test_force_with_reason_overrides_and_is_audited(git_app, sandbox_env, sandbox_admin, audit_lines, capsys) -> None:  # type: ignore[no-untyped-def]
    """``--force --reason`` deploys across breaking changes and the audit log records the override."""
    git_app.commit(OLD, "old schema")
    git_app.commit(BREAKING, "add status and reactions")
    before = len(pushes(sandbox_admin))
    code = rollback(git_app, "convex", "--env", "sandbox", "--to", "HEAD~1", "--yes", "--force",
                    "--reason", "data migrated by hand", "--no-verify")
    assert code == 0, capsys.readouterr()
    assert len(pushes(sandbox_admin)) == before + 1
    assert pushes(sandbox_admin)[-1]["schema"] == OLD
    event = audit_lines()[-1]
    assert event["forced"] is True and event["reason"] == "data migrated by hand"
    assert event["result"] == "ok"
    assert "messages.status: field added" in str(event["breaking_changes"])


def test_force_without_reason_is_a_usage_error(git_app, capsys) -> None:  # type: ignore[no-untyped-def]
    """``--force`` alone exits 2 and changes nothing."""
    git_app.commit(OLD, "old")
    git_app.commit(BREAKING, "new")
    assert rollback(git_app, "convex", "--env", "staging", "--yes", "--force") == 2
    assert "--force needs --reason" in capsys.readouterr().err


def test_dry_run_shows_the_guard_and_changes_nothing(git_app, sandbox_env, sandbox_admin, capsys) -> None:  # type: ignore[no-untyped-def]
    """A dry run prints the plan and the guard's verdict and writes nothing."""
    git_app.commit(OLD, "old")
    git_app.commit(COMPATIBLE, "new")
    assert rollback(git_app, "convex", "--env", "sandbox", "--dry-run", "--reason", "drill") == 0
    out = capsys.readouterr().out
    assert "schema guard: 1 compatible change" in out and "Dry run" in out
    assert "NOT reverted: Convex does not version environment variables" in out
    assert sandbox_admin.writes() == []


@pytest.mark.parametrize("env", ["sandbox"])
def test_production_needs_a_reason(git_app, env: str, capsys) -> None:  # type: ignore[no-untyped-def]
    """In a remote prod-values environment a rollback without --reason exits 2."""
    git_app.commit(OLD, "old")
    git_app.commit(COMPATIBLE, "new")
    assert rollback(git_app, "convex", "--env", env, "--yes") == 2
    assert "production environment" in capsys.readouterr().err


def test_without_a_terminal_yes_is_required(git_app, capsys) -> None:  # type: ignore[no-untyped-def]
    """Outside a terminal a rollback that changes anything needs --yes (exit 2)."""
    git_app.commit(OLD, "old")
    git_app.commit(COMPATIBLE, "new")
    assert rollback(git_app, "convex", "--env", "staging") == 2
    assert "--yes" in capsys.readouterr().err


@pytest.mark.parametrize(("check", "code", "verdict"), [("assert True", 0, "checks: passed"),
                                                        ("assert False, 'backend down'", 1, "checks: FAILED")])
def test_verification_runs_the_checks_after_the_rollback(  # type: ignore[no-untyped-def]
    git_app, sandbox_env, audit_lines, capsys, check: str, code: int, verdict: str
) -> None:
    """The checks folder runs as ``pytest --env`` after the rollback; a failing check makes it exit 1."""
    git_app.commit(OLD, "old")
    git_app.commit(COMPATIBLE, "new")
    checks = git_app.root / "checks"
    checks.mkdir()
    (checks / "test_backend.py").write_text(
        "import pytest\n\n\n@pytest.mark.platform('convex')\ndef test_backend():\n"
        f"    {check}\n"
    )
    assert rollback(git_app, "convex", "--env", "sandbox", "--yes", "--reason", "verify") == code
    assert verdict in capsys.readouterr().out
    assert audit_lines()[-1]["result"] == ("ok" if code == 0 else "verification failed")


def test_schema_eval_node_without_node_modules_refuses(git_app, sandbox_env, sandbox_admin, audit_lines, capsys) -> None:  # type: ignore[no-untyped-def]
    """``--schema-eval node`` with no installed convex package refuses the rollback and says why."""
    git_app.commit(OLD, "old schema")
    git_app.commit(COMPATIBLE, "add an index")
    code = rollback(git_app, "convex", "--env", "sandbox", "--to", "HEAD~1", "--yes", "--reason", "drill",
                    "--schema-eval", "node")
    captured = capsys.readouterr()
    assert code == 1
    assert "--schema-eval node: Node evaluation unavailable: no node_modules with the convex package" in captured.err
    assert sandbox_admin.writes() == []
    event = audit_lines()[-1]
    assert event["result"] == "refused" and event["schema_read_by"].startswith("static parser")


def test_forced_override_of_a_refusal_is_recorded(git_app, sandbox_env, sandbox_admin, audit_lines, capsys) -> None:  # type: ignore[no-untyped-def]
    """Overriding a refused (unreadable) schema with --force --reason is audited as an override."""
    git_app.commit(OLD.replace("body: v.string()", "body: v.string(), kind: custom(1)"), "custom validator")
    git_app.commit(OLD.replace("body: v.string()", "body: v.string(), kind: custom(2)"), "custom validator")
    code = rollback(git_app, "convex", "--env", "sandbox", "--to", "HEAD~1", "--yes", "--force",
                    "--reason", "checked by hand", "--no-verify")
    assert code == 0, capsys.readouterr()
    event = audit_lines()[-1]
    assert event["schema_guard_overridden"] is True and event["forced"] is True
    assert any("messages.kind: validator not readable" in change for change in event["breaking_changes"])
def test_default_target_is_the_change_before_the_running_one(git_app, request) -> None:  # type: ignore[no-untyped-def]
    """When HEAD did not touch the Convex folder, the default target is the change before the one
    running (HEAD's folder is the last change's), never the running code itself."""
    request.node.user_properties.append(("reliability-cell", "rollback targets|convex default target|rollback"))
    old = git_app.commit(OLD, "old schema")
    git_app.commit(OLD.replace("body", "text"), "rename body")
    (git_app.root / "README.md").write_text("docs only\n")
    git_app.git("add", "-A")
    git_app.git("commit", "-q", "-m", "docs only")
    assert previous_ref(git_app.root, "convex", "HEAD") == old


def test_plan_shows_the_diff_and_refuses_an_empty_one(git_app, sandbox_env, capsys, request) -> None:  # type: ignore[no-untyped-def]
    """The dry-run plan lists the files the rollback reverts; a target whose Convex folder equals the
    running one is refused (exit 1) as a rollback that changes nothing."""
    request.node.user_properties.append(("reliability-cell", "rollback targets|convex empty diff|rollback"))
    git_app.commit(OLD, "old schema")
    module = git_app.root / "convex" / "messages.ts"
    module.write_text(module.read_text() + "// a comment changes the code\n")
    git_app.git("add", "-A")
    git_app.git("commit", "-q", "-m", "change the module")
    (git_app.root / "README.md").write_text("docs only\n")
    git_app.git("add", "-A")
    git_app.git("commit", "-q", "-m", "docs only")
    capsys.readouterr()
    code = rollback(git_app, "convex", "--env", "sandbox", "--dry-run", "--reason", "test")
    captured = capsys.readouterr()
    out = captured.out
    assert code == 0, captured.err
    assert "reverts (convex" in out and "messages.ts" in out
    code = rollback(git_app, "convex", "--env", "sandbox", "--to", "HEAD~1", "--dry-run", "--reason", "test")
    captured = capsys.readouterr()
    assert code == 1
    assert "would change nothing" in captured.out + captured.err
