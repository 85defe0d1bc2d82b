"""The deploy workflow when things break after it changed something: a state that fails, an
execution that dies mid-rollout, the ledger or the lease table down. Each ends with the service on
the old or the new revision and steady, one ledger row per deployment with a true result, and the
lease free or held by a live execution (or left, with the deployment's record, to the next one)."""

from __future__ import annotations

import pytest
from deploy_helpers import (
    DEPLOY,
    deploy_executions,
    inflight,
    lease_item,
    parked,
    results,
    running,
    stop,
    wait_for,
)

from petclinic_local.cloud import LocalCloud


def revision(cloud: LocalCloud, service: str) -> str:
    return str(cloud.services()[service]["taskDefinition"]).rsplit(":", 1)[1]


def steady(cloud: LocalCloud, service: str) -> bool:
    deployment = cloud.services()[service]["deployment"]
    in_flight = [
        d
        for d in cloud.client("ecs").describe_services(cluster="petclinic-dev", services=[service])[
            "services"
        ][0]["deployments"]
        if d.get("rolloutState") == "IN_PROGRESS"
    ]
    return deployment["rolloutState"] == "COMPLETED" and not in_flight


def test_inspect_rollout_failing_still_rolls_back_records_and_releases(cloud: LocalCloud) -> None:
    """Before: InspectRollout had a Retry and no Catch; the execution died holding the lease, with
    no ledger row and the service on the failed revision."""
    cloud.faults.fail(DEPLOY, "InspectRollout", error="Ecs.ServerException")
    cloud.push_image("vets-service", "1.1.0-broken")
    cloud.wait_until_quiet()

    assert revision(cloud, "vets-service") == "1"
    assert steady(cloud, "vets-service")
    [row] = cloud.deployments()
    assert (row["result"], row["rolledBack"]) == ("FAILED", True), row["reason"]
    assert "leaseHolder" not in lease_item(cloud, "vets-service")


def test_a_queued_request_starts_from_a_clean_slate(cloud: LocalCloud) -> None:
    """Before: TakeQueuedRequest kept startedAt and the task definitions of the deployment before
    it; a failure of the queued one overwrote the first one's SUCCEEDED ledger row."""
    with cloud.simulator.holding():
        cloud.push_image("customers-service", "1.1.0")
        wait_for(lambda: parked(cloud, "customers-service"), what="the first rollout to park")
        cloud.faults.fail(DEPLOY, "DescribeService", error="Ecs.AccessDeniedException")
        cloud.push_image("customers-service", "1.2.0")
        wait_for(lambda: "pendingRequest" in lease_item(cloud, "customers-service"), what="the queue")
    cloud.wait_until_quiet()

    rows = cloud.deployments()
    assert [(row["tag"], row["result"]) for row in rows] == [("1.1.0", "SUCCEEDED"), ("1.2.0", "FAILED")]
    assert rows[0]["startedAt"] < rows[1]["startedAt"]
    assert rows[1]["taskDefinitionBefore"] is None  # it never read the service
    assert rows[1]["taskDefinitionAfter"] is None
    assert revision(cloud, "customers-service") == "2"
    assert "leaseHolder" not in lease_item(cloud, "customers-service")


def test_a_successor_rolls_a_dead_executions_failed_rollout_back_to_the_revision_before_it(
    cloud: LocalCloud,
) -> None:
    """Before: the successor read the service's running (broken) revision as 'previous' and would
    roll back onto it; the orphaned deployment was never recorded."""
    with cloud.simulator.holding():
        cloud.push_image("visits-service", "1.1.0-broken")
        wait_for(lambda: parked(cloud, "visits-service"), what="the rollout to park")
        [dead] = running(cloud)
        stop(cloud, dead)
    wait_for(lambda: not cloud.busy(), what="the broken rollout to fail")
    assert revision(cloud, "visits-service") == "2"  # the orphan: failed, not rolled back

    successor = cloud.push_image("visits-service", "1.2.0")
    cloud.wait_until_quiet()

    rows = cloud.deployments()
    orphan, deployed = rows
    assert (orphan["tag"], orphan["result"], orphan["rolledBack"]) == ("1.1.0-broken", "FAILED", True)
    assert orphan["adoptedFrom"] == dead
    assert orphan["taskDefinitionBefore"].endswith(":1")
    assert (deployed["tag"], deployed["result"]) == ("1.2.0", "SUCCEEDED")
    assert deployed["taskDefinitionBefore"].endswith(":1"), (
        "the rollback went to the revision before the orphan"
    )
    assert cloud.services()["visits-service"]["image"].endswith(successor["detail"]["image-digest"])
    assert steady(cloud, "visits-service")
    assert cloud.simulator.overlaps == []


def test_a_successor_waits_for_a_dead_executions_rollout_that_is_still_going(cloud: LocalCloud) -> None:
    with cloud.simulator.holding():
        first = cloud.push_image("customers-service", "1.1.0")
        wait_for(lambda: parked(cloud, "customers-service"), what="the rollout to park")
        [dead] = running(cloud)
        stop(cloud, dead)
        cloud.push_image("customers-service", "1.2.0")
        # The successor adopts the orphan's deployment and parks on it (the rollout is held).
        wait_for(lambda: len(running(cloud)) == 1 and parked(cloud, "customers-service"), what="the adoption")
        adopted = inflight(cloud, "customers-service")
        assert adopted is not None
        assert adopted["job"]["tag"] == "1.1.0"
    cloud.wait_until_quiet()

    rows = cloud.deployments()
    assert [(row["tag"], row["result"]) for row in rows] == [("1.1.0", "SUCCEEDED"), ("1.2.0", "SUCCEEDED")]
    assert rows[0]["digest"] == first["detail"]["image-digest"]
    assert rows[0]["adoptedFrom"] == dead
    assert revision(cloud, "customers-service") == "3"
    assert cloud.simulator.overlaps == []


def test_a_restart_taking_over_deploys_the_request_queued_behind_the_dead_holder(cloud: LocalCloud) -> None:
    """Before: the queued push was dropped when a successor took the lease over."""
    with cloud.simulator.holding():
        cloud.push_image("customers-service", "1.1.0")
        wait_for(lambda: parked(cloud, "customers-service"), what="the rollout to park")
        queued = cloud.push_image("customers-service", "1.2.0")
        wait_for(lambda: len(running(cloud)) == 1, what="the second push to queue itself")
        [dead] = running(cloud)
        stop(cloud, dead)
        cloud.client("stepfunctions").start_execution(
            stateMachineArn=cloud.outputs["DeployStateMachineArn"],
            input='{"service": "customers-service", "restart": true, "reason": "test"}',
        )
    cloud.wait_until_quiet()

    assert [(row["tag"], row["result"]) for row in cloud.deployments()] == [
        ("1.1.0", "SUCCEEDED"),
        ("1.2.0", "SUCCEEDED"),
    ]
    assert cloud.services()["customers-service"]["image"].endswith(queued["detail"]["image-digest"])
    assert "leaseHolder" not in lease_item(cloud, "customers-service")


def test_an_execution_that_dies_before_updating_the_service_leaves_it_unchanged(cloud: LocalCloud) -> None:
    cloud.faults.stop_on_entry(DEPLOY, "UpdateService")
    cloud.push_image("admin-server", "2.0.0")
    cloud.wait_until_quiet()
    assert "inflight" in lease_item(cloud, "admin-server")

    cloud.push_image("admin-server", "2.1.0")
    cloud.wait_until_quiet()

    rows = cloud.deployments()
    assert [(row["tag"], row["result"]) for row in rows] == [("2.0.0", "FAILED"), ("2.1.0", "SUCCEEDED")]
    assert "was not changed" in rows[0]["reason"]
    assert rows[1]["taskDefinitionBefore"].endswith(":1")
    assert steady(cloud, "admin-server")


@pytest.mark.parametrize(
    ("state", "error", "unfinished"),
    [
        ("RecordResult", "DynamoDB.InternalServerErrorException", "LedgerUnavailable"),
        ("RollBack", "Ecs.ServerException", "RollbackFailed"),
    ],
)
def test_an_unfinished_deployment_is_finished_and_recorded_by_the_next_request(
    cloud: LocalCloud, state: str, error: str, unfinished: str
) -> None:
    fault = cloud.faults.fail(DEPLOY, state, error=error)
    cloud.push_image("vets-service", "1.1.0-broken")
    cloud.wait_until_quiet()
    [execution] = deploy_executions(cloud)
    assert execution["error"] == unfinished
    assert cloud.deployments() == []
    assert "inflight" in lease_item(cloud, "vets-service")

    cloud.faults.faults.remove(fault)  # the outage is over
    cloud.push_image("vets-service", "1.2.0")
    cloud.wait_until_quiet()

    rows = cloud.deployments()
    assert [(row["tag"], row["result"], row["rolledBack"]) for row in rows] == [
        ("1.1.0-broken", "FAILED", True),
        ("1.2.0", "SUCCEEDED", False),
    ]
    assert rows[1]["taskDefinitionBefore"].endswith(":1")
    assert steady(cloud, "vets-service")
    assert results(cloud) == sorted([unfinished, "SUCCEEDED"])
