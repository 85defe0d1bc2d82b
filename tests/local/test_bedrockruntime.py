"""moto_compat.bedrockruntime: Converse and InvokeModel reach the host's Bedrock stand-in."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto_gaps import FakeHooks, client, local_aws

from petclinic_local.cloud import REGION
from petclinic_local.simulators.bedrock import BedrockStandIn

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
QUESTION: list[Any] = [{"role": "user", "content": [{"text": "Which vets are radiologists?"}]}]


class BedrockHooks(FakeHooks):
    def __init__(self) -> None:
        super().__init__()
        self.bedrock = BedrockStandIn()


def test_needed_bedrock_runtime_converse() -> None:
    """If this fails, moto fixed bedrock-runtime-converse: delete the workaround (moto answers
    Converse, and InvokeModel with a body)."""
    with local_aws(skip={"bedrock-runtime-converse"}, hooks=BedrockHooks()):
        runtime = client("bedrock-runtime")
        with pytest.raises(NotImplementedError):
            runtime.converse(modelId=HAIKU, messages=QUESTION)
        body = runtime.invoke_model(
            modelId="amazon.titan-embed-text-v2:0", body=json.dumps({"inputText": "x"})
        )
        assert json.loads(body["body"].read()) == {}


def test_closed_bedrock_runtime_converse() -> None:
    hooks = BedrockHooks()
    with local_aws(hooks=hooks):
        runtime = client("bedrock-runtime")
        tools = [{"toolSpec": {"name": "listVets", "inputSchema": {"json": {"type": "object"}}}}]
        answer = runtime.converse(modelId=HAIKU, messages=QUESTION, toolConfig={"tools": tools})
        embedding = runtime.invoke_model(
            modelId="amazon.titan-embed-text-v2:0",
            body=json.dumps({"inputText": "radiology", "dimensions": 256}),
        )
        hooks.bedrock.inject(HAIKU, "ThrottlingException", times=1)
        no_retries = boto3.client(
            "bedrock-runtime",
            region_name=REGION,
            config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
        )
        with pytest.raises(ClientError) as throttled:
            no_retries.converse(modelId=HAIKU, messages=QUESTION)
        again = no_retries.converse(modelId=HAIKU, messages=QUESTION)
    assert answer["stopReason"] == "tool_use"
    [use] = [block["toolUse"] for block in answer["output"]["message"]["content"] if "toolUse" in block]
    assert (use["name"], use["input"]) == ("listVets", {"query": "radiology"})
    assert answer["usage"]["inputTokens"] > 0
    assert len(json.loads(embedding["body"].read())["embedding"]) == 256
    assert throttled.value.response["Error"]["Code"] == "ThrottlingException"
    assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert again["stopReason"] == "end_turn"  # times=1: the next call answers (no tools offered)


def test_without_a_stand_in_moto_answers_as_before() -> None:
    with local_aws(hooks=FakeHooks()):
        runtime = client("bedrock-runtime")
        with pytest.raises(NotImplementedError):
            runtime.converse(modelId=HAIKU, messages=QUESTION)
