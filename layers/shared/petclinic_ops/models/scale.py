"""Scaling profiles (Parameter Store JSON under /petclinic/{env}/scale/{profile}) and the scale
function's input.

A profile names, per ECS service, either a ``desiredCount`` (a service ECS alone scales) or
``minCapacity``/``maxCapacity`` (a service Application Auto Scaling manages: its scalable
target's bounds; the target-tracking policy is left as it is), and per Aurora cluster its
Serverless v2 capacity (``minCapacity``, ``maxCapacity`` in ACUs, ``secondsUntilAutoPause`` when
``minCapacity`` is 0). What can be checked without the live stack is checked here; what needs it
(unknown services, prod floors, the engine version for auto-pause) is ``domain.scale``'s.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

PROFILE_NAME = r"^[a-z0-9][a-z0-9-]{0,62}$"
MAX_ACU = 256.0
MIN_AUTO_PAUSE_SECONDS = 300
MAX_AUTO_PAUSE_SECONDS = 86_400
MAX_TASKS = 1_000


class ServiceScale(BaseModel):
    """One service: ``desiredCount``, or ``minCapacity`` and ``maxCapacity`` (its scalable target)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    desired_count: int | None = Field(default=None, alias="desiredCount", ge=0, le=MAX_TASKS)
    min_capacity: int | None = Field(default=None, alias="minCapacity", ge=0, le=MAX_TASKS)
    max_capacity: int | None = Field(default=None, alias="maxCapacity", ge=0, le=MAX_TASKS)

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        bounds = (self.min_capacity, self.max_capacity)
        if self.desired_count is not None:
            if bounds != (None, None):
                raise ValueError("give desiredCount or minCapacity/maxCapacity, not both")
            return self
        if None in bounds:
            raise ValueError("give desiredCount, or both minCapacity and maxCapacity")
        low, high = int(self.min_capacity or 0), int(self.max_capacity or 0)
        if low > high:
            raise ValueError(f"minCapacity {self.min_capacity} is above maxCapacity {self.max_capacity}")
        return self

    @property
    def autoscaled(self) -> bool:
        return self.desired_count is None

    @property
    def lowest(self) -> int:
        """The fewest tasks this entry allows."""
        return self.desired_count if self.desired_count is not None else int(self.min_capacity or 0)


def _half_steps(value: float, name: str) -> None:
    if (value * 2) != int(value * 2):
        raise ValueError(f"{name} {value} is not a multiple of 0.5 ACU")


class AuroraScale(BaseModel):
    """One Aurora Serverless v2 cluster's capacity."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_capacity: float = Field(alias="minCapacity", ge=0, le=MAX_ACU)
    max_capacity: float = Field(alias="maxCapacity", ge=1, le=MAX_ACU)
    seconds_until_auto_pause: int | None = Field(
        default=None, alias="secondsUntilAutoPause", ge=MIN_AUTO_PAUSE_SECONDS, le=MAX_AUTO_PAUSE_SECONDS
    )

    @model_validator(mode="after")
    def _capacities(self) -> Self:
        _half_steps(self.min_capacity, "minCapacity")
        _half_steps(self.max_capacity, "maxCapacity")
        if self.min_capacity > self.max_capacity:
            raise ValueError(f"minCapacity {self.min_capacity} is above maxCapacity {self.max_capacity}")
        if self.min_capacity == 0 and self.seconds_until_auto_pause is None:
            raise ValueError(
                "minCapacity 0 means auto-pause: give secondsUntilAutoPause "
                f"({MIN_AUTO_PAUSE_SECONDS}-{MAX_AUTO_PAUSE_SECONDS})"
            )
        if self.min_capacity > 0 and self.seconds_until_auto_pause is not None:
            raise ValueError("secondsUntilAutoPause applies only with minCapacity 0 (auto-pause)")
        return self

    @property
    def auto_pause(self) -> bool:
        return self.min_capacity == 0


class ScaleProfile(BaseModel):
    """A named profile as kept in Parameter Store."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str = Field(default="", max_length=500)
    services: dict[str, ServiceScale] = Field(default_factory=dict)
    aurora: dict[str, AuroraScale] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not self.services and not self.aurora:
            raise ValueError("a profile names at least one service or Aurora cluster")
        return self


class ScaleInput(BaseModel):
    """What the scale workflow passes its plan function."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    profile: str = Field(pattern=PROFILE_NAME)
    dry_run: bool = Field(default=False, alias="dryRun")
    execution_id: str = Field(default="", alias="executionId")
    trigger: Literal["manual", "schedule", "alarm"] = "manual"
