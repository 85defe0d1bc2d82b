"""The fault-injection suite's scenarios and judge for the provision workflow (fault_suite.py has
the deploy and rotation-rollout workflows' and says how a case runs).

Scenarios: a change to the edge stack (the common path: templates, change set, claim, the wait
for the stack's status event, outputs); a replacement of a protected resource of the data stack
(its stack policy overridden for the change, then put back; and put back after a failure); a
change whose resource fails (the stack's failure looked up); an earlier operation's status event
(the stack still in progress when the execution wakes: it waits again); a teardown of the data
stack that discards its secrets. Where the workflow waits (the stack's status event) the
execution is also stopped while it waits.

A known state: no provision execution running; no stack left *_IN_PROGRESS (no run owns it);
every run that ended says so: a stopped one by its status, the others by their error and cause,
and by a run row, where one was written, with their result (SUCCEEDED only if every stack it
names ended complete). After the successor (the same request with the fault gone): it
succeeded, its run row says so, every stack it names is complete (deleted for a teardown), and
the data stack carries its stack policy.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from deploy_helpers import running, stop, wait_for

from petclinic_local import provisioning, runner
from petclinic_local.cloud import ACCOUNT, PROJECT_ROOT, REGION, LocalCloud
from petclinic_local.petclinic import stacks
from petclinic_ops.domain import provision_changes

PROVISION = "petclinic-ops-dev-provision"
EDGE_CHANGE = {
    "environment": "dev",
    "stacks": ["edge"],
    "parameters": {"edge": {"RateLimitPer5Minutes": "3000"}},
}
DATA_CHANGE = {"environment": "dev", "stacks": ["data"]}
DATA_TEARDOWN = {"environment": "dev", "action": "teardown", "stacks": ["data"], "keepData": False}
PROTECTING = json.loads(str(provision_changes.stack_policy("data")))


@dataclass
class Run:
    """What a scenario asked for: the request, and the templates' folder (None: infra/)."""

    request: dict[str, Any]
    root: Path | None = None
    notes: list[str] = field(default_factory=list)


def start(cloud: LocalCloud, run: Run) -> str:
    if run.root is not None:
        stacks.upload_templates(
            s3=cloud.client("s3"),
            ssm=cloud.client("ssm"),
            bucket=cloud.outputs["ArtifactBucketName"],
            environment="dev",
            root=run.root,
            region=cloud.region,
        )
    return provisioning.start(cloud, run.request, upload_templates=run.root is None)


def _ran(cloud: LocalCloud, run: Run) -> Run:
    start(cloud, run)
    cloud.wait_until_quiet()
    return run


def edge_change(cloud: LocalCloud) -> Run:
    return _ran(cloud, Run(EDGE_CHANGE))


def renamed_audit_log() -> Path:
    """infra/ with the data stack's audit log group renamed: a replacement of a protected resource."""
    root = Path(tempfile.mkdtemp(prefix="fault-suite-"))
    shutil.copytree(PROJECT_ROOT / "infra", root / "infra")
    data = root / "infra" / "data.yaml"
    old = "LogGroupName: !Sub /aws/rds/cluster/petclinic-${EnvironmentName}/audit\n"
    data.write_text(
        data.read_text(encoding="utf-8").replace(old, old.replace("/audit", "/audit-v2")), "utf-8"
    )
    return root


def protected_change(cloud: LocalCloud) -> Run:
    return _ran(cloud, Run(DATA_CHANGE, renamed_audit_log()))


def protected_change_that_fails(cloud: LocalCloud) -> Run:
    """The change set fails after the policy let the replacement through: the policy is put back."""
    cloud.faults.fail(PROVISION, "ExecuteChangeSet", error="CloudFormation.InsufficientCapabilitiesException")
    return protected_change(cloud)


def failing_resource(cloud: LocalCloud) -> Run:
    cloud.stack_events.fail("petclinic-dev-edge", "WebAcl", "injected: the WAF's rule limit is reached")
    return edge_change(cloud)


def teardown(cloud: LocalCloud) -> Run:
    return _ran(cloud, Run(DATA_TEARDOWN))


def _claim(cloud: LocalCloud, stack: str) -> dict[str, Any]:
    item: dict[str, Any] = (
        cloud.client("dynamodb")
        .get_item(TableName=cloud.outputs["ProvisionTableName"], Key={"pk": {"S": f"stack#{stack}"}})
        .get("Item", {})
    )
    return item


def _moto_stack(stack: str) -> Any:
    from moto.cloudformation.models import cloudformation_backends  # noqa: PLC0415

    return next(s for s in cloudformation_backends[ACCOUNT][REGION].stacks.values() if s.name == stack)


def _status_event(cloud: LocalCloud, stack: str, status: str) -> None:
    stack_id = _moto_stack(stack).stack_id
    cloud.client("events").put_events(
        Entries=[
            {
                "Source": "aws.cloudformation",
                "DetailType": "CloudFormation Stack Status Change",
                "Resources": [stack_id],
                "Detail": json.dumps({"stack-id": stack_id, "status-details": {"status": status}}),
            }
        ]
    )


def _entered_twice(cloud: LocalCloud, execution_arn: str, state: str) -> bool:
    events = runner.history(cloud, execution_arn)
    return sum(1 for e in events if e.get("stateEnteredEventDetails", {}).get("name") == state) >= 2


def earlier_event(cloud: LocalCloud) -> Run:
    """The execution wakes on an earlier operation's status event while its own update is still in
    progress: it forgets that outcome and waits again (the edge stack's own event comes later)."""
    run = Run(EDGE_CHANGE)
    stack = "petclinic-dev-edge"
    with cloud.stack_events.muted():  # this update's own events: sent by hand below
        execution = start(cloud, run)
        wait_for(
            lambda: "taskToken" in _claim(cloud, stack) or not running(cloud, PROVISION), what="the park"
        )
    updated = _moto_stack(stack).status
    _moto_stack(stack).status = "UPDATE_IN_PROGRESS"
    try:
        _status_event(cloud, stack, "CREATE_COMPLETE")  # the stack's creation, long ago
        wait_for(
            lambda: _entered_twice(cloud, execution, "WaitForStack") or not running(cloud, PROVISION),
            what="the second wait",
        )
    finally:
        _moto_stack(stack).status = updated
    wait_for(lambda: "taskToken" in _claim(cloud, stack) or not running(cloud, PROVISION), what="the park")
    if running(cloud, PROVISION):
        _status_event(cloud, stack, updated)
    cloud.wait_until_quiet()
    return run


def stopped_while_waiting(cloud: LocalCloud) -> Run:
    """The execution is stopped while it waits for the edge stack's status event."""
    run = Run(EDGE_CHANGE)
    with cloud.stack_events.muted():  # the status event would end the wait before the stop
        execution = start(cloud, run)
        wait_for(lambda: "taskToken" in _claim(cloud, "petclinic-dev-edge"), what="the park")
        stop(cloud, execution)
    cloud.wait_until_quiet()
    return run


PROVISION_SCENARIOS: dict[str, Callable[[LocalCloud], Run]] = {
    "ReadTemplates": edge_change,
    "PrepareStack": edge_change,
    "AllowProtectedChanges": protected_change,
    "ClaimStack": edge_change,
    "ExecuteChangeSet": edge_change,
    "WaitForStack": edge_change,
    "DescribeStack": edge_change,
    "ClearOutcome": earlier_event,
    "FindFailure": failing_resource,
    "ProtectStack": protected_change,
    "PublishOutputs": edge_change,
    "FindStackToDelete": teardown,
    "ClaimStackForDelete": teardown,
    "DeleteStack": teardown,
    "DeleteSecret": teardown,
    "RestoreStackPolicy": protected_change_that_fails,
    "RecordResult": teardown,  # unrecorded: the operator runs the teardown again
    "Notify": edge_change,
    "PublishMetrics": edge_change,
}
PROVISION_WAITS = {"WaitForStack": stopped_while_waiting}


def _runs(cloud: LocalCloud) -> dict[str, dict[str, Any]]:
    deserialize = TypeDeserializer().deserialize
    items = cloud.client("dynamodb").scan(TableName=cloud.outputs["ProvisionTableName"])["Items"]
    rows = [{k: deserialize(v) for k, v in item.items()} for item in items]
    return {str(row["executionArn"]): row for row in rows if str(row["pk"]).startswith("run#")}


def _stacks(cloud: LocalCloud) -> dict[str, str]:
    listed = cloud.client("cloudformation").list_stacks()["StackSummaries"]
    found: dict[str, str] = {}
    for summary in sorted(listed, key=lambda s: s["CreationTime"]):  # the newest of a name wins
        if summary["StackName"].startswith("petclinic-dev-"):
            found[summary["StackName"]] = summary["StackStatus"]
    return found


def _policy(cloud: LocalCloud) -> Any:
    if _stacks(cloud).get("petclinic-dev-data") == "DELETE_COMPLETE":
        return PROTECTING  # nothing left to protect
    body = (
        cloud.client("cloudformation").get_stack_policy(StackName="petclinic-dev-data").get("StackPolicyBody")
    )
    return json.loads(body) if body else None


def provision_known_state(cloud: LocalCloud, run: Run, *, strict: bool) -> list[str]:
    """What is not in a known state (empty when everything is). ``strict``: after the successor."""
    problems: list[str] = []
    if running(cloud, PROVISION):
        problems.append(f"executions still running: {running(cloud, PROVISION)}")
    live = _stacks(cloud)
    in_progress = {name: status for name, status in live.items() if status.endswith("_IN_PROGRESS")}
    if in_progress:
        problems.append(f"stacks left in progress with no run that owns them: {in_progress}")
    runs = _runs(cloud)
    executions = [e for e in cloud.executions(PROVISION) if e["status"] != "RUNNING"]
    for execution in executions:
        arn = execution["executionArn"]
        if execution["status"] == "ABORTED":
            continue  # stopped: it reports itself by its status
        if execution["status"] != "SUCCEEDED" and not (execution.get("error") and execution.get("cause")):
            problems.append(f"{arn} {execution['status']} without an error and a cause")
        row = runs.get(arn)
        if row is None:
            continue
        if row["result"] != ("SUCCEEDED" if execution["status"] == "SUCCEEDED" else "FAILED"):
            problems.append(f"the run row of {arn} says {row['result']}, the execution {execution['status']}")
        if row["result"] == "SUCCEEDED":
            for stack in json.loads(row["stacks"]):
                status = live.get(str(stack.get("stackName")), "NONE")
                if not (status.endswith("_COMPLETE") and "ROLLBACK" not in status) and status != "NONE":
                    problems.append(f"{arn} SUCCEEDED but {stack.get('stackName')} is {status}")
    if strict:
        last = executions[-1]
        row = runs.get(last["executionArn"])
        if last["status"] != "SUCCEEDED" or row is None or row["result"] != "SUCCEEDED":
            problems.append(f"the successor ended {runner.result(last)}: {last.get('cause')}; run row {row}")
        if _policy(cloud) != PROTECTING:
            problems.append(f"the data stack's policy is {_policy(cloud)}")
        for name in run.request["stacks"]:
            status = live.get(f"petclinic-dev-{name}", "NONE")
            wanted = (
                {"DELETE_COMPLETE", "NONE"}
                if run.request.get("action") == "teardown"
                else {"UPDATE_COMPLETE"}
            )
            if status not in wanted:
                problems.append(f"petclinic-dev-{name} is {status} after the successor")
    return problems


def provision_successor(cloud: LocalCloud, run: Run) -> None:
    """The outage is over: the same request runs again."""
    cloud.faults.clear()
    cloud.stack_events.faults.clear()
    _ran(cloud, run)
    if run.root is not None:
        shutil.rmtree(run.root, ignore_errors=True)
