"""moto_compat.cloudwatch: DescribeAlarms evaluates the alarms from the stored datapoints."""

from __future__ import annotations

from typing import Any

from moto_gaps import FakeHooks, client, local_aws

from petclinic_local.simulators.cloudwatch import AlarmEvaluator, statistic_of


class AlarmHooks(FakeHooks):
    def __init__(self) -> None:
        super().__init__()
        self.alarm_evaluator = AlarmEvaluator()


DIMENSIONS = [{"Name": "functionVersion", "Value": "7"}]


def _alarm_states(hooks: FakeHooks) -> dict[str, str]:
    with local_aws(hooks=hooks):
        cloudwatch = client("cloudwatch")
        common: dict[str, Any] = {
            "Namespace": "Test",
            "Dimensions": DIMENSIONS,
            "Period": 60,
            "EvaluationPeriods": 1,
            "TreatMissingData": "notBreaching",
        }
        cloudwatch.put_metric_alarm(
            AlarmName="rate", MetricName="FallbackRate", Statistic="Average", Threshold=25,
            ComparisonOperator="GreaterThanThreshold", **common,
        )  # fmt: skip
        cloudwatch.put_metric_alarm(
            AlarmName="p99", MetricName="Duration", ExtendedStatistic="p99", Threshold=1000,
            ComparisonOperator="GreaterThanThreshold", **common,
        )  # fmt: skip
        cloudwatch.put_metric_alarm(
            AlarmName="quiet", MetricName="Nothing", Statistic="Sum", Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold", **common,
        )  # fmt: skip
        data = [{"MetricName": "FallbackRate", "Dimensions": DIMENSIONS, "Value": v} for v in (100, 100, 0)]
        data += [{"MetricName": "Duration", "Dimensions": DIMENSIONS, "Value": v} for v in (10, 20, 30)]
        data += [
            {
                "MetricName": "FallbackRate",
                "Dimensions": [{"Name": "functionVersion", "Value": "6"}],
                "Value": 0,
            }
        ]
        cloudwatch.put_metric_data(Namespace="Test", MetricData=data)
        alarms = cloudwatch.describe_alarms(AlarmNames=["rate", "p99", "quiet"])["MetricAlarms"]
    return {alarm["AlarmName"]: alarm["StateValue"] for alarm in alarms}


def test_needed_cloudwatch_alarm_evaluation() -> None:
    """If this fails, moto fixed cloudwatch-alarm-evaluation: delete the workaround (moto evaluates
    alarms against the metric data)."""
    hooks = AlarmHooks()
    with local_aws(skip={"cloudwatch-alarm-evaluation"}, hooks=hooks):
        pass
    states = _alarm_states_skipping(hooks)
    assert states == {"rate": "OK", "p99": "OK", "quiet": "OK"}


def _alarm_states_skipping(hooks: FakeHooks) -> dict[str, str]:
    class Plain(FakeHooks):
        pass

    return _alarm_states(Plain())  # no evaluator: what moto alone does


def test_closed_cloudwatch_alarm_evaluation() -> None:
    assert _alarm_states(AlarmHooks()) == {"rate": "ALARM", "p99": "OK", "quiet": "OK"}


def test_statistics() -> None:
    values = [float(v) for v in range(1, 101)]
    assert statistic_of("p99", values) == 99.0
    assert statistic_of("Average", [100.0, 0.0]) == 50.0
    assert statistic_of("Sum", [1.0, 2.0]) == 3.0
    assert statistic_of("SampleCount", [1.0, 2.0]) == 2.0
