"""Judging a canary or linear step: is the new revision significantly worse than the revision it
replaces, over the same window? Pure: the samples come from ``adapters.canary_metrics``.

The decision rule (docs/progressive-delivery.md, "How the canary is judged", says why):

1. Too few requests: the new revision has served fewer than ``min_requests`` -> IN_PROGRESS.
2. Backstop: the new revision's 5xx ratio is at or above ``alarm_error_ratio`` -> FAILED, whatever
   the baseline does (a baseline as broken as the canary must not make the canary look fine).
3. Too few requests on the baseline -> IN_PROGRESS (there is nothing to compare with yet).
4. Errors: FAILED when the new revision's 5xx ratio is above the baseline's by at least
   ``max_error_ratio_increase`` (the smallest effect worth a rollback) AND the difference is
   significant one-sided: the pooled two-proportion z score above ``z_threshold`` AND Fisher's
   exact p-value below the matching significance level. The z test alone overstates the evidence
   when errors are few (0.1 % of 300 requests is 0.3 expected errors: one stray 5xx gives z=3);
   Fisher's test is exact at any count, so both must agree.
5. Latency: FAILED when the new revision's p99 is above ``p99_ratio_limit`` times the baseline's
   AND above it by more than ``p99_floor_ms``. A p99 is one order statistic per window, with no
   variance CloudWatch can give us, so no significance test can be run on it; a ratio says "much
   slower than what runs now" whatever the service's normal latency, and the floor in ms keeps a
   4 ms -> 9 ms wobble of a fast service (a ratio of 2.25 that no user feels) from rolling back.
   It is compared once both revisions have ``min_latency_requests``: the p99 of 200 requests is
   their second slowest, which two slow requests of the baseline's own kind move; 1,000 put 10
   requests beyond it. Until then IN_PROGRESS, unless the errors already failed the step: a step
   passes only when both checks could have failed it and did not. A p99 CloudWatch does not have
   (no TargetResponseTime datapoints) is reported, not waited for.
6. Otherwise SUCCEEDED: failing fast, passing only on enough evidence.

Every check is monotone: a revision with more errors or a higher p99 than one that FAILED also
FAILS (tests/unit/test_canary_judge.py checks it with hypothesis).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Protocol

from petclinic_ops.models.canary import CanaryThresholds, RevisionSample, Verdict


class RevisionMetrics(Protocol):
    """Where the samples come from: ``adapters.canary_metrics.CloudWatchRevisionMetrics`` on AWS
    (the ALB's per-target-group metrics), a fake in unit tests."""

    def samples(
        self, load_balancer: str, target_groups: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> dict[str, RevisionSample]:
        """Each target group's window sample over [start, end), read together: the same window."""
        ...


def pooled_z(new: RevisionSample, baseline: RevisionSample) -> float:
    """The one-sided two-proportion z score of "the new revision fails more often" (pooled
    variance; 0 when there is no error or no success at all: nothing to tell apart)."""
    if not new.requests or not baseline.requests:
        return 0.0
    pooled = (new.errors + baseline.errors) / (new.requests + baseline.requests)
    if pooled in (0.0, 1.0):
        return 0.0
    spread = math.sqrt(pooled * (1 - pooled) * (1 / new.requests + 1 / baseline.requests))
    return (new.error_ratio - baseline.error_ratio) / spread


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_p_value(new: RevisionSample, baseline: RevisionSample) -> float:
    """Fisher's exact one-sided p-value: with the errors of both revisions pooled, the chance that
    the new revision's share of them is at least what it got if both failed alike
    (hypergeometric upper tail)."""
    total, errors, drawn = new.requests + baseline.requests, new.errors + baseline.errors, new.requests
    low, high = new.errors, min(errors, drawn)
    if not total or low > high:
        return 1.0
    denominator = _log_choose(total, drawn)
    mode = (drawn + 1) * (errors + 1) // (total + 2)
    p_value = 0.0
    for hits in range(low, high + 1):
        term = math.exp(_log_choose(errors, hits) + _log_choose(total - errors, drawn - hits) - denominator)
        p_value += term
        if hits > mode and term < p_value * 1e-16:
            break  # past the mode the terms fall geometrically: the rest cannot change the sum
    return min(1.0, p_value)


def _in_progress(
    why: str, new: RevisionSample, baseline: RevisionSample, thresholds: CanaryThresholds
) -> Verdict:
    return Verdict(
        status="IN_PROGRESS",
        reason=why,
        callback_delay_seconds=thresholds.callback_delay_seconds,
        new=new,
        baseline=baseline,
    )


def _waiting(new: RevisionSample, baseline: RevisionSample, thresholds: CanaryThresholds) -> str:
    return (
        f"waiting for {thresholds.min_requests} requests on each revision: "
        f"new revision {new.requests}, baseline {baseline.requests}"
    )


def _error_finding(
    new: RevisionSample, baseline: RevisionSample, thresholds: CanaryThresholds
) -> tuple[bool, str, float, float | None]:
    """(worse, what was found, z, Fisher's p-value or None when the new revision is not worse)."""
    z = pooled_z(new, baseline)
    compared = f"new revision 5xx {new.describe()} vs baseline {baseline.describe()}"
    increase = new.error_ratio - baseline.error_ratio
    if increase <= 0:
        return False, f"{compared}: not above the baseline", z, None
    p_value = fisher_p_value(new, baseline)
    significant = z > thresholds.z_threshold and p_value < thresholds.significance
    large = increase >= thresholds.max_error_ratio_increase
    evidence = (
        f"z={z:.1f} {'>' if z > thresholds.z_threshold else '<='} {thresholds.z_threshold:.1f}, "
        f"exact p={p_value:.2g} {'<' if p_value < thresholds.significance else '>='} "
        f"{thresholds.significance:.3g}"
    )
    if not large:
        evidence += f", +{increase:.2%} is under the {thresholds.max_error_ratio_increase:.2%} that matters"
    return significant and large, f"{compared}: {evidence}", z, p_value


def _latency_finding(
    new: RevisionSample, baseline: RevisionSample, thresholds: CanaryThresholds
) -> tuple[bool, str, float | None]:
    """(worse, what was found, p99 ratio new/baseline or None when a p99 is unknown)."""
    if new.p99_ms is None or baseline.p99_ms is None:
        return False, "p99 unknown (no TargetResponseTime datapoints): latency not judged", None
    if min(new.requests, baseline.requests) < thresholds.min_latency_requests:
        return False, f"p99 waits for {thresholds.min_latency_requests} requests on each revision", None
    # A baseline p99 of 0 ms (no time at all) makes any slower p99 infinitely slower.
    ratio = new.p99_ms / baseline.p99_ms if baseline.p99_ms else (math.inf if new.p99_ms else 1.0)
    slower = ratio > thresholds.p99_ratio_limit and new.p99_ms - baseline.p99_ms > thresholds.p99_floor_ms
    found = f"p99 {new.p99_ms:.0f} ms vs baseline {baseline.p99_ms:.0f} ms: {ratio:.2f}x " + (
        f"> {thresholds.p99_ratio_limit:g}x and +{new.p99_ms - baseline.p99_ms:.0f} ms > "
        f"{thresholds.p99_floor_ms:g} ms"
        if slower
        else f"(limit {thresholds.p99_ratio_limit:g}x and +{thresholds.p99_floor_ms:g} ms)"
    )
    return slower, found, ratio


def _latency_pending(new: RevisionSample, baseline: RevisionSample, thresholds: CanaryThresholds) -> bool:
    """Whether the p99s are known but rest on too few requests to be compared yet."""
    known = new.p99_ms is not None and baseline.p99_ms is not None
    return known and min(new.requests, baseline.requests) < thresholds.min_latency_requests


def judge(new: RevisionSample, baseline: RevisionSample, thresholds: CanaryThresholds) -> Verdict:
    """The verdict on the new revision against the baseline (the running revision) over the same
    window; the module docstring gives the rule."""
    if new.requests < thresholds.min_requests:
        return _in_progress(_waiting(new, baseline, thresholds), new, baseline, thresholds)
    if new.error_ratio >= thresholds.alarm_error_ratio:
        return Verdict(
            status="FAILED",
            reason=(
                f"new revision 5xx {new.describe()} is at or above the fixed "
                f"{thresholds.alarm_error_ratio:.1%} backstop"
            ),
            new=new,
            baseline=baseline,
        )
    if baseline.requests < thresholds.min_requests:
        return _in_progress(_waiting(new, baseline, thresholds), new, baseline, thresholds)
    more_errors, errors_found, z, p_value = _error_finding(new, baseline, thresholds)
    slower, latency_found, ratio = _latency_finding(new, baseline, thresholds)
    failed = [found for worse, found in ((more_errors, errors_found), (slower, latency_found)) if worse]
    if not failed and _latency_pending(new, baseline, thresholds):
        return _in_progress(f"{errors_found}; {latency_found}", new, baseline, thresholds)
    return Verdict(
        status="FAILED" if failed else "SUCCEEDED",
        reason="; ".join(failed) if failed else f"{errors_found}; {latency_found}",
        new=new,
        baseline=baseline,
        z=z,
        p_value=p_value,
        p99_ratio=ratio if ratio is None or math.isfinite(ratio) else None,
    )


def judge_window(
    metrics: RevisionMetrics,
    *,
    load_balancer: str,
    new_target_group: str,
    baseline_target_group: str,
    start: dt.datetime,
    end: dt.datetime,
    thresholds: CanaryThresholds,
) -> Verdict:
    """The verdict on the step that began at ``start``: both revisions' samples since then, judged.
    The window is the step's whole time so far (not the last callback's): evidence accumulates,
    and each look sees more requests than the one before."""
    found = metrics.samples(load_balancer, [new_target_group, baseline_target_group], start, end)
    return judge(found[new_target_group], found[baseline_target_group], thresholds)
