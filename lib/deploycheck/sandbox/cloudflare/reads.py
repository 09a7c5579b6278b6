"""Worker endpoints around versions that ``wrangler versions`` and the SDKs call.

- ``GET .../scripts/{name}/content/v2[?version=ID]``: a version's modules as
  ``multipart/form-data``, one part per module with the content type it was uploaded
  with, and the main module named by the ``cf-entrypoint`` header. wrangler up to 4.112
  (``versions secret put|bulk|delete``) downloads the latest version's code this way and
  uploads a copy with the changed secrets.
- ``PATCH .../workers/workers/{name}/versions/latest`` (``application/merge-patch+json``):
  the newer wrangler's way to the same end. ``env`` maps secret names to a new
  ``{type: secret_text, text}`` or ``null`` (delete); the result is a new version that
  serves no traffic until ``versions deploy`` (10222 when the Worker has no version).
- ``GET .../scripts/{name}/deployments/{id}``: one deployment (10316 for an unknown id).
- ``GET .../scripts/{name}``: the script download, the content of the version serving
  the most traffic in the same multipart form.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from deploycheck.sandbox.cloudflare.envelope import ApiError, json_body, ok
from deploycheck.sandbox.cloudflare.uploads import replace_bindings, request_source
from deploycheck.sandbox.cloudflare.versions import secret_changes
from deploycheck.sandbox.core import Request, Response

if TYPE_CHECKING:
    from deploycheck.sandbox.cloudflare.scripts import WorkerScript

__all__ = ["MODULE_TYPE", "WorkerReads", "content_multipart"]

#: the content type of an ES module part, as wrangler uploads it
MODULE_TYPE = "application/javascript+module"
NO_VERSIONS = 10222
DEPLOYMENT_NOT_FOUND = 10316
_Handler = Callable[[Request, list[str]], Response]


def content_multipart(modules: dict[str, bytes], types: dict[str, str]) -> tuple[bytes, str]:
    """``(body, content type)`` of a multipart/form-data body with one part per module."""
    boundary = uuid.uuid4().hex
    chunks: list[bytes] = []
    for name, content in modules.items():
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        head = (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{quoted}"; filename="{quoted}"\r\n'
            f"Content-Type: {types.get(name, MODULE_TYPE)}\r\n\r\n"
        )
        chunks += [head.encode(), content, b"\r\n"]
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


class WorkerReads:
    """The script content download, the latest-version PATCH and single deployment reads."""

    def __init__(self, script: Callable[[str], WorkerScript]) -> None:
        self._script = script

    def routes(self, account: str, script: str) -> list[tuple[str, str, _Handler]]:
        """(method, path regex, handler) of every endpoint here, given the account and script regexes."""
        return [
            ("GET", script, self._content),
            ("GET", f"{script}/content/v2", self._content),
            ("GET", f"{script}/deployments/([^/]+)", self._get_deployment),
            ("PATCH", f"{account}/workers/workers/([^/]+)/versions/latest", self._patch_latest),
        ]

    def _content(self, request: Request, params: list[str]) -> Response:
        script = self._script(params[0])
        wanted = request.arg("version")
        version = script.version(wanted) if wanted else script.active_version
        body, content_type = content_multipart(version.modules, version.module_types)
        headers = {"content-type": content_type, "cf-entrypoint": version.main_module}
        return Response(status=200, body=body, headers=headers)

    def _get_deployment(self, request: Request, params: list[str]) -> Response:
        script = self._script(params[0])
        for deployment in script.deployments:
            if deployment.id == params[1]:
                return ok(deployment.as_api())
        message = f"Deployment {params[1]!r} not found for script {script.name!r}"
        raise ApiError(404, DEPLOYMENT_NOT_FOUND, message)

    def _patch_latest(self, request: Request, params: list[str]) -> Response:
        script = self._script(params[0])
        if not script.versions:
            message = "There are currently no uploaded versions of this Worker."
            raise ApiError(400, NO_VERSIONS, message)
        body = json_body(request)
        env = body.get("env") or {}
        if not isinstance(env, dict):
            raise ApiError(400, 10021, "env must be an object of binding name -> binding or null")
        changes = secret_changes(env, _patched_secret_refusal)
        annotations = {"workers/triggered_by": "secret"}
        extra = body.get("annotations")
        if isinstance(extra, dict):
            annotations.update({str(k): str(v) for k, v in extra.items() if v is not None})
        latest = script.latest_version
        version = script.add_version(
            bindings=replace_bindings(latest.bindings, changes),
            source=request_source(request),
            annotations=annotations,
        )
        return ok(version.full())


def _patched_secret_refusal(name: str, binding: Any) -> str | None:
    if not isinstance(binding, dict) or binding.get("type") != "secret_text":
        return f"binding {name!r}: only secret_text bindings can be patched"
    if not isinstance(binding.get("text"), str):
        return f"secret {name!r} needs a string text"
    return None
