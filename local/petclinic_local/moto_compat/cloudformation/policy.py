"""Stack policies enforced: ExecuteChangeSet of a planned update fails, changing nothing, on a
change the stack's policy does not allow (``simulators.cloudformation.policy``).
"""

from __future__ import annotations

from typing import Any
from unittest import mock

from petclinic_local.moto_compat.cloudformation.events import ResourceFailed, flushed, resource_event
from petclinic_local.moto_compat.cloudformation.stacks import roll_back
from petclinic_local.moto_compat.gap import Gap, Hooks, Patches


def _deny(hooks: Hooks, stack: Any, change_set: Any, denied: list[tuple[Any, str]]) -> None:
    """A change the stack policy does not allow: the update fails on it and rolls back (nothing
    was changed), as CloudFormation does."""
    stack._add_stack_event("UPDATE_IN_PROGRESS", resource_status_reason="User Initiated")
    for change, reason in denied:
        resource_event(
            hooks,
            stack.resource_map,
            change.logical_id,
            change.resource_type,
            status="UPDATE_FAILED",
            reason=reason,
            physical=change.physical_id or "",
        )
    first, reason = denied[0]
    failed = ResourceFailed(first.logical_id, first.resource_type, reason)
    roll_back(stack, change_set, failed, (stack.template, dict(stack.parameters), stack.status))


def _stack_policies(hooks: Hooks) -> Patches:
    """ExecuteChangeSet of a planned UPDATE: a change the stack's policy does not allow fails the
    update before anything changes (it rolls back), naming the resource and the policy's verdict."""
    from moto.cloudformation.models import CloudFormationBackend  # noqa: PLC0415

    from petclinic_local.simulators.cloudformation.policy import policy_denials  # noqa: PLC0415

    original = CloudFormationBackend.execute_change_set

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        if hooks.cloudformation_events() is None:
            original(self, change_set_name, stack_name)
            return
        change_set = self.describe_change_set(change_set_name)
        plan = getattr(change_set, "_local_plan", None)
        stack = self.stacks.get(change_set.stack_id)
        denied = policy_denials(getattr(stack, "policy", ""), plan.changes) if plan and stack else []
        if not denied:
            original(self, change_set_name, stack_name)
            return
        _deny(hooks, stack, change_set, denied)

    yield mock.patch.object(CloudFormationBackend, "execute_change_set", flushed(hooks, execute_change_set))


GAPS = (
    Gap(
        "cloudformation-stack-policy",
        "A stack policy is stored but never enforced: an update replaces or deletes a resource the "
        "policy protects",
        "moto/cloudformation/models.py CloudFormationBackend.set_stack_policy ('Moto does no "
        "validation/parsing/enforcement of this policy')",
        ("cloudformation",),
        _stack_policies,
    ),
)
