"""What `local serve` answers for a malformed request, before moto sees it or instead of moto's
crash: a 400 with an AWS-shaped error body (``{"__type", "message"}`` for the JSON protocols,
``<ErrorResponse>`` for the query protocol, ``<Error>`` for S3), never a 500 and never a
traceback, and the server stays up.

Checked before moto (``check``):
* framing: a Content-Length that is not a whole number (``abc``, ``-5``), a body shorter than
  it says or a chunked body that does not decode;
* the JSON protocols (``X-Amz-Target``; Step Functions, DynamoDB, ECS, Secrets Manager...): a
  request signed for such a service without a target, a target that names no operation of the
  service, a body that is not UTF-8 JSON (NaN, integers past Python's 4,300 digits, nesting past
  ``MAX_DEPTH``), not an object, or that does not fit the operation's input shape in botocore's
  model (a missing required member, a wrong type, a value under its minimum: what botocore
  itself checks before it sends; members it does not know are let through, as AWS does);
* the query protocol (CloudFormation, SNS, STS, RDS, IAM...): a body or query string that is
  not UTF-8 once percent-decoded, no ``Action``, an action the service does not have, a missing
  required parameter, or a number, boolean or timestamp parameter that is not one.

What moto still cannot process (an exception from its handler, say a template body that is no
template) is answered 400 with the exception's type and first line, and moto's HTML error pages
(404, 405) are turned into the same shapes. Each refusal is one line on the server's log.
"""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

LOG = logging.getLogger("petclinic_local.server")
MAX_DEPTH = 128  # JSON nesting (a DynamoDB item may nest 32 attribute values, two levels each)
MAX_CHECKED_BODY = 64 * 1024 * 1024
# The services the local cloud serves whose requests are checked against botocore's models.
SERVICES = (
    "application-autoscaling",
    "cloudformation",
    "cloudwatch",
    "dynamodb",
    "dynamodbstreams",
    "ecr",
    "ecs",
    "elbv2",
    "events",
    "iam",
    "kms",
    "logs",
    "rds",
    "secretsmanager",
    "sns",
    "sqs",
    "ssm",
    "stepfunctions",
    "sts",
    "wafv2",
)
DIGITS = re.compile(r"^[0-9]+$")

StartResponse = Callable[..., Any]


class Refusal(Exception):
    """A request the endpoint answers with ``status`` and an AWS error ``code``."""

    def __init__(self, code: str, message: str, *, status: int = 400, close: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.close = close


# --------------------------------------------------------------------------- the request


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes | None

    @property
    def signing_service(self) -> str | None:
        """The service of the SigV4 credential scope (…/region/SERVICE/aws4_request)."""
        authorization = self.headers.get("authorization", "")
        match = re.search(r"Credential=[^/,\s]*/[^/,\s]*/[^/,\s]*/([^/,\s]+)/aws4_request", authorization)
        return match.group(1).lower() if match else None

    @property
    def target(self) -> str | None:
        return self.headers.get("x-amz-target")

    @property
    def protocol(self) -> str:
        """The error shape this request's client reads: json, query or rest-xml."""
        content_type = self.headers.get("content-type", "")
        if self.target or "amz-json" in content_type:
            return "json"
        if content_type.startswith("application/x-www-form-urlencoded") or "Action=" in self.query:
            return "query"
        if self.signing_service == "s3":
            return "rest-xml"
        return "json"


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = str(environ[key])
    return headers


def read_request(environ: dict[str, Any]) -> Request:
    """The request, its body read and put back for moto when it is checked (JSON and query
    protocols); a Refusal for broken framing."""
    headers = _headers(environ)
    length = (environ.get("CONTENT_LENGTH") or "").strip()
    if length and not DIGITS.match(length):
        raise Refusal(
            "SerializationException" if "x-amz-target" in headers else "InvalidRequest",
            f"Content-Length {length!r} is not a whole number of bytes",
            close=True,
        )
    request = Request(
        method=str(environ.get("REQUEST_METHOD", "")),
        path=str(environ.get("PATH_INFO", "")),
        query=str(environ.get("QUERY_STRING", "")),
        headers=headers,
        body=None,
    )
    if request.protocol in {"json", "query"} and not request.path.startswith("/service/"):
        request.body = _read_body(environ, int(length) if length else None)
    return request


def _read_body(environ: dict[str, Any], length: int | None) -> bytes:
    if length is not None and length > MAX_CHECKED_BODY:
        raise Refusal(
            "RequestEntityTooLarge", f"a body of {length} bytes is over {MAX_CHECKED_BODY}", status=413
        )
    stream = environ["wsgi.input"]
    try:
        if length is not None:
            body = stream.read(length)
        elif environ.get("wsgi.input_terminated"):  # chunked: werkzeug decodes it
            body = stream.read(MAX_CHECKED_BODY + 1)
        else:
            body = b""
    except Exception as exc:  # werkzeug: ClientDisconnected, a chunk size that is no number...
        raise Refusal(
            "InvalidRequest", f"the body could not be read: {_first_line(exc)}", close=True
        ) from None
    if length is not None and len(body) < length:
        raise Refusal(
            "InvalidRequest", f"the body has {len(body)} bytes, Content-Length says {length}", close=True
        )
    if len(body) > MAX_CHECKED_BODY:
        raise Refusal("RequestEntityTooLarge", f"the body is over {MAX_CHECKED_BODY} bytes", status=413)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("wsgi.input_terminated", None)
    return bytes(body)


# --------------------------------------------------------------------------- botocore's models


@cache
def _models() -> tuple[dict[str, Any], dict[str, Any]]:
    """(targetPrefix -> model, signing name -> model) over SERVICES, loaded once."""
    import botocore.session  # noqa: PLC0415

    session = botocore.session.get_session()
    by_prefix: dict[str, Any] = {}
    by_signing_name: dict[str, Any] = {}
    for name in SERVICES:
        model = session.get_service_model(name)
        if model.metadata.get("targetPrefix"):
            by_prefix.setdefault(model.metadata["targetPrefix"], model)
        by_signing_name.setdefault(model.signing_name, model)
    return by_prefix, by_signing_name


def check(request: Request) -> None:
    """Raise a Refusal for what AWS would refuse before any service logic (module docstring)."""
    if request.path.startswith(("/service/", "/moto-api")):
        return  # Smithy RPC v2 CBOR (its body is no JSON); moto's own control API
    authorization = request.headers.get("authorization", "")
    if authorization.startswith("AWS4-") and request.signing_service is None:
        raise Refusal(
            "IncompleteSignature",
            "the Authorization header has no Credential=KEY/DATE/REGION/SERVICE/aws4_request",
        )
    by_prefix, by_signing_name = _models()
    signed_for = by_signing_name.get(request.signing_service or "")
    protocols = set(signed_for.metadata.get("protocols") or [signed_for.protocol]) if signed_for else set()
    if request.target is not None:
        _check_json(request, by_prefix, signed_for)
    elif request.protocol == "query":
        if protocols & {"query", "ec2"}:
            _check_query(request, signed_for)
    elif signed_for is not None and protocols <= {"json"}:
        raise Refusal("UnknownOperationException", f"a {signed_for.service_name} request needs X-Amz-Target")


def _check_json(request: Request, by_prefix: dict[str, Any], signed_for: Any) -> None:
    prefix, dot, operation_name = (request.target or "").partition(".")
    model = by_prefix.get(prefix)
    if model is None and signed_for is None:
        return  # a service this endpoint does not check: moto answers
    if model is None or not dot or operation_name not in model.operation_names:
        service = (model or signed_for).service_name
        raise Refusal("UnknownOperationException", f"{request.target!r} is no operation of {service}")
    params = _json_body(request.body or b"")
    _validate(params, model.operation_model(operation_name).input_shape)


def _json_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        text = body.decode("utf-8")
        value = json.loads(text, parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise Refusal(
            "SerializationException", f"the body is not UTF-8 ({exc.reason} at byte {exc.start})"
        ) from None
    except RecursionError:
        raise Refusal("SerializationException", f"the body nests deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise Refusal("SerializationException", f"the body is not JSON ({_first_line(exc)})") from None
    if not isinstance(value, dict):
        raise Refusal("SerializationException", f"the body must be a JSON object, not {type(value).__name__}")
    if _depth(value) > MAX_DEPTH:
        raise Refusal("SerializationException", f"the body nests deeper than {MAX_DEPTH} levels")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            break
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _without_nulls(value: Any) -> Any:
    """AWS reads a JSON null member as absent."""
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def _validate(params: dict[str, Any], shape: Any) -> None:
    from botocore.validate import ParamValidator  # noqa: PLC0415

    if shape is None:
        return
    report = ParamValidator().validate(_without_nulls(params), shape)
    errors = [
        error for error in report._errors if error[0] != "unknown field"
    ]  # botocore's report keeps them private
    if not errors:
        return
    lines = [report._format_error(error) for error in errors]  # botocore's report keeps them private
    code = (
        "SerializationException"
        if any(error[0] == "invalid type" for error in errors)
        else "ValidationException"
    )
    raise Refusal(code, f"{len(lines)} validation error(s) detected: " + "; ".join(lines))


# --------------------------------------------------------------------------- the query protocol


def _query_params(request: Request) -> dict[str, str]:
    """The query string's parameters and a form body's (WSGI gives the query string as latin-1)."""
    params: dict[str, str] = {}
    for raw in (request.query.encode("latin-1", "replace"), request.body or b""):
        try:
            text = raw.decode("utf-8")
            params.update(parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict"))
        except (UnicodeError, ValueError) as exc:
            raise Refusal("MalformedQueryString", f"the query is not UTF-8 ({_first_line(exc)})") from None
    return params


def _check_query(request: Request, model: Any) -> None:
    params = _query_params(request)
    action = params.get("Action")
    if not action:
        raise Refusal("MissingAction", "the request has no Action")
    if action not in model.operation_names:
        raise Refusal("InvalidAction", f"{action!r} is no action of {model.service_name}")
    shape = model.operation_model(action).input_shape
    if shape is None:
        return
    flattened = model.protocol == "ec2"  # EC2 flattens its lists
    for name, member in shape.members.items():
        key = _query_name(name, member, flattened)
        if name in shape.required_members and not any(p == key or p.startswith(f"{key}.") for p in params):
            raise Refusal("MissingParameter", f"{action} needs the parameter {key}")
    for key, value in params.items():
        problem = _query_value_problem(shape, key.split("."), value, flattened)
        if problem:
            raise Refusal("InvalidParameterValue", f"{key}={value!r}: {problem}")


def _query_name(name: str, shape: Any, flattened: bool) -> str:
    serialized = shape.serialization
    if flattened:
        return str(serialized.get("queryName") or serialized.get("name") or name[:1].upper() + name[1:])
    return str(serialized.get("name") or name)


def _query_value_problem(shape: Any, tokens: list[str], value: str, flattened: bool) -> str | None:
    """What is wrong with a scalar at ``tokens`` under ``shape`` (None: fine or not modelled)."""
    while tokens:
        shape, tokens = _descend(shape, tokens, flattened)
        if shape is None:
            return None
    return _scalar_problem(shape.type_name, value)


def _descend(shape: Any, tokens: list[str], flattened: bool) -> tuple[Any, list[str]]:
    """The shape the first tokens of a query key name under ``shape``, and the tokens left
    ((None, []) when the key is not modelled)."""
    descend = {"structure": _into_structure, "list": _into_list, "map": _into_map}.get(shape.type_name)
    return descend(shape, tokens, flattened) if descend else (None, [])


def _into_structure(shape: Any, tokens: list[str], flattened: bool) -> tuple[Any, list[str]]:
    for name, member in shape.members.items():
        if _query_name(name, member, flattened) == tokens[0]:
            return member, tokens[1:]
    return None, []


def _into_list(shape: Any, tokens: list[str], flattened: bool) -> tuple[Any, list[str]]:
    """``Name.member.N`` (``Name.N`` when flattened)."""
    if not (flattened or shape.serialization.get("flattened")):
        if tokens[0] != shape.member.serialization.get("name", "member"):
            return None, []
        tokens = tokens[1:]
    return (shape.member, tokens[1:]) if tokens and tokens[0].isdigit() else (None, [])


def _into_map(shape: Any, tokens: list[str], flattened: bool) -> tuple[Any, list[str]]:
    """``Name.entry.N.key`` and ``Name.entry.N.value``."""
    if len(tokens) < 3 or not tokens[1].isdigit():
        return None, []
    names = {
        shape.key.serialization.get("name", "key"): shape.key,
        shape.value.serialization.get("name", "value"): shape.value,
    }
    return (names[tokens[2]], tokens[3:]) if tokens[2] in names else (None, [])


def _scalar_problem(type_name: str, value: str) -> str | None:
    if type_name in {"integer", "long"}:
        return None if re.fullmatch(r"-?[0-9]{1,19}", value) else "not a whole number"
    if type_name in {"double", "float"}:
        try:
            float(value)
        except ValueError:
            return "not a number"
        return None
    if type_name == "boolean":
        return None if value in {"true", "false"} else "not true or false"
    if type_name == "timestamp":
        from botocore.utils import parse_timestamp  # noqa: PLC0415

        try:
            parse_timestamp(value)
        except (ValueError, TypeError, OverflowError):
            return "not a timestamp"
    return None


# --------------------------------------------------------------------------- answers


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def error_response(protocol: str, refusal: Refusal) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, headers, body) of an AWS error in the shape ``protocol``'s clients read."""
    request_id = str(uuid.uuid4())
    if protocol == "query":
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{escape(refusal.code)}</Code><Message>{escape(refusal.message)}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        content_type = "text/xml"
    elif protocol == "rest-xml":
        body = (
            f"<?xml version='1.0' encoding='UTF-8'?>\n<Error><Code>{escape(refusal.code)}</Code>"
            f"<Message>{escape(refusal.message)}</Message><RequestId>{request_id}</RequestId></Error>"
        ).encode()
        content_type = "application/xml"
    else:
        body = json.dumps({"__type": refusal.code, "message": refusal.message}).encode()
        content_type = "application/x-amz-json-1.1"
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", request_id),
        ("x-amzn-ErrorType", refusal.code),
    ]
    if refusal.close:
        headers.append(("Connection", "close"))
    reason = {400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 413: "Payload Too Large"}
    return f"{refusal.status} {reason.get(refusal.status, 'Error')}", headers, body


class GuardedApplication:
    """moto's WSGI application behind ``check``, its crashes and HTML error pages as AWS errors."""

    def __init__(self, app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        protocol = "json"
        try:
            request = read_request(environ)
            protocol = request.protocol
            check(request)
            return self._moto(environ, start_response, request)
        except Refusal as refusal:
            return self._refuse(environ, start_response, protocol, refusal)
        except Exception as exc:  # moto could not process it: the client's request, never a 500
            crashed = Refusal(
                "ValidationException" if protocol == "json" else "InvalidRequest",
                f"the local cloud could not process this request ({type(exc).__name__}: {_first_line(exc)})",
            )
            return self._refuse(environ, start_response, protocol, crashed)

    def _moto(
        self, environ: dict[str, Any], start_response: StartResponse, request: Request
    ) -> Iterable[bytes]:
        captured: list[Any] = []

        def capture(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], Any]:
            captured[:] = [status, headers, exc_info]
            return lambda data: None  # moto's Flask apps never write(): they return the body

        body = self.app(environ, capture)
        status, headers, exc_info = captured
        html = any(k.lower() == "content-type" and v.startswith("text/html") for k, v in headers)
        code = int(status.split(" ", 1)[0])
        if code >= 400 and html:  # Flask's own pages (no route, method not allowed, 500)
            _close(body)
            names = {404: "UnknownOperationException", 405: "UnknownOperationException"}
            message = f"{request.method} {request.path}: {status.split(' ', 1)[-1].lower()}"
            refusal = Refusal(names.get(code, "InvalidRequest"), message, status=code if code < 500 else 400)
            return self._refuse(environ, start_response, request.protocol, refusal)
        start_response(status, headers, exc_info)
        return body

    @staticmethod
    def _refuse(
        environ: dict[str, Any], start_response: StartResponse, protocol: str, refusal: Refusal
    ) -> Iterator[bytes]:
        where = f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"
        target = environ.get("HTTP_X_AMZ_TARGET")
        LOG.warning(
            "local serve: %s %s for %s%s: %s",
            refusal.status,
            refusal.code,
            where,
            f" ({target})" if target else "",
            refusal.message,
        )
        status, headers, body = error_response(protocol, refusal)
        start_response(status, headers)
        return iter([body])


def _close(body: Iterable[bytes]) -> None:
    close = getattr(body, "close", None)
    if close is not None:
        close()


def request_handler() -> type:
    from moto.moto_server.werkzeug_app import MotoRequestHandler  # noqa: PLC0415

    class Handler(MotoRequestHandler):  # type: ignore[misc]
        """moto's request handler, whose HTTP-level errors (a header line over 64 KB, more than
        100 headers, a request line that is no HTTP) carry a JSON error body instead of HTML."""

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            short, _ = self.responses.get(code, ("Error", ""))
            message = message or short
            self.log_error("code %d, message %s", code, message)
            self.send_response(code, short)
            self.send_header("Connection", "close")
            body = json.dumps({"__type": short.replace(" ", ""), "message": message}).encode()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def log_error(self, format: str, *args: Any) -> None:
            LOG.warning("local serve: " + format, *args)

    return Handler
