"""EventBridge: rules deliver to Step Functions targets, with ``time`` an ISO 8601 string."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any
from unittest import mock

from petclinic_local.moto_compat import iam
from petclinic_local.moto_compat.gap import Gap, Hooks, Patches
from petclinic_local.moto_compat.timestamps import event_time


def _target_input(target: dict[str, Any], event: dict[str, Any], original: dict[str, Any]) -> str:
    from moto.events.models import EventTemplateParser  # noqa: PLC0415

    if "Input" in target:
        return str(target["Input"])
    if "InputPath" in target:
        from jsonpath_ng import parse  # noqa: PLC0415

        matches = [match.value for match in parse(target["InputPath"]).find(event)]
        return json.dumps(matches[0] if matches else None)
    if "InputTransformer" in target:
        transformer = target["InputTransformer"]
        rendered = EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event={**original, "time": event["time"]},  # moto's parser reads 'ingestion-time'
        )
        return rendered if isinstance(rendered, str) else json.dumps(rendered)
    return json.dumps(event)


def _start_executions(rule: Any, event: dict[str, Any], original_event: dict[str, Any]) -> None:
    """The rule's Step Functions targets start an execution each, as the target's role may."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends  # noqa: PLC0415
    from moto.utilities.arns import parse_arn  # noqa: PLC0415

    for target in rule.targets:
        arn = parse_arn(target["Arn"])
        if arn.service != "states":
            continue
        refused = iam.target_refusal(target.get("RoleArn"), target["Arn"], arn.region)
        if refused is not None:
            _dead_letter(rule, target, event, refused.message)
            continue
        backend = stepfunctions_parser_backends[arn.account][arn.region]
        backend.start_execution(target["Arn"], None, _target_input(target, event, original_event))


def fire_schedule(account: str, region: str, rule_name: str) -> None:
    """What EventBridge does when a schedule rule's time comes (the local cloud keeps no clock for
    them): its Step Functions targets get the "Scheduled Event", each as its target's role."""
    import time  # noqa: PLC0415
    import uuid  # noqa: PLC0415

    from moto.events.models import events_backends  # noqa: PLC0415

    rule = events_backends[account][region].describe_rule(rule_name, None)  # ResourceNotFoundException
    if not rule.scheduled_expression:
        raise ValueError(f"{rule_name} is not a schedule rule (it has no ScheduleExpression)")
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": event_time(time.time()),
        "region": region,
        "resources": [rule.arn],
        "detail": {},
    }
    _start_executions(rule, event, event)


def _eventbridge_states_targets(_: Hooks) -> Patches:
    from moto.events.models import Rule  # noqa: PLC0415
    from moto.utilities.arns import parse_arn  # noqa: PLC0415

    original = Rule.send_to_targets

    def send_to_targets(self: Any, original_event: dict[str, Any], transform_input: bool = True) -> None:
        event = {**original_event, "time": event_time(original_event.get("time"))}
        event.pop("ingestion-time", None)
        if not self.event_pattern.matches_event(event):
            return
        others = [target for target in self.targets if parse_arn(target["Arn"]).service != "states"]
        _start_executions(self, event, original_event)
        if others:
            with _only_targets(self, others):
                original(self, original_event, transform_input)

    yield mock.patch.object(Rule, "send_to_targets", send_to_targets)


def _dead_letter(rule: Any, target: dict[str, Any], event: dict[str, Any], message: str) -> None:
    """What EventBridge does with an event its target's role may not deliver: to the target's
    dead-letter queue, with the error's attributes (or dropped, without one)."""
    from moto.sqs.models import sqs_backends  # noqa: PLC0415
    from moto.utilities.arns import parse_arn  # noqa: PLC0415

    queue = target.get("DeadLetterConfig", {}).get("Arn")
    if not queue:
        return
    where = parse_arn(queue)
    attributes = {
        "RULE_ARN": rule.arn,
        "TARGET_ARN": target["Arn"],
        "ERROR_CODE": "NO_PERMISSIONS",
        "ERROR_MESSAGE": message,
    }
    sqs_backends[where.account][where.region].send_message(
        where.resource_id,
        json.dumps(event, default=str),
        message_attributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )


def _schedule_rules_take_no_events(_: Hooks) -> Patches:
    from moto.events.models import Rule  # noqa: PLC0415

    original = Rule.send_to_targets

    def send_to_targets(self: Any, original_event: dict[str, Any], transform_input: bool = True) -> None:
        if self.scheduled_expression and not self.event_pattern._pattern:
            return  # a schedule-only rule: EventBridge matches no event against it
        original(self, original_event, transform_input)

    yield mock.patch.object(Rule, "send_to_targets", send_to_targets)


@contextlib.contextmanager
def _only_targets(rule: Any, targets: list[dict[str, Any]]) -> Iterator[None]:
    saved = rule.targets
    rule.targets = targets
    try:
        yield
    finally:
        rule.targets = saved


GAPS = (
    Gap(
        "eventbridge-states-targets",
        "a rule with a Step Functions target raises NotImplementedError on PutEvents; events carry "
        "'time' as a unix number instead of an ISO 8601 string",
        "moto/events/models.py Rule.send_to_targets",
        ("events",),
        _eventbridge_states_targets,
    ),
    Gap(
        "eventbridge-schedule-rules",
        "a rule with only a ScheduleExpression (no EventPattern) receives every event put on its "
        "bus: an empty pattern matches everything",
        "moto/events/models.py EventPattern.matches_event ('if not self._pattern: return True')",
        ("events",),
        _schedule_rules_take_no_events,
    ),
)
