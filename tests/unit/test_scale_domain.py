"""petclinic_ops.domain.scale and models.scale on fakes: profile validation (each bad field named),
the diff, the guard rails, auto-pause support, and the monthly cost against a hand calculation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fakes import FakeScale
from hypothesis import given
from hypothesis import strategies as st

from petclinic_local import recursion
from petclinic_ops.domain import scale
from petclinic_ops.domain.scale import LiveCluster, LiveService, Prices, ScaleContext
from petclinic_ops.errors import InvalidScaleProfile, ScaleRefused, UnknownScaleProfile
from petclinic_ops.models.scale import AuroraScale, ServiceScale

SERVICES = ("customers-service", "vets-service", "visits-service", "admin-server")
CLUSTER = "petclinic-dev"


def live() -> dict[str, LiveService]:
    return {
        "customers-service": LiveService("customers-service", 2, 2, 512, 1024, "ARM64", 2, 6),
        "vets-service": LiveService("vets-service", 2, 2, 512, 1024, "ARM64", 2, 6),
        "visits-service": LiveService("visits-service", 2, 2, 512, 1024, "ARM64", 2, 6),
        "admin-server": LiveService("admin-server", 1, 1, 512, 1024, "ARM64"),
    }


def aurora(version: str = "8.0.mysql_aurora.3.08.0") -> dict[str, LiveCluster]:
    return {CLUSTER: LiveCluster(CLUSTER, "aurora-mysql", version, 0.5, 4.0)}


def ports(profile: dict[str, Any] | str, name: str = "night", env: str = "dev", **kwargs: Any) -> FakeScale:
    text = profile if isinstance(profile, str) else json.dumps(profile)
    return FakeScale(
        profiles={(env, name): text},
        running=kwargs.get("running", live()),
        aurora=kwargs.get("clusters", aurora()),
    )


def context(env: str = "dev", floors: dict[str, int] | None = None) -> ScaleContext:
    return ScaleContext(environment=env, cluster=f"petclinic-{env}", services=SERVICES, floors=floors or {})


NIGHT = {
    "services": {
        "customers-service": {"minCapacity": 0, "maxCapacity": 0},
        "vets-service": {"minCapacity": 0, "maxCapacity": 0},
        "visits-service": {"minCapacity": 0, "maxCapacity": 0},
        "admin-server": {"desiredCount": 0},
    },
    "aurora": {CLUSTER: {"minCapacity": 0, "maxCapacity": 4, "secondsUntilAutoPause": 900}},
}


def test_night_diff_uses_scalable_targets_for_autoscaled_services_and_desired_count_otherwise() -> None:
    planned = scale.plan("night", False, context(), ports(NIGHT)).to_output()
    by_target = {(c["target"], c["attribute"]): (c["before"], c["after"]) for c in planned["changes"]}
    assert by_target == {
        ("service/admin-server", "desiredCount"): (1, 0),
        ("service/customers-service", "minCapacity"): (2, 0),
        ("service/customers-service", "maxCapacity"): (6, 0),
        ("service/vets-service", "minCapacity"): (2, 0),
        ("service/vets-service", "maxCapacity"): (6, 0),
        ("service/visits-service", "minCapacity"): (2, 0),
        ("service/visits-service", "maxCapacity"): (6, 0),
        (f"aurora/{CLUSTER}", "minCapacity"): (0.5, 0),
        (f"aurora/{CLUSTER}", "secondsUntilAutoPause"): (None, 900),
    }
    actions = {a["service"]: a for a in planned["services"]}
    assert actions["admin-server"] == {
        "service": "admin-server",
        "resourceId": "service/petclinic-dev/admin-server",
        "autoscaled": False,
        "expectedCount": 0,
        "awaitsEvent": True,
        "desiredCount": 0,
    }
    assert "desiredCount" not in actions["customers-service"]  # never desiredCount behind the scaler's back
    assert (actions["customers-service"]["minCapacity"], actions["customers-service"]["maxCapacity"]) == (
        0,
        0,
    )
    assert planned["aurora"] == [
        {"cluster": CLUSTER, "scaling": {"MinCapacity": 0, "MaxCapacity": 4, "SecondsUntilAutoPause": 900}}
    ]


def test_night_cost_against_a_hand_calculation() -> None:
    # ARM64 512 CPU units / 1024 MiB: 0.5 x 0.03238 + 1 x 0.00356 = 0.01975 USD an hour, x 730 h =
    # 14.4175 a month; 7 tasks -> 0: -100.9225. Aurora min 0.5 ACU -> 0: 0.5 x 0.12 x 730 = -43.8.
    planned = scale.plan("night", False, context(), ports(NIGHT)).to_output()
    assert planned["monthlyCostDelta"] == {"fargate": -100.92, "aurora": -43.8, "total": -144.72}


def test_mixed_architectures_cost_against_a_hand_calculation() -> None:
    running = {
        "customers-service": LiveService("customers-service", 1, 1, 1024, 2048, "X86_64"),
        "vets-service": LiveService("vets-service", 4, 4, 256, 512, "ARM64", 2, 8),
    }
    profile = {
        "services": {
            "customers-service": {"desiredCount": 3},
            "vets-service": {"minCapacity": 1, "maxCapacity": 2},
        },
        "aurora": {CLUSTER: {"minCapacity": 2, "maxCapacity": 8}},
    }
    planned = scale.plan("peak", False, context(), ports(profile, "peak", running=running)).to_output()
    # x86 1 vCPU / 2 GB: 0.04048 + 2 x 0.004445 = 0.04937 /h x 730 = 36.0401 a month, +2 tasks = +72.0802.
    # ARM 0.25 vCPU / 0.5 GB: 0.25 x 0.03238 + 0.5 x 0.00356 = 0.009875 /h x 730 = 7.20875, 4 -> 2 = -14.4175.
    # Aurora 0.5 -> 2 ACU: 1.5 x 0.12 x 730 = 131.4.
    assert planned["monthlyCostDelta"] == {"fargate": 57.66, "aurora": 131.4, "total": 189.06}


def test_a_desired_count_for_an_autoscaled_service_pins_its_bounds() -> None:
    profile = {"services": {"vets-service": {"desiredCount": 3}}}
    planned = scale.plan("pin", False, context(), ports(profile, "pin")).to_output()
    assert [(c["attribute"], c["after"]) for c in planned["changes"]] == [
        ("minCapacity", 3),
        ("maxCapacity", 3),
    ]
    assert planned["services"][0]["expectedCount"] == 3
    assert planned["services"][0]["awaitsEvent"] is True  # 2 -> 3: ECS announces the steady state


def test_bounds_around_the_current_count_await_no_event() -> None:
    profile = {"services": {"vets-service": {"minCapacity": 1, "maxCapacity": 3}}}
    [action] = scale.plan("wide", False, context(), ports(profile, "wide")).to_output()["services"]
    assert (action["expectedCount"], action["awaitsEvent"]) == (2, False)


def test_bounds_for_a_service_without_a_scalable_target_are_refused() -> None:
    profile = {"services": {"admin-server": {"minCapacity": 1, "maxCapacity": 2}}}
    with pytest.raises(InvalidScaleProfile, match=r"services\.admin-server: .*give desiredCount"):
        scale.plan("x", False, context(), ports(profile, "x"))


def test_a_profile_already_applied_changes_nothing() -> None:
    profile = {"services": {"customers-service": {"minCapacity": 2, "maxCapacity": 6}}}
    planned = scale.plan("same", False, context(), ports(profile, "same")).to_output()
    assert (planned["changes"], planned["services"], planned["monthlyCostDelta"]["total"]) == ([], [], 0.0)


def test_unknown_profile_names_the_parameter() -> None:
    with pytest.raises(UnknownScaleProfile, match="/petclinic/dev/scale/weekend"):
        scale.plan("weekend", False, context(), ports(NIGHT))


def test_unknown_service_is_named() -> None:
    profile = {"services": {"owners-service": {"desiredCount": 1}}}
    with pytest.raises(InvalidScaleProfile, match="unknown service owners-service"):
        scale.plan("x", False, context(), ports(profile, "x"))


def test_unknown_cluster_is_named() -> None:
    profile = {"aurora": {"other": {"minCapacity": 1, "maxCapacity": 2}}}
    with pytest.raises(InvalidScaleProfile, match="unknown Aurora cluster other"):
        scale.plan("x", False, context(), ports(profile, "x"))


@pytest.mark.parametrize(
    ("profile", "named"),
    [
        ('{"services": ', "not JSON"),
        ({"services": {"vets-service": {"desiredCount": -1}}}, "services.vets-service.desiredCount"),
        (
            {"services": {"vets-service": {"minCapacity": 3, "maxCapacity": 2}}},
            "minCapacity 3 is above maxCapacity 2",
        ),
        ({"services": {"vets-service": {"minCapacity": 1}}}, "both minCapacity and maxCapacity"),
        ({"services": {"vets-service": {"desiredCount": 1, "maxCapacity": 2}}}, "not both"),
        ({"services": {"vets-service": {"count": 1}}}, "services.vets-service.count"),
        (
            {"aurora": {CLUSTER: {"minCapacity": 0.7, "maxCapacity": 4}}},
            "aurora.petclinic-dev.minCapacity: 0.7 is not a multiple of 0.5 ACU",
        ),
        ({"aurora": {CLUSTER: {"minCapacity": 1, "maxCapacity": 300}}}, f"aurora.{CLUSTER}.maxCapacity"),
        (
            {"aurora": {CLUSTER: {"minCapacity": 8, "maxCapacity": 4}}},
            "minCapacity 8.0 is above maxCapacity 4.0",
        ),
        ({"aurora": {CLUSTER: {"minCapacity": 0, "maxCapacity": 4}}}, "give secondsUntilAutoPause"),
        (
            {"aurora": {CLUSTER: {"minCapacity": 0, "maxCapacity": 4, "secondsUntilAutoPause": 60}}},
            f"aurora.{CLUSTER}.secondsUntilAutoPause",
        ),
        (
            {"aurora": {CLUSTER: {"minCapacity": 1, "maxCapacity": 4, "secondsUntilAutoPause": 600}}},
            "applies only with minCapacity 0",
        ),
        ({}, "at least one service or Aurora cluster"),
    ],
)
def test_invalid_values_are_named(profile: dict[str, Any] | str, named: str) -> None:
    with pytest.raises(InvalidScaleProfile, match="profile bad: ") as raised:
        scale.plan("bad", False, context(), ports(profile, "bad"))
    assert named in str(raised.value)


def test_a_profile_nested_too_deeply_is_named_not_a_crash() -> None:
    """About 2 KB of nested arrays overflow Lambda's 1,000 frames in json.loads: before the fix the
    plan Lambda failed with RecursionError instead of naming the profile."""
    with recursion.lambda_limit(), pytest.raises(InvalidScaleProfile) as raised:
        scale.plan("deep", False, context(), ports("[" * 1000 + "]" * 1000, "deep"))
    assert str(raised.value) == "profile deep: nested too deeply to read as JSON"


def test_auto_pause_needs_a_supporting_engine_version() -> None:
    with pytest.raises(
        InvalidScaleProfile, match=r"minCapacity: 0 \(auto-pause\) needs Aurora MySQL 3.08.0\+"
    ):
        scale.plan("night", False, context(), ports(NIGHT, clusters=aurora("8.0.mysql_aurora.3.07.1")))


@pytest.mark.parametrize(
    ("engine", "version", "supported"),
    [
        ("aurora-mysql", "8.0.mysql_aurora.3.08.0", True),
        ("aurora-mysql", "8.0.mysql_aurora.3.10.1", True),
        ("aurora-mysql", "8.0.mysql_aurora.3.07.1", False),
        ("aurora-mysql", "5.7.mysql_aurora.2.12.2", False),
        ("aurora-postgresql", "16.3", True),
        ("aurora-postgresql", "16.2", False),
        ("aurora-postgresql", "13.15", True),
        ("aurora-postgresql", "17.1", True),
        ("mysql", "8.0.40", False),
    ],
)
def test_supports_auto_pause(engine: str, version: str, supported: bool) -> None:
    assert scale.supports_auto_pause(engine, version) is supported


def test_prod_floor_is_enforced() -> None:
    profile = {"services": {"vets-service": {"minCapacity": 1, "maxCapacity": 4}}}
    with pytest.raises(
        ScaleRefused, match=r"services\.vets-service\.minCapacity 1 is below prod's floor of 2"
    ):
        scale.plan("x", False, context("prod", {"vets-service": 2}), ports(profile, "x", "prod"))


def test_prod_refuses_every_service_at_zero_even_without_floors() -> None:
    services_only = {"services": NIGHT["services"]}
    with pytest.raises(ScaleRefused, match="every prod service to 0"):
        scale.plan("night", False, context("prod"), ports(services_only, "night", "prod"))


def test_dev_may_scale_everything_to_zero() -> None:
    assert scale.plan("night", False, context("dev", {"vets-service": 2}), ports(NIGHT)).changes


@given(low=st.integers(0, 20), span=st.integers(0, 20), desired=st.integers(0, 40))
def test_expected_count_stays_within_the_new_bounds(low: int, span: int, desired: int) -> None:
    state = LiveService("vets-service", desired, desired, 512, 1024, "ARM64", 0, 40)
    wanted = ServiceScale.model_validate({"minCapacity": low, "maxCapacity": low + span})
    count = scale.expected_count(state, wanted)
    assert low <= count <= low + span
    assert count == desired or desired < low or desired > low + span


@given(halves=st.integers(0, 512), extra=st.integers(0, 512))
def test_aurora_half_steps_up_to_256_are_accepted(halves: int, extra: int) -> None:
    low, high = halves / 2, min(256, max(1, (halves + extra) / 2))
    if low > high:
        return
    pause = {"secondsUntilAutoPause": 300} if low == 0 else {}
    parsed = AuroraScale.model_validate({"minCapacity": low, "maxCapacity": high, **pause})
    assert parsed.min_capacity == low


@given(tasks=st.integers(0, 50))
def test_cost_is_linear_in_tasks(tasks: int) -> None:
    per_task = Prices().task_hour(512, 1024, "ARM64") * scale.HOURS_PER_MONTH
    profile = {"services": {"admin-server": {"desiredCount": tasks}}}
    planned = scale.plan("x", False, context(), ports(profile, "x")).to_output()
    # Rounded to cents from a difference of sums: within a cent of the direct product.
    assert planned["monthlyCostDelta"]["fargate"] == pytest.approx((tasks - 1) * per_task, abs=0.0101)


def test_every_bad_field_is_named_in_one_rejection_an_unknown_service_included() -> None:
    """Before: the model's errors alone (the unknown service, the bounds for a plain service and
    the cluster a run later); an operator fixed one field per run."""
    profile = {
        "services": {
            "owners-service": {"desiredCount": 1},
            "vets-service": {"desiredCount": "2"},
            "admin-server": {"minCapacity": 1, "maxCapacity": 2},
            "visits-service": {"minCapacity": 3, "maxCapacity": 2},
        },
        "aurora": {
            CLUSTER: {"minCapacity": 0.7, "maxCapacity": 4},
            "other": {"minCapacity": 1, "maxCapacity": 2},
        },
    }
    with pytest.raises(InvalidScaleProfile) as raised:
        scale.plan("bad", False, context(), ports(profile, "bad"))
    message = str(raised.value)
    assert message.startswith("profile bad: ")
    named = [part.split(": ", 1)[0] for part in message.removeprefix("profile bad: ").split("; ")]
    assert named == [
        "aurora.other",
        f"aurora.{CLUSTER}.minCapacity",
        "services.admin-server",
        "services.owners-service",
        "services.vets-service.desiredCount",
        "services.visits-service",
    ], message
    assert "unknown service owners-service (this environment's services: customers-service," in message
    assert "give desiredCount" in message  # admin-server: Application Auto Scaling does not manage it


def test_an_unknown_service_and_a_live_check_are_named_together_in_a_valid_profile() -> None:
    profile = {
        "services": {
            "owners-service": {"desiredCount": 1},
            "admin-server": {"minCapacity": 1, "maxCapacity": 2},
        },
        "aurora": {CLUSTER: {"minCapacity": 0, "maxCapacity": 4, "secondsUntilAutoPause": 900}},
    }
    ported = ports(profile, "x", clusters=aurora("8.0.mysql_aurora.3.05.2"))
    with pytest.raises(InvalidScaleProfile) as raised:
        scale.plan("x", False, context(), ported)
    message = str(raised.value)
    for named in (
        "services.owners-service: unknown service owners-service",
        "services.admin-server: minCapacity/maxCapacity given",
        f"aurora.{CLUSTER}.minCapacity: 0 (auto-pause) needs Aurora MySQL 3.08.0+",
    ):
        assert named in message, message


def test_a_profile_with_many_bad_fields_names_twenty_and_counts_the_rest() -> None:
    profile = {"services": {f"svc-{n:02}": {"desiredCount": -1} for n in range(30)}}
    with pytest.raises(InvalidScaleProfile) as raised:
        scale.plan("many", False, context(), ports(profile, "many"))
    message = str(raised.value)
    assert message.count("; ") == 20
    assert message.endswith("; and 40 more")  # 30 bad counts and 30 unknown services
    assert len(message) < 4000  # the workflow keeps a cause of up to 4,000 characters whole


def test_every_prod_refusal_is_named_in_one_rejection() -> None:
    profile = {"services": {"vets-service": {"desiredCount": 1}, "visits-service": {"desiredCount": 0}}}
    ported = ports(profile, "thin", env="prod", clusters={})
    with pytest.raises(ScaleRefused) as raised:
        scale.plan("thin", False, context("prod", {"vets-service": 2, "visits-service": 2}), ported)
    message = str(raised.value)
    assert "services.vets-service.desiredCount 1 is below prod's floor of 2" in message
    assert "services.visits-service.desiredCount 0 is below prod's floor of 2" in message


def test_long_problems_are_shortened_and_the_message_stays_within_the_workflows_cause() -> None:
    profile = {"services": {f"{n:02}-" + "x" * 400: {"desiredCount": True} for n in range(20)}}
    with pytest.raises(InvalidScaleProfile) as raised:
        scale.plan("long", False, context(), ports(profile, "long"))
    message = str(raised.value)
    assert len(message) <= 3_900
    assert message.startswith("profile long: services.00-xxx")
    assert message.endswith(" more")
