"""Every Task state of the task-token relay failing, and its execution stopped as it enters the
state, in each use of the relay that reaches the state: the workflow waiting on the event ends
in a known state (it reads what it waited for itself), and its next request with the fault gone
finds and leaves everything clean (fault_suite_relay.py)."""

from __future__ import annotations

import pytest
from fault_suite import FAULT_ERROR, task_states
from fault_suite_relay import PARAMETERS, RELAY_SCENARIOS
from fault_suite_scale import settings

from petclinic_local.cloud import LocalCloud

CASES = [
    pytest.param(name, fault, id=f"{name}-{fault.replace(' ', '-')}")
    for name in RELAY_SCENARIOS
    for fault in ("fails", "stopped on entry")
]


def test_every_task_state_of_the_relay_has_a_scenario() -> None:
    assert {state for _, state in RELAY_SCENARIOS.values()} == set(task_states("task-token-relay.asl.json"))


@pytest.mark.fault_injection
@pytest.mark.parametrize(("name", "fault"), CASES)
def test_a_fault_in_the_relay_ends_in_a_known_state(name: str, fault: str) -> None:
    use, state = RELAY_SCENARIOS[name]
    with LocalCloud(time_scale=0.01, rollout_seconds=60, parameters=PARAMETERS) as cloud:
        before = settings(cloud)
        if fault == "fails":
            injected = cloud.faults.fail(use.machine, state, error=FAULT_ERROR)
        else:
            injected = cloud.faults.stop_on_entry(use.machine, state)
        story = use.run(cloud)
        assert injected.fired, f"the scenario never reached {state} of {use.machine}"

        assert use.judge(cloud, story, before, False) == []

        use.successor(cloud, story)
        assert use.judge(cloud, story, before, True) == []
