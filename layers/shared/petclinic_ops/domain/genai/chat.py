"""One chat turn: the conversation's memory, the routed model calls and the tool loop.

    answer = Assistant(router, toolbox, memory).ask(conversation_id, text)

The last ``MEMORY_MESSAGES`` messages (user and assistant text) of a conversation are loaded,
the user's text appended, and the router asked. While the model asks for tools (up to
``MAX_TOOL_ROUNDS`` rounds) the toolbox runs them and their results go back to it; a model that
fails in the middle of the loop is replaced by the next one of the chain with the same
conversation. The final text is stored with the question. A memory that cannot be read or
written degrades to a conversation without memory (``memory_errors`` counts it), never to an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from petclinic_ops.domain.genai.router import ModelRouter
from petclinic_ops.domain.genai.tools import TOOL_SPECS, Toolbox
from petclinic_ops.models.genai import MEMORY_MESSAGES, ChatAnswer, Message

MAX_TOOL_ROUNDS = 4
NO_ANSWER = "I'm sorry, I could not find an answer to that. Could you rephrase the question?"
SYSTEM_PROMPT = (
    "You are the assistant of Spring PetClinic, a veterinary clinic. You help the staff with "
    "veterinarians, owners, their pets and visits, using the tools to read and change the clinic's "
    "records. Answer professionally and briefly, in Markdown. Use only data the tools return; if "
    "you do not know, say so and ask one clarifying question. When listing vets, mention that the "
    "list may be limited to the most relevant ones. Never invent owners, pets or vets."
)


class ConversationMemory(Protocol):
    def load(self, conversation_id: str) -> list[Message]:
        """The conversation's remembered messages, oldest first (empty when unknown)."""
        ...

    def save(self, conversation_id: str, messages: list[Message]) -> None:
        """Remember these messages (the caller keeps at most ``MEMORY_MESSAGES``)."""
        ...


@dataclass
class Assistant:
    router: ModelRouter
    toolbox: Toolbox
    memory: ConversationMemory
    memory_errors: int = 0

    def ask(self, conversation_id: str, text: str) -> ChatAnswer:
        history = self._load(conversation_id)
        messages: list[dict[str, Any]] = [
            {"role": m.role, "content": [{"text": m.text}]} for m in history
        ] + [{"role": "user", "content": [{"text": text}]}]
        answer = ChatAnswer(answer="", model="")
        for _ in range(MAX_TOOL_ROUNDS + 1):
            routed = self.router.converse(messages, system=SYSTEM_PROMPT, tools=TOOL_SPECS)
            result = routed.result
            answer.route.extend(routed.attempts)
            answer.usage.add(result.input_tokens, result.output_tokens)
            answer.cost_usd += routed.target.cost(result.input_tokens, result.output_tokens)
            answer.model = result.model
            tool_uses = [block["toolUse"] for block in result.content if "toolUse" in block]
            if not tool_uses or not routed.target.tools:
                answer.answer = _text_of(result.content) or NO_ANSWER
                break
            messages.append({"role": "assistant", "content": result.content})
            messages.append(
                {"role": "user", "content": [self._tool_result(use, answer) for use in tool_uses]}
            )
        else:
            answer.answer = _text_of(result.content) or NO_ANSWER
        self._save(conversation_id, [*history, Message("user", text), Message("assistant", answer.answer)])
        return answer

    def _tool_result(self, tool_use: dict[str, Any], answer: ChatAnswer) -> dict[str, Any]:
        result, call = self.toolbox.run(str(tool_use.get("name")), tool_use.get("input"))
        answer.tool_calls.append(call)
        return {
            "toolResult": {
                "toolUseId": tool_use.get("toolUseId"),
                "content": [{"json": result}],
                "status": "success" if call.ok else "error",
            }
        }

    def _load(self, conversation_id: str) -> list[Message]:
        try:
            return self.memory.load(conversation_id)[-MEMORY_MESSAGES:]
        except Exception:
            self.memory_errors += 1
            return []

    def _save(self, conversation_id: str, messages: list[Message]) -> None:
        try:
            self.memory.save(conversation_id, messages[-MEMORY_MESSAGES:])
        except Exception:
            self.memory_errors += 1


def _text_of(content: list[dict[str, Any]]) -> str:
    return "\n".join(str(block["text"]) for block in content if "text" in block).strip()
