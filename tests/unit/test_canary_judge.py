"""petclinic_ops.domain.canary and models.canary: the judge's table of cases (errors, latency, too
few requests, missing data, the backstop), the verdict as ECS reads it, and hypothesis properties:
a worse new revision never turns FAILED into SUCCEEDED, and revisions drawn from the baseline's
own distribution pass."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from petclinic_ops.domain.canary import fisher_p_value, judge, judge_window, pooled_z
from petclinic_ops.models.canary import CanaryThresholds, RevisionSample, Verdict

THRESHOLDS = CanaryThresholds()


def sample(requests: Any, errors: Any = 0, p99_ms: Any = 160.0) -> RevisionSample:
    return RevisionSample(requests=requests, errors=errors, p99_ms=p99_ms)


# (case, new, baseline, status, words the reason must contain)
CASES = [
    ("5 % errors vs 0.1 %", sample(1000, 51), sample(1000, 1), "FAILED",
     ["new revision 5xx 5.1% (51/1000) vs baseline 0.10% (1/1000)", "z=7.0 > 3.0", "exact p="]),
    ("5 % errors, canary share of traffic", sample(300, 15), sample(2700, 3), "FAILED", ["z=10.4 > 3.0"]),
    ("3x p99", sample(1000, 1, 480.0), sample(9000, 9, 160.0), "FAILED",
     ["p99 480 ms vs baseline 160 ms: 3.00x > 2x and +320 ms > 50 ms"]),
    ("errors and slow: both named", sample(1000, 51, 480.0), sample(9000, 9, 160.0), "FAILED",
     ["z=", "; p99 480 ms"]),
    ("too few requests on the new revision", sample(199, 199), sample(5000, 0), "IN_PROGRESS",
     ["waiting for 200 requests on each revision: new revision 199, baseline 5000"]),
    ("too few requests on the baseline", sample(500, 5), sample(10, 0), "IN_PROGRESS", ["baseline 10"]),
    ("equal", sample(1000, 1), sample(1000, 1), "SUCCEEDED", ["not above the baseline", "1.00x"]),
    ("no errors at all", sample(1000, 0), sample(9000, 0), "SUCCEEDED", ["0.0% (0/1000)"]),
    ("two stray 5xx: z says significant, Fisher says chance", sample(300, 2), sample(2700, 0),
     "IN_PROGRESS", ["0.67% (2/300) vs baseline 0.0% (0/2700): z=4.2 > 3.0, exact p=0.01 >= 0.00135",
                     "p99 waits for 1000 requests on each revision"]),
    ("significant but too small to matter", sample(100_000, 300), sample(900_000, 900), "SUCCEEDED",
     ["under the 0.50% that matters"]),
    ("fast service wobbles: ratio without the floor", sample(1000, 0, 9.0), sample(9000, 0, 4.0),
     "SUCCEEDED", ["2.25x (limit 2x and +50 ms)"]),
    ("backstop: as broken as the baseline", sample(1000, 150), sample(9000, 1350), "FAILED",
     ["15.0% (150/1000) is at or above the fixed 10.0% backstop"]),
    ("backstop before the baseline has traffic", sample(300, 60), sample(0), "FAILED", ["backstop"]),
    ("no requests anywhere", sample(None, None, None), sample(None, None, None), "IN_PROGRESS",
     ["new revision 0, baseline 0"]),
    ("NaN metrics are missing datapoints", sample(math.nan, math.nan, math.nan), sample(5000.0, 2.0),
     "IN_PROGRESS", ["new revision 0"]),
    ("p99 unknown: errors still judged", sample(1000, 0, None), sample(1000, 0, math.nan), "SUCCEEDED",
     ["latency not judged"]),
    ("baseline p99 of 0 ms", sample(1000, 0, 200.0), sample(1000, 0, 0.0), "FAILED", ["infx"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("new", "baseline", "status", "words"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_judge_cases(new: RevisionSample, baseline: RevisionSample, status: str, words: list[str]) -> None:
    verdict = judge(new, baseline, THRESHOLDS)
    assert verdict.status == status, verdict.reason
    for word in words:
        assert word in verdict.reason
    assert verdict.gate == "analysis"
    assert (verdict.callback_delay_seconds == 30) == (status == "IN_PROGRESS")


def test_the_hook_answers_as_ecs_reads_it() -> None:
    waiting = judge(sample(10), sample(10), THRESHOLDS.model_copy(update={"callback_delay_seconds": 60}))
    assert waiting.hook_response() == {"hookStatus": "IN_PROGRESS", "callBackDelay": 60}
    failed = judge(sample(1000, 51), sample(1000, 1), THRESHOLDS)
    assert failed.hook_response() == {"hookStatus": "FAILED"}
    dumped = failed.model_dump(by_alias=True, mode="json")
    assert dumped["hookStatus"] == "FAILED"
    assert dumped["gate"] == "analysis"
    assert dumped["new"] == {"requests": 1000, "errors": 51, "p99Ms": 160.0}
    with pytest.raises(ValidationError, match="callBackDelaySeconds goes with IN_PROGRESS"):
        Verdict(status="SUCCEEDED", reason="", callback_delay_seconds=30, new=sample(1), baseline=sample(1))


def test_samples_and_thresholds_validate() -> None:
    assert sample(10, 12).errors == 10  # more 5xx than requests: edge noise, every request failed
    assert sample(10.0, 2.0).requests == 10
    assert sample(10, 0, math.inf).p99_ms is None
    with pytest.raises(ValidationError):
        sample(-1)
    with pytest.raises(ValidationError):
        CanaryThresholds(p99_ratio_limit=1.0)
    assert CanaryThresholds.model_validate({"zThreshold": 2.0, "minRequests": 50}).min_requests == 50
    assert THRESHOLDS.significance == pytest.approx(0.0013499, rel=1e-4)


def test_statistics_against_hand_figures() -> None:
    # 51/1000 vs 1/1000: pooled 0.026, spread sqrt(0.026 x 0.974 x 0.002) = 0.0071.
    assert pooled_z(sample(1000, 51), sample(1000, 1)) == pytest.approx(0.05 / 0.0071164, rel=1e-4)
    # One error in 3,000 requests, 300 of them the new revision's: a 1 in 10 chance it lands there.
    assert fisher_p_value(sample(300, 1), sample(2700, 0)) == pytest.approx(0.1)
    # Two errors, both the new revision's: (300 x 299) / (3000 x 2999).
    assert fisher_p_value(sample(300, 2), sample(2700, 0)) == pytest.approx(300 * 299 / (3000 * 2999))
    assert fisher_p_value(sample(0), sample(0)) == 1.0
    assert pooled_z(sample(10, 10), sample(10, 10)) == 0.0


class FakeRevisionMetrics:
    """The RevisionMetrics port in memory: samples by target group, and the windows asked for."""

    def __init__(self, found: dict[str, RevisionSample]) -> None:
        self.found = found
        self.asked: list[tuple[str, tuple[str, ...], dt.datetime, dt.datetime]] = []

    def samples(
        self, load_balancer: str, target_groups: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> dict[str, RevisionSample]:
        self.asked.append((load_balancer, tuple(target_groups), start, end))
        return {group: self.found.get(group, RevisionSample()) for group in target_groups}


def test_judge_window_reads_both_revisions_over_one_window() -> None:
    metrics = FakeRevisionMetrics(
        {"targetgroup/green/1": sample(1000, 51), "targetgroup/blue/2": sample(9000, 9)}
    )
    start = dt.datetime(2026, 12, 7, 23, 0, tzinfo=dt.UTC)
    end = start + dt.timedelta(minutes=2)
    verdict = judge_window(
        metrics,
        load_balancer="app/petclinic/3",
        new_target_group="targetgroup/green/1",
        baseline_target_group="targetgroup/blue/2",
        start=start,
        end=end,
        thresholds=THRESHOLDS,
    )
    assert verdict.status == "FAILED"
    assert metrics.asked == [("app/petclinic/3", ("targetgroup/green/1", "targetgroup/blue/2"), start, end)]


# ----------------------------------------------------------------------------- properties

counts = st.integers(min_value=0, max_value=20_000)
latencies = st.one_of(st.none(), st.floats(min_value=0, max_value=10_000, allow_nan=False))


@st.composite
def revisions(draw: st.DrawFn) -> RevisionSample:
    requests = draw(counts)
    return RevisionSample(requests=requests, errors=draw(st.integers(0, requests)), p99_ms=draw(latencies))


@settings(max_examples=400, deadline=None)
@given(new=revisions(), baseline=revisions(), more_errors=counts, slower_ms=st.floats(0, 5_000))
def test_a_worse_revision_never_passes_where_a_better_one_failed(
    new: RevisionSample, baseline: RevisionSample, more_errors: int, slower_ms: float
) -> None:
    worse = RevisionSample(
        requests=new.requests,
        errors=min(new.requests, new.errors + more_errors),
        p99_ms=None if new.p99_ms is None else new.p99_ms + slower_ms,
    )
    if judge(new, baseline, THRESHOLDS).status == "FAILED":
        assert judge(worse, baseline, THRESHOLDS).status == "FAILED"


@settings(max_examples=300, deadline=None)
@given(new=revisions(), baseline=revisions(), extra=st.integers(0, 20_000))
def test_the_statistics_are_monotone_in_the_new_revisions_errors(
    new: RevisionSample, baseline: RevisionSample, extra: int
) -> None:
    worse = new.model_copy(update={"errors": min(new.requests, new.errors + extra)})
    assert pooled_z(worse, baseline) >= pooled_z(new, baseline) - 1e-9
    if new.error_ratio > baseline.error_ratio:
        assert fisher_p_value(worse, baseline) <= fisher_p_value(new, baseline) + 1e-12


def _drawn(rng: random.Random, requests: int, error_rate: float, median_ms: float) -> RevisionSample:
    """A revision's window drawn from a distribution: binomial 5xx, lognormal latency (p99 by rank)."""
    errors = sum(rng.random() < error_rate for _ in range(requests))
    ordered = sorted(rng.lognormvariate(math.log(median_ms), 0.6) for _ in range(requests))
    return RevisionSample(requests=requests, errors=errors, p99_ms=ordered[math.ceil(0.99 * requests) - 1])


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    new_requests=st.integers(200, 2_000),
    share=st.sampled_from([0.05, 0.1, 0.25, 0.5]),
    error_rate=st.sampled_from([0.0, 0.001, 0.005, 0.02]),
    median_ms=st.floats(5, 400),
)
def test_revisions_like_the_baseline_mostly_pass(
    seed: int, new_requests: int, share: float, error_rate: float, median_ms: float
) -> None:
    """Both revisions drawn from one distribution (the traffic split as a canary's): of 20 such
    deployments at most one fails (the z bar of 3.0 allows about 1 in 740 per look)."""
    rng = random.Random(seed)
    baseline_requests = round(new_requests * (1 - share) / share)
    failed = sum(
        judge(
            _drawn(rng, new_requests, error_rate, median_ms),
            _drawn(rng, baseline_requests, error_rate, median_ms),
            THRESHOLDS,
        ).status
        == "FAILED"
        for _ in range(20)
    )
    assert failed <= 1
