"""The model router: one Converse call routed along the configured chain of models.

For each call the router reads the shared state once (which models are cooling down, how many
tokens today's budget has used), then tries each model of the chain at most once:

* the order: the chain's; past the budget's degrade threshold, the chain by price, cheapest
  first (the others stay behind it as fallbacks: degrading never excludes a model); past the
  budget nothing is tried (``BudgetExhausted``: the caller refuses politely);
* the models that are not cooling down are tried first, in that order; a model cooling down is
  skipped (recorded as ``skipped_cooldown``) while another may answer, and tried after them,
  the one whose cooldown ends first first: the router never refuses while some model may answer;
* a model that is throttled, unavailable, not ready or times out is cooled down for the
  configured time, in the shared state (every concurrent invocation tries it last from then
  on), and the next model is tried;
* a model without tool use (Titan Text) gets the conversation with its tool blocks written out
  as text and no tool configuration;
* when every model has been tried and none answered: ``ChatUnavailable`` (the API's 503).

Ports (Protocols): ``ConverseClient`` (Bedrock), ``RouterState`` (DynamoDB), a clock. No boto3.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

# The router's errors live in the OpsError tree; importable from here too, where they are raised.
from petclinic_ops.errors import BudgetExhausted as BudgetExhausted  # noqa: PLC0414 - re-exported
from petclinic_ops.errors import ChatUnavailable as ChatUnavailable  # noqa: PLC0414 - re-exported
from petclinic_ops.errors import FailureKind as FailureKind  # noqa: PLC0414 - re-exported
from petclinic_ops.errors import ModelFailure as ModelFailure  # noqa: PLC0414 - re-exported
from petclinic_ops.models.genai import Attempt, ModelTarget

# Failures that say "this model, now": cool it down. An "error" (validation, access denied, a
# model that does not exist) is this request's or this configuration's problem: fall back
# without cooling the model down for everyone.
COOLED_FAILURES: frozenset[str] = frozenset({"throttled", "unavailable", "timeout", "not_ready"})


@dataclass(frozen=True, slots=True)
class ConverseRequest:
    """What one Converse call sends, in Bedrock's shapes (messages, system, toolConfig)."""

    messages: list[dict[str, Any]]
    system: str
    tools: list[dict[str, Any]]
    max_tokens: int
    guardrail: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class ConverseResult:
    stop_reason: str
    content: list[dict[str, Any]]  # the assistant message's content blocks
    input_tokens: int
    output_tokens: int
    model: str  # the model that answered (a prompt router's choice when the target is one)


class ConverseClient(Protocol):
    def converse(self, target: ModelTarget, request: ConverseRequest) -> ConverseResult:
        """One Converse call; raises ``ModelFailure`` when the model did not answer."""
        ...


@dataclass(frozen=True, slots=True)
class StateSnapshot:
    cooled_until: dict[str, float]  # model id -> epoch seconds
    tokens_today: int


class RouterState(Protocol):
    """The state shared by every concurrent invocation (DynamoDB in AWS)."""

    def snapshot(self, model_ids: Sequence[str], day: str) -> StateSnapshot:
        """Cooldowns of these models and the tokens counted for ``day`` (YYYY-MM-DD, UTC)."""
        ...

    def cool_down(self, model_id: str, until: float, now: float) -> None:
        """Cool ``model_id`` down until ``until`` (a later cooldown already there is kept)."""
        ...

    def add_tokens(self, day: str, tokens: int) -> int:
        """Count ``tokens`` against ``day``'s budget; returns the day's total."""
        ...


@dataclass(frozen=True, slots=True)
class RouterConfig:
    chain: tuple[ModelTarget, ...]
    cooldown_seconds: float = 5.0
    daily_token_budget: int = 2_000_000
    degrade_at: float = 0.8  # fraction of the budget after which the cheapest models go first
    max_tokens: int = 512  # per Converse call (the answer's length)
    guardrail: dict[str, str] | None = None

    def by_price(self) -> tuple[ModelTarget, ...]:
        """The chain, cheapest first (the chain's order among equal prices)."""
        return tuple(sorted(self.chain, key=lambda target: target.blended_price))


@dataclass
class Routed:
    """A routed call's answer and the route it took."""

    result: ConverseResult
    target: ModelTarget
    attempts: list[Attempt] = field(default_factory=list)


def utc_day(now: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(now))


class ModelRouter:
    def __init__(
        self,
        config: RouterConfig,
        client: ConverseClient,
        state: RouterState,
        *,
        clock: Callable[[], float] = time.time,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        if not config.chain:
            raise ValueError("the model chain is empty")
        self.config = config
        self._by_price = config.by_price()
        self.client = client
        self.state = state
        self.clock = clock
        self.timer = timer
        self.state_errors = 0  # reads or writes of the shared state that failed (the chat went on)

    def candidates(self, snapshot: StateSnapshot) -> tuple[ModelTarget, ...]:
        """The chain in the order the budget puts it; raises ``BudgetExhausted`` past the budget."""
        budget = self.config.daily_token_budget
        if snapshot.tokens_today >= budget:
            raise BudgetExhausted(f"{snapshot.tokens_today} of {budget} tokens used today")
        if snapshot.tokens_today >= budget * self.config.degrade_at:
            return self._by_price
        return self.config.chain

    def order(self, snapshot: StateSnapshot, now: float) -> tuple[list[ModelTarget], list[ModelTarget]]:
        """The models to try: those ready (in the budget's order), then those cooling down, the one
        whose cooldown ends first first."""
        cooled = snapshot.cooled_until
        ready: list[ModelTarget] = []
        cooling: list[ModelTarget] = []
        for target in self.candidates(snapshot):
            (cooling if cooled.get(target.model_id, 0.0) > now else ready).append(target)
        if len(cooling) > 1:
            cooling.sort(key=lambda target: cooled[target.model_id])
        return ready, cooling

    def converse(self, messages: list[dict[str, Any]], *, system: str, tools: list[dict[str, Any]]) -> Routed:
        now = self.clock()
        day = utc_day(now)
        ready, cooling = self.order(self._snapshot(day), now)
        attempts = [Attempt(target.model_id, "skipped_cooldown") for target in cooling] if ready else []
        for target in (*ready, *cooling):
            result = self._call(target, messages, system=system, tools=tools, attempts=attempts, now=now)
            if result is not None:
                self._guarded(self.state.add_tokens, day, result.input_tokens + result.output_tokens)
                return Routed(result, target, attempts)
        tried = [a for a in attempts if a.outcome != "skipped_cooldown"]
        raise ChatUnavailable(", ".join(f"{a.model}: {a.outcome}" for a in tried) or "no model")

    def _call(
        self,
        target: ModelTarget,
        messages: list[dict[str, Any]],
        *,
        system: str,
        tools: list[dict[str, Any]],
        attempts: list[Attempt],
        now: float,
    ) -> ConverseResult | None:
        """One model's answer, or None (its failure recorded, and cooled down when it says
        "this model, now")."""
        request = self._request(target, messages, system, tools)
        started = self.timer()
        try:
            result = self.client.converse(target, request)
        except ModelFailure as failure:
            attempts.append(Attempt(target.model_id, failure.kind, (self.timer() - started) * 1000))
            if failure.kind in COOLED_FAILURES:
                until = self.clock() + self.config.cooldown_seconds
                self._guarded(self.state.cool_down, target.model_id, until, now)
            return None
        attempts.append(Attempt(target.model_id, "ok", (self.timer() - started) * 1000))
        return result

    def _snapshot(self, day: str) -> StateSnapshot:
        """The shared state; unreadable (DynamoDB down): no cooldowns and no tokens counted, so the
        chat goes on with the whole chain (fail open; ``state_errors`` counts it)."""
        try:
            return self.state.snapshot([t.model_id for t in self.config.chain], day)
        except Exception:  # any failure of the state store
            self.state_errors += 1
            return StateSnapshot({}, 0)

    def _guarded(self, write: Callable[..., object], *args: object) -> None:
        try:
            write(*args)
        except Exception:  # a lost cooldown or token count must not fail an answered chat
            self.state_errors += 1

    def _request(
        self, target: ModelTarget, messages: list[dict[str, Any]], system: str, tools: list[dict[str, Any]]
    ) -> ConverseRequest:
        if target.tools and target.system:
            return ConverseRequest(messages, system, tools, self.config.max_tokens, self.config.guardrail)
        return ConverseRequest(
            as_plain_text(messages, system if not target.system else ""),
            system if target.system else "",
            [],
            self.config.max_tokens,
            self.config.guardrail,
        )


def as_plain_text(messages: list[dict[str, Any]], preamble: str) -> list[dict[str, Any]]:
    """A conversation for a model without tool use or system prompt: tool calls and results
    written out as text, consecutive messages of one role merged (Converse wants them to
    alternate, starting with the user), the system prompt in front of the first user message."""
    merged: list[dict[str, Any]] = []
    for message in messages:
        text = "\n".join(_block_text(block) for block in message["content"]).strip()
        if not text:
            continue
        if merged and merged[-1]["role"] == message["role"]:
            merged[-1]["content"][0]["text"] += "\n" + text
        else:
            merged.append({"role": message["role"], "content": [{"text": text}]})
    while merged and merged[0]["role"] != "user":
        merged.pop(0)
    if preamble and merged:
        merged[0]["content"][0]["text"] = f"{preamble}\n\n{merged[0]['content'][0]['text']}"
    return merged


def _block_text(block: dict[str, Any]) -> str:
    if "text" in block:
        return str(block["text"])
    if "toolUse" in block:
        return f"(looked up {block['toolUse']['name']})"
    if "toolResult" in block:
        parts = []
        for item in block["toolResult"].get("content", []):
            if "json" in item:
                import json  # noqa: PLC0415 - only on a fallback to a model without tools

                parts.append(json.dumps(item["json"], separators=(",", ":")))
            elif "text" in item:
                parts.append(str(item["text"]))
        return "Looked-up data: " + " ".join(parts)
    return ""
