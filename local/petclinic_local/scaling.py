"""The scale workflow on the local cloud: start an execution with a profile, wait for it, and
report the diff, the monthly cost change, the result and what happened per target, with the
live state of every service and Aurora cluster afterwards.

    with LocalCloud() as cloud:
        report = scale(cloud, "night", dry_run=True)    # the diff, nothing changed
        report = scale(cloud, "night")                  # applied
"""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from petclinic_local.cloud import LocalCloud


def start(cloud: LocalCloud, request: dict[str, Any]) -> str:
    started = cloud.client("stepfunctions").start_execution(
        stateMachineArn=cloud.outputs["ScaleStateMachineArn"],
        name=f"scale-{uuid.uuid4().hex[:12]}",
        input=json.dumps(request),
    )
    return str(started["executionArn"])


def scale(
    cloud: LocalCloud, profile: str, *, dry_run: bool = False, timeout: float = 300.0, **extra: Any
) -> dict[str, Any]:
    """Run the workflow once and report it (``extra``: more input, e.g. trigger)."""
    request: dict[str, Any] = {"profile": profile, **({"dryRun": True} if dry_run else {}), **extra}
    began = time.perf_counter()
    execution_arn = start(cloud, request)
    cloud.wait_until_quiet(timeout=timeout)
    report = execution_report(cloud, execution_arn)
    report["wallSeconds"] = round(time.perf_counter() - began, 3)
    return report


def execution_report(cloud: LocalCloud, execution_arn: str) -> dict[str, Any]:
    """The CLI's JSON: profile, dryRun, changes, monthlyCostDelta, result, targets, the state
    after the run (``live``) and the execution (status; error and cause when it failed)."""
    sfn = cloud.client("stepfunctions")
    described = sfn.describe_execution(executionArn=execution_arn)
    request = json.loads(described["input"])
    output = json.loads(described.get("output") or "null") or {}
    cause = _maybe_json(described.get("cause"))
    detail = output or (cause if isinstance(cause, dict) else {})
    execution: dict[str, Any] = {"executionArn": execution_arn, "status": described["status"]}
    if described["status"] != "SUCCEEDED":
        execution.update(error=described.get("error"), cause=cause)
    history = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    result = output.get("result") or (
        "REJECTED" if described.get("error") not in ("ScaleFailed", "ScaleIncomplete") else "FAILED"
    )
    if described["status"] == "FAILED" and described.get("error") == "ScaleIncomplete":
        result = "INCOMPLETE"
    return {
        "profile": request.get("profile"),
        "dryRun": bool(request.get("dryRun", False)),
        "changes": detail.get("changes", []),
        "monthlyCostDelta": detail.get("monthlyCostDelta"),
        "result": result,
        "targets": detail.get("targets", []),
        "live": live_state(cloud),
        "execution": execution,
        "stateTransitions": sum(1 for event in history if event["type"].endswith("StateEntered")),
        "lambdaInvocations": sum(
            1
            for event in history
            if event["type"] == "TaskScheduled"
            and event.get("taskScheduledEventDetails", {}).get("resourceType") == "lambda"
        ),
    }


def live_state(cloud: LocalCloud) -> dict[str, Any]:
    """Per service its desired and running counts and scalable target bounds; per Aurora cluster
    its Serverless v2 scaling configuration."""
    spec = cloud.seed_spec
    names = [service.name for service in spec.services]
    ecs = cloud.client("ecs")
    described = ecs.describe_services(cluster=spec.cluster, services=names)["services"]
    targets = {
        target["ResourceId"].rsplit("/", 1)[-1]: target
        for target in cloud.client("application-autoscaling").describe_scalable_targets(
            ServiceNamespace="ecs"
        )["ScalableTargets"]
        if target["ResourceId"].startswith(f"service/{spec.cluster}/")
    }
    services = {}
    for service in described:
        name = service["serviceName"]
        row: dict[str, Any] = {
            "desiredCount": service["desiredCount"],
            "runningCount": service["runningCount"],
        }
        if name in targets:
            row.update(minCapacity=targets[name]["MinCapacity"], maxCapacity=targets[name]["MaxCapacity"])
        services[name] = row
    clusters = {
        cluster["DBClusterIdentifier"]: cluster.get("ServerlessV2ScalingConfiguration", {})
        for cluster in cloud.client("rds").describe_db_clusters()["DBClusters"]
    }
    return {"services": services, "aurora": clusters}


def _maybe_json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
