"""DynamoDB: conditional writes check and write atomically, as DynamoDB's do."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from unittest import mock

from petclinic_local.moto_compat.gap import Gap, Hooks, Patches


def _dynamodb_atomic_writes(_: Hooks) -> Patches:
    from moto.dynamodb.models import DynamoDBBackend  # noqa: PLC0415

    lock = threading.RLock()

    def serialised(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            with lock:
                return original(self, *args, **kwargs)

        return call

    for name in ("put_item", "update_item", "delete_item", "transact_write_items", "get_item"):
        yield mock.patch.object(DynamoDBBackend, name, serialised(getattr(DynamoDBBackend, name)))


GAPS = (
    Gap(
        "dynamodb-atomic-writes",
        "a conditional write checks its condition and writes in two steps with no lock: two requests in "
        "two threads (Step Functions runs executions in threads) can both pass attribute_not_exists(...)",
        "moto/dynamodb/models/__init__.py DynamoDBBackend.update_item (no upstream issue yet)",
        ("dynamodb",),
        _dynamodb_atomic_writes,
    ),
)
