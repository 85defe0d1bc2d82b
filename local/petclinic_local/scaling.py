"""The scale workflow on the local cloud: start an execution with a profile, wait for it, and
report the diff, the monthly cost change, the result and what happened per target, with the
live state of every service and Aurora cluster afterwards.

    with LocalCloud() as cloud:
        report = scale(cloud, "night", dry_run=True)    # the diff, nothing changed
        report = scale(cloud, "night")                  # applied
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from petclinic_local import runner

if TYPE_CHECKING:
    from petclinic_local.cloud import LocalCloud

WORKFLOW = "ScaleStateMachine"


def start(cloud: LocalCloud, request: dict[str, Any]) -> str:
    return runner.start(cloud, WORKFLOW, request, name=f"scale-{request.get('profile')}")


def scale(
    cloud: LocalCloud, profile: str, *, dry_run: bool = False, timeout: float = 300.0, **extra: Any
) -> dict[str, Any]:
    """Run the workflow once and report it (``extra``: more input, e.g. trigger)."""
    request: dict[str, Any] = {"profile": profile, **({"dryRun": True} if dry_run else {}), **extra}
    began = time.perf_counter()
    execution = runner.wait(cloud, start(cloud, request), timeout=timeout)
    report = execution_report(cloud, execution["executionArn"], execution)
    report["wallSeconds"] = round(time.perf_counter() - began, 3)
    return report


def execution_report(
    cloud: LocalCloud, execution_arn: str, execution: runner.Execution | None = None
) -> dict[str, Any]:
    """``run_report`` with the state after the run (``live``), the state transitions and the
    Lambda invocations."""
    execution = execution or runner.describe(cloud, execution_arn)
    report = run_report(execution)
    summary = report.pop("execution")
    events = runner.history(cloud, execution_arn)
    return {
        **report,
        "live": live_state(cloud),
        "execution": summary,
        "stateTransitions": runner.transitions(events),
        "lambdaInvocations": runner.lambda_invocations(events),
    }


def run_report(execution: runner.Execution) -> dict[str, Any]:
    """The run as the CLI reports it, on AWS and locally: profile, dryRun, changes,
    monthlyCostDelta, result (the workflow's, else INCOMPLETE, FAILED or REJECTED by its error),
    targets and the execution (status; error and cause when it failed)."""
    request = execution["input"] if isinstance(execution["input"], dict) else {}
    detail = runner.detail(execution)
    summary: dict[str, Any] = {"executionArn": execution["executionArn"], "status": execution["status"]}
    if execution["status"] != "SUCCEEDED":
        summary.update(error=execution.get("error"), cause=execution.get("cause"))
    error = execution.get("error")
    output = execution.get("output")
    output = output if isinstance(output, dict) else {}
    result = output.get("result") or (
        "INCOMPLETE" if error == "ScaleIncomplete" else "FAILED" if error == "ScaleFailed" else "REJECTED"
    )
    return {
        "profile": request.get("profile"),
        "dryRun": bool(request.get("dryRun", False)),
        "changes": detail.get("changes", []),
        "monthlyCostDelta": detail.get("monthlyCostDelta"),
        "result": result,
        "targets": detail.get("targets", []),
        "execution": summary,
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
