"""adapters/api_gateway.py answers as Powertools' APIGatewayRestResolver does: the same routes,
handlers and CORS configuration on both, the same requests, response for response (statuses,
bodies, every header, cookies)."""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING, Any, cast

import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig
from aws_lambda_powertools.event_handler import Response as PowertoolsResponse
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from petclinic_local.genai import api_event
from petclinic_ops.adapters.api_gateway import Cors, Response, RestRouter, cookie

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

ALLOWED = ("Content-Type", "X-Conversation-Id", "X-Api-Key")
TEXT = "text/plain; charset=utf-8"


class Refused(Exception):
    pass


class Broken(Exception):
    pass


def powertools(origin: str) -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(
        cors=CORSConfig(
            allow_origin=origin, allow_headers=list(ALLOWED), max_age=600, allow_credentials=origin != "*"
        )
    )
    chat_cookie = Cookie(
        name="c",
        value="v1",
        path="/api/genai",
        secure=True,
        http_only=True,
        same_site=SameSite.STRICT_MODE,
        max_age=60,
    )

    @app.post("/api/genai/chat", cors=True)
    def chat() -> PowertoolsResponse[str]:
        return PowertoolsResponse(200, "application/json", json.dumps({"a": 1}), cookies=[chat_cookie])

    @app.post("/api/genai/chatclient", cors=True)
    def chatclient() -> PowertoolsResponse[str]:
        raise Refused

    @app.post("/api/genai/broken", cors=True)
    def broken() -> PowertoolsResponse[str]:
        raise Broken

    app.exception_handler(Refused)(lambda _: PowertoolsResponse(400, TEXT, "refused"))
    app.not_found(lambda _: PowertoolsResponse(404, "application/json", '{"message": "no such route"}'))
    return app


def ours(origin: str) -> RestRouter:
    app = RestRouter(
        cors=Cors(allow_origin=origin, allow_headers=ALLOWED, max_age=600, allow_credentials=origin != "*"),
        not_found=lambda: Response(404, "application/json", '{"message": "no such route"}'),
    )
    chat_cookie = cookie("c", "v1", path="/api/genai", max_age=60)
    app.post(
        "/api/genai/chat", lambda: Response(200, "application/json", json.dumps({"a": 1}), (chat_cookie,))
    )

    def chatclient() -> Response:
        raise Refused

    def broken() -> Response:
        raise Broken

    app.post("/api/genai/chatclient", chatclient)
    app.post("/api/genai/broken", broken)
    app.on(Refused, lambda _: Response(400, TEXT, "refused"))
    return app


def event(method: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
    return api_event(path, {}, headers, method=method)


SITE = "https://petclinic.example.com"
CONTEXT = cast("LambdaContext", None)  # the resolver reads no context for these routes
HEADERS: tuple[dict[str, str], ...] = (
    {},
    {"Origin": SITE},
    {"origin": SITE, "Access-Control-Request-Method": "POST"},
    {"Origin": "https://elsewhere.example"},
)
CASES = list(
    itertools.product(
        ("*", SITE),
        ("POST", "GET", "OPTIONS", "PUT"),
        ("/api/genai/chat", "/api/genai/chatclient", "/nope", "/api/genai/chat/extra"),
        HEADERS,
    )
)


@pytest.mark.parametrize(("origin", "method", "path", "headers"), CASES)
def test_the_router_answers_as_powertools_resolver(
    origin: str, method: str, path: str, headers: dict[str, str]
) -> None:
    request = event(method, path, headers)
    assert ours(origin).resolve(request) == powertools(origin).resolve(request, CONTEXT)


@pytest.mark.parametrize("origin", ["*", SITE])
def test_an_exception_no_handler_takes_propagates_as_with_powertools(origin: str) -> None:
    request = event("POST", "/api/genai/broken", {"Origin": SITE})
    with pytest.raises(Broken):
        powertools(origin).resolve(request, CONTEXT)
    with pytest.raises(Broken):
        ours(origin).resolve(request)


def test_the_request_is_read_whatever_the_header_case() -> None:
    app = ours("*")
    app.resolve(event("POST", "/api/genai/chat", {"X-CONVERSATION-ID": "abc", "cookie": "c=1"}))
    assert (app.request.header("x-conversation-id"), app.request.header("Cookie")) == ("abc", "c=1")
    assert (app.request.method, app.request.path, app.request.body) == ("POST", "/api/genai/chat", "{}")
