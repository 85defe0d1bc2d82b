"""The canary judge (petclinic_ops.domain.canary) on simulated traffic: false rollbacks of
revisions like the running one, and how fast an `*errors*` or `*slow*` revision is failed, with
how much production traffic met it first. Pure simulation, no local cloud: the judge's figures,
not the deployment's (the ECS simulator's benchmark adds the traffic shift and the rollback).

The simulated service: 50 requests/s on the ALB, a canary of 10 % on the new revision (5 req/s;
the baseline gets the rest), the lifecycle hook judging every 30 s (ECS's callBackDelay) over the
canary step so far, for a 10-minute bake. Requests per 30 s are Poisson-like; 5xx are drawn per
request; latency per request from a realistic shape: 99.5 % lognormal around 40 ms (sigma 0.5)
and 0.5 % on a slow path around 300 ms (sigma 0.4: cold caches, GC, a slow query), the whole
service's latency moving by a shared load factor each 30 s (both revisions see the same load).
Revisions:

* baseline-like: 5xx with p=0.001 and the baseline's latency (the image is fine);
* `*errors*`: 5xx with p=0.05 (the baseline: 0.001);
* `*slow*`: every request 3x slower (p99 about 3x the baseline's).

Targets: 0 false rollbacks out of 50 baseline-like deployments; every `*errors*` and `*slow*`
deployment FAILED within the bake; and the fixed 10 % 5xx alarm (per minute) shown not to fire
on `*errors*`, which is why the alarm is the backstop and not the judge.

    python benchmarks/canary_judge.py [--deployments 50] [--seed 21]
                                      [--p99-ratio-limit 2.0] [--z-threshold 3.0]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
from dataclasses import dataclass, field, replace

from rich.console import Console
from rich.table import Table

from petclinic_ops.domain.canary import judge
from petclinic_ops.models.canary import CanaryThresholds, RevisionSample

RATE_PER_SECOND = 50.0
CANARY_SHARE = 0.10
LOOK_SECONDS = 30
BAKE_SECONDS = 600
BASELINE_ERROR_RATE = 0.001
ALARM_ERROR_RATIO = 0.10
DEFAULTS = CanaryThresholds(callback_delay_seconds=LOOK_SECONDS)


@dataclass(frozen=True)
class Behaviour:
    name: str
    error_rate: float
    latency_factor: float


BASELINE_LIKE = Behaviour("baseline-like", BASELINE_ERROR_RATE, 1.0)
ERRORS = Behaviour("*errors*", 0.05, 1.0)
SLOW = Behaviour("*slow*", BASELINE_ERROR_RATE, 3.0)


@dataclass
class Revision:
    """One revision's traffic since the canary step began (the judge's window)."""

    behaviour: Behaviour
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    # (requests, errors) per minute: what a per-minute alarm on the 5xx ratio evaluates.
    minutes: list[tuple[int, int]] = field(default_factory=list)

    def serve(self, rng: random.Random, requests: int, load: float, *, minute_starts: bool) -> None:
        errors = sum(rng.random() < self.behaviour.error_rate for _ in range(requests))
        self.requests += requests
        self.errors += errors
        self.latencies += [latency_ms(rng) * load * self.behaviour.latency_factor for _ in range(requests)]
        if minute_starts or not self.minutes:
            self.minutes.append((0, 0))
        done, failed = self.minutes[-1]
        self.minutes[-1] = (done + requests, failed + errors)

    def sample(self) -> RevisionSample:
        ordered = sorted(self.latencies)
        p99 = ordered[math.ceil(0.99 * len(ordered)) - 1] if ordered else None
        return RevisionSample(requests=self.requests, errors=self.errors, p99_ms=p99)


def latency_ms(rng: random.Random) -> float:
    if rng.random() < 0.005:
        return rng.lognormvariate(math.log(300), 0.4)
    return rng.lognormvariate(math.log(40), 0.5)


def arrivals(rng: random.Random, mean: float) -> int:
    """Requests in one period: Poisson's mean and spread (normal approximation; means >= 150)."""
    return max(0, round(rng.gauss(mean, math.sqrt(mean))))


@dataclass(frozen=True)
class Outcome:
    status: str  # FAILED, SUCCEEDED, or IN_PROGRESS when the bake ended first
    seconds: int  # simulated seconds from the first request on the new revision to the verdict
    new_requests: int  # requests that met the new revision before the verdict
    all_requests: int  # all production requests before the verdict
    alarm_fired: bool  # a fixed per-minute alarm at 10 % 5xx on the new revision
    reason: str
    # Judged on at every look of the bake, even after a verdict (a stricter count of false
    # rollbacks: as if every look were a linear step's): did any look FAIL it?
    failed_at_any_look: bool


def deploy(behaviour: Behaviour, rng: random.Random, thresholds: CanaryThresholds = DEFAULTS) -> Outcome:
    """One canary step judged every LOOK_SECONDS until a verdict or the end of the bake (a
    SUCCEEDED revision is judged on to the end of the bake, for ``failed_at_any_look``)."""
    new, baseline = Revision(behaviour), Revision(BASELINE_LIKE)
    first: Outcome | None = None
    for look in range(1, BAKE_SECONDS // LOOK_SECONDS + 1):
        load = rng.lognormvariate(0, 0.1)
        minute_starts = (look - 1) * LOOK_SECONDS % 60 == 0
        new.serve(
            rng,
            arrivals(rng, RATE_PER_SECOND * CANARY_SHARE * LOOK_SECONDS),
            load,
            minute_starts=minute_starts,
        )
        baseline.serve(
            rng,
            arrivals(rng, RATE_PER_SECOND * (1 - CANARY_SHARE) * LOOK_SECONDS),
            load,
            minute_starts=minute_starts,
        )
        verdict = judge(new.sample(), baseline.sample(), thresholds)
        if first is None and (verdict.status != "IN_PROGRESS" or look * LOOK_SECONDS >= BAKE_SECONDS):
            fired = any(done and failed / done >= ALARM_ERROR_RATIO for done, failed in new.minutes)
            first = Outcome(
                verdict.status,
                look * LOOK_SECONDS,
                new.requests,
                new.requests + baseline.requests,
                fired,
                verdict.reason,
                failed_at_any_look=verdict.status == "FAILED",
            )
        if first is not None and verdict.status == "FAILED":
            return replace(first, failed_at_any_look=True)
    assert first is not None, "the bake has at least one look"
    return first


def _median(values: list[int]) -> str:
    return f"{statistics.median(values):g}" if values else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deployments", type=int, default=50)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--p99-ratio-limit", type=float, default=DEFAULTS.p99_ratio_limit)
    parser.add_argument("--z-threshold", type=float, default=DEFAULTS.z_threshold)
    options = parser.parse_args()
    thresholds = DEFAULTS.model_copy(
        update={"p99_ratio_limit": options.p99_ratio_limit, "z_threshold": options.z_threshold}
    )
    rng = random.Random(options.seed)
    results = {
        behaviour.name: [deploy(behaviour, rng, thresholds) for _ in range(options.deployments)]
        for behaviour in (BASELINE_LIKE, ERRORS, SLOW)
    }
    bake_requests = RATE_PER_SECOND * BAKE_SECONDS
    table = Table(
        title=(
            f"Canary judge: {options.deployments} deployments each, {RATE_PER_SECOND:g} req/s, "
            f"canary {CANARY_SHARE:.0%}, judged every {LOOK_SECONDS} s, {BAKE_SECONDS // 60}-minute bake "
            f"(seed {options.seed}; p99 limit {thresholds.p99_ratio_limit:g}x, "
            f"z > {thresholds.z_threshold:g})"
        ),
        title_justify="left",
    )
    for column in (
        "revision", "FAILED", "SUCCEEDED", "undecided", "s to verdict (median / max)",
        "requests on it before (median / max)", "share of prod requests until verdict",
        "as a share of the bake's prod requests",
        "10 % alarm fired", "FAILED at any look of the bake",
    ):  # fmt: skip
        table.add_column(column)
    for name, outcomes in results.items():
        decided = [o for o in outcomes if o.status != "IN_PROGRESS"]
        seconds = [o.seconds for o in decided]
        met = [o.new_requests for o in decided]
        table.add_row(
            name,
            str(sum(o.status == "FAILED" for o in outcomes)),
            str(sum(o.status == "SUCCEEDED" for o in outcomes)),
            str(len(outcomes) - len(decided)),
            f"{_median(seconds)} / {max(seconds, default=0)}",
            f"{_median(met)} / {max(met, default=0)}",
            f"{sum(o.new_requests for o in decided) / max(1, sum(o.all_requests for o in decided)):.1%}",
            f"{statistics.median(met) / bake_requests:.2%}" if met else "-",
            f"{sum(o.alarm_fired for o in outcomes)}/{len(outcomes)}",
            f"{sum(o.failed_at_any_look for o in outcomes)}/{len(outcomes)}",
        )
    out = Console(width=160)
    out.print(table)
    for name in (ERRORS.name, SLOW.name):
        failed = next((o for o in results[name] if o.status == "FAILED"), None)
        if failed:
            out.print(f"{name}, first verdict: {failed.reason}")
    false_rollbacks = sum(o.status == "FAILED" for o in results[BASELINE_LIKE.name])
    strict = sum(o.failed_at_any_look for o in results[BASELINE_LIKE.name])
    caught = all(o.status == "FAILED" for name in (ERRORS.name, SLOW.name) for o in results[name])
    alarm_silent = not any(o.alarm_fired for o in results[ERRORS.name])
    out.print(
        f"false rollbacks: {false_rollbacks}/{options.deployments} (target 0; judged at every look of the "
        f"bake: {strict}); every *errors* and *slow* "
        f"deployment FAILED: {caught}; the fixed {ALARM_ERROR_RATIO:.0%} 5xx alarm fired on *errors*: "
        f"{'never' if alarm_silent else 'yes'} (the judge, not the alarm, catches it)"
    )
    return 0 if false_rollbacks == 0 and caught and alarm_silent else 1


if __name__ == "__main__":
    sys.exit(main())
