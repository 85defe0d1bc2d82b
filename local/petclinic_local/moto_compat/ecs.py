"""ECS: UpdateService starts a new deployment, as ECS does; the host's rollout simulator
(``Hooks.deployment_started``, ``simulators.ecs``) takes it from there. A new desired count
alone starts none: the PRIMARY deployment takes it, and the host's simulator starts or stops
its tasks (``Hooks.desired_count_changed``)."""

from __future__ import annotations

import copy
import datetime as dt
import threading
from typing import Any
from unittest import mock

from petclinic_local.moto_compat.gap import Gap, Hooks, Patches

# ECS deployments change under UpdateService and under the rollout simulator: one lock for both.
deployment_lock = threading.RLock()


def new_deployment(service: Any, task_definition: str) -> dict[str, Any]:
    """A PRIMARY deployment of ``task_definition`` as ECS starts it, IN_PROGRESS (``service`` is
    moto's ECS service)."""
    from moto.moto_api._internal import mock_random  # noqa: PLC0415

    now = dt.datetime.now(dt.UTC)
    deployment_id = f"ecs-svc/{mock_random.randint(10**18, 10**19 - 1)}"
    return {
        "id": deployment_id,
        "status": "PRIMARY",
        "taskDefinition": task_definition,
        "desiredCount": service.desired_count,
        "pendingCount": service.desired_count,
        "runningCount": 0,
        "failedTasks": 0,
        "createdAt": now,
        "updatedAt": now,
        "launchType": service.launch_type,
        "platformFamily": "FARGATE" if service.launch_type != "EC2" else "EC2",
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": f"ECS deployment {deployment_id} in progress.",
    }


def set_desired_count(service: Any, count: int, hooks: Hooks) -> None:
    """A new desired count (UpdateService, Application Auto Scaling): ECS gives it to the PRIMARY
    deployment, so a rollout in flight completes at it, and starts or stops tasks."""
    with deployment_lock:
        service.desired_count = count
        for deployment in service.deployments:
            if deployment["status"] == "PRIMARY":
                deployment["desiredCount"] = count
    hooks.desired_count_changed(service)


def _ecs_deployments(hooks: Hooks) -> Patches:
    from moto.ecs.models import EC2ContainerServiceBackend  # noqa: PLC0415

    original = EC2ContainerServiceBackend.update_service

    def update_service(self: Any, service_properties: dict[str, Any]) -> Any:
        cluster = service_properties.get("cluster", "default")
        name = service_properties["service"].split("/")[-1]
        force = bool(service_properties.pop("force_new_deployment", False))
        with deployment_lock:
            existing = self._get_service(cluster, name)
            before, count_before = existing.task_definition, existing.desired_count
            service = original(self, service_properties)
            if service.task_definition != before or force:
                task_definition = self.describe_task_definition(service.task_definition).arn
                previous = copy.copy(next((d for d in service.deployments if d["status"] == "PRIMARY"), None))
                for deployment in service.deployments:
                    if deployment["status"] == "PRIMARY":
                        deployment["status"] = "ACTIVE"
                deployment = new_deployment(service, task_definition)
                service.deployments.insert(0, deployment)
                service.task_definition = task_definition
                hooks.deployment_started(service, deployment, previous)
            elif service.desired_count != count_before:
                set_desired_count(service, service.desired_count, hooks)
        return service

    yield mock.patch.object(EC2ContainerServiceBackend, "update_service", update_service)


GAPS = (
    Gap(
        "ecs-deployments",
        "UpdateService never starts a new deployment: the PRIMARY deployment keeps its id, task "
        "definition and rolloutState (force_new_deployment only renames it); a new desiredCount "
        "leaves the deployment's desiredCount as it was",
        "moto/ecs/models.py EC2ContainerServiceBackend.update_service",
        ("ecs",),
        _ecs_deployments,
    ),
)
