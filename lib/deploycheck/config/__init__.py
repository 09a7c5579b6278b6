"""deploycheck.yaml loaded and validated (:mod:`.model`), its problems with lines
(:mod:`.problems`), and the named settings of a run (:mod:`.settings`).
"""

from __future__ import annotations

from deploycheck.config.model import (
    EncryptionConfig,
    Environment,
    ProjectConfig,
    Setting,
    StateConfig,
    Target,
    find_config,
    load_config,
)
from deploycheck.config.problems import (
    CONFIG_NAME,
    duplicate_keys,
    node_lines,
    schema,
    schema_problems,
    semantic_problems,
    unknown_name,
)
from deploycheck.config.settings import ResolvedSetting, Settings, SettingSource, parse_overrides

__all__ = [
    "CONFIG_NAME",
    "EncryptionConfig",
    "Environment",
    "ProjectConfig",
    "ResolvedSetting",
    "Setting",
    "SettingSource",
    "Settings",
    "StateConfig",
    "Target",
    "duplicate_keys",
    "find_config",
    "load_config",
    "node_lines",
    "parse_overrides",
    "schema",
    "schema_problems",
    "semantic_problems",
    "unknown_name",
]
