"""CloudFormation's planning of an update (the change-set engine), as the local cloud reproduces
it: what a change set lists (``plan_update``) and how executing it goes.

A change set compares each resource's properties as the stack has them (its template and
parameters) with what the new template and parameters make of them, every intrinsic function
resolved. A difference is a Modify, with CloudFormation's Details: the property (``Target``),
where it comes from (``DirectModification`` when the template text of the property changed,
``ParameterReference`` with the parameter, ``ResourceReference`` / ``ResourceAttribute`` with
the resource whose new physical resource it refers to) and whether it recreates the resource
(``RequiresRecreation``): a property the type's resource provider schema lists in
``createOnlyProperties`` (the schemas cfn-lint ships, as CloudFormation publishes them) cannot be
updated in place. A Modify with such a property is ``Replacement: True`` (``Conditional`` when
only a reference to a replaced resource changes it), and is applied as a replacement: a new
physical resource, then the old one deleted (``UpdateReplacePolicy``). A replacement that keeps
a custom name (the schema's primary identifier given in the template, unchanged) fails, as on
CloudFormation. An update with no resource change and no output change "didn't contain changes".

Stand-in, not the real thing: values CloudFormation only knows after a resource is created (a
GetAtt of a resource modified in place) are compared as references, not values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from petclinic_local.simulators.cloudformation.schemas import create_only, custom_name
from petclinic_local.simulators.cloudformation.template import SUB_VARIABLE, Scope

_TOKEN = re.compile(r"\{\{(ref|att):([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}\}")


REPLACING = "Requested update requires the creation of a new physical resource; hence creating one."


@dataclass
class PlannedChange:
    action: str  # Add | Modify | Remove
    logical_id: str
    resource_type: str
    physical_id: str | None = None
    replacement: str | None = None  # True | Conditional | False (Modify only)
    details: list[dict[str, Any]] = field(default_factory=list)

    @property
    def scope(self) -> list[str]:
        return sorted({str(d["Target"]["Attribute"]) for d in self.details})

    @property
    def replaces(self) -> bool:
        return self.action == "Modify" and self.replacement in {"True", "Conditional"}


@dataclass
class Plan:
    changes: list[PlannedChange]
    outputs_changed: bool
    modify_order: list[str]  # every Modify, dependencies first
    conflicts: dict[str, str]  # logical id -> the custom name that blocks its replacement
    replace_policies: dict[str, str]  # logical id -> UpdateReplacePolicy of the resource replaced

    @property
    def replacing(self) -> set[str]:
        return {change.logical_id for change in self.changes if change.replaces}

    def names(self, action: str) -> list[str]:
        if action == "Modify":
            return list(self.modify_order)
        return [change.logical_id for change in self.changes if change.action == action]

    @property
    def empty(self) -> bool:
        return not self.changes and not self.outputs_changed


def _references(value: Any, conditions: Mapping[str, Any] | None = None) -> set[str]:
    """The names a piece of template refers to (Ref, Fn::GetAtt, Fn::Sub variables, and what the
    conditions of its Fn::If refer to)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= _references(item, conditions)
        return found
    if not isinstance(value, dict):
        return found
    for key, item in value.items():
        if key == "Ref" and isinstance(item, str):
            found.add(item)
        elif key == "Fn::GetAtt":
            found.add(item[0] if isinstance(item, list) else str(item).split(".", 1)[0])
        elif key == "Fn::Sub":
            text = item if isinstance(item, str) else item[0]
            found |= {
                name.split(".", 1)[0] for name in SUB_VARIABLE.findall(text) if not name.startswith("!")
            }
            found |= _references([] if isinstance(item, str) else item[1:], conditions)
        elif key in {"Fn::If", "Condition"} and conditions is not None:
            name = item[0] if key == "Fn::If" else item
            found |= _references(conditions.get(name), conditions) | _references(item, conditions)
        else:
            found |= _references(item, conditions)
    return found


def _differs_under(old: Any, new: Any, path: tuple[str, ...]) -> bool:
    for key in path:
        old = old.get(key) if isinstance(old, dict) else None
        new = new.get(key) if isinstance(new, dict) else None
    return bool(old != new)


def _recreates(kind: str, region: str, name: str, old: Any, new: Any) -> bool:
    """Whether a change of top-level property ``name`` (old -> new values) replaces the resource."""
    for path in create_only(kind, region):
        if path[0] != name:
            continue
        if len(path) == 1 or _differs_under(old, new, path[1:]):
            return True
    return False


def _detail(name: str, recreation: str, evaluation: str, source: str, entity: str | None) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "Target": {
            "Attribute": "Tags" if name == "Tags" else "Properties",
            "Name": name,
            "RequiresRecreation": recreation,
        },
        "Evaluation": evaluation,
        "ChangeSource": source,
    }
    if entity:
        detail["CausingEntity"] = entity
    return detail


@dataclass
class _Sides:
    old: Scope
    new: Scope
    region: str
    old_active: dict[str, dict[str, Any]] = field(default_factory=dict)
    new_active: dict[str, dict[str, Any]] = field(default_factory=dict)
    old_props: dict[str, dict[str, Any]] = field(default_factory=dict)
    new_props: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.old_active, self.new_active = self.old.active(), self.new.active()
        for logical_id in set(self.old_active) & set(self.new_active):
            self.old_props[logical_id] = self.old.resolve(self.old_active[logical_id].get("Properties", {}))
            self.new_props[logical_id] = self.new.resolve(self.new_active[logical_id].get("Properties", {}))

    def changed_parameters(self) -> set[str]:
        return {
            name
            for name in set(self.old.parameters) | set(self.new.parameters)
            if self.old.parameters.get(name) != self.new.parameters.get(name)
        }


def _static_details(sides: _Sides, logical_id: str, changed: set[str]) -> list[dict[str, Any]]:
    """The properties a change of template or parameters changes (Static evaluation)."""
    kind = sides.new_active[logical_id]["Type"]
    old, new = sides.old_props[logical_id], sides.new_props[logical_id]
    raw_old = sides.old_active[logical_id].get("Properties", {})
    raw_new = sides.new_active[logical_id].get("Properties", {})
    details = []
    for name in sorted(set(old) | set(new)):
        if old.get(name) == new.get(name):
            continue
        recreation = (
            "Always" if _recreates(kind, sides.region, name, old.get(name), new.get(name)) else "Never"
        )
        if raw_old.get(name) != raw_new.get(name):
            details.append(_detail(name, recreation, "Static", "DirectModification", None))
            continue
        conditions = sides.new.template.get("Conditions", {})
        causes = sorted(_references(raw_new.get(name), conditions) & changed)
        if not causes:  # an export or a pseudo parameter changed: the template's own doing
            details.append(_detail(name, recreation, "Static", "DirectModification", None))
        details += [_detail(name, recreation, "Static", "ParameterReference", cause) for cause in causes]
    return details


def _dynamic_details(
    sides: _Sides, logical_id: str, replaced: set[str], done: set[str]
) -> list[dict[str, Any]]:
    """The properties that refer to a replaced resource (Dynamic: its new physical resource)."""
    kind = sides.new_active[logical_id]["Type"]
    details = []
    for name, value in sorted(sides.new_props[logical_id].items()):
        if name in done:
            continue
        hits = sorted(
            match.group(0) for match in _TOKEN.finditer(json.dumps(value)) if match.group(2) in replaced
        )
        if not hits:
            continue
        how, entity = hits[0].strip("{}").split(":", 1)
        recreation = "Always" if _recreates(kind, sides.region, name, None, value) else "Never"
        source = "ResourceReference" if how == "ref" else "ResourceAttribute"
        details.append(_detail(name, recreation, "Dynamic", source, entity))
    return details


def _replacement(details: list[dict[str, Any]]) -> str:
    recreating = [d for d in details if d["Target"]["RequiresRecreation"] == "Always"]
    if any(d["Evaluation"] == "Static" for d in recreating):
        return "True"
    return "Conditional" if recreating else "False"


def _modifications(sides: _Sides) -> dict[str, list[dict[str, Any]]]:
    """Per resource kept: its Details, static ones first, then what refers to replaced resources
    (until no new replacement appears)."""
    changed = sides.changed_parameters()
    details = {
        logical_id: _static_details(sides, logical_id, changed)
        if sides.old_active[logical_id]["Type"] == sides.new_active[logical_id]["Type"]
        else [_detail("Type", "Always", "Static", "DirectModification", None)]
        for logical_id in sides.new_props
    }
    while True:
        replaced = {logical_id for logical_id, found in details.items() if _replacement(found) != "False"}
        grew = False
        for logical_id, found in details.items():
            done = {str(d["Target"]["Name"]) for d in found}
            more = _dynamic_details(sides, logical_id, replaced, done)
            if more:
                details[logical_id] = found + more
                grew = True
        if not grew:
            return {logical_id: found for logical_id, found in details.items() if found}


def _order(resources: dict[str, dict[str, Any]], chosen: Iterable[str]) -> list[str]:
    """The chosen resources, each after the chosen resources it refers to (or depends on)."""
    chosen = list(chosen)
    pending = set(chosen)
    ordered: list[str] = []
    while pending:
        ready = [
            logical_id
            for logical_id in chosen
            if logical_id in pending and not (_needs(resources[logical_id]) & (pending - {logical_id}))
        ]
        if not ready:  # a cycle (CloudFormation refuses those): keep the template order
            ready = [logical_id for logical_id in chosen if logical_id in pending]
        ordered += ready
        pending -= set(ready)
    return ordered


def _needs(resource: dict[str, Any]) -> set[str]:
    depends = resource.get("DependsOn", [])
    return _references(resource.get("Properties", {})) | set(
        [depends] if isinstance(depends, str) else depends
    )


def _conflicts(sides: _Sides, replacing: Iterable[str]) -> dict[str, str]:
    conflicts = {}
    for logical_id in replacing:
        kind = sides.new_active[logical_id]["Type"]
        names = custom_name(kind, sides.region)
        old, new = sides.old_props[logical_id], sides.new_props[logical_id]
        if names and all(name in new and new[name] == old.get(name) for name in names):
            conflicts[logical_id] = ", ".join(str(new[name]) for name in names)
    return conflicts


def plan_update(old: Scope, new: Scope, region: str, physical: Mapping[str, str]) -> Plan:
    """What an UPDATE change set from ``old`` to ``new`` lists, and how executing it goes."""
    sides = _Sides(old, new, region)
    modified = _modifications(sides)
    changes = [
        PlannedChange("Add", logical_id, resource["Type"])
        for logical_id, resource in sides.new_active.items()
        if logical_id not in sides.old_active
    ]
    changes += [
        PlannedChange(
            "Modify",
            logical_id,
            sides.new_active[logical_id]["Type"],
            physical.get(logical_id),
            _replacement(details),
            details,
        )
        for logical_id, details in modified.items()
    ]
    changes += [
        PlannedChange("Remove", logical_id, resource["Type"], physical.get(logical_id))
        for logical_id, resource in sides.old_active.items()
        if logical_id not in sides.new_active
    ]
    replacing = [change.logical_id for change in changes if change.replaces]
    return Plan(
        changes=changes,
        outputs_changed=_outputs(old) != _outputs(new) or _mentions(_outputs(new), set(replacing)),
        modify_order=_order(sides.new_active, modified),
        conflicts=_conflicts(sides, replacing),
        replace_policies={
            logical_id: str(sides.old_active[logical_id].get("UpdateReplacePolicy", "Delete"))
            for logical_id in replacing
        },
    )


def _outputs(scope: Scope) -> Any:
    outputs = {}
    for name, output in scope.template.get("Outputs", {}).items():
        if "Condition" in output and not scope.condition(output["Condition"]):
            continue
        outputs[name] = scope.resolve({key: output[key] for key in ("Value", "Export") if key in output})
    return outputs


def _mentions(value: Any, logical_ids: set[str]) -> bool:
    return any(match.group(2) in logical_ids for match in _TOKEN.finditer(json.dumps(value)))
