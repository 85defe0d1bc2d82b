"""The canary judge's metrics: each revision's window sample from the ALB's per-target-group
metrics in CloudWatch (namespace AWS/ApplicationELB), read with one GetMetricData call for every
target group of the comparison (boto3, imported on first use: nothing happens at import).

Metric          Statistic  Becomes
RequestCount    Sum        RevisionSample.requests
HTTPCode_Target_5XX_Count  Sum   RevisionSample.errors (5xx the targets answered; the ALB's
                           own 5xx, HTTPCode_ELB_5XX_Count, are not the revision's doing)
TargetResponseTime  p99    RevisionSample.p99_ms (CloudWatch's seconds x 1000)

Each metric is asked for with the dimensions TargetGroup (``targetgroup/name/id``) and
LoadBalancer (``app/name/id``), the ARN suffixes ELB publishes under, over the whole window as
one period, so that the p99 is the window's own (percentiles cannot be added up period by
period). The window's start is taken down to its minute: ALB metrics are per minute, and
CloudWatch would align it so anyway; both revisions are read over the very same window.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from petclinic_ops.domain.canary import RevisionMetrics
from petclinic_ops.models.canary import RevisionSample

__all__ = [
    "CloudWatchRevisionMetrics",
    "RevisionMetrics",
    "load_balancer_dimension",
    "target_group_dimension",
]

NAMESPACE = "AWS/ApplicationELB"
# (query id prefix, metric, statistic)
_QUERIES = (
    ("requests", "RequestCount", "Sum"),
    ("errors", "HTTPCode_Target_5XX_Count", "Sum"),
    ("p99", "TargetResponseTime", "p99"),
)


def load_balancer_dimension(arn_or_suffix: str) -> str:
    """``app/name/id`` from a load balancer's ARN (or the suffix itself)."""
    return arn_or_suffix.split(":loadbalancer/", 1)[-1]


def target_group_dimension(arn_or_suffix: str) -> str:
    """``targetgroup/name/id`` from a target group's ARN (or the suffix itself)."""
    tail = arn_or_suffix.rsplit(":", 1)[-1]
    if not tail.startswith("targetgroup/"):
        raise ValueError(f"{arn_or_suffix!r} is not a target group ARN or targetgroup/name/id")
    return tail


def window_period(start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, int]:
    """(start down to its minute, a period in whole minutes that covers the window in one)."""
    if end <= start:
        raise ValueError(f"the window ends ({end.isoformat()}) before it starts ({start.isoformat()})")
    aligned = start.replace(second=0, microsecond=0)
    return aligned, max(60, math.ceil((end - aligned).total_seconds() / 60) * 60)


def _client() -> Any:
    import boto3  # noqa: PLC0415 - lazy: only the invocations that read metrics pay for it
    from botocore.config import Config  # noqa: PLC0415

    config = Config(connect_timeout=5, read_timeout=20, retries={"mode": "standard", "max_attempts": 5})
    return boto3.client("cloudwatch", config=config)


class CloudWatchRevisionMetrics:
    """``RevisionMetrics`` (the port, declared in ``domain.canary`` with the judge that reads it)
    on CloudWatch GetMetricData."""

    def __init__(self, *, cloudwatch: Any = None) -> None:
        self._cloudwatch = cloudwatch

    @cached_property
    def cloudwatch(self) -> Any:
        return self._cloudwatch or _client()

    def sample(
        self, load_balancer: str, target_group: str, start: dt.datetime, end: dt.datetime
    ) -> RevisionSample:
        """One target group's requests, 5xx and p99 over [start, end)."""
        return self.samples(load_balancer, [target_group], start, end)[target_group]

    def samples(
        self, load_balancer: str, target_groups: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> dict[str, RevisionSample]:
        """Every target group's sample over the same window, in one GetMetricData call (pages)."""
        aligned, period = window_period(start, end)
        balancer = load_balancer_dimension(load_balancer)
        queries = []
        for index, group in enumerate(target_groups):
            dimensions = [
                {"Name": "TargetGroup", "Value": target_group_dimension(group)},
                {"Name": "LoadBalancer", "Value": balancer},
            ]
            queries += [
                {
                    "Id": f"{prefix}{index}",
                    "MetricStat": {
                        "Metric": {"Namespace": NAMESPACE, "MetricName": metric, "Dimensions": dimensions},
                        "Period": period,
                        "Stat": statistic,
                    },
                    "ReturnData": True,
                }
                for prefix, metric, statistic in _QUERIES
            ]
        values = self._values(queries, aligned, end)
        return {
            group: RevisionSample(
                requests=sum(values.get(f"requests{index}", [])),
                errors=sum(values.get(f"errors{index}", [])),
                # More than one period only at a window's edge: the slowest period's p99 stands.
                p99_ms=max(values[f"p99{index}"]) * 1000 if values.get(f"p99{index}") else None,
            )
            for index, group in enumerate(target_groups)
        }

    def _values(
        self, queries: list[dict[str, Any]], start: dt.datetime, end: dt.datetime
    ) -> dict[str, list[float]]:
        found: dict[str, list[float]] = {}
        request: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}
        while True:
            answer = self.cloudwatch.get_metric_data(**request)
            for result in answer.get("MetricDataResults", []):
                found.setdefault(result["Id"], []).extend(
                    float(value) for value in result.get("Values", []) if math.isfinite(float(value))
                )
            if not answer.get("NextToken"):
                return found
            request["NextToken"] = answer["NextToken"]
