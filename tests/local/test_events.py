"""moto_compat.events: EventBridge rules deliver to Step Functions, with time in ISO 8601."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from unittest import mock

import pytest
from moto_gaps import (
    EVENT_KEYS,
    ISO_SECONDS_Z,
    PASS,
    ROLE_ARN,
    client,
    create_state_machine,
    execution_inputs,
    local_aws,
    wait_for_executions,
)

EVENT_TIME = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def _rule_to_state_machine(targets: list[dict[str, Any]]) -> None:
    events = client("events")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["petclinic.test"]}))
    events.put_targets(Rule="r", Targets=targets)


def _put_event(time_: dt.datetime | None = None) -> None:
    entry = {"Source": "petclinic.test", "DetailType": "Test", "Detail": json.dumps({"k": "v"})}
    if time_ is not None:
        entry["Time"] = time_  # type: ignore[assignment]
    client("events").put_events(Entries=[entry])


def test_needed_eventbridge_states_targets() -> None:
    """If this fails, moto fixed eventbridge-states-targets: delete the workaround (moto starts
    executions for Step Functions targets, with 'time' an ISO 8601 string)."""
    from moto.events.models import Rule  # noqa: PLC0415

    with local_aws(skip={"eventbridge-states-targets"}):
        arn = create_state_machine(PASS)
        _rule_to_state_machine([{"Id": "sfn", "Arn": arn, "RoleArn": ROLE_ARN}])
        handed: list[dict[str, Any]] = []
        with mock.patch.object(
            Rule, "send_to_targets", autospec=True, side_effect=lambda rule, event: handed.append(event)
        ):
            _put_event()
        with pytest.raises(NotImplementedError):
            _put_event()
        executions = client("stepfunctions").list_executions(stateMachineArn=arn)["executions"]
    assert executions == []
    assert isinstance(handed[0]["time"], float)  # a unix time where AWS has an ISO 8601 string


def test_closed_eventbridge_states_targets() -> None:
    with local_aws():
        arn = create_state_machine(PASS)
        _rule_to_state_machine(
            [
                {"Id": "whole", "Arn": arn, "RoleArn": ROLE_ARN},
                {"Id": "path", "Arn": arn, "RoleArn": ROLE_ARN, "InputPath": "$.detail"},
                {"Id": "fixed", "Arn": arn, "RoleArn": ROLE_ARN, "Input": '{"fixed": true}'},
            ]
        )
        _put_event(EVENT_TIME)
        inputs = execution_inputs(arn, count=3)
    (whole,) = [i for i in inputs if "detail" in i]
    assert set(whole) == EVENT_KEYS
    assert whole["time"] == "2024-01-02T03:04:05Z"
    assert whole["detail"] == {"k": "v"}
    assert {"k": "v"} in inputs
    assert {"fixed": True} in inputs


def test_closed_eventbridge_states_target_with_input_transformer() -> None:
    transformer = {"InputPathsMap": {"k": "$.detail.k"}, "InputTemplate": '{"got": "<k>"}'}
    with local_aws():
        arn = create_state_machine(PASS)
        _rule_to_state_machine(
            [{"Id": "t", "Arn": arn, "RoleArn": ROLE_ARN, "InputTransformer": transformer}]
        )
        _put_event()
        assert execution_inputs(arn, count=1) == [{"got": "v"}]


def test_closed_eventbridge_other_targets_still_delivered() -> None:
    with local_aws():
        arn = create_state_machine(PASS)
        sqs = client("sqs")
        queue_url = sqs.create_queue(QueueName="q")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        _rule_to_state_machine(
            [{"Id": "sfn", "Arn": arn, "RoleArn": ROLE_ARN}, {"Id": "queue", "Arn": queue_arn}]
        )
        _put_event()
        (message,) = sqs.receive_message(QueueUrl=queue_url)["Messages"]
        assert len(execution_inputs(arn, count=1)) == 1
    assert json.loads(message["Body"])["detail"] == {"k": "v"}


def test_closed_eventbridge_time_defaults_to_now_in_iso_8601() -> None:
    with local_aws():
        arn = create_state_machine(PASS)
        _rule_to_state_machine([{"Id": "whole", "Arn": arn, "RoleArn": ROLE_ARN}])
        _put_event()
        (execution_arn,) = wait_for_executions(arn)
        event = json.loads(client("stepfunctions").describe_execution(executionArn=execution_arn)["input"])
    assert ISO_SECONDS_Z.match(event["time"]), event["time"]
    sent = dt.datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert abs((dt.datetime.now(dt.UTC) - sent).total_seconds()) < 60


def _schedule_rule_to_state_machine() -> str:
    arn = create_state_machine(PASS)
    events = client("events")
    events.put_rule(Name="nightly", ScheduleExpression="rate(1 day)")
    events.put_targets(Rule="nightly", Targets=[{"Id": "sm", "Arn": arn, "RoleArn": ROLE_ARN}])
    return arn


def test_needed_eventbridge_schedule_rules() -> None:
    """If this fails, moto fixed eventbridge-schedule-rules: delete the workaround (a schedule-only
    rule no longer receives the events put on its bus)."""
    with local_aws(skip={"eventbridge-schedule-rules"}):
        arn = _schedule_rule_to_state_machine()
        _put_event()
        started = wait_for_executions(arn)
    assert len(started) == 1


def test_closed_eventbridge_schedule_rules() -> None:
    with local_aws():
        arn = _schedule_rule_to_state_machine()
        _put_event()
        listed = client("stepfunctions").list_executions(stateMachineArn=arn)["executions"]
    assert listed == []
