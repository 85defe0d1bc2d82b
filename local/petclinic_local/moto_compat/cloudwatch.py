"""CloudWatch: moto 5.2.5 stores alarms but never evaluates them, so an alarm stays OK whatever
its metric does and a release never rolls back on one. With an alarm evaluator on the host
(``hooks.alarm_evaluator``, ``simulators.cloudwatch.AlarmEvaluator``) DescribeAlarms evaluates
every alarm from the stored datapoints before answering. Without one (moto's own tests) moto
answers as it always did.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

from petclinic_local.moto_compat.gap import Gap, Hooks, Patches


def _cloudwatch_alarm_evaluation(hooks: Hooks) -> Patches:
    from moto.cloudwatch.responses import CloudWatchResponse  # noqa: PLC0415

    original = CloudWatchResponse.describe_alarms

    def describe_alarms(self: Any) -> Any:
        # Not a member of the Hooks Protocol: only a host that runs alarms' consumers has one.
        evaluator = getattr(hooks, "alarm_evaluator", None)
        if evaluator is not None:
            backend = self.cloudwatch_backend
            evaluator.evaluate(backend, list(backend.alarms.values()))
        return original(self)

    yield mock.patch.object(CloudWatchResponse, "describe_alarms", describe_alarms)


GAPS = (
    Gap(
        "cloudwatch-alarm-evaluation",
        "alarms are stored but never evaluated against metric data: they stay OK (set_alarm_state only)",
        "moto/cloudwatch/models.py FakeAlarm (state changes only through SetAlarmState)",
        ("cloudwatch",),
        _cloudwatch_alarm_evaluation,
    ),
)
