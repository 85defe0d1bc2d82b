"""The deploy workflow, unchanged, on a service that ECS deploys by a canary (the local cloud's ECS
simulator, simulators/ecs.py): it follows the deployment on ECS's events to its end."""

from __future__ import annotations

import time
from typing import Any

from deploy_helpers import LOAD_BALANCER, behind_an_alb, deploy_executions
from rich.console import Console

from petclinic_local.cli import aws, status
from petclinic_local.cli.aws import Target
from petclinic_local.cloud import LocalCloud


def _canary(cloud: LocalCloud, service: str, **fields: Any) -> None:
    """The seeded service behind an ALB with a second target group, deployed by a canary."""
    canary = {"canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 3}}
    behind_an_alb(cloud, service, **{"strategy": "CANARY", **canary, "bakeTimeInMinutes": 1, **fields})


def test_a_canary_of_a_good_image_is_followed_to_its_end(cloud: LocalCloud) -> None:
    _canary(cloud, "customers-service")
    cloud.push_image("customers-service", "1.1.0")
    cloud.wait_until_quiet()

    [execution] = deploy_executions(cloud)
    assert execution["status"] == "SUCCEEDED", execution
    record = cloud.simulator.history[-1]
    assert (record["strategy"], record["outcome"]) == ("CANARY", "COMPLETED")
    assert [(s["stage"], s["productionPercent"]) for s in record["stages"]][2:4] == [
        ("PRODUCTION_TRAFFIC_SHIFT", 10.0),
        ("PRODUCTION_TRAFFIC_SHIFT", 100.0),
    ]
    assert cloud.services()["customers-service"]["deployment"]["rolloutState"] == "COMPLETED"


def test_a_canary_rolled_back_by_an_alarm_fails_the_workflow(cloud: LocalCloud) -> None:
    before = cloud.services()["vets-service"]
    cloud.client("cloudwatch").put_metric_alarm(
        AlarmName="vets-canary-5xx",
        Namespace="AWS/ApplicationELB",
        MetricName="HTTPCode_Target_5XX_Count",
        Dimensions=[
            {"Name": "TargetGroup", "Value": "targetgroup/vets-service-green/fedcba9876543210"},
            {"Name": "LoadBalancer", "Value": LOAD_BALANCER},
        ],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )
    _canary(
        cloud, "vets-service", alarms={"alarmNames": ["vets-canary-5xx"], "enable": True, "rollback": True}
    )
    cloud.push_image("vets-service", "1.1.0-errors")
    cloud.wait_until_quiet()

    [execution] = deploy_executions(cloud)
    assert (execution["status"], execution["error"]) == ("FAILED", "DeploymentFailed"), execution
    record = next(h for h in cloud.simulator.history if h.get("strategy"))
    assert (record["outcome"], record["gate"]["name"]) == ("FAILED", "vets-canary-5xx")
    after = cloud.services()["vets-service"]
    assert after["taskDefinition"] == before["taskDefinition"]
    assert after["deployment"]["rolloutState"] == "COMPLETED"
    # ECS's rolloutStateReason names the gate; the workflow passes it on (its wording of who rolled
    # back, "the ECS deployment circuit breaker", is the workflow's, issue 21's other part).
    assert execution["cause"]["rolledBack"] is True
    assert "CloudWatch alarm vets-canary-5xx is in ALARM state" in execution["cause"]["reason"]


def _rollout(cloud: LocalCloud) -> tuple[dict[str, Any], str]:
    """customers-service's rollout as `petclinic-ops status` reads it, and its table as text."""
    plane = aws.control_plane(Target(stack=cloud.stack_name), session=cloud.session)
    rows = status.describe(plane, ["customers-service"])
    console = Console(record=True, width=250)
    console.print(status.status_table(rows, "status"))
    return rows[0]["rollout"], " ".join(console.export_text().split())


def test_status_shows_a_canarys_stage_and_traffic_split_while_it_runs(cloud: LocalCloud) -> None:
    """`petclinic-ops status` during the canary's bake: IN_PROGRESS, CANARY, at
    PRODUCTION_TRAFFIC_SHIFT with 10 % of production on the new revision (ECS's
    ListServiceDeployments and DescribeServiceDeployments), and the table says so."""
    bake = {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 10}
    _canary(cloud, "customers-service", canaryConfiguration=bake)
    cloud.push_image("customers-service", "1.1.0")
    seen: dict[str, Any] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and seen.get("productionPercent") != 10.0:
        seen, text = _rollout(cloud)
        time.sleep(0.05)
    assert (seen["state"], seen["strategy"], seen["stage"]) == (
        "IN_PROGRESS",
        "CANARY",
        "PRODUCTION_TRAFFIC_SHIFT",
    )
    assert (seen["productionPercent"], seen["testPercent"]) == (10.0, 100.0)
    assert "IN_PROGRESS CANARY PRODUCTION_TRAFFIC_SHIFT 10% (test 100%)" in text
    cloud.wait_until_quiet()
    done, text = _rollout(cloud)
    assert (done["state"], done["strategy"]) == ("COMPLETED", "CANARY")
    assert "stage" not in done
    assert "COMPLETED CANARY" in text
