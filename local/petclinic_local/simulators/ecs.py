"""The ECS scheduler the local cloud lacks: drives each new deployment to COMPLETED or FAILED and
emits "ECS Deployment State Change" events as ECS does (IN_PROGRESS, then COMPLETED or FAILED).

A change of a service's desired count alone (UpdateService desiredCount, or Application Auto
Scaling moving it into new bounds) starts no deployment: the PRIMARY deployment takes the new
count (a rollout in flight completes at it) and, once it is not rolling out, its tasks start or
stop within ``scale_seconds`` of simulated time; then ECS's "ECS Service Action" event
SERVICE_STEADY_STATE goes on the bus (as it does after a rollout completes).

A rollout takes ``rollout_seconds`` of simulated time (times the cloud's time scale). Faults are
injected per image: an image tag containing "broken" fails (like tasks that crash at start),
one containing "stall" never finishes (like tasks that never pass health checks), and
``inject(digest or service, outcome)`` sets the outcome of an image, or of every deployment of
a service, explicitly. A service whose deployment
circuit breaker has rollback on is rolled back by "ECS" itself, as AWS does.

Tasks start only as they start on ECS (``start_failure``): every image of the task definition in
this account's ECR must be there (repository, tag or digest), and every secret the containers
read must exist (a Secrets Manager secret with the JSON key named, or a Parameter Store
parameter). Otherwise a deployment with tasks to start FAILED (CannotPullContainerError,
ResourceInitializationError, then the circuit breaker), and a desired count raised outside a
deployment leaves the tasks unstarted with ECS's SERVICE_TASK_START_IMPAIRED event instead of
SERVICE_STEADY_STATE. A deployment of 0 tasks starts none and completes.

Each service's ``events`` (DescribeServices), newest first and at most 100, say what happened in
ECS's own words: tasks started, a deployment completed or failed, the circuit breaker rolling
back, tasks failing health checks (a stalled rollout), tasks that could not start and why, and
"has reached a steady state". The runbook's advice to read them can be rehearsed locally.

Deployment strategies (``deploymentConfiguration.strategy``, kept by ``moto_compat.ecs``). ROLLING
(or none) is the rollout above, unchanged. BLUE_GREEN, CANARY and LINEAR run by ECS's lifecycle
stages on simulated time (seconds times the time scale, like ``rollout_seconds``), one thread
per deployment (``ProgressiveDeployment``):

    PRE_SCALE_UP, scale-up (``rollout_seconds``), POST_SCALE_UP,
    TEST_TRAFFIC_SHIFT (test traffic 100 % to the new revision), POST_TEST_TRAFFIC_SHIFT,
    PRE_PRODUCTION_TRAFFIC_SHIFT, then per production step: PRODUCTION_TRAFFIC_SHIFT and the
    step's bake, then POST_PRODUCTION_TRAFFIC_SHIFT (test traffic 0) and bakeTimeInMinutes.

Production steps (the new revision's share): CANARY canaryPercent (default 5) for
canaryBakeTimeInMinutes (default 10), then 100; LINEAR stepPercent (default 10), 2x, ... each
followed by stepBakeTimeInMinutes (default 6; none after 100); BLUE_GREEN 100 at once. A hook
configured for a stage is invoked through the local Lambda (boto3 Invoke against moto, so the
host's in-process runtime runs it) with ECS's payload: ``executionDetails`` {testTrafficWeights,
productionTrafficWeights (service revision ARN -> percent), serviceArn,
targetServiceRevisionArn}, ``executionId``, ``lifecycleStage``, ``resourceArn`` (the service
deployment) and ``hookDetails`` (the hook's, or the one its last IN_PROGRESS answer returned).
PRODUCTION_TRAFFIC_SHIFT hooks are invoked at every step, 100 included, with that step's
weights. SUCCEEDED goes on; IN_PROGRESS invokes it again after ``callBackDelay`` simulated
seconds (default 30; traffic flows meanwhile); FAILED, a function error or no valid hookStatus
rolls back. With ``alarms`` {enable, rollback} the alarms are read (DescribeAlarms, which
evaluates them) after every traffic period; one in ALARM rolls back. A rollback shifts all
production traffic back to the old revision (still running, as in a blue/green deployment):
that deployment is PRIMARY and COMPLETED again, the new one FAILED (rolloutStateReason says which
gate), the service's events say why, and "ECS Deployment State Change" SERVICE_DEPLOYMENT_FAILED
goes on the bus (then SERVICE_STEADY_STATE); success ends with SERVICE_DEPLOYMENT_COMPLETED as
a rolling deployment does. Not modelled: the hooks ECS runs again during a rollback, hook
timeouts (timeoutConfiguration), PAUSE hooks, RECONCILE_SERVICE. An image tagged ``*broken*`` or
``*stall*`` (or one whose tasks cannot start) fails or stalls at scale-up as in a rolling update.

``history`` has, for a progressive deployment, ``strategy``, ``outcome`` (COMPLETED, FAILED,
SUPERSEDED by a newer deployment, which ends it without an event as ECS does, STOPPED by close),
``rolledBack``, ``stages`` [{stage, productionPercent, testPercent (the new revision's), result,
simulatedSecond}] (SCALE_UP, TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT per step, BAKE_TIME; a
failed stage, then ROLLBACK), ``hooks`` [{hook, lifecycleStage, hookStatus, productionPercent,
testPercent, simulatedSecond}], ``requests`` {old, new: {requests, 5xx}} (production requests
each revision answered), ``firstNewRequestSecond`` (the simulated second the new revision took
its first production request: with the ROLLBACK stage's second, the exposure to a bad revision)
and ``gate``: {type "hook", name (the function), stage, reason (the answer's ``reason``, else its
errorMessage)}, {type "alarm", name, reason (the alarm's StateReason)} or {type "bake", reason
"bake time complete"}.

Synthetic traffic (``SyntheticTraffic``): while a progressive deployment runs, each simulated
``traffic_period`` (10 s) sends ``requests_per_second`` (50) production requests split by the
weights to the two revisions' target groups (the service's targetGroupArn and its
advancedConfiguration.alternateTargetGroupArn, swapped after each completed deployment), and
puts ALB's per-target-group metrics into the local CloudWatch (AWS/ApplicationELB, dimensions
TargetGroup=targetgroup/NAME/ID and LoadBalancer=app/NAME/ID from the production listener
rule): RequestCount and HTTPCode_Target_5XX_Count as one value per period (Sum them), and
TargetResponseTime as up to 20 values per period drawn from the revision's latency
distribution (percentiles are computable; its SampleCount is not the request count). Counts are
Poisson draws of a seeded generator (``seed``): runs are deterministic. Behaviour by image tag:
``*errors*`` answers 5xx to 5 % of requests (baseline 0.1 %), ``*slow*`` has 3 times the
baseline's latency (median 50 ms, p99 about 150 ms), ``*unhealthy*`` answers DOWN on
``/actuator/health`` through the test route (``test_route_health(service)`` while it has the test
traffic); anything else is the baseline.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import random
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from petclinic_local.moto_compat.ecs import deployment_lock, new_deployment
from petclinic_local.moto_compat.timestamps import event_time

Outcome = Literal["COMPLETED", "FAILED", "STALLED"]
TAG_MARKERS: dict[str, Outcome] = {"broken": "FAILED", "stall": "STALLED"}
_PHRASES = {"SERVICE_DEPLOYMENT_IN_PROGRESS": "in progress", "SERVICE_DEPLOYMENT_COMPLETED": "completed"}
SERVICE_EVENTS_KEPT = 100  # DescribeServices returns a service's 100 most recent events
SERVICE_DEPLOYMENTS_KEPT = 20  # of each service, the newest (ListServiceDeployments)
PROGRESSIVE = ("BLUE_GREEN", "CANARY", "LINEAR")
DEFAULT_CALLBACK_DELAY = 30.0  # seconds before ECS invokes a hook again that answered IN_PROGRESS


def service_event(service: Any, message: str) -> None:
    """One of ECS's service events ("(service NAME) ..."), newest first, the 100 latest kept."""
    event = {
        "id": str(uuid.uuid4()),
        "createdAt": dt.datetime.now(dt.UTC),
        "message": f"(service {service.name}) {message}",
    }
    with deployment_lock:
        service.events.insert(0, event)
        del service.events[SERVICE_EVENTS_KEPT:]


def _tasks(count: int) -> str:
    return " ".join(f"(task {uuid.uuid4().hex})" for _ in range(count))


def _missing_image(image: str, ecr: Any, registry_host: str) -> str | None:
    host, _, rest = image.partition("/")
    if host != registry_host:
        return None  # another registry (public.ecr.aws...): not this account's ECR
    repository, at, digest = rest.partition("@")
    repository, colon, tag = repository.partition(":") if not at else (repository, "", "")
    tag = tag if colon else ("" if at else "latest")
    found = ecr.repositories.get(repository)
    images = list(found.images) if found is not None else []
    if found is None or not any(
        (digest and i.image_digest == digest) or (tag and tag in (i.image_tags or [])) for i in images
    ):
        return (
            f"CannotPullContainerError: pull image manifest has been retried 7 time(s): "
            f"failed to resolve ref {image}: {image}: not found"
        )
    return None


def _missing_secret(value_from: str, account: str, region: str) -> str | None:
    from moto.secretsmanager.exceptions import SecretsManagerClientError  # noqa: PLC0415
    from moto.secretsmanager.models import secretsmanager_backends  # noqa: PLC0415
    from moto.ssm.models import ssm_backends  # noqa: PLC0415

    by_name = not value_from.startswith("arn:")
    if by_name and value_from.split(":", maxsplit=1)[0] in ssm_backends[account][region]._parameters:
        return None  # a Parameter Store parameter of this region, by name
    if ":secretsmanager:" in value_from or by_name:  # a secret's ARN, or its name in this region
        parts = value_from.split(":")
        cut = 7 if not by_name else 1
        secret_id, key = ":".join(parts[:cut]), (parts[cut] if len(parts) > cut else "")
        secrets = secretsmanager_backends[account][region]
        try:
            value = secrets.get_secret_value(secret_id, None, None).get("SecretString") or ""
        except SecretsManagerClientError:  # not found, deleted, no current version
            return (
                "ResourceInitializationError: unable to pull secrets or registry auth: "
                f"ResourceNotFoundException: Secrets Manager can't find the specified secret {secret_id}"
            )
        if key:
            try:
                has_key = key in json.loads(value)
            except (ValueError, TypeError):
                has_key = False
            if not has_key:
                return (
                    "ResourceInitializationError: unable to pull secrets or registry auth: "
                    f"retrieved secret from Secrets Manager did not contain json key {key}"
                )
        return None
    name = value_from.split(":parameter", 1)[1] if ":parameter" in value_from else value_from
    if name not in ssm_backends[account][region]._parameters:
        return (
            "ResourceInitializationError: unable to pull secrets or registry auth: "
            f"invalid ssm parameters: {name}"
        )
    return None


def start_failure(account: str, region: str, task_definition_arn: str) -> str | None:
    """Why ECS could not start a task of this revision (the stopped reason), or None."""
    from moto.ecr.models import ecr_backends  # noqa: PLC0415
    from moto.ecs.models import ecs_backends  # noqa: PLC0415

    definition = ecs_backends[account][region].describe_task_definition(task_definition_arn)
    ecr = ecr_backends[account][region]
    registry_host = f"{account}.dkr.ecr.{region}.amazonaws.com"
    for container in definition.container_definitions:
        reason = _missing_image(container.get("image", ""), ecr, registry_host)
        for secret in container.get("secrets") or []:
            reason = reason or _missing_secret(secret.get("valueFrom", ""), account, region)
        if reason:
            return reason
    return None


@dataclass(frozen=True)
class CircuitBreaker:
    enable: bool = True
    rollback: bool = False


class RolloutSimulator:
    def __init__(
        self,
        *,
        account: str,
        region: str,
        rollout_seconds: float,
        time_scale: float,
        scale_seconds: float = 30.0,
        requests_per_second: float = 50.0,
        traffic_period: float = 10.0,
        seed: int = 7,
    ) -> None:
        self.account = account
        self.region = region
        self.rollout_seconds = rollout_seconds
        self.scale_seconds = scale_seconds
        self.time_scale = time_scale
        self.faults: dict[str, Outcome] = {}
        self.breakers: dict[str, CircuitBreaker] = {}
        self.history: list[dict[str, Any]] = []
        # Deployments started while another deployment of the same service was still rolling out.
        self.overlaps: list[dict[str, Any]] = []
        self._timers: list[threading.Timer] = []
        # Progressive deployments: synthetic production traffic, and the target group serving
        # each service's production traffic (by service ARN; the alternate one after a deployment).
        self.traffic = SyntheticTraffic(account, region, requests_per_second, seed)
        self.traffic_period = traffic_period
        self.live_target_groups: dict[str, str] = {}
        self._clients: dict[str, Any] = {}
        self._test_route: dict[str, str] = {}
        self._active = 0
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._released = threading.Event()
        self._released.set()
        self._steady_released = threading.Event()
        self._steady_released.set()

    # ----------------------------------------------------------------- configuration

    def inject(self, digest_or_service: str, outcome: Outcome) -> None:
        """The next rollouts of this image digest, or of every deployment of this service, end so."""
        self.faults[digest_or_service] = outcome

    def set_breaker(self, service_name: str, breaker: CircuitBreaker) -> None:
        self.breakers[service_name] = breaker

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        """Rollouts do not finish until the block ends (a rollout that outlasts whatever the
        block does, without depending on how fast this machine is)."""
        self._released.clear()
        try:
            yield
        finally:
            self._released.set()

    @contextlib.contextmanager
    def holding_steady_states(self) -> Iterator[None]:
        """Services whose desired count changed do not reach their steady state until the block
        ends (a wait that is parked before ECS answers, however slow this machine is)."""
        self._steady_released.clear()
        try:
            yield
        finally:
            self._steady_released.set()

    # ----------------------------------------------------------------- moto_compat.Hooks

    def deployment_started(
        self, service: Any, deployment: dict[str, Any], previous: dict[str, Any] | None
    ) -> None:
        unfinished = [
            d["id"]
            for d in service.deployments
            if d is not deployment and d.get("rolloutState") == "IN_PROGRESS"
        ]
        if unfinished:
            self.overlaps.append(
                {"service": service.name, "deploymentId": deployment["id"], "unfinished": unfinished}
            )
        self._emit(service, deployment, "SERVICE_DEPLOYMENT_IN_PROGRESS")
        reason = (
            start_failure(self.account, self.region, deployment["taskDefinition"])
            if deployment["desiredCount"] > 0
            else None
        )
        outcome = self.faults.get(service.name) or (
            "FAILED" if reason else self._outcome_for(deployment["taskDefinition"])
        )
        self.history.append(
            {"service": service.name, "deploymentId": deployment["id"], "outcome": outcome}
            | ({"stoppedReason": reason} if reason else {})
        )
        count = int(deployment["desiredCount"])
        configuration = dict(getattr(service, "deployment_configuration", None) or {})
        if configuration.get("strategy") in PROGRESSIVE and outcome == "COMPLETED":
            self.history[-1].update(
                strategy=configuration["strategy"],
                stages=[],
                hooks=[],
                gate=None,
                rolledBack=False,
                requests={"old": {"requests": 0, "5xx": 0}, "new": {"requests": 0, "5xx": 0}},
                firstNewRequestSecond=None,
            )
            self._start_progressive(service, deployment, previous, configuration, self.history[-1])
            return
        if count > 0:
            service_event(service, f"has started {count} tasks: {_tasks(count)}.")
        if reason:
            service_event(
                service, f"has stopped {count} running tasks: {_tasks(count)}. Stopped reason: {reason}"
            )
        if outcome == "STALLED":
            if count > 0:
                service_event(service, f"{_tasks(1)} failed container health checks.")
            return
        timer = threading.Timer(
            self.rollout_seconds * self.time_scale, self._finish, (service, deployment, previous, outcome)
        )
        timer.daemon = True
        with self._lock:
            self._timers.append(timer)
            self._active += 1
        timer.start()

    def desired_count_changed(self, service: Any) -> None:
        """The service's desired count changed without a new deployment (moto_compat.ecs): the
        PRIMARY deployment's tasks follow it, unless it is rolling out (then its completion does)."""
        with deployment_lock:
            primary = next((d for d in service.deployments if d["status"] == "PRIMARY"), None)
            if primary is None or primary.get("rolloutState") == "IN_PROGRESS":
                return
        timer = threading.Timer(self.scale_seconds * self.time_scale, self._scaled, (service, primary))
        timer.daemon = True
        with self._lock:
            self._timers.append(timer)
            self._active += 1
        timer.start()

    def _scaled(self, service: Any, deployment: dict[str, Any]) -> None:
        try:
            while not self._steady_released.wait(0.05):
                if self._closed.is_set():
                    return
            if self._closed.is_set():
                return
            with deployment_lock:
                if deployment["status"] != "PRIMARY" or deployment.get("rolloutState") == "IN_PROGRESS":
                    return
                count = service.desired_count
                running = int(deployment.get("runningCount", 0))  # moto's service claims the count at once
                reason = (
                    start_failure(self.account, self.region, deployment["taskDefinition"])
                    if count > running
                    else None
                )
                if reason:  # the new tasks stop at start: the service stays where it was
                    deployment["failedTasks"] = deployment.get("failedTasks", 0) + count - running
                    service.running_count, service.pending_count = running, 0
                    self.history.append(
                        {"service": service.name, "desiredCount": count, "stoppedReason": reason}
                    )
                else:
                    now = dt.datetime.now(dt.UTC)
                    deployment.update(desiredCount=count, runningCount=count, pendingCount=0, updatedAt=now)
                    service.running_count, service.pending_count = count, 0
            if reason:
                service_event(service, f"is unable to consistently start tasks successfully. {reason}")
                self._emit_action(service, "SERVICE_TASK_START_IMPAIRED", "WARN")
                return
            self._emit_steady(service)
        finally:
            with self._lock:
                self._active -= 1

    def _emit_steady(self, service: Any) -> None:
        if not self._closed.is_set():
            service_event(service, "has reached a steady state.")
        self._emit_action(service, "SERVICE_STEADY_STATE", "INFO")

    def _emit_action(self, service: Any, event_name: str, event_type: str) -> None:
        from moto.events.models import events_backends  # noqa: PLC0415

        if self._closed.is_set():
            return
        detail = {
            "eventType": event_type,
            "eventName": event_name,
            "clusterArn": service.cluster_arn,
            "createdAt": event_time(dt.datetime.now(dt.UTC)),
        }
        events_backends[self.account][self.region].put_events(
            [
                {
                    "Source": "aws.ecs",
                    "DetailType": "ECS Service Action",
                    "Resources": [service.arn],
                    "Detail": json.dumps(detail),
                }
            ]
        )

    # ----------------------------------------------------------------- progressive delivery

    def behaviour_of(self, task_definition_arn: str) -> str:
        """The synthetic behaviour of a revision, from its images' tags (``behaviour_of``)."""
        return behaviour_of(self._tags(task_definition_arn))

    def client(self, service_name: str) -> Any:
        """A client of the local cloud (moto in this process), one per service and simulator."""
        import boto3  # noqa: PLC0415

        with self._lock:
            if service_name not in self._clients:
                self._clients[service_name] = boto3.client(service_name, region_name=self.region)  # type: ignore[call-overload]
            return self._clients[service_name]

    def test_route_health(self, service_name: str) -> str | None:
        """``DOWN`` while a revision whose image is tagged ``*unhealthy*`` takes a service's test
        traffic, ``UP`` while another one does, None when no deployment has test traffic."""
        with self._lock:
            return self._test_route.get(service_name)

    def _start_progressive(
        self,
        service: Any,
        deployment: dict[str, Any],
        previous: dict[str, Any] | None,
        configuration: dict[str, Any],
        record: dict[str, Any],
    ) -> None:
        run = ProgressiveDeployment(self, service, deployment, previous, configuration, record)
        with deployment_lock:  # ListServiceDeployments / DescribeServiceDeployments (moto_compat.ecs)
            runs = getattr(service, "service_deployments", [])
            service.service_deployments = [*runs, run][-SERVICE_DEPLOYMENTS_KEPT:]
        with self._lock:
            self._active += 1

        def target() -> None:
            try:
                run.run()
            finally:
                with self._lock:
                    self._active -= 1

        threading.Thread(target=target, name=f"ecs-{service.name}-{deployment['id']}", daemon=True).start()

    def progressive_test_traffic(self, run: ProgressiveDeployment, on: bool) -> None:
        with self._lock:
            if on:
                self._test_route[run.service.name] = "DOWN" if run.new_behaviour == "unhealthy" else "UP"
            else:
                self._test_route.pop(run.service.name, None)

    def finish_progressive(self, run: ProgressiveDeployment) -> None:
        """All production traffic on the new revision and the bake time over: COMPLETED."""
        while not self._released.wait(0.05):
            if self._closed.is_set():
                raise _Superseded
        service, deployment = run.service, run.deployment
        with deployment_lock:
            if deployment["status"] != "PRIMARY" or self._closed.is_set():
                raise _Superseded
            deployment.update(
                rolloutState="COMPLETED",
                rolloutStateReason=f"ECS deployment {deployment['id']} completed.",
                runningCount=deployment["desiredCount"],
                pendingCount=0,
                updatedAt=dt.datetime.now(dt.UTC),
            )
            service.deployments[:] = [d for d in service.deployments if d is deployment]
            service.running_count, service.pending_count = deployment["desiredCount"], 0
        self.live_target_groups[service.arn] = run.new_group
        run.record["outcome"] = "COMPLETED"
        service_event(service, f"(deployment {deployment['id']}) deployment completed.")
        self._emit(service, deployment, "SERVICE_DEPLOYMENT_COMPLETED")
        self._emit_steady(service)

    def fail_progressive(self, run: ProgressiveDeployment, gate: dict[str, Any]) -> None:
        """A hook or an alarm failed the deployment: production traffic back on the old revision
        (still running, as in a blue/green deployment), the new one's tasks stopped, FAILED."""
        service, deployment, previous = run.service, run.deployment, run.previous
        what = (
            f"lifecycle hook {gate['name']} returned FAILED at {gate.get('stage')}: {gate['reason']}"
            if gate["type"] == "hook"
            else f"CloudWatch alarm {gate['name']} is in ALARM state: {gate['reason']}"
        )
        with deployment_lock:
            if deployment["status"] != "PRIMARY" or self._closed.is_set():
                return
            now = dt.datetime.now(dt.UTC)
            deployment.update(
                rolloutState="FAILED",
                rolloutStateReason=f"ECS deployment {deployment['id']} rolled back: {what}",
                runningCount=0,
                pendingCount=0,
                updatedAt=now,
            )
            old = next(
                (d for d in service.deployments if previous is not None and d["id"] == previous["id"]), None
            )
            if old is not None:
                deployment["status"] = "ACTIVE"
                old.update(status="PRIMARY", rolloutState="COMPLETED", updatedAt=now)
                service.task_definition = old["taskDefinition"]
                service.deployments[:] = [old, deployment]
        run.record["outcome"] = "FAILED"
        run.record["rolledBack"] = old is not None
        self.progressive_test_traffic(run, on=False)
        count = int(deployment["desiredCount"])
        service_event(service, f"(deployment {deployment['id']}) deployment failed: {what}")
        if old is not None:
            service_event(
                service,
                f"(deployment {deployment['id']}) rolling back to deployment {old['id']}: "
                "production traffic shifted back to the previous service revision.",
            )
            if count > 0:
                service_event(service, f"has stopped {count} running tasks: {_tasks(count)}.")
        self._emit(service, deployment, "SERVICE_DEPLOYMENT_FAILED")
        if old is not None:
            self._emit_steady(service)

    # ----------------------------------------------------------------- state

    @property
    def closed(self) -> threading.Event:
        """Set once the simulator is closed (its threads stop)."""
        return self._closed

    def idle(self) -> bool:
        with self._lock:
            return self._active == 0

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            timers = list(self._timers)
        for timer in timers:
            timer.cancel()

    # ----------------------------------------------------------------- internals

    def _images(self, task_definition_arn: str) -> list[str]:
        from moto.ecs.models import ecs_backends  # noqa: PLC0415

        definition = ecs_backends[self.account][self.region].describe_task_definition(task_definition_arn)
        return [container.get("image", "") for container in definition.container_definitions]

    def _outcome_for(self, task_definition_arn: str) -> Outcome:
        for image in self._images(task_definition_arn):
            digest = image.partition("@")[2]
            if digest in self.faults:
                return self.faults[digest]
            for tag in self._image_tags(image):
                for marker, outcome in TAG_MARKERS.items():
                    if marker in tag:
                        return outcome
        return "COMPLETED"

    def _tags(self, task_definition_arn: str) -> list[str]:
        return [tag for image in self._images(task_definition_arn) for tag in self._image_tags(image)]

    def _image_tags(self, image: str) -> list[str]:
        """The tags of an image reference: its own, or those its digest has in this account's ECR."""
        from moto.ecr.models import ecr_backends  # noqa: PLC0415

        ecr = ecr_backends[self.account][self.region]
        digest = image.partition("@")[2]
        repository = image.partition("/")[2].partition("@")[0].partition(":")[0]
        tags = [image.rpartition(":")[2]] if not digest and ":" in image.partition("/")[2] else []
        if digest and repository in ecr.repositories:
            tags += [
                t
                for i in ecr.repositories[repository].images
                if i.image_digest == digest
                for t in i.image_tags
            ]
        return tags

    def _finish(
        self, service: Any, deployment: dict[str, Any], previous: dict[str, Any] | None, outcome: Outcome
    ) -> None:
        try:
            self._complete(service, deployment, previous, outcome)
        finally:
            with self._lock:
                self._active -= 1

    def _complete(
        self, service: Any, deployment: dict[str, Any], previous: dict[str, Any] | None, outcome: Outcome
    ) -> None:
        while not self._released.wait(0.05):
            if self._closed.is_set():
                return
        if self._closed.is_set():
            return
        with deployment_lock:
            if deployment["status"] != "PRIMARY":
                return  # superseded by a newer deployment: ECS stops it without a terminal event
            now = dt.datetime.now(dt.UTC)
            deployment["updatedAt"] = now
            if outcome == "COMPLETED":
                deployment.update(
                    rolloutState="COMPLETED",
                    rolloutStateReason=f"ECS deployment {deployment['id']} completed.",
                    runningCount=deployment["desiredCount"],
                    pendingCount=0,
                )
                service.deployments[:] = [d for d in service.deployments if d is deployment]
                service.running_count, service.pending_count = deployment["desiredCount"], 0
            else:
                failed = max(3, min(200, deployment["desiredCount"] // 2))
                deployment.update(
                    rolloutState="FAILED",
                    rolloutStateReason="ECS deployment circuit breaker: tasks failed to start.",
                    failedTasks=failed,
                    runningCount=0,
                )
        if outcome == "FAILED" and not any(
            h.get("deploymentId") == deployment["id"] and h.get("stoppedReason") for h in self.history
        ):  # the tasks started, then crashed (an image tagged "broken", an injected failure)
            crashed = int(deployment.get("failedTasks", 1))
            service_event(
                service,
                f"has stopped {crashed} running tasks: {_tasks(crashed)}. "
                "Stopped reason: Essential container in task exited",
            )
        service_event(
            service,
            f"(deployment {deployment['id']}) deployment completed."
            if outcome == "COMPLETED"
            else f"(deployment {deployment['id']}) deployment failed: tasks failed to start.",
        )
        self._emit(service, deployment, f"SERVICE_DEPLOYMENT_{outcome}")
        if outcome == "COMPLETED":
            self._emit_steady(service)  # the service runs its desired count of the new revision
        breaker = self.breakers.get(service.name, CircuitBreaker())
        if outcome == "FAILED" and breaker.enable and breaker.rollback and previous is not None:
            self._roll_back(service, deployment, previous)

    def _roll_back(self, service: Any, failed: dict[str, Any], previous: dict[str, Any]) -> None:
        with deployment_lock:
            if failed["status"] != "PRIMARY":
                return
            failed["status"] = "ACTIVE"
            rollback = new_deployment(service, previous["taskDefinition"])
            service.deployments.insert(0, rollback)
            service.task_definition = previous["taskDefinition"]
        service_event(service, f"(deployment {failed['id']}) rolling back to deployment {previous['id']}.")
        self.deployment_started(service, rollback, None)

    def _emit(self, service: Any, deployment: dict[str, Any], event_name: str) -> None:
        from moto.events.models import events_backends  # noqa: PLC0415

        if self._closed.is_set():
            return
        failed = event_name.endswith("FAILED")
        detail = {
            "eventType": "ERROR" if failed else "INFO",
            "eventName": event_name,
            "deploymentId": deployment["id"],
            "updatedAt": event_time(dt.datetime.now(dt.UTC)),
            "reason": deployment["rolloutStateReason"]
            if failed
            else f"ECS deployment {deployment['id']} {_PHRASES[event_name]}.",
        }
        events_backends[self.account][self.region].put_events(
            [
                {
                    "Source": "aws.ecs",
                    "DetailType": "ECS Deployment State Change",
                    "Resources": [service.arn],
                    "Detail": json.dumps(detail),
                }
            ]
        )


# ----------------------------------------------------------------- progressive delivery

BEHAVIOURS: dict[str, tuple[float, float]] = {  # image-tag marker: (5xx ratio, latency factor)
    "errors": (0.05, 1.0),
    "slow": (0.001, 3.0),
    "unhealthy": (0.001, 1.0),
}
BASELINE = (0.001, 1.0)
BASELINE_MEDIAN_SECONDS = 0.05
LATENCY_SIGMA = math.log(3.0) / 2.326  # the baseline's p99 is about 3 times its median
LATENCY_SAMPLES = 20  # TargetResponseTime values put per revision and traffic period


def behaviour_of(tags: list[str]) -> str:
    """``errors``, ``slow``, ``unhealthy`` (the first marker an image tag contains) or ``baseline``."""
    for tag in tags:
        for marker in BEHAVIOURS:
            if marker in tag:
                return marker
    return "baseline"


def arn_suffix(arn: str, kind: str) -> str:
    """ALB's dimension value: ``targetgroup/NAME/ID`` of a target group ARN, ``app/NAME/ID`` of a
    load balancer, listener or listener rule ARN."""
    resource = arn.split(":", 5)[-1]
    if kind == "targetgroup":
        return resource
    parts = resource.split("/")
    return "/".join(parts[1:4])  # listener-rule/app/NAME/ID/... -> app/NAME/ID


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


class SyntheticTraffic:
    """Production requests to each revision by its traffic share, ``requests_per_second`` in all,
    aggregated per traffic period: ALB's per-target-group metrics (AWS/ApplicationELB
    RequestCount, HTTPCode_Target_5XX_Count: one Sum per period; TargetResponseTime:
    ``LATENCY_SAMPLES`` values per period, drawn from the revision's latency distribution, so
    that percentiles are computable) into the local CloudWatch. Seeded: deterministic."""

    def __init__(self, account: str, region: str, requests_per_second: float, seed: int) -> None:
        self.account = account
        self.region = region
        self.requests_per_second = requests_per_second
        self.rng = random.Random(seed)  # noqa: S311 - synthetic traffic, not secrets

    def send(
        self, load_balancer: str, shares: list[tuple[str, str, float]], seconds: float
    ) -> list[tuple[int, int]]:
        """``shares``: (target group dimension, behaviour, production share 0..1) per revision;
        (requests, 5xx answers) per revision."""
        from moto.cloudwatch.models import cloudwatch_backends  # noqa: PLC0415

        data: list[dict[str, Any]] = []
        sent: list[tuple[int, int]] = []
        for target_group, behaviour, share in shares:
            if share <= 0:
                sent.append((0, 0))
                continue
            error_ratio, slowness = BEHAVIOURS.get(behaviour, BASELINE)
            requests = _poisson(self.rng, self.requests_per_second * seconds * share)
            errors = min(requests, _poisson(self.rng, requests * error_ratio))
            sent.append((requests, errors))
            dimensions = [
                {"Name": "TargetGroup", "Value": target_group},
                {"Name": "LoadBalancer", "Value": load_balancer},
            ]
            data += [
                {"MetricName": "RequestCount", "Dimensions": dimensions, "Value": requests, "Unit": "Count"},
                {
                    "MetricName": "HTTPCode_Target_5XX_Count",
                    "Dimensions": dimensions,
                    "Value": errors,
                    "Unit": "Count",
                },
            ]
            if requests:
                median = math.log(BASELINE_MEDIAN_SECONDS * slowness)
                values = [
                    round(self.rng.lognormvariate(median, LATENCY_SIGMA), 4)
                    for _ in range(min(requests, LATENCY_SAMPLES))
                ]
                data.append(
                    {
                        "MetricName": "TargetResponseTime",
                        "Dimensions": dimensions,
                        "Values": values,
                        "Unit": "Seconds",
                    }
                )
        if data:
            cloudwatch_backends[self.account][self.region].put_metric_data("AWS/ApplicationELB", data)
        return sent


class _RolledBack(Exception):
    def __init__(self, gate: dict[str, Any]) -> None:
        super().__init__(gate.get("reason", ""))
        self.gate = gate


class _Superseded(Exception):
    pass


class ProgressiveDeployment:
    """One BLUE_GREEN, CANARY or LINEAR deployment, stage by stage on simulated time."""

    def __init__(  # noqa: PLR0917 - one deployment's whole context
        self,
        simulator: RolloutSimulator,
        service: Any,
        deployment: dict[str, Any],
        previous: dict[str, Any] | None,
        configuration: dict[str, Any],
        record: dict[str, Any],
    ) -> None:
        self.sim = simulator
        self.service = service
        self.deployment = deployment
        self.previous = previous
        self.configuration = configuration
        self.record = record
        self.strategy = str(configuration.get("strategy"))
        balancer = (service.load_balancers or [{}])[0]
        advanced = balancer.get("advancedConfiguration") or {}
        primary_group = str(balancer.get("targetGroupArn", ""))
        alternate = str(advanced.get("alternateTargetGroupArn", ""))
        self.old_group = simulator.live_target_groups.get(service.arn, primary_group)
        self.new_group = alternate if self.old_group == primary_group else primary_group
        self.load_balancer = arn_suffix(str(advanced.get("productionListenerRule", "")), "app")
        self.old_behaviour = simulator.behaviour_of(previous["taskDefinition"]) if previous else "baseline"
        self.new_behaviour = simulator.behaviour_of(deployment["taskDefinition"])
        self.production = 0.0  # the new revision's production traffic, percent
        self.test = 0.0
        self.seconds = 0.0  # simulated seconds since the deployment started
        self.alarms = configuration.get("alarms") or {}
        self.current = "PRE_SCALE_UP"  # the lifecycle stage running (an alarm fails it)

    # ------------------------------------------------------------- ECS's view

    def revision_arn(self, deployment: dict[str, Any] | None) -> str:
        number = (deployment or {}).get("id", "ecs-svc/0").rpartition("/")[2]
        return (
            f"arn:aws:ecs:{self.sim.region}:{self.sim.account}:service-revision/"
            f"{self.service.cluster_name}/{self.service.name}/{number}"
        )

    def service_deployment(self) -> dict[str, Any]:
        """ECS's ServiceDeployment of this deployment now (DescribeServiceDeployments): its status,
        lifecycle stage and each revision's requested traffic weights."""
        number = self.deployment["id"].rpartition("/")[2]
        cluster = f"arn:aws:ecs:{self.sim.region}:{self.sim.account}:cluster/{self.service.cluster_name}"
        with deployment_lock:
            state, primary = self.deployment.get("rolloutState"), self.deployment["status"] == "PRIMARY"
        if state == "COMPLETED":
            status = "SUCCESSFUL"
        elif state == "FAILED":
            status = "ROLLBACK_SUCCESSFUL" if self.record.get("rolledBack") else "ROLLBACK_FAILED"
        elif not primary or self.record.get("outcome") in ("SUPERSEDED", "STOPPED"):
            status = "STOPPED"
        else:
            status = "IN_PROGRESS"
        found: dict[str, Any] = {
            "serviceDeploymentArn": (
                f"arn:aws:ecs:{self.sim.region}:{self.sim.account}:service-deployment/"
                f"{self.service.cluster_name}/{self.service.name}/{number}"
            ),
            "serviceArn": self.service.arn,
            "clusterArn": cluster,
            "createdAt": self.deployment["createdAt"],
            "startedAt": self.deployment["createdAt"],
            "updatedAt": self.deployment.get("updatedAt", self.deployment["createdAt"]),
            "status": status,
            "lifecycleStage": self.current,
            "deploymentConfiguration": self.configuration,
            "targetServiceRevision": {
                "arn": self.revision_arn(self.deployment),
                "requestedTaskCount": int(self.deployment["desiredCount"]),
                "runningTaskCount": int(self.deployment.get("runningCount", 0)),
                "pendingTaskCount": int(self.deployment.get("pendingCount", 0)),
                "requestedTestTrafficWeight": self.test,
                "requestedProductionTrafficWeight": self.production,
            },
            "sourceServiceRevisions": [
                {
                    "arn": self.revision_arn(self.previous),
                    "requestedTaskCount": int(self.previous.get("desiredCount", 0)),
                    "runningTaskCount": int(self.previous.get("runningCount", 0)),
                    "pendingTaskCount": 0,
                    "requestedTestTrafficWeight": 100.0 - self.test,
                    "requestedProductionTrafficWeight": 100.0 - self.production,
                }
            ]
            if self.previous is not None
            else [],
        }
        if status != "IN_PROGRESS":
            found["finishedAt"] = self.deployment.get("updatedAt", self.deployment["createdAt"])
        gate = self.record.get("gate") or {}
        if state == "FAILED":
            found["statusReason"] = str(self.deployment.get("rolloutStateReason", gate.get("reason", "")))
            if self.previous is not None:
                found["rollback"] = {
                    "reason": str(gate.get("reason", "")),
                    "startedAt": found["finishedAt"],
                    "serviceRevisionArn": self.revision_arn(self.previous),
                }
        return found

    def service_revisions(self) -> list[dict[str, Any]]:
        """ECS's ServiceRevision of the new revision and of the one it replaces
        (DescribeServiceRevisions): each with the target group it takes traffic in."""
        balancer = dict((self.service.load_balancers or [{}])[0])
        rule = (balancer.get("advancedConfiguration") or {}).get("productionListenerRule")
        cluster = f"arn:aws:ecs:{self.sim.region}:{self.sim.account}:cluster/{self.service.cluster_name}"
        found = []
        for deployment, group in ((self.previous, self.old_group), (self.deployment, self.new_group)):
            if deployment is None:
                continue
            found.append(
                {
                    "serviceRevisionArn": self.revision_arn(deployment),
                    "serviceArn": self.service.arn,
                    "clusterArn": cluster,
                    "taskDefinition": deployment["taskDefinition"],
                    "launchType": deployment.get("launchType", "FARGATE"),
                    "loadBalancers": [balancer],
                    "createdAt": deployment["createdAt"],
                    "resolvedConfiguration": {
                        "loadBalancers": [{"targetGroupArn": group, "productionListenerRule": rule}]
                    },
                }
            )
        return found

    def weights(self, new_percent: float) -> dict[str, float]:
        weights = {self.revision_arn(self.deployment): new_percent}
        if self.previous is not None:
            weights[self.revision_arn(self.previous)] = 100.0 - new_percent
        return weights

    def payload(self, stage: str, hook: dict[str, Any], details: Any) -> dict[str, Any]:
        number = self.deployment["id"].rpartition("/")[2]
        body: dict[str, Any] = {
            "executionDetails": {
                "testTrafficWeights": self.weights(self.test) if self.test else {},
                "productionTrafficWeights": self.weights(self.production),
                "serviceArn": self.service.arn,
                "targetServiceRevisionArn": self.revision_arn(self.deployment),
            },
            "executionId": f"{number}-{stage}-{uuid.uuid4().hex[:8]}",
            "lifecycleStage": stage,
            "resourceArn": (
                f"arn:aws:ecs:{self.sim.region}:{self.sim.account}:service-deployment/"
                f"{self.service.cluster_name}/{self.service.name}/{number}"
            ),
        }
        if details is not None:
            body["hookDetails"] = details
        return body

    # ------------------------------------------------------------- running

    def run(self) -> None:
        try:
            self.stages()
        except _Superseded:  # a newer deployment of the service took over (or the simulator closed)
            self.record["outcome"] = "STOPPED" if self.sim.closed.is_set() else "SUPERSEDED"
        except _RolledBack as rolled_back:
            self.roll_back(rolled_back.gate)

    def stages(self) -> None:
        count = int(self.deployment["desiredCount"])
        self.lifecycle("PRE_SCALE_UP")
        self.current = "SCALE_UP"
        self.wait(self.sim.rollout_seconds)
        if count > 0:
            service_event(self.service, f"has started {count} tasks: {_tasks(count)}.")
        self.stage("SCALE_UP")
        self.lifecycle("POST_SCALE_UP")
        self.test = 100.0
        self.sim.progressive_test_traffic(self, on=True)
        self.lifecycle("TEST_TRAFFIC_SHIFT")
        self.stage("TEST_TRAFFIC_SHIFT")
        self.lifecycle("POST_TEST_TRAFFIC_SHIFT")
        self.lifecycle("PRE_PRODUCTION_TRAFFIC_SHIFT")
        for percent, bake_minutes in self.steps():
            self.production = percent
            self.lifecycle("PRODUCTION_TRAFFIC_SHIFT")
            self.wait(bake_minutes * 60.0)
            self.stage("PRODUCTION_TRAFFIC_SHIFT")
        self.test = 0.0
        self.sim.progressive_test_traffic(self, on=False)
        self.lifecycle("POST_PRODUCTION_TRAFFIC_SHIFT")
        self.current = "BAKE_TIME"
        self.wait(float(self.configuration.get("bakeTimeInMinutes") or 0) * 60.0)
        self.stage("BAKE_TIME")
        self.record["gate"] = {"type": "bake", "name": "bakeTimeInMinutes", "reason": "bake time complete"}
        self.sim.finish_progressive(self)

    def steps(self) -> list[tuple[float, float]]:
        """(the new revision's production percent, the bake after it, minutes) per shift."""
        if self.strategy == "CANARY":
            canary = self.configuration.get("canaryConfiguration") or {}
            percent = float(canary.get("canaryPercent", 5.0))
            return [(percent, float(canary.get("canaryBakeTimeInMinutes", 10))), (100.0, 0.0)]
        if self.strategy == "LINEAR":
            linear = self.configuration.get("linearConfiguration") or {}
            step = float(linear.get("stepPercent", 10.0))
            bake = float(linear.get("stepBakeTimeInMinutes", 6))
            percents = [round(step * n, 1) for n in range(1, math.ceil(100.0 / step - 1e-9))]
            return [(p, bake) for p in percents if p < 100.0] + [(100.0, 0.0)]
        return [(100.0, 0.0)]  # BLUE_GREEN: all production traffic at once, after the test traffic

    def stage(self, name: str) -> None:
        self.record["stages"].append(
            {
                "stage": name,
                "productionPercent": self.production,
                "testPercent": self.test,
                "result": "SUCCEEDED",
                "simulatedSecond": round(self.seconds, 1),
            }
        )

    def wait(self, seconds: float) -> None:
        """``seconds`` of simulated time: traffic flows by the current weights, alarms are watched."""
        remaining = seconds
        while remaining > 1e-9:
            period = min(self.sim.traffic_period, remaining)
            if self.sim.closed.wait(period * self.sim.time_scale):
                raise _Superseded
            remaining -= period
            self.seconds += period
            self.check()
            sent = self.sim.traffic.send(
                self.load_balancer,
                [
                    (
                        arn_suffix(self.old_group, "targetgroup"),
                        self.old_behaviour,
                        1 - self.production / 100,
                    ),
                    (arn_suffix(self.new_group, "targetgroup"), self.new_behaviour, self.production / 100.0),
                ],
                period,
            )
            for revision, (requests, errors) in zip(("old", "new"), sent, strict=True):
                counted = self.record["requests"][revision]
                counted["requests"] += requests
                counted["5xx"] += errors
            if sent[1][0] and self.record["firstNewRequestSecond"] is None:
                self.record["firstNewRequestSecond"] = round(self.seconds - period, 1)
            self.watch_alarms()

    def check(self) -> None:
        with deployment_lock:
            if self.deployment["status"] != "PRIMARY":
                raise _Superseded

    def watch_alarms(self) -> None:
        names = self.alarms.get("alarmNames") or []
        if not (names and self.alarms.get("enable") and self.alarms.get("rollback")):
            return
        cloudwatch = self.sim.client("cloudwatch")
        for alarm in cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"]:
            if alarm["StateValue"] == "ALARM":
                raise _RolledBack(
                    {"type": "alarm", "name": alarm["AlarmName"], "reason": alarm.get("StateReason", "")}
                )

    def lifecycle(self, stage: str) -> None:
        """Every hook configured for ``stage``, answered SUCCEEDED (IN_PROGRESS: again after its
        callBackDelay of simulated time, traffic flowing); FAILED, an error or no hookStatus
        rolls the deployment back."""
        self.check()
        self.current = stage
        for hook in self.configuration.get("lifecycleHooks") or []:
            if stage not in (hook.get("lifecycleStages") or []):
                continue
            arn = str(hook.get("hookTargetArn", ""))
            name = arn.split(":")[6] if arn.startswith("arn:") else arn
            details = hook.get("hookDetails")
            while True:
                status, answer = self.invoke(arn, self.payload(stage, hook, details))
                self.record["hooks"].append(
                    {
                        "hook": name,
                        "lifecycleStage": stage,
                        "hookStatus": status,
                        "productionPercent": self.production,
                        "testPercent": self.test,
                        "simulatedSecond": round(self.seconds, 1),
                    }
                )
                if status == "SUCCEEDED":
                    break
                if status != "IN_PROGRESS":
                    reason = str(
                        answer.get("reason") or answer.get("errorMessage") or f"hook returned {status}"
                    )
                    self.stage_failed(stage)
                    raise _RolledBack({"type": "hook", "name": name, "stage": stage, "reason": reason})
                details = answer.get("hookDetails", details)
                self.wait(float(answer.get("callBackDelay") or DEFAULT_CALLBACK_DELAY))

    def stage_failed(self, stage: str) -> None:
        self.record["stages"].append(
            {
                "stage": stage,
                "productionPercent": self.production,
                "testPercent": self.test,
                "result": "FAILED",
                "simulatedSecond": round(self.seconds, 1),
            }
        )

    def invoke(self, arn: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        try:
            response = self.sim.client("lambda").invoke(FunctionName=arn, Payload=json.dumps(payload))
            answer = json.loads(response["Payload"].read() or b"{}")
        except Exception as error:  # ECS rolls back on any failure to invoke
            return "FAILED", {"reason": f"could not invoke {arn}: {error}"}
        if response.get("FunctionError") or not isinstance(answer, dict):
            return "FAILED", answer if isinstance(answer, dict) else {}
        status = answer.get("hookStatus")
        return (status if status in ("SUCCEEDED", "FAILED", "IN_PROGRESS") else "FAILED"), answer

    def roll_back(self, gate: dict[str, Any]) -> None:
        if gate["type"] == "alarm":
            self.stage_failed(self.current)
        self.production, self.test = 0.0, 0.0
        self.record["gate"] = gate
        self.record["stages"].append(
            {
                "stage": "ROLLBACK",
                "productionPercent": 0.0,
                "testPercent": 0.0,
                "result": "SUCCEEDED" if self.previous is not None else "FAILED",
                "simulatedSecond": round(self.seconds, 1),
            }
        )
        self.sim.fail_progressive(self, gate)
