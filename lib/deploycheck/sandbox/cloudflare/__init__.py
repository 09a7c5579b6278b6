"""The Cloudflare v4 emulator: the control plane (:mod:`.control`), the envelope
(:mod:`.envelope`), Pages (:mod:`.projects`, :mod:`.pages`) and Workers (:mod:`.scripts`,
:mod:`.versions`, :mod:`.services`, :mod:`.uploads`).
"""

from __future__ import annotations

from deploycheck.sandbox.cloudflare.assets import ASSETS_PREFIX, TOKEN_TTL_S, Asset, AssetStore
from deploycheck.sandbox.cloudflare.control import API_PREFIX, CloudflareEmulator
from deploycheck.sandbox.cloudflare.envelope import (
    ApiError,
    FormPart,
    envelope,
    iso,
    json_body,
    new_id,
    now,
    ok,
    page_args,
    parse_multipart,
    seed_id,
)
from deploycheck.sandbox.cloudflare.pages import PagesEndpoints
from deploycheck.sandbox.cloudflare.projects import PagesDeployment, PagesProject, seed_projects, site_html
from deploycheck.sandbox.cloudflare.reads import MODULE_TYPE, WorkerReads, content_multipart
from deploycheck.sandbox.cloudflare.scripts import WorkerScript, seed_scripts
from deploycheck.sandbox.cloudflare.services import ACCOUNT_SUBDOMAIN, WorkersServices
from deploycheck.sandbox.cloudflare.uploads import (
    merge_bindings,
    replace_bindings,
    request_source,
    version_from_upload,
)
from deploycheck.sandbox.cloudflare.versions import (
    AUTHOR_EMAIL,
    SECRET_TYPES,
    VAR_TYPES,
    ScriptService,
    WorkerDeployment,
    WorkerVersion,
    expected_state_version,
    public_binding,
)

__all__ = [
    "ACCOUNT_SUBDOMAIN",
    "API_PREFIX",
    "ASSETS_PREFIX",
    "AUTHOR_EMAIL",
    "MODULE_TYPE",
    "SECRET_TYPES",
    "TOKEN_TTL_S",
    "VAR_TYPES",
    "ApiError",
    "Asset",
    "AssetStore",
    "CloudflareEmulator",
    "FormPart",
    "PagesDeployment",
    "PagesEndpoints",
    "PagesProject",
    "ScriptService",
    "WorkerDeployment",
    "WorkerReads",
    "WorkerScript",
    "WorkerVersion",
    "WorkersServices",
    "content_multipart",
    "envelope",
    "expected_state_version",
    "iso",
    "json_body",
    "merge_bindings",
    "new_id",
    "now",
    "ok",
    "page_args",
    "parse_multipart",
    "public_binding",
    "replace_bindings",
    "request_source",
    "seed_id",
    "seed_projects",
    "seed_scripts",
    "site_html",
    "version_from_upload",
]
