"""Worker script uploads: the multipart body, binding merges and Durable Object migrations.

A script upload (``PUT .../scripts/{name}``) and a version upload (``POST .../versions``)
send a ``metadata`` part (``main_module``, ``bindings``, ``compatibility_date``,
``keep_bindings``, ``migrations``, ``annotations``) and one part per module. As on
Cloudflare, secrets persist across uploads: ``secret_text``/``secret_key`` bindings the
upload does not name are kept whatever ``keep_bindings`` says, while plain vars are kept
only when ``keep_bindings`` lists their types (``wrangler deploy --keep-vars``).

Migrations (script uploads only; a version upload carrying one fails with 10211) must
start from the script's current ``migration_tag`` (10079 otherwise) and their steps
(``new_classes``, ``new_sqlite_classes``, ``renamed_classes``, ``deleted_classes``,
``transferred_classes``) change the script's Durable Object classes. A
``durable_object_namespace`` binding to a class of the script itself must name a class a
migration created (10061).
"""

from __future__ import annotations

from typing import Any

from deploycheck.sandbox.cloudflare.envelope import ApiError, form_json, parse_multipart, seed_id
from deploycheck.sandbox.cloudflare.scripts import WorkerScript
from deploycheck.sandbox.cloudflare.versions import SECRET_TYPES, WorkerVersion
from deploycheck.sandbox.core import Request

__all__ = ["merge_bindings", "replace_bindings", "request_source", "version_from_upload"]

INVALID_INHERIT = 10057
MIGRATION_IN_VERSION = 10211
MIGRATION_TAG_MISMATCH = 10079
CLASS_NOT_MIGRATED = 10061
CLASS_CONFLICT = 10074


def request_source(request: Request) -> str:
    """``wrangler`` when wrangler sent the request (its User-Agent), else ``api``."""
    return "wrangler" if "wrangler" in request.header("user-agent").lower() else "api"


def replace_bindings(
    bindings: list[dict[str, Any]], changes: dict[str, dict[str, Any] | None]
) -> list[dict[str, Any]]:
    """``bindings`` with the named ones replaced (None removes them), new ones appended."""
    result = [changes.get(b["name"], b) for b in bindings]
    kept = [b for b in result if b is not None]
    names = {b["name"] for b in bindings}
    kept += [b for name, b in changes.items() if name not in names and b is not None]
    return kept


def merge_bindings(current: list[dict[str, Any]], wanted: Any, keep_types: Any) -> list[dict[str, Any]]:
    """The binding list of a settings PATCH or upload.

    ``wanted`` replaces the list; a ``secret_text`` entry without ``text`` and an
    ``inherit`` entry keep the current binding of that name (10057 when there is none);
    ``keep_types`` keeps every current binding of those types not named in ``wanted``.
    """
    if not isinstance(wanted, list) or not all(
        isinstance(b, dict) and isinstance(b.get("name"), str) for b in wanted
    ):
        raise ApiError(400, 10021, "bindings must be a list of objects with a name and a type")
    by_name = {b["name"]: b for b in current}
    result: list[dict[str, Any]] = []
    for binding in wanted:
        name, kind = binding["name"], binding.get("type")
        if kind == "inherit" or (kind in SECRET_TYPES and "text" not in binding):
            if name not in by_name:
                raise ApiError(
                    400,
                    INVALID_INHERIT,
                    f"inherit binding '{name}' is invalid: the previous version has no binding of that name",
                )
            result.append(dict(by_name[name]))
        elif kind == "plain_text" and not isinstance(binding.get("text"), str):
            raise ApiError(400, 10021, f"plain_text binding {name!r} needs a string text")
        else:
            result.append(dict(binding))
    keep = set(keep_types) if isinstance(keep_types, list | tuple | set) else set()
    named = {b["name"] for b in result}
    result += [dict(b) for b in current if b.get("type") in keep and b["name"] not in named]
    return result


def version_from_upload(
    script: WorkerScript, request: Request, *, annotations: dict[str, str], script_upload: bool
) -> WorkerVersion:
    """Add the version a script upload (``script_upload``) or version upload describes."""
    parts = parse_multipart(request)
    by_name = {p.name: p for p in parts}
    if "metadata" not in by_name:
        raise ApiError(400, 10021, "A script upload needs a 'metadata' part")
    metadata = form_json(by_name["metadata"])
    main_module = metadata.get("main_module") or metadata.get("body_part")
    modules: dict[str, bytes] = {(p.filename or p.name): p.content for p in parts if p.name != "metadata"}
    module_types = {(p.filename or p.name): p.content_type for p in parts if p.name != "metadata"}
    if not isinstance(main_module, str) or main_module not in modules:
        raise ApiError(
            400, 10021, f"main_module {main_module!r} must name one of the uploaded parts: {sorted(modules)}"
        )
    migrations = metadata.get("migrations")
    if migrations and not script_upload:
        raise ApiError(
            400,
            MIGRATION_IN_VERSION,
            "Version upload failed. You attempted to upload a version of a Worker that includes a "
            "Durable Object migration, but migrations must be fully applied via a non-versioned deployment.",
        )
    tag, classes = _migrate(script, migrations)
    current = script.versions[-1].bindings if script.versions else []
    listed = metadata.get("keep_bindings")
    keep = list(listed) if isinstance(listed, list) else list(SECRET_TYPES)
    bindings = merge_bindings(current, metadata.get("bindings", []), keep)
    bindings = [_durable_object(script.name, b, classes) for b in bindings]
    stored = dict(annotations)
    extra = metadata.get("annotations")
    if isinstance(extra, dict):
        stored.update({str(k): str(v) for k, v in extra.items() if v is not None})
    source = request_source(request)
    version = script.add_version(
        bindings=bindings,
        source=source,
        annotations=stored,
        modules=modules,
        module_types=module_types,
        main_module=main_module,
        compatibility_date=metadata.get("compatibility_date"),
        compatibility_flags=metadata.get("compatibility_flags"),
    )
    script.service.migration_tag, script.service.durable_object_classes = tag, classes
    script.service.last_deployed_from = source
    if isinstance(metadata.get("logpush"), bool):
        script.logpush = metadata["logpush"]
    return version


def _durable_object(script: str, binding: dict[str, Any], classes: dict[str, str]) -> dict[str, Any]:
    """A Durable Object binding to this script's class, checked and given its namespace id."""
    if binding.get("type") != "durable_object_namespace" or binding.get("script_name") not in (None, script):
        return binding
    class_name = binding.get("class_name")
    if class_name not in classes:
        raise ApiError(
            400,
            CLASS_NOT_MIGRATED,
            f"Cannot create binding for class '{class_name}' because it is not currently configured to "
            "implement Durable Objects. Ensure a --new-class migration has been applied to it.",
        )
    namespace_id = seed_id(f"{script}/do/{class_name}").replace("-", "")
    return {**binding, "namespace_id": binding.get("namespace_id", namespace_id)}


def _migrate(script: WorkerScript, migrations: Any) -> tuple[str | None, dict[str, str]]:
    """The migration tag and Durable Object classes after ``migrations`` (nothing is changed yet)."""
    tag, classes = script.service.migration_tag, dict(script.service.durable_object_classes)
    if not migrations:
        return tag, classes
    if not isinstance(migrations, dict) or not isinstance(migrations.get("new_tag"), str):
        raise ApiError(400, 10021, "migrations must be an object with a string new_tag")
    if migrations.get("old_tag") != tag:
        message = f"Migration tag precondition failed; current tag is {tag}"
        raise ApiError(400, MIGRATION_TAG_MISMATCH, message)
    steps = migrations.get("steps")
    for step in steps if isinstance(steps, list) else [migrations]:
        if not isinstance(step, dict):
            raise ApiError(400, 10021, "each migration step must be an object")
        _apply_step(step, classes)
    return migrations["new_tag"], classes


def _apply_step(step: dict[str, Any], classes: dict[str, str]) -> None:
    for key, storage in (("new_classes", "kv"), ("new_sqlite_classes", "sqlite")):
        for name in step.get(key) or []:
            if name in classes:
                raise ApiError(
                    400, CLASS_CONFLICT, f"Cannot apply {key} migration to class '{name}': it already exists"
                )
            classes[name] = storage
    for item in step.get("renamed_classes") or []:
        source, target = item.get("from"), item.get("to")
        if source not in classes or target in classes:
            raise ApiError(400, CLASS_CONFLICT, f"Cannot rename class '{source}' to '{target}'")
        classes[target] = classes.pop(source)
    for name in step.get("deleted_classes") or []:
        if classes.pop(name, None) is None:
            raise ApiError(400, CLASS_CONFLICT, f"Cannot delete class '{name}': it does not exist")
    for item in step.get("transferred_classes") or []:
        target = item.get("to")
        if not isinstance(target, str) or target in classes:
            raise ApiError(400, CLASS_CONFLICT, f"Cannot transfer a class to '{target}'")
        classes[target] = "sqlite"
