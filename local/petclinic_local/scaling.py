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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from petclinic_local import runner

if TYPE_CHECKING:
    from petclinic_local.cloud import LocalCloud

WORKFLOW = "ScaleStateMachine"

# What an operator reads while a run is followed, per state of statemachines/scale.asl.json:
# what happens, in words, not the state's name (ScaleFailed is where an INCOMPLETE run ends
# too). None: nothing worth a line. A state not named here is shown by its name.
PROGRESS: dict[str, str | None] = {
    "ReadRequest": None,
    "CheckRequest": "checking the request",
    "InvalidRequest": "the request is invalid: nothing changed",
    "Plan": "planning: reading profile {profile} and the live stack, computing the diff and its cost",
    "Rejected": "rejected: nothing changed (why: below)",
    "RouteRun": None,
    "Apply": "applying the changes",
    "Services": None,
    "ClaimService": "applying to {service}",
    "ServiceAction": None,
    "RegisterScalableTarget": None,
    "RegisterBounds": None,
    "UpdateDesiredCount": None,
    "WaitForSteadyState": "waiting for services to be steady",
    "ClearOutcome": None,
    "DescribeService": None,
    "Steady": None,
    "ServiceSteady": "{service} is steady",
    "ServiceNotSteady": "{service} is not steady in time (it keeps its change; ECS goes on with it)",
    "ServiceFailed": "a service's change failed (which and why: below)",
    "AuroraClusters": None,
    "ModifyDBCluster": "applying to Aurora cluster {cluster}",
    "ClusterFailed": "Aurora cluster {cluster}'s change failed (why: below)",
    "Conclude": None,
    "RecordResult": "recording the run in the ledger",
    "Notify": "announcing the result",
    "PublishMetrics": None,
    "Finish": None,
    "ScaleFailed": "finished: not every target applied (which and why: below)",
    "Done": "finished",
}


def progress_line(name: str, state_input: Any) -> str | None:
    """The words for entering state ``name`` with this input (a dict, or its JSON text)."""
    if name not in PROGRESS:
        return name
    words = PROGRESS[name]
    if words is None:
        return None
    if isinstance(state_input, str):
        try:
            state_input = json.loads(state_input)
        except ValueError:
            state_input = None
    data = state_input if isinstance(state_input, dict) else {}
    item = data.get("item")
    item = item if isinstance(item, dict) else {}
    described = data.get("Services")
    first = (
        described[0] if isinstance(described, list) and described and isinstance(described[0], dict) else {}
    )
    return words.format(
        profile=data.get("profile") or "the profile",
        service=item.get("service") or first.get("ServiceName") or "a service",
        cluster=item.get("cluster") or "a cluster",
    )


def progress(say: Callable[[str], None]) -> Callable[[dict[str, Any]], None]:
    """``runner.follow``'s ``on_entered`` for a scale run: each line once (``  HH:MM:SS  words``),
    as the states are entered; the services waited for in parallel make one line, not four."""
    said: set[str] = set()

    def entered(event: dict[str, Any]) -> None:
        details = event["stateEnteredEventDetails"]
        line = progress_line(details["name"], details.get("input"))
        if line and line not in said:
            said.add(line)
            say(f"  {event['timestamp']:%H:%M:%S}  {line}")

    return entered


def start(cloud: LocalCloud, request: dict[str, Any]) -> str:
    return runner.start(cloud, WORKFLOW, request, name=f"scale-{request.get('profile')}")


def scale(
    cloud: LocalCloud,
    profile: str,
    *,
    dry_run: bool = False,
    timeout: float = 300.0,
    say: Callable[[str], None] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Run the workflow once and report it (``extra``: more input, e.g. trigger); with ``say``,
    followed: what happens, as it happens (``progress``)."""
    request: dict[str, Any] = {"profile": profile, **({"dryRun": True} if dry_run else {}), **extra}
    began = time.perf_counter()
    execution_arn = start(cloud, request)
    if say is not None:
        runner.follow(cloud, execution_arn, timeout=timeout, poll_seconds=0.1, on_entered=progress(say))
    execution = runner.wait(cloud, execution_arn, timeout=timeout)
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
