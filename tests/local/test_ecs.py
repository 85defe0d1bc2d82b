"""moto_compat.ecs: UpdateService starts a new deployment."""

from __future__ import annotations

from typing import Any

from moto_gaps import (
    client,
    local_aws,
)


def _service_with_two_revisions() -> tuple[Any, str, str]:
    ecs = client("ecs")
    ecs.create_cluster(clusterName="c")
    arns = [
        ecs.register_task_definition(
            family="app", containerDefinitions=[{"name": "app", "image": f"app:{n}", "memory": 128}]
        )["taskDefinition"]["taskDefinitionArn"]
        for n in (1, 2)
    ]
    ecs.create_service(cluster="c", serviceName="app", taskDefinition=arns[0], desiredCount=1)
    return ecs, arns[0], arns[1]


def _describe_service(ecs: Any) -> dict[str, Any]:
    return dict(ecs.describe_services(cluster="c", services=["app"])["services"][0])


def test_needed_ecs_deployments() -> None:
    """If this fails, moto fixed ecs-deployments: delete the workaround (UpdateService starts a
    new deployment)."""
    with local_aws(skip={"ecs-deployments"}) as hooks:
        ecs, first, _ = _service_with_two_revisions()
        (created,) = _describe_service(ecs)["deployments"]
        ecs.update_service(cluster="c", service="app", taskDefinition="app:2")
        (updated,) = _describe_service(ecs)["deployments"]
        ecs.update_service(cluster="c", service="app", forceNewDeployment=True)
        (forced,) = _describe_service(ecs)["deployments"]
    assert updated["id"] == created["id"]
    assert updated["taskDefinition"] == first
    assert updated["rolloutState"] == created["rolloutState"]
    assert forced["id"] != created["id"]  # force_new_deployment only renames it
    assert (forced["status"], forced["taskDefinition"]) == ("PRIMARY", first)
    assert hooks.deployments == []


def test_closed_ecs_deployments() -> None:
    with local_aws() as hooks:
        ecs, first, second = _service_with_two_revisions()
        (created,) = _describe_service(ecs)["deployments"]
        ecs.update_service(cluster="c", service="app", taskDefinition="app:2")
        service = _describe_service(ecs)
        ecs.update_service(cluster="c", service="app", forceNewDeployment=True)
        forced = _describe_service(ecs)["deployments"]
    primary, old = service["deployments"]
    assert service["taskDefinition"] == second
    assert (primary["status"], primary["rolloutState"], primary["taskDefinition"]) == (
        "PRIMARY",
        "IN_PROGRESS",
        second,
    )
    assert primary["id"] != created["id"]
    assert (old["id"], old["status"], old["taskDefinition"]) == (created["id"], "ACTIVE", first)
    (_, started, previous), (_, forced_started, _) = hooks.deployments
    assert started["id"] == primary["id"]
    assert previous is not None
    assert previous["id"] == created["id"]
    assert [d["status"] for d in forced] == ["PRIMARY", "ACTIVE", "ACTIVE"]
    assert (forced[0]["id"], forced[0]["taskDefinition"]) == (forced_started["id"], second)


def test_needed_desired_count_alone() -> None:
    """If this fails, moto gives a new desiredCount to the PRIMARY deployment itself: delete that
    part of ecs-deployments (``set_desired_count`` on UpdateService)."""
    with local_aws(skip={"ecs-deployments"}) as hooks:
        ecs, _, _ = _service_with_two_revisions()
        ecs.update_service(cluster="c", service="app", desiredCount=3)
        service = _describe_service(ecs)
    assert service["desiredCount"] == 3
    assert service["deployments"][0]["desiredCount"] == 1
    assert hooks.scaled == []


def test_closed_desired_count_alone() -> None:
    with local_aws() as hooks:
        ecs, _, _ = _service_with_two_revisions()
        (created,) = _describe_service(ecs)["deployments"]
        ecs.update_service(cluster="c", service="app", desiredCount=3)
        service = _describe_service(ecs)
    (primary,) = service["deployments"]  # no new deployment
    assert primary["id"] == created["id"]
    assert (service["desiredCount"], primary["desiredCount"]) == (3, 3)
    assert hooks.scaled == [("app", 3)]
