"""Every Task state of the provision workflow failing, and stopped as the execution enters it
(and stopped while it waits for a stack's status event): each ends in a known state, and the
same request run again with the fault gone completes (fault_suite_provision.py)."""

from __future__ import annotations

import pytest
from fault_suite import FAULT_ERROR, task_states
from fault_suite_provision import (
    PROVISION,
    PROVISION_SCENARIOS,
    PROVISION_WAITS,
    provision_known_state,
    provision_successor,
)

from petclinic_local.cloud import LocalCloud

CASES = [
    *[pytest.param(state, "fails", id=f"{state}-fails") for state in PROVISION_SCENARIOS],
    *[pytest.param(state, "stopped on entry", id=f"{state}-stopped") for state in PROVISION_SCENARIOS],
    *[
        pytest.param(state, "stopped while waiting", id=f"{state}-stopped-waiting")
        for state in PROVISION_WAITS
    ],
]


def test_every_task_state_of_the_provision_workflow_has_a_scenario() -> None:
    assert set(task_states("provision.asl.json")) == set(PROVISION_SCENARIOS)


@pytest.mark.fault_injection
@pytest.mark.parametrize(("state", "fault"), CASES)
def test_a_fault_in_the_provision_workflow_ends_in_a_known_state(state: str, fault: str) -> None:
    with LocalCloud(time_scale=0.01, rollout_seconds=60) as cloud:
        if fault == "fails":
            injected = cloud.faults.fail(PROVISION, state, error=FAULT_ERROR)
            run = PROVISION_SCENARIOS[state](cloud)
        elif fault == "stopped on entry":
            injected = cloud.faults.stop_on_entry(PROVISION, state)
            run = PROVISION_SCENARIOS[state](cloud)
        else:
            injected = None
            run = PROVISION_WAITS[state](cloud)
        if injected is not None:
            assert injected.fired, f"the scenario never reached {state}"

        assert provision_known_state(cloud, run, strict=False) == []

        provision_successor(cloud, run)
        assert provision_known_state(cloud, run, strict=True) == []
