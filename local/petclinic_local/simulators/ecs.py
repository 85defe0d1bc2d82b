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
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
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

    # ----------------------------------------------------------------- state

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
        from moto.ecr.models import ecr_backends  # noqa: PLC0415

        ecr = ecr_backends[self.account][self.region]
        for image in self._images(task_definition_arn):
            digest = image.partition("@")[2]
            if digest in self.faults:
                return self.faults[digest]
            repository = image.partition("/")[2].partition("@")[0].partition(":")[0]
            tags = [image.rpartition(":")[2]] if not digest and ":" in image.partition("/")[2] else []
            if digest and repository in ecr.repositories:
                tags += [
                    t
                    for i in ecr.repositories[repository].images
                    if i.image_digest == digest
                    for t in i.image_tags
                ]
            for tag in tags:
                for marker, outcome in TAG_MARKERS.items():
                    if marker in tag:
                        return outcome
        return "COMPLETED"

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
