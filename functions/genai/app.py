"""The PetClinic assistant: a chat API over Amazon Bedrock with the PetClinic tools.

    POST /api/genai/chatclient   body: a JSON string (the user's text), as the Spring PetClinic
                                 front-end's chat box sends it; answer: text/plain (Markdown)
    POST /api/genai/chat         {"message", "conversationId"?} ->
                                 {answer, model, toolCalls, usage, fallbacks, route, conversationId}

Behind API Gateway (REST, proxy integration on the ``live`` alias), Powertools' Event Handler
with CORS. The event and the bodies are checked in the layer (domain/genai/api.py): bad input is
a 4xx naming the problem (a sentence on /chatclient, whose chat widget shows any body), never a
server error; no model answering is a 503 "Chat is currently unavailable"; a used-up daily
budget is a polite refusal. The chatclient route keeps its conversation in a cookie (the
front-end sends none of its own).

Logs and metrics carry metadata only (lengths, models, route, tools, tokens, latency), never
the text of a message or of an answer. Metrics have the dimension ``functionVersion`` (the
version that ran), which the release workflow's alarms watch.
"""

from __future__ import annotations

import json
import time
import uuid
from functools import cache
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from aws_lambda_powertools.utilities.typing import LambdaContext

from petclinic_ops.domain.genai.api import (
    ChatInputError,
    chat_request,
    chatclient_message,
    check_event,
    for_chat_widget,
    json_body,
)
from petclinic_ops.domain.genai.router import BudgetExhausted, ChatUnavailable
from petclinic_ops.models.genai import CONVERSATION_ID_PATTERN, ChatAnswer
from petclinic_ops.settings import GenAiSettings

if TYPE_CHECKING:
    from petclinic_ops.domain.genai.chat import Assistant

logger = Logger()
metrics = Metrics()

UNAVAILABLE = "Chat is currently unavailable"
BUDGET_REFUSAL = (
    "I'm sorry, the assistant has answered as many questions as it can today. "
    "Please try again tomorrow, or use the PetClinic pages directly."
)
COOKIE = "petclinic-genai-conversation"
TEXT = "text/plain; charset=utf-8"
JSON = "application/json"


@cache
def settings() -> GenAiSettings:
    """Read once per container, on the first invocation (an error names the variable)."""
    return GenAiSettings.from_environ()


@cache
def assistant() -> Assistant:
    """The router, tools and memory, built once per container (clients created on first use)."""
    from petclinic_ops.adapters.genai_bedrock import BedrockConverse, TitanEmbedder  # noqa: PLC0415
    from petclinic_ops.adapters.genai_petclinic import PetClinicHttp  # noqa: PLC0415
    from petclinic_ops.adapters.genai_state import DynamoConversationMemory, DynamoRouterState  # noqa: PLC0415
    from petclinic_ops.domain.genai.chat import Assistant  # noqa: PLC0415
    from petclinic_ops.domain.genai.router import ModelRouter, RouterConfig  # noqa: PLC0415
    from petclinic_ops.domain.genai.tools import Toolbox, VetIndex  # noqa: PLC0415
    from petclinic_ops.models.genai import ModelTarget  # noqa: PLC0415

    config = settings()
    guardrail = (
        {"guardrailIdentifier": config.guardrail_id, "guardrailVersion": config.guardrail_version}
        if config.guardrail_id
        else None
    )
    router = ModelRouter(
        RouterConfig(
            chain=tuple(ModelTarget.of(model) for model in config.model_chain),
            cooldown_seconds=config.cooldown_seconds,
            daily_token_budget=config.daily_token_budget,
            degrade_at=config.degrade_at_percent / 100,
            max_tokens=config.max_tokens,
            guardrail=guardrail,
        ),
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


def _allowed_origin() -> str:
    try:
        return settings().allowed_origin
    except Exception:  # a broken configuration is reported by the first request
        return str(GenAiSettings.model_fields["allowed_origin"].default)


def _cors() -> CORSConfig:
    origin = _allowed_origin()
    return CORSConfig(
        allow_origin=origin,
        allow_headers=["Content-Type", "X-Conversation-Id", "X-Api-Key"],
        max_age=600,
        allow_credentials=origin != "*",
    )


app = APIGatewayRestResolver(cors=_cors())


# --------------------------------------------------------------------------- routes


@app.post("/api/genai/chatclient", cors=True)
def chatclient() -> Response[str]:
    """The front-end's contract: the body is JSON.stringify(text); the answer is the text."""
    text = chatclient_message(_body(), settings().max_message_chars)
    conversation = _cookie_conversation()
    cookies = []
    if conversation is None:
        conversation = _new_conversation()
        cookies.append(_conversation_cookie(conversation))
    try:
        answer = _ask(conversation, text)
    except _Refused:
        return Response(200, TEXT, BUDGET_REFUSAL, cookies=cookies)
    return Response(200, TEXT, for_chat_widget(answer.answer), cookies=cookies)


@app.post("/api/genai/chat", cors=True)
def chat() -> Response[str]:
    request = chat_request(_body(), settings().max_message_chars)
    conversation = request.conversation_id or _new_conversation()
    try:
        answer = _ask(conversation, request.message)
    except _Refused:
        refusal = {"answer": BUDGET_REFUSAL, "refused": "daily-budget", "conversationId": conversation}
        return Response(429, JSON, json.dumps(refusal))
    return Response(200, JSON, json.dumps({**answer.to_json(), "conversationId": conversation}))


@app.exception_handler(ChatInputError)  # type: ignore[untyped-decorator]
def bad_input(exc: ChatInputError) -> Response[str]:
    """A 4xx naming the problem; on /chatclient a sentence, as its chat widget shows any body."""
    logger.info("chat input refused", extra={"problem": exc.problem, "status": exc.status})
    if app.current_event.path.endswith("/chatclient"):
        return Response(exc.status, TEXT, exc.sentence)
    return _error(exc.status, str(exc))


@app.exception_handler(ChatUnavailable)  # type: ignore[untyped-decorator]
def unavailable(_: ChatUnavailable) -> Response[str]:
    if app.current_event.path.endswith("/chatclient"):
        return Response(503, TEXT, UNAVAILABLE)
    return _error(503, UNAVAILABLE)


@app.not_found
def not_found(_: Exception) -> Response[str]:
    return _error(404, "no such route: POST /api/genai/chatclient or /api/genai/chat")


# --------------------------------------------------------------------------- the turn


class _Refused(Exception):
    """Today's token budget is used up."""


def _ask(conversation: str, text: str) -> ChatAnswer:
    started = time.perf_counter()
    chat_assistant = assistant()
    memory_errors = chat_assistant.memory_errors
    state_errors = chat_assistant.router.state_errors
    try:
        answer = chat_assistant.ask(conversation, text)
    except BudgetExhausted:
        metrics.add_metric(name="ChatBudgetRefusals", unit=MetricUnit.Count, value=1)
        logger.warning("chat refused: daily token budget used up")
        raise _Refused from None
    except ChatUnavailable as exc:
        metrics.add_metric(name="GenAiFallbackRate", unit=MetricUnit.Percent, value=100)
        logger.error("chat unavailable: no model answered", extra={"route": str(exc)})
        raise
    if answer.route:  # a model was called (a confirmed write calls none)
        metrics.add_metric(
            name="GenAiFallbackRate", unit=MetricUnit.Percent, value=100 if answer.fallbacks else 0
        )
        metrics.add_metric(name="GenAiFallbacks", unit=MetricUnit.Count, value=answer.fallbacks)
    metrics.add_metric(name="ChatInputTokens", unit=MetricUnit.Count, value=answer.usage.input_tokens)
    metrics.add_metric(name="ChatOutputTokens", unit=MetricUnit.Count, value=answer.usage.output_tokens)
    logger.info(
        "chat answered",
        extra={
            "model": answer.model,
            "route": [f"{a.model}:{a.outcome}" for a in answer.route],
            "fallbacks": answer.fallbacks,
            "confirmation_needed": answer.confirmation_needed,
            "tools": [f"{t.name}:{'ok' if t.ok else 'error'}" for t in answer.tool_calls],
            "input_tokens": answer.usage.input_tokens,
            "output_tokens": answer.usage.output_tokens,
            "cost_usd": round(answer.cost_usd, 6),
            "message_chars": len(text),
            "answer_chars": len(answer.answer),
            "memory_errors": chat_assistant.memory_errors - memory_errors,
            "router_state_errors": chat_assistant.router.state_errors - state_errors,
            "latency_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return answer


# --------------------------------------------------------------------------- input


def _body() -> Any:
    event = app.current_event
    return json_body(event.body, base64_encoded=bool(event.is_base64_encoded))


def _cookie_conversation() -> str | None:
    header = app.current_event.headers.get("X-Conversation-Id") or app.current_event.headers.get(
        "x-conversation-id"
    )
    if header and CONVERSATION_ID_PATTERN.match(header):
        return header
    raw = app.current_event.headers.get("Cookie") or app.current_event.headers.get("cookie") or ""
    try:
        jar = SimpleCookie(raw)
    except CookieError:
        return None
    value = jar[COOKIE].value if COOKIE in jar else None
    return value if value and CONVERSATION_ID_PATTERN.match(value) else None


def _new_conversation() -> str:
    return uuid.uuid4().hex


def _conversation_cookie(conversation: str) -> Cookie:
    return Cookie(
        name=COOKIE,
        value=conversation,
        path="/api/genai",
        secure=True,
        http_only=True,
        same_site=SameSite.STRICT_MODE,
        max_age=settings().conversation_ttl_seconds,
    )


def _error(status: int, message: str) -> Response[str]:
    return Response(status, JSON, json.dumps({"message": message}))


# --------------------------------------------------------------------------- the handler


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    try:
        check_event(event)
    except ChatInputError as exc:  # no part of the event is logged, nor its field names
        logger.warning("not an API Gateway request", extra={"problem": str(exc)})
        return _plain(400, {"message": str(exc)})
    metrics.add_dimension(name="functionVersion", value=str(context.function_version))
    try:
        response: dict[str, Any] = app.resolve(event, context)
    except Exception:
        logger.exception("chat failed")
        response = _failed(event)
    status = int(response.get("statusCode", 500))
    if event.get("httpMethod") == "POST":
        metrics.add_metric(name="ChatRequests", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="GenAiServerErrors", unit=MetricUnit.Count, value=1 if status >= 500 else 0)
    return response


def _failed(event: dict[str, Any]) -> dict[str, Any]:
    """A 500 in the route's own content type, with the CORS header the browser needs."""
    plain = str(event.get("path", "")).endswith("/chatclient")
    origin = _allowed_origin()
    headers = {"Content-Type": TEXT if plain else JSON, "Access-Control-Allow-Origin": origin}
    body = UNAVAILABLE if plain else json.dumps({"message": UNAVAILABLE})
    return {"statusCode": 500, "headers": headers, "body": body, "isBase64Encoded": False}


def _plain(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": JSON},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }
