"""Application Auto Scaling: registering an ECS service's scalable target moves the service's
desired count into the new bounds at once, as AWS does (a count below the new minimum scales out
to it, one above the new maximum scales in to it); moto only stores the bounds."""

from __future__ import annotations

from typing import Any
from unittest import mock

from petclinic_local.moto_compat.ecs import set_desired_count
from petclinic_local.moto_compat.gap import Gap, Hooks, Patches

_ECS_DESIRED_COUNT = "ecs:service:DesiredCount"


def _clamp_to_bounds(hooks: Hooks) -> Patches:
    from moto.applicationautoscaling.models import ApplicationAutoscalingBackend  # noqa: PLC0415

    original = ApplicationAutoscalingBackend.register_scalable_target

    def register_scalable_target(
        self: Any, namespace: str, r_id: str, dimension: str, *args: Any, **kwargs: Any
    ) -> Any:
        target = original(self, namespace, r_id, dimension, *args, **kwargs)
        if namespace == "ecs" and dimension == _ECS_DESIRED_COUNT:
            _, cluster, name = r_id.split("/")
            service = self.ecs_backend._get_service(cluster, name)
            low, high = target.min_capacity, target.max_capacity
            count = service.desired_count
            if low is not None and count < low:
                count = low
            if high is not None and count > high:
                count = high
            if count != service.desired_count:
                set_desired_count(service, int(count), hooks)
        return target

    yield mock.patch.object(
        ApplicationAutoscalingBackend, "register_scalable_target", register_scalable_target
    )


GAPS = (
    Gap(
        "applicationautoscaling-bounds",
        "RegisterScalableTarget stores new min/max bounds but leaves the ECS service's desired "
        "count outside them (AWS scales out to a new minimum and in to a new maximum at once)",
        "moto/applicationautoscaling/models.py ApplicationAutoscalingBackend.register_scalable_target",
        ("applicationautoscaling",),
        _clamp_to_bounds,
    ),
)
