"""Resources of the PetClinic stacks: the types moto's CloudFormation skips or gets wrong, made by
the providers of ``simulators.cloudformation`` (one moto model class per type), and each
resource's events and failures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest import mock

from petclinic_local.moto_compat.cloudformation.events import ResourceFailed, resource_event
from petclinic_local.moto_compat.gap import Gap, Hooks, Patches


class SimulatedResource:
    """A resource moto's CloudFormation skips, made by a handler of ``simulators.cloudformation``
    (one subclass per type: ``_simulated_class``)."""

    resource_type = ""
    handler: Any = None

    def __init__(self, created: Any, props: dict[str, Any], region: str, policy: str) -> None:
        self.created, self.props, self.region, self.policy = created, props, region, policy
        self.type = self.resource_type

    @property
    def physical_resource_id(self) -> str:
        return str(self.created.physical_id)

    def get_cfn_attribute(self, name: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException  # noqa: PLC0415

        if name not in self.created.attributes:
            raise UnformattedGetAttTemplateException()
        return self.created.attributes[name]

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True

    def is_created(self) -> bool:
        return True

    def delete(self, account_id: str, region_name: str) -> None:
        from botocore.exceptions import ClientError  # noqa: PLC0415

        try:
            self.handler.delete(self.created, self.props, self.region, self.policy)
        except ClientError as exc:  # already gone (its parent went first): deleted, as CloudFormation says
            if "NotFound" not in exc.response["Error"]["Code"]:
                raise

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kw: Any,
    ) -> SimulatedResource:
        from petclinic_local.simulators.cloudformation.api import plain  # noqa: PLC0415

        props = plain(cloudformation_json.get("Properties", {}))
        created = cls.handler.create(props, kw.get("LogicalId", resource_name), region_name)
        return cls(created, props, region_name, str(cloudformation_json.get("DeletionPolicy", "Delete")))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: SimulatedResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SimulatedResource:
        from petclinic_local.simulators.cloudformation.api import plain  # noqa: PLC0415

        props = plain(cloudformation_json.get("Properties", {}))
        policy = str(cloudformation_json.get("DeletionPolicy", "Delete"))
        if hasattr(cls.handler, "update"):
            created = cls.handler.update(
                original_resource.created, props, region_name, original_resource.props
            )
            return cls(created, props, region_name, policy)
        # No in-place update: replaced (the new one first, then the old one goes).
        replacement = cls(
            cls.handler.create(props, new_resource_name, region_name), props, region_name, policy
        )
        original_resource.delete(account_id, region_name)
        return replacement

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        raise NotImplementedError("simulated resources delete through their instance")


def _simulated_class(resource_type: str, handler: Any) -> type[SimulatedResource]:
    name = "Simulated" + resource_type.replace("::", "")
    return type(name, (SimulatedResource,), {"resource_type": resource_type, "handler": handler})


def _skipped_types(hooks: Hooks) -> Patches:
    from moto.cloudformation import parsing  # noqa: PLC0415

    from petclinic_local.simulators.cloudformation.providers import SIMULATED_TYPES  # noqa: PLC0415

    original = parsing.resource_class_from_type
    classes = {kind: _simulated_class(kind, handler) for kind, handler in SIMULATED_TYPES.items()}

    def resource_class_from_type(resource_type: str) -> Any:
        if hooks.cloudformation_events() is not None and resource_type in classes:
            return classes[resource_type]
        return original(resource_type)

    yield mock.patch.object(parsing, "resource_class_from_type", resource_class_from_type)


def _provision(hooks: Hooks, action: str, original: Callable[..., Any]) -> Callable[..., Any]:
    """parse_and_create_resource / parse_and_update_resource with resource events and faults."""

    def wrapped(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str
    ) -> Any:
        events = hooks.cloudformation_events()
        condition = resource_json.get("Condition")
        if events is None or (condition and not resources_map.lazy_condition_map[condition]):
            return original(logical_id, resource_json, resources_map, account_id, region_name)
        kind = resource_json["Type"]
        fault = events.fault_for(str(resources_map["AWS::StackName"]), logical_id)
        try:
            if fault is not None:
                raise ResourceFailed(logical_id, kind, fault.reason)
            resource = original(logical_id, resource_json, resources_map, account_id, region_name)
            if resource is None:  # a type moto skips and nothing simulates: no resource, no event
                return None
        except ResourceFailed as failed:
            resource_event(hooks, resources_map, logical_id, kind, status=f"{action}_IN_PROGRESS")
            resource_event(
                hooks, resources_map, logical_id, kind, status=f"{action}_FAILED", reason=failed.reason
            )
            raise
        except Exception as exc:  # a provider error: the resource fails with the service's message
            reason = str(exc) or type(exc).__name__
            resource_event(hooks, resources_map, logical_id, kind, status=f"{action}_IN_PROGRESS")
            resource_event(hooks, resources_map, logical_id, kind, status=f"{action}_FAILED", reason=reason)
            raise ResourceFailed(logical_id, kind, reason) from exc
        physical = str(getattr(resource, "physical_resource_id", "") or "")
        resource_event(hooks, resources_map, logical_id, kind, status=f"{action}_IN_PROGRESS")
        resource_event(hooks, resources_map, logical_id, kind, status=f"{action}_COMPLETE", physical=physical)
        return resource

    wrapped.__wrapped__ = original  # type: ignore[attr-defined]
    return wrapped


def _resource_events(hooks: Hooks) -> Patches:
    from moto.cloudformation import parsing  # noqa: PLC0415

    yield mock.patch.object(
        parsing, "parse_and_create_resource", _provision(hooks, "CREATE", parsing.parse_and_create_resource)
    )
    yield mock.patch.object(
        parsing, "parse_and_update_resource", _provision(hooks, "UPDATE", parsing.parse_and_update_resource)
    )


GAPS = (
    Gap(
        "cloudformation-skipped-types",
        "CloudFormation skips resource types it has no model for (RDS DBCluster, Secrets Manager "
        "secrets, Cloud Map, WAFv2, Application Auto Scaling, API Gateway stages, security group "
        "egress, bucket policies) and breaks on DBInstance db.serverless aurora-mysql; the local "
        "cloud creates them through the services' API (simulators.cloudformation)",
        "moto/cloudformation/parsing.py resource_class_from_type (types without a CloudFormationModel)",
        ("cloudformation",),
        _skipped_types,
    ),
    Gap(
        "cloudformation-resource-events",
        "No resource events: DescribeStackEvents shows the stack's statuses only, and a resource "
        "that fails raises out of the API call instead of failing the resource",
        "moto/cloudformation/parsing.py parse_and_create_resource, parse_and_update_resource",
        ("cloudformation",),
        _resource_events,
    ),
)
