"""The lifecycle-hook function (functions/deployment_hook, as template.yaml deploys it, under IAM
enforcement) as the hook of a service that ECS deploys by a canary (the local cloud's ECS
simulator invokes it with ECS's payload): a good image is promoted, an ``*errors*`` image is
rolled back by the hook's analysis, an ``*unhealthy*`` one by its smoke test on the test route."""

from __future__ import annotations

from typing import Any

from deploy_helpers import behind_an_alb, deploy_executions

from petclinic_local.cloud import ACCOUNT, LocalCloud

HOOK = "petclinic-ops-dev-deployment-hook"
STAGES = ["POST_TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"]


def _canary_with_the_hook(cloud: LocalCloud, service: str) -> None:
    """The seeded service behind an ALB with a second target group, deployed by a canary whose
    hook is the deployed DeploymentHookFunction (the origin secret is the seeded services stack's)."""
    hook_arn = cloud.outputs["DeploymentHookFunctionArn"]
    assert hook_arn.endswith(f":function:{HOOK}")
    behind_an_alb(
        cloud,
        service,
        strategy="CANARY",
        canaryConfiguration={"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 3},
        bakeTimeInMinutes=1,
        lifecycleHooks=[
            {
                "hookTargetArn": hook_arn,
                "roleArn": f"arn:aws:iam::{ACCOUNT}:role/ecs-hooks",
                "lifecycleStages": STAGES,
            }
        ],
    )


def _deploy(cloud: LocalCloud, service: str, tag: str) -> dict[str, Any]:
    _canary_with_the_hook(cloud, service)
    cloud.push_image(service, tag)
    cloud.wait_until_quiet()
    record: dict[str, Any] = cloud.simulator.history[-1]
    return record


def _verdicts(record: dict[str, Any]) -> list[tuple[str, str, float]]:
    return [(h["lifecycleStage"], h["hookStatus"], h["productionPercent"]) for h in record["hooks"]]


def test_a_good_image_is_promoted_by_the_hook(cloud: LocalCloud) -> None:
    record = _deploy(cloud, "customers-service", "1.1.0")
    assert (record["strategy"], record["outcome"], record["rolledBack"]) == ("CANARY", "COMPLETED", False)
    assert record["gate"] == {"type": "bake", "name": "bakeTimeInMinutes", "reason": "bake time complete"}
    verdicts = _verdicts(record)
    assert verdicts[0] == ("POST_TEST_TRAFFIC_SHIFT", "SUCCEEDED", 0.0)
    canary = [status for stage, status, percent in verdicts if percent == 10.0]
    assert canary[0] == "IN_PROGRESS"  # the step's window begins
    assert canary[-1] == "SUCCEEDED"  # judged on enough requests
    assert verdicts[-1] == ("PRODUCTION_TRAFFIC_SHIFT", "SUCCEEDED", 100.0)  # nothing left to compare
    [execution] = deploy_executions(cloud)
    assert execution["status"] == "SUCCEEDED", execution


def test_an_image_with_errors_is_rolled_back_by_the_hooks_analysis(cloud: LocalCloud) -> None:
    record = _deploy(cloud, "vets-service", "1.1.0-errors")
    assert (record["outcome"], record["rolledBack"]) == ("FAILED", True)
    gate = record["gate"]
    assert (gate["type"], gate["name"], gate["stage"]) == ("hook", HOOK, "PRODUCTION_TRAFFIC_SHIFT")
    assert "new revision 5xx" in gate["reason"]
    assert _verdicts(record)[-1] == ("PRODUCTION_TRAFFIC_SHIFT", "FAILED", 10.0)
    assert record["stages"][-1]["stage"] == "ROLLBACK"
    [execution] = deploy_executions(cloud)
    assert execution["status"] == "FAILED", execution


def test_an_unhealthy_image_fails_the_smoke_test_on_the_test_route(cloud: LocalCloud) -> None:
    record = _deploy(cloud, "customers-service", "1.1.0-unhealthy")
    assert (record["outcome"], record["rolledBack"]) == ("FAILED", True)
    assert record["gate"] == {
        "type": "hook",
        "name": HOOK,
        "stage": "POST_TEST_TRAFFIC_SHIFT",
        "reason": "smoke test GET /test/customers-service/actuator/health on the test route answered 503",
    }
    assert record["requests"]["new"]["requests"] == 0  # no production request met the bad revision
