"""The chat API's input and output: from the Lambda event to the user's text, or a ``ChatInputError``;
the answer made safe for the upstream chat widget (``for_chat_widget``).

Nothing a client sends may become a server error, nor reach a log line:

* ``check_event``: a direct invocation with something that is not an API Gateway (REST, proxy)
  event (a string, a list, a number, null, an object whose fields have the wrong types) is
  refused naming the field and the type it had; no part of the event is quoted.
* ``json_body``: the body, decoded (base64 when API Gateway marks it so; UTF-8, strictly) and
  parsed, with its size and nesting checked *before* ``json.loads``. Python's parser recurses
  once per nesting level, and Lambda runs with the default recursion limit (1,000): about 2 KB
  of ``[[[[...`` raises RecursionError there. The depth is counted without recursion.
* ``chatclient_message`` and ``chat_request``: the two routes' bodies, and ``check_message``:
  the text itself (empty, too long, control characters, bidirectional controls, unpaired
  surrogates).

Every ``ChatInputError`` has a ``status`` (400, or 413 for a body over the size limit), a
``problem`` (a fixed code, what logs and metrics may carry) and a message naming the problem
that is built from counts, code points and our own field names only: never from the client's
text (an unknown field's name included), so it is safe to log, to return, and to render.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

# In the OpsError tree; importable from here too, where it is raised.
from petclinic_ops.errors import ChatInputError as ChatInputError  # noqa: PLC0414 - re-exported
from petclinic_ops.models.genai import CONVERSATION_ID_PATTERN, MAX_MESSAGE_CHARS

# The largest body read (bytes of UTF-8): a message of 2,000 characters written with JSON's
# longest escapes (\uXXXX\uXXXX per character outside the BMP) and a conversation id fit.
MAX_BODY_BYTES = 32 * 1024
# The deepest nesting parsed: the routes take a string or a flat object; a few levels more
# let a wrong shape be named ("not an array") instead of refused as too deep.
MAX_DEPTH = 16
CHAT_FIELDS = ("message", "conversationId")

# What matters to nesting: quotes, escapes (a backslash and the character it escapes, one token)
# and brackets. One linear pass; a regex that skips whole strings can backtrack quadratically.
_STRUCTURE = re.compile(r'\\.|["\[\]{}]', re.DOTALL)
# C0 and C1 controls but tab, line feed and carriage return; DEL; bidirectional embeddings,
# overrides and isolates (U+202A-U+202E, U+2066-U+2069: "Trojan Source"); unpaired surrogates.
_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def kind(value: Any) -> str:
    """A JSON value's type, as a person says it."""
    names = {dict: "an object", list: "an array", bool: "a boolean", int: "a number", float: "a number"}
    return (
        "null"
        if value is None
        else names.get(type(value), "a string" if isinstance(value, str) else "a value")
    )


# --------------------------------------------------------------------------- the event

# field: (allowed types, what to call them); every other field of the event is not read.
_EVENT_FIELDS: dict[str, tuple[tuple[type, ...], str]] = {
    "httpMethod": ((str,), "a string"),
    "path": ((str,), "a string"),
    "resource": ((str, type(None)), "a string or null"),
    "body": ((str, type(None)), "a string or null"),
    "isBase64Encoded": ((bool, type(None)), "a boolean"),
    "headers": ((dict, type(None)), "an object or null"),
    "multiValueHeaders": ((dict, type(None)), "an object or null"),
    "queryStringParameters": ((dict, type(None)), "an object or null"),
    "multiValueQueryStringParameters": ((dict, type(None)), "an object or null"),
    "pathParameters": ((dict, type(None)), "an object or null"),
    "stageVariables": ((dict, type(None)), "an object or null"),
    "requestContext": ((dict, type(None)), "an object or null"),
}
_STRING_MAPS = ("headers", "queryStringParameters", "pathParameters", "stageVariables")
_LIST_MAPS = ("multiValueHeaders", "multiValueQueryStringParameters")
NOT_AN_API_EVENT = "not an API Gateway (REST, proxy) request"


def check_event(event: Any) -> None:
    """Refuse (``ChatInputError`` problem ``not_api_event``) an event API Gateway would not send."""
    if not isinstance(event, dict):
        raise ChatInputError(
            "not_api_event", f"{NOT_AN_API_EVENT}: the event is {kind(event)}, not an object"
        )
    for name in ("httpMethod", "path"):
        if name not in event:
            raise ChatInputError("not_api_event", f"{NOT_AN_API_EVENT}: it has no {name}")
    for name, (types, described) in _EVENT_FIELDS.items():
        value = event.get(name)
        if not isinstance(value, types):
            raise ChatInputError(
                "not_api_event", f"{NOT_AN_API_EVENT}: {name} must be {described}, not {kind(value)}"
            )
    for name in _STRING_MAPS:
        if not _all_strings(event.get(name) or {}):
            raise ChatInputError("not_api_event", f"{NOT_AN_API_EVENT}: {name} must map strings to strings")
    for name in _LIST_MAPS:
        values = event.get(name) or {}
        if not all(
            isinstance(k, str) and isinstance(v, list) and _all_strings(dict.fromkeys(v, ""))
            for k, v in values.items()
        ):
            raise ChatInputError(
                "not_api_event", f"{NOT_AN_API_EVENT}: {name} must map strings to lists of strings"
            )


def _all_strings(mapping: dict[Any, Any]) -> bool:
    return all(isinstance(key, str) and isinstance(value, str) for key, value in mapping.items())


# --------------------------------------------------------------------------- the body


def json_body(raw: str | None, *, base64_encoded: bool = False) -> Any:
    """The body parsed, after its encoding, size and depth are checked."""
    if raw is None or raw == "":
        raise ChatInputError("empty_body", "the body is empty: send the message as JSON")
    text = _decoded(raw) if base64_encoded else _text(raw)
    if too_deep(text, MAX_DEPTH):
        raise ChatInputError(
            "too_deep", f"the body nests more than {MAX_DEPTH} levels deep; the limit is {MAX_DEPTH}"
        )
    try:
        return json.loads(text, parse_constant=_no_constant, object_pairs_hook=_unique_keys)
    except ChatInputError:
        raise
    except (ValueError, RecursionError) as exc:  # RecursionError: cannot happen under MAX_DEPTH
        detail = exc.args[0].split(":")[0] if isinstance(exc, json.JSONDecodeError) else "unreadable"
        raise ChatInputError("not_json", f"the body is not valid JSON ({detail})") from None


def _too_large(size: int) -> ChatInputError:
    return ChatInputError(
        "too_large", f"the body is {size} bytes long; the limit is {MAX_BODY_BYTES} bytes", status=413
    )


def _decoded(raw: str) -> str:
    if len(raw) > MAX_BODY_BYTES * 4 // 3 + 4:
        raise _too_large(len(raw) * 3 // 4)
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ChatInputError(
            "bad_base64", "the body is marked base64-encoded but is not valid base64"
        ) from None
    if len(data) > MAX_BODY_BYTES:
        raise _too_large(len(data))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ChatInputError(
            "bad_utf8", f"the body is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None


def _text(raw: str) -> str:
    if len(raw) > MAX_BODY_BYTES:  # characters: at least as many bytes
        raise _too_large(len(raw.encode("utf-8", "surrogatepass")))
    try:
        size = len(raw.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise ChatInputError(
            "bad_unicode",
            f"the body holds an unpaired surrogate (U+{ord(raw[exc.start]):04X}) "
            f"at character {exc.start + 1}",
        ) from None
    if size > MAX_BODY_BYTES:
        raise _too_large(size)
    at = raw.find("\ufffd")
    if at >= 0:  # what a proxy puts where the bytes it received were not UTF-8
        raise ChatInputError(
            "bad_utf8",
            "the body is not valid UTF-8 text: it holds U+FFFD (a replacement character) "
            f"at character {at + 1}",
        )
    return raw


def too_deep(text: str, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels in JSON text (brackets inside
    strings do not count), found in one pass without recursion."""
    depth = 0
    in_string = False
    for match in _STRUCTURE.finditer(text):
        found = match.group()
        if found == '"':
            in_string = not in_string
        elif in_string or len(found) > 1:
            continue
        elif found in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _no_constant(name: str) -> Any:
    raise ChatInputError("not_json", f"the body is not valid JSON ({name} is not a JSON value)")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise ChatInputError("duplicate_field", "the body is ambiguous: an object has the same field twice")
    return found


# --------------------------------------------------------------------------- the routes


@dataclass(frozen=True, slots=True)
class ChatInput:
    message: str
    conversation_id: str | None = None


def chatclient_message(body: Any, limit: int = MAX_MESSAGE_CHARS) -> str:
    """POST /api/genai/chatclient: the body is the user's text as a JSON string."""
    if not isinstance(body, str):
        raise ChatInputError("wrong_type", f"the body must be a JSON string (the message), not {kind(body)}")
    return check_message(body, limit)


def chat_request(body: Any, limit: int = MAX_MESSAGE_CHARS) -> ChatInput:
    """POST /api/genai/chat: ``{"message": "...", "conversationId": "..."?}``."""
    if not isinstance(body, dict):
        raise ChatInputError(
            "wrong_type", f"the body must be a JSON object {{message, conversationId}}, not {kind(body)}"
        )
    unknown = [key for key in body if key not in CHAT_FIELDS]
    if unknown:
        many = f"{len(unknown)} fields that are" if len(unknown) > 1 else "a field that is"
        raise ChatInputError(
            "unknown_field", f"the body has {many} not known: it takes message and conversationId only"
        )
    if "message" not in body:
        raise ChatInputError("missing_field", "message is required")
    message = body["message"]
    if not isinstance(message, str):
        raise ChatInputError("wrong_type", f"message must be a string, not {kind(message)}")
    conversation = body.get("conversationId")
    if conversation is not None and not (
        isinstance(conversation, str) and CONVERSATION_ID_PATTERN.match(conversation)
    ):
        raise ChatInputError(
            "bad_conversation_id", "conversationId must be 1 to 64 letters, digits, '_', '.', ':' or '-'"
        )
    return ChatInput(check_message(message, limit), conversation)


def check_message(value: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """The user's text, trimmed: refused empty, over ``limit`` characters, or holding a
    character that has no place in a question (see ``_REFUSED``)."""
    text = value.strip()
    if not text:
        raise ChatInputError("empty_message", "the message is empty: type a question")
    if len(text) > limit:
        raise ChatInputError("too_long", f"the message is {len(text)} characters long; the limit is {limit}")
    found = _REFUSED.search(text)
    if found:
        char = found.group()
        code = ord(char)
        what = (
            "an unpaired surrogate (not valid Unicode)"
            if 0xD800 <= code <= 0xDFFF
            else "a bidirectional control character"
            if 0x202A <= code <= 0x2069
            else "a control character"
        )
        raise ChatInputError(
            "refused_character", f"the message holds {what}, U+{code:04X}, at character {found.start() + 1}"
        )
    return text


# --------------------------------------------------------------------------- the answer


def for_chat_widget(answer: str) -> str:
    """An answer for /chatclient, whose client (the Spring PetClinic front-end's chat.js) puts
    the body through a Markdown renderer into the page's HTML without sanitising it: angle
    brackets become entity references, so text that came from PetClinic's data (an owner's
    address) shows as text and never becomes markup. Markdown itself is kept."""
    return answer.replace("<", "&lt;").replace(">", "&gt;")
