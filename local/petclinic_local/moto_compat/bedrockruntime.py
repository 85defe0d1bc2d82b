"""Bedrock runtime: moto 5.2.5 has no Converse (its dispatcher finds no ``converse`` method and
raises NotImplementedError) and answers InvokeModel with an empty JSON object. With a Bedrock
stand-in on the host (``hooks.bedrock``, a ``simulators.bedrock.BedrockStandIn``), both calls go
to it, through moto's own request parsing and error handling, behind the real boto3 client.
Without one (moto's own tests: the hooks have no ``bedrock``) moto answers as it always did.
"""

from __future__ import annotations

import json
from typing import Any
from unittest import mock
from urllib.parse import unquote

from petclinic_local.moto_compat.gap import Gap, Hooks, Patches


def _stand_in(hooks: Hooks) -> Any:
    # Not a member of the Hooks Protocol: only a host that runs the GenAI function has one.
    return getattr(hooks, "bedrock", None)


def _model_id(path: str, operation: str) -> str:
    """``/model/{modelId}/converse`` -> the model id (an ARN arrives percent-encoded)."""
    return unquote(path.split("/model/", 1)[1].rsplit(f"/{operation}", 1)[0])


def _error(exc: Any) -> Exception:
    from moto.core.exceptions import JsonRESTError  # noqa: PLC0415

    error: Exception = JsonRESTError(exc.code, str(exc))
    error.code = exc.status  # type: ignore[attr-defined]
    return error


def _bedrock_converse(hooks: Hooks) -> Patches:
    from moto.bedrockruntime.responses import BedrockRuntimeResponse  # noqa: PLC0415

    from petclinic_local.simulators.bedrock import StandInError  # noqa: PLC0415

    original_invoke_model = BedrockRuntimeResponse.invoke_model

    def converse(self: Any) -> Any:
        stand_in = _stand_in(hooks)
        if stand_in is None:
            raise NotImplementedError("The converse action has not been implemented")
        try:
            result = stand_in.converse(_model_id(self.path, "converse"), json.loads(self.body or "{}"))
        except StandInError as exc:
            raise _error(exc) from None
        return 200, {"Content-Type": "application/json"}, json.dumps(result)

    def invoke_model(self: Any) -> Any:
        stand_in = _stand_in(hooks)
        if stand_in is None:
            return original_invoke_model(self)
        try:
            result = stand_in.invoke_model(_model_id(self.path, "invoke"), json.loads(self.body or "{}"))
        except StandInError as exc:
            raise _error(exc) from None
        return 200, {"Content-Type": "application/json"}, json.dumps(result)

    yield mock.patch.object(BedrockRuntimeResponse, "converse", converse, create=True)
    yield mock.patch.object(BedrockRuntimeResponse, "invoke_model", invoke_model)


GAPS = (
    Gap(
        "bedrock-runtime-converse",
        "bedrock-runtime Converse raises NotImplementedError and InvokeModel returns an empty body: the "
        "GenAI function cannot run (the host routes both to its Bedrock stand-in)",
        "moto/bedrockruntime/responses.py (invoke_model only, returning {})",
        ("bedrockruntime",),
        _bedrock_converse,
    ),
)
