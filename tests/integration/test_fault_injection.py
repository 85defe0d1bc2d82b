"""Every Task state of the deploy and rotation-rollout workflows, failing, and stopped as the
execution enters it (and, where executions wait, stopped while they wait): each ends in a known
state, and the next request finds and leaves everything clean. The terminal summary prints how
many states x faults were tried and how many ended in a known state (tests/conftest.py)."""

from __future__ import annotations

import pytest
from fault_suite import (
    DEPLOY_SCENARIOS,
    FAULT_ERROR,
    NEEDS_DATABASE,
    ROLLOUT,
    ROTATION_SCENARIOS,
    WAITS,
    known_state,
    rotation_known_state,
    rotation_successor,
    stopped_while_waiting,
    successor,
    task_states,
)

from petclinic_local.cloud import LocalCloud
from petclinic_local.petclinic.database import PetClinicDatabase
from petclinic_local.rotations import credentials_report, rotation_cloud

DEPLOY = "petclinic-ops-dev-deploy"
CASES = [
    *[pytest.param(state, "fails", id=f"{state}-fails") for state in DEPLOY_SCENARIOS],
    *[pytest.param(state, "stopped on entry", id=f"{state}-stopped") for state in DEPLOY_SCENARIOS],
    *[pytest.param(state, "stopped while waiting", id=f"{state}-stopped-waiting") for state in WAITS],
]


def test_every_task_state_of_the_deploy_workflow_has_a_scenario() -> None:
    assert set(task_states("deploy.asl.json")) == set(DEPLOY_SCENARIOS)


@pytest.mark.fault_injection
@pytest.mark.parametrize(("state", "fault"), CASES)
def test_a_fault_in_the_deploy_workflow_ends_in_a_known_state(state: str, fault: str) -> None:
    with LocalCloud(time_scale=0.01, rollout_seconds=60) as cloud:
        if fault == "fails":
            injected = cloud.faults.fail(DEPLOY, state, error=FAULT_ERROR)
            story = DEPLOY_SCENARIOS[state](cloud)
        elif fault == "stopped on entry":
            injected = cloud.faults.stop_on_entry(DEPLOY, state)
            story = DEPLOY_SCENARIOS[state](cloud)
        else:
            injected = None
            story = stopped_while_waiting(WAITS[state])(cloud)
        if injected is not None:
            assert injected.fired, f"the scenario never reached {state}"

        assert known_state(cloud, story, strict=False) == []

        digest = successor(cloud, story)
        assert known_state(cloud, story, strict=True) == []
        assert cloud.services()[story.service]["image"].endswith(digest)


# ------------------------------------------------------------------ the rotation rollout

ROTATION_CASES = [
    pytest.param(state, fault, id=f"{state}-{fault.replace(' ', '-')}", marks=marks)
    for state in ROTATION_SCENARIOS
    for fault in ("fails", "stopped on entry")
    for marks in [[pytest.mark.mysql] if state in NEEDS_DATABASE else []]
]


def test_every_task_state_of_the_rotation_rollout_has_a_scenario() -> None:
    assert set(task_states("rotation-rollout.asl.json")) == set(ROTATION_SCENARIOS)


@pytest.fixture
def rotation_database(request: pytest.FixtureRequest) -> PetClinicDatabase | None:
    """MariaDB for the cases that rotate for real (the operator's path); None for the others."""
    if request.node.get_closest_marker("mysql") is None:
        return None
    database: PetClinicDatabase = request.getfixturevalue("database")
    return database


@pytest.mark.fault_injection
@pytest.mark.parametrize(("state", "fault"), ROTATION_CASES)
def test_a_fault_in_the_rotation_rollout_ends_in_a_known_state(
    state: str, fault: str, rotation_database: PetClinicDatabase | None
) -> None:
    local = (
        rotation_cloud(rotation_database, "alternating")
        if rotation_database
        else LocalCloud(time_scale=0.01, rollout_seconds=60)
    )
    with local as cloud:
        if fault == "fails":
            injected = cloud.faults.fail(ROLLOUT, state, error=FAULT_ERROR)
        else:
            injected = cloud.faults.stop_on_entry(ROLLOUT, state)
        ROTATION_SCENARIOS[state](cloud)
        assert injected.fired, f"the scenario never reached {state}"
        # Quiet for a whole second: an iteration of a rollout stopped on entry to RestartService
        # may still start its deploy execution (the call was under way), on a busy machine well
        # after the rollout's own end; the judge waits for it as an operator would.
        cloud.wait_until_quiet(settle=0.5)
        assert rotation_known_state(cloud, strict=False) == []
        if rotation_database:
            report = credentials_report(cloud, rotation_database)
            assert report["logins"]["AWSCURRENT"], report

        rotation_successor(cloud)
        assert rotation_known_state(cloud, strict=True) == []
