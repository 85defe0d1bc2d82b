"""Elastic Load Balancing v2: a listener rule within the documented quotas, as the ELB API
enforces them when a rule is created or modified (CreateRule, ModifyRule, and CloudFormation's
ListenerRule through them): at most 5 condition values and 5 wildcards (``*``, ``?``) per rule,
and at most 100 rules per load balancer besides the listeners' default rules."""

from __future__ import annotations

from typing import Any
from unittest import mock

from petclinic_local.moto_compat.gap import Gap, Hooks, Patches

MAX_CONDITION_VALUES = 5
MAX_WILDCARDS = 5
MAX_RULES_PER_LOAD_BALANCER = 100
_CONFIGS = (
    "HostHeaderConfig",
    "PathPatternConfig",
    "HttpHeaderConfig",
    "HttpRequestMethodConfig",
    "SourceIpConfig",
    "QueryStringConfig",
)


def _values(condition: dict[str, Any]) -> list[str]:
    """A condition's values as the quota counts them (a query string's key and value are one)."""
    values: list[Any] = list(condition.get("Values") or [])
    for config in _CONFIGS:
        values += list((condition.get(config) or {}).get("Values") or [])
    return [
        f"{value.get('Key', '')}={value.get('Value', '')}" if isinstance(value, dict) else str(value)
        for value in values
    ]


def rule_quota_error(conditions: list[dict[str, Any]] | None) -> str | None:
    """What ELB says of these conditions, or None when they are within the rule quotas."""
    values = [value for condition in conditions or [] for value in _values(condition)]
    if len(values) > MAX_CONDITION_VALUES:
        return f"A rule can only have '{MAX_CONDITION_VALUES}' condition values (this one has {len(values)})"
    wildcards = sum(value.count("*") + value.count("?") for value in values)
    if wildcards > MAX_WILDCARDS:
        return f"A rule can only have '{MAX_WILDCARDS}' wildcards (this one has {wildcards})"
    return None


def _elbv2_rule_quotas(_: Hooks) -> Patches:
    from moto.elbv2.exceptions import ELBClientError, ValidationError  # noqa: PLC0415
    from moto.elbv2.models import ELBv2Backend  # noqa: PLC0415

    validate = ELBv2Backend._validate_conditions
    create_rule = ELBv2Backend.create_rule

    def _validate_conditions(self: Any, conditions: list[dict[str, Any]]) -> None:
        validate(self, conditions)
        error = rule_quota_error(conditions)
        if error:
            raise ValidationError(error)

    def _create_rule(self: Any, listener_arn: str, *args: Any, **kwargs: Any) -> Any:
        listeners = self.describe_listeners(None, [listener_arn])
        if listeners:
            balancer = listeners[0].load_balancer_arn
            rules = sum(
                len(listener._non_default_rules)
                for listener in self.load_balancers[balancer].listeners.values()
            )
            if rules >= MAX_RULES_PER_LOAD_BALANCER:
                raise ELBClientError(
                    "TooManyRules",
                    f"A load balancer can have at most {MAX_RULES_PER_LOAD_BALANCER} rules "
                    "besides the default rules",
                )
        return create_rule(self, listener_arn, *args, **kwargs)

    yield mock.patch.object(ELBv2Backend, "_validate_conditions", _validate_conditions)
    yield mock.patch.object(ELBv2Backend, "create_rule", _create_rule)


GAPS = (
    Gap(
        "elbv2-rule-quotas",
        "CreateRule and ModifyRule accept any number of condition values and wildcards, and any "
        "number of rules per load balancer, where ELB refuses more than 5 values, 5 wildcards per "
        "rule and 100 rules per load balancer (so a template AWS refuses creates locally)",
        "moto/elbv2/models.py ELBv2Backend.create_rule (TODO: check for error 'TooManyRules')",
        ("elbv2",),
        _elbv2_rule_quotas,
    ),
)
