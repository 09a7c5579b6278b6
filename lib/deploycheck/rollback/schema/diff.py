"""Differences between two Convex schemas, each classified for a rollback (current -> target).

A rollback leaves every document in place, and when the target schema is pushed Convex
checks them: "If schemaValidation is true, Convex will: 1. Check that all existing
documents match your schema when your schema is pushed" (``DefineSchemaOptions`` in
convex-js ``src/server/schema.ts``; https://docs.convex.dev/database/schemas). So the one
rule is: **the target schema must accept every document that is valid under the current
one.** The kinds below are worded as the change the rollback undoes (what the current
schema did relative to the target):

- a field *added* (optional or required): breaking, because ``v.object`` rejects fields it
  does not list ("Objects ... with extra properties are not allowed", docs.convex.dev
  /database/types); a field *made optional*: breaking (documents may lack it);
- a type *widened* (a new union member or literal, ``v.id`` -> ``v.string``, ``T`` ->
  ``T | null``, anything -> ``v.any()``): breaking; a type *narrowed*: compatible;
- a field *removed* that the target has as optional: compatible; one the target requires:
  breaking;
- index, search-index and vector-index changes: compatible (Convex rebuilds indexes on push);
- ``schemaValidation: false`` in the target: nothing is validated, every document change is
  compatible; ``false`` in the current schema but not the target: the stored documents were
  never validated, so every table the target validates is a breaking difference;
- tables: "Regardless of the value of ``strictTableNameTypes``, your schema will only validate
  documents in the tables listed in the schema. You can still create and modify other tables
  on the dashboard or in JavaScript mutations" (``DefineSchemaOptions.strictTableNameTypes``
  in convex-js ``src/server/schema.ts``; docs.convex.dev/api/interfaces/server.DefineSchemaOptions,
  docs.convex.dev/config/schema.ts: "Documents in tables the schema doesn't list are never
  validated"). A table the target does not list (``table added``) is therefore compatible:
  its documents stay, unvalidated and unread by the target's code, and come back into view
  when the current code is deployed again. A table the target lists but the current schema
  does not (``table removed``) is breaking unless the target does not validate it
  (``schemaValidation: false`` or ``v.any()``): nothing has validated its documents since the
  current code was pushed. ``strictTableNameTypes`` does not change that: it is a type
  parameter only (``SchemaDefinition``'s constructor keeps ``schemaValidation`` alone, and
  ``export()`` sends no such field), so versions between the two refs, the dashboard and
  untyped code may all have written documents the target's validator rejects.

A validator the static parser could not read (``unknown``) or a group of tables from a
package is never judged compatible unless it is provably identical at both refs; otherwise
the difference is breaking with the reason and ``file:line``.
"""

from __future__ import annotations

from dataclasses import dataclass

from deploycheck.rollback.schema.model import ExternalTables, Index, Schema, Table, Validator

__all__ = ["SchemaChange", "SchemaDiff", "diff_schemas"]


@dataclass(frozen=True)
class SchemaChange:
    """One difference: where (``messages.author``), what kind, whether it breaks, both sides, why."""

    path: str
    kind: str
    breaking: bool
    live: str = ""
    target: str = ""
    reason: str = ""

    def __str__(self) -> str:
        text = f"{self.path}: {self.kind}"
        if self.live or self.target:
            text += f" (current: {self.live or '-'}; target: {self.target or '-'})"
        if self.reason:
            text += f" - {self.reason}"
        return text


@dataclass(frozen=True)
class SchemaDiff:
    """Every difference between the current (LIVE) and the TARGET schema of a rollback."""

    changes: tuple[SchemaChange, ...]

    @property
    def breaking(self) -> tuple[SchemaChange, ...]:
        """The changes that data written under LIVE would not survive."""
        return tuple(change for change in self.changes if change.breaking)

    @property
    def compatible(self) -> tuple[SchemaChange, ...]:
        """The changes that are safe to roll back across."""
        return tuple(change for change in self.changes if not change.breaking)

    @property
    def is_breaking(self) -> bool:
        """True when at least one change is breaking."""
        return bool(self.breaking)

    @property
    def is_empty(self) -> bool:
        """True when the two schemas are the same."""
        return not self.changes


_REJECTS = "the target rejects documents the current schema accepts"
_UNLISTED = ("the current schema does not list it, so Convex has not validated its documents since the "
             "current code was pushed (strictTableNameTypes changes TypeScript types only): an earlier "
             "version, the dashboard or untyped code may have written documents the target rejects")


def _literal_base(literal: Validator) -> str:
    value = literal.value
    if value.startswith('"'):
        return "string"
    if value in {"true", "false"}:
        return "boolean"
    if value.endswith("n"):
        return "int64"
    return "float64"


def _signature(validator: Validator) -> tuple[tuple[str, str], ...]:
    """The literal-valued fields of an object: how discriminated union members are paired."""
    return tuple((name, item.value) for name, item in validator.fields if item.kind == "literal")


def _unreadable_reason(validator: Validator) -> str:
    found = validator.unreadable()
    if not found:
        return ""
    first = found[0]
    where = f" at {first.where}" if first.where else ""
    why = first.reason or "not a validator the static parser reads"
    return f"cannot compare: {why}{where}"


class _Comparer:
    """Walks two validators and records each place where they differ."""

    def __init__(self) -> None:
        self.changes: list[SchemaChange] = []

    def add(self, path: str, kind: str, *, breaking: bool, live: Validator | None = None,
            target: Validator | None = None, reason: str = "") -> None:
        self.changes.append(SchemaChange(
            path, kind, breaking, live.describe() if live else "", target.describe() if target else "", reason
        ))

    @staticmethod
    def accepts(live: Validator, target: Validator) -> bool:
        """True when ``target`` accepts every value ``live`` accepts (as far as can be proven)."""
        scratch = _Comparer()
        scratch.compare(live, target, "")
        return not any(change.breaking for change in scratch.changes)

    def compare(self, live: Validator, target: Validator, path: str) -> None:
        if live == target:
            return
        if target.kind == "any":
            self.add(path, "type narrowed from v.any()", breaking=False, live=live, target=target,
                     reason="the target accepts any value")
        elif "unknown" in {live.kind, target.kind} or not (live.is_readable and target.is_readable):
            if live.kind in {"object", "array", "record", "union"} and live.kind == target.kind:
                self.compare_same_shape(live, target, path)
                return
            reason = _unreadable_reason(live) or _unreadable_reason(target)
            self.add(path, "validator not readable", breaking=True, live=live, target=target, reason=reason)
        elif live.kind == "any":
            self.add(path, "type widened to v.any()", breaking=True, live=live, target=target,
                     reason=_REJECTS)
        elif live.kind == "union" or target.kind == "union":
            self.compare_unions(live, target, path)
        elif live.kind == target.kind:
            self.compare_same_shape(live, target, path)
        elif live.kind == "literal" and target.kind == _literal_base(live):
            self.add(path, "type narrowed to a literal", breaking=False, live=live, target=target,
                     reason=f"the target's v.{target.kind}() accepts the literal")
        elif target.kind == "literal" and live.kind == _literal_base(target):
            self.add(path, "type widened from a literal", breaking=True, live=live, target=target,
                     reason=f"the target accepts only {target.value}")
        elif live.kind == "id" and target.kind == "string":
            self.add(path, "type narrowed to v.id", breaking=False, live=live, target=target,
                     reason="an id is a string")
        elif live.kind == "string" and target.kind == "id":
            self.add(path, "type widened from v.id to v.string", breaking=True, live=live, target=target,
                     reason=f'the target accepts only ids of table "{target.table}"')
        else:
            self.add(path, "type changed", breaking=True, live=live, target=target, reason=_REJECTS)

    def compare_same_shape(self, live: Validator, target: Validator, path: str) -> None:
        if live.kind == "object":
            self.compare_objects(live, target, path)
        elif live.kind == "array":
            self.compare(live.items[0], target.items[0], f"{path}[]")
        elif live.kind == "record":
            self.compare(live.items[0], target.items[0], f"{path}{{key}}")
            self.compare(live.items[1], target.items[1], f"{path}{{value}}")
        elif live.kind == "union":
            self.compare_unions(live, target, path)
        elif live.kind == "id":
            self.add(path, "id of another table", breaking=True, live=live, target=target,
                     reason=f'the target accepts only ids of table "{target.table}"')
        elif live.kind == "literal":
            self.add(path, "literal changed", breaking=True, live=live, target=target,
                     reason=f"the target accepts only {target.value}")
        else:
            self.add(path, "type changed", breaking=True, live=live, target=target, reason=_REJECTS)

    def compare_objects(self, live: Validator, target: Validator, path: str) -> None:
        live_fields = live.field_map()
        target_fields = target.field_map()
        prefix = f"{path}." if path else ""
        for name, item in live_fields.items():
            if name not in target_fields:
                self.add(f"{prefix}{name}", "field added", breaking=True, live=item,
                         reason="the target's object validator does not list it, and Convex objects "
                         "reject fields they do not list")
        for name, item in target_fields.items():
            if name in live_fields:
                continue
            if item.is_optional:
                self.add(f"{prefix}{name}", "field removed (optional in the target)", breaking=False,
                         target=item, reason="documents without it are valid in the target")
            else:
                self.add(f"{prefix}{name}", "field removed (required in the target)", breaking=True,
                         target=item, reason="documents written without it fail the target")
        for name in sorted(live_fields.keys() & target_fields.keys()):
            before, after = live_fields[name], target_fields[name]
            if before == after:
                continue
            if before.is_optional and not after.is_optional:
                self.add(f"{prefix}{name}", "field made optional", breaking=True, live=before, target=after,
                         reason="the target requires it, and documents may lack it")
            elif after.is_optional and not before.is_optional:
                self.add(f"{prefix}{name}", "field made required", breaking=False, live=before, target=after,
                         reason="the target has it optional")
            inner_before = before.items[0] if before.is_optional else before
            inner_after = after.items[0] if after.is_optional else after
            self.compare(inner_before, inner_after, f"{prefix}{name}")

    def compare_unions(self, live: Validator, target: Validator, path: str) -> None:
        live_members = live.items if live.kind == "union" else (live,)
        target_members = target.items if target.kind == "union" else (target,)
        if live.kind != "union" and any(self.accepts(live, candidate) for candidate in target_members):
            self.add(path, "type narrowed from a union", breaking=False, live=live, target=target,
                     reason="a member of the target's union accepts it")
            return
        for member in live_members:
            accepting = [c for c in target_members if self.accepts(member, c)]
            if accepting:
                if live.kind == "union" and member not in target_members:
                    partner = self.partner(member, target_members)
                    self.compare(member, partner if partner in accepting else accepting[0],
                                 self.member_label(path, member))
                continue
            unreadable = [m for m in (member, *target_members) if not m.is_readable]
            if unreadable:  # not accepted as far as can be read: a refusal, not a verdict
                self.add(path, "validator not readable", breaking=True, live=member, target=target,
                         reason=_unreadable_reason(unreadable[0]))
                continue
            partner = self.partner(member, target_members)
            if partner is not None and member.kind == "object":
                self.compare(member, partner, self.member_label(path, member))
            elif live.kind == "union":
                self.add(path, "union member added", breaking=True, live=member, target=target,
                         reason="no member of the target accepts it")
            else:
                self.add(path, "type changed", breaking=True, live=live, target=target,
                         reason="no member of the target's union accepts it")
        if live.kind == "union":
            for member in target_members:
                evolved = any(self.partner(m, target_members) == member for m in live_members)
                if not evolved and not any(self.accepts(m, member) for m in live_members):
                    self.add(path, "union member removed", breaking=False, target=member,
                             reason="the target accepts more")

    @staticmethod
    def member_label(path: str, member: Validator) -> str:
        """``notifications<type="invite">``: a union member named by its literal discriminators."""
        signature = _signature(member)
        return f"{path}<{', '.join(f'{k}={v}' for k, v in signature)}>" if signature else path

    @staticmethod
    def partner(member: Validator, candidates: tuple[Validator, ...]) -> Validator | None:
        """The target member that ``member`` evolved from: same kind, same literal discriminators."""
        same_kind = [c for c in candidates if c.kind == member.kind]
        if member.kind == "object":
            signature = set(_signature(member))
            if signature:
                same_kind = [c for c in same_kind if signature & set(_signature(c))]
            elif len(same_kind) > 1:
                return None
        return same_kind[0] if len(same_kind) == 1 else None


def _index_map(table: Table) -> dict[str, Index]:
    return {index.name: index for index in table.indexes}


def _compare_indexes(live: Table, target: Table, out: list[SchemaChange]) -> None:
    before, after = _index_map(live), _index_map(target)
    why = "indexes do not constrain documents; Convex builds them on push"
    for name in sorted(before.keys() - after.keys()):
        out.append(SchemaChange(f"{live.name} {before[name].kind} index {name}", "index added", False,
                                ", ".join(before[name].fields), "", why))
    for name in sorted(after.keys() - before.keys()):
        out.append(SchemaChange(f"{live.name} {after[name].kind} index {name}", "index removed", False, "",
                                ", ".join(after[name].fields), why))
    for name in sorted(before.keys() & after.keys()):
        if before[name] != after[name]:
            out.append(SchemaChange(
                f"{live.name} {after[name].kind} index {name}", "index changed", False,
                ", ".join(before[name].fields), ", ".join(after[name].fields), why,
            ))


def _compare_groups(live: Schema, target: Schema, out: list[SchemaChange]) -> None:
    """Package table groups: compatible only when the same group of the same package version."""
    live_groups = {group.name: group for group in live.externals}
    target_groups = {group.name: group for group in target.externals}

    def label(group: ExternalTables) -> str:
        return f"{group.module}@{group.version or '(version unknown)'}"

    for name in sorted(live_groups.keys() | target_groups.keys()):
        before, after = live_groups.get(name), target_groups.get(name)
        if before is not None and after is not None and before == after and before.version:
            continue
        where = (before or after).where if (before or after) else ""  # type: ignore[union-attr]
        at = f" at {where}" if where else ""
        if before is not None and after is None:
            if not target.schema_validation:
                continue
            reason = (f"the tables it defines are not read from {before.module}; the target may list "
                      f"some of them with other validators{at}")
            out.append(SchemaChange(f"...{name}", "package tables added", True, label(before), "", reason))
        elif after is not None and before is None:
            if not target.schema_validation:
                continue
            reason = (f"the target validates tables from {after.module} that the current schema does not "
                      f"list; the static parser does not read their validators{at}")
            out.append(SchemaChange(f"...{name}", "package tables removed", True, "", label(after), reason))
        elif before is not None and after is not None:
            if not target.schema_validation:
                continue
            if before.version and before.version == after.version and before.module == after.module:
                continue
            reason = ("the package's version is not pinned by a lockfile at both refs, so its tables "
                      f"cannot be shown to be unchanged{at}"
                      if not (before.version and after.version)
                      else f"the package changed, and the static parser does not read its tables{at}")
            out.append(SchemaChange(f"...{name}", "package tables not readable", True, label(before),
                                    label(after), reason))


def diff_schemas(live: Schema, target: Schema) -> SchemaDiff:
    """Classify every difference met when rolling back from ``live`` (current) to ``target``."""
    changes: list[SchemaChange] = []
    validated = target.schema_validation
    if not live.schema_validation and validated:
        changes.append(SchemaChange(
            "schema", "schema validation turned off", True, "schemaValidation: false",
            "schemaValidation: true",
            "documents written under the current schema were never validated; the target validates them"))
    elif live.schema_validation and not validated:
        changes.append(SchemaChange(
            "schema", "schema validation turned on", False, "schemaValidation: true",
            "schemaValidation: false",
            "the target does not validate documents"))
    if live.strict_table_name_types != target.strict_table_name_types:
        changes.append(SchemaChange("schema", "strictTableNameTypes changed", False,
                                    str(live.strict_table_name_types).lower(),
                                    str(target.strict_table_name_types).lower(), "TypeScript types only"))
    _compare_groups(live, target, changes)
    for name in sorted(live.tables.keys() - target.tables.keys()):
        changes.append(SchemaChange(
            name, "table added", False, live.tables[name].document.describe(), "",
            "the target does not list it, and Convex validates only listed tables: its documents stay, "
            "unvalidated"))
    for name in sorted(target.tables.keys() - live.tables.keys()):
        after = target.tables[name]
        if not validated or not after.is_validated:
            breaking, reason = False, "the target does not validate it"
        elif live.externals:
            breaking, reason = True, ("the current schema spreads in package tables the static parser does "
                                      "not read, and one of them may be this table")
        else:
            breaking, reason = True, _UNLISTED
        changes.append(SchemaChange(name, "table removed", breaking, "", after.document.describe(), reason))
    for name in sorted(live.tables.keys() & target.tables.keys()):
        before, after = live.tables[name], target.tables[name]
        comparer = _Comparer()
        comparer.compare(before.document, after.document, name)
        for found in comparer.changes:
            if found.breaking and not validated:
                found = SchemaChange(found.path, found.kind, False, found.live, found.target,  # noqa: PLW2901
                                     "the target does not validate documents (schemaValidation: false)")
            changes.append(found)
        _compare_indexes(before, after, changes)
    return SchemaDiff(tuple(changes))
