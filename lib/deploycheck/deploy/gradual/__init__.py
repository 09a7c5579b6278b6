"""Gradual Worker deploys: settings (:mod:`.settings`), the gates of a step (:mod:`.gates`), the
rollout (:mod:`.rollout`) and resolving a split already in progress (:mod:`.resume`).
"""

from __future__ import annotations

from deploycheck.deploy.gradual.gates import GateCheck, ProbeRound, evaluate, probe_round
from deploycheck.deploy.gradual.resume import RESUME_CHOICES, check_splits, resolve_split, split_sides
from deploycheck.deploy.gradual.rollout import Rollout
from deploycheck.deploy.gradual.run import run_gradual
from deploycheck.deploy.gradual.settings import GradualSettings, gradual_targets, parse_steps

__all__ = [
    "RESUME_CHOICES",
    "GateCheck",
    "GradualSettings",
    "ProbeRound",
    "Rollout",
    "check_splits",
    "evaluate",
    "gradual_targets",
    "parse_steps",
    "probe_round",
    "resolve_split",
    "run_gradual",
    "split_sides",
]
