"""moto_compat.dynamodb: conditional writes are atomic."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from moto_gaps import (
    client,
    local_aws,
)


@contextlib.contextmanager
def conditions_meet_halfway() -> Iterator[None]:
    """Each conditional write, after evaluating its condition and before writing, waits (up to
    0.5 s) for another to get as far: unserialised, two writes both evaluate their condition
    before either writes, every time; serialised, the first waits alone, then writes."""
    from moto.dynamodb import models  # noqa: PLC0415
    from moto.dynamodb.models import table  # noqa: PLC0415

    barrier = threading.Barrier(2, timeout=0.5)

    class Halfway:
        def __init__(self, operation: Any) -> None:
            self.operation = operation

        def expr(self, item: Any) -> Any:
            result = self.operation.expr(item)
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()
            return result

    original_filter = table.get_filter_expression
    original_parser = models.create_condition_expression_parser

    def filter_expression(*args: Any, **kwargs: Any) -> Halfway:
        return Halfway(original_filter(*args, **kwargs))

    def condition_parser(*args: Any, **kwargs: Any) -> Any:
        parser = original_parser(*args, **kwargs)
        return mock.Mock(parse=lambda: Halfway(parser.parse()))

    with (
        mock.patch.object(table, "get_filter_expression", filter_expression),
        mock.patch.object(models, "create_condition_expression_parser", condition_parser),
    ):
        yield


def _race_conditional_writes(operation: str) -> list[str]:
    """Two threads write the same new key with attribute_not_exists(pk): who won?"""
    client("dynamodb").create_table(
        TableName="leases",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    clients = [client("dynamodb") for _ in range(2)]
    outcomes: list[str] = []

    def write(ddb: Any, owner: str) -> None:
        try:
            if operation == "put_item":
                ddb.put_item(
                    TableName="leases",
                    Item={"pk": {"S": "lease"}, "owner": {"S": owner}},
                    ConditionExpression="attribute_not_exists(pk)",
                )
            else:
                ddb.update_item(
                    TableName="leases",
                    Key={"pk": {"S": "lease"}},
                    UpdateExpression="SET #o = :o",
                    ExpressionAttributeNames={"#o": "owner"},
                    ExpressionAttributeValues={":o": {"S": owner}},
                    ConditionExpression="attribute_not_exists(pk)",
                )
            outcomes.append("won")
        except ddb.exceptions.ConditionalCheckFailedException:
            outcomes.append("lost")

    threads = [threading.Thread(target=write, args=(ddb, f"owner-{n}")) for n, ddb in enumerate(clients)]
    with conditions_meet_halfway():
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
    return sorted(outcomes)


@pytest.mark.parametrize("operation", ["put_item", "update_item"])
def test_needed_dynamodb_atomic_writes(operation: str) -> None:
    """If this fails, moto fixed dynamodb-atomic-writes: delete the workaround (a conditional
    write checks and writes atomically)."""
    with local_aws(skip={"dynamodb-atomic-writes"}):
        assert _race_conditional_writes(operation) == ["won", "won"]


@pytest.mark.parametrize("operation", ["put_item", "update_item"])
def test_closed_dynamodb_atomic_writes(operation: str) -> None:
    with local_aws():
        assert _race_conditional_writes(operation) == ["lost", "won"]
