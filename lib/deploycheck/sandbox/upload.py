"""Vendor-shaped uploads for the sandbox's deploy commands (what wrangler and convex deploy send).

- Worker: ``PUT /accounts/{id}/workers/scripts/{name}`` multipart (a ``metadata`` part
  plus module parts), which creates a version and deploys it, as ``wrangler deploy`` does.
- Pages: ``POST /accounts/{id}/pages/projects/{name}/deployments`` multipart (``manifest``,
  ``branch``, ``commit_hash``, ``commit_message``, ``commit_dirty`` and one part per file);
  the commit is the one given, else the git checkout's ``HEAD`` as wrangler records it.
- Convex: ``POST {CONVEX_URL}/api/push_config`` with ``Authorization: Convex <key>`` and
  ``{modules: [{path, source}], schema, schemaBundle, message}``; ``schemaBundle`` is
  ``schema.ts`` bundled by the app's esbuild against its ``convex`` package, as the Convex
  CLI bundles it, so that the deployment can check its stored documents against the
  schema (sent when Node and such a ``node_modules`` are found).

Credentials and URLs come from the vendor environment variables.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deploycheck.errors import (
    AuthError,
    MalformedResponse,
    NotFoundError,
    PlatformError,
    PlatformUnavailable,
    Problem,
    UsageError,
)
from deploycheck.gitrepo import checkout_commit
from deploycheck.sandbox.node import run_node_script

__all__ = ["upload_convex", "upload_pages", "upload_worker"]

DEFAULT_CLOUDFLARE_API = "https://api.cloudflare.com/client/v4"
_SKIP_DIRS = {"node_modules", ".git", ".wrangler", "_generated", "__pycache__"}


def _require(environ: Mapping[str, str], names: list[str], directory: Path, source: str) -> dict[str, str]:
    problems = [
        Problem(
            source="environment", message=f"{name} is not set", hint="run inside `deploycheck sandbox` env"
        )
        for name in names
        if not environ.get(name)
    ]
    if not directory.is_dir():
        problems.append(Problem(source=source, message=f"{directory} is not a directory"))
    if problems:
        raise UsageError(problems)
    return {name: environ[name] for name in names}


def _files(directory: Path, suffixes: tuple[str, ...] | None = None) -> list[Path]:
    found = []
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if any(part in _SKIP_DIRS or part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and (suffixes is None or path.suffix in suffixes):
            found.append(path)
    return found


def _vendor_error(response: Any) -> tuple[str, str | int | None]:
    """The vendor's message and code from an error body (Cloudflare envelope or Convex/GitHub shape)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    code: str | int | None = None
    message = response.text[:300]
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            code, message = errors[0].get("code"), str(errors[0].get("message"))
        elif "code" in body:
            code, message = body.get("code"), str(body.get("message"))
    return message, code


def _raise_for(response: Any, platform: str, operation: str) -> dict[str, Any]:
    """The JSON object of a successful response; a PlatformError naming the vendor code otherwise."""
    try:
        body = response.json()
    except ValueError:
        body = None
    failed = response.status_code >= 400 or (isinstance(body, dict) and body.get("success") is False)
    if not failed:
        if not isinstance(body, dict) or ("success" in body and not isinstance(body.get("result"), dict)):
            raise MalformedResponse(
                f"expected a JSON object, got {response.headers.get('content-type', '?')} "
                f"({len(response.content)} bytes)",
                platform=platform,
                operation=operation,
                status=response.status_code,
                hint="check the base URL points at the vendor API; the upload may or may not have landed",
            )
        return body
    message, code = _vendor_error(response)
    status = response.status_code
    kind: type[PlatformError] = PlatformError
    hint = "check the request and retry"
    if status in (401, 403):
        kind, hint = AuthError, "check the API token or deploy key and its permissions"
    elif status == 404:
        kind, hint = NotFoundError, "check the script, project or deployment name"
    elif status >= 500:
        kind, hint = PlatformUnavailable, "retry later"
    raise kind(message, platform=platform, operation=operation, status=status, code=code, hint=hint)


def _post(
    method: str, url: str, platform: str, operation: str, environ: Mapping[str, str], **kwargs: Any
) -> dict[str, Any]:
    """Send one upload with deploycheck's HTTP policy: the configured timeouts, a bounded
    budget, Retry-After honoured on 429, and never a blind repeat after a 5xx or a timeout
    (an upload creates a new version each time)."""
    from urllib.parse import urlsplit

    from deploycheck.http import HttpClient, HttpSettings

    parts = urlsplit(url)
    client = HttpClient(
        platform=platform,
        base_url=f"{parts.scheme}://{parts.netloc}",
        settings=HttpSettings.from_environ(environ),
        parse_error=_vendor_error,
    )
    response = client.request(method, url, operation=operation, idempotent=False, **kwargs)
    return _raise_for(response, platform, operation)


def _cloudflare_env(environ: Mapping[str, str], directory: Path) -> dict[str, str]:
    """The Cloudflare API variables an upload of ``directory`` needs (the base URL: the real API's)."""
    return _require(
        {"CLOUDFLARE_API_BASE_URL": DEFAULT_CLOUDFLARE_API, **environ},
        ["CLOUDFLARE_API_BASE_URL", "CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID"],
        directory,
        "--dir",
    )


def _cloudflare_upload(
    env: Mapping[str, str],
    environ: Mapping[str, str],
    method: str,
    path: str,
    files: list[tuple[str, tuple[str | None, bytes, str]]],
    *,
    platform: str,
    operation: str,
) -> dict[str, Any]:
    """A multipart upload to ``path`` under the account of ``env``, with its API token."""
    base = env["CLOUDFLARE_API_BASE_URL"].rstrip("/")
    url = f"{base}/accounts/{env['CLOUDFLARE_ACCOUNT_ID']}/{path}"
    headers = {"Authorization": f"Bearer {env['CLOUDFLARE_API_TOKEN']}"}
    return _post(method, url, platform, operation, environ, headers=headers, files=files)


def _worker_config(directory: Path, script: str) -> dict[str, Any]:
    """The wrangler.toml section deploying ``script``: the named env whose name matches, else top level."""
    path = directory / "wrangler.toml"
    if not path.is_file():
        return {}
    with path.open("rb") as handle:
        config = tomllib.load(handle)
    for section in (config.get("env") or {}).values():
        if isinstance(section, dict) and section.get("name") == script:
            return {**{k: config[k] for k in ("main", "compatibility_date") if k in config}, **section}
    return config


def upload_worker(
    script: str, directory: Path, environ: Mapping[str, str], *, include_vars: bool = False
) -> dict[str, Any]:
    """Upload a Worker's modules (and deploy them) as ``wrangler deploy --keep-vars`` would.

    The main module, compatibility date and Durable Object bindings come from the
    directory's ``wrangler.toml`` (the section whose ``name`` is ``script``); secrets
    and plain vars already set are kept unless ``include_vars`` uploads the toml's vars.
    """
    env = _cloudflare_env(environ, directory)
    config = _worker_config(directory, script)
    main = Path(str(config.get("main", "src/index.js")))
    module_root = (directory / main).parent
    modules = _files(module_root, (".js", ".mjs", ".cjs", ".wasm"))
    if not (directory / main).is_file():
        raise UsageError([Problem(source="--dir", message=f"main module {main} not found in {directory}")])
    bindings: list[dict[str, Any]] = [
        {"type": "durable_object_namespace", "name": b["name"], "class_name": b["class_name"]}
        for b in (config.get("durable_objects") or {}).get("bindings", [])
    ]
    keep = ["secret_text", "secret_key"]
    if include_vars:
        bindings += [
            {"type": "plain_text", "name": k, "text": str(v)} for k, v in (config.get("vars") or {}).items()
        ]
    else:
        keep += ["plain_text", "json"]
    metadata = {
        "main_module": main.name,
        "compatibility_date": str(config.get("compatibility_date", "2024-09-23")),
        "bindings": bindings,
        "keep_bindings": keep,
    }
    files: list[tuple[str, tuple[str | None, bytes, str]]] = [
        ("metadata", (None, json.dumps(metadata).encode(), "application/json"))
    ]
    for path in modules:
        name = path.relative_to(module_root).as_posix()
        files.append((name, (name, path.read_bytes(), "application/javascript+module")))
    where, operation = f"workers/scripts/{script}", f"upload script {script}"
    body = _cloudflare_upload(
        env, environ, "PUT", where, files, platform="cloudflare-worker", operation=operation
    )
    result = body["result"]
    return {"script": script, "version_id": result.get("deployment_id"), "etag": result.get("etag")}


def upload_pages(
    project: str,
    directory: Path,
    environ: Mapping[str, str],
    *,
    commit: str | None = None,
    branch: str = "main",
) -> dict[str, Any]:
    """Create a Pages deployment from every file of ``directory`` (production on ``main``)."""
    env = _cloudflare_env(environ, directory)
    paths = _files(directory)
    if not paths:
        raise UsageError([Problem(source="--dir", message=f"{directory} has no files to deploy")])
    manifest: dict[str, str] = {}
    files: list[tuple[str, tuple[str | None, bytes, str]]] = []
    for path in paths:
        name = "/" + path.relative_to(directory).as_posix()
        content = path.read_bytes()
        manifest[name] = hashlib.sha256(content).hexdigest()[:32]
        files.append((name, (name, content, "application/octet-stream")))
    fields: list[tuple[str, tuple[str | None, bytes, str]]] = [
        ("manifest", (None, json.dumps(manifest).encode(), "application/json")),
        ("branch", (None, branch.encode(), "text/plain")),
    ]
    # as wrangler pages deploy: the commit given, else the checkout's HEAD, else none at all
    checkout = None if commit else checkout_commit(directory)
    commit_hash = commit or (checkout.commit if checkout else None)
    if commit_hash:
        message = checkout.message if checkout and checkout.message else f"Deploy {commit_hash[:7]}"
        dirty = "true" if checkout and checkout.dirty else "false"
        fields += [
            ("commit_hash", (None, commit_hash.encode(), "text/plain")),
            ("commit_message", (None, message.encode(), "text/plain")),
            ("commit_dirty", (None, dirty.encode(), "text/plain")),
        ]
    where, operation = f"pages/projects/{project}/deployments", f"create deployment of {project}"
    body = _cloudflare_upload(
        env, environ, "POST", where, fields + files, platform="cloudflare-pages", operation=operation
    )
    result = body["result"]
    return {
        "project": project,
        "deployment_id": result["id"],
        "environment": result["environment"],
        "url": result["url"],
        "commit_hash": commit_hash,
    }


def upload_convex(
    directory: Path, environ: Mapping[str, str], *, message: str | None = None
) -> dict[str, Any]:
    """Push a Convex functions directory (modules plus ``schema.ts``) to CONVEX_URL."""
    # the Convex CLI's precedence: a deploy key (with CONVEX_URL) wins over the self-hosted pair
    if environ.get("CONVEX_DEPLOY_KEY") or not environ.get("CONVEX_SELF_HOSTED_URL"):
        url, key = environ.get("CONVEX_URL") or "", environ.get("CONVEX_DEPLOY_KEY") or ""
    else:
        url = environ.get("CONVEX_SELF_HOSTED_URL") or ""
        key = environ.get("CONVEX_SELF_HOSTED_ADMIN_KEY") or ""
    _require(
        {"CONVEX_URL": url, "CONVEX_DEPLOY_KEY": key}, ["CONVEX_URL", "CONVEX_DEPLOY_KEY"], directory, "--dir"
    )
    modules = [
        {"path": path.relative_to(directory).as_posix(), "source": path.read_text(encoding="utf-8")}
        for path in _files(directory, (".ts", ".js"))
        if not path.name.endswith(".d.ts") and path.name not in ("tsconfig.json",)
    ]
    if not modules:
        raise UsageError([Problem(source="--dir", message=f"{directory} has no .ts or .js modules")])
    schema_path = directory / "schema.ts"
    schema = schema_path.read_text(encoding="utf-8") if schema_path.is_file() else None
    bundle = _schema_bundle(schema_path, environ) if schema is not None else None
    body = _post(
        "POST",
        f"{url.rstrip('/')}/api/push_config",
        "convex",
        "push functions",
        environ,
        headers={"Authorization": f"Convex {key}"},
        json={
            "modules": modules,
            "schema": schema,
            **({"schemaBundle": bundle} if bundle is not None else {}),
            "message": message or "deploycheck sandbox upload",
        },
    )
    return {"pushed_at": body.get("pushedAt"), "functions": body.get("functions"), "modules": len(modules)}


_BUNDLE_TIMEOUT_S = 120.0


def _schema_bundle(schema_path: Path, environ: Mapping[str, str]) -> str | None:
    """``schema.ts`` bundled as the Convex CLI bundles it, or None without Node and the packages.

    The app's ``node_modules`` (next to the folder or in a parent) must hold ``convex`` and
    ``esbuild``; ``data/schema_eval.mjs`` bundles with the CLI's esbuild options. A schema
    that does not bundle or evaluate is a UsageError naming the file, as the CLI stops too.
    """
    node = environ.get("DEPLOYCHECK_NODE") or os.environ.get("DEPLOYCHECK_NODE") or shutil.which("node")
    modules = next(
        (
            folder / "node_modules"
            for folder in schema_path.resolve().parents
            if (folder / "node_modules" / "convex" / "package.json").is_file()
            and (folder / "node_modules" / "esbuild" / "package.json").is_file()
        ),
        None,
    )
    if node is None or modules is None:
        return None
    with tempfile.TemporaryDirectory(prefix="deploycheck-upload-") as tmp:
        args = [str(modules / "esbuild"), str(schema_path), str(modules), tmp]
        done = run_node_script(node, "schema_eval.mjs", args, cwd=tmp, timeout=_BUNDLE_TIMEOUT_S)
        bundle = Path(tmp) / "schema.bundle.mjs"
        if done is not None and done.returncode == 0 and bundle.is_file():
            return bundle.read_text(encoding="utf-8")
    lines = [line for line in (done.stdout if done else "").splitlines() if line.startswith("{")]
    try:
        error = str(json.loads(lines[-1]).get("error")) if lines else ""
    except ValueError:
        error = ""
    detail = error or (done.stderr.strip()[-300:] if done else f"took longer than {_BUNDLE_TIMEOUT_S:.0f} s")
    raise UsageError(
        [
            Problem(
                source=str(schema_path),
                message=f"schema.ts could not be bundled and evaluated: {detail}",
                hint="Fix the schema (npx convex dev shows the same error), then upload again.",
            )
        ]
    )
