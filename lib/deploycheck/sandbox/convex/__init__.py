"""The Convex deployment emulator (:mod:`.deployment`), its environment variables
(:mod:`.env`) and function specs (:mod:`.functions`).
"""

from __future__ import annotations

from deploycheck.sandbox.convex.deploy2 import Deploy2Routes, error_response
from deploycheck.sandbox.convex.deployment import ConvexEmulator
from deploycheck.sandbox.convex.env import (
    MAX_NAME_BYTES,
    MAX_TOTAL_BYTES,
    MAX_VALUE_BYTES,
    MAX_VARIABLES,
    SYSTEM_NAMES,
    Change,
    ChangeError,
    apply_changes,
    parse_changes,
)
from deploycheck.sandbox.convex.functions import (
    MAX_PUSH_MESSAGE_BYTES,
    SEED_MODULES,
    Module,
    Push,
    function_spec,
    module_problem,
)
from deploycheck.sandbox.convex.push import (
    UDF_SERVER_VERSION,
    Analysis,
    PendingPush,
    PushError,
    analyze_modules,
    config_hashes,
    decode_body,
    finish_push_diff,
    index_diff,
    module_hash,
    parse_start_push,
    spec_from_analysis,
    start_push_response,
)
from deploycheck.sandbox.convex.schema import (
    SchemaViolation,
    check_document,
    render_validator,
    table_validators,
)
from deploycheck.sandbox.convex.sync import (
    HEARTBEAT_S,
    FunctionFailure,
    SyncBackend,
    SyncSession,
    client_version_problem,
    encode_ts,
)

__all__ = [
    "HEARTBEAT_S",
    "MAX_NAME_BYTES",
    "MAX_PUSH_MESSAGE_BYTES",
    "MAX_TOTAL_BYTES",
    "MAX_VALUE_BYTES",
    "MAX_VARIABLES",
    "SEED_MODULES",
    "SYSTEM_NAMES",
    "UDF_SERVER_VERSION",
    "Analysis",
    "Change",
    "ChangeError",
    "ConvexEmulator",
    "Deploy2Routes",
    "FunctionFailure",
    "Module",
    "PendingPush",
    "Push",
    "PushError",
    "SchemaViolation",
    "SyncBackend",
    "SyncSession",
    "analyze_modules",
    "apply_changes",
    "check_document",
    "client_version_problem",
    "config_hashes",
    "decode_body",
    "encode_ts",
    "error_response",
    "finish_push_diff",
    "function_spec",
    "index_diff",
    "module_hash",
    "module_problem",
    "parse_changes",
    "parse_start_push",
    "render_validator",
    "spec_from_analysis",
    "start_push_response",
    "table_validators",
]
