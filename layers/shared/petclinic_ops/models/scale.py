"""Scaling profiles (Parameter Store JSON under /petclinic/{env}/scale/{profile}) and the scale
function's input.

A profile names, per ECS service, either a ``desiredCount`` (a service ECS alone scales) or
``minCapacity``/``maxCapacity`` (a service Application Auto Scaling manages: its scalable
target's bounds; the target-tracking policy is left as it is), and per Aurora cluster its
Serverless v2 capacity (``minCapacity``, ``maxCapacity`` in ACUs, ``secondsUntilAutoPause`` when
``minCapacity`` is 0). What can be checked without the live stack is checked here; what needs it
(unknown services, prod floors, the engine version for auto-pause) is ``domain.scale``'s.

Every number is strict: a count is a JSON integer (not a boolean, not a string, not 2.0), a
capacity a JSON number in steps of 0.5 ACU, seconds an integer; anything else is a validation
error located at the field (``services.vets-service.desiredCount``), never coerced. Numbers
arrive as ``domain.scale.parse_profile`` reads them: integers as ``int`` (or ``OutOfRange`` when
they have more digits than any bound here allows), other numbers as ``Decimal``, so that a
half-step check is exact and no float rounding turns 0.50000000000000001 into 0.5.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    field_validator,
    model_validator,
)

PROFILE_NAME = r"^[a-z0-9][a-z0-9-]{0,62}$"
MAX_ACU = 256.0
MIN_AUTO_PAUSE_SECONDS = 300
MAX_AUTO_PAUSE_SECONDS = 86_400
MAX_TASKS = 1_000


class OutOfRange:
    """A JSON integer too long to be any value this model takes (``parse_profile`` makes one
    instead of converting thousands of digits): every field rejects it, naming itself."""

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return f"<an integer of {self.digits} digits>"


_KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (str, "a string"),
    ((list, tuple), "an array"),
    (dict, "an object"),
)


def kind(value: Any) -> str:
    """The JSON kind of a value, for messages (never a long value itself: it may be huge)."""
    if value is None or isinstance(value, bool):
        return "null" if value is None else f"a boolean ({str(value).lower()})"
    if isinstance(value, OutOfRange):
        return f"an integer of {value.digits} digits"
    if isinstance(value, int | float | Decimal):
        shown = str(value)
        return (
            ("the integer " if isinstance(value, int) else "the number ") + shown
            if len(shown) <= 24
            else "a number"
        )
    return next((name for types, name in _KINDS if isinstance(value, types)), type(value).__name__)


def _count(value: Any) -> Any:
    """A whole number of tasks: a JSON integer, nothing else (true is not 1, "2" is not 2)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be a whole number of tasks (0-{MAX_TASKS}), not {kind(value)}")
    return value


def acus(value: Any) -> Any:
    """ACUs: a number (not a boolean), finite, 0-256 in steps of 0.5 (checked exactly on the number
    as written). A profile's capacities and the scale function's settings are checked by it."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"must be a number of ACUs in steps of 0.5 (0-{MAX_ACU:g}), not {kind(value)}")
    exact = (
        value if isinstance(value, Decimal) else Decimal(str(value) if isinstance(value, float) else value)
    )
    if not exact.is_finite():
        raise ValueError(f"must be a finite number of ACUs, not {kind(value)}")
    if exact < 0 or exact > Decimal(int(MAX_ACU)):
        raise ValueError(f"{_plain(exact)} is outside 0-{MAX_ACU:g} ACUs")
    if (exact * 2) % 1 != 0:
        raise ValueError(f"{_plain(exact)} is not a multiple of 0.5 ACU")
    return float(exact)


def _seconds(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(
            f"must be a whole number of seconds ({MIN_AUTO_PAUSE_SECONDS}-{MAX_AUTO_PAUSE_SECONDS}), "
            f"not {kind(value)}"
        )
    return value


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f") if abs(value) < 10**6 else f"{value:.3E}"
    return text if len(text) <= 24 else f"{value:.3E}"


Count = Annotated[int, BeforeValidator(_count), Field(ge=0, le=MAX_TASKS)]
Capacity = Annotated[float, BeforeValidator(acus)]
AutoPauseSeconds = Annotated[
    int, BeforeValidator(_seconds), Field(ge=MIN_AUTO_PAUSE_SECONDS, le=MAX_AUTO_PAUSE_SECONDS)
]


class ServiceScale(BaseModel):
    """One service: ``desiredCount``, or ``minCapacity`` and ``maxCapacity`` (its scalable target)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    desired_count: Count | None = Field(default=None, alias="desiredCount")
    min_capacity: Count | None = Field(default=None, alias="minCapacity")
    max_capacity: Count | None = Field(default=None, alias="maxCapacity")

    @field_validator("desired_count", "min_capacity", "max_capacity", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return _count(value)  # null is not "absent": leave a field out to leave it unset

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError(
                f"must be an object {{desiredCount}} or {{minCapacity, maxCapacity}}, not {kind(data)}"
            )
        return data

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


class AuroraScale(BaseModel):
    """One Aurora Serverless v2 cluster's capacity."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    min_capacity: Capacity = Field(alias="minCapacity")
    max_capacity: Capacity = Field(alias="maxCapacity", ge=1)
    seconds_until_auto_pause: AutoPauseSeconds | None = Field(default=None, alias="secondsUntilAutoPause")

    @field_validator("seconds_until_auto_pause", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return _seconds(value)

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError(
                f"must be an object {{minCapacity, maxCapacity, secondsUntilAutoPause?}}, not {kind(data)}"
            )
        return data

    @model_validator(mode="after")
    def _capacities(self) -> Self:
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

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    description: StrictStr = Field(default="", max_length=500)
    services: dict[str, ServiceScale] = Field(default_factory=dict)
    aurora: dict[str, AuroraScale] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError(
                f"a profile is a JSON object {{description?, services?, aurora?}}, not {kind(data)}"
            )
        return data

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not self.services and not self.aurora:
            raise ValueError("a profile names at least one service or Aurora cluster")
        return self


class ScaleInput(BaseModel):
    """What the scale workflow passes its plan function (strict: ``dryRun`` is a JSON boolean)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, strict=True)

    profile: StrictStr = Field(pattern=PROFILE_NAME)
    dry_run: StrictBool = Field(default=False, alias="dryRun")
    execution_id: StrictStr = Field(default="", alias="executionId", max_length=2048)
    trigger: Literal["manual", "schedule", "alarm"] = "manual"

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError(
                f"a scale request is a JSON object {{profile, dryRun?, trigger?}}, not {kind(data)}"
            )
        return data
