"""Every Task state of the genai-release workflow failing, and stopped as the execution enters
it (and stopped while it bakes between traffic steps): each ends in a known state, and the next
version released with the fault gone takes all of live (fault_suite_genai.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fault_suite import FAULT_ERROR, task_states
from fault_suite_genai import (
    GENAI_SCENARIOS,
    GENAI_WAITS,
    RELEASE,
    genai_known_state,
    genai_successor,
    releases,
)

from petclinic_local import genai
from petclinic_local.cloud import LocalCloud

# One cloud per worker (a release's Lambda versions are slow to set up afresh); each case starts
# as the cloud does, below.
pytestmark = pytest.mark.xdist_group("genai-faults")
CASES = [
    *[pytest.param(state, "fails", id=f"{state}-fails") for state in GENAI_SCENARIOS],
    *[pytest.param(state, "stopped on entry", id=f"{state}-stopped") for state in GENAI_SCENARIOS],
    *[pytest.param(state, "stopped while waiting", id=f"{state}-stopped-waiting") for state in GENAI_WAITS],
]


def test_every_task_state_of_the_genai_release_workflow_has_a_scenario() -> None:
    assert set(task_states("genai-release.asl.json")) == set(GENAI_SCENARIOS)


@pytest.fixture(scope="module")
def module_cloud() -> Iterator[LocalCloud]:
    """Bakes of 60 simulated seconds (0.6 s): long enough to stop a release while it bakes."""
    with LocalCloud(time_scale=0.01, parameters={"GenAiBakeSeconds": "60"}) as local:
        yield local


@pytest.fixture
def cloud(module_cloud: LocalCloud) -> LocalCloud:
    """Live on version 1 without weights, no faults, no lease, no alarm, no release before
    (published versions stay)."""
    local = module_cloud
    local.wait_until_quiet()
    local.faults.clear()
    local.bedrock.clear()
    local.client("lambda").update_alias(
        FunctionName=genai.function_name(local), Name="live", FunctionVersion="1", RoutingConfig={}
    )
    dynamodb = local.client("dynamodb")
    dynamodb.delete_item(TableName=local.outputs["LeasesTableName"], Key={"service": {"S": "genai-release"}})
    for row in genai.ledger(local):
        dynamodb.delete_item(
            TableName=local.outputs["LedgerTableName"],
            Key={"service": {"S": "genai"}, "startedAt": {"S": row["startedAt"]}},
        )
    cloudwatch = local.client("cloudwatch")
    alarms = cloudwatch.describe_alarms(AlarmNamePrefix="petclinic-ops-dev-genai-v")["MetricAlarms"]
    if alarms:
        cloudwatch.delete_alarms(AlarmNames=[a["AlarmName"] for a in alarms])
    return local


@pytest.mark.fault_injection
@pytest.mark.parametrize(("state", "fault"), CASES)
def test_a_fault_in_the_genai_release_workflow_ends_in_a_known_state(
    cloud: LocalCloud, state: str, fault: str
) -> None:
    earlier = releases(cloud)  # the module's cloud ran other cases' releases
    if fault == "fails":
        injected = cloud.faults.fail(RELEASE, state, error=FAULT_ERROR)
        GENAI_SCENARIOS[state](cloud)
    elif fault == "stopped on entry":
        injected = cloud.faults.stop_on_entry(RELEASE, state)
        GENAI_SCENARIOS[state](cloud)
    else:
        injected = None
        GENAI_WAITS[state](cloud)
    if injected is not None:
        assert injected.fired, f"the scenario never reached {state}"

    assert genai_known_state(cloud, earlier, strict=False) == []

    version = genai_successor(cloud)
    assert genai_known_state(cloud, earlier, strict=True, successor=version) == []
