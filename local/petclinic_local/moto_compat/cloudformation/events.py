"""What the CloudFormation patches share: the stack an operation acts on, a resource's events (in
the stack's events and on EventBridge through the host's ``simulators.cloudformation.StackEvents``),
a resource's failure, and sending what an API call recorded once it has answered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from petclinic_local.moto_compat.gap import Hooks


def stack_of(account: str, region: str, stack_id: str) -> Any:
    from moto.cloudformation.models import cloudformation_backends  # noqa: PLC0415

    backend = cloudformation_backends[account][region]
    return backend.stacks.get(stack_id) or backend.deleted_stacks.get(stack_id)


def resource_event(
    hooks: Hooks,
    resources_map: Any,
    logical_id: str,
    resource_type: str,
    *,
    status: str,
    reason: str = "",
    physical: str = "",
) -> None:
    from moto.cloudformation.models import Event  # noqa: PLC0415

    events = hooks.cloudformation_events()
    stack = stack_of(resources_map._account_id, resources_map._region_name, resources_map.stack_id)
    if events is None or stack is None:
        return
    stack.events.append(
        Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id=physical,
            resource_type=resource_type,
            resource_status=status,
            resource_status_reason=reason or None,
            resource_properties=None,
        )
    )
    events.record(
        "CloudFormation Resource Status Change",
        stack.stack_id,
        {
            "logical-resource-id": logical_id,
            "physical-resource-id": physical,
            "resource-type": resource_type,
            "status-details": {"status": status, "status-reason": reason},
        },
    )


class ResourceFailed(Exception):
    """A resource's provider failed: the stack fails naming it (``stack_operations``)."""

    def __init__(self, logical_id: str, resource_type: str, reason: str) -> None:
        super().__init__(f"{logical_id} ({resource_type}): {reason}")
        self.logical_id, self.resource_type, self.reason = logical_id, resource_type, reason


def flushed(hooks: Hooks, operation: Callable[..., Any]) -> Callable[..., Any]:
    """The operation, then its stack events sent (after the call answered)."""

    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return operation(self, *args, **kwargs)
        finally:
            hooks_flush(hooks)

    return run


def hooks_flush(hooks: Hooks) -> None:
    events = hooks.cloudformation_events()
    if events is not None:
        events.flush(hooks.background)
