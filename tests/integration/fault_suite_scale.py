"""The fault-injection suite's scenarios and judge for the scale workflow (fault_suite.py has the
deploy and rotation-rollout workflows' and says how a case runs).

One profile reaches every Task state: customers-service's bounds move its count (a scalable
target registered, then the wait for ECS's SERVICE_STEADY_STATE), vets-service's bounds stay
around its count (nothing to wait for: read at once), admin-server's desired count moves (an
UpdateService, then the wait), and the Aurora cluster's capacity changes.

A known state: no execution running; every target either in its old setting or in the
profile's, ECS not mid-change (running = desired, one COMPLETED deployment); every execution
that ended reports itself (a stopped one by its status, the others by the targets in their
output or cause, each reported as applied in the profile's setting); a run row, where one was
written, with the execution's result. After the successor (the same profile with the fault
gone): every target in the profile's setting, steady, and the successor's row says so.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from deploy_helpers import running, stop, wait_for

from petclinic_local import runner
from petclinic_local.cloud import LocalCloud
from petclinic_local.scaling import live_state, start

SCALE = "petclinic-ops-dev-scale"
PROFILE = "fault-suite"
CHANGES = {
    "services": {
        "customers-service": {"minCapacity": 0, "maxCapacity": 0},
        "vets-service": {"minCapacity": 1, "maxCapacity": 6},
        "admin-server": {"desiredCount": 0},
    },
    "aurora": {"petclinic-dev": {"minCapacity": 0, "maxCapacity": 4, "secondsUntilAutoPause": 900}},
}
# Each target's setting after the profile, as live_state reads it (the counts ECS ends at).
AFTER = {
    "service/customers-service": {"desiredCount": 0, "runningCount": 0, "minCapacity": 0, "maxCapacity": 0},
    "service/vets-service": {"desiredCount": 2, "runningCount": 2, "minCapacity": 1, "maxCapacity": 6},
    "service/admin-server": {"desiredCount": 0, "runningCount": 0},
    "aurora/petclinic-dev": {"MinCapacity": 0.0, "MaxCapacity": 4.0, "SecondsUntilAutoPause": 900},
}
APPLIED = {"STEADY", "APPLIED"}


def settings(cloud: LocalCloud) -> dict[str, dict[str, Any]]:
    """Every target the profile names, in the shape of AFTER."""
    live = live_state(cloud)
    found = {f"service/{name}": row for name, row in live["services"].items()}
    found |= {f"aurora/{name}": row for name, row in live["aurora"].items()}
    return {target: found[target] for target in AFTER}


def scaled(cloud: LocalCloud) -> None:
    """The profile, run to its end."""
    cloud.client("ssm").put_parameter(
        Name=f"/petclinic/dev/scale/{PROFILE}", Value=json.dumps(CHANGES), Type="String", Overwrite=True
    )
    start(cloud, {"profile": PROFILE})
    cloud.wait_until_quiet()


def scaled_after_parking(cloud: LocalCloud) -> None:
    """The profile, run to its end, with ECS's steady states held until both waits are parked
    (so the steady-state events reach the relay with a token to resume, on any machine)."""
    with cloud.simulator.holding_steady_states():
        cloud.client("ssm").put_parameter(
            Name=f"/petclinic/dev/scale/{PROFILE}", Value=json.dumps(CHANGES), Type="String", Overwrite=True
        )
        start(cloud, {"profile": PROFILE})
        for service in ("customers-service", "admin-server"):
            wait_for(functools.partial(_parked, cloud, service), what=f"{service}'s wait parked")
    cloud.wait_until_quiet()


def _parked(cloud: LocalCloud, service: str) -> bool:
    item = (
        cloud.client("dynamodb")
        .get_item(TableName=cloud.outputs["ScaleTableName"], Key={"pk": {"S": f"service#{service}"}})
        .get("Item", {})
    )
    return "taskToken" in item


def stopped_while_waiting(cloud: LocalCloud) -> None:
    """The execution is stopped while it waits for a service's steady state (its token parked)."""
    slow, cloud.simulator.scale_seconds = cloud.simulator.scale_seconds, 1000.0  # 10 s: outlasts the stop
    try:
        cloud.client("ssm").put_parameter(
            Name=f"/petclinic/dev/scale/{PROFILE}", Value=json.dumps(CHANGES), Type="String", Overwrite=True
        )
        start(cloud, {"profile": PROFILE})
        wait_for(lambda: _parked(cloud, "admin-server"), what="the wait for admin-server's steady state")
        [holder] = running(cloud, SCALE)
        stop(cloud, holder)
    finally:
        cloud.simulator.scale_seconds = slow
    cloud.wait_until_quiet()


SCALE_SCENARIOS: dict[str, Callable[[LocalCloud], None]] = {
    "Plan": scaled,
    "ClaimService": scaled,
    "RegisterScalableTarget": scaled,
    "RegisterBounds": scaled,
    "UpdateDesiredCount": scaled,
    "WaitForSteadyState": scaled,
    "DescribeService": scaled,
    "ClearOutcome": scaled,
    "ModifyDBCluster": scaled,
    "RecordResult": scaled,
    "Notify": scaled,
    "PublishMetrics": scaled,
}
SCALE_WAITS = {"WaitForSteadyState": stopped_while_waiting}


def _runs(cloud: LocalCloud) -> dict[str, dict[str, Any]]:
    return {str(row["executionArn"]): row for row in cloud.deployments() if row["service"] == "scale"}


def scale_known_state(cloud: LocalCloud, before: dict[str, dict[str, Any]], *, strict: bool) -> list[str]:
    """What is not in a known state (empty when everything is). ``before``: the settings before
    the first run; ``strict``: after the successor (every target in the profile's setting)."""
    problems: list[str] = []
    if running(cloud, SCALE):
        problems.append(f"executions still running: {running(cloud, SCALE)}")
    now = settings(cloud)
    for target, setting in now.items():
        allowed = [AFTER[target]] if strict else [before[target], AFTER[target]]
        if setting not in allowed:
            problems.append(f"{target} is {setting}: neither its old setting nor the profile's")
    ecs = cloud.client("ecs")
    names = [t.split("/", 1)[1] for t in AFTER if t.startswith("service/")]
    for service in ecs.describe_services(cluster="petclinic-dev", services=names)["services"]:
        deployments = [(d["status"], d.get("rolloutState")) for d in service["deployments"]]
        if deployments != [("PRIMARY", "COMPLETED")] or service["runningCount"] != service["desiredCount"]:
            problems.append(f"{service['serviceName']} is not steady: {deployments}")
    runs = _runs(cloud)
    executions = [e for e in cloud.executions(SCALE) if e["status"] != "RUNNING"]
    for execution in executions:
        arn = execution["executionArn"]
        if execution["status"] == "ABORTED":
            continue  # stopped: it reports itself by its status; its targets are judged above
        detail = runner.detail(execution)
        result = detail.get("result") or execution.get("error")
        reported = {row["target"]: row for row in detail.get("targets", [])}
        if execution["status"] == "SUCCEEDED" or execution.get("error") in ("ScaleIncomplete", "ScaleFailed"):
            for target, row in reported.items():
                if row["result"] in APPLIED and now.get(target, AFTER.get(target)) != AFTER.get(target):
                    problems.append(f"{arn} reports {target} {row['result']} but it is {now.get(target)}")
            unreported = sorted({change["target"] for change in detail.get("changes", [])} - set(reported))
            if unreported:
                problems.append(f"{arn} ({result}) does not report {unreported}")
        elif not execution.get("error"):
            problems.append(f"{arn} {execution['status']} without an error")
        row = runs.get(arn)
        if row is not None and row["result"] != detail.get("result", row["result"]):
            problems.append(
                f"the run row of {arn} says {row['result']}, the execution {detail.get('result')}"
            )
    if strict:
        last = executions[-1]
        row = runs.get(last["executionArn"])
        if last["status"] != "SUCCEEDED" or row is None or row["result"] not in ("APPLIED", "NO_CHANGE"):
            problems.append(f"the successor ended {runner.result(last)} with run row {row}")
    return problems


def scale_successor(cloud: LocalCloud) -> None:
    """The outage is over: the profile is applied again."""
    cloud.faults.clear()
    scaled(cloud)
