"""ECS: the cluster, task definitions and services with every property (moto's own handlers
drop most of them); the services' drift.
"""

from __future__ import annotations

import json
from typing import Any

from petclinic_local.simulators.cloudformation.api import aws, camel, flag
from petclinic_local.simulators.cloudformation.registry import Created, provider
from petclinic_local.simulators.ecs import start_failure

CIRCUIT_BREAKER_TRIGGERED = "Error occurred during operation 'ECS Deployment Circuit Breaker was triggered'."


def _tasks_start(service_arn: str, task_definition: str, desired_count: int, region: str) -> None:
    """CloudFormation waits for a service it creates or updates to reach a steady state: tasks that
    cannot start (an image not in ECR, a secret that does not exist) trip the circuit breaker and
    fail the resource, with what stopped them."""
    if desired_count <= 0:
        return
    account = service_arn.split(":")[4]
    revision = aws("ecs", region).describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
    reason = start_failure(account, region, revision["taskDefinitionArn"])
    if reason:
        raise RuntimeError(f"{CIRCUIT_BREAKER_TRIGGERED} Tasks stopped: {reason}")


def _integers(mapping: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        if key in mapping:
            mapping[key] = int(mapping[key])


def _ecs_numbers(definition: dict[str, Any]) -> dict[str, Any]:
    """Template numbers arrive as strings; ECS's API wants integers (and booleans) where its model says so."""
    for container in definition.get("containerDefinitions", []):
        for mapping in container.get("portMappings", []):
            _integers(mapping, ("containerPort", "hostPort"))
        _integers(container.get("healthCheck") or {}, ("interval", "retries", "startPeriod", "timeout"))
        _integers(container, ("cpu", "memory", "memoryReservation"))
        for key in ("essential", "readonlyRootFilesystem"):
            if key in container:
                container[key] = flag(container[key])
    return definition


def _live_ecs_service(physical: str, region: str) -> dict[str, Any]:
    cluster, name = physical.split("/")[-2:]
    service = aws("ecs", region).describe_services(cluster=cluster, services=[name])["services"][0]
    if service.get("status") != "ACTIVE":
        raise LookupError(physical)
    return {"DesiredCount": service["desiredCount"], "TaskDefinition": service["taskDefinition"]}


def _deployment_types(deployment: dict[str, Any]) -> None:
    """A service's deploymentConfiguration with ECS's types (template values arrive as strings)."""
    _integers(deployment, ("maximumPercent", "minimumHealthyPercent", "bakeTimeInMinutes"))
    for flags in ("deploymentCircuitBreaker", "alarms"):
        if deployment.get(flags):
            deployment[flags] = {
                k: (flag(v) if k in ("enable", "rollback") else v) for k, v in deployment[flags].items()
            }
    for name, percent, minutes in (
        ("canaryConfiguration", "canaryPercent", "canaryBakeTimeInMinutes"),
        ("linearConfiguration", "stepPercent", "stepBakeTimeInMinutes"),
    ):
        steps = deployment.get(name) or {}
        _integers(steps, (minutes,))
        if percent in steps:
            steps[percent] = float(steps[percent])
    for hook in deployment.get("lifecycleHooks", []):
        if isinstance(hook.get("hookDetails"), str):  # CloudFormation's HookDetails: a JSON string
            hook["hookDetails"] = json.loads(hook["hookDetails"])


@provider("AWS::ECS::Cluster")
class EcsCluster:
    """With its settings (moto's own handler drops ClusterSettings: Container Insights)."""

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        arguments = {
            "settings": camel(props.get("ClusterSettings", [])),
            "tags": camel(props.get("Tags", [])),
        }
        cluster = aws("ecs", region).create_cluster(
            clusterName=props.get("ClusterName") or logical_id, **arguments
        )["cluster"]
        return Created(cluster["clusterName"], {"Arn": cluster["clusterArn"]})

    @staticmethod
    def update(created: Created, props: dict[str, Any], region: str, previous: dict[str, Any]) -> Created:
        if props.get("ClusterSettings"):
            aws("ecs", region).update_cluster_settings(
                cluster=created.physical_id, settings=camel(props["ClusterSettings"])
            )
        return created

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        aws("ecs", region).delete_cluster(cluster=created.physical_id)


@provider("AWS::ECS::TaskDefinition")
class TaskDefinition:
    """Every property (moto's own handler keeps only family, containers, volumes and memory)."""

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        arguments = _ecs_numbers(camel(props))
        arguments["family"] = props.get("Family") or logical_id
        arn = aws("ecs", region).register_task_definition(**arguments)["taskDefinition"]["taskDefinitionArn"]
        return Created(arn, {"TaskDefinitionArn": arn})

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        aws("ecs", region).deregister_task_definition(taskDefinition=created.physical_id)


@provider(
    "AWS::ECS::Service",
    partial=(
        "created in ECS's API; the local rollout simulator's breaker setting stands in for the "
        "circuit breaker (deploymentConfiguration's strategy, hooks and alarms drive the simulator); "
        "no task runs"
    ),
    read=_live_ecs_service,
)
class EcsService:
    """Every property (moto's own handler ignores the network, load balancer, registry and
    deployment settings), and an update that sends only what changed, as CloudFormation does: a
    service whose TaskDefinition property is unchanged keeps the revision the deploy workflow put."""

    @staticmethod
    def _arguments(props: dict[str, Any]) -> dict[str, Any]:
        arguments: dict[str, Any] = camel(props)
        arguments["serviceName"] = props["ServiceName"]
        if "desiredCount" in arguments:
            arguments["desiredCount"] = int(arguments["desiredCount"])
        if "healthCheckGracePeriodSeconds" in arguments:
            arguments["healthCheckGracePeriodSeconds"] = int(arguments["healthCheckGracePeriodSeconds"])
        for balancer in arguments.get("loadBalancers", []):
            balancer["containerPort"] = int(balancer["containerPort"])
        _deployment_types(arguments.get("deploymentConfiguration", {}))
        return arguments

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        arguments = EcsService._arguments(props)
        client = aws("ecs", region)
        service = client.create_service(**arguments)["service"]
        try:
            _tasks_start(service["serviceArn"], service["taskDefinition"], service["desiredCount"], region)
        except RuntimeError:  # the failed create leaves no service behind, as CloudFormation's rollback
            client.update_service(
                cluster=arguments["cluster"], service=arguments["serviceName"], desiredCount=0
            )
            client.delete_service(cluster=arguments["cluster"], service=arguments["serviceName"], force=True)
            raise
        return Created(
            service["serviceArn"], {"Name": service["serviceName"], "ServiceArn": service["serviceArn"]}
        )

    @staticmethod
    def update(
        created: Created, props: dict[str, Any], region: str, previous: dict[str, Any] | None = None
    ) -> Created:
        new, old = (
            EcsService._arguments(props),
            EcsService._arguments(previous or {"ServiceName": props["ServiceName"]}),
        )
        changed = {
            key: new[key]
            for key in (
                "taskDefinition",
                "desiredCount",
                "deploymentConfiguration",
                "networkConfiguration",
                "healthCheckGracePeriodSeconds",
                "loadBalancers",
                "serviceRegistries",
                "propagateTags",
            )
            if key in new and new.get(key) != old.get(key)
        }
        if changed:
            service = aws("ecs", region).update_service(
                cluster=new["cluster"], service=new["serviceName"], **changed
            )["service"]
            if {"taskDefinition", "desiredCount"} & changed.keys():
                _tasks_start(
                    service["serviceArn"], service["taskDefinition"], service["desiredCount"], region
                )
        return created

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        client = aws("ecs", region)
        client.update_service(cluster=props["Cluster"], service=props["ServiceName"], desiredCount=0)
        client.delete_service(cluster=props["Cluster"], service=props["ServiceName"], force=True)
