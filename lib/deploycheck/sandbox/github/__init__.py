"""The GitHub REST API emulator (:mod:`.api`) and its storage (:mod:`.store`)."""

from __future__ import annotations

from deploycheck.sandbox.github.api import GithubEmulator
from deploycheck.sandbox.github.issue_store import API, WEB, Comment, Issue, Label
from deploycheck.sandbox.github.issues import IssuesApi, is_issues_path
from deploycheck.sandbox.github.repos import RepositoryFacts, answer_repository_request
from deploycheck.sandbox.github.store import (
    MAX_VALUE_BYTES,
    Entry,
    LogicalClock,
    Scope,
    link_header,
    name_problem,
    page_slice,
)

__all__ = [
    "API",
    "MAX_VALUE_BYTES",
    "WEB",
    "Comment",
    "Entry",
    "GithubEmulator",
    "Issue",
    "IssuesApi",
    "Label",
    "LogicalClock",
    "RepositoryFacts",
    "Scope",
    "answer_repository_request",
    "is_issues_path",
    "link_header",
    "name_problem",
    "page_slice",
]
