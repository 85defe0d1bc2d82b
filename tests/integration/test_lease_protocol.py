"""The lease decisions, one by one: the lease states' DynamoDB requests exactly as the shipped
deploy.asl.json builds them (its Arguments rendered by the JSONata evaluator the local cloud uses),
sent to DynamoDB (moto) in the orders that matter: taking, queueing, releasing, handing the queue
on, and taking over the lease of a dead holder with its deployment in flight."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from template_resources import state_machines

from petclinic_local.jsonata import evaluate_jsonata

ROOT = Path(__file__).resolve().parents[2]
STATES = json.loads((ROOT / "statemachines" / "deploy.asl.json").read_text())["States"]
TABLE = "leases"
EXECUTION = "arn:aws:states:us-west-2:123456789012:execution:petclinic-ops-dev-deploy:"


def render(template: Any, bindings: dict[str, Any]) -> Any:
    """Arguments as Step Functions would send them: every "{% ... %}" string evaluated."""
    if isinstance(template, dict):
        return {key: render(value, bindings) for key, value in template.items()}
    if isinstance(template, list):
        return [render(value, bindings) for value in template]
    if isinstance(template, str) and template.startswith("{%") and template.endswith("%}"):
        return evaluate_jsonata(template[2:-2].strip(), bindings)
    return template


class Lease:
    def __init__(self, client: Any) -> None:
        self.client = client

    def call(
        self,
        state: str,
        execution: str,
        order: int = 0,
        *,
        kind: str = "image",
        lease_seconds: int = 3600,
        seen: dict[str, Any] | None = None,
        ledger_failed: bool = False,
    ) -> dict[str, Any] | None:
        """Run one lease state for an execution; None when its condition does not hold.

        ``seen`` is what InspectLease read (holder and newestOrder) before a queue or takeover."""
        job = {
            "kind": kind,
            "service": "visits-service",
            "order": order if kind == "image" else 0,
            "digest": f"sha256:{order}" if kind == "image" else None,
            "tag": str(order) if kind == "image" else None,
        }
        arguments = render(
            STATES[state]["Arguments"],
            {
                "plan": {"leaseSeconds": lease_seconds},
                "job": job,
                "lease": seen or self.seen(),
                "unfinished": "LedgerUnavailable" if ledger_failed else None,
                "states": {"context": {"Execution": {"Id": EXECUTION + execution}}},
            },
        )
        arguments["TableName"] = TABLE
        try:
            response: dict[str, Any] = self.client.update_item(**arguments)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return response

    def seen(self) -> dict[str, Any]:
        """What InspectLease reads (the same fields its Assign keeps)."""
        item = self.client.get_item(TableName=TABLE, Key={"service": {"S": "visits-service"}}).get("Item", {})
        return {
            "holder": item.get("leaseHolder", {}).get("S"),
            "newestOrder": int(item["newestOrder"]["N"]) if "newestOrder" in item else 0,
        }

    def item(self) -> dict[str, Any]:
        item: dict[str, Any] = self.client.get_item(
            TableName=TABLE, Key={"service": {"S": "visits-service"}}
        )["Item"]
        return item

    def holder(self) -> str | None:
        holder = self.item().get("leaseHolder")
        return str(holder["S"]).removeprefix(EXECUTION) if holder else None

    def queued(self) -> dict[str, Any] | None:
        queued = self.item().get("pendingRequest")
        return json.loads(queued["S"]) if queued else None

    def queued_order(self) -> int | None:
        queued = self.queued()
        return int(queued["order"]) if queued else None

    def park(self, execution: str, deployment: str, record: dict[str, Any]) -> None:
        """What WaitForRollout leaves on the lease while it waits (the token and the record)."""
        self.client.update_item(
            TableName=TABLE,
            Key={"service": {"S": "visits-service"}},
            UpdateExpression="SET deploymentId = :d, taskToken = :t, inflight = :r",
            ConditionExpression="leaseHolder = :me",
            ExpressionAttributeValues={
                ":d": {"S": deployment},
                ":t": {"S": "token"},
                ":r": {"S": json.dumps(record)},
                ":me": {"S": EXECUTION + execution},
            },
        )


@pytest.fixture
def lease() -> Iterator[Lease]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-west-2")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "service", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "service", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield Lease(client)


def test_a_free_lease_is_taken_and_a_held_one_is_not(lease: Lease) -> None:
    assert lease.call("AcquireLease", "a", order=1) is not None
    assert lease.holder() == "a"
    assert lease.call("AcquireLease", "b", order=2) is None
    assert lease.holder() == "a"


def test_newer_requests_queue_and_replace_older_queued_ones(lease: Lease) -> None:
    lease.call("AcquireLease", "a", order=1)
    assert lease.call("QueueBehindRunningDeployment", "b", order=3) is not None
    assert lease.call("QueueBehindRunningDeployment", "c", order=2) is None  # older than the queued one
    assert lease.call("QueueBehindRunningDeployment", "d", order=5) is not None
    assert lease.queued_order() == 5
    assert lease.call("QueueBehindRunningDeployment", "e", order=1) is None  # older than the running one


def test_a_request_queues_only_behind_the_holder_it_saw(lease: Lease) -> None:
    lease.call("AcquireLease", "a", order=1)
    seen = lease.seen()
    lease.call("ReleaseLease", "a")
    lease.call("AcquireLease", "b", order=2)
    assert lease.call("QueueBehindRunningDeployment", "c", order=3, seen=seen) is None
    assert lease.queued() is None


def test_the_holder_takes_the_queued_request_instead_of_releasing(lease: Lease) -> None:
    lease.call("AcquireLease", "a", order=1)
    lease.call("QueueBehindRunningDeployment", "b", order=2)
    assert lease.call("ReleaseLease", "a") is None  # a request is queued: keep the lease
    taken = lease.call("TakeQueuedRequest", "a")
    assert taken is not None
    assert json.loads(taken["Attributes"]["pendingRequest"]["S"])["order"] == 2
    assert lease.holder() == "a"
    assert lease.queued_order() is None
    assert lease.call("ReleaseLease", "a") is not None
    assert lease.holder() is None


def test_only_the_holder_releases(lease: Lease) -> None:
    lease.call("AcquireLease", "a", order=1)
    assert lease.call("ReleaseLease", "b") is None
    assert lease.call("TakeQueuedRequest", "b") is None
    assert lease.holder() == "a"


def test_a_late_older_image_never_takes_a_free_lease(lease: Lease) -> None:
    lease.call("AcquireLease", "a", order=5)
    lease.call("ReleaseLease", "a")
    assert lease.call("AcquireLease", "late", order=4) is None
    assert int(lease.item()["newestOrder"]["N"]) == 5


def test_a_restart_takes_a_free_lease_without_touching_the_order_or_the_queue(lease: Lease) -> None:
    lease.call("AcquireLease", "a", order=5)
    lease.call("QueueBehindRunningDeployment", "b", order=6)
    lease.client.update_item(  # the holder died without handing the queue on, and the lease was cleared
        TableName=TABLE,
        Key={"service": {"S": "visits-service"}},
        UpdateExpression="REMOVE leaseHolder",
    )
    assert lease.call("AcquireLease", "restart", kind="restart") is not None
    assert lease.holder() == "restart"
    assert int(lease.item()["newestOrder"]["N"]) == 6
    assert lease.queued_order() == 6  # deployed after the restart, not lost


def test_a_dead_holders_lease_is_taken_over_with_its_deployment_in_flight(lease: Lease) -> None:
    lease.call("AcquireLease", "dead", order=1)
    record = {"job": {"kind": "image", "order": 1}, "before": "td:1", "after": "td:2", "deploymentId": "d-1"}
    lease.park("dead", "d-1", record)
    lease.call("QueueBehindRunningDeployment", "queued", order=2)

    taken = lease.call("TakeOverLease", "successor", order=3)

    assert taken is not None
    attributes = taken["Attributes"]
    assert json.loads(attributes["inflight"]["S"]) == record  # the orphan, to finish
    assert "taskToken" not in attributes  # the dead execution's token is worthless
    assert lease.holder() == "successor"
    assert lease.queued_order() == 3  # the newest request replaces the older queued one
    assert lease.call("ReleaseLease", "dead") is None  # the dead holder has lost it
    assert lease.call("TakeQueuedRequest", "dead") is None


def test_an_older_request_taking_over_leaves_the_newer_queued_one(lease: Lease) -> None:
    lease.call("AcquireLease", "dead", order=1)
    lease.call("QueueBehindRunningDeployment", "queued", order=5)
    assert lease.call("TakeOverLease", "late", order=3) is not None
    assert lease.holder() == "late"
    assert lease.queued_order() == 5  # deployed by "late" after the orphan; "late" itself is superseded


def test_a_restart_taking_over_keeps_a_queued_image(lease: Lease) -> None:
    lease.call("AcquireLease", "dead", order=1)
    lease.call("QueueBehindRunningDeployment", "queued", order=5)
    assert lease.call("TakeOverLease", "restart", kind="restart") is not None
    queued = lease.queued()
    assert queued is not None
    assert (queued["kind"], queued["order"]) == ("image", 5)  # its new tasks read the new secret too


def test_a_restart_taking_over_an_empty_queue_queues_itself(lease: Lease) -> None:
    lease.call("AcquireLease", "dead", order=1)
    assert lease.call("TakeOverLease", "restart", kind="restart") is not None
    queued = lease.queued()
    assert queued is not None
    assert queued["kind"] == "restart"


def test_a_takeover_loses_to_a_request_queued_since_the_lease_was_read(lease: Lease) -> None:
    lease.call("AcquireLease", "dead", order=1)
    seen = lease.seen()
    lease.call("QueueBehindRunningDeployment", "newer", order=9)
    assert lease.call("TakeOverLease", "successor", order=3, seen=seen) is None
    assert lease.holder() == "dead"  # read again, then decide
    assert lease.queued_order() == 9


def test_two_successors_cannot_both_take_over(lease: Lease) -> None:
    lease.call("AcquireLease", "dead", order=1)
    seen = lease.seen()
    assert lease.call("TakeOverLease", "first", order=2, seen=seen) is not None
    assert lease.call("TakeOverLease", "second", order=3, seen=seen) is None
    assert lease.holder() == "first"


def test_with_the_ledger_down_the_record_stays_on_a_lease_that_expires_now(lease: Lease) -> None:
    lease.call("AcquireLease", "a", order=1)
    record = {"job": {"kind": "image"}, "deploymentId": "d-1"}
    lease.park("a", "d-1", record)
    lease.call("QueueBehindRunningDeployment", "b", order=2)
    assert lease.call("ReleaseLease", "a", ledger_failed=True) is not None
    item = lease.item()
    assert lease.holder() == "a"
    assert json.loads(item["inflight"]["S"]) == record
    assert int(item["leaseExpiresAt"]["N"]) <= int(time.time() * 1000)
    assert lease.queued_order() == 2  # left for the successor, after it records the deployment


RELAY = next(m for m in state_machines() if m.name == "deployment-events").substituted(TableName=TABLE)[
    "States"
]


def relay(lease: Lease, deployment: str, event_name: str = "SERVICE_DEPLOYMENT_COMPLETED") -> str | None:
    """The ECS-event relay's one lease write (the task-token relay as the deploy workflow's relay
    gets it) for an event of ``deployment``: the token it resumes ('' when it keeps the outcome
    for later), or None when nobody holds the lease (it changes nothing)."""
    event = {
        "resources": ["arn:aws:ecs:us-west-2:123456789012:service/petclinic-dev/visits-service"],
        "detail": {"eventName": event_name, "deploymentId": deployment},
    }
    context: dict[str, Any] = {"states": {"input": event}}
    variables = {name: render(value, context) for name, value in RELAY["ReadEvent"]["Assign"].items()}
    state = RELAY["RecordOutcome"]
    try:
        response = lease.client.update_item(**render(state["Arguments"], {**context, **variables}))
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return None
        raise
    resumed = {**context, "states": {**context["states"], "result": response}, **variables}
    token: str = render(state["Assign"]["taskToken"], resumed)
    return token


def wait_for_rollout(lease: Lease, execution: str, deployment: str) -> bool:
    """WaitForRollout's own write (the shipped state's Arguments): park the token on the lease;
    False when its condition fails (the outcome arrived first: the execution reads it)."""
    bindings = {
        "job": {"service": "visits-service", "kind": "image"},
        "deploymentId": deployment,
        "startedAt": "2026-12-07T00:00:00Z",
        "previousTaskDefinition": "td:1",
        "newTaskDefinition": "td:2",
        "rollbackDeploymentId": None,
        "outcome": None,
        "states": {"context": {"Execution": {"Id": EXECUTION + execution}, "Task": {"Token": "token"}}},
    }
    arguments = render(STATES["WaitForRollout"]["Arguments"], bindings)
    arguments["TableName"] = TABLE
    try:
        lease.client.update_item(**arguments)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def test_an_event_after_the_park_resumes_the_parked_execution(lease: Lease) -> None:
    lease.call("AcquireLease", "a", order=1)
    assert wait_for_rollout(lease, "a", "d-1")
    assert relay(lease, "d-1") == "token"
    assert lease.item()["outcomes"]["M"]["d-1"]["M"]["status"]["S"] == "COMPLETED"


def test_an_event_before_the_park_is_kept_and_the_park_then_fails_so_nothing_waits_for_it(
    lease: Lease,
) -> None:
    """One atomic write records the outcome and reads the lease back: whichever comes first, the
    event or the park, the execution either gets the token back or finds the outcome; it never
    waits for an event that has come and gone."""
    lease.call("AcquireLease", "a", order=1)
    assert relay(lease, "d-1", "SERVICE_DEPLOYMENT_FAILED") == ""  # kept: nobody parked yet
    assert lease.item()["outcomes"]["M"]["d-1"]["M"]["status"]["S"] == "FAILED"
    assert not wait_for_rollout(lease, "a", "d-1")  # so the execution reads the outcome instead
    assert "taskToken" not in lease.item()


def test_an_event_for_another_deployment_resumes_nobody(lease: Lease) -> None:
    lease.call("AcquireLease", "a", order=1)
    assert wait_for_rollout(lease, "a", "d-2")
    assert relay(lease, "d-1") == ""  # a late event of an earlier deployment: kept, not resumed
    assert lease.item()["taskToken"]["S"] == "token"


def test_an_event_for_a_service_nobody_holds_changes_nothing(lease: Lease) -> None:
    lease.client.put_item(TableName=TABLE, Item={"service": {"S": "visits-service"}})
    assert relay(lease, "d-1") is None
    assert lease.item() == {"service": {"S": "visits-service"}}
