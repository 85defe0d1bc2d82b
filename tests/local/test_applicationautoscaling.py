"""moto_compat.applicationautoscaling: new bounds move an ECS service's desired count into them."""

from __future__ import annotations

from typing import Any

import pytest
from moto_gaps import client, local_aws


def _autoscaled_service(desired: int) -> Any:
    ecs = client("ecs")
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(
        family="app", containerDefinitions=[{"name": "app", "image": "app:1", "memory": 128}]
    )
    ecs.create_service(cluster="c", serviceName="app", taskDefinition="app:1", desiredCount=desired)
    return ecs


def _register(low: int, high: int) -> None:
    client("application-autoscaling").register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId="service/c/app",
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=low,
        MaxCapacity=high,
    )


def _desired(ecs: Any) -> int:
    return int(ecs.describe_services(cluster="c", services=["app"])["services"][0]["desiredCount"])


def test_needed_applicationautoscaling_bounds() -> None:
    """If this fails, moto fixed applicationautoscaling-bounds: delete the workaround (moto moves
    an ECS service's desired count into new bounds itself)."""
    with local_aws(skip={"applicationautoscaling-bounds"}):
        ecs = _autoscaled_service(2)
        _register(4, 6)
        assert _desired(ecs) == 2


def test_closed_applicationautoscaling_bounds() -> None:
    with local_aws() as hooks:
        ecs = _autoscaled_service(2)
        _register(4, 6)  # below the new minimum: out to it
        raised = _desired(ecs)
        _register(0, 1)  # above the new maximum: in to it
        lowered = _desired(ecs)
        _register(0, 3)  # inside the bounds: left alone
        kept = _desired(ecs)
    assert (raised, lowered, kept) == (4, 1, 1)
    assert hooks.scaled == [("app", 4), ("app", 1)]


def _tagged_target() -> str:
    _autoscaled_service(1)
    autoscaling = client("application-autoscaling")
    return str(
        autoscaling.register_scalable_target(
            ServiceNamespace="ecs",
            ResourceId="service/c/app",
            ScalableDimension="ecs:service:DesiredCount",
            MinCapacity=0,
            MaxCapacity=4,
            Tags={"petclinic:cluster": "c"},
        )["ScalableTargetARN"]
    )


def test_needed_applicationautoscaling_tags() -> None:
    """If this fails, moto fixed applicationautoscaling-tags: delete the workaround (scalable
    targets keep their tags)."""
    with local_aws(skip={"applicationautoscaling-tags"}):
        arn = _tagged_target()
        with pytest.raises(NotImplementedError):
            client("application-autoscaling").list_tags_for_resource(ResourceARN=arn)


def test_closed_applicationautoscaling_tags() -> None:
    with local_aws():
        arn = _tagged_target()
        autoscaling = client("application-autoscaling")
        created = autoscaling.list_tags_for_resource(ResourceARN=arn)["Tags"]
        autoscaling.register_scalable_target(  # an update: AWS tags a target when it is created only
            ServiceNamespace="ecs",
            ResourceId="service/c/app",
            ScalableDimension="ecs:service:DesiredCount",
            MinCapacity=1,
            Tags={"other": "x"},
        )
        autoscaling.tag_resource(ResourceARN=arn, Tags={"team": "ops"})
        autoscaling.untag_resource(ResourceARN=arn, TagKeys=["petclinic:cluster"])
        after = autoscaling.list_tags_for_resource(ResourceARN=arn)["Tags"]
    assert created == {"petclinic:cluster": "c"}
    assert after == {"team": "ops"}
