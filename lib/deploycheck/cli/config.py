"""``deploycheck config validate|show``: check deploycheck.yaml, or show what a run would use.

``validate`` reports every problem of the file at once (exit code 2) or a one-line OK;
``show [--env ENV] [--set NAME=VALUE]`` prints the environment, its targets and each
resolved setting with its source, secrets as fingerprints.
"""

from __future__ import annotations

import argparse

from deploycheck.cli.options import add_config, add_env, add_list

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """validate or show, ``--config``, ``--env`` and ``--set``."""
    parser.add_argument(
        "action", choices=("validate", "show"), help="validate the file, or show a run's settings"
    )
    add_config(parser)
    add_env(parser, "environment to show (default: default_env)")
    add_list(parser, "--set", dest="overrides", metavar="NAME=VALUE",
             help="override a setting, as verify --set does")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Validate or show; errors propagate (ConfigError exits 2)."""
    from deploycheck.config import load_config

    config = load_config(args.config)
    if args.action == "validate":
        print(
            f"{config.path}: OK ({len(config.environments)} environments, {len(config.targets)} targets, "
            f"{len(config.settings)} settings)"
        )
        return 0
    from deploycheck.config import Settings, parse_overrides
    from deploycheck.verify import select_targets

    env = config.environment(args.env or config.default_env)
    settings = Settings.from_config(config, env.name, parse_overrides(args.overrides, "--set"))
    kind = "remote (never reads local .env files)" if env.remote else "local (reads local .env files)"
    print(f"config: {config.path}")
    print(f"environment: {env.name} -- {kind}, {env.values} values{', sandbox' if env.sandbox else ''}")
    print("targets:")
    for item in select_targets(config, env.name):
        print(f"  {item.name:<20} {item.platform:<18} {item.resource}")
    print("settings:")
    rows = settings.rows()
    width = max((len(name) for name, *_ in rows), default=0)
    for name, shown, source, origin in rows:
        print(f"  {name:<{width}}  {shown}  [{source}: {origin}]")
    return 0
