"""Differences between two Convex schemas, each classified as compatible or breaking.

The direction is that of a rollback: from the LIVE schema to the TARGET schema. Every
document written under LIVE stays in the database, so it must still satisfy TARGET's
validators. A field present in LIVE but absent in TARGET is therefore "field removed"
(breaking), a union member only LIVE accepts is breaking, while a new table, a new
optional field, a widened type or any index change is compatible. When TARGET does not
validate a table (``v.any()`` documents or ``schemaValidation: false``), document changes
are compatible.
"""

from __future__ import annotations

from dataclasses import dataclass

from deploycheck.rollback.schema.model import Schema, Table, Validator

__all__ = ["SchemaChange", "SchemaDiff", "diff_schemas"]

@dataclass(frozen=True)
class SchemaChange:
    """One difference: where (``messages.author``), what kind, whether it breaks, and both sides."""

    path: str
    kind: str
    breaking: bool
    live: str = ""
    target: str = ""

    def __str__(self) -> str:
        text = f"{self.path}: {self.kind}"
        if self.live or self.target:
            text += f" (live: {self.live or '-'}; target: {self.target or '-'})"
        return text


@dataclass(frozen=True)
class SchemaDiff:
    """Every difference between a LIVE and a TARGET schema."""

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


class _Comparer:
    def __init__(self) -> None:
        self.changes: list[SchemaChange] = []

    def add(self, path: str, kind: str, *, breaking: bool, live: Validator | None = None,
            target: Validator | None = None) -> None:
        self.changes.append(SchemaChange(
            path, kind, breaking, live.describe() if live else "", target.describe() if target else ""
        ))

    def accepts(self, live: Validator, target: Validator) -> bool:
        scratch = _Comparer()
        scratch.compare(live, target, "")
        return not any(change.breaking for change in scratch.changes)

    def compare(self, live: Validator, target: Validator, path: str) -> None:
        if live == target:
            return
        if target.kind == "any":
            self.add(path, "type widened to v.any()", breaking=False, live=live, target=target)
        elif "unknown" in {live.kind, target.kind}:
            self.add(path, "validator changed and cannot be compared", breaking=True,
                     live=live, target=target)
        elif live.kind == "union" or target.kind == "union":
            self.compare_unions(live, target, path)
        elif live.kind == target.kind == "object":
            self.compare_objects(live, target, path)
        elif live.kind == target.kind == "array":
            self.compare(live.items[0], target.items[0], f"{path}[]")
        elif live.kind == target.kind == "record":
            self.compare(live.items[0], target.items[0], f"{path}{{key}}")
            self.compare(live.items[1], target.items[1], f"{path}{{value}}")
        elif live.kind == "literal" and target.kind == _literal_base(live):
            self.add(path, "literal widened", breaking=False, live=live, target=target)
        elif live.kind == "id" and target.kind == "string":
            self.add(path, "id widened to string", breaking=False, live=live, target=target)
        else:
            self.add(path, "type changed", breaking=True, live=live, target=target)

    def compare_objects(self, live: Validator, target: Validator, path: str) -> None:
        live_fields = live.field_map()
        target_fields = target.field_map()
        prefix = f"{path}." if path else ""
        for name, item in live_fields.items():
            if name not in target_fields:
                self.add(f"{prefix}{name}", "field removed", breaking=True, live=item)
        for name, item in target_fields.items():
            if name not in live_fields:
                if item.is_optional:
                    self.add(f"{prefix}{name}", "optional field added", breaking=False, target=item)
                else:
                    self.add(f"{prefix}{name}", "required field added", breaking=True, target=item)
        for name in live_fields.keys() & target_fields.keys():
            before, after = live_fields[name], target_fields[name]
            if before == after:
                continue
            if before.is_optional and not after.is_optional:
                self.add(f"{prefix}{name}", "optional to required", breaking=True, live=before, target=after)
            elif after.is_optional and not before.is_optional:
                self.add(f"{prefix}{name}", "required to optional", breaking=False, live=before, target=after)
            inner_before = before.items[0] if before.is_optional else before
            inner_after = after.items[0] if after.is_optional else after
            self.compare(inner_before, inner_after, f"{prefix}{name}")

    def compare_unions(self, live: Validator, target: Validator, path: str) -> None:
        live_members = live.items if live.kind == "union" else (live,)
        target_members = target.items if target.kind == "union" else (target,)
        if live.kind != "union" and any(self.accepts(live, candidate) for candidate in target_members):
            self.add(path, "type widened to a union", breaking=False, live=live, target=target)
            return
        for member in live_members:
            if any(self.accepts(member, candidate) for candidate in target_members):
                continue
            partner = self.partner(member, target_members)
            if partner is not None:
                signature = _signature(member)
                label = f"{path}<{', '.join(f'{k}={v}' for k, v in signature)}>" if signature else path
                self.compare(member, partner, label)
            elif live.kind == "union":
                self.add(path, "union member removed", breaking=True, live=member)
            else:
                self.add(path, "type changed", breaking=True, live=live, target=target)
        if live.kind == "union":
            for member in target_members:
                evolved = any(self.partner(m, target_members) == member for m in live_members)
                if not evolved and not any(self.accepts(m, member) for m in live_members):
                    self.add(path, "union member added", breaking=False, target=member)

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


def _compare_indexes(live: Table, target: Table, out: list[SchemaChange]) -> None:
    before = {index.name: index for index in live.indexes}
    after = {index.name: index for index in target.indexes}
    for name in sorted(before.keys() - after.keys()):
        out.append(SchemaChange(f"{live.name} {before[name].kind} index {name}", "index removed", False,
                                ", ".join(before[name].fields)))
    for name in sorted(after.keys() - before.keys()):
        out.append(SchemaChange(f"{live.name} {after[name].kind} index {name}", "index added", False, "",
                                ", ".join(after[name].fields)))
    for name in sorted(before.keys() & after.keys()):
        if before[name] != after[name]:
            out.append(SchemaChange(
                f"{live.name} {after[name].kind} index {name}", "index changed (rebuilt on push)", False,
                ", ".join(before[name].fields), ", ".join(after[name].fields),
            ))


def diff_schemas(live: Schema, target: Schema) -> SchemaDiff:
    """Classify every difference met when rolling back from ``live`` to ``target``."""
    changes: list[SchemaChange] = []
    if not live.schema_validation and target.schema_validation:
        changes.append(SchemaChange("schema", "schema validation turned on: documents written under the live "
                                    "code were never validated", True, "schemaValidation: false",
                                    "schemaValidation: true"))
    elif live.schema_validation and not target.schema_validation:
        changes.append(SchemaChange("schema", "schema validation turned off", False,
                                    "schemaValidation: true", "schemaValidation: false"))
    if live.strict_table_name_types != target.strict_table_name_types:
        changes.append(SchemaChange("schema", "strictTableNameTypes changed (types only)", False,
                                    str(live.strict_table_name_types).lower(),
                                    str(target.strict_table_name_types).lower()))
    live_groups = {group.name: group for group in live.externals}
    target_groups = {group.name: group for group in target.externals}
    for name in sorted(live_groups.keys() - target_groups.keys()):
        changes.append(SchemaChange(f"...{name}", f"tables from {live_groups[name].module} removed", True))
    for name in sorted(target_groups.keys() - live_groups.keys()):
        changes.append(SchemaChange(f"...{name}", f"tables from {target_groups[name].module} added", False))
    for name in sorted(live.tables.keys() - target.tables.keys()):
        changes.append(SchemaChange(name, "table removed", True, live.tables[name].document.describe()))
    for name in sorted(target.tables.keys() - live.tables.keys()):
        changes.append(SchemaChange(name, "table added", False, "", target.tables[name].document.describe()))
    for name in sorted(live.tables.keys() & target.tables.keys()):
        before, after = live.tables[name], target.tables[name]
        comparer = _Comparer()
        comparer.compare(before.document, after.document, name)
        validated = target.schema_validation and after.is_validated
        for found in comparer.changes:
            if found.breaking and not validated:
                found = SchemaChange(found.path, f"{found.kind} (target does not validate {name})",  # noqa: PLW2901
                                     False, found.live, found.target)
            changes.append(found)
        _compare_indexes(before, after, changes)
    return SchemaDiff(tuple(changes))
