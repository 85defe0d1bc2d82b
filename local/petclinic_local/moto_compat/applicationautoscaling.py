"""Application Auto Scaling: registering an ECS service's scalable target moves the service's
desired count into the new bounds at once, as AWS does (a count below the new minimum scales out
to it, one above the new maximum scales in to it); moto only stores the bounds. Scalable targets
keep their tags (RegisterScalableTarget's Tags, TagResource, UntagResource, ListTagsForResource),
which IAM conditions (aws:ResourceTag) read; moto has no tagging here."""

from __future__ import annotations

import json
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


def _target_by_arn(backend: Any, arn: str) -> Any:
    from moto.applicationautoscaling.exceptions import AWSValidationException  # noqa: PLC0415

    for targets in backend.targets.values():
        for target in targets.values():
            if target.arn == arn:
                return target
    raise AWSValidationException(f"No scalable target found for ARN {arn}")


def _tags(_: Hooks) -> Patches:
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse as Response  # noqa: PLC0415

    original = Response.register_scalable_target

    def register_scalable_target(self: Any) -> str:
        dimension, resource = self._get_param("ScalableDimension"), self._get_param("ResourceId")
        existed = resource in self.applicationautoscaling_backend.targets.get(dimension, {})
        answer: str = original(self)
        target = self.applicationautoscaling_backend.targets[dimension][resource]
        if not existed:  # AWS tags a target when it is created only
            target.tags = dict(self._get_param("Tags") or {})
        return answer

    def tag_resource(self: Any) -> str:
        target = _target_by_arn(self.applicationautoscaling_backend, self._get_param("ResourceARN"))
        target.tags = {**getattr(target, "tags", {}), **(self._get_param("Tags") or {})}
        return "{}"

    def untag_resource(self: Any) -> str:
        target = _target_by_arn(self.applicationautoscaling_backend, self._get_param("ResourceARN"))
        removed = set(self._get_param("TagKeys") or [])
        target.tags = {k: v for k, v in getattr(target, "tags", {}).items() if k not in removed}
        return "{}"

    def list_tags_for_resource(self: Any) -> str:
        target = _target_by_arn(self.applicationautoscaling_backend, self._get_param("ResourceARN"))
        return json.dumps({"Tags": getattr(target, "tags", {})})

    yield mock.patch.object(Response, "register_scalable_target", register_scalable_target)
    for name, method in (
        ("tag_resource", tag_resource),
        ("untag_resource", untag_resource),
        ("list_tags_for_resource", list_tags_for_resource),
    ):
        yield mock.patch.object(Response, name, method, create=True)


GAPS = (
    Gap(
        "applicationautoscaling-bounds",
        "RegisterScalableTarget stores new min/max bounds but leaves the ECS service's desired "
        "count outside them (AWS scales out to a new minimum and in to a new maximum at once)",
        "moto/applicationautoscaling/models.py ApplicationAutoscalingBackend.register_scalable_target",
        ("applicationautoscaling",),
        _clamp_to_bounds,
    ),
    Gap(
        "applicationautoscaling-tags",
        "scalable targets have no tags: RegisterScalableTarget drops Tags, and TagResource, "
        "UntagResource and ListTagsForResource are not implemented",
        "moto/applicationautoscaling/responses.py (no tagging operations)",
        ("applicationautoscaling",),
        _tags,
    ),
)
