"""Plan a scale run for the scale workflow: load the profile from Parameter Store, validate it
against the live stack (services, scalable targets, Aurora clusters, prod's floors), and return
the diff, the actions and the monthly cost change. Changes nothing: applying is the workflow's
(SDK integrations). The one Lambda invocation of a run.

The input is validated strictly before anything is read (petclinic_ops.domain.scale.parse_input):
a field of the wrong type (``dryRun`` "yes", a profile name that is a number) is
``InvalidScaleRequest`` naming the field. The wiring is the handler kit's (petclinic_ops.handler).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from petclinic_ops.adapters.scale import AwsScalePorts
from petclinic_ops.domain import scale
from petclinic_ops.domain.scale import parse_input
from petclinic_ops.handler import Function
from petclinic_ops.models.scale import ScaleInput
from petclinic_ops.settings import ScaleSettings

kit = Function(ScaleSettings, correlation_id="executionId", metrics=False)
settings = kit.settings
ports = kit.once(AwsScalePorts)


@kit.handler(parse=parse_input)
def lambda_handler(request: ScaleInput, context: LambdaContext) -> dict[str, Any]:
    return scale.handle(request, settings().to_domain(), ports(), kit)
