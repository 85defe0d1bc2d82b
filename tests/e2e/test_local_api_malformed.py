"""`local api` (the GenAI API on 127.0.0.1, as API Gateway serves it) under malformed requests
sent as raw bytes: a Content-Length of `abc` or `-5` printed a traceback and dropped the
connection. Each is answered 4xx with API Gateway's `{"message"}` body, and the server keeps
answering."""

from __future__ import annotations

import contextlib
import json
import re
import socket
from collections.abc import Iterator

import pytest

from petclinic_local.cloud import LocalCloud
from petclinic_local.genai_api import MAX_BODY, GenAiApiServer

pytestmark = [pytest.mark.xdist_group("local-api-malformed")]  # one local cloud for the module

CHAT = "/api/genai/chatclient"


def raw(
    method: str = "POST", path: str = CHAT, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    fields = {"Host": "127.0.0.1", "Content-Type": "application/json", **(headers or {})}
    if not any(key.lower() in {"content-length", "transfer-encoding"} for key in fields):
        fields["Content-Length"] = str(len(body))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items())
    return (head + "Connection: close\r\n\r\n").encode("latin-1") + body


MALFORMED = {
    "content-length abc": (raw(headers={"Content-Length": "abc"}, body=b'"hi"'), 400),
    "content-length -5": (raw(headers={"Content-Length": "-5"}, body=b'"hi"'), 400),
    "content-length 0x10": (raw(headers={"Content-Length": "0x10"}, body=b'"hi"'), 400),
    "content-length over the limit": (raw(headers={"Content-Length": str(MAX_BODY + 1)}), 413),
    "chunked": (raw(headers={"Transfer-Encoding": "chunked"}, body=b'4\r\n"hi"\r\n0\r\n\r\n'), 411),
    "huge header": (raw(headers={"X-Big": "a" * 100_000}), 431),
    "200 headers": (raw(headers={f"X-H{i}": "v" for i in range(200)}), 431),
    "unsupported method": (raw("PUT"), 501),
    "unknown path": (raw(path="/nothing"), 404),
    "not json": (raw(body=b"{not json"), 400),
    "not utf-8": (raw(body=b'"\xff\xfe"'), None),  # the function gets U+FFFD and answers
}


@pytest.fixture(scope="module")
def api() -> Iterator[GenAiApiServer]:
    with LocalCloud() as cloud, GenAiApiServer(cloud) as server:
        yield server


def send(server: GenAiApiServer, data: bytes) -> tuple[int, bytes]:
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=60) as connection:
        with contextlib.suppress(OSError):  # the server may answer (413) and close before the body
            connection.sendall(data)
            connection.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks)
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", answer)
    assert match, answer[:300]
    return int(match.group(1)), answer.split(b"\r\n\r\n", 1)[1]


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_request_is_answered_and_the_api_keeps_serving(
    api: GenAiApiServer, name: str, capfd: pytest.CaptureFixture[str]
) -> None:
    data, expected = MALFORMED[name]
    status, body = send(api, data)
    if expected is None:
        assert status < 500, body[:300]
    else:
        assert status == expected, body[:300]
        if name == "not json":  # the function's answer on /chatclient: a sentence the chat widget shows
            assert body.decode().endswith("."), body[:300]
        else:  # the server's own (API Gateway's) answer
            assert json.loads(body)["message"]
    assert "Traceback" not in capfd.readouterr().err
    status, body = send(api, raw(body=json.dumps("Which vets are radiologists?").encode()))
    assert status == 200, body[:300]
