"""Resolve a deploy request (ECR push event, manual or restart input) into the plan the workflow
follows.

The only Lambda on a deployment's path, and a pure one: no AWS call, so no boto3 on the cold
start (the Tracer patches nothing). Everything else is a Step Functions SDK integration. A request
that must not be acted on comes back as a REJECT plan (the workflow fails it before touching the
dedupe table, the lease or the ledger); only a broken configuration raises.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from petclinic_ops.domain import deploy
from petclinic_ops.errors import InvalidDeployRequest, UnknownService
from petclinic_ops.models.deploy import RejectedRequest, ResolveDeployInput
from petclinic_ops.settings import ResolveDeploySettings

logger = Logger()
tracer = Tracer(auto_patch=False)
metrics = Metrics()
MAX_REASON = 500


@cache
def settings() -> ResolveDeploySettings:
    """Read once per container, on the first invocation (an error names the variable)."""
    return ResolveDeploySettings.from_environ()


@logger.inject_lambda_context(correlation_id_path="executionId", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ResolveDeployInput)
def lambda_handler(event: ResolveDeployInput, context: LambdaContext) -> dict[str, Any]:
    _, _, _, region, account, *_ = context.invoked_function_arn.split(":")
    config = settings().deploy_config()
    try:
        plan = deploy.resolve(
            event.request, config=config, execution_id=event.execution_id, account=account, region=region
        )
    except (InvalidDeployRequest, UnknownService) as exc:
        reason = str(exc)
        if len(reason) > MAX_REASON:
            reason = reason[: MAX_REASON - 3] + "..."
        metrics.add_metric(name="DeployRequestsRejected", unit=MetricUnit.Count, value=1)
        logger.warning("deploy request rejected", extra={"error": type(exc).__name__, "reason": reason})
        error = "UnknownService" if isinstance(exc, UnknownService) else "InvalidDeployRequest"
        return RejectedRequest(error=error, reason=reason).to_output()
    metrics.add_metric(name=f"DeployRequests{plan.action.title()}", unit=MetricUnit.Count, value=1)
    logger.info(
        "deploy request resolved",
        extra={"action": plan.action, "reason": plan.reason, "ecs_service": plan.service, "tag": plan.tag},
    )
    return plan.to_output()
