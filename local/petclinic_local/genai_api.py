"""The GenAI API on 127.0.0.1, as API Gateway serves it: each request becomes an API Gateway
(REST, proxy) event for the function's live alias, invoked through the local cloud's Lambda;
the function's answer becomes the HTTP response. Also serves a chat page at ``/`` (static/:
chat.html, chat.js, markdown.js, favicon.svg; a Content-Security-Policy that allows only its
own scripts) that talks to /api/genai/chatclient exactly as the Spring PetClinic front-end's
chat box does, renders the answers' Markdown safely and shows a refusal's reason.

    with LocalCloud() as cloud, GenAiApiServer(cloud, port=8080) as server:
        print(server.url)

Never deployed. Requests are handled one at a time by the function (the local Lambda runtime
serialises invocations), each on its own thread.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from petclinic_local import genai
from petclinic_local.loopback import LoopbackServer

MAX_BODY = 64 * 1024
STATIC = {  # path: (file in static/, content type)
    "/": ("chat.html", "text/html; charset=utf-8"),
    "/index.html": ("chat.html", "text/html; charset=utf-8"),
    "/chat.js": ("chat.js", "text/javascript; charset=utf-8"),
    "/markdown.js": ("markdown.js", "text/javascript; charset=utf-8"),
    "/favicon.svg": ("favicon.svg", "image/svg+xml"),
    "/favicon.ico": ("favicon.svg", "image/svg+xml"),
}
SECURITY_HEADERS = [
    ("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
     "img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'"),
    ("X-Content-Type-Options", "nosniff"),
]  # fmt: skip


@dataclass
class GenAiApiServer(LoopbackServer):
    cloud: Any
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[tuple[str, str, int]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        folder = resources.files("petclinic_local").joinpath("static")
        files = {path: (folder.joinpath(name).read_bytes(), kind) for path, (name, kind) in STATIC.items()}
        self._serve(_Handler, "genai-api", _Server, api=self, files=files)


class _Server(ThreadingHTTPServer):
    api: GenAiApiServer
    files: dict[str, tuple[bytes, str]]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: see ``GenAiApiServer.requests``."""

    def do_GET(self) -> None:
        found = self.server.files.get(self.path.split("?", 1)[0])
        if found is None:
            self._reply(404, _JSON, _message("not found"))
            return
        data, kind = found
        self._reply(200, [("Content-Type", kind), *SECURITY_HEADERS], data)

    def do_POST(self) -> None:
        self._invoke("POST")

    def do_OPTIONS(self) -> None:
        self._invoke("OPTIONS")

    def _invoke(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        length = self._content_length()
        if length is None:
            return
        body = self.rfile.read(length).decode("utf-8", "replace") if length else None
        if not path.startswith("/api/genai/"):
            self._reply(404, _JSON, _message("not found"))
            return
        event = genai.api_event(path, body, dict(self.headers.items()), method)
        try:
            response = genai.invoke(self.server.api.cloud, event)
        except Exception:  # API Gateway answers 502 when the integration fails
            self._reply(502, _JSON, _message("Internal server error"))
            return
        self._reply(int(response.get("statusCode", 502)), _headers(response), _body(response))

    def _content_length(self) -> int | None:
        """The body's length, or None once a 400/411/413 went out (a Content-Length that is no whole
        number, a chunked body: API Gateway needs the length; one over MAX_BODY)."""
        text = (self.headers.get("Content-Length") or "").strip()
        if not text and self.headers.get("Transfer-Encoding", "identity").lower() != "identity":
            self._reply(411, _JSON, _message("a Content-Length is required"), close=True)
            return None
        if text and not text.isdigit():
            self._reply(400, _JSON, _message(f"Content-Length {text!r} is not a whole number"), close=True)
            return None
        length = int(text or 0)
        if length > MAX_BODY:
            self._reply(413, _JSON, _message("request body too large"), close=True)
            return None
        return length

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (a header line over 64 KB, an unsupported method) as API Gateway's
        JSON ``{"message"}``, not HTML."""
        short = self.responses.get(code, ("Error", ""))[0]
        self._reply(code, _JSON, _message(message or short), close=True)

    def _reply(
        self, status: int, headers: list[tuple[str, str]], data: bytes, *, close: bool = False
    ) -> None:
        command, path = getattr(self, "command", None) or "", getattr(self, "path", "")
        self.server.api.requests.append((command, path, status))
        self.send_response(status)
        for key, value in headers:
            if key.lower() not in {"content-length", "connection"}:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        if command != "HEAD":
            self.wfile.write(data)


_JSON = [("Content-Type", "application/json")]


def _message(text: str) -> bytes:
    return json.dumps({"message": text}).encode()


def _headers(response: dict[str, Any]) -> list[tuple[str, str]]:
    pairs = [(key, str(value)) for key, value in (response.get("headers") or {}).items()]
    for key, values in (response.get("multiValueHeaders") or {}).items():
        pairs.extend((key, str(value)) for value in values)
    return pairs


def _body(response: dict[str, Any]) -> bytes:
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        import base64  # noqa: PLC0415

        return base64.b64decode(body)
    return str(body).encode() if not isinstance(body, bytes) else body
