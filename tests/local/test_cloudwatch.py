"""moto_compat.cloudwatch: DescribeAlarms evaluates the alarms from the stored datapoints;
GetMetricData computes percentiles. And the canary judge's CloudWatch adapter
(petclinic_ops.adapters.canary_metrics), which needs both of its statistics, reading the ALB's
per-target-group metrics back."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from moto_gaps import FakeHooks, client, local_aws

from petclinic_local.simulators.cloudwatch import AlarmEvaluator, statistic_of
from petclinic_ops.adapters.canary_metrics import (
    CloudWatchRevisionMetrics,
    target_group_dimension,
    window_period,
)
from petclinic_ops.models.canary import RevisionSample


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


def _p99_query(dimensions: list[dict[str, str]]) -> dict[str, Any]:
    metric = {"Namespace": "Test", "MetricName": "Latency", "Dimensions": dimensions}
    return {"Id": "p99", "MetricStat": {"Metric": metric, "Period": 300, "Stat": "p99"}}


def _p99_values(data: list[dict[str, Any]], dimensions: list[dict[str, str]]) -> list[float]:
    now = dt.datetime.now(dt.UTC)
    cloudwatch = client("cloudwatch")
    cloudwatch.put_metric_data(Namespace="Test", MetricData=data)
    answer = cloudwatch.get_metric_data(
        MetricDataQueries=[_p99_query(dimensions)],
        StartTime=now - dt.timedelta(minutes=2),
        EndTime=now + dt.timedelta(minutes=2),
    )
    return [float(value) for value in answer["MetricDataResults"][0]["Values"]]


def test_needed_cloudwatch_metric_data_percentiles() -> None:
    """If this fails, moto fixed cloudwatch-metric-data-percentiles: delete the workaround
    (GetMetricData answers a p99 Stat)."""
    dimensions = [{"Name": "Service", "Value": "a"}]
    with local_aws(skip={"cloudwatch-metric-data-percentiles"}), pytest.raises(TypeError):
        _p99_values([{"MetricName": "Latency", "Dimensions": dimensions, "Value": 1.0}], dimensions)


def test_closed_cloudwatch_metric_data_percentiles() -> None:
    raw = [{"Name": "Service", "Value": "raw"}]
    repeated = [{"Name": "Service", "Value": "repeated"}]
    summarised = [{"Name": "Service", "Value": "summarised"}]
    with local_aws():
        # 1..100: the 99th percentile (nearest rank) is 99.
        values = {"Values": [float(v) for v in range(1, 101)]}
        assert _p99_values([{"MetricName": "Latency", "Dimensions": raw, **values}], raw) == [99.0]
        # A statistic set of one value repeated has percentiles (it is 50 times 7.0): with 1.0 once.
        one_value = {"SampleCount": 50, "Sum": 350, "Minimum": 7, "Maximum": 7}
        data: list[dict[str, Any]] = [
            {"MetricName": "Latency", "Dimensions": repeated, "StatisticValues": one_value},
            {"MetricName": "Latency", "Dimensions": repeated, "Value": 1.0},
        ]
        assert _p99_values(data, repeated) == [7.0]
        # Any other statistic set has no raw values: no datapoint, as CloudWatch answers.
        spread = {"SampleCount": 2, "Sum": 3, "Minimum": 1, "Maximum": 2}
        data = [{"MetricName": "Latency", "Dimensions": summarised, "StatisticValues": spread}]
        assert _p99_values(data, summarised) == []


LOAD_BALANCER = (
    "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/petclinic-dev/50dc6c495c0c9188"
)
NEW = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/vets-green/73e2d6bc24d8a067"
BASELINE = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/vets-blue/943f017f100becff"
IDLE = "targetgroup/vets-idle/0123456789abcdef"


def _alb(
    target_group: str, load_balancer: str = "app/petclinic-dev/50dc6c495c0c9188"
) -> list[dict[str, str]]:
    return [
        {"Name": "TargetGroup", "Value": target_group_dimension(target_group)},
        {"Name": "LoadBalancer", "Value": load_balancer},
    ]


def _minute(
    target_group: str, at: dt.datetime, requests: int, errors: int, latencies: dict[float, int], **alb: str
) -> list[dict[str, Any]]:
    """One minute of a target group's ALB metrics, as ELB publishes them: counts as statistic
    sets, response times (seconds) as values with counts."""
    dimensions = _alb(target_group, **alb)

    def count(value: int) -> dict[str, Any]:
        return {"SampleCount": 1, "Sum": value, "Minimum": value, "Maximum": value}

    return [
        {"MetricName": "RequestCount", "Dimensions": dimensions, "Timestamp": at,
         "StatisticValues": count(requests)},
        {"MetricName": "HTTPCode_Target_5XX_Count", "Dimensions": dimensions, "Timestamp": at,
         "StatisticValues": count(errors)},
        {"MetricName": "TargetResponseTime", "Dimensions": dimensions, "Timestamp": at,
         "Values": list(latencies), "Counts": list(latencies.values())},
    ]  # fmt: skip


def test_canary_metrics_reads_each_target_groups_window() -> None:
    end = dt.datetime.now(dt.UTC)
    start = end - dt.timedelta(minutes=5)
    aligned, _ = window_period(start, end)
    first, second = aligned + dt.timedelta(seconds=30), aligned + dt.timedelta(seconds=90)
    data = [
        # The new revision: 1,000 requests over two minutes, 51 answered 5xx, a slow tail.
        *_minute(NEW, first, 600, 30, {0.05: 590, 0.2: 6, 0.6: 4}),
        *_minute(NEW, second, 400, 21, {0.05: 390, 0.2: 4, 0.6: 6}),
        # The baseline over the same window: 1,000 requests, one 5xx, a short tail.
        *_minute(BASELINE, first, 1000, 1, {0.04: 995, 0.1: 5}),
        # Not in the window, or another load balancer's: not counted.
        *_minute(NEW, aligned - dt.timedelta(minutes=2), 5000, 5000, {9.0: 10}),
        *_minute(NEW, first, 7000, 7000, {9.0: 10}, load_balancer="app/other/1111111111111111"),
    ]
    with local_aws():
        client("cloudwatch").put_metric_data(Namespace="AWS/ApplicationELB", MetricData=data)
        metrics = CloudWatchRevisionMetrics(cloudwatch=client("cloudwatch"))
        samples = metrics.samples(LOAD_BALANCER, [NEW, BASELINE, IDLE], start, end)
        alone = metrics.sample(LOAD_BALANCER, BASELINE, start, end)
    # p99 of 1,000 values is the 990th: 980 at 50 ms, 10 at 200 ms, 10 at 600 ms -> 200 ms.
    assert samples[NEW] == RevisionSample(requests=1000, errors=51, p99_ms=200.0)
    assert samples[BASELINE] == alone == RevisionSample(requests=1000, errors=1, p99_ms=40.0)
    # No datapoint at all: no requests, an unknown p99.
    assert samples[IDLE] == RevisionSample(requests=0, errors=0, p99_ms=None)


def test_canary_metrics_windows_and_dimensions() -> None:
    start = dt.datetime(2026, 12, 7, 23, 0, 42, tzinfo=dt.UTC)
    assert window_period(start, start + dt.timedelta(seconds=10)) == (start.replace(second=0), 60)
    assert window_period(start, start + dt.timedelta(minutes=10)) == (start.replace(second=0), 660)
    with pytest.raises(ValueError, match="ends"):
        window_period(start, start)
    assert target_group_dimension(NEW) == "targetgroup/vets-green/73e2d6bc24d8a067"
    assert target_group_dimension(IDLE) == IDLE
    with pytest.raises(ValueError, match="not a target group"):
        target_group_dimension(LOAD_BALANCER)
