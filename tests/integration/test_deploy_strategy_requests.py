"""Issue 21, the deploy workflow's part: a request may choose the deployment strategy, a restart
always deploys ROLLING, and the ledger and the SNS message say by which strategy a deployment ran
and, when it failed, which gate decided (ECS's rolloutStateReason)."""

from __future__ import annotations

import json
from typing import Any

from deploy_helpers import LOAD_BALANCER, behind_an_alb, deploy_executions
from moto.sns.models import sns_backends

from petclinic_local import runner
from petclinic_local.cloud import ACCOUNT, REGION, LocalCloud


def _configuration(cloud: LocalCloud, service: str) -> dict[str, Any]:
    [described] = cloud.client("ecs").describe_services(cluster=cloud.seed_spec.cluster, services=[service])[
        "services"
    ]
    configuration: dict[str, Any] = described["deploymentConfiguration"]
    return configuration


def _messages(cloud: LocalCloud) -> list[dict[str, Any]]:
    topic = sns_backends[ACCOUNT][REGION].topics[cloud.outputs["DeploymentTopicArn"]]
    return [json.loads(message) for (_, message, _, _, _) in topic.sent_notifications]


def test_a_request_for_a_canary_on_a_rolling_service_deploys_by_a_canary(cloud: LocalCloud) -> None:
    behind_an_alb(
        cloud,
        "customers-service",
        strategy="ROLLING",
        maximumPercent=200,
        minimumHealthyPercent=100,
        bakeTimeInMinutes=1,
    )
    cloud.push_image("customers-service", "1.1.0", send=False)
    cloud.start_deployment("customers-service", "1.1.0", strategy="CANARY")
    cloud.wait_until_quiet()

    [execution] = deploy_executions(cloud)
    assert execution["status"] == "SUCCEEDED", execution
    [record] = [h for h in cloud.simulator.history if h.get("strategy")]
    assert (record["strategy"], record["outcome"]) == ("CANARY", "COMPLETED")
    # The request's strategy was for its deployment: the service's own configuration is back.
    configuration = _configuration(cloud, "customers-service")
    assert configuration["strategy"] == "ROLLING"
    assert (configuration["maximumPercent"], configuration["bakeTimeInMinutes"]) == (200, 1)
    [row] = cloud.deployments()
    assert (row["result"], row["strategy"], row["strategyRestored"]) == ("SUCCEEDED", "CANARY", True)
    assert "gate" not in row
    [message] = _messages(cloud)
    assert (message["strategy"], message["gate"], message["strategyRestored"]) == ("CANARY", None, True)
    # The next request without a strategy deploys by the service's own.
    cloud.push_image("customers-service", "1.2.0")
    cloud.wait_until_quiet()
    assert len([h for h in cloud.simulator.history if h.get("strategy")]) == 1
    assert cloud.deployments()[-1]["strategy"] == "ROLLING"


def test_a_rolling_request_drops_the_canary_configuration_ecs_takes_only_with_a_canary(
    cloud: LocalCloud,
) -> None:
    behind_an_alb(
        cloud,
        "vets-service",
        strategy="CANARY",
        canaryConfiguration={"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 3},
    )
    cloud.push_image("vets-service", "1.1.0", send=False)
    cloud.start_deployment("vets-service", "1.1.0", strategy="ROLLING")
    cloud.wait_until_quiet()

    [execution] = deploy_executions(cloud)
    assert execution["status"] == "SUCCEEDED", execution
    assert not [h for h in cloud.simulator.history if h.get("strategy")]  # no progressive deployment
    # Put back afterwards, the canary configuration included.
    configuration = _configuration(cloud, "vets-service")
    assert configuration["strategy"] == "CANARY"
    assert configuration["canaryConfiguration"]["canaryPercent"] == 10.0
    [row] = cloud.deployments()
    assert (row["strategy"], row["strategyRestored"]) == ("ROLLING", True)


def test_without_a_strategy_the_service_deploys_by_its_own_and_records_it(cloud: LocalCloud) -> None:
    cloud.push_image("admin-server", "2.0.0")
    cloud.wait_until_quiet()
    [row] = cloud.deployments()
    assert (row["result"], row["strategy"]) == ("SUCCEEDED", "ROLLING")
    assert "strategyRestored" not in row  # nothing to put back


def test_a_restart_of_a_canary_service_deploys_rolling(cloud: LocalCloud) -> None:
    """A rotation restart never starts a canary of an unchanged image."""
    behind_an_alb(
        cloud,
        "visits-service",
        strategy="CANARY",
        canaryConfiguration={"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 3},
    )
    before = cloud.services()["visits-service"]
    runner.start(
        cloud,
        "DeployStateMachine",
        {"service": "visits-service", "restart": True, "source": "rotation", "secretVersion": "v-2"},
        name="restart-visits-service",
    )
    cloud.wait_until_quiet()

    [execution] = deploy_executions(cloud)
    assert execution["status"] == "SUCCEEDED", execution
    restarts = [h for h in cloud.simulator.history if h["service"] == "visits-service"]
    assert restarts, cloud.simulator.history
    assert not [h for h in restarts if h.get("strategy")]  # ROLLING: no canary stages
    assert cloud.services()["visits-service"]["taskDefinition"] == before["taskDefinition"]
    # The service is CANARY again for the next image.
    assert _configuration(cloud, "visits-service")["strategy"] == "CANARY"
    [row] = cloud.deployments()
    assert (row["kind"], row["result"], row["strategy"]) == ("restart", "SUCCEEDED", "ROLLING")
    assert row["strategyRestored"] is True


def test_an_unknown_strategy_is_rejected_and_changes_nothing(cloud: LocalCloud) -> None:
    cloud.push_image("customers-service", "1.1.0", send=False)
    before = cloud.services()
    configuration = _configuration(cloud, "customers-service")
    cloud.start_deployment("customers-service", "1.1.0", strategy="canary-please")
    cloud.wait_until_quiet()

    [execution] = deploy_executions(cloud)
    assert (execution["status"], execution["error"]) == ("FAILED", "InvalidDeployRequest")
    assert "strategy:" in execution["cause"]
    assert "'ROLLING', 'CANARY', 'LINEAR' or 'BLUE_GREEN'" in execution["cause"]
    assert cloud.services() == before
    assert _configuration(cloud, "customers-service") == configuration
    assert cloud.deployments() == []
    assert _messages(cloud) == []


def test_a_canary_an_alarm_rolled_back_records_the_alarm_as_its_gate(cloud: LocalCloud) -> None:
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
    behind_an_alb(
        cloud,
        "vets-service",
        strategy="CANARY",
        canaryConfiguration={"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 3},
        bakeTimeInMinutes=1,
        alarms={"alarmNames": ["vets-canary-5xx"], "enable": True, "rollback": True},
    )
    cloud.push_image("vets-service", "1.1.0-errors")
    cloud.wait_until_quiet()

    [execution] = deploy_executions(cloud)
    assert (execution["status"], execution["error"]) == ("FAILED", "DeploymentFailed"), execution
    reason = execution["cause"]["reason"]
    assert "CloudWatch alarm vets-canary-5xx is in ALARM state" in reason
    assert "circuit breaker" not in reason
    assert "ECS (CloudWatch alarm vets-canary-5xx) already rolled back to" in reason
    gate = execution["cause"]["gate"]
    assert (gate["type"], gate["name"]) == ("alarm", "vets-canary-5xx")
    [row] = cloud.deployments()
    assert (row["result"], row["rolledBack"], row["strategy"]) == ("FAILED", True, "CANARY")
    assert (row["gate"]["type"], row["gate"]["name"]) == ("alarm", "vets-canary-5xx")
    assert "is in ALARM state" in row["gate"]["reason"]
    [message] = _messages(cloud)
    assert (message["strategy"], message["gate"]["type"], message["gate"]["name"]) == (
        "CANARY",
        "alarm",
        "vets-canary-5xx",
    )


def test_a_rolling_deployment_the_circuit_breaker_failed_names_the_circuit_breaker(cloud: LocalCloud) -> None:
    cloud.push_image("vets-service", "1.1.0-broken")
    cloud.wait_until_quiet()
    [row] = cloud.deployments()
    assert (row["result"], row["strategy"], row["gate"]["type"]) == ("FAILED", "ROLLING", "circuit breaker")
