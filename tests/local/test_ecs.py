"""moto_compat.ecs: UpdateService starts a new deployment."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from moto_gaps import (
    FakeHooks,
    client,
    local_aws,
)
from test_ecs_strategies import CANARY, _configuration, _deploy, _hook, _service, _with_hook
from test_ecs_strategies import _Hooks as StrategyHooks

from petclinic_local.cloud import ACCOUNT, REGION
from petclinic_local.simulators.ecs import RolloutSimulator


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


# ---------------------------------------------------------------- simulators.ecs: tasks start as on ECS

REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"


class _SimulatedHooks(FakeHooks):
    """The gaps' hooks with the local cloud's rollout simulator behind them (no time scale wait)."""

    def __init__(self) -> None:
        super().__init__(time_scale=0.0)
        self.simulator = RolloutSimulator(
            account=ACCOUNT, region=REGION, rollout_seconds=0.0, time_scale=0.0, scale_seconds=0.0
        )

    def deployment_started(self, service: Any, deployment: dict[str, Any], previous: Any) -> None:
        super().deployment_started(service, deployment, previous)
        self.simulator.deployment_started(service, deployment, previous)

    def desired_count_changed(self, service: Any) -> None:
        super().desired_count_changed(service)
        self.simulator.desired_count_changed(service)

    def settle(self) -> None:
        deadline = time.monotonic() + 10
        while not self.simulator.idle() and time.monotonic() < deadline:
            time.sleep(0.01)


def _push(repository: str, tag: str) -> str:
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 1,
            "digest": "sha256:1",
        },
        "layers": [],
    }
    image = client("ecr").put_image(
        repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag
    )
    return str(image["image"]["imageId"]["imageDigest"])


def _ecr_service(image: str, *, secrets: list[dict[str, str]] | None = None, desired: int = 2) -> Any:
    """A service on revision 1 (a public image, running), ready to move to revision 2 (``image``)."""
    ecs = client("ecs")
    ecs.create_cluster(clusterName="c")
    for revision in ("public.ecr.aws/docker/library/busybox:1", image):
        container: dict[str, Any] = {"name": "app", "image": revision, "memory": 128}
        if secrets and revision == image:
            container["secrets"] = secrets
        ecs.register_task_definition(family="app", containerDefinitions=[container])
    ecs.create_service(cluster="c", serviceName="app", taskDefinition="app:1", desiredCount=desired)
    return ecs


def _rolled_out(hooks: _SimulatedHooks, ecs: Any) -> tuple[str, dict[str, Any]]:
    ecs.update_service(cluster="c", service="app", taskDefinition="app:2")
    hooks.settle()
    outcome = next(h for h in hooks.simulator.history if h["deploymentId"] == hooks.deployments[0][1]["id"])
    return str(outcome["outcome"]), outcome


def test_simulator_starts_no_task_whose_image_is_not_in_ecr() -> None:
    hooks = _SimulatedHooks()
    with local_aws(hooks=hooks):
        client("ecr").create_repository(repositoryName="petclinic-dev/app")
        ecs = _ecr_service(f"{REGISTRY}/petclinic-dev/app:1.0.0")
        outcome, detail = _rolled_out(hooks, ecs)
        hooks.simulator.close()
    assert outcome == "FAILED"
    assert detail["stoppedReason"].startswith("CannotPullContainerError")
    assert f"{REGISTRY}/petclinic-dev/app:1.0.0: not found" in detail["stoppedReason"]


@pytest.mark.parametrize("reference", ["tag", "digest"])
def test_simulator_starts_a_task_whose_image_is_in_ecr(reference: str) -> None:
    hooks = _SimulatedHooks()
    with local_aws(hooks=hooks):
        client("ecr").create_repository(repositoryName="petclinic-dev/app")
        digest = _push("petclinic-dev/app", "1.0.0")
        image = f"{REGISTRY}/petclinic-dev/app" + (":1.0.0" if reference == "tag" else f"@{digest}")
        ecs = _ecr_service(image)
        outcome, _ = _rolled_out(hooks, ecs)
        hooks.simulator.close()
    assert outcome == "COMPLETED"


def test_simulator_starts_no_task_reading_a_secret_that_does_not_exist() -> None:
    missing = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:petclinic/dev/aurora/app-AbCdEf"
    hooks = _SimulatedHooks()
    with local_aws(hooks=hooks):
        ecs = _ecr_service(
            "public.ecr.aws/docker/library/busybox:2",
            secrets=[{"name": "SPRING_DATASOURCE_USERNAME", "valueFrom": f"{missing}:username::"}],
        )
        outcome, detail = _rolled_out(hooks, ecs)
        hooks.simulator.close()
    assert outcome == "FAILED"
    assert "ResourceInitializationError" in detail["stoppedReason"]
    assert missing in detail["stoppedReason"]


def test_simulator_starts_no_task_reading_a_json_key_the_secret_lacks() -> None:
    hooks = _SimulatedHooks()
    with local_aws(hooks=hooks):
        arn = client("secretsmanager").create_secret(Name="s", SecretString='{"password": "x"}')["ARN"]
        ecs = _ecr_service(
            "public.ecr.aws/docker/library/busybox:2",
            secrets=[{"name": "USER", "valueFrom": f"{arn}:username::"}],
        )
        failed, detail = _rolled_out(hooks, ecs)
        client("secretsmanager").put_secret_value(
            SecretId=arn, SecretString='{"username": "u", "password": "x"}'
        )
        ecs.update_service(cluster="c", service="app", forceNewDeployment=True)
        hooks.settle()
        retried = hooks.simulator.history[-1]["outcome"]
        hooks.simulator.close()
    assert failed == "FAILED"
    assert "did not contain json key username" in detail["stoppedReason"]
    assert retried == "COMPLETED"


def test_simulator_completes_a_deployment_of_no_tasks_without_its_image() -> None:
    """A service created at 0 tasks (the first create, before an image exists) starts nothing."""
    hooks = _SimulatedHooks()
    with local_aws(hooks=hooks):
        client("ecr").create_repository(repositoryName="petclinic-dev/app")
        ecs = _ecr_service(f"{REGISTRY}/petclinic-dev/app:1.0.0", desired=0)
        outcome, _ = _rolled_out(hooks, ecs)
        hooks.simulator.close()
    assert outcome == "COMPLETED"


def test_simulator_scaling_up_without_the_image_is_impaired_not_steady() -> None:
    hooks = _SimulatedHooks()
    with local_aws(hooks=hooks):
        client("ecr").create_repository(repositoryName="petclinic-dev/app")
        ecs = _ecr_service(f"{REGISTRY}/petclinic-dev/app:1.0.0", desired=0)
        _rolled_out(hooks, ecs)  # revision 2 at 0 tasks: COMPLETED
        ecs.update_service(cluster="c", service="app", desiredCount=2)
        hooks.settle()
        impaired = _describe_service(ecs)
        _push("petclinic-dev/app", "1.0.0")
        ecs.update_service(cluster="c", service="app", desiredCount=3)
        hooks.settle()
        steady = _describe_service(ecs)
        hooks.simulator.close()
    assert (impaired["desiredCount"], impaired["runningCount"]) == (2, 0)
    assert any(
        h.get("desiredCount") == 2 and "CannotPullContainerError" in h["stoppedReason"]
        for h in hooks.simulator.history
    )
    assert (steady["desiredCount"], steady["runningCount"]) == (3, 3)


def _messages(ecs: Any) -> list[str]:
    """The service's events as DescribeServices returns them (newest first), oldest first."""
    return [event["message"] for event in reversed(_describe_service(ecs)["events"])]


def test_simulator_writes_the_service_events_ecs_writes() -> None:
    """Started tasks, a completed deployment and the steady state; then a deployment whose tasks
    cannot start: why they stopped, and the circuit breaker's failure."""
    hooks = _SimulatedHooks()
    with local_aws(hooks=hooks):
        client("ecr").create_repository(repositoryName="petclinic-dev/app")
        _push("petclinic-dev/app", "1.0.0")
        ecs = _ecr_service(f"{REGISTRY}/petclinic-dev/app:1.0.0")
        ecs.register_task_definition(
            family="app",
            containerDefinitions=[
                {"name": "app", "image": f"{REGISTRY}/petclinic-dev/app:9.9.9", "memory": 128}
            ],
        )
        _rolled_out(hooks, ecs)
        good = _messages(ecs)
        ecs.update_service(cluster="c", service="app", taskDefinition="app:3")
        hooks.settle()
        messages = _messages(ecs)
        described = _describe_service(ecs)["events"]
        hooks.simulator.close()
    deployment = hooks.deployments[0][1]["id"]
    assert [m.split(": (task", 1)[0] for m in good] == [
        "(service app) has started 2 tasks",
        f"(service app) (deployment {deployment}) deployment completed.",
        "(service app) has reached a steady state.",
    ]
    failed = messages[len(good) :]
    assert failed[1].startswith("(service app) has stopped 2 running tasks: (task ")
    assert "Stopped reason: CannotPullContainerError" in failed[1]
    assert failed[2].endswith("deployment failed: tasks failed to start.")
    assert len({event["id"] for event in described}) == len(described)
    assert described[0]["createdAt"] >= described[-1]["createdAt"]


def test_simulator_says_a_stalled_rollout_fails_health_checks() -> None:
    hooks = _SimulatedHooks()
    with local_aws(hooks=hooks):
        client("ecr").create_repository(repositoryName="petclinic-dev/app")
        _push("petclinic-dev/app", "1.1.0-stall")
        ecs = _ecr_service(f"{REGISTRY}/petclinic-dev/app:1.1.0-stall")
        outcome, _ = _rolled_out(hooks, ecs)
        messages = _messages(ecs)
        hooks.simulator.close()
    assert outcome == "STALLED"
    assert messages[-1].endswith("failed container health checks.")
    assert not any("steady state" in m for m in messages)


# ---------------------------------------------------------------- ecs-deployment-strategies

_ELB = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}"
_CANARY = {
    "strategy": "CANARY",
    "bakeTimeInMinutes": 5,
    "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 10},
    "lifecycleHooks": [
        {
            "hookTargetArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:judge",
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/ecs-hooks",
            "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"],
        }
    ],
    "alarms": {"alarmNames": ["app-5xx"], "enable": True, "rollback": True},
}


def _balancers(**advanced: str) -> list[dict[str, Any]]:
    configuration = {
        "alternateTargetGroupArn": f"{_ELB}:targetgroup/app-green/2",
        "productionListenerRule": f"{_ELB}:listener-rule/app/petclinic/1/2/3",
        "testListenerRule": f"{_ELB}:listener-rule/app/petclinic/1/2/4",
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/ecs-infrastructure",
        **advanced,
    }
    return [
        {
            "targetGroupArn": f"{_ELB}:targetgroup/app-blue/1",
            "containerName": "app",
            "containerPort": 8080,
            "advancedConfiguration": {k: v for k, v in configuration.items() if v},
        }
    ]


def _create_strategy_service(ecs: Any, configuration: dict[str, Any], balancers: Any) -> dict[str, Any]:
    return dict(
        ecs.create_service(
            cluster="c",
            serviceName="app",
            taskDefinition="app:1",
            desiredCount=1,
            loadBalancers=balancers,
            deploymentConfiguration=configuration,
        )["service"]
    )


def _cluster_with_revision() -> Any:
    ecs = client("ecs")
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(
        family="app", containerDefinitions=[{"name": "app", "image": "app:1", "memory": 128}]
    )
    return ecs


def test_needed_ecs_deployment_strategies() -> None:
    """If this fails, moto fixed ecs-deployment-strategies: delete the workaround (CreateService
    keeps deploymentConfiguration and validates the strategies)."""
    with local_aws(skip={"ecs-deployment-strategies"}):
        ecs = _cluster_with_revision()
        created = _create_strategy_service(ecs, _CANARY, _balancers())
        described = _describe_service(ecs)
        invalid = {**_CANARY, "canaryConfiguration": {"canaryPercent": 0.05}}
        ecs.update_service(cluster="c", service="app", deploymentConfiguration=invalid)
    assert "deploymentConfiguration" not in created
    assert "deploymentConfiguration" not in described
    assert described["loadBalancers"] == _balancers()  # advancedConfiguration is kept


def test_closed_ecs_deployment_strategies() -> None:
    with local_aws():
        ecs = _cluster_with_revision()
        created = _create_strategy_service(ecs, _CANARY, _balancers())
        described = _describe_service(ecs)
        linear = {
            "strategy": "LINEAR",
            "linearConfiguration": {"stepPercent": 20.0, "stepBakeTimeInMinutes": 3},
        }
        ecs.update_service(cluster="c", service="app", deploymentConfiguration=linear)
        updated = _describe_service(ecs)
    assert created["deploymentConfiguration"] == _CANARY
    assert described["deploymentConfiguration"] == _CANARY
    assert described["loadBalancers"] == _balancers()
    assert updated["deploymentConfiguration"] == linear


@pytest.mark.parametrize(
    ("configuration", "balancers", "message"),
    [
        ({"strategy": "FAST"}, None, "Invalid deployment strategy FAST"),
        (
            {"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 0.05}},
            "ok",
            "canaryPercent must be between 0.1 and 100.0",
        ),
        (
            {"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.05}},
            "ok",
            "canaryPercent must be a multiple of 0.1",
        ),
        (
            {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 2.9}},
            "ok",
            "stepPercent must be between 3.0 and 100.0",
        ),
        (
            {
                "strategy": "LINEAR",
                "linearConfiguration": {"stepPercent": 10.0, "stepBakeTimeInMinutes": 1441},
            },
            "ok",
            "stepBakeTimeInMinutes must be between 0 and 1440",
        ),
        (
            {"strategy": "BLUE_GREEN", "canaryConfiguration": {"canaryPercent": 10.0}},
            "ok",
            "canaryConfiguration is only valid when the deployment strategy is CANARY",
        ),
        ({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": -1}, "ok", "bakeTimeInMinutes must be between"),
        (
            {
                "strategy": "BLUE_GREEN",
                "lifecycleHooks": [{"roleArn": "r", "lifecycleStages": ["POST_SCALE_UP"]}],
            },
            "ok",
            "hookTargetArn is required",
        ),
        (
            {
                "strategy": "BLUE_GREEN",
                "lifecycleHooks": [
                    {"hookTargetArn": "h", "roleArn": "r", "lifecycleStages": ["AFTER_LUNCH"]}
                ],
            },
            "ok",
            "Invalid lifecycle stage AFTER_LUNCH",
        ),
        ({"strategy": "CANARY"}, None, "requires a load balancer with advancedConfiguration"),
        (
            {"strategy": "LINEAR"},
            "no alternate",
            "advancedConfiguration.alternateTargetGroupArn is required for the LINEAR deployment strategy",
        ),
    ],
)
def test_closed_ecs_deployment_strategies_validated(
    configuration: dict[str, Any], balancers: str | None, message: str
) -> None:
    from botocore.exceptions import ClientError  # noqa: PLC0415

    chosen = {None: [], "ok": _balancers(), "no alternate": _balancers(alternateTargetGroupArn="")}[balancers]
    with local_aws():
        ecs = _cluster_with_revision()
        with pytest.raises(ClientError) as created:
            _create_strategy_service(ecs, configuration, chosen)
        _create_strategy_service(ecs, {"strategy": "ROLLING"}, chosen)
        with pytest.raises(ClientError) as updated:
            ecs.update_service(cluster="c", service="app", deploymentConfiguration=configuration)
        kept = _describe_service(ecs)["deploymentConfiguration"]
    for error in (created.value, updated.value):
        assert error.response["Error"]["Code"] == "InvalidParameterException"
        assert message in error.response["Error"]["Message"]
    assert kept == {"strategy": "ROLLING"}


# ---------------------------------------------------------------- ecs-service-deployments


def test_needed_ecs_service_deployments() -> None:
    """If this fails, moto fixed ecs-service-deployments: delete the workaround (moto_compat.ecs
    _ecs_service_deployments) and read moto's ListServiceDeployments."""
    with local_aws(skip={"ecs-service-deployments"}):
        ecs = _service(_configuration("CANARY", **CANARY), "1.1.0")
        with pytest.raises(
            NotImplementedError, match=r"list_service_deployments action has not been implemented"
        ):
            ecs.list_service_deployments(cluster="c", service="app")


def test_closed_ecs_service_deployments_show_the_stage_and_traffic_split_while_it_runs() -> None:
    """Mid-canary (a hook holding the canary step with IN_PROGRESS): the deployment is IN_PROGRESS
    at PRODUCTION_TRAFFIC_SHIFT with 10 % of production on the new revision and 90 % on the old;
    once it ends, SUCCESSFUL. A rolled-back one is ROLLBACK_SUCCESSFUL with the hook's reason."""
    hooks = StrategyHooks()
    seen: list[dict[str, Any]] = []
    with local_aws(hooks=hooks):
        ecs = _service(_with_hook("CANARY", ["PRODUCTION_TRAFFIC_SHIFT"], **CANARY), "1.1.0")

        def answer(payload: dict[str, Any]) -> dict[str, Any]:
            weights = payload["executionDetails"]["productionTrafficWeights"]
            if 100.0 in weights.values():
                return {"hookStatus": "SUCCEEDED"}
            [brief] = ecs.list_service_deployments(cluster="c", service="app", status=["IN_PROGRESS"])[
                "serviceDeployments"
            ]
            seen.append(
                ecs.describe_service_deployments(serviceDeploymentArns=[brief["serviceDeploymentArn"]])[
                    "serviceDeployments"
                ][0]
            )
            return {"hookStatus": "SUCCEEDED"}

        _hook(hooks, answer)
        _deploy(hooks, ecs)
        [done] = ecs.list_service_deployments(cluster="c", service="app")["serviceDeployments"]
        missing = ecs.describe_service_deployments(serviceDeploymentArns=[done["serviceDeploymentArn"] + "0"])
        hooks.simulator.close()
    [running] = seen
    assert (running["status"], running["lifecycleStage"]) == ("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT")
    assert running["targetServiceRevision"]["requestedProductionTrafficWeight"] == 10.0
    assert running["targetServiceRevision"]["requestedTestTrafficWeight"] == 100.0
    [source] = running["sourceServiceRevisions"]
    assert source["requestedProductionTrafficWeight"] == 90.0
    assert running["deploymentConfiguration"]["strategy"] == "CANARY"
    assert done["status"] == "SUCCESSFUL"
    assert "finishedAt" in done
    assert missing["failures"][0]["reason"] == "MISSING"


def test_closed_ecs_service_deployments_name_the_rollback() -> None:
    hooks = StrategyHooks()
    with local_aws(hooks=hooks):
        ecs = _service(_with_hook("CANARY", ["PRODUCTION_TRAFFIC_SHIFT"], **CANARY), "1.1.0")
        _hook(hooks, lambda payload: {"hookStatus": "FAILED", "reason": "5xx 5.0% vs baseline 0.1%"})
        _deploy(hooks, ecs)
        [brief] = ecs.list_service_deployments(cluster="c", service="app", status=["ROLLBACK_SUCCESSFUL"])[
            "serviceDeployments"
        ]
        [failed] = ecs.describe_service_deployments(serviceDeploymentArns=[brief["serviceDeploymentArn"]])[
            "serviceDeployments"
        ]
        none = ecs.list_service_deployments(cluster="c", service="app", status=["IN_PROGRESS"])
        hooks.simulator.close()
    assert "5xx 5.0% vs baseline 0.1%" in failed["statusReason"]
    assert failed["rollback"]["reason"] == "5xx 5.0% vs baseline 0.1%"
    assert failed["rollback"]["serviceRevisionArn"] == failed["sourceServiceRevisions"][0]["arn"]
    assert none["serviceDeployments"] == []
