"""DynamoDB, as the router's shared state and the conversations' memory.

Router state table (key ``pk``, TTL attribute ``expiresAt``):

    cooldown#<model id>   untilEpoch   the model is skipped until then (every invocation)
    tokens#<YYYY-MM-DD>   tokens       tokens counted against that UTC day's budget

A cooldown is written with a conditional update that keeps a later cooldown already there
(concurrent invocations that see the same throttle write once and never shorten it); tokens are
counted with an atomic ADD. One BatchGetItem per request reads both, and is reused for
``cache_seconds`` within a container (a cooldown written by another container is seen at most
that much later; this container's own writes are seen at once).

Conversations table (key ``conversationId``): the last messages as JSON, the write waiting for
the user's confirmation (``pending`` as JSON, ``pendingId``), with a TTL. ``claim`` removes the
pending write with a condition on its id, so a write is made once however many confirmations race.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from petclinic_ops.domain.genai.chat import Conversation
from petclinic_ops.domain.genai.router import StateSnapshot
from petclinic_ops.domain.genai.writes import PendingWrite
from petclinic_ops.models.genai import Message

if TYPE_CHECKING:
    from types_boto3_dynamodb.client import DynamoDBClient

DAY_TTL_SECONDS = 3 * 86400
COOLDOWN_TTL_EXTRA = 3600


def new_dynamodb() -> Any:
    import boto3  # noqa: PLC0415 - lazy: not on the cold start's import path
    from botocore.config import Config  # noqa: PLC0415

    return boto3.client(
        "dynamodb",
        config=Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 2}),
    )


class DynamoRouterState:
    def __init__(
        self,
        table: str,
        client: DynamoDBClient | None = None,
        *,
        cache_seconds: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.table = table
        self._injected = client
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._cached: tuple[float, str, StateSnapshot] | None = None

    @cached_property
    def client(self) -> DynamoDBClient:
        return self._injected if self._injected is not None else new_dynamodb()

    def snapshot(self, model_ids: Sequence[str], day: str) -> StateSnapshot:
        now = self.clock()
        if self._cached and self._cached[1] == day and now - self._cached[0] < self.cache_seconds:
            return self._cached[2]
        keys = [{"pk": {"S": f"cooldown#{model}"}} for model in dict.fromkeys(model_ids)]
        keys.append({"pk": {"S": f"tokens#{day}"}})
        response = self.client.batch_get_item(
            RequestItems={self.table: {"Keys": keys, "ProjectionExpression": "pk, untilEpoch, tokens"}}
        )
        cooled: dict[str, float] = {}
        tokens = 0
        for item in response.get("Responses", {}).get(self.table, []):
            key = item["pk"]["S"]
            if key.startswith("cooldown#") and "untilEpoch" in item:
                cooled[key.removeprefix("cooldown#")] = float(item["untilEpoch"]["N"])
            elif key.startswith("tokens#") and "tokens" in item:
                tokens = int(item["tokens"]["N"])
        snapshot = StateSnapshot(cooled, tokens)
        self._cached = (now, day, snapshot)
        return snapshot

    def cool_down(self, model_id: str, until: float, now: float) -> None:
        from botocore.exceptions import ClientError  # noqa: PLC0415

        try:
            self.client.update_item(
                TableName=self.table,
                Key={"pk": {"S": f"cooldown#{model_id}"}},
                UpdateExpression="SET untilEpoch = :until, expiresAt = :ttl",
                ConditionExpression="attribute_not_exists(untilEpoch) OR untilEpoch < :until",
                ExpressionAttributeValues={
                    ":until": {"N": f"{until:.3f}"},
                    ":ttl": {"N": str(int(until) + COOLDOWN_TTL_EXTRA)},
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
        if self._cached:
            at, day, snapshot = self._cached
            cooled = {**snapshot.cooled_until, model_id: max(until, snapshot.cooled_until.get(model_id, 0))}
            self._cached = (at, day, StateSnapshot(cooled, snapshot.tokens_today))

    def add_tokens(self, day: str, tokens: int) -> int:
        response = self.client.update_item(
            TableName=self.table,
            Key={"pk": {"S": f"tokens#{day}"}},
            UpdateExpression="ADD tokens :tokens SET expiresAt = if_not_exists(expiresAt, :ttl)",
            ExpressionAttributeValues={
                ":tokens": {"N": str(int(tokens))},
                ":ttl": {"N": str(int(self.clock()) + DAY_TTL_SECONDS)},
            },
            ReturnValues="UPDATED_NEW",
        )
        total = int(response["Attributes"]["tokens"]["N"])
        if self._cached and self._cached[1] == day:
            at, _, snapshot = self._cached
            self._cached = (at, day, StateSnapshot(snapshot.cooled_until, total))
        return total


class DynamoConversationMemory:
    def __init__(
        self,
        table: str,
        client: DynamoDBClient | None = None,
        *,
        ttl_seconds: int = 86400,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.table = table
        self._injected = client
        self.ttl_seconds = ttl_seconds
        self.clock = clock

    @cached_property
    def client(self) -> DynamoDBClient:
        return self._injected if self._injected is not None else new_dynamodb()

    def load(self, conversation_id: str) -> Conversation:
        item = self.client.get_item(
            TableName=self.table,
            Key={"conversationId": {"S": conversation_id}},
            ProjectionExpression="messages, expiresAt, pending",
        ).get("Item")
        if not item or int(item["expiresAt"]["N"]) <= self.clock():
            return Conversation()  # TTL deletion lags behind by up to days: an expired item is not memory
        raw = json.loads(item["messages"]["S"])
        messages = [Message(m["role"], m["text"]) for m in raw if m.get("role") in {"user", "assistant"}]
        pending = PendingWrite.from_json(json.loads(item["pending"]["S"])) if "pending" in item else None
        return Conversation(messages, pending)

    def save(self, conversation_id: str, conversation: Conversation) -> None:
        now = self.clock()
        item: dict[str, Any] = {
            "conversationId": {"S": conversation_id},
            "messages": {"S": json.dumps([{"role": m.role, "text": m.text} for m in conversation.messages])},
            "updatedAt": {"N": str(int(now))},
            "expiresAt": {"N": str(int(now) + self.ttl_seconds)},
        }
        if conversation.pending is not None:
            item["pending"] = {"S": json.dumps(conversation.pending.to_json())}
            item["pendingId"] = {"S": conversation.pending.id}
        self.client.put_item(TableName=self.table, Item=item)

    def claim(self, conversation_id: str, pending_id: str) -> bool:
        from botocore.exceptions import ClientError  # noqa: PLC0415

        try:
            self.client.update_item(
                TableName=self.table,
                Key={"conversationId": {"S": conversation_id}},
                UpdateExpression="REMOVE pending, pendingId",
                ConditionExpression="pendingId = :id",
                ExpressionAttributeValues={":id": {"S": pending_id}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True
