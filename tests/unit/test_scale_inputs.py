"""What the scale plan refuses: every number of a profile and of the plan function's input is
strict (a count is a JSON integer, a capacity a JSON number in 0.5 steps, bounded), anything
else is a rejection naming the field, before anything is read or changed; prod's Aurora floors;
clusters by identifier only. A property: any JSON value in any field gives a plan or a rejection
naming the field, never another exception."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fakes import FakeScale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from petclinic_ops.domain import scale
from petclinic_ops.domain.scale import AuroraFloor, LiveCluster, LiveService, ScaleContext
from petclinic_ops.errors import InvalidScaleProfile, InvalidScaleRequest, ScaleRefused

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("customers-service", "vets-service", "visits-service", "admin-server")
PLACEHOLDER = '"@@FIELD@@"'


def live() -> dict[str, LiveService]:
    return {
        "customers-service": LiveService("customers-service", 2, 2, 512, 1024, "ARM64", 2, 6),
        "vets-service": LiveService("vets-service", 2, 2, 512, 1024, "ARM64", 2, 6),
        "visits-service": LiveService("visits-service", 2, 2, 512, 1024, "ARM64", 2, 6),
        "admin-server": LiveService("admin-server", 1, 1, 512, 1024, "ARM64"),
    }


class Ports(FakeScale):
    """The fake, and what the plan asked of it (a cluster named by ARN is never read)."""

    def __init__(self, env: str, text: str) -> None:
        cluster = f"petclinic-{env}"
        super().__init__(
            profiles={(env, "p"): text},
            running=live(),
            aurora={cluster: LiveCluster(cluster, "aurora-mysql", "8.0.mysql_aurora.3.08.0", 2, 8)},
        )
        self.read: list[str] = []

    def clusters(self, identifiers: list[str]) -> dict[str, LiveCluster]:
        self.read.extend(identifiers)
        return super().clusters(identifiers)


def context(env: str = "dev", floor: AuroraFloor | None = None) -> ScaleContext:
    return ScaleContext(
        environment=env,
        cluster=f"petclinic-{env}",
        services=SERVICES,
        floors={"vets-service": 2} if env == "prod" else {},
        aurora_floor=floor or AuroraFloor(),
    )


def plan(text: str, env: str = "dev", floor: AuroraFloor | None = None) -> dict[str, Any]:
    return scale.plan("p", False, context(env, floor), Ports(env, text)).to_output()


def rejection(text: str, env: str = "dev") -> str:
    with pytest.raises((InvalidScaleProfile, ScaleRefused)) as raised:
        plan(text, env)
    return str(raised.value)


# --------------------------------------------------------------------------- the audit's three


def test_true_is_not_a_desired_count_of_one() -> None:
    message = rejection('{"services": {"vets-service": {"desiredCount": true}}}')
    assert "services.vets-service.desiredCount: must be a whole number of tasks" in message
    assert "not a boolean (true)" in message


def test_a_numeric_string_is_not_a_capacity() -> None:
    message = rejection('{"aurora": {"petclinic-dev": {"minCapacity": "2.5", "maxCapacity": 4}}}')
    assert "aurora.petclinic-dev.minCapacity: must be a number of ACUs in steps of 0.5" in message
    assert "not a string" in message


def test_an_integer_of_4400_digits_is_a_rejection_not_a_crash() -> None:
    huge = "9" * 4400
    message = rejection('{"services": {"vets-service": {"desiredCount": ' + huge + "}}}")
    assert "services.vets-service.desiredCount: must be a whole number of tasks" in message
    assert "an integer of 4400 digits" in message
    assert huge not in message  # the message never echoes the value


# --------------------------------------------------------------------------- every field, every kind


WRONG_COUNTS = ["true", "false", "null", '"2"', "2.5", "2.0", "1e2", "-1", "1001", "[2]", '{"n": 2}', "NaN"]
WRONG_CAPACITIES = [
    "true",
    "null",
    '"2.5"',
    "0.7",
    "0.50000000000000001",
    "-0.5",
    "256.5",
    "1e400",
    "NaN",
    "Infinity",
    "[1]",
    "9" * 4400,
]
WRONG_SECONDS = ["true", '"900"', "900.0", "299", "86401", "null", "9" * 4400]


@pytest.mark.parametrize("field", ["desiredCount", "minCapacity", "maxCapacity"])
@pytest.mark.parametrize("value", WRONG_COUNTS)
def test_a_count_is_a_json_integer_from_0_to_1000(field: str, value: str) -> None:
    entry = {"desiredCount": {}, "minCapacity": {"maxCapacity": 6}, "maxCapacity": {"minCapacity": 1}}[field]
    profile = {"services": {"vets-service": {**entry, field: "@@FIELD@@"}}}
    message = rejection(json.dumps(profile).replace(PLACEHOLDER, value))
    assert f"services.vets-service.{field}: " in message


@pytest.mark.parametrize("field", ["minCapacity", "maxCapacity"])
@pytest.mark.parametrize("value", WRONG_CAPACITIES)
def test_a_capacity_is_a_finite_json_number_in_half_steps(field: str, value: str) -> None:
    entry = {"minCapacity": 1, "maxCapacity": 8, field: "@@FIELD@@"}
    message = rejection(json.dumps({"aurora": {"petclinic-dev": entry}}).replace(PLACEHOLDER, value))
    assert f"aurora.petclinic-dev.{field}: " in message


@pytest.mark.parametrize("value", WRONG_SECONDS)
def test_seconds_until_auto_pause_are_a_json_integer_in_range(value: str) -> None:
    entry = {"minCapacity": 0, "maxCapacity": 8, "secondsUntilAutoPause": "@@FIELD@@"}
    message = rejection(json.dumps({"aurora": {"petclinic-dev": entry}}).replace(PLACEHOLDER, value))
    assert "aurora.petclinic-dev.secondsUntilAutoPause: " in message


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (
            '{"description": 5, "aurora": {"petclinic-dev": {"minCapacity": 1, "maxCapacity": 4}}}',
            "description: ",
        ),
        ('{"services": [1]}', "services: "),
        ('{"services": null}', "services: "),
        ('{"services": {"vets-service": 3}}', "services.vets-service: must be an object"),
        ('{"aurora": {"petclinic-dev": "4"}}', "aurora.petclinic-dev: must be an object"),
        ("[]", "profile: a profile is a JSON object"),
        ("7", "profile: a profile is a JSON object"),
    ],
)
def test_containers_of_the_wrong_kind_are_named(text: str, named: str) -> None:
    assert named in rejection(text)


def test_integral_capacities_and_exact_half_steps_are_accepted() -> None:
    planned = plan('{"aurora": {"petclinic-dev": {"minCapacity": 0.5, "maxCapacity": 16}}}')
    assert planned["aurora"] == [
        {"cluster": "petclinic-dev", "scaling": {"MinCapacity": 0.5, "MaxCapacity": 16.0}}
    ]
    assert plan('{"services": {"admin-server": {"desiredCount": 3}}}')["services"][0]["desiredCount"] == 3


def test_a_profile_nested_past_lambdas_recursion_limit_is_a_rejection() -> None:
    """Lambda runs Python with its default recursion limit (1,000); the local process may not."""
    deep = '{"description": ' + "[" * 3000 + "]" * 3000 + "}"
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        with pytest.raises(InvalidScaleProfile, match="nested too deeply"):
            plan(deep)
    finally:
        sys.setrecursionlimit(previous)


# --------------------------------------------------------------------------- clusters and prod's Aurora


def test_a_cluster_named_by_arn_is_rejected_at_plan_before_anything_is_read() -> None:
    arn = "arn:aws:rds:us-west-2:123456789012:cluster:petclinic-dev"
    ports = Ports("dev", json.dumps({"aurora": {arn: {"minCapacity": 1, "maxCapacity": 4}}}))
    with pytest.raises(
        InvalidScaleProfile, match="name the cluster by its identifier, not its ARN"
    ) as raised:
        scale.plan("p", False, context(), ports)
    assert f"aurora.{arn}: " in str(raised.value)
    assert ports.read == []


def test_another_environments_cluster_is_rejected_at_plan() -> None:
    ports = Ports("dev", json.dumps({"aurora": {"petclinic-prod": {"minCapacity": 1, "maxCapacity": 4}}}))
    with pytest.raises(InvalidScaleProfile, match=r"aurora\.petclinic-prod: unknown Aurora cluster"):
        scale.plan("p", False, context(), ports)
    assert ports.read == []


def test_prod_refuses_what_the_audit_applied_to_prod_aurora() -> None:
    """min 0 with a 300 s auto-pause and max 1 ACU."""
    paused = {
        "aurora": {"petclinic-prod": {"minCapacity": 0, "maxCapacity": 1, "secondsUntilAutoPause": 300}}
    }
    message = rejection(json.dumps(paused), "prod")
    assert "aurora.petclinic-prod.minCapacity 0 (auto-pause) is refused in prod" in message


@pytest.mark.parametrize(
    ("capacity", "named"),
    [
        (
            {"minCapacity": 0.5, "maxCapacity": 8},
            "aurora.petclinic-prod.minCapacity 0.5 is below prod's floor of 1 ACU",
        ),
        (
            {"minCapacity": 1, "maxCapacity": 2},
            "aurora.petclinic-prod.maxCapacity 2 is below prod's floor of 4 ACU",
        ),
    ],
)
def test_prod_aurora_floors(capacity: dict[str, float], named: str) -> None:
    with pytest.raises(ScaleRefused) as raised:
        plan(json.dumps({"aurora": {"petclinic-prod": capacity}}), "prod")
    assert named in str(raised.value)


def test_prod_may_pause_aurora_when_the_template_parameter_allows_it() -> None:
    paused = {
        "aurora": {"petclinic-prod": {"minCapacity": 0, "maxCapacity": 8, "secondsUntilAutoPause": 900}}
    }
    planned = plan(json.dumps(paused), "prod", AuroraFloor(auto_pause=True))
    assert planned["aurora"][0]["scaling"]["SecondsUntilAutoPause"] == 900


def test_dev_has_no_aurora_floor() -> None:
    paused = {"aurora": {"petclinic-dev": {"minCapacity": 0, "maxCapacity": 1, "secondsUntilAutoPause": 300}}}
    assert plan(json.dumps(paused))["aurora"]


# --------------------------------------------------------------------------- the property

SCALARS = st.one_of(
    st.sampled_from(
        [
            "null",
            "true",
            "false",
            "NaN",
            "Infinity",
            "-Infinity",
            "1e400",
            "-0",
            "0.5",
            "2.5",
            "0.50000000000000001",
            "1E-400",
            "[]",
            "{}",
        ]
    ),
    st.integers(-(10**6), 10**6).map(str),
    st.integers(19, 5000).map(lambda digits: "9" * digits),
    st.floats(allow_nan=False, allow_infinity=False).map(json.dumps),
    st.text(max_size=12).map(json.dumps),
)
JSON_TEXT = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=3).map(lambda items: "[" + ", ".join(items) + "]")
        | st.dictionaries(st.text(max_size=8), children, max_size=3).map(
            lambda members: "{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in members.items()) + "}"
        )
    ),
    max_leaves=8,
)
BASE = {
    "description": "base",
    "services": {"admin-server": {"desiredCount": 1}, "vets-service": {"minCapacity": 2, "maxCapacity": 3}},
    "aurora": {"@@CLUSTER@@": {"minCapacity": 2, "maxCapacity": 8}},
}
# Every field a profile has, as (path to its parent, key); the parent's path is what a message
# about the entry as a whole names.
FIELDS = [
    ((), "description"),
    ((), "services"),
    ((), "aurora"),
    ((), "unknown"),
    (("services",), "admin-server"),
    (("services",), "vets-service"),
    (("services", "admin-server"), "desiredCount"),
    (("services", "admin-server"), "minCapacity"),
    (("services", "vets-service"), "minCapacity"),
    (("services", "vets-service"), "maxCapacity"),
    (("services", "vets-service"), "desiredCount"),
    (("services", "vets-service"), "count"),
    (("aurora",), "@@CLUSTER@@"),
    (("aurora", "@@CLUSTER@@"), "minCapacity"),
    (("aurora", "@@CLUSTER@@"), "maxCapacity"),
    (("aurora", "@@CLUSTER@@"), "secondsUntilAutoPause"),
]


def _with(parent: tuple[str, ...], key: str, cluster: str) -> tuple[str, str, str]:
    """The base profile with a placeholder at parent.key, as text; and the paths to name."""
    profile = json.loads(json.dumps(BASE).replace("@@CLUSTER@@", cluster))
    node = profile
    path = [part.replace("@@CLUSTER@@", cluster) for part in parent]
    for part in path:
        node = node[part]
    node[key.replace("@@CLUSTER@@", cluster)] = "@@FIELD@@"
    field = ".".join([*path, key.replace("@@CLUSTER@@", cluster)])
    return json.dumps(profile), field, ".".join(path)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(FIELDS), value=JSON_TEXT, env=st.sampled_from(["dev", "prod"]))
def test_any_json_in_any_field_is_a_plan_or_a_rejection_naming_the_field(
    field: tuple[tuple[str, ...], str], value: str, env: str
) -> None:
    parent, key = field
    text, path, entry = _with(parent, key, f"petclinic-{env}")
    planned, message = None, ""
    try:
        planned = plan(text.replace(PLACEHOLDER, value), env)
    except (InvalidScaleProfile, ScaleRefused) as exc:
        message = str(exc)
    if planned is not None:
        assert json.loads(json.dumps(planned)) == planned  # a plan is plain JSON for the workflow
        return
    # The field itself (or a field inside it), or its entry with the field's name in the message
    # (an entry's own rule: minCapacity above maxCapacity, not both forms...).
    named = re.search(re.escape(path) + r"[:. ]", message) or (entry and entry in message and key in message)
    assert named, (path, message)
    assert len(message) < 2000


@settings(max_examples=200, deadline=None)
@given(value=JSON_TEXT)
def test_any_json_document_is_a_plan_or_a_rejection(value: str) -> None:
    message = "profile p: (a plan)"
    try:
        plan(value)
    except (InvalidScaleProfile, ScaleRefused) as exc:
        message = str(exc)
    assert message.startswith("profile p: ")


# --------------------------------------------------------------------------- the plan function's input


@pytest.fixture(scope="module")
def plan_function() -> Iterator[ModuleType]:
    """functions/plan_scale/app.py imported as Lambda would (its input is parsed before its
    settings or any AWS client are read)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
        spec = importlib.util.spec_from_file_location("plan_scale_app", ROOT / "functions/plan_scale/app.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module


@pytest.mark.parametrize(
    ("event", "named"),
    [
        ({"profile": "night", "dryRun": "yes"}, "dryRun: "),
        ({"profile": "night", "dryRun": 1}, "dryRun: "),
        ({"profile": "night", "dryRun": "true"}, "dryRun: "),
        ({"profile": 5}, "profile: "),
        ({"profile": "night", "executionId": []}, "executionId: "),
        ({"profile": "night", "trigger": "cron"}, "trigger: "),
        ({"profile": "night", "force": True}, "force: "),
        ([], "request: a scale request is a JSON object"),
    ],
)
def test_the_plan_functions_input_is_strict(plan_function: ModuleType, event: Any, named: str) -> None:
    with pytest.raises(InvalidScaleRequest, match=r"^scale request: ") as raised:
        plan_function.parse_input(event)
    assert named in str(raised.value)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(key=st.sampled_from(["profile", "dryRun", "executionId", "trigger", "other"]), value=JSON_VALUES)
def test_any_json_in_any_input_field_is_accepted_or_named(
    plan_function: ModuleType, key: str, value: Any
) -> None:
    parsed, message = None, ""
    try:
        parsed = plan_function.parse_input({"profile": "night", key: value})
    except InvalidScaleRequest as exc:
        message = str(exc)
    if parsed is None:
        assert f"{key}: " in message
    else:
        assert isinstance(parsed.dry_run, bool)
        assert parsed.dry_run is False or value is True
