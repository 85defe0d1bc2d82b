"""The scale domain's ports on AWS: the profile in Parameter Store, the ECS services with their
task definitions and scalable targets, the Aurora clusters (boto3, imported on first use)."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from petclinic_ops.domain.scale import PROFILE_PARAMETER, LiveCluster, LiveService


def _client(service: str) -> Any:
    import boto3  # noqa: PLC0415 - lazy: only the invocations that call AWS pay for it
    from botocore.config import Config  # noqa: PLC0415

    config = Config(connect_timeout=5, read_timeout=20, retries={"mode": "standard", "max_attempts": 5})
    return boto3.client(service, config=config)  # type: ignore[call-overload]


class AwsScalePorts:
    def __init__(self, *, ssm: Any = None, ecs: Any = None, autoscaling: Any = None, rds: Any = None) -> None:
        self._ssm, self._ecs, self._autoscaling, self._rds = ssm, ecs, autoscaling, rds

    @cached_property
    def ssm(self) -> Any:
        return self._ssm or _client("ssm")

    @cached_property
    def ecs(self) -> Any:
        return self._ecs or _client("ecs")

    @cached_property
    def autoscaling(self) -> Any:
        return self._autoscaling or _client("application-autoscaling")

    @cached_property
    def rds(self) -> Any:
        return self._rds or _client("rds")

    def profile(self, environment: str, name: str) -> str | None:
        parameter = PROFILE_PARAMETER.format(environment=environment, profile=name)
        try:
            return str(self.ssm.get_parameter(Name=parameter)["Parameter"]["Value"])
        except self.ssm.exceptions.ParameterNotFound:
            return None

    def services(self, cluster: str, names: list[str]) -> dict[str, LiveService]:
        described = self.ecs.describe_services(cluster=cluster, services=names)["services"]
        targets = {
            target["ResourceId"].rsplit("/", 1)[-1]: target
            for target in self.autoscaling.describe_scalable_targets(
                ServiceNamespace="ecs",
                ResourceIds=[f"service/{cluster}/{name}" for name in names],
                ScalableDimension="ecs:service:DesiredCount",
            )["ScalableTargets"]
        }
        found: dict[str, LiveService] = {}
        definitions: dict[str, dict[str, Any]] = {}
        for service in described:
            if service.get("status") != "ACTIVE":
                continue
            arn = service["taskDefinition"]
            if arn not in definitions:
                definitions[arn] = self.ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
            definition = definitions[arn]
            target = targets.get(service["serviceName"])
            found[service["serviceName"]] = LiveService(
                name=service["serviceName"],
                desired_count=int(service["desiredCount"]),
                running_count=int(service.get("runningCount", 0)),
                cpu=int(definition.get("cpu") or 0),
                memory=int(definition.get("memory") or 0),
                architecture=str(definition.get("runtimePlatform", {}).get("cpuArchitecture") or "X86_64"),
                min_capacity=int(target["MinCapacity"]) if target else None,
                max_capacity=int(target["MaxCapacity"]) if target else None,
            )
        return found

    def clusters(self, identifiers: list[str]) -> dict[str, LiveCluster]:
        found: dict[str, LiveCluster] = {}
        for identifier in identifiers:
            try:
                (cluster,) = self.rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"]
            except self.rds.exceptions.DBClusterNotFoundFault:
                continue
            scaling = cluster.get("ServerlessV2ScalingConfiguration") or {}
            pause = scaling.get("SecondsUntilAutoPause")
            found[identifier] = LiveCluster(
                identifier=identifier,
                engine=str(cluster.get("Engine", "")),
                engine_version=str(cluster.get("EngineVersion", "")),
                min_capacity=float(scaling.get("MinCapacity", 0.5)),
                max_capacity=float(scaling.get("MaxCapacity", 1)),
                seconds_until_auto_pause=int(pause) if pause is not None else None,
            )
        return found
