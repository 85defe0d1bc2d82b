"""Planned updates: what an UPDATE change set lists and how executing it goes, from CloudFormation's
own rules (``simulators.cloudformation.changes``: a Modify per property with Details, Replacement
from the resource schemas' createOnlyProperties), replacements applied as new physical resources
and the old ones deleted after the update (the new ones after a rollback).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest import mock

from petclinic_local.moto_compat.cloudformation.events import ResourceFailed, flushed, resource_event
from petclinic_local.moto_compat.gap import Gap, Hooks, Patches


def _plan_of(backend: Any, stack: Any, change_set: Any) -> Any:
    from petclinic_local.simulators.cloudformation.changes import plan_update  # noqa: PLC0415
    from petclinic_local.simulators.cloudformation.template import scope_of  # noqa: PLC0415

    if not getattr(stack, "template_dict", None):
        stack._parse_template()
    common = {
        "stack_name": stack.name,
        "stack_id": stack.stack_id,
        "region": stack.region_name,
        "account": stack.account_id,
        "exports": {name: str(export.value) for name, export in backend.exports.items()},
    }
    old = scope_of(stack.template_dict, dict(stack.parameters or {}), **common)
    new = scope_of(change_set.template_dict, dict(change_set.parameters or {}), **common)
    resource_map = stack.resource_map
    physical = {
        logical_id: str(resource.physical_resource_id)
        for logical_id, resource in resource_map._parsed_resources.items()
        if logical_id in resource_map._resource_json_map and hasattr(resource, "physical_resource_id")
    }
    return plan_update(old, new, stack.region_name, physical)


def _moto_change(planned: Any) -> Any:
    from moto.cloudformation.models import Change  # noqa: PLC0415

    change = Change(planned.action, planned.logical_id, planned.resource_type)
    change.physical_resource_id = planned.physical_id
    if planned.action == "Modify":
        change.replacement = planned.replacement
        change.scope = planned.scope
        change.details = planned.details
    return change


def _planned_change_sets(hooks: Hooks, original: Callable[..., Any]) -> Callable[..., Any]:
    """CreateChangeSet (UPDATE): the changes CloudFormation would list; none, and no output
    changed: FAILED "didn't contain changes"."""

    def create_change_set(self: Any, stack_name: str, change_set_name: str, *args: Any, **kwargs: Any) -> Any:
        change_set_id, stack_id = original(self, stack_name, change_set_name, *args, **kwargs)
        change_set = self.change_sets[change_set_id]
        if hooks.cloudformation_events() is None or change_set.change_set_type != "UPDATE":
            return change_set_id, stack_id
        plan = _plan_of(self, self.stacks[stack_id], change_set)
        change_set._local_plan = plan
        change_set.changes = [_moto_change(planned) for planned in plan.changes]
        if plan.empty:
            change_set.status, change_set.execution_status = "FAILED", "UNAVAILABLE"
            change_set.status_reason = (
                "The submitted information didn't contain changes. Submit different information "
                "to create a change set."
            )
        else:
            change_set.status, change_set.execution_status = "CREATE_COMPLETE", "AVAILABLE"
            change_set.status_reason = None
        return change_set_id, stack_id

    return create_change_set


def _delete_replaced(hooks: Hooks, resource_map: Any, logical_id: str, resource: Any, policy: str) -> None:
    """The old physical resource of a replacement (or the new one of an undone replacement)."""
    from petclinic_local.simulators.cloudformation.registry import Created  # noqa: PLC0415

    kind = str(getattr(resource, "cf_resource_type", "") or getattr(resource, "type", ""))
    physical = str(getattr(resource, "physical_resource_id", "") or "")
    resource_event(hooks, resource_map, logical_id, kind, status="DELETE_IN_PROGRESS", physical=physical)
    try:
        if isinstance(getattr(resource, "created", None), Created):
            resource.handler.delete(resource.created, resource.props, resource.region, policy)
        else:
            resource_map._delete_resource(resource, {"Type": kind, "Properties": {}})
    except Exception as exc:  # CloudFormation leaves it and says so; the update stands
        resource_event(
            hooks, resource_map, logical_id, kind, status="DELETE_FAILED", reason=str(exc), physical=physical
        )
        return
    resource_event(hooks, resource_map, logical_id, kind, status="DELETE_COMPLETE", physical=physical)


def _planned_executions(hooks: Hooks, original: Callable[..., Any]) -> Callable[..., Any]:
    """ExecuteChangeSet of a planned UPDATE: the planned changes (replacements as new physical
    resources); the old ones deleted after success (UpdateReplacePolicy), the new ones after a
    rollback."""

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        if hooks.cloudformation_events() is None:
            original(self, change_set_name, stack_name)
            return
        change_set = self.describe_change_set(change_set_name)
        plan = getattr(change_set, "_local_plan", None)
        if plan is None:
            original(self, change_set_name, stack_name)
            return
        stack = self.stacks[change_set.stack_id]
        resource_map = stack.resource_map
        resource_map._local_plan, resource_map._local_replaced, resource_map._local_failed = plan, [], {}
        try:
            original(self, change_set_name, stack_name)
        finally:
            replaced = resource_map._local_replaced
            del resource_map._local_plan, resource_map._local_replaced, resource_map._local_failed
        if stack.status == "UPDATE_ROLLBACK_COMPLETE":
            for logical_id, old, new in reversed(replaced):
                _delete_replaced(hooks, resource_map, logical_id, new, "Delete")
                resource_map._parsed_resources[logical_id] = old
            return
        for logical_id, old, _ in replaced:
            policy = plan.replace_policies.get(logical_id, "Delete")
            if old is not None and policy != "Retain":
                _delete_replaced(hooks, resource_map, logical_id, old, policy)

    return flushed(hooks, execute_change_set)


def _replace(hooks: Hooks, create: Callable[..., Any], plan: Any, args: tuple[Any, ...]) -> Any:
    """One resource replaced: a new physical resource (the old one goes after the update)."""
    from petclinic_local.simulators.cloudformation.changes import REPLACING  # noqa: PLC0415

    logical_id, resource_json, resources_map = args[:3]
    if logical_id in resources_map._local_failed:  # moto tries a failed update again: same answer
        raise resources_map._local_failed[logical_id]
    kind = resource_json["Type"]
    resource_event(hooks, resources_map, logical_id, kind, status="UPDATE_IN_PROGRESS", reason=REPLACING)
    events = hooks.cloudformation_events()
    fault = events.fault_for(str(resources_map["AWS::StackName"]), logical_id) if events else None
    try:
        if logical_id in plan.conflicts:
            raise ResourceFailed(
                logical_id,
                kind,
                "CloudFormation cannot update a stack when a custom-named resource requires replacing. "
                f"Rename {plan.conflicts[logical_id]} and update the stack again.",
            )
        if fault is not None:
            raise ResourceFailed(logical_id, kind, fault.reason)
        new = create(*args)
    except Exception as exc:
        failed = (
            exc
            if isinstance(exc, ResourceFailed)
            else ResourceFailed(logical_id, kind, str(exc) or type(exc).__name__)
        )
        resource_event(hooks, resources_map, logical_id, kind, status="UPDATE_FAILED", reason=failed.reason)
        resources_map._local_failed[logical_id] = failed
        raise failed from exc
    if new is None:
        return None
    resources_map._local_replaced.append((logical_id, resources_map._parsed_resources.get(logical_id), new))
    physical = str(getattr(new, "physical_resource_id", "") or "")
    resource_event(hooks, resources_map, logical_id, kind, status="UPDATE_COMPLETE", physical=physical)
    return new


def _planned_updates(hooks: Hooks) -> Patches:
    from moto.cloudformation import parsing  # noqa: PLC0415
    from moto.cloudformation.models import CloudFormationBackend  # noqa: PLC0415

    backend = CloudFormationBackend
    yield mock.patch.object(
        backend, "create_change_set", _planned_change_sets(hooks, backend.create_change_set)
    )
    yield mock.patch.object(
        backend, "execute_change_set", _planned_executions(hooks, backend.execute_change_set)
    )
    diff = parsing.ResourceMap.build_resource_diff

    def build_resource_diff(self: Any, other_template: dict[str, Any], parameters: Any = None) -> Any:
        plan = getattr(self, "_local_plan", None)
        if plan is None:
            return diff(self, other_template, parameters)
        return {action: plan.names(action) for action in ("Add", "Modify", "Remove")}

    yield mock.patch.object(parsing.ResourceMap, "build_resource_diff", build_resource_diff)
    from moto.cloudformation.responses import CloudFormationResponse  # noqa: PLC0415

    different = CloudFormationResponse._validate_different_update

    def validate_different_update(self: Any, *args: Any) -> None:
        # CreateChangeSet with nothing to change is a FAILED change set (the plan says so), not an error.
        if hooks.cloudformation_events() is None or self._get_action() != "CreateChangeSet":
            different(self, *args)

    yield mock.patch.object(CloudFormationResponse, "_validate_different_update", validate_different_update)
    update = parsing.parse_and_update_resource
    create = getattr(parsing.parse_and_create_resource, "__wrapped__", parsing.parse_and_create_resource)

    def parse_and_update_resource(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str
    ) -> Any:
        args = (logical_id, resource_json, resources_map, account_id, region_name)
        plan = getattr(resources_map, "_local_plan", None)
        if plan is None:
            return update(*args)
        if logical_id in plan.replacing:
            return _replace(hooks, create, plan, args)
        # A type moto cannot update in place (no update_from_cloudformation_json) stays what it
        # was, rather than dropping out of the stack (None).
        updated = update(*args)
        return updated if updated is not None else resources_map._parsed_resources.get(logical_id)

    yield mock.patch.object(parsing, "parse_and_update_resource", parse_and_update_resource)


GAPS = (
    Gap(
        "cloudformation-planned-updates",
        "An UPDATE change set lists a Modify only for a resource whose template text changed (not for "
        "a parameter change), with no Replacement, Scope or Details; executing one updates every "
        "resource in place, so a change to a create-only property never replaces the resource, and "
        "a resource of a type moto cannot update (a log group) drops out of the stack",
        "moto/cloudformation/models.py ChangeSet.diff (build_change_set_actions without parameters), "
        "parsing.py ResourceMap.update",
        ("cloudformation",),
        _planned_updates,
    ),
)
