"""Lambda: the local cloud's functions run in-process (``Hooks.invoke_function``); moto's
Docker-free backend would only echo the payload. Functions the host does not run are moto's."""

from __future__ import annotations

import base64
import json
from typing import Any
from unittest import mock

from petclinic_local.moto_compat.gap import Gap, Hooks, Patches


def function_name_of(name_or_arn: str) -> str:
    """``fn`` for ``fn`` and for ``arn:aws:lambda:REGION:ACCOUNT:function:fn[:QUALIFIER]``."""
    return name_or_arn.split(":")[6] if name_or_arn.startswith("arn:") else name_or_arn


def _lambda_in_process(hooks: Hooks) -> Patches:
    from moto.awslambda_simple.models import LambdaSimpleBackend  # noqa: PLC0415

    original = LambdaSimpleBackend.invoke

    def invoke(  # noqa: PLR0917 - moto's signature
        self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> str | bytes | None:
        name = function_name_of(function_name)
        if not hooks.has_function(name):
            return original(self, function_name, qualifier, body, headers, response_headers)  # type: ignore[no-any-return]
        payload, errored, logs = hooks.invoke_function(name, json.loads(body) if body else {})
        if errored:
            response_headers["x-amz-function-error"] = "Unhandled"
        if headers.get("x-amz-log-type") == "Tail":
            response_headers["x-amz-log-result"] = base64.b64encode(logs[-4096:].encode()).decode()
        return json.dumps(payload).encode()

    yield mock.patch.object(LambdaSimpleBackend, "invoke", invoke)


GAPS = (
    Gap(
        "lambda-in-process",
        "Lambda runs Docker (absent here) or, with use_docker False, echoes the payload",
        "moto/awslambda_simple/models.py LambdaSimpleBackend.invoke",
        ("awslambda_simple",),
        _lambda_in_process,
    ),
)
