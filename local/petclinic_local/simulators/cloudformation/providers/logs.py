"""CloudWatch Logs: moto's own CloudFormation creates log groups; their drift."""

from __future__ import annotations

from typing import Any

from petclinic_local.simulators.cloudformation.api import aws
from petclinic_local.simulators.cloudformation.registry import known


def _live_log_group(physical: str, region: str) -> dict[str, Any]:
    groups = aws("logs", region).describe_log_groups(logGroupNamePrefix=physical)["logGroups"]
    group = next(g for g in groups if g["logGroupName"] == physical)
    return {"RetentionInDays": group.get("retentionInDays")}


known("AWS::Logs::LogGroup", read=_live_log_group)
