"""The PetClinic assistant: a chat API over Amazon Bedrock with the PetClinic tools.

    POST /api/genai/chatclient   the Spring PetClinic front-end's chat box (text in, text out)
    POST /api/genai/chat         JSON in, JSON out (answer, model, tools, usage, route)

Behind API Gateway (REST, proxy integration on the ``live`` alias). The routes, the input
checks, the turn and what it logs and counts are in the layer (petclinic_ops.adapters.genai_api
over petclinic_ops.domain.genai); the wiring is the handler kit's (petclinic_ops.handler).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from petclinic_ops.adapters.genai_api import ChatApi
from petclinic_ops.handler import Function
from petclinic_ops.settings import GenAiSettings

kit = Function(GenAiSettings, tracing=False)
settings = kit.settings
api = ChatApi(settings, kit)


@kit.handler()
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
