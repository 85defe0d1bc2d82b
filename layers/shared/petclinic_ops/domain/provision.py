"""Provisioning one PetClinic stack through a change set (no boto3: the CloudFormation and the
live-state reads are ports, the adapters are in ``adapters.provision``).

The stacks, in dependency order: network, data, services, edge (``STACKS``), each
``petclinic-{env}-{stack}``. For one stack, ``prepare`` works out the parameters (each one's
current value on the stack unless the run names a new one; the values other workflows own read
from the live resources; the operator's over both; template defaults only for what the stack
does not have yet: ``provision_changes.assemble``), creates a change set and reads it back as a
plan: resources to add, modify (with replacement or not, the properties and what caused them)
and remove, each parameter change (before -> after), whether only parameters change, and the
protected changes (``provision_changes.protected_changes``): refused in prod unless forced
(``ProtectedChangeRefused``, the change set deleted), flagged in dev. A change set with nothing
to change is NO_CHANGE (deleted, not an error); with ``plan`` the change set is deleted again,
and a stack the change set had to create (REVIEW_IN_PROGRESS) with it, so a plan changes
nothing. A stack whose upstream stacks do not exist yet cannot be planned by CloudFormation (its
imports are missing): its plan is the template's resources, all to add (``UNPLANNABLE`` with
the reason). The plan also says which stack policy the stack must carry and whether the
workflow sets it, or overrides it for the run (``provision_changes.stack_policy``).

What re-provisioning keeps (``owned_parameters``): each service's image (the deploy workflow's
pinned digest), desired count and Application Auto Scaling bounds (the scale workflow's), and
Aurora's Serverless v2 capacity (the scale workflow's); every other parameter as the stack has
it (an operator's earlier ``--parameter``). The rotated secret is kept because the templates
never change a secret's value after creation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from petclinic_ops.domain import provision_changes as changes_of
from petclinic_ops.domain import template_location
from petclinic_ops.domain.provision_changes import ParameterChange, ProtectedChange
from petclinic_ops.domain.telemetry import Telemetry
from petclinic_ops.domain.template_location import TemplateStore
from petclinic_ops.errors import (
    ChangeSetFailed,
    InvalidProvisionRequest,
    ProtectedChangeRefused,
    StackBusy,
)
from petclinic_ops.models.common import environment_repository_prefix
from petclinic_ops.models.provision import PrepareStackInput

STACKS: tuple[str, ...] = ("network", "data", "services", "edge")
DEPENDS_ON: dict[str, tuple[str, ...]] = {
    "network": (),
    "data": ("network",),
    "services": ("network", "data"),
    "edge": ("services",),
}
# The services stack's parameters per service (infra/services.yaml): logical prefix -> service.
SERVICES: dict[str, str] = {
    "Customers": "customers-service",
    "Vets": "vets-service",
    "Visits": "visits-service",
    "AdminServer": "admin-server",
}
SCALABLE: tuple[str, ...] = ("Customers", "Vets", "Visits")
# Parameters wired from an upstream stack's output (stack -> parameter -> (stack, output)): passed
# as parameters rather than imported, so the output may change (an export in use may not).
FROM_UPSTREAM: dict[str, dict[str, tuple[str, str]]] = {"edge": {"OriginUrl": ("services", "OriginUrl")}}
# The edge's API revision (api_revision): a new deployment whenever the API's definition changes.
API_DEFINITION = "ApiDefinition"
API_SLOT = "ApiDeploymentSlot"
NO_CHANGES = "didn't contain changes"
NO_UPDATES = "No updates are to be performed"
STABLE = {
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "IMPORT_COMPLETE",
    "IMPORT_ROLLBACK_COMPLETE",
}

# The tags CloudFormation puts on every stack the provision function creates.
TAGS = {"project": "petclinic", "managed-by": "petclinic-ops"}

Action = Literal["NO_CHANGE", "EXECUTE", "PLANNED", "UNPLANNABLE", "DRIFT"]
# Properties other workflows own: drift there is their work, not drift (reported as "owned").
OWNED_PROPERTIES: dict[str, dict[str, str]] = {
    "AWS::ECS::Service": {"TaskDefinition": "deploy", "DesiredCount": "scale"},
    "AWS::ApplicationAutoScaling::ScalableTarget": {"MinCapacity": "scale", "MaxCapacity": "scale"},
    "AWS::RDS::DBCluster": {"ServerlessV2ScalingConfiguration": "scale"},
}


def stack_name(environment: str, stack: str) -> str:
    return f"petclinic-{environment}-{stack}"


def ordered(requested: list[str] | None, *, reverse: bool = False) -> list[str]:
    """The requested stacks (all when None) in dependency order (reversed for a teardown)."""
    chosen = requested if requested else list(STACKS)
    unknown = sorted(set(chosen) - set(STACKS))
    if unknown:
        raise InvalidProvisionRequest(f"unknown stacks {unknown}: the stacks are {', '.join(STACKS)}")
    result = [name for name in STACKS if name in chosen]
    return result[::-1] if reverse else result


@dataclass(frozen=True)
class Change:
    logical_id: str
    resource_type: str
    action: str  # Add | Modify | Remove
    replacement: str | None = None  # True | False | Conditional (Modify only; None when not told)
    properties: tuple[str, ...] = ()  # the properties a Modify changes
    recreating: tuple[str, ...] = ()  # those of them that replace the resource (Always/Conditionally)
    causes: tuple[str, ...] = ()  # "parameter X", "template", "resource Y", "resource Y.Attr"

    def to_output(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "logicalId": self.logical_id,
            "type": self.resource_type,
            "action": self.action,
        }
        if self.action == "Modify":
            out["replacement"] = self.replacement
            for key, value in (
                ("properties", self.properties),
                ("replacedBy", self.recreating),
                ("causes", self.causes),
            ):
                if value:
                    out[key] = list(value)
        return out

    @property
    def by_parameters_only(self) -> bool:
        return bool(self.causes) and all(cause.startswith("parameter ") for cause in self.causes)


@dataclass
class StackPlan:
    stack: str
    stack_name: str
    action: Action
    status: str
    changes: list[Change] = field(default_factory=list)
    parameters: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    change_set_id: str | None = None
    stack_id: str | None = None
    reason: str = ""
    drift: dict[str, Any] | None = None
    parameter_changes: list[ParameterChange] = field(default_factory=list)
    parameters_only: bool = False
    protected: list[ProtectedChange] = field(default_factory=list)
    secret_parameters: frozenset[str] = frozenset()
    stack_policy: str | None = None  # the policy the stack must carry (None: no policy)
    set_policy: bool = False  # the workflow sets stack_policy after this run (not in place yet)
    override_policy: str | None = None  # the temporary policy while this change set runs

    def to_output(self) -> dict[str, Any]:
        count = {a: sum(1 for c in self.changes if c.action == a) for a in ("Add", "Modify", "Remove")}
        return {
            "stack": self.stack,
            "stackName": self.stack_name,
            "action": self.action,
            "status": self.status,
            "added": count["Add"],
            "modified": count["Modify"],
            "removed": count["Remove"],
            "changes": [c.to_output() for c in self.changes],
            "parameterChanges": [p.to_output() for p in self.parameter_changes],
            "parametersOnly": self.parameters_only,
            "protected": [p.to_output() for p in self.protected],
            "parameters": changes_of.masked(self.parameters, self.secret_parameters),
            "outputs": self.outputs,
            "changeSetId": self.change_set_id,
            "stackId": self.stack_id,
            "reason": self.reason,
            "drift": self.drift,
            "stackPolicy": self.stack_policy,
            "setPolicy": self.set_policy,
            "overridePolicy": self.override_policy,
        }


class StackPort(Protocol):
    """CloudFormation, as the domain needs it."""

    def describe(self, name: str) -> dict[str, Any] | None:
        """DescribeStacks' stack (StackStatus, StackId, Parameters, Outputs), None if it does not exist."""
        ...

    def template_parameters(self, template_url: str) -> dict[str, str | None]:
        """The template's parameters and their defaults (GetTemplateSummary)."""
        ...

    def no_echo_parameters(self, template_url: str) -> frozenset[str]:
        """The template's NoEcho parameters (GetTemplateSummary): their values are never shown."""
        ...

    def stack_policy(self, name: str) -> str | None:
        """The stack's policy (GetStackPolicy), None if it has none."""
        ...

    def template_resources(self, template_url: str) -> list[tuple[str, str]]:
        """(logical id, type) of every resource in the template."""
        ...

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
        """(change set id, stack id); ``previous`` are passed as UsePreviousValue; ``tags`` join the
        stack's tags (CloudFormation gives them to every resource that takes tags). Raises
        ChangeSetFailed with CloudFormation's reason."""
        ...

    def wait_change_set(self, change_set_id: str) -> tuple[str, str, list[dict[str, Any]]]:
        """Until created: (status, status reason, changes as DescribeChangeSet lists them)."""
        ...

    def delete_change_set(self, change_set_id: str) -> None: ...

    def delete_review_stack(self, stack_id: str) -> None:
        """Delete a stack left in REVIEW_IN_PROGRESS by a CREATE change set (nothing was created)."""
        ...

    def detect_drift(self, name: str) -> tuple[str, list[dict[str, Any]]]:
        """DetectStackDrift, waited for: (the stack's drift status, the resource drifts that are
        MODIFIED or DELETED as DescribeStackResourceDrifts lists them)."""
        ...


class LiveState(Protocol):
    """The values other workflows own, read from the running resources."""

    def services(self, cluster: str, names: list[str]) -> dict[str, dict[str, Any]]:
        """Per service: {"image": the service container's image, "desiredCount": int,
        "minCapacity"/"maxCapacity": its scalable target's bounds when it has one}."""
        ...

    def aurora_capacity(self, cluster_identifier: str) -> tuple[float, float, int | None] | None:
        """(MinCapacity, MaxCapacity, SecondsUntilAutoPause or None) of the cluster's Serverless v2
        scaling, None if no cluster."""
        ...


@dataclass(frozen=True)
class PrepareRequest:
    environment: str
    stack: str
    template_url: str
    parameters: dict[str, str]
    plan: bool
    change_set_name: str
    rotation_function_arn: str = ""
    deployment_hook_function_arn: str = ""  # the services stack's LifecycleHookFunctionArn
    permissions_boundary_arn: str = ""  # the stacks' PermissionsBoundaryArn (docs/provisioning.md)
    force: bool = False


def owned_parameters(stack: str, environment: str, live: LiveState) -> dict[str, str]:
    """The current values of what other workflows own (see the module's docstring)."""
    if stack == "services":
        found = live.services(f"petclinic-{environment}", list(SERVICES.values()))
        values: dict[str, str] = {}
        for prefix, service in SERVICES.items():
            state = found.get(service)
            if not state:
                continue
            values[f"{prefix}Image"] = str(state["image"])
            values[f"{prefix}DesiredCount"] = str(state["desiredCount"])
            if prefix in SCALABLE and "minCapacity" in state:
                values[f"{prefix}MinTasks"] = str(state["minCapacity"])
                values[f"{prefix}MaxTasks"] = str(state["maxCapacity"])
        return values
    if stack == "data":
        capacity = live.aurora_capacity(f"petclinic-{environment}")
        if capacity is None:
            return {}
        owned = {"MinCapacity": _number(capacity[0]), "MaxCapacity": _number(capacity[1])}
        if capacity[2] is not None:
            owned["SecondsUntilAutoPause"] = str(capacity[2])
        return owned
    return {}


def initial_image(stack_id: str, environment: str, service: str, tag: str) -> str:
    """What the services template runs when a service's Image parameter is empty: the tag in the
    environment's repository (the data stack's)."""
    _, _, _, region, account, *_ = stack_id.split(":")
    repository = f"{environment_repository_prefix(environment)}{service}"
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{repository}:{tag}"


def _as_stack_states_them(
    owned: dict[str, str], current: dict[str, Any], defaults: dict[str, str | None], environment: str
) -> dict[str, str]:
    """An owned value that equals what the stack's current parameters already produce is passed
    in their form (an empty Image that means the initial tag stays empty), so a re-run with nothing
    changed is a change set with no changes."""
    given = {p["ParameterKey"]: p.get("ParameterValue", "") for p in current.get("Parameters", [])}
    tag = given.get("InitialImageTag") or defaults.get("InitialImageTag") or ""
    result = dict(owned)
    for prefix, service in SERVICES.items():
        key = f"{prefix}Image"
        if (
            key in result
            and given.get(key, "") == ""
            and result[key] == initial_image(current["StackId"], environment, service, tag)
        ):
            result[key] = ""
    return result


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def upstream_parameters(
    request: PrepareRequest, stacks: StackPort, defaults: Mapping[str, str | None]
) -> dict[str, str]:
    """The parameters wired from an upstream stack's outputs (``FROM_UPSTREAM``) that it has."""
    wired: dict[str, str] = {}
    for parameter, (stack, output) in FROM_UPSTREAM.get(request.stack, {}).items():
        if parameter not in defaults:
            continue
        upstream = stacks.describe(stack_name(request.environment, stack)) or {}
        outputs = {o["OutputKey"]: o["OutputValue"] for o in upstream.get("Outputs", [])}
        if output in outputs:
            wired[parameter] = outputs[output]
    return wired


def api_revision(
    template_url: str, effective: Mapping[str, str], current: Mapping[str, str] | None
) -> dict[str, str]:
    """The edge's ApiDefinition (SHA-256 of its template, known by the content hash in its URL,
    and of the other parameters' values) and ApiDeploymentSlot: switched when the definition
    differs from the stack's, so CloudFormation deploys the API anew (infra/edge.yaml)."""
    values = {k: v for k, v in effective.items() if k not in (API_DEFINITION, API_SLOT)}
    content = template_url.rsplit("/", 1)[-1] + json.dumps(values, sort_keys=True)
    definition = hashlib.sha256(content.encode()).hexdigest()
    slot = (current or {}).get(API_SLOT) or "A"
    if current is not None and current.get(API_DEFINITION, "") != definition:
        slot = "B" if slot == "A" else "A"
    return {API_DEFINITION: definition, API_SLOT: slot}


def _sources(
    request: PrepareRequest,
    defaults: Mapping[str, str | None],
    owned: dict[str, str],
    wired_from: Mapping[str, str],
) -> changes_of.Sources:
    unknown = sorted(set(request.parameters) - set(defaults))
    if unknown:
        raise InvalidProvisionRequest(
            f"stack {request.stack}: unknown parameters {unknown}; its template takes {sorted(defaults)}"
        )
    wired = {"EnvironmentName": request.environment, **wired_from}
    if "RotationFunctionArn" in defaults and request.rotation_function_arn:
        wired["RotationFunctionArn"] = request.rotation_function_arn
    if "LifecycleHookFunctionArn" in defaults and request.deployment_hook_function_arn:
        wired["LifecycleHookFunctionArn"] = request.deployment_hook_function_arn
    if "PermissionsBoundaryArn" in defaults and request.permissions_boundary_arn:
        wired["PermissionsBoundaryArn"] = request.permissions_boundary_arn
    owned = {name: value for name, value in owned.items() if name in defaults}
    return changes_of.Sources(operator=dict(request.parameters), wired=wired, owned=owned)


def _changes(listed: list[dict[str, Any]]) -> list[Change]:
    changes = []
    for item in listed:
        change = item.get("ResourceChange", {})
        properties, recreating, causes = _details(change.get("Details", []))
        changes.append(
            Change(
                logical_id=change["LogicalResourceId"],
                resource_type=change["ResourceType"],
                action=change["Action"],
                replacement=change.get("Replacement"),
                properties=properties,
                recreating=recreating,
                causes=causes,
            )
        )
    return sorted(changes, key=lambda c: ("Add Modify Remove".index(c.action), c.logical_id))


_CAUSES = {
    "ParameterReference": "parameter {}",
    "ResourceReference": "resource {}",
    "ResourceAttribute": "resource {}",
    "DirectModification": "template",
    "Automatic": "nested stack",
}


def _details(details: list[dict[str, Any]]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """DescribeChangeSet's Details of one change: (properties, those that recreate, causes)."""
    properties: dict[str, None] = {}
    recreating: dict[str, None] = {}
    causes: dict[str, None] = {}
    for detail in details:
        target = detail.get("Target", {})
        name = str(target.get("Name") or target.get("Attribute") or "")
        if name:
            properties[name] = None
            if target.get("RequiresRecreation") in {"Always", "Conditionally"}:
                recreating[name] = None
        source = str(detail.get("ChangeSource") or "")
        if source in _CAUSES:
            causes[_CAUSES[source].format(detail.get("CausingEntity") or "")] = None
    return tuple(properties), tuple(recreating), tuple(causes)


def _current_status(name: str, current: dict[str, Any] | None) -> str:
    """The stack's status, or StackBusy when no change set can be made on it now."""
    status = str(current["StackStatus"]) if current else "NONE"
    if status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
        raise StackBusy(f"stack {name} is {status}: wait for that operation to end, then provision again")
    if status in {"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED"}:
        raise StackBusy(
            f"stack {name} is {status} ({(current or {}).get('StackStatusReason') or 'no reason given'}): "
            "no change set can update it; see the runbook (delete a stack that never got created, "
            "continue the rollback of one that failed to roll back)"
        )
    return status


def _new_plan(
    request: PrepareRequest, stacks: StackPort, live: LiveState
) -> tuple[StackPlan, bool, list[str]]:
    """The plan before its change set: status, parameters, their changes, current outputs; whether
    the stack exists; and the parameters to pass as UsePreviousValue."""
    name = stack_name(request.environment, request.stack)
    current = stacks.describe(name)
    status = _current_status(name, current)
    exists = status not in {"NONE", "REVIEW_IN_PROGRESS"}
    defaults = stacks.template_parameters(request.template_url)
    secret = stacks.no_echo_parameters(request.template_url)
    owned = owned_parameters(request.stack, request.environment, live) if exists else {}
    if owned and current:
        owned = _as_stack_states_them(owned, current, defaults, request.environment)
    given = (
        {p["ParameterKey"]: p.get("ParameterValue", "") for p in (current or {}).get("Parameters", [])}
        if exists
        else None
    )
    wired = upstream_parameters(request, stacks, defaults)
    assembled, missing = changes_of.assemble(
        defaults, _sources(request, defaults, owned, wired), given, secret
    )
    if API_DEFINITION in defaults and API_SLOT in defaults:
        wired |= api_revision(request.template_url, assembled.effective, given)
        assembled, missing = changes_of.assemble(
            defaults, _sources(request, defaults, owned, wired), given, secret
        )
    if missing:
        raise InvalidProvisionRequest(
            f"stack {request.stack}: parameters {sorted(missing)} have no default: give them"
        )
    plan = StackPlan(request.stack, name, "EXECUTE", status, parameters=assembled.effective)
    plan.parameter_changes, plan.secret_parameters = assembled.changes, frozenset(secret)
    if current:
        plan.outputs = {o["OutputKey"]: o["OutputValue"] for o in current.get("Outputs", [])}
        plan.stack_id = current["StackId"]
    return plan, exists, assembled.previous


def prepare(request: PrepareRequest, *, stacks: StackPort, live: LiveState) -> StackPlan:
    """Plan one stack through a change set; leaves it ready to execute (EXECUTE) or changes nothing."""
    plan, exists, previous = _new_plan(request, stacks, live)
    explicit = {k: v for k, v in plan.parameters.items() if k not in previous}
    try:
        change_set_id, stack_id = stacks.create_change_set(
            name=plan.stack_name,
            template_url=request.template_url,
            parameters=explicit,
            create=not exists,
            change_set=request.change_set_name,
            previous=previous,
            tags={"environment": request.environment},
        )
    except ChangeSetFailed as failed:
        if not exists and "export" in str(failed).lower():
            return _unplannable(plan, request, stacks, str(failed))
        raise
    plan.change_set_id, plan.stack_id = change_set_id, stack_id
    state, reason, listed = stacks.wait_change_set(change_set_id)
    if state == "FAILED" and (NO_CHANGES in reason or NO_UPDATES in reason):
        stacks.delete_change_set(change_set_id)
        plan.action, plan.change_set_id, plan.reason = "NO_CHANGE", None, _no_change_reason(plan, reason)
        _policy(plan, request, stacks, exists=exists)
        return plan
    if state == "FAILED":
        _discard(stacks, change_set_id, stack_id, created=not exists)
        if not exists and "export" in reason.lower():
            return _unplannable(plan, request, stacks, reason)
        raise ChangeSetFailed(f"stack {plan.stack_name}: the change set failed: {reason}")
    plan.changes = _changes(listed)
    _judge(plan, request, stacks, created=not exists)
    _policy(plan, request, stacks, exists=exists)
    if request.plan:
        _discard(stacks, change_set_id, stack_id, created=not exists)
        plan.action, plan.change_set_id = "PLANNED", None
    return plan


def _no_change_reason(plan: StackPlan, reason: str) -> str:
    if not plan.parameter_changes:
        return reason
    names = ", ".join(change.name for change in plan.parameter_changes)
    return (
        f"{reason} The parameter changes ({names}) change no resource: CloudFormation keeps the "
        "stack's previous values"
    )


def _judge(plan: StackPlan, request: PrepareRequest, stacks: StackPort, *, created: bool) -> None:
    """Parameters only? Protected changes: refused in prod unless forced (nothing changed), else flagged."""
    other = [c for c in plan.changes if c.action != "Modify" or not c.by_parameters_only]
    if plan.parameter_changes and not other:
        plan.parameters_only = True
        plan.reason = "only parameters change: " + "; ".join(c.text() for c in plan.parameter_changes)
    plan.protected = changes_of.protected_changes(
        ((c.logical_id, c.resource_type, c.action, c.replacement) for c in plan.changes),
        plan.parameter_changes,
        request.environment,
    )
    if not plan.protected:
        return
    listed = "; ".join(change.text() for change in plan.protected)
    if request.environment == "prod" and not request.force and not request.plan:
        _discard(stacks, str(plan.change_set_id), str(plan.stack_id), created=created)
        raise ProtectedChangeRefused(
            f"stack {plan.stack_name}: refusing to {listed}: nothing was changed (the change set is "
            'deleted); provision again with force (--force, "force": true) if you mean it'
        )
    if request.environment == "prod" and not request.force:
        verdict = "would be refused in prod without force"
    else:
        verdict = "forced" if request.force else "flagged (dev: allowed)"
    plan.reason = "; ".join(filter(None, [plan.reason, f"protected changes {verdict}: {listed}"]))


def _policy(plan: StackPlan, request: PrepareRequest, stacks: StackPort, *, exists: bool) -> None:
    """The stack policy the stack must carry, whether the workflow sets it after this run, and the
    temporary one while a change set that may replace or delete protected resources runs."""
    plan.stack_policy = changes_of.stack_policy(request.stack)
    if plan.stack_policy is None or request.plan:
        return
    current = stacks.stack_policy(plan.stack_name) if exists else None
    plan.set_policy = not changes_of.same_policy(current, plan.stack_policy)
    if current and plan.action == "EXECUTE":
        plan.override_policy = changes_of.override_policy(request.stack, plan.protected)


def _discard(stacks: StackPort, change_set_id: str, stack_id: str, *, created: bool) -> None:
    stacks.delete_change_set(change_set_id)
    if created:
        stacks.delete_review_stack(stack_id)


def _unplannable(plan: StackPlan, request: PrepareRequest, stacks: StackPort, reason: str) -> StackPlan:
    if not request.plan:
        raise ChangeSetFailed(f"stack {plan.stack_name}: {reason}")
    plan.action = "UNPLANNABLE"
    plan.reason = (
        f"{reason}: stacks it imports from ({', '.join(DEPENDS_ON[request.stack])}) are not provisioned "
        "yet; every resource of the template will be added"
    )
    plan.changes = [
        Change(logical, kind, "Add") for logical, kind in stacks.template_resources(request.template_url)
    ]
    plan.change_set_id = None
    return plan


def check_drift(environment: str, stack: str, *, stacks: StackPort) -> StackPlan:
    """Which resources of the stack differ from its template. Differences in what the deploy and
    scale workflows own (``OWNED_PROPERTIES``) are listed as owned, not as drift."""
    name = stack_name(environment, stack)
    current = stacks.describe(name)
    if current is None:
        plan = StackPlan(stack, name, "DRIFT", "NONE", reason="not provisioned: nothing to check")
        plan.drift = {"status": "NOT_CHECKED", "drifted": [], "owned": []}
        return plan
    status, listed = stacks.detect_drift(name)
    drifted, owned = [], []
    for resource in listed:
        differences = resource.get("PropertyDifferences", [])
        owners = OWNED_PROPERTIES.get(resource["ResourceType"], {})
        own = [d for d in differences if _top(d["PropertyPath"]) in owners]
        other = [d for d in differences if _top(d["PropertyPath"]) not in owners]
        entry = {
            "logicalId": resource["LogicalResourceId"],
            "type": resource["ResourceType"],
            "status": resource["StackResourceDriftStatus"],
        }
        if own:
            owned.append(
                {
                    **entry,
                    "properties": [
                        _difference(d) | {"ownedBy": owners[_top(d["PropertyPath"])]} for d in own
                    ],
                }
            )
        if other or resource["StackResourceDriftStatus"] == "DELETED":
            drifted.append({**entry, "properties": [_difference(d) for d in other]})
    plan = StackPlan(stack, name, "DRIFT", current["StackStatus"], stack_id=current["StackId"])
    plan.drift = {
        "status": "DRIFTED" if drifted else ("IN_SYNC" if status != "UNKNOWN" else status),
        "drifted": drifted,
        "owned": owned,
    }
    return plan


def _top(path: str) -> str:
    return path.strip("/").split("/")[0]


def _difference(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "path": item["PropertyPath"],
        "expected": item.get("ExpectedValue"),
        "actual": item.get("ActualValue"),
        "kind": item.get("DifferenceType"),
    }


# --------------------------------------------------------------------------- the function's call


@dataclass(frozen=True)
class ProvisionConfig:
    """The provision function's settings as the domain reads them (settings.ProvisionSettings)."""

    artifact_bucket: str
    region: str
    rotation_function_arn: str = ""
    deployment_hook_function_arn: str = ""
    permissions_boundary_arn: str = ""


def handle(
    event: PrepareStackInput,
    config: ProvisionConfig,
    *,
    stacks: StackPort,
    live: LiveState,
    templates: TemplateStore,
    telemetry: Telemetry,
) -> dict[str, Any]:
    """The provision function's call for one stack: its drift, or its plan through a change set
    (the run's templates and this stack's checked first), each with a log line summing it up."""
    telemetry.info("preparing stack", stack=event.stack, environment=event.environment, action=event.action)
    if event.action == "drift":
        checked = check_drift(event.environment, event.stack, stacks=stacks).to_output()
        telemetry.info("drift checked", stackName=checked["stackName"], drift=checked["drift"]["status"])
        return checked
    # Only the control plane's own templates, each hashed, before any change set (the run's
    # templates with its first stack, this stack's own every time).
    template_location.verify_templates(
        {**event.templates, event.stack: event.template_url},
        bucket=config.artifact_bucket,
        region=config.region,
        store=templates,
    )
    request = PrepareRequest(
        environment=event.environment,
        stack=event.stack,
        template_url=event.template_url,
        parameters=event.parameters,
        plan=event.plan,
        change_set_name=event.change_set_name,
        rotation_function_arn=config.rotation_function_arn,
        deployment_hook_function_arn=config.deployment_hook_function_arn,
        permissions_boundary_arn=config.permissions_boundary_arn,
        force=event.force,
    )
    output = prepare(request, stacks=stacks, live=live).to_output()
    telemetry.info(
        "stack prepared",
        **{k: output[k] for k in ("stackName", "action", "status", "added", "modified", "removed")},
        parametersChanged=[p["name"] for p in output["parameterChanges"]],
        parametersOnly=output["parametersOnly"],
        protected=[p["logicalId"] for p in output["protected"]],
    )
    return output
