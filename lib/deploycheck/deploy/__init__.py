"""Coordinated deploys: the plan (:mod:`.plan`), running one command (:mod:`.command`),
reading back what it produced (:mod:`.readback`), verification (:mod:`.verify`), the
report (:mod:`.render`) and the run (:mod:`.run`).
"""

from __future__ import annotations

from deploycheck.deploy.command import TAIL_LINES, CommandResult, run_command
from deploycheck.deploy.environ import (
    PASSED_THROUGH,
    PASSED_THROUGH_PREFIXES,
    command_environment,
)
from deploycheck.deploy.plan import (
    DeployPlan,
    DeployStep,
    default_command,
    deploy_order,
    plan_deploy,
    resolve_command,
)
from deploycheck.deploy.readback import (
    PlatformStateReader,
    Produced,
    Snapshot,
    StateReader,
    produced,
    read_snapshot,
)
from deploycheck.deploy.render import (
    DeployReport,
    GateResult,
    StepOutcome,
    previous_deploy_commit,
    print_summary,
    rollback_command,
    rollback_commands,
)
from deploycheck.deploy.run import Deployer, DeployOptions, deploy, expectations, run, run_gate
from deploycheck.deploy.verify import EXPECT_OPTIONS, Verification, verify_deploy

__all__ = [
    "EXPECT_OPTIONS",
    "PASSED_THROUGH",
    "PASSED_THROUGH_PREFIXES",
    "TAIL_LINES",
    "CommandResult",
    "DeployOptions",
    "DeployPlan",
    "DeployReport",
    "DeployStep",
    "Deployer",
    "GateResult",
    "PlatformStateReader",
    "Produced",
    "Snapshot",
    "StateReader",
    "StepOutcome",
    "Verification",
    "command_environment",
    "default_command",
    "deploy",
    "deploy_order",
    "expectations",
    "plan_deploy",
    "previous_deploy_commit",
    "print_summary",
    "produced",
    "read_snapshot",
    "resolve_command",
    "rollback_command",
    "rollback_commands",
    "run",
    "run_command",
    "run_gate",
    "verify_deploy",
]
