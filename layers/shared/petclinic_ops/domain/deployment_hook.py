"""The lifecycle hook ECS calls during a BLUE_GREEN, CANARY or LINEAR deployment of a PetClinic
service (functions/deployment_hook): its answer, by stage (docs/progressive-delivery.md, "The
lifecycle hook").

- POST_TEST_TRAFFIC_SHIFT: a smoke test of the new revision through the test route: the
  service's ``/actuator/health`` and one scripted request (``SMOKE_REQUESTS``), each with the
  ``X-Origin-Verify`` and ``X-Test-Traffic`` headers (the origin secret): FAILED naming the
  request and its status when one is not a 2xx, SUCCEEDED otherwise.
- PRODUCTION_TRAFFIC_SHIFT and POST_PRODUCTION_TRAFFIC_SHIFT: the canary judge
  (domain.canary.judge_window) on the new revision's target group against the baseline's over
  the window since the step began. The first call of a step starts the window (``now``) and
  answers IN_PROGRESS with it in ``hookDetails`` (ECS passes it back on the next call). Where
  the old revision has no production traffic left (the 100 % step, after the last shift), there
  is nothing to compare with and the canary already passed: SUCCEEDED at once.
- Any other stage: SUCCEEDED (nothing to check there).

A payload that is not ECS's answers FAILED naming the field (ECS rolls back: a hook that cannot
tell must not pass a deployment), as does a step the hook cannot read (no target groups, no
metrics): never a traceback. Each decision is logged and counted (DeploymentHookVerdicts, with
the dimensions service and verdict).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError

from petclinic_ops.domain.canary import RevisionMetrics, judge_window
from petclinic_ops.domain.telemetry import Telemetry
from petclinic_ops.models.canary import CanaryThresholds, HookStatus
from petclinic_ops.models.deployment_hook import HookEvent, ServiceTargets

# The scripted request of each service's smoke test (the paths its test listener rule routes).
SMOKE_REQUESTS: dict[str, str] = {
    "customers-service": "/owners",
    "vets-service": "/vets",
    "visits-service": "/pets/visits?petId=1",
    "admin-server": "/admin/actuator/health",
}
SMOKE_STAGES = frozenset({"POST_TEST_TRAFFIC_SHIFT"})
ANALYSIS_STAGES = frozenset({"PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"})
# Keys the hook keeps in hookDetails between the calls of one step.
STEP_STARTED = "stepStartedAt"
STEP_PERCENT = "stepPercent"


@dataclass(frozen=True)
class Origin:
    """How a request reaches the test listener rule: the ALB's origin URL and the secret both
    X-Origin-Verify and X-Test-Traffic carry (never logged)."""

    base_url: str
    secret: str = field(repr=False)

    def headers(self) -> dict[str, str]:
        return {"X-Origin-Verify": self.secret, "X-Test-Traffic": self.secret}


class HookPorts(Protocol):
    """What the hook reads: adapters.deployment_hook.AwsHookPorts on AWS, fakes in unit tests."""

    @property
    def metrics(self) -> RevisionMetrics: ...

    def targets(self, new_revision: str, baseline_revision: str) -> ServiceTargets:
        """The load balancer and the target group each service revision takes traffic in (ECS's
        service revisions: which group serves which revision changes from one deployment to the
        next)."""
        ...

    def origin(self, service: str) -> Origin:
        """The test route's base URL and the origin secret."""
        ...

    def get(self, url: str, headers: Mapping[str, str]) -> int:
        """GET ``url``: the HTTP status (raises OSError when nothing answers)."""
        ...


def answer(status: HookStatus, reason: str, **extra: Any) -> dict[str, Any]:
    return {"hookStatus": status, "reason": reason, **extra}


def smoke_test(service: str, ports: HookPorts) -> dict[str, Any]:
    """The new revision's health and scripted request through the test route."""
    origin = ports.origin(service)
    base = origin.base_url.rstrip("/")
    requests = [f"/test/{service}/actuator/health"]
    if service in SMOKE_REQUESTS:
        requests.append(SMOKE_REQUESTS[service])
    for path in requests:
        try:
            status = ports.get(base + path, origin.headers())
        except OSError as error:
            return answer("FAILED", f"smoke test GET {path} on the test route: no answer ({error})")
        if not 200 <= status < 300:
            return answer("FAILED", f"smoke test GET {path} on the test route answered {status}")
    return answer("SUCCEEDED", f"smoke test passed on the test route: {', '.join(requests)}")


def analysis(
    event: HookEvent, thresholds: CanaryThresholds, ports: HookPorts, now: dt.datetime
) -> dict[str, Any]:
    """The canary judge on this step (see the module's docstring)."""
    details = event.execution_details
    percent = details.new_production_percent
    if details.baseline_production_percent <= 0:
        return answer(
            "SUCCEEDED",
            f"the old revision has no production traffic left ({percent:g} % on the new one): "
            "nothing to compare, the earlier steps were judged",
        )
    hook_details = dict(event.hook_details)
    started = _step_start(hook_details, percent)
    if started is None or now <= started:
        hook_details.update({STEP_STARTED: now.isoformat(), STEP_PERCENT: percent})
        delay = thresholds.callback_delay_seconds
        return answer(
            "IN_PROGRESS",
            f"step at {percent:g} % begins: judged from {now.isoformat()}",
            callBackDelay=delay,
            hookDetails=hook_details,
        )
    targets = ports.targets(details.target_service_revision_arn, details.baseline_revision_arn)
    verdict = judge_window(
        ports.metrics,
        load_balancer=targets.load_balancer,
        new_target_group=targets.new_target_group,
        baseline_target_group=targets.baseline_target_group,
        start=started,
        end=now,
        thresholds=thresholds,
    )
    extra: dict[str, Any] = {"gate": verdict.gate}
    if verdict.status == "IN_PROGRESS":
        extra["hookDetails"] = hook_details
    return {**verdict.hook_response(), "reason": verdict.reason, **extra}


def _step_start(hook_details: Mapping[str, Any], percent: float) -> dt.datetime | None:
    """When this step's window began (a call of the same step before this one), else None."""
    raw, step = hook_details.get(STEP_STARTED), hook_details.get(STEP_PERCENT)
    if not isinstance(raw, str) or step != percent:
        return None
    try:
        started = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    return started if started.tzinfo else started.replace(tzinfo=dt.UTC)


def parse(payload: Any) -> HookEvent | str:
    """The event, or why it is not ECS's payload (the fields named, no input echoed)."""
    try:
        if isinstance(payload, str | bytes):
            return HookEvent.model_validate_json(payload)
        return HookEvent.model_validate(payload)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or 'event'}: {e['msg']}"
            for e in error.errors(include_url=False, include_input=False)
        )
        return f"not an ECS lifecycle hook payload: {problems}"


def handle(
    payload: Any,
    thresholds: CanaryThresholds,
    ports: HookPorts,
    telemetry: Telemetry,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> dict[str, Any]:
    """ECS's payload in, the hook's answer out (never raises for a bad payload or a failed read)."""
    event = parse(payload)
    if isinstance(event, str):
        telemetry.error("Deployment hook: bad payload", reason=event)
        return _report(answer("FAILED", event), "unknown", "unknown", telemetry)
    stage, details = event.lifecycle_stage, event.execution_details
    service = details.service
    telemetry.keys(service=service, lifecycle_stage=stage, execution_id=event.execution_id)
    try:
        if stage in SMOKE_STAGES:
            result = smoke_test(service, ports)
        elif stage in ANALYSIS_STAGES:
            result = analysis(event, thresholds, ports, clock())
        else:
            result = answer("SUCCEEDED", f"nothing to check at {stage}")
    except Exception as error:
        telemetry.exception("Deployment hook: could not decide", error=type(error).__name__)
        result = answer("FAILED", f"the hook could not decide at {stage}: {type(error).__name__}: {error}")
    return _report(result, service, stage, telemetry)


def _report(result: dict[str, Any], service: str, stage: str, telemetry: Telemetry) -> dict[str, Any]:
    telemetry.info(
        "Deployment hook decided",
        hook_status=result["hookStatus"],
        reason=result["reason"],
        lifecycle_stage=stage,
        service=service,
    )
    telemetry.dimension("service", service)
    telemetry.dimension("verdict", result["hookStatus"])
    telemetry.metric("DeploymentHookVerdicts", 1)
    return result
