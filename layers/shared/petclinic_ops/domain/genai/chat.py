"""One chat turn: the conversation's memory, the routed model calls and the tool loop.

    answer = Assistant(router, toolbox, memory).ask(conversation_id, text)

The last ``MEMORY_MESSAGES`` messages (user and assistant text) of a conversation are loaded,
the user's text appended, and the router asked. While the model asks for tools (up to
``MAX_TOOL_ROUNDS`` rounds) the toolbox runs them and their results go back to it; a model that
fails in the middle of the loop is replaced by the next one of the chain with the same
conversation. The final text is stored with the question. A memory that cannot be read or
written degrades to a conversation without memory (``memory_errors`` counts it), never to an error.

Writes wait for the user. When the model asks to add an owner or a pet, the toolbox validates
the request (a refusal goes back to the model as the tool's result); a valid one ends the turn
with the assistant stating exactly what it will write (``PendingWrite.question``, not the
model's words), and is kept in the conversation's memory. The next message makes it only if it
confirms ("yes"); the write is then validated again and made, with no model call, and the
memory's conditional ``claim`` makes it once however many confirmations race. Any other message
drops it. So no message, however it is phrased ("Ignore all previous instructions..."), writes
anything by itself, and nothing is written that the user has not read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from petclinic_ops.domain.genai.router import ModelRouter
from petclinic_ops.domain.genai.tools import TOOL_SPECS, WRITE_TOOLS, Toolbox
from petclinic_ops.domain.genai.writes import ADD_OWNER, PENDING_SECONDS, PendingWrite, is_confirmation
from petclinic_ops.models.genai import MEMORY_MESSAGES, ChatAnswer, Message, ToolCall

MAX_TOOL_ROUNDS = 4
NO_ANSWER = "I'm sorry, I could not find an answer to that. Could you rephrase the question?"
SYSTEM_PROMPT = (
    "You are the assistant of Spring PetClinic, a veterinary clinic. You help the staff with "
    "veterinarians, owners, their pets and visits, using the tools to read and change the clinic's "
    "records. Answer professionally and briefly, in Markdown. Use only data the tools return; if "
    "you do not know, say so and ask one clarifying question. When listing vets, mention that the "
    "list may be limited to the most relevant ones. Never invent owners, pets or vets."
)


NOT_KEPT = (
    "I could not keep this change for your confirmation (the conversation memory is unavailable), "
    "so nothing was added. Please ask again in a moment."
)
ONE_AT_A_TIME = "one change at a time: the user must confirm the first change before another is proposed"


@dataclass
class Conversation:
    """What the memory keeps of a conversation: its last messages, and a write the assistant
    proposed that the user has not confirmed yet."""

    messages: list[Message] = field(default_factory=list)
    pending: PendingWrite | None = None


class ConversationMemory(Protocol):
    def load(self, conversation_id: str) -> Conversation:
        """The conversation's remembered messages, oldest first, and its pending write (empty
        when unknown)."""
        ...

    def save(self, conversation_id: str, conversation: Conversation) -> None:
        """Remember these messages (the caller keeps at most ``MEMORY_MESSAGES``) and the
        pending write (None: none)."""
        ...

    def claim(self, conversation_id: str, pending_id: str) -> bool:
        """Take the pending write ``pending_id`` off the conversation: True for the one caller
        that took it, False when it is no longer there."""
        ...


@dataclass
class Assistant:
    router: ModelRouter
    toolbox: Toolbox
    memory: ConversationMemory
    memory_errors: int = 0

    def ask(self, conversation_id: str, text: str) -> ChatAnswer:
        conversation = self._load(conversation_id)
        history = conversation.messages[-MEMORY_MESSAGES:]
        pending = conversation.pending
        if pending is not None and is_confirmation(text):
            return self._confirmed(conversation_id, history, text, pending)
        answer, proposal = self._turn(history, text)
        if proposal is not None:
            answer.answer = proposal.question()
            answer.confirmation_needed = True
        if pending is not None:  # another message than a confirmation drops what was proposed
            answer.answer = f"(I did not add {pending.what}: you did not confirm it.)\n\n{answer.answer}"
        saved = self._save(
            conversation_id,
            Conversation([*history, Message("user", text), Message("assistant", answer.answer)], proposal),
        )
        if proposal is not None and not saved:
            answer.answer, answer.confirmation_needed = NOT_KEPT, False
        return answer

    def _turn(self, history: list[Message], text: str) -> tuple[ChatAnswer, PendingWrite | None]:
        """The model's answer, through up to ``MAX_TOOL_ROUNDS`` rounds of tools; ends early
        with a proposed write (the model's own words are not what the user confirms)."""
        messages: list[dict[str, Any]] = [
            {"role": m.role, "content": [{"text": m.text}]} for m in history
        ] + [{"role": "user", "content": [{"text": text}]}]
        answer = ChatAnswer(answer="", model="")
        proposal: list[PendingWrite] = []
        for _ in range(MAX_TOOL_ROUNDS + 1):
            routed = self.router.converse(messages, system=SYSTEM_PROMPT, tools=TOOL_SPECS)
            result = routed.result
            answer.route.extend(routed.attempts)
            answer.usage.add(result.input_tokens, result.output_tokens)
            answer.cost_usd += routed.target.cost(result.input_tokens, result.output_tokens)
            answer.model = result.model
            tool_uses = [block["toolUse"] for block in result.content if "toolUse" in block]
            if not tool_uses or not routed.target.tools:
                break
            results = [self._tool_result(use, answer, proposal) for use in tool_uses]
            if proposal:
                return answer, proposal[0]
            messages.append({"role": "assistant", "content": result.content})
            messages.append({"role": "user", "content": results})
        answer.answer = _text_of(result.content) or NO_ANSWER
        return answer, None

    def _tool_result(
        self, tool_use: dict[str, Any], answer: ChatAnswer, proposal: list[PendingWrite]
    ) -> dict[str, Any]:
        name = str(tool_use.get("name"))
        if name not in WRITE_TOOLS:
            result, call = self.toolbox.run(name, tool_use.get("input"))
        elif proposal:
            result, call = {"error": ONE_AT_A_TIME}, ToolCall(name, False, 0.0, ONE_AT_A_TIME)
        else:
            pending, result, call = self.toolbox.propose(name, tool_use.get("input"))
            if pending is not None:
                proposal.append(pending)
        answer.tool_calls.append(call)
        return {
            "toolResult": {
                "toolUseId": tool_use.get("toolUseId"),
                "content": [{"json": result}],
                "status": "success" if call.ok else "error",
            }
        }

    def _confirmed(
        self, conversation_id: str, history: list[Message], text: str, pending: PendingWrite
    ) -> ChatAnswer:
        """The user confirmed: make the write (once), no model call."""
        answer = ChatAnswer(answer="", model="")
        if pending.expired(self.toolbox.clock()):
            answer.answer = (
                f"I did not add {pending.what}: more than {PENDING_SECONDS // 60} minutes passed "
                "since I asked. Ask me again to add it."
            )
        elif not self._claim(conversation_id, pending.id):
            answer.answer = f"I did not add {pending.what} again: that change was already made or dropped."
        else:
            result, call = self.toolbox.execute(pending)
            answer.tool_calls.append(call)
            answer.answer = (
                _written(pending, result)
                if call.ok
                else f"I could not add {pending.what}: {result['error']}."
            )
        self._save(
            conversation_id,
            Conversation([*history, Message("user", text), Message("assistant", answer.answer)]),
        )
        return answer

    def _load(self, conversation_id: str) -> Conversation:
        try:
            return self.memory.load(conversation_id)
        except Exception:
            self.memory_errors += 1
            return Conversation()

    def _save(self, conversation_id: str, conversation: Conversation) -> bool:
        conversation.messages = conversation.messages[-MEMORY_MESSAGES:]
        try:
            self.memory.save(conversation_id, conversation)
        except Exception:
            self.memory_errors += 1
            return False
        return True

    def _claim(self, conversation_id: str, pending_id: str) -> bool:
        try:
            return self.memory.claim(conversation_id, pending_id)
        except Exception:  # unknown whether it was taken: do not write
            self.memory_errors += 1
            return False


def _written(pending: PendingWrite, result: dict[str, Any]) -> str:
    if pending.tool == ADD_OWNER:
        owner = result.get("owner") or {}
        return f"Added {pending.what} (owner id {owner.get('id')})."
    pet = result.get("pet") or {}
    return f"Added {pending.what} (pet id {pet.get('id')})."


def _text_of(content: list[dict[str, Any]]) -> str:
    return "\n".join(str(block["text"]) for block in content if "text" in block).strip()
