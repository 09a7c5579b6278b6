"""What a platform's history says a rollback can go back to: :class:`Revision` and :class:`CodeHistory`.

A *revision* is one entry of a platform's own history (a Worker version, a Pages
deployment, a git commit of the Convex folder) with what it changed compared with the one
before it: the code, the configuration, or both. A platform that can roll its code back
while keeping today's configuration declares a :class:`CodeHistory` in its spec
(``PlatformSpec.code_history``); the rollback package asks it for the revisions, the
default code target and the code rollback itself, and never looks at the platform's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from deploycheck.platforms.base import ConfigState

__all__ = ["CODE", "CONFIG", "CodeHistory", "CodeRollbackResult", "Revision", "RevisionKind", "code_target"]

CODE = "code"
CONFIG = "config"
RevisionKind = Literal["version", "deployment", "commit"]


@dataclass(frozen=True)
class Revision:
    """One entry of a platform's history, newest first in every list.

    ``code`` identifies the code it serves (a Worker script etag, a git commit); two
    revisions with the same ``code`` run the same code. ``changes`` says what it changed
    against the revision before it (``code``, ``config``); ``config_changes`` names the
    configuration keys (``+NAME`` added, ``-NAME`` removed, ``~NAME`` changed,
    ``secret value`` for a rotation the API cannot show by name).
    """

    id: str
    kind: RevisionKind
    created_on: str
    code: str | None
    changes: tuple[str, ...] = ()
    config_changes: tuple[str, ...] = ()
    active: bool = False
    deployable: bool = True
    number: int | None = None
    author: str | None = None
    source: str | None = None
    triggered_by: str | None = None
    message: str | None = None
    commit: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def short_code(self) -> str:
        """The first 12 characters of ``code`` ("-" when unknown)."""
        return (self.code or "-")[:12]

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``rollback list --format json``."""
        return {
            "id": self.id,
            "kind": self.kind,
            "number": self.number,
            "created_on": self.created_on,
            "active": self.active,
            "deployable": self.deployable,
            "code": self.code,
            "changes": list(self.changes),
            "config_changes": list(self.config_changes),
            "author": self.author,
            "source": self.source,
            "triggered_by": self.triggered_by,
            "message": self.message,
            "commit": self.commit,
        }


@dataclass(frozen=True)
class CodeRollbackResult:
    """What a code rollback made live: the new revision's id, its code, and one line for people."""

    id: str
    code: str | None
    description: str
    facts: dict[str, Any] = field(default_factory=dict)


def code_target(revisions: Sequence[Revision]) -> Revision | None:
    """The default code target: the newest deployable revision before the running code first appeared.

    The running code is that of the active revisions; walking back from the oldest
    revision that carries it, the first one with other code wins. Config-only revisions
    (a secret rotation, a settings change) therefore never count as a release, and a second
    rollback goes one release further back instead of returning to the code just left.
    """
    active = [r for r in revisions if r.active]
    if not active:
        return None
    running = {r.code for r in active}
    first = max(i for i, r in enumerate(revisions) if r.code in running)
    return next(
        (r for r in revisions[first + 1 :] if r.deployable and r.code not in running and r.code is not None),
        None,
    )


class CodeHistory(Protocol):
    """A platform's history and its code rollback (one object per platform, stateless).

    ``keeps`` says in a phrase what a code rollback leaves as it is, for the plan;
    ``versions_config`` is True when each revision carries its own configuration (a Worker
    version's bindings), so rolling configuration back too is a different rollback.
    """

    keeps: str
    versions_config: bool

    def revisions(self, adapter: Any, *, limit: int = 20) -> list[Revision]:
        """The newest ``limit`` revisions, newest first, ``active`` marking those serving traffic."""
        ...

    def blocker(self, revisions: Sequence[Revision]) -> str:
        """Why a code rollback cannot keep today's configuration now ("" when it can)."""
        ...

    def served_config(self, adapter: Any) -> ConfigState | None:
        """The configuration serving traffic now (None when it cannot be told)."""
        ...

    def source_files(self, adapter: Any, target: Revision) -> dict[str, bytes]:
        """The code of ``target`` as module name -> content ({} when the platform has none to read)."""
        ...

    def action(self, adapter: Any, target: Revision) -> str:
        """The requests a code rollback to ``target`` sends, for the plan."""
        ...

    def roll_back_code(self, adapter: Any, target: Revision, *, message: str) -> CodeRollbackResult:
        """Serve ``target``'s code with the configuration in force now; return what is live."""
        ...
