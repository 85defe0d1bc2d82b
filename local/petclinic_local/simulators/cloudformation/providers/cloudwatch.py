"""CloudWatch: alarms, which moto's CloudFormation skips and no local handler makes yet."""

from __future__ import annotations

from petclinic_local.simulators.cloudformation.registry import known

known(
    "AWS::CloudWatch::Alarm", refused=("moto's CloudFormation skips alarms and no local handler makes them")
)
