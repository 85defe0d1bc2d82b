"""simulators.ecs: BLUE_GREEN, CANARY and LINEAR deployments by stages on simulated time, with
lifecycle hooks invoked through the local Lambda, deployment alarms, rollback, and synthetic
ALB traffic in the local CloudWatch (the image tag's behaviour: *errors*, *slow*, *unhealthy*)."""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto_gaps import FakeHooks, FunctionResult, client, create_function, local_aws

from petclinic_local.cloud import ACCOUNT, REGION
from petclinic_local.simulators.cloudwatch import AlarmEvaluator
from petclinic_local.simulators.ecs import RolloutSimulator
from petclinic_local.simulators.petclinic_http import PetClinicHttpService

TIME_SCALE = 0.0005  # 10 simulated minutes: 0.3 s
ELB = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}"
BLUE = f"{ELB}:targetgroup/petclinic-app-blue/0123456789abcdef"
GREEN = f"{ELB}:targetgroup/petclinic-app-green/fedcba9876543210"
RULE = f"{ELB}:listener-rule/app/petclinic-dev/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
LOAD_BALANCER = "app/petclinic-dev/50dc6c495c0c9188"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecs-infrastructure"
HOOK = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:judge"


class _Hooks(FakeHooks):
    def __init__(self, **simulator: Any) -> None:
        super().__init__(time_scale=TIME_SCALE)
        self.alarm_evaluator = AlarmEvaluator()
        self.simulator = RolloutSimulator(
            account=ACCOUNT, region=REGION, rollout_seconds=60.0, time_scale=TIME_SCALE, **simulator
        )

    def deployment_started(self, service: Any, deployment: dict[str, Any], previous: Any) -> None:
        super().deployment_started(service, deployment, previous)
        self.simulator.deployment_started(service, deployment, previous)

    def settle(self, timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while not self.simulator.idle() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert self.simulator.idle(), "the deployment did not end"
        return self.simulator.history[-1]


def _configuration(strategy: str, **fields: Any) -> dict[str, Any]:
    return {"strategy": strategy, "bakeTimeInMinutes": 2, **fields}


def _balancers() -> list[dict[str, Any]]:
    return [
        {
            "targetGroupArn": BLUE,
            "containerName": "app",
            "containerPort": 8080,
            "advancedConfiguration": {
                "alternateTargetGroupArn": GREEN,
                "productionListenerRule": RULE,
                "roleArn": ROLE,
            },
        }
    ]


def _service(configuration: dict[str, Any], tag: str) -> Any:
    """A service running revision 1 (a baseline image), with ``configuration``, ready for
    revision 2 (an image tagged ``tag``)."""
    ecs = client("ecs")
    ecs.create_cluster(clusterName="c")
    for image_tag in ("1.0.0", tag):
        ecs.register_task_definition(
            family="app",
            containerDefinitions=[
                {"name": "app", "image": f"public.ecr.aws/petclinic/app:{image_tag}", "memory": 128}
            ],
        )
    ecs.create_service(
        cluster="c",
        serviceName="app",
        taskDefinition="app:1",
        desiredCount=2,
        loadBalancers=_balancers(),
        deploymentConfiguration=configuration,
    )
    return ecs


def _deploy(hooks: _Hooks, ecs: Any) -> dict[str, Any]:
    ecs.update_service(cluster="c", service="app", taskDefinition="app:2")
    return hooks.settle()


def _splits(record: dict[str, Any]) -> list[tuple[str, float, float, str]]:
    return [(s["stage"], s["productionPercent"], s["testPercent"], s["result"]) for s in record["stages"]]


def _hook(hooks: _Hooks, answer: Callable[[dict[str, Any]], dict[str, Any]]) -> list[dict[str, Any]]:
    """The hook Lambda ``judge``: ``answer(payload)`` is its answer; returns its payloads."""
    payloads: list[dict[str, Any]] = []

    def judge(payload: Any) -> FunctionResult:
        payloads.append(payload)
        return answer(payload), False, ""

    create_function("judge")
    hooks.functions["judge"] = judge
    return payloads


def _with_hook(strategy: str, stages: list[str], **fields: Any) -> dict[str, Any]:
    hook = {"hookTargetArn": HOOK, "roleArn": ROLE, "lifecycleStages": stages}
    return _configuration(strategy, lifecycleHooks=[hook], **fields)


def _service_state(ecs: Any) -> dict[str, Any]:
    return dict(ecs.describe_services(cluster="c", services=["app"])["services"][0])


CANARY = {"canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 5}}


def test_canary_of_a_good_image_completes_by_its_stages() -> None:
    hooks = _Hooks()
    with local_aws(hooks=hooks):
        ecs = _service(_configuration("CANARY", **CANARY), "1.1.0")
        record = _deploy(hooks, ecs)
        service = _service_state(ecs)
        hooks.simulator.close()
    assert record["outcome"] == "COMPLETED"
    assert _splits(record) == [
        ("SCALE_UP", 0.0, 0.0, "SUCCEEDED"),
        ("TEST_TRAFFIC_SHIFT", 0.0, 100.0, "SUCCEEDED"),
        ("PRODUCTION_TRAFFIC_SHIFT", 10.0, 100.0, "SUCCEEDED"),
        ("PRODUCTION_TRAFFIC_SHIFT", 100.0, 100.0, "SUCCEEDED"),
        ("BAKE_TIME", 100.0, 0.0, "SUCCEEDED"),
    ]
    # 60 s scale-up, 5 min canary bake, 2 min deployment bake
    assert [s["simulatedSecond"] for s in record["stages"]] == [60.0, 60.0, 360.0, 360.0, 480.0]
    assert record["gate"]["type"] == "bake"
    (primary,) = service["deployments"]
    assert (primary["rolloutState"], primary["taskDefinition"].endswith("app:2")) == ("COMPLETED", True)
    messages = [e["message"] for e in service["events"]]
    assert any("deployment completed" in m for m in messages)
    assert messages[0] == "(service app) has reached a steady state."


def test_linear_shifts_production_traffic_by_steps() -> None:
    hooks = _Hooks()
    linear = {"linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": 1}}
    with local_aws(hooks=hooks):
        record = _deploy(hooks, _service(_configuration("LINEAR", **linear), "1.1.0"))
        hooks.simulator.close()
    production = [
        s["productionPercent"] for s in record["stages"] if s["stage"] == "PRODUCTION_TRAFFIC_SHIFT"
    ]
    assert production == [25.0, 50.0, 75.0, 100.0]
    seconds = [s["simulatedSecond"] for s in record["stages"] if s["stage"] == "PRODUCTION_TRAFFIC_SHIFT"]
    assert seconds == [120.0, 180.0, 240.0, 240.0]  # a step's bake after each step but the last
    assert record["outcome"] == "COMPLETED"


def test_blue_green_shifts_all_production_traffic_after_the_test_traffic() -> None:
    hooks = _Hooks()
    with local_aws(hooks=hooks):
        hooks_payloads = _hook(hooks, lambda _: {"hookStatus": "SUCCEEDED"})
        configuration = _with_hook("BLUE_GREEN", ["POST_TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"])
        record = _deploy(hooks, _service(configuration, "1.1.0"))
        hooks.simulator.close()
    assert [(s, p, t) for s, p, t, _ in _splits(record)] == [
        ("SCALE_UP", 0.0, 0.0),
        ("TEST_TRAFFIC_SHIFT", 0.0, 100.0),
        ("PRODUCTION_TRAFFIC_SHIFT", 100.0, 100.0),
        ("BAKE_TIME", 100.0, 0.0),
    ]
    post_test, production = hooks_payloads
    assert post_test["lifecycleStage"] == "POST_TEST_TRAFFIC_SHIFT"
    details = post_test["executionDetails"]
    new = details["targetServiceRevisionArn"]
    assert new.startswith(f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/c/app/")
    assert details["serviceArn"].endswith(":service/c/app")
    assert details["testTrafficWeights"][new] == 100.0
    assert details["productionTrafficWeights"][new] == 0.0
    (old,) = set(details["productionTrafficWeights"]) - {new}
    assert details["productionTrafficWeights"][old] == 100.0
    assert production["executionDetails"]["productionTrafficWeights"] == {new: 100.0, old: 0.0}
    assert post_test["resourceArn"].startswith(f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/c/app/")


def test_a_hook_answering_failed_rolls_back_to_the_old_revision() -> None:
    hooks = _Hooks()
    with local_aws(hooks=hooks):

        def answer(payload: dict[str, Any]) -> dict[str, Any]:
            return {"hookStatus": "FAILED", "reason": "5xx ratio 5.1 % against the baseline's 0.1 %"}

        _hook(hooks, answer)
        ecs = _service(_with_hook("CANARY", ["PRODUCTION_TRAFFIC_SHIFT"], **CANARY), "1.1.0")
        first = _service_state(ecs)["deployments"][0]["id"]
        record = _deploy(hooks, ecs)
        service = _service_state(ecs)
        hooks.simulator.close()
    assert record["outcome"] == "FAILED"
    assert record["rolledBack"] is True
    assert record["gate"] == {
        "type": "hook",
        "name": "judge",
        "stage": "PRODUCTION_TRAFFIC_SHIFT",
        "reason": "5xx ratio 5.1 % against the baseline's 0.1 %",
    }
    assert _splits(record)[-2:] == [
        ("PRODUCTION_TRAFFIC_SHIFT", 10.0, 100.0, "FAILED"),
        ("ROLLBACK", 0.0, 0.0, "SUCCEEDED"),
    ]
    primary, failed = service["deployments"]
    assert (primary["id"], primary["status"], primary["taskDefinition"].endswith("app:1")) == (
        first,
        "PRIMARY",
        True,
    )
    assert service["taskDefinition"].endswith("app:1")
    assert (failed["rolloutState"], failed["status"]) == ("FAILED", "ACTIVE")
    assert "lifecycle hook judge returned FAILED" in failed["rolloutStateReason"]
    messages = [e["message"] for e in service["events"]]
    assert any(f"rolling back to deployment {first}" in m for m in messages)


def test_a_hook_in_progress_is_invoked_again_after_its_callback_delay() -> None:
    hooks = _Hooks()
    with local_aws(hooks=hooks):
        answers: Iterator[dict[str, Any]] = iter(
            [
                {"hookStatus": "IN_PROGRESS", "callBackDelay": 45, "hookDetails": {"requestsSeen": 300}},
                {"hookStatus": "IN_PROGRESS"},
            ]
        )
        payloads = _hook(hooks, lambda _: next(answers, {"hookStatus": "SUCCEEDED"}))
        configuration = _with_hook("CANARY", ["POST_TEST_TRAFFIC_SHIFT"], **CANARY)
        record = _deploy(hooks, _service(configuration, "1.1.0"))
        hooks.simulator.close()
    calls = [(h["hookStatus"], h["simulatedSecond"]) for h in record["hooks"]]
    assert calls == [("IN_PROGRESS", 60.0), ("IN_PROGRESS", 105.0), ("SUCCEEDED", 135.0)]  # +45, +30
    assert "hookDetails" not in payloads[0]
    assert payloads[1]["hookDetails"] == {"requestsSeen": 300}  # passed back, as ECS does
    assert record["outcome"] == "COMPLETED"


def test_a_hook_that_errors_rolls_back() -> None:
    hooks = _Hooks()
    with local_aws(hooks=hooks):
        create_function("judge")
        hooks.functions["judge"] = lambda _: ({"errorMessage": "boom"}, True, "")
        configuration = _with_hook("BLUE_GREEN", ["POST_SCALE_UP"])
        record = _deploy(hooks, _service(configuration, "1.1.0"))
        hooks.simulator.close()
    assert (record["outcome"], record["gate"]["type"], record["gate"]["reason"]) == ("FAILED", "hook", "boom")
    assert _splits(record)[:3] == [
        ("SCALE_UP", 0.0, 0.0, "SUCCEEDED"),
        ("POST_SCALE_UP", 0.0, 0.0, "FAILED"),
        ("ROLLBACK", 0.0, 0.0, "SUCCEEDED"),
    ]


def _metric(name: str, target_group: str, statistic: str, start: dt.datetime) -> float:
    """Sum through GetMetricStatistics; a percentile from the stored values (moto's
    GetMetricStatistics answers no ExtendedStatistics)."""
    dimensions = [
        {"Name": "TargetGroup", "Value": target_group},
        {"Name": "LoadBalancer", "Value": LOAD_BALANCER},
    ]
    if statistic.startswith("p"):
        from moto.cloudwatch.models import cloudwatch_backends  # noqa: PLC0415

        values = sorted(
            d.value
            for d in cloudwatch_backends[ACCOUNT][REGION].metric_data
            if d.namespace == "AWS/ApplicationELB"
            and d.name == name
            and {(x.name, x.value) for x in d.dimensions} == {(x["Name"], x["Value"]) for x in dimensions}
        )
        return float(values[min(len(values) - 1, int(len(values) * float(statistic[1:]) / 100))])
    result = client("cloudwatch").get_metric_statistics(
        Namespace="AWS/ApplicationELB",
        MetricName=name,
        Dimensions=dimensions,
        StartTime=start,
        EndTime=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1),
        Period=3600,
        Statistics=[statistic],
    )
    return float(sum(point[statistic] for point in result["Datapoints"]))


def test_an_alarm_in_alarm_rolls_back() -> None:
    hooks = _Hooks()
    with local_aws(hooks=hooks):
        client("cloudwatch").put_metric_alarm(
            AlarmName="app-5xx",
            Namespace="AWS/ApplicationELB",
            MetricName="HTTPCode_Target_5XX_Count",
            Dimensions=[
                {"Name": "TargetGroup", "Value": "targetgroup/petclinic-app-green/fedcba9876543210"},
                {"Name": "LoadBalancer", "Value": LOAD_BALANCER},
            ],
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=20,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching",
        )
        alarms = {"alarmNames": ["app-5xx"], "enable": True, "rollback": True}
        record = _deploy(hooks, _service(_configuration("CANARY", alarms=alarms, **CANARY), "errors-1.1.0"))
        hooks.simulator.close()
    assert (record["outcome"], record["rolledBack"]) == ("FAILED", True)
    assert (record["gate"]["type"], record["gate"]["name"]) == ("alarm", "app-5xx")
    failed, rollback = _splits(record)[-2:]
    assert failed == ("PRODUCTION_TRAFFIC_SHIFT", 10.0, 100.0, "FAILED")
    assert rollback[0] == "ROLLBACK"
    # the canary took 10 % of production from second 60 until the rollback, within its bake
    assert record["firstNewRequestSecond"] == 60.0
    back = record["stages"][-1]["simulatedSecond"]
    assert 60.0 < back < 360.0
    new, old = record["requests"]["new"], record["requests"]["old"]
    assert new["requests"] == pytest.approx(50 * 0.1 * (back - 60.0), rel=0.25)
    assert new["5xx"] >= 20  # what the alarm counted
    assert old["requests"] == pytest.approx(50 * (60.0 + 0.9 * (back - 60.0)), rel=0.1)


def test_the_same_alarm_does_not_roll_back_a_good_image() -> None:
    hooks = _Hooks()
    with local_aws(hooks=hooks):
        client("cloudwatch").put_metric_alarm(
            AlarmName="app-5xx",
            Namespace="AWS/ApplicationELB",
            MetricName="HTTPCode_Target_5XX_Count",
            Dimensions=[
                {"Name": "TargetGroup", "Value": "targetgroup/petclinic-app-green/fedcba9876543210"},
                {"Name": "LoadBalancer", "Value": LOAD_BALANCER},
            ],
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=20,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching",
        )
        alarms = {"alarmNames": ["app-5xx"], "enable": True, "rollback": True}
        record = _deploy(hooks, _service(_configuration("CANARY", alarms=alarms, **CANARY), "1.1.0"))
        hooks.simulator.close()
    assert record["outcome"] == "COMPLETED"


@pytest.mark.parametrize(
    ("tag", "five_xx_percent", "p99_factor"),
    [
        ("1.1.0", (0.0, 0.5), (0.6, 1.6)),
        ("errors-1.1.0", (3.5, 6.5), (0.6, 1.6)),
        ("slow-1.1.0", (0.0, 0.5), (2.2, 4.0)),
    ],
)
def test_synthetic_traffic_by_image_tag_in_cloudwatch(
    tag: str, five_xx_percent: tuple[float, float], p99_factor: tuple[float, float]
) -> None:
    hooks = _Hooks(requests_per_second=100.0)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    linear = {"linearConfiguration": {"stepPercent": 50.0, "stepBakeTimeInMinutes": 30}}
    with local_aws(hooks=hooks):
        record = _deploy(hooks, _service(_configuration("LINEAR", **linear), tag))
        old, new = (
            "targetgroup/petclinic-app-blue/0123456789abcdef",
            "targetgroup/petclinic-app-green/fedcba9876543210",
        )
        requests = {group: _metric("RequestCount", group, "Sum", start) for group in (old, new)}
        errors = _metric("HTTPCode_Target_5XX_Count", new, "Sum", start)
        p99 = {group: _metric("TargetResponseTime", group, "p99", start) for group in (old, new)}
        hooks.simulator.close()
    assert record["outcome"] == "COMPLETED"
    # 60 s scale-up at 0 %, 30 min at 50 %, 2 min bake at 100 %: 100 req/s in all
    assert requests[new] == pytest.approx(100 * (1800 * 0.5 + 120), rel=0.05)
    assert requests[old] == pytest.approx(100 * (60 + 1800 * 0.5), rel=0.05)
    assert five_xx_percent[0] <= 100 * errors / requests[new] <= five_xx_percent[1]
    assert p99_factor[0] <= p99[new] / p99[old] <= p99_factor[1]


def test_synthetic_traffic_is_deterministic() -> None:
    def run() -> list[Any]:
        hooks = _Hooks()
        with local_aws(hooks=hooks):
            _deploy(hooks, _service(_configuration("CANARY", **CANARY), "errors-1"))
            from moto.cloudwatch.models import cloudwatch_backends  # noqa: PLC0415

            data = [(d.name, d.value) for d in cloudwatch_backends[ACCOUNT][REGION].metric_data]
            hooks.simulator.close()
        return data

    assert run() == run()


def _health(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status), str(json.loads(response.read())["status"])
    except urllib.error.HTTPError as error:
        return int(error.code), str(json.loads(error.read())["status"])


@pytest.mark.parametrize(("tag", "test_route"), [("unhealthy-2", (503, "DOWN")), ("2.0.0", (200, "UP"))])
def test_an_unhealthy_image_answers_down_on_the_test_route(tag: str, test_route: tuple[int, str]) -> None:
    """A smoke-test hook sees it through the PetClinic HTTP stand-in's test route."""
    hooks = _Hooks()
    seen: list[tuple[int, str]] = []
    with (
        local_aws(hooks=hooks),
        PetClinicHttpService(test_route_health=hooks.simulator.test_route_health) as http,
    ):

        def smoke_test(payload: dict[str, Any]) -> dict[str, Any]:
            seen.append(_health(f"{http.url}/test/app/actuator/health"))
            seen.append(_health(f"{http.url}/actuator/health"))
            return {"hookStatus": "FAILED" if seen[0][1] == "DOWN" else "SUCCEEDED"}

        _hook(hooks, smoke_test)
        record = _deploy(hooks, _service(_with_hook("BLUE_GREEN", ["POST_TEST_TRAFFIC_SHIFT"]), tag))
        after = _health(f"{http.url}/test/app/actuator/health")
        hooks.simulator.close()
    assert seen == [test_route, (200, "UP")]  # production stays on the healthy revision
    assert record["outcome"] == ("FAILED" if test_route[1] == "DOWN" else "COMPLETED")
    assert after == (200, "UP")  # no test traffic any more


def test_a_template_service_keeps_its_strategy_with_ecs_types() -> None:
    """CloudFormation's strings become the numbers and booleans ECS's API wants."""
    from petclinic_local.simulators.cloudformation.providers.ecs import EcsService  # noqa: PLC0415

    arguments = EcsService._arguments(
        {
            "ServiceName": "app",
            "DeploymentConfiguration": {
                "Strategy": "CANARY",
                "BakeTimeInMinutes": "5",
                "CanaryConfiguration": {"CanaryPercent": "10", "CanaryBakeTimeInMinutes": "10"},
                "Alarms": {"AlarmNames": ["app-5xx"], "Enable": "true", "Rollback": "true"},
                "LifecycleHooks": [
                    {
                        "HookTargetArn": HOOK,
                        "RoleArn": ROLE,
                        "LifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
                        "HookDetails": '{"service": "customers"}',
                    }
                ],
            },
        }
    )
    assert arguments["deploymentConfiguration"] == {
        "strategy": "CANARY",
        "bakeTimeInMinutes": 5,
        "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 10},
        "alarms": {"alarmNames": ["app-5xx"], "enable": True, "rollback": True},
        "lifecycleHooks": [
            {
                "hookTargetArn": HOOK,
                "roleArn": ROLE,
                "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
                "hookDetails": {"service": "customers"},
            }
        ],
    }


def test_a_newer_deployment_supersedes_a_canary_in_flight() -> None:
    hooks = _Hooks()
    slow_canary = {"canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 20}}
    with local_aws(hooks=hooks):
        ecs = _service(_configuration("CANARY", **slow_canary), "1.1.0")
        ecs.register_task_definition(
            family="app",
            containerDefinitions=[
                {"name": "app", "image": "public.ecr.aws/petclinic/app:1.2.0", "memory": 128}
            ],
        )
        ecs.update_service(cluster="c", service="app", taskDefinition="app:2")
        deadline = time.monotonic() + 10
        while not hooks.simulator.history[-1]["stages"] and time.monotonic() < deadline:
            time.sleep(0.01)  # the canary has scaled up
        ecs.update_service(cluster="c", service="app", taskDefinition="app:3")
        newer = hooks.settle(timeout=30)
        first = hooks.simulator.history[0]
        service = _service_state(ecs)
        hooks.simulator.close()
    assert first["outcome"] == "SUPERSEDED"
    assert newer["outcome"] == "COMPLETED"
    (primary,) = service["deployments"]
    assert primary["taskDefinition"].endswith("app:3")
