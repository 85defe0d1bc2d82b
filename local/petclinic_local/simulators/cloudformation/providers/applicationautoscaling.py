"""Application Auto Scaling: scalable targets and target-tracking policies (moto's
CloudFormation skips both); the targets' drift.
"""

from __future__ import annotations

import re
from typing import Any

from petclinic_local.simulators.cloudformation.api import aws
from petclinic_local.simulators.cloudformation.registry import Created, provider


def _live_scalable_target(physical: str, region: str) -> dict[str, Any]:
    resource_id, dimension, namespace = physical.split("|")
    targets = aws("application-autoscaling", region).describe_scalable_targets(
        ServiceNamespace=namespace, ResourceIds=[resource_id], ScalableDimension=dimension
    )["ScalableTargets"]
    if not targets:
        raise LookupError(physical)
    return {"MinCapacity": targets[0]["MinCapacity"], "MaxCapacity": targets[0]["MaxCapacity"]}


@provider(
    "AWS::ApplicationAutoScaling::ScalableTarget",
    partial=(
        "created in Application Auto Scaling's API with its bounds and Tags (kept by "
        "moto_compat.applicationautoscaling; IAM's aws:ResourceTag conditions read them)"
    ),
    read=_live_scalable_target,
)
class ScalableTarget:
    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        aws("application-autoscaling", region).register_scalable_target(
            ServiceNamespace=props["ServiceNamespace"],
            ResourceId=props["ResourceId"],
            ScalableDimension=props["ScalableDimension"],
            MinCapacity=int(props["MinCapacity"]),
            MaxCapacity=int(props["MaxCapacity"]),
            Tags={tag["Key"]: str(tag["Value"]) for tag in props.get("Tags", [])},
        )
        return Created(f"{props['ResourceId']}|{props['ScalableDimension']}|{props['ServiceNamespace']}")

    @staticmethod
    def update(created: Created, props: dict[str, Any], region: str, previous: dict[str, Any]) -> Created:
        return ScalableTarget.create(props, "", region)

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        aws("application-autoscaling", region).deregister_scalable_target(
            ServiceNamespace=props["ServiceNamespace"],
            ResourceId=props["ResourceId"],
            ScalableDimension=props["ScalableDimension"],
        )


def _numbers(value: Any) -> Any:
    """CloudFormation passes template numbers as strings; the API wants numbers."""
    if isinstance(value, dict):
        return {key: _numbers(item) for key, item in value.items()}
    if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value):
        return float(value) if "." in value else int(value)
    return value


@provider(
    "AWS::ApplicationAutoScaling::ScalingPolicy",
    partial=(
        "created in Application Auto Scaling's API; no CloudWatch metric drives it: it never scales itself"
    ),
)
class ScalingPolicy:
    @staticmethod
    def _target(props: dict[str, Any]) -> tuple[str, str, str]:
        resource_id, dimension, namespace = props["ScalingTargetId"].split("|")
        return resource_id, dimension, namespace

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        resource_id, dimension, namespace = ScalingPolicy._target(props)
        configuration = _numbers(props["TargetTrackingScalingPolicyConfiguration"])
        configuration["TargetValue"] = float(configuration["TargetValue"])
        arn = aws("application-autoscaling", region).put_scaling_policy(
            PolicyName=props["PolicyName"],
            ServiceNamespace=namespace,
            ResourceId=resource_id,
            ScalableDimension=dimension,
            PolicyType=props["PolicyType"],
            TargetTrackingScalingPolicyConfiguration=configuration,
        )["PolicyARN"]
        return Created(arn, {"Arn": arn})

    @staticmethod
    def update(created: Created, props: dict[str, Any], region: str, previous: dict[str, Any]) -> Created:
        return ScalingPolicy.create(props, "", region)

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        resource_id, dimension, namespace = ScalingPolicy._target(props)
        aws("application-autoscaling", region).delete_scaling_policy(
            PolicyName=props["PolicyName"],
            ServiceNamespace=namespace,
            ResourceId=resource_id,
            ScalableDimension=dimension,
        )
