"""Every Task state of the scale workflow failing, and stopped as the execution enters it (and
stopped while it waits for a service's steady state): each ends in a known state, and the same
profile run again with the fault gone applies it all (fault_suite_scale.py)."""

from __future__ import annotations

import pytest
from fault_suite import FAULT_ERROR, task_states
from fault_suite_scale import (
    SCALE,
    SCALE_SCENARIOS,
    SCALE_WAITS,
    scale_known_state,
    scale_successor,
    settings,
)

from petclinic_local.cloud import LocalCloud

CASES = [
    *[pytest.param(state, "fails", id=f"{state}-fails") for state in SCALE_SCENARIOS],
    *[pytest.param(state, "stopped on entry", id=f"{state}-stopped") for state in SCALE_SCENARIOS],
    *[pytest.param(state, "stopped while waiting", id=f"{state}-stopped-waiting") for state in SCALE_WAITS],
]


def test_every_task_state_of_the_scale_workflow_has_a_scenario() -> None:
    assert set(task_states("scale.asl.json")) == set(SCALE_SCENARIOS)


@pytest.mark.fault_injection
@pytest.mark.parametrize(("state", "fault"), CASES)
def test_a_fault_in_the_scale_workflow_ends_in_a_known_state(state: str, fault: str) -> None:
    with LocalCloud(time_scale=0.01, rollout_seconds=60) as cloud:
        before = settings(cloud)
        if fault == "fails":
            injected = cloud.faults.fail(SCALE, state, error=FAULT_ERROR)
            SCALE_SCENARIOS[state](cloud)
        elif fault == "stopped on entry":
            injected = cloud.faults.stop_on_entry(SCALE, state)
            SCALE_SCENARIOS[state](cloud)
        else:
            injected = None
            SCALE_WAITS[state](cloud)
        if injected is not None:
            assert injected.fired, f"the scenario never reached {state}"
        # An execution stopped on entry may leave a call of another Map iteration in flight (on
        # AWS too): a second, slower quiet lets it land, and ECS settle what it changed.
        cloud.wait_until_quiet(settle=0.5)

        assert scale_known_state(cloud, before, strict=False) == []

        scale_successor(cloud)
        assert scale_known_state(cloud, before, strict=True) == []
