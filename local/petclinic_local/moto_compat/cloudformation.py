"""CloudFormation: what moto's CloudFormation gets wrong or skips.

Helpers (no patches): steps of the control plane's deploy (``stack.deploy``) around
``create_stack`` of the transformed template.yaml: the template and parameters it is handed, and
the resources it creates wrongly (state machines, Lambda aliases, API deployments) or not at all
(rotation schedules). Each helper's docstring starts with "Gap:".

Patches (``GAPS``): what the operator CLI reads from a stack (DescribeStacks' parameter values,
the stack's resources when moto does not model one of them), and what the provision workflow needs
for the PetClinic stacks (infra/*.yaml) created by change sets: the resource types moto skips
(made by ``simulators.cloudformation``), resource events and failures, outputs, exports and
parameters of executed change sets, rollback and stack events on EventBridge, updates planned
and applied as CloudFormation does (``simulators.cloudformation_changes``: Details, Replacement,
replacements as new physical resources), stack policies enforced, UsePreviousValue as given and
NoEcho parameters masked. Those act only under a host that simulates CloudFormation
(``Hooks.cloudformation_events()``).

tests/local/test_cloudformation.py shows, helper by helper and gap by gap, that moto still needs it.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
from collections.abc import Callable
from typing import Any
from unittest import mock

from petclinic_local.moto_compat.gap import Gap, Hooks, Patches


def prepare_template_for_moto(template: dict[str, Any]) -> dict[str, Any]:
    """Gap: moto's CloudFormation breaks DescribeKey when AWS::KMS::Key KeyPolicy is an object
    (it stores the dict where a JSON string belongs). Hand it the policy as a string."""
    prepared = copy.deepcopy(template)
    for resource in prepared.get("Resources", {}).values():
        if resource.get("Type") == "AWS::KMS::Key":
            policy = resource.get("Properties", {}).get("KeyPolicy")
            if isinstance(policy, dict) and not _has_intrinsics(policy):
                resource["Properties"]["KeyPolicy"] = json.dumps(policy)
            elif isinstance(policy, dict):
                resource["Properties"]["KeyPolicy"] = {"Fn::Sub": json.dumps(_to_sub(policy))}
    return prepared


def _has_intrinsics(value: Any) -> bool:
    if isinstance(value, dict):
        return any(
            key.startswith("Fn::") or key == "Ref" or _has_intrinsics(item) for key, item in value.items()
        )
    if isinstance(value, list):
        return any(_has_intrinsics(item) for item in value)
    return False


def _to_sub(value: Any) -> Any:
    """Turn {"Fn::Sub": "..."} leaves into their template text so the whole policy is one Fn::Sub."""
    if isinstance(value, dict):
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            return value["Fn::Sub"]
        if set(value) == {"Ref"}:
            return "${" + value["Ref"] + "}"
        return {key: _to_sub(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_sub(item) for item in value]
    return value


def complete_parameters(template: dict[str, Any], given: dict[str, str]) -> dict[str, str]:
    """Gap: moto splits a CommaDelimitedList parameter only when it is passed in, not when its
    Default applies (Fn::Join then joins the characters of the string). Pass every default."""
    values = {
        name: str(spec["Default"])
        for name, spec in template.get("Parameters", {}).items()
        if "Default" in spec
    }
    return {**values, **given}


def recreate_state_machine(
    sfn: Any, *, expected_arn: str, definition: str, substitutions: dict[str, Any], role_arn: str, kind: str
) -> str:
    """Gap: moto's CloudFormation creates AWS::StepFunctions::StateMachine in the backend that
    cannot execute; with DefinitionS3Location (what SAM writes) its definition is empty, and
    DefinitionSubstitutions are ignored. Create it again, same name and so same ARN, where
    executions run."""
    for key, value in substitutions.items():
        definition = definition.replace("${" + key + "}", str(value))
    name = expected_arn.rsplit(":", maxsplit=1)[-1]
    arn: str = sfn.create_state_machine(name=name, definition=definition, roleArn=role_arn, type=kind)[
        "stateMachineArn"
    ]
    if arn != expected_arn:
        raise RuntimeError(f"state machine {name}: created as {arn}, the stack knows it as {expected_arn}")
    return arn


def apply_rotation_schedules(
    resources: dict[str, Any], resolve: Callable[[Any], Any], account: str, region: str
) -> None:
    """Gap: moto's CloudFormation skips AWS::SecretsManager::RotationSchedule. Configure rotation on
    the secret as the resource would (no rotation now: RotateImmediatelyOnUpdate is false here)."""
    from moto.secretsmanager.models import secretsmanager_backends  # noqa: PLC0415

    backend = secretsmanager_backends[account][region]
    for resource in resources.values():
        if resource.get("Type") != "AWS::SecretsManager::RotationSchedule":
            continue
        props = resolve(resource["Properties"])
        secret = backend.secrets[props["SecretId"]]
        secret.rotation_requested = secret.rotation_enabled = True
        secret.rotation_lambda_arn = props["RotationLambdaARN"]
        rules = props.get("RotationRules", {})
        days = re.fullmatch(r"rate\((\d+) days?\)", rules.get("ScheduleExpression", ""))
        secret.auto_rotate_after_days = rules.get("AutomaticallyAfterDays") or (
            int(days.group(1)) if days else 0
        )


def _cfn_list_parameters(_: Hooks) -> Patches:
    from moto.cloudformation.models import Stack  # noqa: PLC0415

    original = Stack.parameter_list

    def parameter_list(self: Any) -> list[dict[str, Any]]:
        return [
            {**parameter, "ParameterValue": ",".join(str(item) for item in parameter["ParameterValue"])}
            if isinstance(parameter.get("ParameterValue"), list)
            else parameter
            for parameter in original.fget(self)
        ]

    yield mock.patch.object(Stack, "parameter_list", property(parameter_list))


def _cfn_unmodelled_resources(_: Hooks) -> Patches:
    from moto.cloudformation.models import Stack  # noqa: PLC0415

    original = Stack.stack_resources

    def stack_resources(self: Any) -> list[Any]:
        return [resource for resource in original.fget(self) if resource is not None]

    yield mock.patch.object(Stack, "stack_resources", property(stack_resources))


def _cfn_template_url_missing(_: Hooks) -> Patches:
    from moto.cloudformation.exceptions import ValidationError  # noqa: PLC0415
    from moto.cloudformation.responses import CloudFormationResponse  # noqa: PLC0415

    original = CloudFormationResponse._get_stack_from_s3_url

    def get_stack_from_s3_url(self: Any, template_url: str) -> str:
        try:
            return str(original(self, template_url))
        except AttributeError as exc:  # the S3 object is missing: moto reads .value of None
            raise ValidationError(
                message="TemplateURL must reference a valid S3 object to which you have access."
            ) from exc

    yield mock.patch.object(CloudFormationResponse, "_get_stack_from_s3_url", get_stack_from_s3_url)


def parameter_problem(name: str, declaration: dict[str, Any], value: str) -> str | None:
    """What CloudFormation says of a parameter value its declaration refuses (the constraints it
    checks before anything is created: Number, MinValue/MaxValue, AllowedValues, AllowedPattern,
    MinLength/MaxLength; list types per item), or None."""
    kind = str(declaration.get("Type", "String"))
    items = value.split(",") if kind == "CommaDelimitedList" or kind.startswith("List<") else [value]
    for item in items:
        problem = _item_problem(name, declaration, kind, item)
        if problem:
            described = declaration.get("ConstraintDescription")
            return f"Parameter '{name}' failed to satisfy constraint: {described}" if described else problem
    return None


def _as_cfn_string(value: Any) -> str:
    """A template scalar as CloudFormation reads it: YAML's true is "true", 7 is "7"."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _number_problem(name: str, declaration: dict[str, Any], item: str) -> str | None:
    try:
        number = float(item)
    except ValueError:
        return f"Parameter '{name}' must be a number"
    if "MinValue" in declaration and number < float(declaration["MinValue"]):
        return f"Parameter '{name}' must be a number not less than {declaration['MinValue']}"
    if "MaxValue" in declaration and number > float(declaration["MaxValue"]):
        return f"Parameter '{name}' must be a number not greater than {declaration['MaxValue']}"
    return None


def _item_problem(name: str, declaration: dict[str, Any], kind: str, item: str) -> str | None:
    numeric = kind in ("Number", "List<Number>")
    allowed = declaration.get("AllowedValues")
    pattern = declaration.get("AllowedPattern")
    checks = (
        (numeric and _number_problem(name, declaration, item)) or None,
        f"Parameter '{name}' must be one of AllowedValues"
        if allowed is not None and item not in {_as_cfn_string(v) for v in allowed}
        else None,
        f"Parameter '{name}' must match pattern {pattern}"
        if pattern is not None and not numeric and not re.fullmatch(pattern, item)
        else None,
        f"Parameter '{name}' must contain at least {declaration['MinLength']} characters"
        if "MinLength" in declaration and len(item) < int(declaration["MinLength"])
        else None,
        f"Parameter '{name}' must contain at most {declaration['MaxLength']} characters"
        if "MaxLength" in declaration and len(item) > int(declaration["MaxLength"])
        else None,
    )
    return next((problem for problem in checks if problem), None)


def _cfn_parameter_constraints(_: Hooks) -> Patches:
    from moto.cloudformation.exceptions import ValidationError  # noqa: PLC0415
    from moto.cloudformation.parsing import ResourceMap  # noqa: PLC0415

    original = ResourceMap.load_parameters

    def load_parameters(self: Any) -> None:
        declared = self._template.get("Parameters") or {}
        for name, value in (self.input_parameters or {}).items():
            if name in declared and isinstance(value, str):
                problem = parameter_problem(name, declared[name], value)
                if problem:
                    raise ValidationError(message=problem)
        original(self)

    yield mock.patch.object(ResourceMap, "load_parameters", load_parameters)


# =========================================================================== patches (GAPS)
# The PetClinic infrastructure stacks (infra/*.yaml), created by change sets as the provision
# workflow creates them. Active only under a host that simulates CloudFormation's providers
# (``Hooks.cloudformation_events()`` is not None): moto's own tests (InertHooks) see plain moto.


def _stack_of(account: str, region: str, stack_id: str) -> Any:
    from moto.cloudformation.models import cloudformation_backends  # noqa: PLC0415

    backend = cloudformation_backends[account][region]
    return backend.stacks.get(stack_id) or backend.deleted_stacks.get(stack_id)


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
        from petclinic_local.simulators.cloudformation import plain  # noqa: PLC0415

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
        from petclinic_local.simulators.cloudformation import plain  # noqa: PLC0415

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

    from petclinic_local.simulators.cloudformation import SIMULATED_TYPES  # noqa: PLC0415

    original = parsing.resource_class_from_type
    classes = {kind: _simulated_class(kind, handler) for kind, handler in SIMULATED_TYPES.items()}

    def resource_class_from_type(resource_type: str) -> Any:
        if hooks.cloudformation_events() is not None and resource_type in classes:
            return classes[resource_type]
        return original(resource_type)

    yield mock.patch.object(parsing, "resource_class_from_type", resource_class_from_type)


def _resource_event(
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
    stack = _stack_of(resources_map._account_id, resources_map._region_name, resources_map.stack_id)
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
            _resource_event(hooks, resources_map, logical_id, kind, status=f"{action}_IN_PROGRESS")
            _resource_event(
                hooks, resources_map, logical_id, kind, status=f"{action}_FAILED", reason=failed.reason
            )
            raise
        except Exception as exc:  # a provider error: the resource fails with the service's message
            reason = str(exc) or type(exc).__name__
            _resource_event(hooks, resources_map, logical_id, kind, status=f"{action}_IN_PROGRESS")
            _resource_event(hooks, resources_map, logical_id, kind, status=f"{action}_FAILED", reason=reason)
            raise ResourceFailed(logical_id, kind, reason) from exc
        physical = str(getattr(resource, "physical_resource_id", "") or "")
        _resource_event(hooks, resources_map, logical_id, kind, status=f"{action}_IN_PROGRESS")
        _resource_event(
            hooks, resources_map, logical_id, kind, status=f"{action}_COMPLETE", physical=physical
        )
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


def _refresh_outputs(backend: Any, stack: Any) -> None:
    """What moto's execute_change_set leaves out: the stack's outputs and exports, its parameters."""
    from moto.cloudformation.exceptions import ValidationError  # noqa: PLC0415

    stack._parse_template()
    stack.description = stack.template_dict.get("Description")
    stack.output_map = stack._create_output_map()
    for name in [n for n, e in backend.exports.items() if e.exporting_stack_id == stack.stack_id]:
        backend.exports.pop(name)
    for export in stack.exports:
        if export.name in backend.exports:
            raise ValidationError(
                stack.stack_id, message=f"Export {export.name} is exported by another stack"
            )
        backend.exports[export.name] = export


def _flushed(hooks: Hooks, operation: Callable[..., Any]) -> Callable[..., Any]:
    """The operation, then its stack events sent (after the call answered)."""

    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return operation(self, *args, **kwargs)
        finally:
            hooks_flush(hooks)

    return run


def _importing_change_sets(hooks: Hooks, original: Callable[..., Any]) -> Callable[..., Any]:
    """CreateChangeSet: a CREATE change set's stack imports the exports of the others, and a
    resource whose Condition is false is not in the changes (it will not be created)."""

    def create_change_set(self: Any, stack_name: str, change_set_name: str, *args: Any, **kwargs: Any) -> Any:
        result = original(self, stack_name, change_set_name, *args, **kwargs)
        if hooks.cloudformation_events() is not None:
            stack = self.stacks[result[1]]
            stack.cross_stack_resources = stack.resource_map.cross_stack_resources = self.exports
            change_set = self.change_sets[result[0]]
            _leave_out_false_conditions(self, stack, change_set)
        return result

    return _flushed(hooks, create_change_set)


def _leave_out_false_conditions(backend: Any, stack: Any, change_set: Any) -> None:
    from moto.cloudformation.parsing import ResourceMap  # noqa: PLC0415

    template = change_set.template_dict
    resources = template.get("Resources", {})
    if not any("Condition" in resource for resource in resources.values()):
        return
    resolved = ResourceMap(
        stack.stack_id,
        stack.name,
        dict(change_set.parameters),
        {},
        region_name=stack.region_name,
        account_id=stack.account_id,
        template=template,
        cross_stack_resources=backend.exports,
    )
    resolved.load_mapping()
    resolved.transform_mapping()
    resolved.load_parameters()
    resolved.load_conditions()
    false = {
        logical_id
        for logical_id, resource in resources.items()
        if "Condition" in resource and not resolved.lazy_condition_map[resource["Condition"]]
    }
    change_set.changes = [
        change
        for change in change_set.changes
        if not (change.action == "Add" and change.logical_resource_id in false)
    ]


def _executed_change_sets(hooks: Hooks, original: Callable[..., Any]) -> Callable[..., Any]:
    """ExecuteChangeSet: outputs, exports and parameters set; a failed resource rolls back."""

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        if hooks.cloudformation_events() is None:
            original(self, change_set_name, stack_name)
            return
        change_set = self.describe_change_set(change_set_name)
        stack = self.stacks[change_set.stack_id]
        previous = (stack.template, dict(stack.parameters), stack.status)
        try:
            original(self, change_set_name, stack_name)
        except ResourceFailed as failed:
            _roll_back(stack, change_set, failed, previous)
        else:
            stack.parameters = dict(change_set.parameters)
            stack.resource_map.input_parameters = dict(change_set.parameters)
            _refresh_outputs(self, stack)

    return _flushed(hooks, execute_change_set)


def _deleted_stacks(hooks: Hooks, original: Callable[..., Any]) -> Callable[..., Any]:
    """DeleteStack: a resource that cannot go leaves the stack DELETE_FAILED (kept), not an error."""

    def delete_stack(self: Any, name_or_stack_id: str) -> None:
        try:
            stack = self.get_stack(name_or_stack_id) if hooks.cloudformation_events() is not None else None
        except Exception:
            stack = None
        if stack is None:
            original(self, name_or_stack_id)
            return
        try:
            original(self, name_or_stack_id)
            # A deleted stack has no outputs; moto would make its resources again to show them.
            stack.template_dict = {**stack.template_dict, "Outputs": {}}
            stack.output_map = stack._create_output_map()
        except Exception as exc:
            self.stacks[stack.stack_id] = stack
            self.deleted_stacks.pop(stack.stack_id, None)
            stack.status = "DELETE_FAILED"
            stack._add_stack_event(
                "DELETE_FAILED", resource_status_reason=f"Resource failed to delete: {exc}"
            )

    return _flushed(hooks, delete_stack)


def _status_events(hooks: Hooks, original: Callable[..., Any]) -> Callable[..., Any]:
    """Every stack status also becomes a "CloudFormation Stack Status Change" event."""

    def add_stack_event(
        self: Any,
        resource_status: str,
        resource_status_reason: str | None = None,
        resource_properties: str | None = None,
    ) -> None:
        original(self, resource_status, resource_status_reason, resource_properties)
        events = hooks.cloudformation_events()
        if events is not None:
            details = {"status": resource_status, "status-reason": resource_status_reason or ""}
            events.record("CloudFormation Stack Status Change", self.stack_id, {"status-details": details})

    return add_stack_event


def _stack_operations(hooks: Hooks) -> Patches:
    """Change sets as the provision workflow uses them: CREATE change sets import other stacks'
    exports; executing one sets the stack's outputs, exports and parameters; a resource that
    fails leaves the stack rolled back (ROLLBACK_COMPLETE / UPDATE_ROLLBACK_COMPLETE) with the
    failure in its events, instead of an error of the ExecuteChangeSet call; every stack status
    becomes an EventBridge event (sent after the call answered)."""
    from moto.cloudformation.models import CloudFormationBackend, Stack  # noqa: PLC0415

    backend = CloudFormationBackend
    yield mock.patch.object(
        backend, "create_change_set", _importing_change_sets(hooks, backend.create_change_set)
    )
    yield mock.patch.object(
        backend, "execute_change_set", _executed_change_sets(hooks, backend.execute_change_set)
    )
    yield mock.patch.object(backend, "delete_stack", _deleted_stacks(hooks, backend.delete_stack))
    yield mock.patch.object(backend, "create_stack", _flushed(hooks, backend.create_stack))
    yield mock.patch.object(backend, "update_stack", _flushed(hooks, backend.update_stack))
    yield mock.patch.object(Stack, "_add_stack_event", _status_events(hooks, Stack._add_stack_event))


def hooks_flush(hooks: Hooks) -> None:
    events = hooks.cloudformation_events()
    if events is not None:
        events.flush(hooks.background)


def _roll_back(stack: Any, change_set: Any, failed: ResourceFailed, previous: tuple[Any, ...]) -> None:
    """CloudFormation's rollback after a failed resource, as far as the local cloud can: a failed
    CREATE deletes what it had made (ROLLBACK_COMPLETE); a failed UPDATE restores the previous
    template and parameters (UPDATE_ROLLBACK_COMPLETE; resources already updated stay so)."""
    template, parameters, _ = previous
    verb = "create" if change_set.change_set_type == "CREATE" else "update"
    cause = f"The following resource(s) failed to {verb}: [{failed.logical_id}]. "
    change_set.execution_status = "EXECUTE_FAILED"
    if change_set.change_set_type == "CREATE":
        stack._add_stack_event(
            "ROLLBACK_IN_PROGRESS", resource_status_reason=cause + "Rollback requested by user."
        )
        with contextlib.suppress(Exception):
            stack.resource_map.delete()
        stack._add_stack_event("ROLLBACK_COMPLETE")
        stack.status = "ROLLBACK_COMPLETE"
        stack.output_map = stack._create_output_map()
        return
    stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=cause)
    stack.template, stack.parameters = template, parameters
    stack._parse_template()
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
    stack.status = "UPDATE_ROLLBACK_COMPLETE"


class _FastYaml:
    """What moto's CloudFormation calls on the ``yaml`` module, with LibYAML's parser (the same
    constructors: moto's tag constructor for the short intrinsics) and parsed templates cached by
    their text (a deep copy each time: moto edits what it gets)."""

    def __init__(self) -> None:
        import yaml  # noqa: PLC0415

        class Loader(yaml.CLoader):  # type: ignore[misc]
            pass

        self.Loader = Loader
        self._cache: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        import yaml  # noqa: PLC0415

        return getattr(yaml, name)

    def add_multi_constructor(self, prefix: str, constructor: Any, Loader: Any = None) -> None:
        self.Loader.add_multi_constructor(prefix, constructor)

    def load(self, stream: Any, Loader: Any = None) -> Any:
        import yaml  # noqa: PLC0415

        if not isinstance(stream, str):
            return yaml.load(stream, Loader=self.Loader)  # noqa: S506 - moto's own choice (tags)
        if stream not in self._cache:
            self._cache[stream] = yaml.load(stream, Loader=self.Loader)  # noqa: S506 - as above
        return copy.deepcopy(self._cache[stream])


def _getazs_region(_: Hooks) -> Patches:
    from moto.cloudformation import parsing  # noqa: PLC0415

    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and set(resource_json) == {"Fn::GetAZs"}:
            region = resource_json["Fn::GetAZs"]
            if region in ("", None) or region == {"Ref": "AWS::Region"}:
                resource_json = {"Fn::GetAZs": resources_map._region_name}
        return original(resource_json, resources_map)

    yield mock.patch.object(parsing, "clean_json", clean_json)


def _template_parsing(hooks: Hooks) -> Patches:
    from moto.cloudformation import models, responses  # noqa: PLC0415
    from moto.cloudformation.utils import yaml_tag_constructor  # noqa: PLC0415

    fast = _FastYaml()
    fast.add_multi_constructor("", yaml_tag_constructor)
    yield mock.patch.object(models, "yaml", fast)
    yield mock.patch.object(responses, "yaml", fast)


def _drift_detection(hooks: Hooks) -> Patches:
    """DetectStackDrift, DescribeStackDriftDetectionStatus and DescribeStackResourceDrifts (moto
    has none of them): each resource's template properties against the live values, for the
    types ``simulators.cloudformation.DRIFT_READERS`` can read (others NOT_CHECKED)."""
    import uuid  # noqa: PLC0415

    from moto.cloudformation.parsing import clean_json  # noqa: PLC0415
    from moto.cloudformation.responses import CloudFormationResponse  # noqa: PLC0415
    from moto.core.responses import ActionResult  # noqa: PLC0415
    from moto.core.utils import utcnow  # noqa: PLC0415

    from petclinic_local.simulators.cloudformation import resource_drift  # noqa: PLC0415

    detections: dict[str, dict[str, Any]] = {}

    def detect_stack_drift(self: Any) -> Any:
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        drifts = []
        resource_map = stack.resource_map
        for logical_id, resource_json in resource_map._resource_json_map.items():
            model = resource_map._parsed_resources.get(logical_id)
            if model is None or not hasattr(model, "physical_resource_id"):
                continue
            expected = clean_json(copy.deepcopy(resource_json.get("Properties", {})), resource_map)
            kind = resource_json["Type"]
            status, differences = resource_drift(
                kind, str(model.physical_resource_id), expected, stack.region_name
            )
            drifts.append(
                {
                    "StackId": stack.stack_id,
                    "LogicalResourceId": logical_id,
                    "PhysicalResourceId": str(model.physical_resource_id),
                    "ResourceType": kind,
                    "StackResourceDriftStatus": status,
                    "PropertyDifferences": differences,
                    "Timestamp": utcnow(),
                }
            )
        detection = str(uuid.uuid4())
        drifted = sum(1 for d in drifts if d["StackResourceDriftStatus"] in {"MODIFIED", "DELETED"})
        detections[detection] = {"stack": stack.stack_id, "drifts": drifts, "drifted": drifted}
        stack.drifts = drifts
        return ActionResult({"StackDriftDetectionId": detection})

    def describe_stack_drift_detection_status(self: Any) -> Any:
        detection = detections[self._get_param("StackDriftDetectionId")]
        return ActionResult(
            {
                "StackId": detection["stack"],
                "StackDriftDetectionId": self._get_param("StackDriftDetectionId"),
                "StackDriftStatus": "DRIFTED" if detection["drifted"] else "IN_SYNC",
                "DetectionStatus": "DETECTION_COMPLETE",
                "DriftedStackResourceCount": detection["drifted"],
                "Timestamp": utcnow(),
            }
        )

    def describe_stack_resource_drifts(self: Any) -> Any:
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        wanted = set(self._get_param("StackResourceDriftStatusFilters", []) or [])
        drifts = [
            d for d in getattr(stack, "drifts", []) if not wanted or d["StackResourceDriftStatus"] in wanted
        ]
        return ActionResult({"StackResourceDrifts": drifts})

    for name, method in (
        ("detect_stack_drift", detect_stack_drift),
        ("describe_stack_drift_detection_status", describe_stack_drift_detection_status),
        ("describe_stack_resource_drifts", describe_stack_resource_drifts),
    ):
        yield mock.patch.object(CloudFormationResponse, name, method, create=True)


# =========================================================================== planned updates
# What an UPDATE change set lists and how executing it goes, from CloudFormation's own rules
# (simulators.cloudformation_changes): Modify per property with Details and Replacement from the
# resource schemas' createOnlyProperties, replacements applied as new physical resources, the
# stack policy enforced, UsePreviousValue as given. Active under a CloudFormation simulator only.


def _as_given(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _use_previous_value(hooks: Hooks) -> Patches:
    """UsePreviousValue: the value as the stack was given it (text), not moto's resolved one."""
    from moto.cloudformation.models import Stack  # noqa: PLC0415

    original = Stack.stack_parameters

    def stack_parameters(self: Any) -> dict[str, Any]:
        resolved = dict(original.fget(self))
        if hooks.cloudformation_events() is None:
            return resolved
        given = self.parameters or {}
        return {key: _as_given(given.get(key, value)) for key, value in resolved.items()}

    yield mock.patch.object(Stack, "stack_parameters", property(stack_parameters))


def _no_echo_parameters(hooks: Hooks) -> Patches:
    """DescribeStacks masks a NoEcho parameter's value (``****``), whether given or defaulted."""
    from moto.cloudformation.models import Stack  # noqa: PLC0415

    original = Stack.parameter_list

    def parameter_list(self: Any) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = original.fget(self)
        if hooks.cloudformation_events() is None:
            return listed
        template = getattr(self, "template_dict", None)  # none yet: a stack a change set creates
        specs = template.get("Parameters", {}) if isinstance(template, dict) else {}
        hidden = {name for name, spec in specs.items() if str(spec.get("NoEcho", "")).lower() == "true"}
        return [{**p, "ParameterValue": "****"} if p["ParameterKey"] in hidden else p for p in listed]

    yield mock.patch.object(Stack, "parameter_list", property(parameter_list))


def _plan_of(backend: Any, stack: Any, change_set: Any) -> Any:
    from petclinic_local.simulators.cloudformation_changes import plan_update, scope_of  # noqa: PLC0415

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


def _deny(hooks: Hooks, stack: Any, change_set: Any, denied: list[tuple[Any, str]]) -> None:
    """A change the stack policy does not allow: the update fails on it and rolls back (nothing
    was changed), as CloudFormation does."""
    stack._add_stack_event("UPDATE_IN_PROGRESS", resource_status_reason="User Initiated")
    for change, reason in denied:
        _resource_event(
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
    _roll_back(stack, change_set, failed, (stack.template, dict(stack.parameters), stack.status))


def _delete_replaced(hooks: Hooks, resource_map: Any, logical_id: str, resource: Any, policy: str) -> None:
    """The old physical resource of a replacement (or the new one of an undone replacement)."""
    from petclinic_local.simulators.cloudformation import Created  # noqa: PLC0415

    kind = str(getattr(resource, "cf_resource_type", "") or getattr(resource, "type", ""))
    physical = str(getattr(resource, "physical_resource_id", "") or "")
    _resource_event(hooks, resource_map, logical_id, kind, status="DELETE_IN_PROGRESS", physical=physical)
    try:
        if isinstance(getattr(resource, "created", None), Created):
            resource.handler.delete(resource.created, resource.props, resource.region, policy)
        else:
            resource_map._delete_resource(resource, {"Type": kind, "Properties": {}})
    except Exception as exc:  # CloudFormation leaves it and says so; the update stands
        _resource_event(
            hooks, resource_map, logical_id, kind, status="DELETE_FAILED", reason=str(exc), physical=physical
        )
        return
    _resource_event(hooks, resource_map, logical_id, kind, status="DELETE_COMPLETE", physical=physical)


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

    return _flushed(hooks, execute_change_set)


def _replace(hooks: Hooks, create: Callable[..., Any], plan: Any, args: tuple[Any, ...]) -> Any:
    """One resource replaced: a new physical resource (the old one goes after the update)."""
    from petclinic_local.simulators.cloudformation_changes import REPLACING  # noqa: PLC0415

    logical_id, resource_json, resources_map = args[:3]
    if logical_id in resources_map._local_failed:  # moto tries a failed update again: same answer
        raise resources_map._local_failed[logical_id]
    kind = resource_json["Type"]
    _resource_event(hooks, resources_map, logical_id, kind, status="UPDATE_IN_PROGRESS", reason=REPLACING)
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
        _resource_event(hooks, resources_map, logical_id, kind, status="UPDATE_FAILED", reason=failed.reason)
        resources_map._local_failed[logical_id] = failed
        raise failed from exc
    if new is None:
        return None
    resources_map._local_replaced.append((logical_id, resources_map._parsed_resources.get(logical_id), new))
    physical = str(getattr(new, "physical_resource_id", "") or "")
    _resource_event(hooks, resources_map, logical_id, kind, status="UPDATE_COMPLETE", physical=physical)
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


def _stack_policies(hooks: Hooks) -> Patches:
    """ExecuteChangeSet of a planned UPDATE: a change the stack's policy does not allow fails the
    update before anything changes (it rolls back), naming the resource and the policy's verdict."""
    from moto.cloudformation.models import CloudFormationBackend  # noqa: PLC0415

    from petclinic_local.simulators.cloudformation_changes import policy_denials  # noqa: PLC0415

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

    yield mock.patch.object(CloudFormationBackend, "execute_change_set", _flushed(hooks, execute_change_set))


GAPS = (
    Gap(
        "cfn-parameter-constraints",
        "CreateStack, UpdateStack and change sets accept any parameter value: AllowedPattern, "
        "AllowedValues, MinValue/MaxValue, MinLength/MaxLength are not checked (a Number that is not "
        "one fails with ValueError, HTTP 500), where CloudFormation refuses the call with "
        "ValidationError naming the parameter",
        "moto/cloudformation/parsing.py ResourceMap.load_parameters (only Type conversions)",
        ("cloudformation",),
        _cfn_parameter_constraints,
    ),
    Gap(
        "cfn-template-url-missing",
        "A TemplateURL naming an S3 object that does not exist fails with AttributeError (HTTP 500) "
        "where CloudFormation answers ValidationError 'TemplateURL must reference a valid S3 object "
        "to which you have access.'",
        "moto/cloudformation/utils.py get_stack_from_s3_url (key.value of a missing key)",
        ("cloudformation",),
        _cfn_template_url_missing,
    ),
    Gap(
        "cfn-list-parameters",
        "DescribeStacks returns a CommaDelimitedList parameter as Python's repr of its resolved list "
        "(\"['a', 'b']\") where CloudFormation returns the value as given (\"a,b\")",
        "moto/cloudformation/models.py Stack.parameter_list",
        ("cloudformation",),
        _cfn_list_parameters,
    ),
    Gap(
        "cfn-unmodelled-resources",
        "DescribeStackResource, DescribeStackResources and ListStackResources fail (AttributeError, "
        "HTTP 500) on a stack with a resource type moto does not model (CloudWatch alarms): its entry "
        "in the stack's resources is None. Patched: such resources are left out of the answers",
        "moto/cloudformation/models.py Stack.stack_resources",
        ("cloudformation",),
        _cfn_unmodelled_resources,
    ),
    Gap(
        "cloudformation-getazs-region",
        "Fn::GetAZs \"\" (the stack's own region) gives us-east-1's zones whatever the region: subnets "
        "and Aurora instances land in zones of another region",
        "moto/cloudformation/parsing.py clean_json ('Fn::GetAZs' ... or DEFAULT_REGION)",
        ("cloudformation",),
        _getazs_region,
    ),
    Gap(
        "cloudformation-drift-detection",
        "no drift detection: DetectStackDrift, DescribeStackDriftDetectionStatus and "
        "DescribeStackResourceDrifts are not implemented",
        "moto/cloudformation/responses.py (no such actions)",
        ("cloudformation",),
        _drift_detection,
    ),
    Gap(
        "cloudformation-template-parsing",
        "every template is parsed by pure-Python PyYAML two to five times per change set or stack "
        "operation (about 0.3 s each for a PetClinic template): seconds per local cloud",
        "moto/cloudformation/models.py Stack._parse_template, ChangeSet._parse_template; "
        "responses.py get_template_summary_response_from_template (yaml.load with yaml.Loader)",
        ("cloudformation",),
        _template_parsing,
    ),
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
    Gap(
        "cloudformation-use-previous-value",
        "A change set parameter with UsePreviousValue takes the stack's resolved value, not the value as "
        "given: a Number 0.5 becomes 0 (int(0.5) when the change set runs), a CommaDelimitedList a "
        "Python list (list.split fails)",
        "moto/cloudformation/responses.py create_change_set (stack.stack_parameters[...]); "
        "models.py Stack.stack_parameters",
        ("cloudformation",),
        _use_previous_value,
    ),
    Gap(
        "cloudformation-no-echo-parameters",
        "DescribeStacks shows a NoEcho parameter's value in clear (it compares each value, not each "
        "key, with the NoEcho names)",
        "moto/cloudformation/models.py Stack.parameter_list (v not in no_echo_parameter_keys)",
        ("cloudformation",),
        _no_echo_parameters,
    ),
    Gap(
        "cloudformation-change-sets",
        "Executing a change set sets no outputs, registers no exports and keeps the old "
        "parameters; a CREATE change set cannot import exports and lists resources whose "
        "Condition is false as Add (they are not created); a failure has no rollback; no stack "
        "event reaches EventBridge",
        "moto/cloudformation/models.py CloudFormationBackend.execute_change_set ('TODO: handle "
        "execution errors and implement rollback')",
        ("cloudformation",),
        _stack_operations,
    ),
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


def prepare_lambda_aliases(template: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Gap: moto's CloudFormation skips AWS::Lambda::Alias (no model for the type): a Ref to an
    alias resolves to nothing, so a permission on an alias (API Gateway invoking `live`) fails
    to create. Rewrite every Ref to an alias as the alias ARN (function ARN + ":" + name), take
    the permissions on aliases out of the template, and return both (aliases first), for
    ``create_lambda_aliases`` to create once the stack exists."""
    prepared = copy.deepcopy(template)
    resources = prepared.get("Resources", {})
    aliases = {
        logical_id: resource["Properties"]
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::Lambda::Alias"
    }

    def arn_of(logical_id: str) -> dict[str, Any]:
        props = aliases[logical_id]
        function = props["FunctionName"]
        if isinstance(function, dict) and set(function) == {"Ref"}:
            function = {"Fn::GetAtt": [function["Ref"], "Arn"]}
        return {"Fn::Join": [":", [function, props["Name"]]]}

    def rewrite(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Ref"} and value["Ref"] in aliases:
                return arn_of(value["Ref"])
            return {key: rewrite(item) for key, item in value.items()}
        if isinstance(value, list):
            return [rewrite(item) for item in value]
        return value

    deferred: dict[str, dict[str, Any]] = {
        key: {"Type": "AWS::Lambda::Alias", **props} for key, props in aliases.items()
    }
    for logical_id, resource in list(resources.items()):
        if logical_id in aliases:
            continue
        name = resource.get("Properties", {}).get("FunctionName")
        if (
            resource.get("Type") == "AWS::Lambda::Permission"
            and isinstance(name, dict)
            and name.get("Ref") in aliases
        ):
            deferred[logical_id] = {
                "Type": "AWS::Lambda::Permission",
                **rewrite(resources.pop(logical_id)["Properties"]),
            }
            continue
        resources[logical_id] = rewrite(resource)
    prepared["Outputs"] = rewrite(prepared.get("Outputs", {}))
    return prepared, deferred


def create_lambda_aliases(
    aliases: dict[str, dict[str, Any]],
    resolve: Callable[[Any], Any],
    client: Any,
    version_of: Callable[[str], str],
) -> None:
    """The other half of ``prepare_lambda_aliases``' gap: create the template's aliases as CloudFormation
    would, after the functions and versions they name exist, then the permissions on them."""
    for logical_id, props in aliases.items():
        unresolved = {key: value for key, value in props.items() if key != "Type"}
        version = unresolved.get("FunctionVersion")
        if isinstance(version, dict) and version.get("Fn::GetAtt", [None, None])[1] == "Version":
            # moto's AWS::Lambda::Version answers no Fn::GetAtt: ask the model itself.
            unresolved["FunctionVersion"] = version_of(version["Fn::GetAtt"][0])
        resolved = resolve(unresolved)
        if props["Type"] == "AWS::Lambda::Permission":
            permission = {
                key: resolved[key]
                for key in ("FunctionName", "Action", "Principal", "SourceArn", "SourceAccount")
                if key in resolved
            }
            client.add_permission(StatementId=logical_id, **permission)
            continue
        arguments = {
            "FunctionName": resolved["FunctionName"],
            "Name": resolved["Name"],
            "FunctionVersion": str(resolved["FunctionVersion"]),
        }
        if resolved.get("Description"):
            arguments["Description"] = resolved["Description"]
        if resolved.get("RoutingConfig"):
            arguments["RoutingConfig"] = resolved["RoutingConfig"]
        client.create_alias(**arguments)


def drop_openapi_deployments(template: dict[str, Any]) -> dict[str, Any]:
    """Gap: moto's CloudFormation creates an AWS::ApiGateway::RestApi without the methods of its
    OpenAPI ``Body`` (SAM's DefinitionBody), so the API's AWS::ApiGateway::Deployment fails with
    "The REST API doesn't contain any methods" and the stack with it. Leave such deployments out,
    and what cannot exist without them (the stage, the usage plan on it, its keys: whatever refers
    to a resource left out, transitively): the local cloud serves the API itself
    (``petclinic-ops local api``), through the same handler."""
    prepared = copy.deepcopy(template)
    resources = prepared.get("Resources", {})
    with_body = {
        logical_id
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::ApiGateway::RestApi" and "Body" in resource.get("Properties", {})
    }
    dropped = {
        key
        for key, resource in resources.items()
        if resource.get("Type") == "AWS::ApiGateway::Deployment"
        and resource.get("Properties", {}).get("RestApiId", {}).get("Ref") in with_body
    }
    while True:
        dependants = {
            key
            for key, resource in resources.items()
            if key not in dropped and _refers_to(resource.get("Properties", {}), dropped)
        }
        if not dependants:
            break
        dropped |= dependants
    for logical_id in dropped:
        del resources[logical_id]
    for resource in resources.values():
        depends = resource.get("DependsOn")
        if isinstance(depends, list):
            resource["DependsOn"] = [d for d in depends if d not in dropped] or None
            if resource["DependsOn"] is None:
                del resource["DependsOn"]
        elif isinstance(depends, str) and depends in dropped:
            del resource["DependsOn"]
    return prepared


def _refers_to(value: Any, logical_ids: set[str]) -> bool:
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return value["Ref"] in logical_ids
        if set(value) == {"Fn::GetAtt"}:
            target = value["Fn::GetAtt"]
            name = target[0] if isinstance(target, list) else str(target).split(".")[0]
            return name in logical_ids
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            return any("${" + logical_id in value["Fn::Sub"] for logical_id in logical_ids)
        return any(_refers_to(item, logical_ids) for item in value.values())
    if isinstance(value, list):
        return any(_refers_to(item, logical_ids) for item in value)
    return False
