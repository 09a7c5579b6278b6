"""The Convex deployment emulator (:mod:`.deployment`), its environment variables
(:mod:`.env`) and function specs (:mod:`.functions`).
"""

from __future__ import annotations

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

__all__ = [
    "MAX_NAME_BYTES",
    "MAX_PUSH_MESSAGE_BYTES",
    "MAX_TOTAL_BYTES",
    "MAX_VALUE_BYTES",
    "MAX_VARIABLES",
    "SEED_MODULES",
    "SYSTEM_NAMES",
    "Change",
    "ChangeError",
    "ConvexEmulator",
    "Module",
    "Push",
    "apply_changes",
    "function_spec",
    "module_problem",
    "parse_changes",
]
