"""``sync-env``: push the source-of-truth table to local files or to every platform.

Three modes:

- ``local`` writes each target's ``local_file`` with DEV values only. The local writer is
  handed the entries' ``dev`` column and nothing else, so a PROD value cannot reach the
  disk. Files are written atomically, mode 0600, with a generated-file header; keys in
  the file that the table does not have are kept.
- ``deploy-dev`` / ``deploy-prod`` read every target of the environment concurrently,
  plan (:mod:`deploycheck.sync.plan`), and apply only the writes through the adapters (which
  batch where the vendor allows), then read back what is readable to confirm. The mode
  picks the value column, ``env`` the platforms.

A failing target does not stop the others: each :class:`TargetOutcome` says which keys
were applied and which were not, and a re-run converges. Every applied write is
recorded in the ledger (:mod:`deploycheck.state.ledger`) so that write-only secrets can be
verified next time; a dry run writes nothing anywhere. The request, outcome and report
types are in :mod:`deploycheck.sync.model`, re-exported here.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import KW_ONLY, dataclass, field, replace
from typing import TYPE_CHECKING

from deploycheck.errors import DeploycheckError, InputError, Problem, UsageError
from deploycheck.platforms import get_spec
from deploycheck.platforms.base import ConfigPlatform, ConfigState, RemoteVar
from deploycheck.state import Ledger, LedgerEntry, now
from deploycheck.sync.model import SyncReport, SyncRequest, TargetOutcome
from deploycheck.sync.plan import plan_target

if TYPE_CHECKING:
    from deploycheck.config import ProjectConfig, Target
    from deploycheck.sot import SourceOfTruth
    from deploycheck.sync.plan import PlanItem

__all__ = ["Opener", "Syncer"]

Opener = Callable[["Target", str], ConfigPlatform]
MAX_WORKERS = 8


def _unknown(label: str, names: list[str], valid: list[str]) -> Problem:
    close = [difflib.get_close_matches(n, valid, n=1) for n in names]
    guesses = [f"{n!r} -> {c[0]!r}" for n, c in zip(names, close, strict=True) if c]
    hint = f"did you mean {', '.join(guesses)}? " if guesses else ""
    return Problem(
        source=label,
        message=f"unknown {', '.join(map(repr, names))}; valid: {', '.join(valid) or '(none)'}.",
        hint=f"{hint}Use one of the valid names.".strip(),
    )


def _not_shown(item: PlanItem, var: RemoteVar | None, written_marker: str | None) -> str:
    """Why the read-back does not show ``item`` as written ("" when it does).

    A readable value must equal what was written; a write-only secret that already existed
    must show a moved per-key marker (GitHub ``updated_at``) when the platform has one,
    since presence alone cannot tell the new value from the old.
    """
    if item.action == "remove":
        return "" if var is None else "still present after the delete"
    if var is None:
        return "absent after the write"
    if var.value is not None:
        return "" if var.value == item.value else "the platform holds another value"
    now_marker = var.marker or written_marker
    if item.action == "change" and item.remote_marker is not None and now_marker == item.remote_marker:
        return f"its change marker did not move ({now_marker}): the platform shows no new value"
    return ""


@dataclass(eq=False)
class Syncer:
    """Plans and applies one sync of ``sot`` under ``request``.

    ``opener(target, env)`` returns the target's adapter (default:
    :func:`deploycheck.platforms.open_target`); ``key_fp`` fingerprints values with the
    ledger key. Every target's adapter is built on construction (no requests yet).
    """

    config: ProjectConfig
    sot: SourceOfTruth
    request: SyncRequest
    _: KW_ONLY
    ledger: Ledger
    key_fp: Callable[[str], str]
    opener: Opener | None = None
    adapters: dict[str, ConfigPlatform] = field(init=False, default_factory=dict)
    _open_errors: dict[str, DeploycheckError] = field(init=False, default_factory=dict)
    #: the targets the request selects (:meth:`select_targets`)
    targets: list[Target] = field(init=False)

    def __post_init__(self) -> None:
        self.targets = self.select_targets()
        self._open_all()

    def _adapter(self, target: Target) -> ConfigPlatform:
        """A new adapter of ``target`` in the request's environment."""
        return (self.opener or self._open)(target, self.request.env)

    def _open_all(self) -> None:
        """Build every adapter up front (no requests): a missing credential is an InputError now,
        before the lock file, the ledger key or anything else is written."""
        bad_input: list[InputError] = []
        for target in self.targets:
            try:
                self.adapters[target.name] = self._adapter(target)
            except InputError as exc:
                bad_input.append(exc)
            except DeploycheckError as exc:
                self._open_errors[target.name] = exc
        if bad_input:
            first = bad_input[0]
            raise type(first)([p for e in bad_input for p in e.problems], title=first.title)

    def _open(self, target: Target, env: str) -> ConfigPlatform:
        from deploycheck.platforms import open_local, open_target

        if self.request.mode == "local":
            assert target.local_file is not None  # select_targets keeps only those
            plain = tuple(e.key for e in self.sot.for_target(target.name) if not e.secret)
            return open_local(
                target.local_file, source=str(self.sot.path), plain_names=plain, force=self.request.force
            )
        adapter: ConfigPlatform = open_target(self.config, target, env)
        return adapter

    def select_targets(self) -> list[Target]:
        """The targets this run writes; UsageError for unknown or undeployed names and keys."""
        config, request = self.config, self.request
        problems: list[Problem] = []
        if request.mode == "local":
            candidates = [t for t in config.targets.values() if t.local_file is not None]
        else:
            environment = config.environment(request.env)
            if environment.values != request.column:
                problems.append(
                    Problem(
                        source="--env",
                        message=f"--mode={request.mode} writes {request.column.upper()} values, but "
                        f"environment {request.env!r} takes {environment.values.upper()} values "
                        f"(environments.{request.env}.values in deploycheck.yaml).",
                        hint="Use --mode=deploy-prod for environments with PROD values, --mode=deploy-dev "
                        "for those with DEV values.",
                    )
                )
            candidates = [t for t in config.targets_for(request.env) if get_spec(t.platform).remote]
        names = [t.name for t in candidates]
        unknown = [n for n in request.targets if n not in config.targets]
        if unknown:
            problems.append(_unknown("--target", unknown, sorted(config.targets)))
        elsewhere = [n for n in request.targets if n in config.targets and n not in names]
        if elsewhere:
            where = f"are not deployed in {request.env!r}"
            if request.mode == "local":
                where = "have no local_file"
            can = ", ".join(names) or "(none)"
            problems.append(
                Problem(
                    source="--target",
                    message=f"{', '.join(elsewhere)} {where}; this run can write: {can}.",
                    hint="Pick another --target or --env.",
                )
            )
        selected = [t for t in candidates if not request.targets or t.name in request.targets]
        keys = list(dict.fromkeys(e.key for t in selected for e in self.sot.for_target(t.name)))
        fold = {k.upper(): k for k in keys}
        missing = [k for k in request.only if k not in keys and k.upper() not in fold]
        if missing:
            problems.append(_unknown("--only", missing, keys))
        problems += self._assigned(selected)
        if problems:
            raise UsageError(problems)
        if request.mode == "local":
            from deploycheck.sync.local import local_file_problems

            unsafe = local_file_problems(config, self.sot, selected, force=request.force)
            if unsafe:
                raise InputError(unsafe, title="local files that cannot be written safely")
        return selected

    def _assigned(self, selected: list[Target]) -> list[Problem]:
        """``--remove`` keys the table assigns to a selected target: a sync writes those, so
        removing them would be undone (and is most likely a mistake)."""
        problems: list[Problem] = []
        for key in self.request.remove:
            for target in selected:
                fold = get_spec(target.platform).fold
                for entry in self.sot.for_target(target.name):
                    if fold(entry.key) == fold(key) and entry.value(self.request.column) is not None:
                        problems.append(
                            Problem(
                                source=str(entry.source),
                                line=entry.line,
                                message=f"--remove {key}: the table assigns {entry.key} to {target.name} "
                                f"({self.request.column.upper()}_VALUE), so a sync writes it back.",
                                hint=f"Delete that row first, or leave {target.name} out with --target.",
                            )
                        )
        return problems

    def _plan_one(self, target: Target) -> TargetOutcome:
        try:
            if target.name in self._open_errors:
                raise self._open_errors[target.name]
            adapter = self.adapters.get(target.name) or self._adapter(target)
            self.adapters[target.name] = adapter
            state = adapter.read_config()
        except DeploycheckError as exc:
            return TargetOutcome(target=target.name, error=f"{type(exc).__name__}: {exc}", exception=exc)
        plan = plan_target(
            target=target.name,
            entries=self.sot.for_target(target.name),
            state=state,
            ledger=self.ledger,
            env=self._ledger_env,
            column=self.request.column,
            key_fp=self.key_fp,
            prune=self.request.prune and self.request.mode != "local",
            only=self.request.only,
            remove=self.request.remove,
        )
        return TargetOutcome(target=target.name, plan=plan)

    @property
    def _ledger_env(self) -> str:
        return "local" if self.request.mode == "local" else self.request.env

    def plan(self) -> SyncReport:
        """Read every selected target concurrently and plan it; nothing is written."""
        outcomes: dict[str, TargetOutcome] = {}
        with ThreadPoolExecutor(max_workers=max(1, min(MAX_WORKERS, len(self.targets)))) as pool:
            futures = {pool.submit(self._plan_one, t): t.name for t in self.targets}
            for future in as_completed(futures):
                outcomes[futures[future]] = future.result()
        return SyncReport(
            request=self.request,
            sot=str(self.sot.path),
            outcomes=[outcomes[t.name] for t in self.targets],
            warnings=[str(w) for w in self.sot.warnings],
        )

    def _apply_one(self, outcome: TargetOutcome) -> tuple[TargetOutcome, ConfigState | None, str | None]:
        plan = outcome.plan
        assert plan is not None  # only planned targets are applied
        adapter = self.adapters[outcome.target]
        changes = plan.changes()
        outcome.attempted = True
        try:
            result = adapter.apply_config(changes)
        except DeploycheckError as exc:
            outcome.error = f"{type(exc).__name__}: {exc}"
            outcome.failed = {c.name: "not applied: the request failed" for c in changes}
            return outcome, None, None
        outcome.applied = list(result.applied)
        outcome.failed = dict(result.failed)
        markers = dict(result.markers)
        reasons = dict(result.unconfirmed)
        try:
            after = adapter.read_config()
        except DeploycheckError as exc:
            outcome.readback = f"failed: {type(exc).__name__}: {exc}"
            outcome.unconfirmed = [n for n in outcome.applied]
            return outcome, None, result.marker
        fold = get_spec(plan.platform).fold
        remote = {fold(n): v for n, v in after.vars.items()}
        for item in plan.writes:
            name = item.change().name
            if name not in outcome.applied:
                continue
            var = remote.get(fold(name))
            why = reasons.get(name) or _not_shown(item, var, markers.get(name))
            if why:
                reasons[name] = why
                outcome.unconfirmed.append(name)
            elif var is not None and var.marker is None and name in markers:
                remote[fold(name)] = type(var)(var.name, var.value, var.secret, markers[name])
        outcome.unconfirmed_reasons = {n: reasons[n] for n in outcome.unconfirmed}
        outcome.readback = "confirmed" if not outcome.unconfirmed else "applied, not confirmed"
        state = ConfigState(
            after.platform, after.resource, remote, after.marker, config_marker=after.config_marker
        )
        return outcome, state, result.marker

    def _record(self, outcome: TargetOutcome, after: ConfigState | None, marker: str | None) -> None:
        """Record the confirmed writes; move the target marker only when this run wrote and
        the platform showed it (a no-op sync never advances it)."""
        plan = outcome.plan
        assert plan is not None  # only planned targets are recorded
        env, written = self._ledger_env, now()
        fold = get_spec(plan.platform).fold
        remote = {fold(n): v for n, v in after.vars.items()} if after else {}
        done = set(outcome.applied) - set(outcome.unconfirmed)
        for item in plan.items:
            name = item.change().name if item.is_write else item.key
            if item.action == "remove" and name in done:
                self.ledger.forget(env, outcome.target, item.key)
            elif item.is_write and name in done and item.fingerprint:
                var = remote.get(fold(name))
                self.ledger.record(
                    env,
                    outcome.target,
                    item.key,
                    LedgerEntry(
                        fingerprint=item.fingerprint,
                        written_at=written,
                        marker=var.marker if var is not None else None,
                        created=item.created,
                        secret=item.secret,
                    ),
                )
            elif (
                item.action == "unchanged"
                and item.fingerprint
                and self.ledger.entry(env, outcome.target, item.key) is None
            ):
                entry = LedgerEntry(
                    item.fingerprint, written, item.remote_marker, created=False, secret=item.secret
                )
                self.ledger.record(env, outcome.target, item.key, entry)
        if plan.marker_moved:
            # someone else changed the target: every secret this run did not rewrite stays untrusted
            rewritten = {i.key for i in plan.items if i.is_write and i.change().name in done}
            for key, entry in self.ledger.entries(env, outcome.target).items():
                if entry.secret and key not in rewritten and not entry.untrusted:
                    self.ledger.record(env, outcome.target, key, replace(entry, untrusted=True))
        if done:
            final = (after.marker if after else None) or marker
            self.ledger.set_target_marker(env, outcome.target, final)

    def check_counts(self, report: SyncReport) -> None:
        """Raise InputError (nothing written) when a target would hold more variables or secrets
        than its platform allows: what it keeps plus what the plan adds, minus what it removes."""
        from deploycheck.sot import count_problems

        problems: list[Problem] = []
        for outcome in report.outcomes:
            plan = outcome.plan
            if plan is None:
                continue
            kept = [i for i in plan.items if i.action != "remove"]
            problems += count_problems(
                plan.target,
                plan.platform,
                keys=len(kept),
                secrets=sum(i.secret for i in kept),
                source=f"{plan.platform} {plan.resource}",
                what="the keys it holds and keeps plus the ones this sync adds",
            )
        if problems:
            title = "platform limits that this sync would exceed; nothing was written"
            raise InputError(problems, title=title)

    def apply(self, report: SyncReport, *, save: bool = True) -> SyncReport:
        """Apply every planned write concurrently; record applied keys in the ledger as targets finish.

        The ledger is saved after each target's batch, so an interrupted run leaves every
        finished batch recorded. On KeyboardInterrupt (or any other escape) no new batch
        starts, the batches in flight are waited for and recorded, and the exception goes on.
        """
        self.check_counts(report)
        todo = [o for o in report.outcomes if o.plan is not None]
        report.applied = True
        writing = [o for o in todo if o.plan is not None and o.plan.writes]
        if self.request.mode != "local":
            for outcome in todo:
                if outcome not in writing:
                    self._record(outcome, None, None)
        pool = ThreadPoolExecutor(max_workers=max(1, min(MAX_WORKERS, len(writing))))
        futures = [pool.submit(self._apply_one, o) for o in writing]
        finished: set[int] = set()
        try:
            for future in as_completed(futures):
                finished.add(id(future))
                self._finish(future.result(), save=save)
        except BaseException:
            report.interrupted = True
            pool.shutdown(wait=True, cancel_futures=True)
            for future in futures:
                landed = future.done() and not future.cancelled() and future.exception() is None
                if id(future) not in finished and landed:
                    self._finish(future.result(), save=save)
            raise
        finally:
            pool.shutdown(wait=True)
            if save and self.request.mode != "local" and not writing:
                self.ledger.save()
        return report

    def _finish(self, done: tuple[TargetOutcome, ConfigState | None, str | None], *, save: bool) -> None:
        outcome, after, marker = done
        if self.request.mode != "local":
            self._record(outcome, after, marker)
            if save:
                self.ledger.save()
