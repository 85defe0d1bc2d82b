"""The lifecycle hook's domain (petclinic_ops.domain.deployment_hook) with in-memory ports: the
smoke test at POST_TEST_TRAFFIC_SHIFT, the canary judge per production step (its window carried
in hookDetails), SUCCEEDED at once where the old revision has no traffic left, bad payloads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from petclinic_ops.domain import deployment_hook
from petclinic_ops.domain.deployment_hook import Origin
from petclinic_ops.models.canary import CanaryThresholds, RevisionSample
from petclinic_ops.models.deployment_hook import ServiceTargets
from petclinic_ops.settings import DeploymentHookSettings

SERVICE = "arn:aws:ecs:us-west-2:123456789012:service/petclinic-dev/customers-service"
REVISION = "arn:aws:ecs:us-west-2:123456789012:service-revision/petclinic-dev/customers-service/"
NEW, OLD = REVISION + "222", REVISION + "111"
BLUE = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/customers-blue/0123456789abcdef"
GREEN = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/customers-green/fedcba9876543210"
NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
SECRET = "s3cr3t-origin-value"


class FakeMetrics:
    def __init__(self, new: RevisionSample, baseline: RevisionSample) -> None:
        self.by_group = {GREEN: new, BLUE: baseline}
        self.windows: list[tuple[str, dt.datetime, dt.datetime]] = []

    def samples(
        self, load_balancer: str, target_groups: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> dict[str, RevisionSample]:
        self.windows.append((load_balancer, start, end))
        return {group: self.by_group[group] for group in target_groups}


class FakePorts:
    def __init__(
        self,
        *,
        statuses: Mapping[str, int] | None = None,
        new: RevisionSample | None = None,
        baseline: RevisionSample | None = None,
        unreachable: bool = False,
    ) -> None:
        self.statuses = dict(statuses or {})
        self.metrics = FakeMetrics(new or RevisionSample(), baseline or RevisionSample())
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.unreachable = unreachable

    def targets(self, new_revision: str, baseline_revision: str) -> ServiceTargets:
        assert (new_revision, baseline_revision) == (NEW, OLD)
        return ServiceTargets(
            load_balancer="app/petclinic-dev/50dc", baseline_target_group=BLUE, new_target_group=GREEN
        )

    def origin(self, service: str) -> Origin:
        return Origin(base_url="https://origin.example.com/", secret=SECRET)

    def get(self, url: str, headers: Mapping[str, str]) -> int:
        self.requests.append((url, dict(headers)))
        if self.unreachable:
            raise OSError("connection refused")
        path = url.removeprefix("https://origin.example.com")
        return self.statuses.get(path, 200)


class Recorder:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []
        self.metrics: list[tuple[str, float]] = []
        self.dimensions: dict[str, str] = {}

    def info(self, message: str, **fields: Any) -> None:
        self.lines.append(("info", message, fields))

    def warning(self, message: str, **fields: Any) -> None:
        self.lines.append(("warning", message, fields))

    def error(self, message: str, **fields: Any) -> None:
        self.lines.append(("error", message, fields))

    def exception(self, message: str, **fields: Any) -> None:
        self.lines.append(("exception", message, fields))

    def metric(self, name: str, value: float, unit: str = "Count") -> None:
        self.metrics.append((name, value))

    def dimension(self, name: str, value: str) -> None:
        self.dimensions[name] = value

    def keys(self, **fields: Any) -> None:
        pass


def payload(stage: str, new_percent: float = 0.0, test: bool = False, **details: Any) -> dict[str, Any]:
    weights = {NEW: new_percent, OLD: 100.0 - new_percent}
    body: dict[str, Any] = {
        "executionDetails": {
            "testTrafficWeights": {NEW: 100.0, OLD: 0.0} if test else {},
            "productionTrafficWeights": weights,
            "serviceArn": SERVICE,
            "targetServiceRevisionArn": NEW,
        },
        "executionId": "222-" + stage,
        "lifecycleStage": stage,
        "resourceArn": SERVICE.replace(":service/", ":service-deployment/") + "/222",
    }
    if details:
        body["hookDetails"] = details
    return body


def run(body: Any, ports: FakePorts, now: dt.datetime = NOW) -> tuple[dict[str, Any], Recorder]:
    recorder = Recorder()
    result = deployment_hook.handle(body, CanaryThresholds(), ports, recorder, clock=lambda: now)
    return result, recorder


# --------------------------------------------------------------------------- the smoke test


def test_the_smoke_test_passes_through_the_test_route_with_both_headers() -> None:
    ports = FakePorts()
    result, recorder = run(payload("POST_TEST_TRAFFIC_SHIFT", test=True), ports)
    assert result["hookStatus"] == "SUCCEEDED"
    assert [url for url, _ in ports.requests] == [
        "https://origin.example.com/test/customers-service/actuator/health",
        "https://origin.example.com/owners",
    ]
    assert all(h == {"X-Origin-Verify": SECRET, "X-Test-Traffic": SECRET} for _, h in ports.requests)
    assert recorder.metrics == [("DeploymentHookVerdicts", 1)]
    assert recorder.dimensions == {"service": "customers-service", "verdict": "SUCCEEDED"}
    assert SECRET not in repr(recorder.lines)


def test_an_unhealthy_revision_fails_the_smoke_test_naming_the_request_and_status() -> None:
    ports = FakePorts(statuses={"/test/customers-service/actuator/health": 503})
    result, recorder = run(payload("POST_TEST_TRAFFIC_SHIFT", test=True), ports)
    assert result == {
        "hookStatus": "FAILED",
        "reason": "smoke test GET /test/customers-service/actuator/health on the test route answered 503",
    }
    assert len(ports.requests) == 1  # the health check failed: no scripted request
    assert recorder.dimensions["verdict"] == "FAILED"


def test_the_scripted_request_failing_fails_the_smoke_test() -> None:
    result, _ = run(payload("POST_TEST_TRAFFIC_SHIFT", test=True), FakePorts(statuses={"/owners": 500}))
    assert result["hookStatus"] == "FAILED"
    assert result["reason"] == "smoke test GET /owners on the test route answered 500"


def test_no_answer_at_all_fails_the_smoke_test() -> None:
    result, _ = run(payload("POST_TEST_TRAFFIC_SHIFT", test=True), FakePorts(unreachable=True))
    assert result["hookStatus"] == "FAILED"
    assert "no answer" in result["reason"]


@pytest.mark.parametrize(
    ("service", "path"),
    [
        ("vets-service", "/vets"),
        ("visits-service", "/pets/visits?petId=1"),
        ("admin-server", "/admin/actuator/health"),
    ],
)
def test_each_service_has_its_scripted_request(service: str, path: str) -> None:
    assert deployment_hook.SMOKE_REQUESTS[service] == path


# --------------------------------------------------------------------------- the canary judge


def test_the_first_call_of_a_step_starts_its_window() -> None:
    ports = FakePorts()
    result, _ = run(payload("PRODUCTION_TRAFFIC_SHIFT", 10.0, configured="kept"), ports)
    assert result["hookStatus"] == "IN_PROGRESS"
    assert result["callBackDelay"] == 30
    assert result["hookDetails"] == {
        "configured": "kept",
        "stepStartedAt": NOW.isoformat(),
        "stepPercent": 10.0,
    }
    assert ports.metrics.windows == []


def test_a_good_canary_succeeds_over_the_window_since_the_step_began() -> None:
    good = RevisionSample(requests=2000, errors=2, p99_ms=50.0)
    ports = FakePorts(new=good, baseline=RevisionSample(requests=20000, errors=20, p99_ms=48.0))
    later = NOW + dt.timedelta(minutes=3)
    body = payload("PRODUCTION_TRAFFIC_SHIFT", 10.0, stepStartedAt=NOW.isoformat(), stepPercent=10.0)
    result, recorder = run(body, ports, now=later)
    assert result["hookStatus"] == "SUCCEEDED", result
    assert ports.metrics.windows == [("app/petclinic-dev/50dc", NOW, later)]
    assert recorder.dimensions["verdict"] == "SUCCEEDED"


def test_a_canary_with_more_errors_than_the_baseline_fails() -> None:
    bad = RevisionSample(requests=2000, errors=100, p99_ms=50.0)
    ports = FakePorts(new=bad, baseline=RevisionSample(requests=20000, errors=20, p99_ms=48.0))
    body = payload("PRODUCTION_TRAFFIC_SHIFT", 10.0, stepStartedAt=NOW.isoformat(), stepPercent=10.0)
    result, _ = run(body, ports, now=NOW + dt.timedelta(minutes=3))
    assert result["hookStatus"] == "FAILED"
    assert "5xx" in result["reason"]
    assert "callBackDelay" not in result


def test_too_few_requests_waits_with_the_same_window() -> None:
    ports = FakePorts(new=RevisionSample(requests=50), baseline=RevisionSample(requests=500))
    details: dict[str, Any] = {"stepStartedAt": NOW.isoformat(), "stepPercent": 10.0}
    result, _ = run(
        payload("PRODUCTION_TRAFFIC_SHIFT", 10.0, **details), ports, now=NOW + dt.timedelta(seconds=30)
    )
    assert result["hookStatus"] == "IN_PROGRESS"
    assert result["hookDetails"] == details
    assert result["callBackDelay"] == 30


def test_a_new_step_starts_a_new_window() -> None:
    """hookDetails of the step before (another percent) are not this step's window."""
    ports = FakePorts()
    body = payload("PRODUCTION_TRAFFIC_SHIFT", 20.0, stepStartedAt=NOW.isoformat(), stepPercent=10.0)
    later = NOW + dt.timedelta(minutes=6)
    result, _ = run(body, ports, now=later)
    assert result["hookStatus"] == "IN_PROGRESS"
    assert result["hookDetails"]["stepStartedAt"] == later.isoformat()


@pytest.mark.parametrize("stage", ["PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"])
def test_with_no_production_traffic_left_on_the_old_revision_it_succeeds_at_once(stage: str) -> None:
    ports = FakePorts()
    result, _ = run(payload(stage, 100.0), ports)
    assert result["hookStatus"] == "SUCCEEDED"
    assert "nothing to compare" in result["reason"]
    assert ports.metrics.windows == []


@pytest.mark.parametrize(
    "stage", ["PRE_SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT"]
)
def test_other_stages_succeed(stage: str) -> None:
    result, _ = run(payload(stage), FakePorts())
    assert result["hookStatus"] == "SUCCEEDED"


# --------------------------------------------------------------------------- bad input, failed reads


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({}, "executionDetails"),
        (
            {"lifecycleStage": "POST_TEST_TRAFFIC_SHIFT", "executionDetails": {"serviceArn": "x"}},
            "serviceArn",
        ),
        ("not json", "event"),
        (["a list"], "event"),
    ],
)
def test_a_payload_that_is_not_ecs_fails_naming_the_field(body: Any, named: str) -> None:
    result, recorder = run(body, FakePorts())
    assert result["hookStatus"] == "FAILED"
    assert result["reason"].startswith("not an ECS lifecycle hook payload")
    assert named in result["reason"]
    assert "Traceback" not in result["reason"]
    assert recorder.dimensions == {"service": "unknown", "verdict": "FAILED"}


def test_a_failed_read_is_a_failed_answer_not_a_crash() -> None:
    class Broken(FakePorts):
        def targets(self, new_revision: str, baseline_revision: str) -> ServiceTargets:
            raise LookupError("service customers-service has no load balancer")

    body = payload("PRODUCTION_TRAFFIC_SHIFT", 10.0, stepStartedAt=NOW.isoformat(), stepPercent=10.0)
    result, recorder = run(body, Broken(), now=NOW + dt.timedelta(minutes=1))
    assert result["hookStatus"] == "FAILED"
    assert "no load balancer" in result["reason"]
    assert recorder.lines[0][0] == "exception"


def test_the_settings_give_the_judges_thresholds() -> None:
    settings = DeploymentHookSettings.from_environ(
        {
            "CANARY_MIN_REQUESTS": "300",
            "CANARY_CALLBACK_DELAY_SECONDS": "15",
            "ORIGIN_SECRET_NAME": "petclinic/prod/services/origin-verify",
        }
    )
    thresholds = settings.to_domain()
    assert (thresholds.min_requests, thresholds.callback_delay_seconds) == (300, 15)
    assert thresholds.z_threshold == CanaryThresholds().z_threshold
    assert settings.origin_secret == "petclinic/prod/services/origin-verify"
