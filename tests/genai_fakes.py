"""In-memory fakes of the GenAI domain's ports (router state, conversation memory, Bedrock,
embeddings), checked against their Protocols (mypy in `make types`; a signature test in
tests/unit/test_genai_router.py).

``ScriptedModels`` answers Converse per model from a script: an exception kind to raise
(``ModelFailure``), or a reply. It records every call with the request it got.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from petclinic_ops.domain.genai.chat import Conversation
from petclinic_ops.domain.genai.router import ConverseRequest, ConverseResult, ModelFailure, StateSnapshot
from petclinic_ops.models.genai import ModelTarget

if TYPE_CHECKING:
    from petclinic_ops.domain.genai.chat import ConversationMemory
    from petclinic_ops.domain.genai.router import ConverseClient, RouterState
    from petclinic_ops.domain.genai.tools import Embedder, PetClinicApi


@dataclass
class MemoryRouterState:
    """The router's shared state in memory: one instance shared by several routers is what
    DynamoDB is to concurrent invocations."""

    cooled: dict[str, float] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self, model_ids: Sequence[str], day: str) -> StateSnapshot:
        with self._lock:
            return StateSnapshot(
                {m: self.cooled[m] for m in model_ids if m in self.cooled}, self.tokens.get(day, 0)
            )

    def cool_down(self, model_id: str, until: float, now: float) -> None:
        with self._lock:
            self.cooled[model_id] = max(until, self.cooled.get(model_id, 0.0))

    def add_tokens(self, day: str, tokens: int) -> int:
        with self._lock:
            self.tokens[day] = self.tokens.get(day, 0) + tokens
            return self.tokens[day]


@dataclass
class MemoryConversations:
    """Conversations in memory; ``fail`` makes every call raise (the table unreachable)."""

    conversations: dict[str, Conversation] = field(default_factory=dict)
    fail: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def load(self, conversation_id: str) -> Conversation:
        if self.fail:
            raise ConnectionError("memory down")
        found = self.conversations.get(conversation_id) or Conversation()
        return Conversation(list(found.messages), found.pending)

    def save(self, conversation_id: str, conversation: Conversation) -> None:
        if self.fail:
            raise ConnectionError("memory down")
        self.conversations[conversation_id] = Conversation(list(conversation.messages), conversation.pending)

    def claim(self, conversation_id: str, pending_id: str) -> bool:
        if self.fail:
            raise ConnectionError("memory down")
        with self._lock:
            found = self.conversations.get(conversation_id)
            if found is None or found.pending is None or found.pending.id != pending_id:
                return False
            found.pending = None
            return True


Reply = Callable[[ModelTarget, ConverseRequest], ConverseResult]


def tool_reply(name: str, arguments: dict[str, Any], tool_use_id: str = "t1") -> Reply:
    """A model asking for a tool (the text it says first, then the toolUse block)."""

    def reply(target: ModelTarget, request: ConverseRequest) -> ConverseResult:
        content: list[dict[str, Any]] = [
            {"text": f"Using {name}."},
            {"toolUse": {"toolUseId": tool_use_id, "name": name, "input": arguments}},
        ]
        return ConverseResult("tool_use", content, 100, 20, target.model_id)

    return reply


GEORGE = {"id": 1, "firstName": "George", "lastName": "Franklin", "address": "110 W. Liberty St.",
          "city": "Madison", "telephone": "6085551023"}  # fmt: skip


@dataclass
class MemoryPetClinic:
    """The PetClinic services' API in memory: owners by id (with their pets), the six pet types;
    ``writes`` records every write made."""

    owners: dict[int, dict[str, Any]] = field(default_factory=lambda: {1: dict(GEORGE, pets=[])})
    writes: list[tuple[str, Any]] = field(default_factory=list)

    def list_owners(self) -> list[dict[str, Any]]:
        return list(self.owners.values())

    def get_owner(self, owner_id: int) -> dict[str, Any] | None:
        return self.owners.get(owner_id)

    def pet_types(self) -> list[dict[str, Any]]:
        return [
            {"id": i, "name": n}
            for i, n in enumerate(("cat", "dog", "lizard", "snake", "bird", "hamster"), 1)
        ]

    def add_owner(self, owner: dict[str, str]) -> dict[str, Any]:
        owner_id = max(self.owners) + 1
        created: dict[str, Any] = {**owner, "id": owner_id, "pets": []}
        self.owners[owner_id] = created
        self.writes.append(("owner", owner))
        return created

    def list_vets(self) -> list[dict[str, Any]]:
        return []

    def add_pet(self, owner_id: int, pet: dict[str, Any]) -> dict[str, Any]:
        created = {**pet, "id": 100 + len(self.writes)}
        self.owners[owner_id]["pets"].append(created)
        self.writes.append(("pet", (owner_id, pet)))
        return created


def text_reply(text: str, input_tokens: int = 100, output_tokens: int = 20) -> Reply:
    def reply(target: ModelTarget, request: ConverseRequest) -> ConverseResult:
        return ConverseResult("end_turn", [{"text": text}], input_tokens, output_tokens, target.model_id)

    return reply


@dataclass
class ScriptedModels:
    """Converse per model: ``script[model]`` is a list of steps consumed in order (the last one
    repeats): a failure kind ("throttled", "timeout"...) or a reply function."""

    script: dict[str, list[str | Reply]] = field(default_factory=dict)
    calls: list[tuple[str, ConverseRequest]] = field(default_factory=list)
    default: Reply = field(default_factory=lambda: text_reply("ok"))

    def converse(self, target: ModelTarget, request: ConverseRequest) -> ConverseResult:
        self.calls.append((target.model_id, request))
        steps = self.script.get(target.model_id)
        step: str | Reply = self.default
        if steps:
            step = steps.pop(0) if len(steps) > 1 else steps[0]
        if isinstance(step, str):
            raise ModelFailure(step, f"scripted {step}")  # type: ignore[arg-type]
        return step(target, request)

    def models_called(self) -> list[str]:
        return [model for model, _ in self.calls]


@dataclass
class CountingEmbedder:
    """Wraps an embedding function and counts the texts it embeds."""

    embed_one: Callable[[str], list[float]]
    embedded: list[str] = field(default_factory=list)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.embedded.extend(texts)
        return [self.embed_one(text) for text in texts]


def create_genai_tables(client: Any, router: str = "router", conversations: str = "conversations") -> None:
    """The router state and conversation tables as the template defines their keys (DynamoDB client)."""
    for table, key in ((router, "pk"), (conversations, "conversationId")):
        client.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        )


if TYPE_CHECKING:
    _state: RouterState = MemoryRouterState()
    _memory: ConversationMemory = MemoryConversations()
    _models: ConverseClient = ScriptedModels()
    _embedder: Embedder = CountingEmbedder(lambda text: [0.0])
    _petclinic: PetClinicApi = MemoryPetClinic()
    _any: Any = None
