"""The coalescing decisions, one by one: the lease states' DynamoDB requests exactly as the shipped
deploy.asl.json builds them (its Arguments rendered by the JSONata evaluator the local cloud uses),
sent to DynamoDB (moto) in the orders that matter."""

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
        self, state: str, execution: str, order: int = 0, lease_seconds: int = 3600
    ) -> dict[str, Any] | None:
        """Run one lease state for an execution; None when its condition does not hold."""
        arguments = render(
            STATES[state]["Arguments"],
            {
                "plan": {"service": "visits-service", "leaseSeconds": lease_seconds, "source": "ecr"},
                "order": order,
                "digest": f"sha256:{order}",
                "image": f"image@{order}",
                "tag": str(order),
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

    def item(self) -> dict[str, Any]:
        item: dict[str, Any] = self.client.get_item(
            TableName=TABLE, Key={"service": {"S": "visits-service"}}
        )["Item"]
        return item

    def holder(self) -> str | None:
        holder = self.item().get("leaseHolder")
        return str(holder["S"]).removeprefix(EXECUTION) if holder else None

    def queued_order(self) -> int | None:
        queued = self.item().get("pendingRequest")
        return int(json.loads(queued["S"])["order"]) if queued else None


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


def test_an_expired_lease_is_taken_over_by_a_newer_request_and_the_old_holder_loses_it(lease: Lease) -> None:
    lease.call("AcquireLease", "dead", order=1, lease_seconds=0)
    time.sleep(0.01)
    assert (
        lease.call("QueueBehindRunningDeployment", "b", order=2) is None
    )  # expired: nothing to queue behind
    assert lease.call("AcquireLease", "b", order=2) is not None
    assert lease.holder() == "b"
    assert lease.call("ReleaseLease", "dead") is None
    assert lease.call("TakeQueuedRequest", "dead") is None


def test_a_late_older_image_never_takes_a_free_lease(lease: Lease) -> None:
    lease.call("AcquireLease", "a", order=5)
    lease.call("ReleaseLease", "a")
    assert lease.call("AcquireLease", "late", order=4) is None
    assert lease.call("QueueBehindRunningDeployment", "late", order=4) is None
    assert int(lease.item()["newestOrder"]["N"]) == 5


def test_a_rotation_rollout_holding_the_lease_takes_no_queued_requests(lease: Lease) -> None:
    lease.client.put_item(
        TableName=TABLE,
        Item={
            "service": {"S": "visits-service"},
            "leaseHolder": {"S": "rollout#visits-service"},
            "leaseKind": {"S": "rollout"},
            "leaseExpiresAt": {"N": str(int(time.time() * 1000) + 60_000)},
            "newestOrder": {"N": "1"},
        },
    )
    assert lease.call("AcquireLease", "b", order=2) is None
    assert lease.call("QueueBehindRunningDeployment", "b", order=2) is None  # wait for the lease instead
