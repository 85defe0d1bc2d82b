"""Template parameters that are counts, seconds, tokens, request limits or ACUs take whole numbers
(or half-ACU steps) in their range and nothing else, so CloudFormation refuses "2.5" or "true"
before anything is created. A Number parameter took 2.5 tasks or 60.5 seconds and failed later,
at a resource (ECS, WAF, a Step Functions Wait) or when a function read its settings."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from petclinic_local.stack.template import load_template

ROOT = Path(__file__).resolve().parents[2]
TASKS = (0, 1000)
# (template, parameter) -> (kind, lowest, highest): "int" whole numbers, "half" ACUs in 0.5 steps.
CONSTRAINED: dict[tuple[str, str], tuple[str, float, float]] = {
    **{
        ("infra/services.yaml", f"{service}{suffix}"): ("int", *TASKS)
        for service in ("Customers", "Vets", "Visits")
        for suffix in ("DesiredCount", "MinTasks", "MaxTasks")
    },
    ("infra/services.yaml", "AdminServerDesiredCount"): ("int", *TASKS),
    ("infra/data.yaml", "MinCapacity"): ("half", 0, 256),
    ("infra/data.yaml", "MaxCapacity"): ("half", 1, 256),
    ("infra/data.yaml", "SecondsUntilAutoPause"): ("int", 300, 86_400),
    ("infra/data.yaml", "BackupRetentionDays"): ("int", 1, 35),
    ("infra/edge.yaml", "RateLimitPer5Minutes"): ("int", 100, 2_000_000_000),
    ("infra/edge.yaml", "ChatClientRateLimitPer5Minutes"): ("int", 10, 2_000_000_000),
    ("infra/edge.yaml", "ThrottlingBurstLimit"): ("int", 0, 99_999),
    ("template.yaml", "ScaleTimeoutSeconds"): ("int", 60, 3600),
    **{
        ("template.yaml", f"ProdFloor{service}"): ("int", *TASKS)
        for service in ("CustomersService", "VetsService", "VisitsService", "AdminServer")
    },
    ("template.yaml", "ProdAuroraMinCapacity"): ("half", 0.5, 256),
    ("template.yaml", "ProdAuroraMaxCapacity"): ("half", 1, 256),
    ("template.yaml", "GenAiDailyTokenBudget"): ("int", 1, 999_999_999_999),
    ("template.yaml", "GenAiMaxTokens"): ("int", 16, 4096),
    ("template.yaml", "GenAiBakeSeconds"): ("int", 10, 3600),
    ("template.yaml", "GenAiThrottleBurstLimit"): ("int", 0, 99_999),
    ("template.yaml", "GenAiChatClientRateLimitPer5Minutes"): ("int", 10, 2_000_000_000),
    ("template.yaml", "GenAiAlarmServerErrors"): ("int", 1, 100_000),
    ("template.yaml", "RolloutTimeoutSeconds"): ("int", 60, 21_600),
    ("template.yaml", "StackTimeoutSeconds"): ("int", 300, 86_400),
    ("template.yaml", "CanaryMinRequests"): ("int", 1, 100_000),
    ("template.yaml", "CanaryMinLatencyRequests"): ("int", 1, 100_000),
    ("template.yaml", "CanaryCallbackDelaySeconds"): ("int", 1, 900),
}
NEVER = ["", " 2", "2 ", "1e3", "-1", "01", "true", "null", "0x10", "\u0661", "1_000", "+5"]


@cache
def declared(template: str) -> dict[str, Any]:
    parameters: dict[str, Any] = load_template(ROOT / template)["Parameters"]
    return parameters


def accepts(template: str, name: str, value: str) -> bool:
    declaration = declared(template)[name]
    assert declaration["Type"] == "String", (template, name)
    return re.fullmatch(declaration["AllowedPattern"], value) is not None


def _text(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


@pytest.mark.parametrize(("template", "name"), sorted(CONSTRAINED))
def test_the_pattern_takes_exactly_the_range(template: str, name: str) -> None:
    kind, low, high = CONSTRAINED[(template, name)]
    declaration = declared(template)[name]
    assert accepts(template, name, str(declaration["Default"]))
    assert declaration["ConstraintDescription"]
    step = 0.5 if kind == "half" else 1
    edges = [low - 2 * step, low - step, low, low + step, high - step, high, high + step, high + 2 * step]
    if high - low <= 100_000:
        edges += [low + k * step for k in range(int((high - low) / step) + 1)]
    for number in edges:
        assert accepts(template, name, _text(number)) == (low <= number <= high), (name, number)
    for text in NEVER + (["0.25", "0.7", "1.50", ".5", "1.", "2.05"] if kind == "half" else ["2.5", "2.0"]):
        assert not accepts(template, name, text), (name, text)


@given(number=st.integers(-(10**13), 10**13))
def test_whole_number_patterns_agree_with_their_range_anywhere(number: int) -> None:
    for (template, name), (kind, low, high) in CONSTRAINED.items():
        if kind == "int":
            assert accepts(template, name, str(number)) == (low <= number <= high), (name, number)


def test_every_integer_setting_of_the_control_plane_is_constrained() -> None:
    """No Number-typed template parameter is left that a function or a workflow reads as a whole
    number (seconds of a timeout, counts, limits): only those where a fraction means something,
    and LogRetentionDays, whose AllowedValues are CloudWatch's own whole numbers."""
    numbers = {name for name, d in declared("template.yaml").items() if d["Type"] == "Number"}
    # Fractions are meaningful for these (seconds of cooldown, percentages, latency, requests/s,
    # the canary judge's z score, ratios and p99 floor).
    fractional = {
        "CanaryZThreshold",
        "CanaryMaxErrorRatioIncrease",
        "CanaryP99RatioLimit",
        "CanaryP99FloorMs",
        "CanaryAlarmErrorRatio",
        "GenAiCooldownSeconds",
        "GenAiDegradeAtPercent",
        "GenAiAlarmP99LatencyMs",
        "GenAiAlarmFallbackRatePercent",
        "GenAiThrottleRateLimit",
    }
    assert numbers == fractional | {"LogRetentionDays"}
    for name in fractional:
        assert {"MinValue", "MaxValue"} <= set(declared("template.yaml")[name]), name
    assert all(
        isinstance(days, int) for days in declared("template.yaml")["LogRetentionDays"]["AllowedValues"]
    )
