"""What the canary judge reads and answers: each revision's sample over one window, the
thresholds it judges by, and its verdict (the lifecycle hook's answer to ECS).

A sample is what the ALB's per-target-group metrics say about one revision over the window:
``RequestCount`` (Sum), ``HTTPCode_Target_5XX_Count`` (Sum) and ``TargetResponseTime`` (p99,
in milliseconds here; CloudWatch gives seconds). CloudWatch has no datapoint for a period with no
requests, so a missing count (None, or NaN from an aggregation) is 0 and a missing p99 is None
(unknown), never an error: the judge decides what "no data" means (not enough requests yet).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

HookStatus = Literal["SUCCEEDED", "FAILED", "IN_PROGRESS"]

# ECS calls an IN_PROGRESS hook again after 30 seconds unless the answer says otherwise.
DEFAULT_CALLBACK_DELAY_SECONDS = 30


def _count(value: Any) -> Any:
    """A missing datapoint is no requests: None and NaN are 0; a float count (CloudWatch's Sum is
    a double) is rounded to the whole number it stands for."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return 0
    if isinstance(value, float) and math.isfinite(value):
        return round(value)
    return value


class RevisionSample(BaseModel):
    """One revision's traffic over the judged window (one target group's ALB metrics)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    requests: int = Field(default=0, ge=0)
    errors: int = Field(default=0, ge=0, description="5xx answered by the revision's targets")
    p99_ms: float | None = Field(default=None, ge=0, alias="p99Ms")

    @field_validator("requests", "errors", mode="before")
    @classmethod
    def _missing_is_zero(cls, value: Any) -> Any:
        return _count(value)

    @field_validator("p99_ms", mode="before")
    @classmethod
    def _missing_is_unknown(cls, value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    @model_validator(mode="after")
    def _errors_within_requests(self) -> RevisionSample:
        # The two counts are separate metrics whose datapoints may land a period apart at the
        # window's edges: more 5xx than requests is edge noise, counted as every request failing.
        if self.errors > self.requests:
            object.__setattr__(self, "errors", self.requests)
        return self

    @property
    def error_ratio(self) -> float:
        """The share of requests answered 5xx (0 without requests)."""
        return self.errors / self.requests if self.requests else 0.0

    def describe(self) -> str:
        """``5.1% (51/1000)``: the ratio and the counts it comes from (two decimals under 1 %, so
        that 1 in 2,700 is not shown as 0.0%)."""
        ratio = self.error_ratio
        shown = f"{ratio:.2%}" if 0 < ratio < 0.01 else f"{ratio:.1%}"
        return f"{shown} ({self.errors}/{self.requests})"


class CanaryThresholds(BaseModel):
    """How the judge decides (the template's parameters; defaults are prod's).

    ``z_threshold`` is the one-sided significance bar of the 5xx comparison, expressed as a z
    score (3.0: a false alarm about 1 in 740 per look). It is high on purpose: the hook looks
    again every ``callback_delay_seconds``, and every look is a new chance of a false alarm.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    min_requests: int = Field(default=200, ge=1, alias="minRequests")
    # A p99 of fewer requests rests on one or two of them: 1,000 puts 10 requests beyond it.
    min_latency_requests: int = Field(default=1000, ge=1, alias="minLatencyRequests")
    z_threshold: float = Field(default=3.0, gt=0, le=10, alias="zThreshold")
    max_error_ratio_increase: float = Field(default=0.005, ge=0, le=1, alias="maxErrorRatioIncrease")
    # 2.0, not 1.5: with a slow path in the tail (0.5 % of requests at ~300 ms), the p99 of 1,000
    # requests sits where that path begins and wanders 1.5x on its own (benchmarks/canary_judge.py).
    p99_ratio_limit: float = Field(default=2.0, gt=1, alias="p99RatioLimit")
    p99_floor_ms: float = Field(default=50.0, ge=0, alias="p99FloorMs")
    alarm_error_ratio: float = Field(default=0.10, gt=0, le=1, alias="alarmErrorRatio")
    callback_delay_seconds: int = Field(
        default=DEFAULT_CALLBACK_DELAY_SECONDS, ge=1, le=900, alias="callBackDelaySeconds"
    )

    @property
    def significance(self) -> float:
        """The one-sided p-value that ``z_threshold`` stands for (3.0 -> 0.00135)."""
        return 0.5 * math.erfc(self.z_threshold / math.sqrt(2))


class Verdict(BaseModel):
    """The judge's answer for one step: what the lifecycle hook returns to ECS, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    status: HookStatus = Field(alias="hookStatus")
    reason: str
    gate: Literal["analysis"] = "analysis"
    callback_delay_seconds: int | None = Field(default=None, alias="callBackDelaySeconds")
    new: RevisionSample
    baseline: RevisionSample
    z: float | None = None
    p_value: float | None = Field(default=None, alias="pValue")
    p99_ratio: float | None = Field(default=None, alias="p99Ratio")

    @model_validator(mode="after")
    def _delay_only_in_progress(self) -> Verdict:
        if (self.status == "IN_PROGRESS") != (self.callback_delay_seconds is not None):
            raise ValueError("callBackDelaySeconds goes with IN_PROGRESS, and only with it")
        return self

    def hook_response(self) -> dict[str, Any]:
        """What ECS reads from a Lambda lifecycle hook: ``hookStatus`` and, to be called again,
        ``callBackDelay``."""
        response: dict[str, Any] = {"hookStatus": self.status}
        if self.callback_delay_seconds is not None:
            response["callBackDelay"] = self.callback_delay_seconds
        return response
