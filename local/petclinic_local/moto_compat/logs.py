"""CloudWatch Logs: a log group's ``Fn::GetAtt Arn`` ends in ":*" on AWS
(``arn:aws:logs:<region>:<account>:log-group:<name>:*``), the ARN IAM policies name for the group's
streams; moto answers without it, so a policy built from it matched nothing of the group."""

from __future__ import annotations

from typing import Any
from unittest import mock

from petclinic_local.moto_compat.gap import Gap, Hooks, Patches


def _group_arn_attribute(_: Hooks) -> Patches:
    from moto.logs.models import LogGroup  # noqa: PLC0415

    original = LogGroup.get_cfn_attribute

    def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        value = original(self, attribute_name)
        if attribute_name == "Arn" and isinstance(value, str) and not value.endswith(":*"):
            return f"{value}:*"
        return value

    yield mock.patch.object(LogGroup, "get_cfn_attribute", get_cfn_attribute)


GAPS = (
    Gap(
        "logs-group-arn-attribute",
        "a log group's Fn::GetAtt Arn lacks AWS's trailing ':*'",
        "moto/logs/models.py LogGroup.get_cfn_attribute",
        ("logs",),
        _group_arn_attribute,
    ),
)
