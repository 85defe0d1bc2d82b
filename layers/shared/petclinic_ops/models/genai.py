"""Models of the GenAI function: the chat API's inputs and outputs, the model chain, and the
records the router and the tools hand around.

The API's bodies are checked by ``petclinic_ops.domain.genai.api`` (size and depth before
parsing, then each field); the records the domain builds on the hot path are plain frozen
dataclasses (no validation cost).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

# The longest user message accepted (characters, after trimming): about 500 tokens, far more
# than a chat box question, far less than a prompt that would crowd out the conversation.
MAX_MESSAGE_CHARS = 2000
MEMORY_MESSAGES = 10  # the last 10 messages of a conversation are kept (user and assistant)
CONVERSATION_ID_PATTERN = re.compile(r"\A[A-Za-z0-9_.:-]{1,64}\Z")

Role = Literal["user", "assistant"]


# --------------------------------------------------------------------------- prices and models

# List prices in USD per 1,000 tokens (input, output), on-demand, us-west-2, as of 2025-06-01
# (Amazon Bedrock pricing page). Parameters, not facts of nature: the benchmark takes them as
# arguments and the README says when they were read.
PRICES_AS_OF = "2025-06-01"
LIST_PRICES: dict[str, tuple[float, float]] = {
    "anthropic.claude-3-haiku": (0.00025, 0.00125),
    "anthropic.claude-3-5-sonnet": (0.003, 0.015),
    "anthropic.claude-3-sonnet": (0.003, 0.015),
    "amazon.titan-text-express": (0.0002, 0.0006),
    "amazon.titan-text-lite": (0.00015, 0.0002),
    "amazon.titan-text-premier": (0.0005, 0.0015),
}
# A prompt router picks a model per request; price it as its most expensive member would cost.
PROMPT_ROUTER_PRICE = LIST_PRICES["anthropic.claude-3-5-sonnet"]


@dataclass(frozen=True, slots=True)
class ModelTarget:
    """One entry of the model chain.

    ``model_id`` is what Converse takes: a foundation model id, an inference profile id or a
    prompt router ARN. ``tools``: whether it is offered the PetClinic tools (Titan Text has no
    tool use); ``system``: whether it takes a system prompt (Titan Text does not: the prompt
    goes into the first user message)."""

    model_id: str
    tools: bool
    system: bool
    input_price: float
    output_price: float

    @classmethod
    def of(cls, model_id: str) -> ModelTarget:
        model_id = model_id.strip()
        if not model_id:
            raise ValueError("a model id must not be empty")
        if ":prompt-router/" in model_id or ":default-prompt-router/" in model_id:
            return cls(model_id, True, True, *PROMPT_ROUTER_PRICE)
        # Inference profiles prefix the model id with a geography ("us.anthropic...").
        bare = model_id.split(".", 1)[1] if re.match(r"\A(us|eu|apac|global)\.", model_id) else model_id
        prices = next((p for prefix, p in LIST_PRICES.items() if bare.startswith(prefix)), None)
        if prices is None:
            raise ValueError(
                f"unknown model {model_id!r}: expected an Anthropic Claude or Amazon Titan Text model id, "
                "an inference profile or a prompt router ARN"
            )
        titan = bare.startswith("amazon.titan-text")
        return cls(model_id, tools=not titan, system=not titan, input_price=prices[0], output_price=prices[1])

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_price + output_tokens * self.output_price) / 1000

    @property
    def blended_price(self) -> float:
        """Price of a typical chat turn (3 input tokens per output token), to rank models."""
        return 3 * self.input_price + self.output_price


# --------------------------------------------------------------------------- conversation records


@dataclass(frozen=True, slots=True)
class Message:
    """A message of the conversation memory: plain text only (tool calls are not remembered)."""

    role: Role
    text: str


@dataclass(slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens

    def add(self, input_tokens: int, output_tokens: int) -> None:
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens


@dataclass(frozen=True, slots=True)
class Attempt:
    """One model call of a request: which model, and how it went."""

    model: str
    outcome: Literal["ok", "throttled", "unavailable", "timeout", "not_ready", "error", "skipped_cooldown"]
    ms: float = 0.0


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool call of a request; ``error`` says why a failed one failed (what the model was
    told: the service and what went wrong, never the service's error body)."""

    name: str
    ok: bool
    ms: float
    error: str | None = None


@dataclass(slots=True)
class ChatAnswer:
    answer: str
    model: str
    usage: Usage = field(default_factory=Usage)
    route: list[Attempt] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    cost_usd: float = 0.0
    confirmation_needed: bool = False  # the answer proposes a write the next message must confirm

    @property
    def fallbacks(self) -> int:
        """Steps down the chain: models that failed or were skipped while cooling down."""
        return sum(1 for attempt in self.route if attempt.outcome != "ok")

    def to_json(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "model": self.model or None,  # None: no model was called (a confirmed write)
            "toolCalls": [
                {"name": t.name, "ok": t.ok, **({} if t.ok or not t.error else {"error": t.error})}
                for t in self.tool_calls
            ],
            "usage": {
                "inputTokens": self.usage.input_tokens,
                "outputTokens": self.usage.output_tokens,
                "totalTokens": self.usage.total,
            },
            "fallbacks": self.fallbacks,
            "route": [{"model": a.model, "outcome": a.outcome} for a in self.route],
            "confirmationNeeded": self.confirmation_needed,
        }
