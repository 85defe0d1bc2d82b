"""Plan a scale run for the scale workflow: load the profile from Parameter Store, validate it
against the live stack (services, scalable targets, Aurora clusters, prod's floors), and return
the diff, the actions and the monthly cost change. Changes nothing: applying is the workflow's
(SDK integrations). The one Lambda invocation of a run.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from petclinic_ops.adapters.scale import AwsScalePorts
from petclinic_ops.domain import scale
from petclinic_ops.models.scale import ScaleInput
from petclinic_ops.settings import ScaleSettings

logger = Logger()
tracer = Tracer(auto_patch=False)


@cache
def settings() -> ScaleSettings:
    return ScaleSettings.from_environ()


@cache
def ports() -> AwsScalePorts:
    return AwsScalePorts()


@logger.inject_lambda_context(correlation_id_path="executionId", clear_state=True)
@tracer.capture_lambda_handler
@event_parser(model=ScaleInput)
def lambda_handler(event: ScaleInput, context: LambdaContext) -> dict[str, Any]:
    config = settings()
    prices = scale.Prices(
        fargate_vcpu_hour_x86=config.fargate_vcpu_hour_x86,
        fargate_gb_hour_x86=config.fargate_gb_hour_x86,
        fargate_vcpu_hour_arm=config.fargate_vcpu_hour_arm,
        fargate_gb_hour_arm=config.fargate_gb_hour_arm,
        aurora_acu_hour=config.aurora_acu_hour,
    )
    scale_context = scale.ScaleContext(
        environment=config.environment,
        cluster=config.cluster,
        services=config.services,
        floors=config.floors,
        prices=prices,
    )
    output = scale.plan(event.profile, event.dry_run, scale_context, ports()).to_output()
    logger.info(
        "scale planned",
        extra={
            "profile": event.profile,
            "dryRun": event.dry_run,
            "changes": len(output["changes"]),
            "monthlyCostDelta": output["monthlyCostDelta"],
        },
    )
    return output
