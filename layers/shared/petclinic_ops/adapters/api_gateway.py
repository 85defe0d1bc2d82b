"""API Gateway's REST proxy integration, in and out: the GenAI function's routes, CORS and cookies.

A router for the few POST routes of one function, answering in the shape Powertools'
``APIGatewayRestResolver`` answers (``multiValueHeaders``; CORS headers on every response of a
CORS route and a 204 preflight for OPTIONS, the allowed origin echoed only to that origin, with
credentials when allowed, none to a request without an Origin; Powertools' required headers
added to the allowed ones). Powertools'
resolver is not used because importing it imports the whole ``event_handler`` package (AppSync,
Bedrock agents, asyncio, the event data classes): about 190 ms of the function's cold start, for
two routes (benchmarks/cold_start.py). tests/unit/test_api_gateway.py checks this router against
Powertools' resolver, response for response, on the same requests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# What Powertools' CORSConfig always allows besides the configured headers.
REQUIRED_HEADERS = ("Authorization", "Content-Type", "X-Amz-Date", "X-Api-Key", "X-Amz-Security-Token")


@dataclass(frozen=True)
class Response:
    """A route's answer: status, content type, body, and ``Set-Cookie`` values."""

    status: int
    content_type: str
    body: str
    cookies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cors:
    allow_origin: str
    allow_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False

    def headers(self, origin: str | None) -> dict[str, str]:
        """The CORS headers for a request from ``origin``: none without one (not a browser's
        cross-origin request) or for an origin not allowed."""
        if not origin or self.allow_origin not in ("*", origin):
            return {}
        headers = {
            "Access-Control-Allow-Origin": self.allow_origin,
            "Access-Control-Allow-Headers": ",".join(sorted({*REQUIRED_HEADERS, *self.allow_headers})),
        }
        if self.max_age is not None:
            headers["Access-Control-Max-Age"] = str(self.max_age)
        if self.allow_credentials and self.allow_origin != "*":
            headers["Access-Control-Allow-Credentials"] = "true"
        return headers


@dataclass(frozen=True)
class Request:
    """The parts of a REST proxy event a route reads (the event already checked for its shape)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: str | None
    is_base64_encoded: bool

    @classmethod
    def of(cls, event: Mapping[str, Any]) -> Request:
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        return cls(
            method=str(event.get("httpMethod") or "").upper(),
            path=str(event.get("path") or ""),
            headers=headers,
            body=event.get("body"),
            is_base64_encoded=bool(event.get("isBase64Encoded")),
        )

    def header(self, name: str) -> str | None:
        """A request header, whatever its case (HTTP header names are case-insensitive)."""
        return self.headers.get(name.lower())


Route = Callable[[], Response]


@dataclass
class RestRouter:
    """POST routes with CORS; exception handlers by type; a not-found answer."""

    cors: Cors
    not_found: Route
    routes: dict[str, Route] = field(default_factory=dict)
    handlers: list[tuple[type[Exception], Callable[[Any], Response]]] = field(default_factory=list)
    current: Request | None = None

    def post(self, path: str, route: Route) -> None:
        self.routes[path] = route

    def on(self, error: type[Exception], handler: Callable[[Any], Response]) -> None:
        self.handlers.append((error, handler))

    @property
    def request(self) -> Request:
        if self.current is None:
            raise RuntimeError("no request is being resolved")
        return self.current

    def resolve(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The proxy response to ``event``; an exception no handler takes propagates."""
        request = self.current = Request.of(event)
        cors = self.cors.headers(request.header("Origin"))
        if request.method == "OPTIONS":
            preflight = {"Access-Control-Allow-Methods": "OPTIONS,POST", **cors}
            return _proxy(204, preflight, "", ())
        route = self.routes.get(request.path) if request.method == "POST" else None
        try:
            response = route() if route is not None else self.not_found()
        except Exception as exc:
            handler = next((h for error, h in self.handlers if isinstance(exc, error)), None)
            if handler is None:
                raise
            response = handler(exc)
        return _proxy(
            response.status, {"Content-Type": response.content_type, **cors}, response.body, response.cookies
        )


def _proxy(status: int, headers: dict[str, str], body: str, cookies: tuple[str, ...]) -> dict[str, Any]:
    multi = {name: [value] for name, value in headers.items()}
    if cookies:
        multi["Set-Cookie"] = list(cookies)
    return {"statusCode": status, "body": body, "isBase64Encoded": False, "multiValueHeaders": multi}


def cookie(
    name: str, value: str, *, path: str, max_age: int, secure: bool = True, http_only: bool = True
) -> str:
    """A ``Set-Cookie`` value, SameSite=Strict (Powertools' Cookie's rendering)."""
    parts = [f"{name}={value}", f"Path={path}", f"Max-Age={max_age}"]
    if http_only:
        parts.append("HttpOnly")
    if secure:
        parts.append("Secure")
    parts.append("SameSite=Strict")
    return "; ".join(parts)
