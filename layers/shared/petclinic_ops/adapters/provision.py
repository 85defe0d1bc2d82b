"""CloudFormation and the live resources, as the provision domain's ports (boto3, imported on
first use). Waiting for a change set to be created happens here, inside the one invocation per
stack (a few seconds), rather than as a polling loop of workflow states."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from functools import cached_property
from typing import Any

from petclinic_ops.errors import ChangeSetFailed

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]


def _client(service: str) -> Any:
    import boto3  # noqa: PLC0415 - lazy: only the invocations that call AWS pay for it
    from botocore.config import Config  # noqa: PLC0415

    config = Config(connect_timeout=5, read_timeout=20, retries={"mode": "standard", "max_attempts": 5})
    return boto3.client(service, config=config)  # type: ignore[call-overload]


class CloudFormationStacks:
    def __init__(
        self,
        *,
        role_arn: str = "",
        tags: Mapping[str, str] | None = None,
        client: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        poll_seconds: float = 2.0,
        max_polls: int = 150,
    ) -> None:
        self._injected = client
        self.role_arn = role_arn
        self.tags = dict(tags or {})
        self.sleep = sleep
        self.poll_seconds = poll_seconds
        self.max_polls = max_polls
        self._summaries: dict[str, dict[str, Any]] = {}

    @cached_property
    def client(self) -> Any:
        return self._injected if self._injected is not None else _client("cloudformation")

    def describe(self, name: str) -> dict[str, Any] | None:
        try:
            stacks = self.client.describe_stacks(StackName=name)["Stacks"]
        except self.client.exceptions.ClientError as exc:
            if "does not exist" in str(exc):
                return None
            raise
        return dict(stacks[0]) if stacks else None

    def _summary(self, template_url: str) -> dict[str, Any]:
        if template_url not in self._summaries:
            self._summaries[template_url] = dict(self.client.get_template_summary(TemplateURL=template_url))
        return self._summaries[template_url]

    def template_parameters(self, template_url: str) -> dict[str, str | None]:
        summary = self._summary(template_url)
        return {p["ParameterKey"]: p.get("DefaultValue") for p in summary.get("Parameters", [])}

    def no_echo_parameters(self, template_url: str) -> frozenset[str]:
        summary = self._summary(template_url)
        return frozenset(p["ParameterKey"] for p in summary.get("Parameters", []) if p.get("NoEcho"))

    def stack_policy(self, name: str) -> str | None:
        body = self.client.get_stack_policy(StackName=name).get("StackPolicyBody")
        return str(body) if body else None

    def template_resources(self, template_url: str) -> list[tuple[str, str]]:
        summary = self._summary(template_url)
        identifiers = summary.get("ResourceIdentifierSummaries", [])
        listed = [
            (logical, item["ResourceType"]) for item in identifiers for logical in item["LogicalResourceIds"]
        ]
        return sorted(listed) if listed else [("*", kind) for kind in summary.get("ResourceTypes", [])]

    def create_change_set(
        self,
        *,
        name: str,
        template_url: str,
        parameters: Mapping[str, str],
        create: bool,
        change_set: str,
        previous: Collection[str] = (),
        tags: Mapping[str, str] | None = None,
    ) -> tuple[str, str]:
        """The parameters the run sets by value, the others (``previous``) as UsePreviousValue: the
        stack's current value, which DescribeStacks would show masked for a NoEcho parameter. The
        stack's tags: the adapter's and the run's (the environment)."""
        given = [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())]
        kept = [{"ParameterKey": k, "UsePreviousValue": True} for k in sorted(previous)]
        arguments: dict[str, Any] = {
            "StackName": name,
            "ChangeSetName": change_set,
            "TemplateURL": template_url,
            "Parameters": given + kept,
            "Capabilities": CAPABILITIES,
            "ChangeSetType": "CREATE" if create else "UPDATE",
            "Tags": [{"Key": k, "Value": v} for k, v in sorted({**self.tags, **(tags or {})}.items())],
        }
        if self.role_arn:
            arguments["RoleARN"] = self.role_arn
        try:
            created = self.client.create_change_set(**arguments)
        except self.client.exceptions.ClientError as exc:
            raise ChangeSetFailed(f"stack {name}: {exc.response['Error'].get('Message', exc)}") from None
        return str(created["Id"]), str(created["StackId"])

    def wait_change_set(self, change_set_id: str) -> tuple[str, str, list[dict[str, Any]]]:
        for _ in range(self.max_polls):
            described = self.client.describe_change_set(ChangeSetName=change_set_id)
            status = described["Status"]
            if status in {"CREATE_COMPLETE", "FAILED"}:
                changes = list(described.get("Changes", []))
                token = described.get("NextToken")
                while token:
                    more = self.client.describe_change_set(ChangeSetName=change_set_id, NextToken=token)
                    changes += more.get("Changes", [])
                    token = more.get("NextToken")
                return status, str(described.get("StatusReason", "")), changes
            self.sleep(self.poll_seconds)
        raise ChangeSetFailed(f"change set {change_set_id} still {status} after {self.max_polls} checks")

    def delete_change_set(self, change_set_id: str) -> None:
        self.client.delete_change_set(ChangeSetName=change_set_id)

    def delete_review_stack(self, stack_id: str) -> None:
        self.client.delete_stack(StackName=stack_id)

    def detect_drift(self, name: str) -> tuple[str, list[dict[str, Any]]]:
        detection = self.client.detect_stack_drift(StackName=name)["StackDriftDetectionId"]
        for _ in range(self.max_polls):
            status = self.client.describe_stack_drift_detection_status(StackDriftDetectionId=detection)
            if status["DetectionStatus"] != "DETECTION_IN_PROGRESS":
                break
            self.sleep(self.poll_seconds)
        else:
            raise ChangeSetFailed(
                f"drift detection of stack {name} still running after {self.max_polls} checks"
            )
        if status["DetectionStatus"] == "DETECTION_FAILED" and "StackDriftStatus" not in status:
            raise ChangeSetFailed(
                f"drift detection of stack {name} failed: {status.get('DetectionStatusReason')}"
            )
        drifts: list[dict[str, Any]] = []
        arguments = {"StackName": name, "StackResourceDriftStatusFilters": ["MODIFIED", "DELETED"]}
        while True:
            page = self.client.describe_stack_resource_drifts(**arguments)
            drifts += page.get("StackResourceDrifts", [])
            if not page.get("NextToken"):
                break
            arguments["NextToken"] = page["NextToken"]
        return str(status.get("StackDriftStatus", "UNKNOWN")), drifts


class LiveResources:
    def __init__(self, *, ecs: Any = None, autoscaling: Any = None, rds: Any = None) -> None:
        self._ecs, self._autoscaling, self._rds = ecs, autoscaling, rds

    @cached_property
    def ecs(self) -> Any:
        return self._ecs or _client("ecs")

    @cached_property
    def autoscaling(self) -> Any:
        return self._autoscaling or _client("application-autoscaling")

    @cached_property
    def rds(self) -> Any:
        return self._rds or _client("rds")

    def services(self, cluster: str, names: list[str]) -> dict[str, dict[str, Any]]:
        try:
            described = self.ecs.describe_services(cluster=cluster, services=names)["services"]
        except self.ecs.exceptions.ClusterNotFoundException:
            return {}
        found: dict[str, dict[str, Any]] = {}
        for service in described:
            if service.get("status") != "ACTIVE":
                continue
            definition = self.ecs.describe_task_definition(taskDefinition=service["taskDefinition"])[
                "taskDefinition"
            ]
            container = next(
                (c for c in definition["containerDefinitions"] if c["name"] == service["serviceName"]), None
            )
            if container is None:
                continue
            found[service["serviceName"]] = {
                "image": container["image"],
                "desiredCount": service["desiredCount"],
            }
        targets = (
            self.autoscaling.describe_scalable_targets(
                ServiceNamespace="ecs", ResourceIds=[f"service/{cluster}/{name}" for name in found]
            )["ScalableTargets"]
            if found
            else []
        )
        for target in targets:
            name = target["ResourceId"].rsplit("/", 1)[-1]
            if name in found and target["ScalableDimension"] == "ecs:service:DesiredCount":
                found[name].update(minCapacity=target["MinCapacity"], maxCapacity=target["MaxCapacity"])
        return found

    def aurora_capacity(self, cluster_identifier: str) -> tuple[float, float, int | None] | None:
        try:
            clusters = self.rds.describe_db_clusters(DBClusterIdentifier=cluster_identifier)["DBClusters"]
        except self.rds.exceptions.DBClusterNotFoundFault:
            return None
        scaling = clusters[0].get("ServerlessV2ScalingConfiguration") if clusters else None
        if not scaling:
            return None
        pause = scaling.get("SecondsUntilAutoPause")
        seconds = None if pause is None else int(pause)
        return float(scaling["MinCapacity"]), float(scaling["MaxCapacity"]), seconds
