"""Resolve a deploy request (ECR push event, manual or restart input) into the plan the workflow
follows.

The only Lambda on a deployment's path, and a pure one: no AWS call, so no boto3 on the cold
start, and no X-Ray SDK either (``tracing=False``: 60 ms of its import, for a subsegment with no
call in it; Lambda's active tracing still puts the invocation in the execution's trace).
Everything else is a Step Functions SDK integration. A request that must not be acted on comes
back as a REJECT plan (the workflow fails it before touching the dedupe table, the lease or the
ledger); only a broken configuration raises. The wiring is the handler kit's
(petclinic_ops.handler), the use case petclinic_ops.domain.deploy.handle."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from petclinic_ops.domain import deploy
from petclinic_ops.handler import Function
from petclinic_ops.models.deploy import ResolveDeployInput
from petclinic_ops.settings import ResolveDeploySettings

kit = Function(ResolveDeploySettings, correlation_id="executionId", tracing=False)
settings = kit.settings


@kit.handler(parse=ResolveDeployInput)
def lambda_handler(event: ResolveDeployInput, context: LambdaContext) -> dict[str, Any]:
    return deploy.handle(
        event, settings().to_domain(), function_arn=context.invoked_function_arn, telemetry=kit
    )
