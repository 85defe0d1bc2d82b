"""Resolve a deploy request (ECR push event or manual input) into the plan the workflow follows.

The only Lambda on a deployment's path, and a pure one: no AWS call, so no boto3 on the cold
start (the Tracer patches nothing). Everything else is a Step Functions SDK integration.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from petclinic_ops.adapters.environment import EnvironmentConfig
from petclinic_ops.domain import deploy
from petclinic_ops.errors import OpsError
from petclinic_ops.models.deploy import ResolveDeployInput

logger = Logger()
tracer = Tracer(auto_patch=False)
metrics = Metrics()
configs = EnvironmentConfig("DEPLOY_CONFIG")


@logger.inject_lambda_context(correlation_id_path="executionId", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ResolveDeployInput)
def lambda_handler(event: ResolveDeployInput, context: LambdaContext) -> dict[str, Any]:
    _, _, _, region, account, *_ = context.invoked_function_arn.split(":")
    try:
        plan = deploy.plan(
            event.request, configs=configs, execution_id=event.execution_id, account=account, region=region
        )
    except OpsError as exc:
        metrics.add_metric(name="DeployRequestsRejected", unit=MetricUnit.Count, value=1)
        logger.warning("deploy request rejected", extra={"error": type(exc).__name__, "reason": str(exc)})
        raise
    metrics.add_metric(name=f"DeployRequests{plan.action.title()}", unit=MetricUnit.Count, value=1)
    logger.info(
        "deploy request resolved",
        extra={"action": plan.action, "reason": plan.reason, "ecs_service": plan.service, "tag": plan.tag},
    )
    return plan.to_output()
