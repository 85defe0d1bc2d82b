"""Reading the deploy workflow's state on the local cloud: executions, the lease, waiting."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from petclinic_local.cloud import ACCOUNT, REGION, LocalCloud

DEPLOY = "petclinic-ops-dev-deploy"


def deploy_executions(cloud: LocalCloud) -> list[dict[str, Any]]:
    return cloud.executions(DEPLOY)


def results(cloud: LocalCloud) -> list[str]:
    """Each finished deploy execution's result (or error), sorted."""
    return sorted(
        e.get("output", {}).get("result") or e.get("error") or e["status"]
        for e in deploy_executions(cloud)
        if e["status"] != "RUNNING"
    )


def wait_for(condition: Callable[[], Any], timeout: float = 60.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def lease_item(cloud: LocalCloud, service: str) -> dict[str, Any]:
    item: dict[str, Any] = (
        cloud.client("dynamodb")
        .get_item(
            TableName=cloud.outputs["LeasesTableName"], Key={"service": {"S": service}}, ConsistentRead=True
        )
        .get("Item", {})
    )
    return item


def inflight(cloud: LocalCloud, service: str) -> dict[str, Any] | None:
    """The record of the deployment in flight that the lease holds, if any."""
    item = lease_item(cloud, service)
    return json.loads(item["inflight"]["S"]) if "inflight" in item else None


def parked(cloud: LocalCloud, service: str, phase: str = "rollout") -> bool:
    """A deploy execution waits on this service's rollout (or rollback) with its token parked."""
    record = inflight(cloud, service)
    return "taskToken" in lease_item(cloud, service) and record is not None and record["phase"] == phase


def running(cloud: LocalCloud, state_machine: str = DEPLOY) -> list[str]:
    return [e["executionArn"] for e in cloud.executions(state_machine) if e["status"] == "RUNNING"]


def stop(cloud: LocalCloud, execution_arn: str) -> None:
    """StopExecution, then until DescribeExecution no longer says RUNNING (moto stops asynchronously)."""
    sfn = cloud.client("stepfunctions")
    sfn.stop_execution(executionArn=execution_arn, cause="test: the execution dies")
    wait_for(
        lambda: sfn.describe_execution(executionArn=execution_arn)["status"] != "RUNNING",
        what=f"{execution_arn} to stop",
    )


# ------------------------------------------------------------------ progressive strategies

ELB = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}"
LOAD_BALANCER = "app/petclinic-dev/50dc6c495c0c9188"
RULE = f"{ELB}:listener-rule/{LOAD_BALANCER}/f2f7dc8efc522ab2/9683b2d0"


def behind_an_alb(cloud: LocalCloud, service: str, **configuration: Any) -> None:
    """The seeded service behind an ALB with a second target group (what a progressive strategy
    needs), deployed by ``configuration`` (its deploymentConfiguration)."""
    cloud.client("ecs").update_service(
        cluster=cloud.seed_spec.cluster,
        service=service,
        loadBalancers=[
            {
                "targetGroupArn": f"{ELB}:targetgroup/{service[:20]}-blue/0123456789abcdef",
                "containerName": service,
                "containerPort": 8080,
                "advancedConfiguration": {
                    "alternateTargetGroupArn": f"{ELB}:targetgroup/{service[:20]}-green/fedcba9876543210",
                    "productionListenerRule": RULE,
                    "roleArn": f"arn:aws:iam::{ACCOUNT}:role/ecs-infrastructure",
                },
            }
        ],
        deploymentConfiguration=configuration,
    )
