"""The chat API behind API Gateway: the GenAI function's event in, its response out.

    POST /api/genai/chatclient   body: a JSON string (the user's text), as the Spring PetClinic
                                 front-end's chat box sends it; answer: text/plain (Markdown)
    POST /api/genai/chat         {"message", "conversationId"?} ->
                                 {answer, model, toolCalls, usage, fallbacks, route, conversationId}

``ChatApi`` is the two routes with CORS on a REST proxy router (adapters/api_gateway.py: the
answers of Powertools' APIGatewayRestResolver, without importing its event_handler package), and
the assistant assembled from the adapters (``assemble``: the router on Bedrock, the router state
and conversations in DynamoDB, the PetClinic tools over HTTP), once per execution environment. The
event and the bodies are checked by the domain (domain/genai/api.py): bad input is a 4xx naming
the problem (a sentence on /chatclient, whose chat widget shows any body), never a server error;
no model answering is a 503 "Chat is currently unavailable"; a used-up daily budget is a polite
refusal. The chatclient route keeps its conversation in a cookie (the front-end sends none of its
own).

Logs and metrics (through the Telemetry port) carry metadata only (lengths, models, route,
tools, tokens, latency), never the text of a message or of an answer. Metrics have the dimension
``functionVersion`` (the version that ran), which the release workflow's alarms watch.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any

from petclinic_ops.adapters.api_gateway import Cors, Response, RestRouter, cookie
from petclinic_ops.domain.genai.api import (
    ChatInputError,
    chat_request,
    chatclient_message,
    check_event,
    for_chat_widget,
    json_body,
)
from petclinic_ops.domain.telemetry import Telemetry

# The router's errors from the error tree: the router itself is imported with the assistant, on
# the first question (a refused request never loads it).
from petclinic_ops.errors import BudgetExhausted, ChatUnavailable
from petclinic_ops.models.genai import CONVERSATION_ID_PATTERN

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from petclinic_ops.domain.genai.chat import Assistant
    from petclinic_ops.models.genai import ChatAnswer
    from petclinic_ops.settings import GenAiSettings

UNAVAILABLE = "Chat is currently unavailable"
BUDGET_REFUSAL = (
    "I'm sorry, the assistant has answered as many questions as it can today. "
    "Please try again tomorrow, or use the PetClinic pages directly."
)
COOKIE = "petclinic-genai-conversation"
TEXT = "text/plain; charset=utf-8"
JSON = "application/json"


def assemble(config: GenAiSettings) -> Assistant:
    """The router, tools and memory on their AWS and HTTP adapters (clients created on first use)."""
    from petclinic_ops.adapters.genai_bedrock import BedrockConverse, TitanEmbedder  # noqa: PLC0415
    from petclinic_ops.adapters.genai_petclinic import PetClinicHttp  # noqa: PLC0415
    from petclinic_ops.adapters.genai_state import DynamoConversationMemory, DynamoRouterState  # noqa: PLC0415
    from petclinic_ops.domain.genai.chat import Assistant  # noqa: PLC0415
    from petclinic_ops.domain.genai.router import ModelRouter  # noqa: PLC0415
    from petclinic_ops.domain.genai.tools import Toolbox, VetIndex  # noqa: PLC0415

    router = ModelRouter(
        config.to_domain(),
        BedrockConverse(read_timeout=config.model_timeout_seconds),
        DynamoRouterState(config.router_state_table, cache_seconds=config.state_cache_seconds),
    )
    petclinic = PetClinicHttp(
        parameter_path=config.petclinic_parameter_path,
        namespace=config.cloud_map_namespace,
        timeout=config.tool_timeout_seconds,
    )
    toolbox = Toolbox(petclinic, VetIndex(TitanEmbedder(config.embedding_model_id)))
    memory = DynamoConversationMemory(config.conversations_table, ttl_seconds=config.conversation_ttl_seconds)
    return Assistant(router, toolbox, memory)


class _Refused(Exception):
    """Today's token budget is used up."""


class ChatApi:
    """The two routes on one resolver; ``handle`` is the function's call."""

    def __init__(self, settings: Callable[[], GenAiSettings], telemetry: Telemetry) -> None:
        self.settings = settings
        self.telemetry = telemetry
        self.assistant: Callable[[], Assistant] = functools.cache(lambda: assemble(self.settings()))
        app = RestRouter(cors=self._cors(), not_found=self.not_found)
        app.post("/api/genai/chatclient", self.chatclient)
        app.post("/api/genai/chat", self.chat)
        app.on(ChatInputError, self.bad_input)
        app.on(ChatUnavailable, self.unavailable)
        self.app = app

    # ------------------------------------------------------------------ the function's call

    def handle(self, event: Any, context: LambdaContext) -> dict[str, Any]:
        try:
            check_event(event)
        except ChatInputError as exc:  # no part of the event is logged, nor its field names
            self.telemetry.warning("not an API Gateway request", problem=str(exc))
            return _plain(400, {"message": str(exc)})
        self.telemetry.dimension("functionVersion", str(context.function_version))
        try:
            response: dict[str, Any] = self.app.resolve(event)
        except Exception:
            self.telemetry.exception("chat failed")
            response = self._failed(event)
        status = int(response.get("statusCode", 500))
        if event.get("httpMethod") == "POST":
            self.telemetry.metric("ChatRequests", 1)
            self.telemetry.metric("GenAiServerErrors", 1 if status >= 500 else 0)
        return response

    # ------------------------------------------------------------------ routes

    def chatclient(self) -> Response:
        """The front-end's contract: the body is JSON.stringify(text); the answer is the text."""
        text = chatclient_message(self._body(), self.settings().max_message_chars)
        conversation = self._cookie_conversation()
        cookies: tuple[str, ...] = ()
        if conversation is None:
            conversation = _new_conversation()
            cookies = (self._conversation_cookie(conversation),)
        try:
            answer = self._ask(conversation, text)
        except _Refused:
            return Response(200, TEXT, BUDGET_REFUSAL, cookies)
        return Response(200, TEXT, for_chat_widget(answer.answer), cookies)

    def chat(self) -> Response:
        request = chat_request(self._body(), self.settings().max_message_chars)
        conversation = request.conversation_id or _new_conversation()
        try:
            answer = self._ask(conversation, request.message)
        except _Refused:
            refusal = {"answer": BUDGET_REFUSAL, "refused": "daily-budget", "conversationId": conversation}
            return Response(429, JSON, json.dumps(refusal))
        return Response(200, JSON, json.dumps({**answer.to_json(), "conversationId": conversation}))

    def bad_input(self, exc: ChatInputError) -> Response:
        """A 4xx naming the problem; on /chatclient a sentence, as its chat widget shows any body."""
        self.telemetry.info("chat input refused", problem=exc.problem, status=exc.status)
        if self.app.request.path.endswith("/chatclient"):
            return Response(exc.status, TEXT, exc.sentence)
        return _error(exc.status, str(exc))

    def unavailable(self, _: ChatUnavailable) -> Response:
        if self.app.request.path.endswith("/chatclient"):
            return Response(503, TEXT, UNAVAILABLE)
        return _error(503, UNAVAILABLE)

    def not_found(self) -> Response:
        return _error(404, "no such route: POST /api/genai/chatclient or /api/genai/chat")

    # ------------------------------------------------------------------ the turn

    def _ask(self, conversation: str, text: str) -> ChatAnswer:
        started = time.perf_counter()
        telemetry = self.telemetry
        chat_assistant = self.assistant()
        memory_errors = chat_assistant.memory_errors
        state_errors = chat_assistant.router.state_errors
        try:
            answer = chat_assistant.ask(conversation, text)
        except BudgetExhausted:
            telemetry.metric("ChatBudgetRefusals", 1)
            telemetry.warning("chat refused: daily token budget used up")
            raise _Refused from None
        except ChatUnavailable as exc:
            telemetry.metric("GenAiFallbackRate", 100, "Percent")
            telemetry.error("chat unavailable: no model answered", route=str(exc))
            raise
        if answer.route:  # a model was called (a confirmed write calls none)
            telemetry.metric("GenAiFallbackRate", 100 if answer.fallbacks else 0, "Percent")
            telemetry.metric("GenAiFallbacks", answer.fallbacks)
        telemetry.metric("ChatInputTokens", answer.usage.input_tokens)
        telemetry.metric("ChatOutputTokens", answer.usage.output_tokens)
        telemetry.info(
            "chat answered",
            model=answer.model,
            route=[f"{a.model}:{a.outcome}" for a in answer.route],
            fallbacks=answer.fallbacks,
            confirmation_needed=answer.confirmation_needed,
            tools=[f"{t.name}:{'ok' if t.ok else 'error'}" for t in answer.tool_calls],
            input_tokens=answer.usage.input_tokens,
            output_tokens=answer.usage.output_tokens,
            cost_usd=round(answer.cost_usd, 6),
            message_chars=len(text),
            answer_chars=len(answer.answer),
            memory_errors=chat_assistant.memory_errors - memory_errors,
            router_state_errors=chat_assistant.router.state_errors - state_errors,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return answer

    # ------------------------------------------------------------------ input and output

    def _body(self) -> Any:
        request = self.app.request
        return json_body(request.body, base64_encoded=request.is_base64_encoded)

    def _cookie_conversation(self) -> str | None:
        request = self.app.request
        header = request.header("X-Conversation-Id")
        if header and CONVERSATION_ID_PATTERN.match(header):
            return header
        raw = request.header("Cookie") or ""
        try:
            jar = SimpleCookie(raw)
        except CookieError:
            return None
        value = jar[COOKIE].value if COOKIE in jar else None
        return value if value and CONVERSATION_ID_PATTERN.match(value) else None

    def _conversation_cookie(self, conversation: str) -> str:
        return cookie(
            COOKIE, conversation, path="/api/genai", max_age=self.settings().conversation_ttl_seconds
        )

    def _allowed_origin(self) -> str:
        try:
            return self.settings().allowed_origin
        except Exception:  # a broken configuration is reported by the first request
            from petclinic_ops.settings import GenAiSettings  # noqa: PLC0415

            return str(GenAiSettings.model_fields["allowed_origin"].default)

    def _cors(self) -> Cors:
        origin = self._allowed_origin()
        return Cors(
            allow_origin=origin,
            allow_headers=("Content-Type", "X-Conversation-Id", "X-Api-Key"),
            max_age=600,
            allow_credentials=origin != "*",
        )

    def _failed(self, event: dict[str, Any]) -> dict[str, Any]:
        """A 500 in the route's own content type, with the CORS header the browser needs."""
        plain = str(event.get("path", "")).endswith("/chatclient")
        headers = {
            "Content-Type": TEXT if plain else JSON,
            "Access-Control-Allow-Origin": self._allowed_origin(),
        }
        body = UNAVAILABLE if plain else json.dumps({"message": UNAVAILABLE})
        return {"statusCode": 500, "headers": headers, "body": body, "isBase64Encoded": False}


def _new_conversation() -> str:
    return uuid.uuid4().hex


def _error(status: int, message: str) -> Response:
    return Response(status, JSON, json.dumps({"message": message}))


def _plain(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": JSON},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }
