"""Systems Manager: moto's own CloudFormation creates parameters; their drift."""

from __future__ import annotations

from typing import Any

from petclinic_local.simulators.cloudformation.api import aws
from petclinic_local.simulators.cloudformation.registry import known


def _live_ssm_parameter(physical: str, region: str) -> dict[str, Any]:
    parameter = aws("ssm", region).get_parameter(Name=physical)["Parameter"]
    return {"Value": parameter["Value"]}


known("AWS::SSM::Parameter", read=_live_ssm_parameter)
