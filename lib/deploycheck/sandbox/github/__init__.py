"""The GitHub REST API emulator (:mod:`.api`) and its storage (:mod:`.store`)."""

from __future__ import annotations

from deploycheck.sandbox.github import api as _api
from deploycheck.sandbox.github import issue_store as _issue_store
from deploycheck.sandbox.github import issues as _issues
from deploycheck.sandbox.github import repos as _repos
from deploycheck.sandbox.github import store as _store
from deploycheck.sandbox.github.api import *  # noqa: F403
from deploycheck.sandbox.github.issue_store import *  # noqa: F403
from deploycheck.sandbox.github.issues import *  # noqa: F403
from deploycheck.sandbox.github.repos import *  # noqa: F403
from deploycheck.sandbox.github.store import *  # noqa: F403

__all__ = _api.__all__ + _issue_store.__all__ + _issues.__all__ + _repos.__all__ + _store.__all__
