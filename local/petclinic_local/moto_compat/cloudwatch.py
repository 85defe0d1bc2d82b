"""CloudWatch: moto 5.2.5 stores alarms but never evaluates them, so an alarm stays OK whatever
its metric does and a release never rolls back on one. With an alarm evaluator on the host
(``hooks.alarm_evaluator``, ``simulators.cloudwatch.AlarmEvaluator``) DescribeAlarms evaluates
every alarm from the stored datapoints before answering. Without one (moto's own tests) moto
answers as it always did.

GetMetricData computes only Sum, Average, Minimum, Maximum and SampleCount: a percentile Stat
(``p99``, the canary judge's TargetResponseTime) makes its value None and the answer fails to
serialise (a TypeError where AWS answers). With the gap closed a ``pNN`` Stat is computed as
CloudWatch does from the raw values of the period (nearest rank, as the alarm evaluator's
``statistic_of``); a statistic set counts only when it stands for one value repeated (Minimum =
Maximum, Sum = Minimum x SampleCount), the one case where CloudWatch can give percentiles of
StatisticValues; a period whose data has no such values has no datapoint, as on AWS.
"""

from __future__ import annotations

import re
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


_PERCENTILE = re.compile(r"^p(\d{1,2}(\.\d+)?|100)$")


def percentile_values(metric_data: list[Any]) -> list[float]:
    """The raw values a percentile is computed from: single values, and statistic sets that stand
    for one value repeated (``SampleCount`` times); other statistic sets have no raw values."""
    from moto.cloudwatch.models import MetricAggregatedDatum, MetricDatum  # noqa: PLC0415

    values: list[float] = []
    for datum in metric_data:
        if isinstance(datum, MetricDatum):
            values.append(float(datum.value))
        elif (
            isinstance(datum, MetricAggregatedDatum)
            and datum.min == datum.max
            and datum.sum == datum.min * datum.sample_count
        ):
            values += [float(datum.min)] * int(datum.sample_count)
    return values


def _cloudwatch_metric_data_percentiles(hooks: Hooks) -> Patches:
    from moto.cloudwatch import models  # noqa: PLC0415

    from petclinic_local.simulators.cloudwatch import statistic_of  # noqa: PLC0415

    original_statistic = models.Statistics.get_statistics_for_type
    original_get_metric_data = models.CloudWatchBackend.get_metric_data

    def get_statistics_for_type(self: Any, stat: str) -> Any:
        if not _PERCENTILE.match(stat):
            return original_statistic(self, stat)
        values = percentile_values(self.metric_data)
        return statistic_of(stat, values) if values else None

    def get_metric_data(self: Any, *args: Any, **kwargs: Any) -> Any:
        results = original_get_metric_data(self, *args, **kwargs)
        for result in results:  # a period without raw values has no datapoint (AWS leaves it out)
            kept = [
                (t, v) for t, v in zip(result["timestamps"], result["values"], strict=True) if v is not None
            ]
            result["timestamps"], result["values"] = [t for t, _ in kept], [v for _, v in kept]
        return results

    yield mock.patch.object(models.Statistics, "get_statistics_for_type", get_statistics_for_type)
    yield mock.patch.object(models.CloudWatchBackend, "get_metric_data", get_metric_data)


GAPS = (
    Gap(
        "cloudwatch-alarm-evaluation",
        "alarms are stored but never evaluated against metric data: they stay OK (set_alarm_state only)",
        "moto/cloudwatch/models.py FakeAlarm (state changes only through SetAlarmState)",
        ("cloudwatch",),
        _cloudwatch_alarm_evaluation,
    ),
    Gap(
        "cloudwatch-metric-data-percentiles",
        "GetMetricData computes no percentile Stat (p99): the value is None and the answer fails to "
        "serialise (TypeError)",
        "moto/cloudwatch/models.py Statistics.get_statistics_for_type (Sum, Average, Minimum, Maximum, "
        "SampleCount only)",
        ("cloudwatch",),
        _cloudwatch_metric_data_percentiles,
    ),
)
