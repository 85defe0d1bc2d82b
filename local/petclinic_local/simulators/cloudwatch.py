"""What CloudWatch and Lambda do on their own with metrics: a STAND-IN, not CloudWatch.

* Lambda publishes ``AWS/Lambda`` Invocations, Errors and Duration for every invocation, by
  function, by Resource (``fn:qualifier``) and, for an alias, by ExecutedVersion
  (``LambdaMetrics.record``; called by ``moto_compat.awslambda_aliases`` for qualified calls).
* CloudWatch Logs turns embedded metric format (EMF) lines a function prints (Powertools
  Metrics) into metrics (``ingest_emf``; LocalCloud calls it with every invocation's log).
* CloudWatch evaluates alarms (``AlarmEvaluator``; ``moto_compat.cloudwatch`` runs it before
  answering DescribeAlarms). Single-metric alarms with a Statistic (Sum, Average, Minimum,
  Maximum, SampleCount) or a pNN ExtendedStatistic, compared with the threshold. Unlike
  CloudWatch's sliding periods, the evaluator takes every datapoint since the alarm was created
  or last configured, as one period: local time is scaled and a release's steps last seconds,
  so "the new version's data so far" is the window. TreatMissingData: notBreaching -> OK,
  breaching -> ALARM, otherwise INSUFFICIENT_DATA.

Datapoints go straight into moto's CloudWatch backend (get_metric_statistics and list_metrics
see them as they see PutMetricData's).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
from collections.abc import Iterable
from typing import Any

OPERATORS = {
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}


def _backend(account: str, region: str) -> Any:
    from moto.cloudwatch.models import cloudwatch_backends  # noqa: PLC0415

    return cloudwatch_backends[account][region]


class LambdaMetrics:
    """Lambda's own metrics of an invocation (namespace AWS/Lambda)."""

    def __init__(self, account: str, region: str) -> None:
        self.account = account
        self.region = region

    def record(
        self, function: str, qualifier: str | None, version: str, *, errored: bool, duration_ms: float
    ) -> None:
        dimension_sets = [[{"Name": "FunctionName", "Value": function}]]
        if qualifier:
            resource = [
                {"Name": "FunctionName", "Value": function},
                {"Name": "Resource", "Value": f"{function}:{qualifier}"},
            ]
            dimension_sets.append(resource)
            if qualifier != version:
                dimension_sets.append([*resource, {"Name": "ExecutedVersion", "Value": version}])
        data = []
        for dimensions in dimension_sets:
            data += [
                {"MetricName": "Invocations", "Dimensions": dimensions, "Value": 1, "Unit": "Count"},
                {
                    "MetricName": "Errors",
                    "Dimensions": dimensions,
                    "Value": 1 if errored else 0,
                    "Unit": "Count",
                },
                {
                    "MetricName": "Duration",
                    "Dimensions": dimensions,
                    "Value": duration_ms,
                    "Unit": "Milliseconds",
                },
            ]
        _backend(self.account, self.region).put_metric_data("AWS/Lambda", data)


def ingest_emf(log_text: str, account: str, region: str) -> int:
    """Put the metrics of every EMF line of a function's output; returns how many values."""
    count = 0
    backend = None
    for line in log_text.splitlines():
        if '"_aws"' not in line:
            continue
        with contextlib.suppress(ValueError):
            document = json.loads(line)
            for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
                backend = backend or _backend(account, region)
                count += _put_directive(backend, document, directive)
    return count


def _put_directive(backend: Any, document: dict[str, Any], directive: dict[str, Any]) -> int:
    data = []
    for dimension_names in directive.get("Dimensions", []):
        dimensions = [
            {"Name": name, "Value": str(document[name])} for name in dimension_names if name in document
        ]
        for metric in directive.get("Metrics", []):
            values = document.get(metric["Name"])
            for value in values if isinstance(values, list) else [values]:
                if isinstance(value, int | float):
                    data.append(
                        {"MetricName": metric["Name"], "Dimensions": dimensions, "Value": float(value),
                         "Unit": metric.get("Unit", "None")}
                    )  # fmt: skip
    if data:
        backend.put_metric_data(directive["Namespace"], data)
    return len(data)


class AlarmEvaluator:
    """Sets each alarm's state from the datapoints since it was configured (see the module docstring)."""

    def evaluate(self, backend: Any, alarms: Iterable[Any]) -> None:
        for alarm in alarms:
            if not alarm.metric_name or alarm.metric_data_queries:
                continue  # metric math: not evaluated locally
            values = self._values(backend, alarm)
            state, reason = self._state(alarm, values)
            if state != alarm.state_value:
                alarm.update_state(reason, json.dumps({"datapoints": len(values)}), state)

    @staticmethod
    def _values(backend: Any, alarm: Any) -> list[float]:
        from moto.cloudwatch.models import MetricDatum  # noqa: PLC0415

        since: dt.datetime = alarm.configuration_updated_timestamp
        wanted = {(d.name, d.value) for d in alarm.dimensions}
        return [
            float(datum.value)
            for datum in backend.metric_data
            if isinstance(datum, MetricDatum)
            and datum.namespace == alarm.namespace
            and datum.name == alarm.metric_name
            and {(d.name, d.value) for d in datum.dimensions} == wanted
            and _aware(datum.timestamp) >= _aware(since)
        ]

    @staticmethod
    def _state(alarm: Any, values: list[float]) -> tuple[str, str]:
        if not values:
            missing = alarm.treat_missing_data or "missing"
            state = {"notBreaching": "OK", "breaching": "ALARM"}.get(missing, "INSUFFICIENT_DATA")
            return state, f"no datapoints (TreatMissingData {missing})"
        statistic = alarm.statistic or alarm.extended_statistic or "Average"
        value = statistic_of(statistic, values)
        breaching = OPERATORS.get(alarm.comparison_operator, OPERATORS["GreaterThanThreshold"])(
            value, float(alarm.threshold)
        )
        reason = (
            f"{statistic} of {len(values)} datapoints is {value:g} (threshold {float(alarm.threshold):g})"
        )
        return ("ALARM" if breaching else "OK"), reason


def statistic_of(statistic: str, values: list[float]) -> float:
    if statistic == "Sum":
        return sum(values)
    if statistic == "Average":
        return sum(values) / len(values)
    if statistic == "Minimum":
        return min(values)
    if statistic == "Maximum":
        return max(values)
    if statistic == "SampleCount":
        return float(len(values))
    if statistic.startswith("p"):
        ordered = sorted(values)
        rank = max(0, math.ceil(float(statistic[1:]) / 100 * len(ordered)) - 1)
        return ordered[rank]
    raise ValueError(f"statistic {statistic!r} is not evaluated locally")


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
