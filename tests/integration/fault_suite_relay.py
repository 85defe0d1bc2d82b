"""The fault-injection suite's cases for the task-token relay (statemachines/task-token-relay.asl.json),
one Express definition that template.yaml deploys three times, once per workflow that waits on
an event: deployment-events (ECS's deployment COMPLETED/FAILED, for the deploy workflow's
rollout and rollback), stack-events (a stack's terminal status, for the provision workflow) and
scale-events (a service's SERVICE_STEADY_STATE, for the scale workflow).

Each use's scenario is the waiting workflow's own (a push, a broken push, an edge change, a
scale): the relay records the outcome on the item the execution claimed and resumes it
(Resume; FailWait for a failed deployment). A relay that fails or dies loses the event: the
waiting execution reads what it waited for itself after its timeout (RolloutTimeoutSeconds,
StackTimeoutSeconds, ScaleTimeoutSeconds, short here). The judge is the waiting workflow's, and
so is the successor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import fault_suite
import fault_suite_provision
import fault_suite_scale

from petclinic_local.cloud import LocalCloud

# Timeouts short enough that an execution whose event was lost reads the outcome itself soon.
PARAMETERS = {"RolloutTimeoutSeconds": "300", "StackTimeoutSeconds": "300", "ScaleTimeoutSeconds": "120"}


@dataclass(frozen=True)
class Use:
    """One deployment of the relay: its state machine, and how the workflow it relays for runs,
    is judged and is succeeded."""

    machine: str
    run: Callable[[LocalCloud], Any]
    judge: Callable[[LocalCloud, Any, dict[str, Any], bool], list[str]]
    successor: Callable[[LocalCloud, Any], None]


def _deploy_judge(cloud: LocalCloud, story: Any, before: dict[str, Any], strict: bool) -> list[str]:
    return fault_suite.known_state(cloud, story, strict=strict)


def _deploy_successor(cloud: LocalCloud, story: Any) -> None:
    digest = fault_suite.successor(cloud, story)
    assert cloud.services()[story.service]["image"].endswith(digest)


def _provision_judge(cloud: LocalCloud, run: Any, before: dict[str, Any], strict: bool) -> list[str]:
    return fault_suite_provision.provision_known_state(cloud, run, strict=strict)


def _scale_judge(cloud: LocalCloud, run: Any, before: dict[str, Any], strict: bool) -> list[str]:
    return fault_suite_scale.scale_known_state(cloud, before, strict=strict)


def _scale_run(cloud: LocalCloud) -> None:
    fault_suite_scale.scaled_after_parking(cloud)


def _scale_successor(cloud: LocalCloud, run: Any) -> None:
    fault_suite_scale.scale_successor(cloud)


DEPLOYMENT_EVENTS = Use(
    "petclinic-ops-dev-deployment-events", fault_suite.push, _deploy_judge, _deploy_successor
)
DEPLOYMENT_FAILED_EVENTS = Use(
    "petclinic-ops-dev-deployment-events", fault_suite.broken_push, _deploy_judge, _deploy_successor
)
STACK_EVENTS = Use(
    "petclinic-ops-dev-stack-events",
    fault_suite_provision.edge_change,
    _provision_judge,
    fault_suite_provision.provision_successor,
)
SCALE_EVENTS = Use("petclinic-ops-dev-scale-events", _scale_run, _scale_judge, _scale_successor)

# (use, Task state of the relay): every state of the relay, in every use that reaches it (only
# the deployment events have a failed outcome: FailWait).
RELAY_SCENARIOS: dict[str, tuple[Use, str]] = {
    "deployment-events-RecordOutcome": (DEPLOYMENT_EVENTS, "RecordOutcome"),
    "deployment-events-Resume": (DEPLOYMENT_EVENTS, "Resume"),
    "deployment-events-FailWait": (DEPLOYMENT_FAILED_EVENTS, "FailWait"),
    "stack-events-RecordOutcome": (STACK_EVENTS, "RecordOutcome"),
    "stack-events-Resume": (STACK_EVENTS, "Resume"),
    "scale-events-RecordOutcome": (SCALE_EVENTS, "RecordOutcome"),
    "scale-events-Resume": (SCALE_EVENTS, "Resume"),
}
