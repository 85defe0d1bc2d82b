"""The model router: fallback along the chain, the shared cooldown, the daily budget, what each
model is sent. Domain code with in-memory ports (tests/genai_fakes.py)."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from genai_fakes import MemoryConversations, MemoryPetClinic, MemoryRouterState, ScriptedModels, text_reply
from hypothesis import given, settings
from hypothesis import strategies as st

from petclinic_ops.adapters.genai_petclinic import PetClinicHttp
from petclinic_ops.adapters.genai_state import DynamoConversationMemory
from petclinic_ops.domain.genai.chat import ConversationMemory
from petclinic_ops.domain.genai.router import (
    BudgetExhausted,
    ChatUnavailable,
    ModelRouter,
    RouterConfig,
    RouterState,
    as_plain_text,
    utc_day,
)
from petclinic_ops.domain.genai.tools import PetClinicApi
from petclinic_ops.models.genai import ModelTarget

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
ROUTER = "arn:aws:bedrock:us-west-2:123456789012:default-prompt-router/anthropic.claude:1"
TITAN = "amazon.titan-text-express-v1"
QUESTION = [{"role": "user", "content": [{"text": "Which vets are radiologists?"}]}]
TOOLS = [{"toolSpec": {"name": "listVets", "inputSchema": {"json": {"type": "object"}}}}]
NOW = 1_800_000_000.0


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def router(
    models: ScriptedModels,
    state: MemoryRouterState | None = None,
    *,
    chain: tuple[str, ...] = (HAIKU, TITAN),
    clock: Clock | None = None,
    **config: Any,
) -> ModelRouter:
    return ModelRouter(
        RouterConfig(chain=tuple(ModelTarget.of(m) for m in chain), **config),
        models,
        state or MemoryRouterState(),
        clock=clock or Clock(),
    )


def ask(model_router: ModelRouter) -> Any:
    return model_router.converse(QUESTION, system="be brief", tools=TOOLS)


@pytest.mark.parametrize("kind", ["throttled", "unavailable", "timeout", "not_ready"])
def test_a_failing_model_falls_back_to_the_next_and_is_cooled_down(kind: str) -> None:
    models = ScriptedModels({HAIKU: [kind]})
    state = MemoryRouterState()
    routed = ask(router(models, state, cooldown_seconds=60))
    assert routed.target.model_id == TITAN
    assert [(a.model, a.outcome) for a in routed.attempts] == [(HAIKU, kind), (TITAN, "ok")]
    assert state.cooled == {HAIKU: NOW + 60}


def test_a_request_error_falls_back_without_cooling_the_model_down() -> None:
    models = ScriptedModels({HAIKU: ["error"]})
    state = MemoryRouterState()
    routed = ask(router(models, state))
    assert routed.target.model_id == TITAN
    assert state.cooled == {}


def test_the_cooldown_is_shared_by_every_router_on_the_same_state_and_ends() -> None:
    state = MemoryRouterState()
    clock = Clock()
    first = ScriptedModels({HAIKU: ["throttled"]})
    ask(router(first, state, clock=clock, cooldown_seconds=30))
    other = ScriptedModels()  # another invocation: Haiku would answer, but it is cooling down
    routed = ask(router(other, state, clock=clock, cooldown_seconds=30))
    assert other.models_called() == [TITAN]
    assert [a.outcome for a in routed.attempts] == ["skipped_cooldown", "ok"]
    clock.now += 30.001
    again = ScriptedModels()
    assert ask(router(again, state, clock=clock)).target.model_id == HAIKU


def test_a_later_cooldown_is_never_shortened() -> None:
    state = MemoryRouterState()
    state.cool_down(HAIKU, NOW + 300, NOW)
    state.cool_down(HAIKU, NOW + 10, NOW)
    assert state.cooled[HAIKU] == NOW + 300


def test_every_model_down_is_chat_unavailable() -> None:
    models = ScriptedModels({HAIKU: ["throttled"], TITAN: ["unavailable"]})
    with pytest.raises(ChatUnavailable, match=r"throttled.*unavailable"):
        ask(router(models))


def test_every_model_cooling_down_tries_the_one_whose_cooldown_ends_first() -> None:
    """Never refuse while some model may answer: a cooldown orders the chain, it does not empty it."""
    state = MemoryRouterState({HAIKU: NOW + 10, TITAN: NOW + 3})
    models = ScriptedModels()
    routed = ask(router(models, state))
    assert models.models_called() == [TITAN]
    assert routed.target.model_id == TITAN
    failing = ScriptedModels({TITAN: ["throttled"]})
    assert ask(router(failing, state)).target.model_id == HAIKU
    assert failing.models_called() == [TITAN, HAIKU]


def test_a_cooled_last_model_still_answers_when_the_primary_fails() -> None:
    """One 503 of the chain's last model cools it down; the next request whose primary is
    throttled still reaches it (it used to be refused with 503 without a call)."""
    state = MemoryRouterState()
    clock = Clock()
    first = ScriptedModels({HAIKU: ["throttled"], TITAN: ["unavailable"]})
    with pytest.raises(ChatUnavailable):
        ask(router(first, state, clock=clock, cooldown_seconds=5))
    clock.now += 1
    second = ScriptedModels({HAIKU: ["throttled"]})  # both cooling down; Titan is up again
    routed = ask(router(second, state, clock=clock, cooldown_seconds=5))
    assert routed.target.model_id == TITAN
    assert second.models_called() == [HAIKU, TITAN]
    clock.now += 1
    third = ScriptedModels()  # Haiku's cooldown (renewed last) ends last: Titan first
    assert ask(router(third, state, clock=clock)).target.model_id == TITAN


def test_a_prompt_router_may_lead_the_chain_and_falls_back_like_a_model() -> None:
    models = ScriptedModels({ROUTER: ["throttled"]})
    routed = ask(router(models, chain=(ROUTER, HAIKU, TITAN)))
    assert models.models_called() == [ROUTER, HAIKU]
    assert routed.target.tools
    assert models.calls[1][1].tools == TOOLS


def test_tokens_are_counted_against_the_day() -> None:
    state = MemoryRouterState()
    models = ScriptedModels({HAIKU: [text_reply("a", 120, 30)]})
    ask(router(models, state))
    ask(router(models, state))
    assert state.tokens == {utc_day(NOW): 300}


def test_past_the_degrade_threshold_the_cheapest_model_goes_first_and_the_others_fall_back() -> None:
    state = MemoryRouterState(tokens={utc_day(NOW): 800})
    models = ScriptedModels()
    routed = ask(router(models, state, daily_token_budget=1000, degrade_at=0.8))
    assert models.models_called() == [TITAN]  # Titan Text Express is cheaper than Claude 3 Haiku
    assert routed.target.model_id == TITAN
    throttled = ScriptedModels({TITAN: ["throttled"]})  # degrading never excludes a model
    routed = ask(router(throttled, state, daily_token_budget=1000, degrade_at=0.8))
    assert throttled.models_called() == [TITAN, HAIKU]
    assert routed.target.model_id == HAIKU


def test_past_the_degrade_threshold_models_go_by_price() -> None:
    sonnet = "anthropic.claude-3-5-sonnet-20240620-v1:0"
    chain = (sonnet, HAIKU, TITAN)
    state = MemoryRouterState(tokens={utc_day(NOW): 900})
    models = ScriptedModels({TITAN: ["throttled"], HAIKU: ["unavailable"]})
    routed = ask(router(models, state, chain=chain, daily_token_budget=1000, degrade_at=0.8))
    assert models.models_called() == [TITAN, HAIKU, sonnet]
    assert routed.target.model_id == sonnet


def test_past_the_budget_the_request_is_refused_without_a_call() -> None:
    state = MemoryRouterState(tokens={utc_day(NOW): 1000})
    models = ScriptedModels()
    with pytest.raises(BudgetExhausted, match="1000 of 1000"):
        ask(router(models, state, daily_token_budget=1000))
    assert models.calls == []


def test_max_tokens_and_the_guardrail_go_with_every_call() -> None:
    guardrail = {"guardrailIdentifier": "gr-1", "guardrailVersion": "3"}
    models = ScriptedModels({HAIKU: ["throttled"]})
    ask(router(models, max_tokens=256, guardrail=guardrail))
    assert [(r.max_tokens, r.guardrail) for _, r in models.calls] == [(256, guardrail)] * 2


def test_a_model_without_tools_gets_plain_text_and_the_system_prompt_in_the_first_message() -> None:
    models = ScriptedModels({HAIKU: ["throttled"]})
    conversation: list[dict[str, Any]] = [
        *QUESTION,
        {
            "role": "assistant",
            "content": [
                {"text": "Looking."},
                {"toolUse": {"toolUseId": "t1", "name": "listVets", "input": {}}},
            ],
        },
        {
            "role": "user",
            "content": [{"toolResult": {"toolUseId": "t1", "content": [{"json": {"vets": ["Leary"]}}]}}],
        },
    ]
    router(models).converse(conversation, system="be brief", tools=TOOLS)
    titan_request = models.calls[1][1]
    assert titan_request.tools == []
    assert titan_request.system == ""
    assert [m["role"] for m in titan_request.messages] == ["user", "assistant", "user"]
    assert titan_request.messages[0]["content"][0]["text"].startswith("be brief\n\nWhich vets")
    assert 'Looked-up data: {"vets":["Leary"]}' in titan_request.messages[2]["content"][0]["text"]


def test_as_plain_text_merges_same_role_messages_and_starts_with_the_user() -> None:
    messages = [
        {"role": "assistant", "content": [{"text": "hello"}]},
        {"role": "user", "content": [{"text": "a"}]},
        {"role": "user", "content": [{"text": "b"}]},
    ]
    assert as_plain_text(messages, "") == [{"role": "user", "content": [{"text": "a\nb"}]}]


OUTCOMES = st.sampled_from(["ok", "throttled", "unavailable", "timeout", "not_ready", "error"])


@settings(max_examples=200, deadline=None)
@given(
    outcomes=st.lists(OUTCOMES, min_size=1, max_size=4),
    cooled=st.lists(st.one_of(st.none(), st.integers(1, 50)), min_size=4, max_size=4),
)
def test_the_router_answers_from_the_first_model_that_answers_ready_ones_first(
    outcomes: list[str], cooled: list[int | None]
) -> None:
    """The order: the models not cooling down, in the chain's order; then those cooling down,
    soonest ready first. Each is called at most once; unavailable only when every one failed."""
    chain = (ROUTER, HAIKU, "anthropic.claude-3-5-sonnet-20240620-v1:0", TITAN)[: len(outcomes)]
    until = {m: NOW + c for m, c in zip(chain, cooled, strict=False) if c is not None}
    state = MemoryRouterState(dict(until))
    script = {m: [o if o != "ok" else text_reply("fine")] for m, o in zip(chain, outcomes, strict=True)}
    models = ScriptedModels(script)
    ready = [m for m in chain if m not in until]
    order = ready + sorted(until, key=lambda m: (until[m], chain.index(m)))
    expected = next((m for m in order if not isinstance(script[m][0], str)), None)
    if expected is None:
        with pytest.raises(ChatUnavailable):
            ask(router(models, state, chain=chain))
        assert models.models_called() == order
        return
    routed = ask(router(models, state, chain=chain))
    assert routed.target.model_id == expected
    assert models.models_called() == order[: order.index(expected) + 1]
    skipped = [a.model for a in routed.attempts if a.outcome == "skipped_cooldown"]
    assert skipped == (sorted(until, key=lambda m: (until[m], chain.index(m))) if ready else [])


def test_unknown_models_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"unknown model 'meta\.llama3'"):
        ModelTarget.of("meta.llama3")
    assert ModelTarget.of("us.anthropic.claude-3-haiku-20240307-v1:0").tools


@pytest.mark.parametrize(
    ("fake", "protocol"),
    [
        (MemoryRouterState, RouterState),
        (MemoryConversations, ConversationMemory),
        (MemoryPetClinic, PetClinicApi),
        (DynamoConversationMemory, ConversationMemory),
        (PetClinicHttp, PetClinicApi),
    ],
)
def test_the_fakes_and_adapters_have_their_protocols_signatures(fake: type[Any], protocol: type[Any]) -> None:
    names = [name for name in vars(protocol) if not name.startswith("_")]
    assert names
    for name in names:
        assert inspect.signature(getattr(fake, name)) == inspect.signature(getattr(protocol, name)), name


class BrokenState(MemoryRouterState):
    def snapshot(self, model_ids: Any, day: str) -> Any:
        raise ConnectionError("DynamoDB unreachable")

    def add_tokens(self, day: str, tokens: int) -> int:
        raise ConnectionError("DynamoDB unreachable")

    def cool_down(self, model_id: str, until: float, now: float) -> None:
        raise ConnectionError("DynamoDB unreachable")


def test_an_unreachable_state_store_fails_open_and_is_counted() -> None:
    models = ScriptedModels({HAIKU: ["throttled"]})
    model_router = router(models, BrokenState())
    routed = ask(model_router)
    assert routed.target.model_id == TITAN
    assert model_router.state_errors == 3  # the snapshot, the cooldown, the token count


def test_a_titan_fallback_answers_from_the_looked_up_data() -> None:
    from petclinic_local.simulators.bedrock import BedrockStandIn  # noqa: PLC0415

    conversation = [
        *QUESTION,
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "listVets", "input": {}}}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"json": {"vets": [
            {"firstName": "Helen", "lastName": "Leary", "specialties": ["radiology"]},
            {"firstName": "James", "lastName": "Carter", "specialties": []},
        ]}}]}}]},
    ]  # fmt: skip
    answer = BedrockStandIn().converse(TITAN, {"messages": as_plain_text(conversation, "be brief")})
    assert "Helen Leary" in answer["output"]["message"]["content"][0]["text"]
    assert "James Carter" not in answer["output"]["message"]["content"][0]["text"]
