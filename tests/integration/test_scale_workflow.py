"""The scale workflow (statemachines/scale.asl.json, functions/plan_scale) on the local cloud:
apply, dry run, rejected profiles (nothing changed), autoscaled vs plain services, Aurora
auto-pause and engine support, prod's guard rails, a schedule and an alarm firing, a scale during
a deployment, the cost of the diff, and a failing apply step that still ends recorded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from moto.sns.models import sns_backends

from petclinic_local.cloud import ACCOUNT, REGION, LocalCloud
from petclinic_local.petclinic.seed import PetClinicSeed
from petclinic_local.scaling import execution_report, live_state, scale, start
from petclinic_local.stack.template import load_template

SCALE = "petclinic-ops-dev-scale"


def _runs(cloud: LocalCloud) -> list[dict[str, Any]]:
    return [row for row in cloud.deployments() if row["service"] == "scale"]


def _put_profile(cloud: LocalCloud, name: str, profile: Any, env: str = "dev") -> None:
    cloud.client("ssm").put_parameter(
        Name=f"/petclinic/{env}/scale/{name}",
        Value=profile if isinstance(profile, str) else json.dumps(profile),
        Type="String",
        Overwrite=True,
    )


def _sdk_calls(cloud: LocalCloud, execution_arn: str) -> list[str]:
    history = cloud.client("stepfunctions").get_execution_history(executionArn=execution_arn, maxResults=1000)
    return [
        event["taskScheduledEventDetails"]["resource"]
        for event in history["events"]
        if event["type"] == "TaskScheduled"
    ]


def test_night_is_applied_to_the_services_and_aurora_recorded_announced_and_counted(
    cloud: LocalCloud,
) -> None:
    report = scale(cloud, "night")
    assert report["result"] == "APPLIED", report["execution"]
    assert report["monthlyCostDelta"] == {"fargate": -100.92, "aurora": -43.8, "total": -144.72}
    assert {row["target"]: row["result"] for row in report["targets"]} == {
        "service/admin-server": "STEADY",
        "service/customers-service": "STEADY",
        "service/vets-service": "STEADY",
        "service/visits-service": "STEADY",
        "aurora/petclinic-dev": "APPLIED",
    }
    services = report["live"]["services"]
    assert all(s["desiredCount"] == s["runningCount"] == 0 for s in services.values())
    assert all(
        (s["minCapacity"], s["maxCapacity"]) == (0, 0) for n, s in services.items() if n != "admin-server"
    )
    assert report["live"]["aurora"]["petclinic-dev"] == {
        "MinCapacity": 0.0,
        "MaxCapacity": 4.0,
        "SecondsUntilAutoPause": 900,
    }
    [run] = _runs(cloud)
    assert (run["profile"], run["result"], run["source"], run["dryRun"]) == (
        "night",
        "APPLIED",
        "manual",
        False,
    )
    assert len(json.loads(run["changes"])) == len(report["changes"]) == 9
    topic = sns_backends[ACCOUNT][REGION].topics[cloud.outputs["DeploymentTopicArn"]]
    [(_, message, subject, _, _)] = topic.sent_notifications
    assert subject == "[petclinic-ops] scale to night: APPLIED"
    assert json.loads(message)["monthlyCostDelta"]["total"] == -144.72
    metrics = cloud.client("cloudwatch").list_metrics(Namespace="PetClinicOps/dev")["Metrics"]
    assert {"ScalingRuns", "ScalingChanges"} <= {m["MetricName"] for m in metrics}
    # Cost of a run: one Lambda, at most 10 state transitions per target changed (5 targets).
    assert report["lambdaInvocations"] == 1
    assert report["stateTransitions"] <= 10 * 5
    # Each service was waited for on ECS's SERVICE_STEADY_STATE event (a parked token), not polled.
    history = cloud.client("stepfunctions").get_execution_history(
        executionArn=report["execution"]["executionArn"], maxResults=1000
    )["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")]
    assert entered.count("WaitForSteadyState") == 4
    assert not [e for e in history if e["type"] == "WaitStateEntered"]
    relays = cloud.executions("petclinic-ops-dev-scale-events")
    assert len(relays) >= 4
    assert {r["status"] for r in relays} == {"SUCCEEDED"}


def test_a_service_steady_after_the_run_parked_is_resumed_through_the_relay(cloud: LocalCloud) -> None:
    """ECS settles after the run parked its task tokens: the relay resumes each wait
    (SendTaskSuccess), well before ScaleTimeoutSeconds."""
    with cloud.simulator.holding_steady_states():  # ECS settles only once every wait is parked
        run = start(cloud, {"profile": "night"})
        assert _wait_for(lambda: _parked_waits(cloud) == 4), "the four waits were not parked"
    cloud.wait_until_quiet()
    report = execution_report(cloud, run)
    assert report["result"] == "APPLIED", report["execution"]
    history = cloud.client("stepfunctions").get_execution_history(
        executionArn=report["execution"]["executionArn"], maxResults=1000
    )["events"]
    resumed = [
        e
        for e in history
        if e["type"] == "TaskSucceeded"
        and e["taskSucceededEventDetails"]["resource"] == "updateItem.waitForTaskToken"
    ]
    assert len(resumed) == 4
    assert {r["status"] for r in cloud.executions("petclinic-ops-dev-scale-events")} == {"SUCCEEDED"}


def test_a_dry_run_shows_the_same_diff_and_changes_nothing(cloud: LocalCloud) -> None:
    before = live_state(cloud)
    dry = scale(cloud, "night", dry_run=True)
    assert dry["result"] == "DRY_RUN"
    assert dry["targets"] == []
    assert live_state(cloud) == before == dry["live"]
    applied = scale(cloud, "night")
    assert applied["changes"] == dry["changes"]
    assert applied["monthlyCostDelta"] == dry["monthlyCostDelta"]
    assert [run["result"] for run in _runs(cloud)] == ["DRY_RUN", "APPLIED"]
    again = scale(cloud, "night")
    assert (again["result"], again["changes"], again["monthlyCostDelta"]["total"]) == ("NO_CHANGE", [], 0.0)


def test_unknown_profiles_and_invalid_values_are_rejected_with_nothing_changed(cloud: LocalCloud) -> None:
    before = live_state(cloud)
    unknown = scale(cloud, "weekend")
    assert unknown["result"] == "REJECTED"
    assert unknown["execution"]["error"] == "UnknownScaleProfile"
    assert "/petclinic/dev/scale/weekend" in unknown["execution"]["cause"]
    _put_profile(cloud, "broken", {"services": {"vets-service": {"minCapacity": 4, "maxCapacity": 2}}})
    invalid = scale(cloud, "broken")
    assert invalid["execution"]["error"] == "InvalidScaleProfile"
    assert "services.vets-service: minCapacity 4 is above maxCapacity 2" in invalid["execution"]["cause"]
    _put_profile(cloud, "owners", {"services": {"owners-service": {"desiredCount": 1}}})
    assert "unknown service owners-service" in scale(cloud, "owners")["execution"]["cause"]
    _put_profile(cloud, "half", {"aurora": {"petclinic-dev": {"minCapacity": 0.25, "maxCapacity": 4}}})
    assert "not a multiple of 0.5 ACU" in scale(cloud, "half")["execution"]["cause"]
    bad_request = scale(cloud, "Night!")
    assert bad_request["execution"]["error"] == "InvalidScaleRequest"
    assert live_state(cloud) == before
    assert _runs(cloud) == []  # validated before anything is recorded


def test_values_that_are_not_strict_numbers_are_rejected_naming_the_field_with_nothing_changed(
    cloud: LocalCloud,
) -> None:
    """The audit: {"desiredCount": true} was applied as 1 (vets-service 2..6 -> 1..1), "2.5"
    passed as a capacity, and a 4,400-digit integer crashed the plan Lambda with ValueError."""
    before = live_state(cloud)
    _put_profile(cloud, "truthy", '{"services": {"vets-service": {"desiredCount": true}}}')
    _put_profile(cloud, "text", '{"aurora": {"petclinic-dev": {"minCapacity": "2.5", "maxCapacity": 4}}}')
    _put_profile(cloud, "huge", '{"services": {"admin-server": {"desiredCount": ' + "9" * 4400 + "}}}")
    expected = {
        "truthy": "services.vets-service.desiredCount: must be a whole number of tasks (0-1000), not a bool",
        "text": "aurora.petclinic-dev.minCapacity: must be a number of ACUs in steps of 0.5",
        "huge": "services.admin-server.desiredCount: must be a whole number of tasks (0-1000), not an int",
    }
    for name, named in expected.items():
        report = scale(cloud, name)
        assert (report["result"], report["execution"]["error"]) == ("REJECTED", "InvalidScaleProfile"), name
        assert named in report["execution"]["cause"], report["execution"]
    assert live_state(cloud) == before
    assert _runs(cloud) == []


def test_a_cluster_named_by_arn_is_rejected_at_plan_not_failed_at_apply(cloud: LocalCloud) -> None:
    arn = cloud.client("rds").describe_db_clusters(DBClusterIdentifier="petclinic-dev")["DBClusters"][0][
        "DBClusterArn"
    ]
    before = live_state(cloud)
    _put_profile(cloud, "by-arn", {"aurora": {arn: {"minCapacity": 1, "maxCapacity": 8}}})
    report = scale(cloud, "by-arn")
    assert (report["result"], report["execution"]["error"]) == ("REJECTED", "InvalidScaleProfile")
    assert f"aurora.{arn}: name the cluster by its identifier, not its ARN" in report["execution"]["cause"]
    assert live_state(cloud) == before
    assert _runs(cloud) == []
    # By its identifier, the same capacity applies.
    _put_profile(cloud, "by-name", {"aurora": {"petclinic-dev": {"minCapacity": 1, "maxCapacity": 8}}})
    assert scale(cloud, "by-name")["result"] == "APPLIED"


def test_an_autoscaled_service_gets_bounds_and_a_plain_one_a_desired_count(cloud: LocalCloud) -> None:
    _put_profile(
        cloud,
        "mixed",
        {
            "services": {
                "customers-service": {"minCapacity": 3, "maxCapacity": 8},
                "admin-server": {"desiredCount": 2},
            }
        },
    )
    report = scale(cloud, "mixed")
    assert report["result"] == "APPLIED", report["execution"]
    calls = _sdk_calls(cloud, report["execution"]["executionArn"])
    # The workflow never set customers-service's desiredCount: Application Auto Scaling did.
    assert calls.count("registerScalableTarget") == 1
    assert calls.count("updateService") == 1
    services = report["live"]["services"]
    assert services["customers-service"] == {
        "desiredCount": 3,
        "runningCount": 3,
        "minCapacity": 3,
        "maxCapacity": 8,
    }
    assert services["admin-server"] == {"desiredCount": 2, "runningCount": 2}
    # The target-tracking policy is left as it was.
    policies = cloud.client("application-autoscaling").describe_scaling_policies(
        ServiceNamespace="ecs", ResourceId="service/petclinic-dev/customers-service"
    )["ScalingPolicies"]
    assert [p["PolicyType"] for p in policies] == ["TargetTrackingScaling"]
    # A task of 0.5 vCPU / 1 GB on ARM64 is 14.4175 USD a month: +1 customers, +1 admin.
    assert report["monthlyCostDelta"] == {"fargate": 28.84, "aurora": 0.0, "total": 28.84}


def test_auto_pause_needs_an_engine_version_that_supports_it(cloud: LocalCloud) -> None:
    cloud.client("rds").modify_db_cluster(
        DBClusterIdentifier="petclinic-dev", EngineVersion="8.0.mysql_aurora.3.07.1", ApplyImmediately=True
    )
    before = live_state(cloud)
    report = scale(cloud, "night")
    assert report["execution"]["error"] == "InvalidScaleProfile"
    assert (
        "aurora.petclinic-dev.minCapacity: 0 (auto-pause) needs Aurora MySQL 3.08.0+"
        in report["execution"]["cause"]
    )
    assert live_state(cloud) == before


@pytest.fixture
def prod_cloud() -> Iterator[LocalCloud]:
    seed = PetClinicSeed(
        environment="prod",
        cluster="petclinic-prod",
        database_secret="petclinic/prod/aurora/app",
        master_secret="petclinic/prod/aurora/master",
    )
    parameters = {"EnvironmentName": "prod", "ClusterName": "petclinic-prod"}
    with LocalCloud(time_scale=0.01, rollout_seconds=60, seed=seed, parameters=parameters) as local:
        yield local


def test_prod_floors_and_every_service_to_zero_are_refused(prod_cloud: LocalCloud) -> None:
    cloud = prod_cloud
    before = live_state(cloud)
    _put_profile(cloud, "thin", {"services": {"vets-service": {"minCapacity": 1, "maxCapacity": 4}}}, "prod")
    thin = scale(cloud, "thin")
    assert thin["execution"]["error"] == "ScaleRefused"
    assert "services.vets-service.minCapacity 1 is below prod's floor of 2" in thin["execution"]["cause"]
    _put_profile(
        cloud,
        "off",
        {"services": {name: {"desiredCount": 0} for name in ("admin-server",)}},
        "prod",
    )
    assert "below prod's floor of 1" in scale(cloud, "off")["execution"]["cause"]
    assert live_state(cloud) == before
    # The shipped prod night keeps the floors: it applies.
    night = scale(cloud, "night")
    assert night["result"] == "APPLIED", night["execution"]
    assert night["live"]["services"]["vets-service"]["minCapacity"] == 2


def test_prod_aurora_keeps_its_floor_and_does_not_pause(prod_cloud: LocalCloud) -> None:
    """The audit: min 0 with a 300 s auto-pause and max 1 ACU was applied to prod."""
    cloud = prod_cloud
    before = live_state(cloud)
    _put_profile(
        cloud,
        "asleep",
        {"aurora": {"petclinic-prod": {"minCapacity": 0, "maxCapacity": 1, "secondsUntilAutoPause": 300}}},
        "prod",
    )
    asleep = scale(cloud, "asleep")
    assert (asleep["result"], asleep["execution"]["error"]) == ("REJECTED", "ScaleRefused")
    assert (
        "aurora.petclinic-prod.minCapacity 0 (auto-pause) is refused in prod" in asleep["execution"]["cause"]
    )
    _put_profile(
        cloud, "thin", {"aurora": {"petclinic-prod": {"minCapacity": 0.5, "maxCapacity": 1}}}, "prod"
    )
    thin = scale(cloud, "thin")
    assert "minCapacity 0.5 is below prod's floor of 1 ACU" in thin["execution"]["cause"]
    assert live_state(cloud) == before
    assert _runs(cloud) == []


def test_a_schedule_firing_applies_its_profile(cloud: LocalCloud) -> None:
    """EventBridge Scheduler's target input, as the template gives it, through the workflow."""
    resources = load_template(cloud.root / "template.yaml")["Resources"]
    schedule = resources["ScaleNightSchedule"]["Properties"]
    assert schedule["ScheduleExpressionTimezone"] == {"Ref": "ScaleScheduleTimezone"}
    assert schedule["Target"]["Arn"] == {"Ref": "ScaleStateMachine"}
    request = json.loads(schedule["Target"]["Input"])
    report = scale(cloud, request.pop("profile"), **request)
    assert report["result"] == "APPLIED", report["execution"]
    [run] = _runs(cloud)
    assert (run["profile"], run["source"]) == ("night", "schedule")


def _alarm_event(name: str, state: str) -> dict[str, Any]:
    return {
        "source": "aws.cloudwatch",
        "detail-type": "CloudWatch Alarm State Change",
        "resources": [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}"],
        "detail": {
            "alarmName": name,
            "state": {
                "value": state,
                "reason": "Threshold Crossed",
                "timestamp": "2026-11-30T10:00:00.000+0000",
            },
            "previousState": {"value": "OK"},
            "configuration": {"description": "p99 latency"},
        },
    }


def test_an_alarm_going_to_alarm_scales_to_peak(cloud: LocalCloud) -> None:
    cloud.put_events([_alarm_event("petclinic-p99-latency", "OK"), _alarm_event("another-alarm", "ALARM")])
    cloud.wait_until_quiet()
    assert cloud.executions(SCALE) == []
    cloud.put_events([_alarm_event("petclinic-p99-latency", "ALARM")])
    cloud.wait_until_quiet()
    [execution] = cloud.executions(SCALE)
    assert execution["input"] == {"profile": "peak", "trigger": "alarm", "alarm": "petclinic-p99-latency"}
    assert execution["output"]["result"] == "APPLIED"
    [run] = _runs(cloud)
    assert (run["source"], run["alarm"], run["profile"]) == ("alarm", "petclinic-p99-latency", "peak")
    services = live_state(cloud)["services"]
    assert services["vets-service"]["runningCount"] == 3  # peak's minimum, set by the scaler


def test_a_scale_during_a_deployment_is_kept_by_the_rollout(cloud: LocalCloud) -> None:
    """desiredCount is given to the PRIMARY deployment: the rollout in flight completes at it, and
    the deploy workflow's result is unchanged."""
    _put_profile(cloud, "admin-two", {"services": {"admin-server": {"desiredCount": 2}}})
    ecs = cloud.client("ecs")
    with cloud.simulator.holding():
        pushed = cloud.push_image("admin-server", "1.1.0")["detail"]["image-digest"]
        deploying = _wait_for(lambda: len(_service(ecs, "admin-server")["deployments"]) == 2)
        assert deploying
        started = start(cloud, {"profile": "admin-two"})
        assert _wait_for(lambda: _service(ecs, "admin-server")["desiredCount"] == 2)
        primary = _service(ecs, "admin-server")["deployments"][0]
        assert (primary["rolloutState"], primary["desiredCount"]) == ("IN_PROGRESS", 2)
    cloud.wait_until_quiet()
    scaled = next(e for e in cloud.executions(SCALE) if e["executionArn"] == started)
    assert scaled["output"]["result"] == "APPLIED"
    service = _service(ecs, "admin-server")
    [deployment] = service["deployments"]
    assert (deployment["rolloutState"], deployment["runningCount"], service["desiredCount"]) == (
        "COMPLETED",
        2,
        2,
    )
    assert cloud.services()["admin-server"]["image"].endswith(f"@{pushed}")  # the deployment's image
    deploys = [row for row in cloud.deployments() if row["service"] == "admin-server"]
    assert [row["result"] for row in deploys] == ["SUCCEEDED"]


def test_a_failing_apply_step_ends_in_a_recorded_result(cloud: LocalCloud) -> None:
    cloud.faults.fail(SCALE, "ModifyDBCluster", error="Rds.InvalidDBClusterStateFault")
    report = scale(cloud, "night")
    assert report["result"] == "INCOMPLETE"
    assert report["execution"]["error"] == "ScaleIncomplete"
    rows = {row["target"]: row for row in report["targets"]}
    assert rows["aurora/petclinic-dev"]["result"] == "FAILED"
    assert "Rds.InvalidDBClusterStateFault" in rows["aurora/petclinic-dev"]["reason"]
    assert rows["service/admin-server"]["result"] == "STEADY"  # the other targets went on
    [run] = _runs(cloud)
    assert run["result"] == "INCOMPLETE"
    assert "Rds.InvalidDBClusterStateFault" in run["targets"]
    assert report["live"]["aurora"]["petclinic-dev"]["MinCapacity"] == 0.5  # unchanged


def _parked_waits(cloud: LocalCloud) -> int:
    """The scale table's items holding a task token (a wait parked for ECS's steady state)."""
    items = cloud.client("dynamodb").scan(TableName=cloud.outputs["ScaleTableName"])["Items"]
    return sum(1 for item in items if "taskToken" in item)


def _service(ecs: Any, name: str) -> dict[str, Any]:
    return dict(ecs.describe_services(cluster="petclinic-dev", services=[name])["services"][0])


def _wait_for(condition: Any, timeout: float = 30.0) -> bool:
    import time  # noqa: PLC0415

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def short_scale_timeout_cloud() -> Iterator[LocalCloud]:
    """A scaled service is waited for 60 simulated seconds (0.6 s)."""
    with LocalCloud(time_scale=0.01, rollout_seconds=60, parameters={"ScaleTimeoutSeconds": "60"}) as local:
        yield local


def test_a_service_not_steady_within_the_timeout_is_reported_and_keeps_its_change(
    short_scale_timeout_cloud: LocalCloud,
) -> None:
    cloud = short_scale_timeout_cloud
    _put_profile(cloud, "admin-two", {"services": {"admin-server": {"desiredCount": 2}}})
    with cloud.simulator.holding():  # a rollout that outlasts the scale's wait
        cloud.push_image("admin-server", "1.2.0")
        assert _wait_for(lambda: len(_service(cloud.client("ecs"), "admin-server")["deployments"]) == 2)
        started = start(cloud, {"profile": "admin-two"})
        assert _wait_for(
            lambda: (
                next(e for e in cloud.executions(SCALE) if e["executionArn"] == started)["status"]
                != "RUNNING"
            )
        )
    cloud.wait_until_quiet()
    report = next(e for e in cloud.executions(SCALE) if e["executionArn"] == started)
    assert report["error"] == "ScaleIncomplete"
    [target] = report["cause"]["targets"]
    assert (target["target"], target["result"], target["desiredCount"]) == (
        "service/admin-server",
        "NOT_STEADY",
        2,
    )
    assert "not steady within ScaleTimeoutSeconds" in target["reason"]
    # What the CLI prints (issue 19): each target's reason, not a JSON dump of the cause.
    from rich.console import Console  # noqa: PLC0415

    from petclinic_local import runner  # noqa: PLC0415
    from petclinic_local.cli.scale import render_report  # noqa: PLC0415
    from petclinic_local.scaling import run_report  # noqa: PLC0415

    printed = Console(record=True, width=300, color_system=None)
    render_report(printed, run_report(runner.describe(cloud, started)))
    text = printed.export_text()
    assert f"service/admin-server: NOT_STEADY ({target['reason']})" in text, text
    assert "ScaleIncomplete: 1 of 1 targets not applied: service/admin-server (why: above)" in text, text
    assert '{"profile"' not in text
    # What the follow prints as it goes: what happens, never ScaleFailed for an INCOMPLETE run.
    from petclinic_local.scaling import progress  # noqa: PLC0415

    said: list[str] = []
    entered = progress(said.append)
    for event in runner.history(cloud, started):
        if event["type"].endswith("StateEntered"):
            entered(event)
    followed = "\n".join(said)
    assert "ScaleFailed" not in followed, followed
    assert "applying to admin-server" in followed, followed
    assert "admin-server is not steady in time" in followed, followed
    assert followed.endswith("finished: not every target applied (which and why: below)"), followed
    [run] = _runs(cloud)
    assert run["result"] == "INCOMPLETE"
    service = _service(cloud.client("ecs"), "admin-server")
    assert (service["desiredCount"], service["runningCount"]) == (2, 2)  # kept, and the rollout ran it
