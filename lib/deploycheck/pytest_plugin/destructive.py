"""Whether checks that change platform state run: opt-in on remote environments.

pytest-base-url's convention: destructive tests skip on "sensitive" environments unless
asked. Here a check marked ``destructive`` (an integration chain that POSTs a log to the
production Worker) runs by default only in local environments and the sandbox; a remote
environment opts in with ``pytest --destructive`` or ``destructive: true`` in its entry
of deploycheck.yaml.
"""

from __future__ import annotations

from deploycheck.config import Environment

__all__ = ["destructive_skip_reason"]


def destructive_skip_reason(env: Environment, *, asked: bool) -> str | None:
    """Why destructive checks skip in ``env``, or None when they run."""
    if asked or env.destructive:
        return None
    if env.destructive is None and (env.sandbox or not env.remote):
        return None
    return _reason(env)


def _reason(env: Environment) -> str:
    where = "the remote environment" if env.remote else "the environment"
    return (
        f"destructive check (it changes platform state) not run on {where} {env.name!r}: pass "
        f"--destructive, or set destructive: true under environments.{env.name} in deploycheck.yaml"
    )
