"""The fault-injection suite's scenarios and its judge of "a known state".

For every Task state of the deploy and rotation-rollout workflows a scenario reaches that state
(a push, a failing rollout, a queued push, a takeover, a restart, a rotation...), with one fault
injected there: the state fails (every attempt, so its Retry runs out), or the execution is
stopped as it enters the state (it dies there). Then the state of everything the workflow touched
is judged (``known_state``), a successor request runs with the fault gone (the outage is over, the
next push or restart arrives), and the end state is judged strictly.

A known state, per service: no execution running; no deployment in flight; the service steady
(PRIMARY COMPLETED) on a revision the scenario expects, unless the deployment is unfinished, with
its record on a lease that the next execution takes over; one ledger row per deployment the
workflow started, with a true result (SUCCEEDED only for a deployment ECS completed); the lease
free or held by an execution that is no longer running; every request either deployed, queued,
superseded, skipped, or failed with its reason. After the successor: the lease free, nothing in
flight or queued, the service steady on the successor's image.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy_helpers import DEPLOY, lease_item, parked, running, stop, wait_for

from petclinic_local.cloud import ACCOUNT, LocalCloud

ROOT = Path(__file__).resolve().parents[2]
ROLLOUT = "petclinic-ops-dev-rotation-rollout"
FAULT_ERROR = "Injected.ServiceUnavailable"


def task_states(asl_file: str) -> list[str]:
    """Every Task state of a shipped workflow, Map iterations and Parallel branches included."""

    def walk(states: dict[str, Any]) -> list[str]:
        found = []
        for name, state in states.items():
            if state["Type"] == "Task":
                found.append(name)
            if state["Type"] == "Map":
                found += walk(state["ItemProcessor"]["States"])
            if state["Type"] == "Parallel":
                for branch in state["Branches"]:
                    found += walk(branch["States"])
        return found

    return walk(json.loads((ROOT / "statemachines" / asl_file).read_text())["States"])


@dataclass
class Story:
    """What a scenario did: the service it acted on and the requests' executions."""

    service: str
    executions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ deploy scenarios


def push(cloud: LocalCloud) -> Story:
    cloud.push_image("customers-service", "1.1.0")
    cloud.wait_until_quiet()
    return Story("customers-service")


def broken_push(cloud: LocalCloud) -> Story:
    cloud.push_image("vets-service", "1.1.0-broken")
    cloud.wait_until_quiet()
    return Story("vets-service")


def early_outcome(cloud: LocalCloud) -> Story:
    """The outcome is read from the lease (the event beat the token): forced once."""
    cloud.faults.fail(DEPLOY, "WaitForRollout", error="DynamoDb.ConditionalCheckFailedException", times=1)
    return push(cloud)


def protect_refused(cloud: LocalCloud) -> Story:
    """ECR refuses a deployed-<hex> tag as taken (an IMMUTABLE repository) once: the workflow
    checks which image has it."""
    cloud.faults.fail(DEPLOY, "ProtectImage", error="Ecr.ImageTagAlreadyExistsException", times=1)
    return push(cloud)


def early_rollback_outcome(cloud: LocalCloud) -> Story:
    cloud.faults.fail(DEPLOY, "WaitForRollback", error="DynamoDb.ConditionalCheckFailedException", times=1)
    return broken_push(cloud)


def queued_push(cloud: LocalCloud) -> Story:
    """A second push arrives while the first rolls out: it queues; the first deploys it after."""
    with cloud.simulator.holding():
        cloud.push_image("customers-service", "1.1.0")
        wait_for(lambda: parked(cloud, "customers-service") or not running(cloud), what="the first rollout")
        cloud.push_image("customers-service", "1.2.0")
        wait_for(lambda: len(running(cloud)) <= 1, what="the second push to queue or end")
    cloud.wait_until_quiet()
    return Story("customers-service")


def takeover(cloud: LocalCloud) -> Story:
    """The first execution dies while it waits; the next push takes its lease over."""
    with cloud.simulator.holding():
        cloud.push_image("customers-service", "1.1.0")
        wait_for(lambda: parked(cloud, "customers-service"), what="the first rollout to park")
        [dead] = running(cloud)
        stop(cloud, dead)
        cloud.push_image("customers-service", "1.2.0")
        wait_for(lambda: not running(cloud) or parked(cloud, "customers-service"), what="the takeover")
    cloud.wait_until_quiet()
    return Story("customers-service", notes=[f"stopped {dead}"])


def restart(cloud: LocalCloud) -> Story:
    cloud.client("stepfunctions").start_execution(
        stateMachineArn=cloud.outputs["DeployStateMachineArn"],
        input=json.dumps({"service": "visits-service", "restart": True, "reason": "fault suite"}),
    )
    cloud.wait_until_quiet()
    return Story("visits-service")


def canary_restart(cloud: LocalCloud) -> Story:
    """A restart of a service configured CANARY deploys ROLLING, then puts the CANARY configuration
    back (RestoreStrategy)."""
    elb = f"arn:aws:elasticloadbalancing:us-west-2:{ACCOUNT}"
    balancer = "app/petclinic-dev/50dc6c495c0c9188"
    cloud.client("ecs").update_service(
        cluster="petclinic-dev",
        service="visits-service",
        loadBalancers=[
            {
                "targetGroupArn": f"{elb}:targetgroup/visits-service-blue/0123456789abcdef",
                "containerName": "visits-service",
                "containerPort": 8080,
                "advancedConfiguration": {
                    "alternateTargetGroupArn": f"{elb}:targetgroup/visits-service-green/fedcba9876543210",
                    "productionListenerRule": f"{elb}:listener-rule/{balancer}/f2f7dc8efc522ab2/9683b2d0",
                    "roleArn": f"arn:aws:iam::{ACCOUNT}:role/ecs-infrastructure",
                },
            }
        ],
        deploymentConfiguration={
            "strategy": "CANARY",
            "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 1},
        },
    )
    return restart(cloud)


def rejected(cloud: LocalCloud) -> Story:
    cloud.start_deployment("billing-service", "1.0.0")
    cloud.wait_until_quiet()
    return Story("customers-service")


def stopped_while_waiting(phase: str) -> Callable[[LocalCloud], Story]:
    """The execution is stopped while it waits on the rollout (or the rollback)."""

    def scenario(cloud: LocalCloud) -> Story:
        service, tag = (
            ("customers-service", "1.1.0") if phase == "rollout" else ("vets-service", "1.1.0-broken")
        )
        if phase == "rollout":
            with cloud.simulator.holding():
                cloud.push_image(service, tag)
                wait_for(lambda: parked(cloud, service, phase), what=f"the {phase} to park")
                [holder] = running(cloud)
                stop(cloud, holder)
        else:
            cloud.push_image(service, tag)
            wait_for(lambda: parked(cloud, service, phase) or not running(cloud), what="the rollback to park")
            holders = running(cloud)
            if holders:
                stop(cloud, holders[0])
        cloud.wait_until_quiet()
        return Story(service)

    return scenario


DEPLOY_SCENARIOS: dict[str, Callable[[LocalCloud], Story]] = {
    "ResolveRequest": push,
    "CountRejection": rejected,
    "LookupImage": push,
    "RecordDelivery": push,
    "AcquireLease": push,
    "InspectLease": queued_push,
    "DescribeHolder": queued_push,
    "QueueBehindRunningDeployment": queued_push,
    "CountCoalesced": queued_push,
    "TakeOverLease": takeover,
    "RestartService": restart,
    "DescribeService": push,
    "DescribeTaskDefinition": push,
    "ReadImageManifests": push,
    "ProtectImage": push,
    "CheckProtection": protect_refused,
    "RegisterTaskDefinition": push,
    "ClaimRollout": push,
    "UpdateService": push,
    "WaitForRollout": push,
    "ReadEarlyOutcome": early_outcome,
    "InspectRollout": broken_push,
    "RollBack": broken_push,
    "WaitForRollback": broken_push,
    "ReadRollbackOutcome": early_rollback_outcome,
    "RestoreStrategy": canary_restart,
    "RecordResult": push,
    "Notify": push,
    "PublishMetrics": push,
    "ReleaseLease": push,
    "TakeQueuedRequest": queued_push,
}
# States where an execution spends its time: also stopped while it waits there.
WAITS = {"WaitForRollout": "rollout", "WaitForRollback": "rollback"}


# ------------------------------------------------------------------ the judge


def _history(cloud: LocalCloud, service: str) -> dict[str, str]:
    """Deployment id -> outcome, of every deployment ECS (the simulator) started for the service."""
    return {h["deploymentId"]: h["outcome"] for h in cloud.simulator.history if h["service"] == service}


def _deployments(cloud: LocalCloud, service: str) -> list[dict[str, Any]]:
    ecs = cloud.client("ecs")
    described: list[dict[str, Any]] = ecs.describe_services(cluster="petclinic-dev", services=[service])[
        "services"
    ][0]["deployments"]
    return described


def known_state(cloud: LocalCloud, story: Story, *, strict: bool) -> list[str]:
    """What is not in a known state (empty when everything is). ``strict``: after the successor."""
    problems: list[str] = []
    service = story.service
    if running(cloud):
        problems.append(f"executions still running: {running(cloud)}")
    if not cloud.simulator.idle():
        problems.append("a rollout is still in flight")
    lease = lease_item(cloud, service)
    record = json.loads(lease["inflight"]["S"]) if "inflight" in lease else None
    holder = lease.get("leaseHolder", {}).get("S")
    if holder and strict:
        problems.append(f"the lease is still held by {holder}")
    if strict and ("pendingRequest" in lease or record):
        problems.append(
            f"left on the lease: {sorted(k for k in lease if k in ('pendingRequest', 'inflight'))}"
        )
    deployments = _deployments(cloud, service)
    in_flight = [d["id"] for d in deployments if d.get("rolloutState") == "IN_PROGRESS"]
    primary = next(d for d in deployments if d["status"] == "PRIMARY")
    unfinished = record is not None and holder is not None
    if in_flight:
        problems.append(f"deployments still in flight: {in_flight}")
    if primary.get("rolloutState") != "COMPLETED" and not unfinished:
        problems.append(f"{service} is not steady: PRIMARY {primary['id']} is {primary.get('rolloutState')}")
    # An unfinished deployment's rollback may have started after its record was last written
    # (the lease table failed): the successor records it; the strict check then holds.
    problems += _ledger_problems(cloud, service, record, complete=strict or not unfinished)
    problems += _request_problems(cloud)
    return problems


def _ledger_problems(
    cloud: LocalCloud, service: str, record: dict[str, Any] | None, *, complete: bool
) -> list[str]:
    problems = []
    history = _history(cloud, service)
    rows = [row for row in cloud.deployments() if row["service"] == service]
    ids = [row["deploymentId"] for row in rows if row.get("deploymentId")]
    if len(ids) != len(set(ids)):
        problems.append(f"a deployment has more than one ledger row: {ids}")
    for row in rows:
        deployment = str(row.get("deploymentId") or "")
        if row["result"] == "SUCCEEDED" and history.get(deployment) != "COMPLETED":
            problems.append(f"ledger says {deployment} SUCCEEDED, ECS says {history.get(deployment)}")
        if row["result"] == "FAILED" and deployment and history.get(deployment) == "COMPLETED":
            current = cloud.services()[service]["taskDefinition"]
            if current == row.get("taskDefinitionAfter") and not row.get("rolledBack"):
                problems.append(f"ledger says {deployment} FAILED but it completed and runs")
    recorded = set(ids) | {row.get("rollbackDeploymentId") for row in rows}
    if record:
        recorded |= {record.get("deploymentId"), record.get("rollbackDeploymentId")}
    # Rollbacks ECS's circuit breaker starts are its own; none here (the breaker's rollback is off).
    missing = [d for d in history if d not in recorded]
    if missing and complete:
        problems.append(f"deployments with no ledger row (nor a record on the lease): {missing}")
    return problems


ACCOUNTED = {"SUCCEEDED", "SKIPPED", "DUPLICATE", "COALESCED", "SUPERSEDED"}


def _request_problems(cloud: LocalCloud) -> list[str]:
    problems = []
    for execution in cloud.executions(DEPLOY):
        if execution["status"] == "SUCCEEDED":
            result = execution["output"].get("result")
            if result not in ACCOUNTED:
                problems.append(f"{execution['executionArn']} succeeded with result {result}")
        elif execution["status"] in ("FAILED", "TIMED_OUT") and not execution.get("error"):
            problems.append(f"{execution['executionArn']} {execution['status']} without an error")
    return problems


def successor(cloud: LocalCloud, story: Story) -> str:
    """The outage is over: the next push for the service arrives. Returns its digest."""
    cloud.faults.clear()
    pushed = cloud.push_image(story.service, "9.9.9-successor")
    cloud.wait_until_quiet()
    return str(pushed["detail"]["image-digest"])


# ------------------------------------------------------------------ rotation rollout scenarios

USERS_OF_THE_SECRET = ("customers-service", "vets-service", "visits-service")


def rotation_succeeded(cloud: LocalCloud) -> Story:
    """Secrets Manager's RotationSucceeded event for the managed secret (no database needed)."""
    from moto.secretsmanager.models import secretsmanager_backends  # noqa: PLC0415

    from petclinic_local.moto_compat.secretsmanager import rotation_event  # noqa: PLC0415

    secret = secretsmanager_backends[ACCOUNT][cloud.region].secrets[cloud.seeded["databaseSecretArn"]]
    cloud.client("events").put_events(Entries=[rotation_event(secret, "RotationSucceeded")])
    cloud.wait_until_quiet()
    return Story("customers-service")


def claimed_by_a_dead_execution(cloud: LocalCloud) -> Story:
    """The current version was claimed by an operator's execution that died before restarting."""
    sfn = cloud.client("stepfunctions")
    secrets = cloud.client("secretsmanager")
    arn = cloud.seeded["databaseSecretArn"]
    stages = secrets.describe_secret(SecretId=arn)["VersionIdsToStages"]
    current = next(version for version, labels in stages.items() if "AWSCURRENT" in labels)
    rollout = cloud.outputs["RotationRolloutStateMachineArn"]
    dead = sfn.start_execution(stateMachineArn=rollout, input='{"secret": "not-a-secret"}')["executionArn"]
    cloud.wait_until_quiet()
    cloud.client("dynamodb").put_item(
        TableName=cloud.stack.resources["DeliveriesTable"] if cloud.stack else "",
        Item={"deliveryKey": {"S": f"rotation:{arn}@{current}"}, "executionArn": {"S": dead}},
    )
    return rotation_succeeded(cloud)


def operator_rotation(cloud: LocalCloud) -> Story:
    """An operator's "rotate now" on the real database: rotate, then restart the users."""
    from petclinic_local.rotations import start_rotation  # noqa: PLC0415

    start_rotation(cloud)
    cloud.wait_until_quiet(timeout=300)
    return Story("customers-service")


def slow_operator_rotation(cloud: LocalCloud) -> Story:
    """The rotation outlasts the workflow's first check, so the check looks for a failed step."""
    from petclinic_local.rotations import start_rotation  # noqa: PLC0415

    with cloud.holding_background():
        execution = start_rotation(cloud)
        wait_for(
            lambda: _entered(cloud, execution, "FindFailedStep") or not running(cloud, ROLLOUT),
            what="the first check of the rotation",
        )
    cloud.wait_until_quiet(timeout=300)
    return Story("customers-service")


def _entered(cloud: LocalCloud, execution_arn: str, state: str) -> bool:
    events = cloud.client("stepfunctions").get_execution_history(executionArn=execution_arn, maxResults=1000)
    return any(e.get("stateEnteredEventDetails", {}).get("name") == state for e in events["events"])


ROTATION_SCENARIOS: dict[str, Callable[[LocalCloud], Story]] = {
    "DescribeSecretToRotate": operator_rotation,
    "ClaimRollout": operator_rotation,
    "RotateSecret": operator_rotation,
    "CheckRotation": operator_rotation,
    "FindFailedStep": slow_operator_rotation,
    "DescribeRotatedSecret": rotation_succeeded,
    "RecordRollout": rotation_succeeded,
    "ReadClaim": claimed_by_a_dead_execution,
    "DescribeClaimant": claimed_by_a_dead_execution,
    "TakeOverClaim": claimed_by_a_dead_execution,
    "ListServices": rotation_succeeded,
    "DescribeService": rotation_succeeded,
    "ReadTaskDefinition": rotation_succeeded,
    "RestartService": rotation_succeeded,
    "RecordResult": rotation_succeeded,
    "Notify": rotation_succeeded,
    "PublishMetrics": rotation_succeeded,
}
NEEDS_DATABASE = {
    name
    for name, scenario in ROTATION_SCENARIOS.items()
    if scenario in (operator_rotation, slow_operator_rotation)
}

ROTATION_ACCOUNTED = {"SUCCEEDED", "DUPLICATE"}


def rotation_known_state(cloud: LocalCloud, *, strict: bool) -> list[str]:
    """The services that read the secret, the secret's versions and the rollout executions."""
    problems: list[str] = []
    for service in USERS_OF_THE_SECRET:
        problems += [f"{service}: {p}" for p in known_state(cloud, Story(service), strict=strict)]
    stages = cloud.client("secretsmanager").describe_secret(SecretId=cloud.seeded["databaseSecretArn"])[
        "VersionIdsToStages"
    ]
    current = [version for version, labels in stages.items() if "AWSCURRENT" in labels]
    pending = [v for v, labels in stages.items() if "AWSPENDING" in labels and "AWSCURRENT" not in labels]
    if len(current) != 1:
        problems.append(f"AWSCURRENT is on {current}")
    if pending:
        problems.append(f"AWSPENDING left on {pending}")
    restarted = {
        row["service"]
        for row in cloud.deployments()
        if row.get("secretVersion") in current and row["result"] == "SUCCEEDED"
    }
    rollouts = cloud.executions(ROLLOUT)
    # A stopped execution reports itself by its status (someone stopped it), a failed one by its error.
    reported = any(e["status"] == "ABORTED" or e.get("error") for e in rollouts if e["status"] != "SUCCEEDED")
    for execution in rollouts:
        if execution["status"] == "SUCCEEDED" and execution["output"]["result"] not in ROTATION_ACCOUNTED:
            problems.append(f"{execution['executionArn']} succeeded with {execution['output']['result']}")
    not_restarted = sorted(set(USERS_OF_THE_SECRET) - restarted)
    if not_restarted and (strict or not reported):
        # What a failure needs to explain itself: how each rollout ended, what the ledger says.
        ended = [(e["status"], e.get("error"), str(e.get("cause"))[:3000]) for e in rollouts]
        rows = [
            {k: row.get(k) for k in ("service", "result", "reason", "secretVersion")}
            for row in cloud.deployments()
            if row["service"] in not_restarted
        ]
        problems.append(
            f"not restarted after the rotation, and no execution says so: {not_restarted}; "
            f"current version {current}; rollouts {ended}; their ledger rows {rows}"
        )
    return problems


def rotation_successor(cloud: LocalCloud) -> None:
    """The outage is over: the operator restarts the services that read the current version."""
    cloud.faults.clear()
    cloud.client("stepfunctions").start_execution(
        stateMachineArn=cloud.outputs["RotationRolloutStateMachineArn"],
        input=json.dumps({"secret": cloud.seeded["databaseSecretArn"], "restartOnly": True}),
    )
    cloud.wait_until_quiet(timeout=300)
