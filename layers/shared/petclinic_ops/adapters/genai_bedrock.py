"""Amazon Bedrock, as the router's ``ConverseClient`` and the vet search's ``Embedder``.

boto3's bedrock-runtime client is created on first use, with no SDK retries (a throttled model
is the router's signal to fall back at once, not to wait) and a read timeout per call, so a
slow model falls back too. Bedrock's errors map onto ``ModelFailure`` kinds:

    ThrottlingException, ServiceQuotaExceededException      throttled
    ServiceUnavailableException, InternalServerException,
    ModelErrorException, connection errors                   unavailable
    ModelTimeoutException, read/connect timeouts             timeout
    ModelNotReadyException                                   not_ready
    anything else (ValidationException, AccessDenied...)     error (fall back, no cooldown)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from petclinic_ops.domain.genai.router import ConverseRequest, ConverseResult
from petclinic_ops.errors import FailureKind, ModelFailure
from petclinic_ops.models.genai import ModelTarget

if TYPE_CHECKING:
    from types_boto3_bedrock_runtime.client import BedrockRuntimeClient

ERROR_KINDS: dict[str, FailureKind] = {
    "ThrottlingException": "throttled",
    "ServiceQuotaExceededException": "throttled",
    "ServiceUnavailableException": "unavailable",
    "InternalServerException": "unavailable",
    "ModelErrorException": "unavailable",
    "ModelTimeoutException": "timeout",
    "ModelNotReadyException": "not_ready",
}
EMBEDDING_DIMENSIONS = 256  # Titan Text Embeddings V2 takes 256, 512 or 1024


def new_client(read_timeout: float) -> Any:
    import boto3  # noqa: PLC0415 - lazy: not on the cold start's import path
    from botocore.config import Config  # noqa: PLC0415

    config = Config(
        connect_timeout=2,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": 1},
        tcp_keepalive=True,
    )
    return boto3.client("bedrock-runtime", config=config)


def failure_of(exc: Exception) -> ModelFailure | None:
    """The router's view of an exception from a Bedrock call (None: not a Bedrock failure)."""
    from botocore.exceptions import (  # noqa: PLC0415
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
        return ModelFailure(ERROR_KINDS.get(code, "error"), code)
    if isinstance(exc, ReadTimeoutError | ConnectTimeoutError):
        return ModelFailure("timeout", type(exc).__name__)
    if isinstance(exc, EndpointConnectionError | ConnectionClosedError):
        return ModelFailure("unavailable", type(exc).__name__)
    return None


class BedrockConverse:
    """``ConverseClient`` on bedrock-runtime's Converse API."""

    def __init__(self, client: BedrockRuntimeClient | None = None, *, read_timeout: float = 20.0) -> None:
        self._injected = client
        self.read_timeout = read_timeout

    @cached_property
    def client(self) -> BedrockRuntimeClient:
        return self._injected if self._injected is not None else new_client(self.read_timeout)

    def converse(self, target: ModelTarget, request: ConverseRequest) -> ConverseResult:
        arguments: dict[str, Any] = {
            "modelId": target.model_id,
            "messages": request.messages,
            "inferenceConfig": {"maxTokens": request.max_tokens},
        }
        if request.system:
            arguments["system"] = [{"text": request.system}]
        if request.tools:
            arguments["toolConfig"] = {"tools": request.tools}
        if request.guardrail:
            arguments["guardrailConfig"] = request.guardrail
        try:
            response = self.client.converse(**arguments)
        except Exception as exc:
            failure = failure_of(exc)
            if failure is None:
                raise
            raise failure from None
        usage = response.get("usage", {})
        router_trace = response.get("trace", {}).get("promptRouter", {})
        return ConverseResult(
            stop_reason=str(response.get("stopReason", "end_turn")),
            content=[dict(block) for block in response["output"]["message"]["content"]],
            input_tokens=int(usage.get("inputTokens", 0)),
            output_tokens=int(usage.get("outputTokens", 0)),
            model=str(router_trace.get("invokedModelId") or target.model_id),
        )


class TitanEmbedder:
    """``Embedder`` on Amazon Titan Text Embeddings V2 (InvokeModel, normalised vectors)."""

    def __init__(
        self, model_id: str, client: BedrockRuntimeClient | None = None, *, read_timeout: float = 10.0
    ) -> None:
        self.model_id = model_id
        self._injected = client
        self.read_timeout = read_timeout

    @cached_property
    def client(self) -> BedrockRuntimeClient:
        return self._injected if self._injected is not None else new_client(self.read_timeout)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors = []
        for text in texts:
            body = {"inputText": text, "dimensions": EMBEDDING_DIMENSIONS, "normalize": True}
            response = self.client.invoke_model(
                modelId=self.model_id,
                body=json.dumps(body),
                contentType="application/json",
                accept="application/json",
            )
            payload = json.loads(response["body"].read())
            vectors.append([float(value) for value in payload["embedding"]])
        return vectors
