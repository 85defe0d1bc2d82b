"""Plan a scale run for the scale workflow: load the profile from Parameter Store, validate it
against the live stack (services, scalable targets, Aurora clusters, prod's floors), and return
the diff, the actions and the monthly cost change. Changes nothing: applying is the workflow's
(SDK integrations). The one Lambda invocation of a run.

The input is validated strictly before anything is read: a field of the wrong type (``dryRun``
"yes", a profile name that is a number) is ``InvalidScaleRequest`` naming the field.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from petclinic_ops.adapters.scale import AwsScalePorts
from petclinic_ops.domain import scale
from petclinic_ops.errors import InvalidScaleRequest
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


def parse_input(event: Any) -> ScaleInput:
    try:
        return ScaleInput.model_validate(event)
    except ValidationError as exc:
        raise InvalidScaleRequest(f"scale request: {scale.describe(exc, 'request')}") from None


def scale_context(config: ScaleSettings) -> scale.ScaleContext:
    prices = scale.Prices(
        fargate_vcpu_hour_x86=config.fargate_vcpu_hour_x86,
        fargate_gb_hour_x86=config.fargate_gb_hour_x86,
        fargate_vcpu_hour_arm=config.fargate_vcpu_hour_arm,
        fargate_gb_hour_arm=config.fargate_gb_hour_arm,
        aurora_acu_hour=config.aurora_acu_hour,
    )
    return scale.ScaleContext(
        environment=config.environment,
        cluster=config.cluster,
        services=config.services,
        floors=config.floors,
        prices=prices,
        clusters=config.aurora_clusters,
        aurora_floor=scale.AuroraFloor(
            min_capacity=config.prod_aurora_min_capacity,
            max_capacity=config.prod_aurora_max_capacity,
            auto_pause=config.prod_aurora_auto_pause == "allowed",
        ),
    )


@logger.inject_lambda_context(correlation_id_path="executionId", clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    request = parse_input(event)
    output = scale.plan(request.profile, request.dry_run, scale_context(settings()), ports()).to_output()
    logger.info(
        "scale planned",
        extra={
            "profile": request.profile,
            "dryRun": request.dry_run,
            "changes": len(output["changes"]),
            "monthlyCostDelta": output["monthlyCostDelta"],
        },
    )
    return output
