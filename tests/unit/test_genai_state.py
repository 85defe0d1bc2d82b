"""The router's shared state and the conversation memory on DynamoDB (moto): the conditional
cooldown write, atomic token counts under concurrency, two routers sharing one table, the TTL,
a pending write kept with the conversation and claimed once."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any
from unittest import mock

import boto3
import pytest
from genai_fakes import ScriptedModels, create_genai_tables
from moto import mock_aws

from petclinic_local import moto_compat
from petclinic_local.cloud import FAKE_CREDENTIALS, MOTO_CONFIG
from petclinic_ops.adapters.genai_state import DynamoConversationMemory, DynamoRouterState
from petclinic_ops.domain.genai.chat import Conversation
from petclinic_ops.domain.genai.router import ModelRouter, RouterConfig
from petclinic_ops.domain.genai.writes import owner_write
from petclinic_ops.models.genai import Message, ModelTarget

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
TITAN = "amazon.titan-text-express-v1"
NOW = 1_800_000_000.0


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with (
        mock.patch.dict(os.environ, FAKE_CREDENTIALS),
        mock_aws(config=MOTO_CONFIG),
        moto_compat.install(moto_compat.InertHooks()),
    ):
        client = boto3.client("dynamodb", region_name="us-west-2")
        create_genai_tables(client)
        yield client


def test_a_cooldown_keeps_the_later_end(dynamodb: Any) -> None:
    state = DynamoRouterState("router", dynamodb, cache_seconds=0, clock=lambda: NOW)
    state.cool_down(HAIKU, NOW + 300, NOW)
    state.cool_down(HAIKU, NOW + 10, NOW)  # conditional write fails quietly: the later end stays
    item = dynamodb.get_item(TableName="router", Key={"pk": {"S": f"cooldown#{HAIKU}"}})["Item"]
    assert float(item["untilEpoch"]["N"]) == NOW + 300
    assert int(item["expiresAt"]["N"]) == int(NOW + 300) + 3600
    assert state.snapshot([HAIKU, TITAN], "2027-01-15").cooled_until == {HAIKU: NOW + 300}


def test_token_counts_are_atomic_under_concurrent_invocations(dynamodb: Any) -> None:
    states = [DynamoRouterState("router", dynamodb, cache_seconds=0) for _ in range(4)]

    def count(state: DynamoRouterState) -> None:
        for _ in range(25):
            state.add_tokens("2027-01-15", 10)

    threads = [threading.Thread(target=count, args=(state,)) for state in states]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert states[0].snapshot([HAIKU], "2027-01-15").tokens_today == 4 * 25 * 10


def test_two_routers_share_the_cooldown_through_the_table(dynamodb: Any) -> None:
    config = RouterConfig(chain=(ModelTarget.of(HAIKU), ModelTarget.of(TITAN)), cooldown_seconds=60)
    question = [{"role": "user", "content": [{"text": "hello"}]}]
    first = ModelRouter(
        config, ScriptedModels({HAIKU: ["throttled"]}), DynamoRouterState("router", dynamodb, cache_seconds=0)
    )
    first.converse(question, system="", tools=[])
    second_models = ScriptedModels()
    second = ModelRouter(config, second_models, DynamoRouterState("router", dynamodb, cache_seconds=0))
    routed = second.converse(question, system="", tools=[])
    assert second_models.models_called() == [TITAN]
    assert [a.outcome for a in routed.attempts] == ["skipped_cooldown", "ok"]


def test_the_snapshot_is_reused_for_cache_seconds_but_own_writes_show_at_once(dynamodb: Any) -> None:
    clock = [NOW]
    state = DynamoRouterState("router", dynamodb, cache_seconds=1.0, clock=lambda: clock[0])
    other = DynamoRouterState("router", dynamodb, cache_seconds=0)
    assert state.snapshot([HAIKU], "d").cooled_until == {}
    other.cool_down(HAIKU, NOW + 60, NOW)
    assert state.snapshot([HAIKU], "d").cooled_until == {}  # cached
    state.add_tokens("d", 5)
    assert state.snapshot([HAIKU], "d").tokens_today == 5
    clock[0] += 1.5
    assert state.snapshot([HAIKU], "d").cooled_until == {HAIKU: NOW + 60}


def test_conversation_memory_round_trip_and_expiry(dynamodb: Any) -> None:
    clock = [NOW]
    memory = DynamoConversationMemory("conversations", dynamodb, ttl_seconds=60, clock=lambda: clock[0])
    messages = [Message("user", "Hi"), Message("assistant", "Hello")]
    memory.save("c-1", Conversation(messages))
    assert memory.load("c-1") == Conversation(messages)
    assert memory.load("unknown") == Conversation()
    clock[0] += 61  # past the TTL: DynamoDB may not have deleted it yet, but it is no memory
    assert memory.load("c-1") == Conversation()


def test_a_pending_write_is_kept_and_claimed_once_by_concurrent_confirmations(dynamodb: Any) -> None:
    memory = DynamoConversationMemory("conversations", dynamodb, clock=lambda: NOW)
    owner = {"firstName": "Jane", "lastName": "Doe", "address": "1 Main St", "city": "Springfield",
             "telephone": "5551234567"}  # fmt: skip
    pending = owner_write(owner, NOW)
    memory.save("c-2", Conversation([Message("user", "add Jane")], pending))
    assert memory.load("c-2").pending == pending
    claims: list[bool] = []
    threads = [
        threading.Thread(target=lambda: claims.append(memory.claim("c-2", pending.id))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claims) == [False] * 7 + [True]
    assert memory.load("c-2").pending is None
    assert memory.load("c-2").messages == [Message("user", "add Jane")]
    assert memory.claim("unknown", pending.id) is False
