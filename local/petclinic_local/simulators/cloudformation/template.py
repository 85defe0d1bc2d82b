"""A template with its parameters as CloudFormation resolves it (``Scope``): conditions,
parameters (given, else their defaults; numbers compared by value, lists split), pseudo parameters
and the intrinsic functions; resources are referred to by tokens (``{{ref:Id}}``,
``{{att:Id.Attr}}``), the same before and after an update unless they are replaced."""

from __future__ import annotations

import contextlib
import copy
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

NO_VALUE = "{{AWS::NoValue}}"


SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")


@dataclass
class Scope:
    """A template with its parameters, as CloudFormation resolves it: resources are referred to
    by tokens ({{ref:Id}}, {{att:Id.Attr}}), the same before and after unless they are replaced."""

    template: dict[str, Any]
    parameters: dict[str, Any]
    pseudo: dict[str, Any]
    exports: Mapping[str, str]
    conditions: dict[str, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in self.template.get("Conditions", {}):
            self.condition(name)

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.resolve(self.template["Conditions"][name]))
        return self.conditions[name]

    def active(self) -> dict[str, dict[str, Any]]:
        """The resources whose Condition holds."""
        return {
            logical_id: resource
            for logical_id, resource in self.template.get("Resources", {}).items()
            if "Condition" not in resource or self.condition(resource["Condition"])
        }

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if len(value) == 1:
                [(key, argument)] = value.items()
                function = _FUNCTIONS.get(key)
                if function is not None:
                    return function(self, argument)
            resolved = {key: self.resolve(item) for key, item in value.items()}
            return {key: item for key, item in resolved.items() if item != NO_VALUE}
        if isinstance(value, list):
            return [item for item in (self.resolve(item) for item in value) if item != NO_VALUE]
        return as_text(value)

    def ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name in self.pseudo:
            return self.pseudo[name]
        return "{{ref:" + name + "}}"

    def sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
        values = {key: self.resolve(item) for key, item in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in values:
                return str(values[name])
            if "." in name and name.split(".", 1)[0] not in self.parameters:
                return "{{att:" + name + "}}"
            return str(_joined(self.ref(name)))

        return SUB_VARIABLE.sub(replace, text)


def as_text(value: Any) -> Any:
    """Scalars as CloudFormation compares them: text (true/false, numbers without a trailing .0)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    return value


def _joined(value: Any) -> Any:
    return ",".join(str(item) for item in value) if isinstance(value, list) else value


def _get_att(scope: Scope, argument: Any) -> str:
    target = argument if isinstance(argument, list) else str(argument).split(".", 1)
    return "{{att:" + f"{scope.resolve(target[0])}.{scope.resolve(target[1])}" + "}}"


def _select(scope: Scope, argument: Any) -> Any:
    index, items = scope.resolve(argument[0]), scope.resolve(argument[1])
    if isinstance(items, str) and "{{" in items:  # a list only known once made: its reference
        return "{{select:" + f"{index}:{items}" + "}}"
    return listed(items.split(",") if isinstance(items, str) else items)[int(index)]


def _find_in_map(scope: Scope, argument: Any) -> Any:
    name, first, second = (scope.resolve(item) for item in argument[:3])
    return scope.resolve(scope.template["Mappings"][name][first][second])


_FUNCTIONS: dict[str, Callable[[Scope, Any], Any]] = {
    "Ref": lambda scope, name: scope.ref(str(name)),
    "Fn::GetAtt": _get_att,
    "Fn::Sub": lambda scope, argument: scope.sub(argument),
    "Fn::Join": lambda scope, argument: str(scope.resolve(argument[0])).join(
        str(item) for item in listed(scope.resolve(argument[1]))
    ),
    "Fn::Split": lambda scope, argument: str(scope.resolve(argument[1])).split(
        str(scope.resolve(argument[0]))
    ),
    "Fn::Select": _select,
    "Fn::If": lambda scope, argument: scope.resolve(
        argument[1] if scope.condition(argument[0]) else argument[2]
    ),
    "Fn::ImportValue": lambda scope, name: scope.exports.get(
        str(scope.resolve(name)), "{{import:" + str(scope.resolve(name)) + "}}"
    ),
    "Fn::GetAZs": lambda scope, region: [f"{scope.pseudo['AWS::Region']}{zone}" for zone in "abcd"],
    "Fn::FindInMap": _find_in_map,
    "Fn::Base64": lambda scope, argument: scope.resolve(argument),
    "Fn::ToJsonString": lambda scope, argument: json.dumps(scope.resolve(argument), sort_keys=True),
    "Fn::Length": lambda scope, argument: str(len(listed(scope.resolve(argument)))),
    "Fn::Cidr": lambda scope, argument: "{{cidr:" + json.dumps(scope.resolve(argument)) + "}}",
    "Fn::Equals": lambda scope, argument: scope.resolve(argument[0]) == scope.resolve(argument[1]),
    "Fn::Not": lambda scope, argument: not scope.resolve(argument[0]),
    "Fn::And": lambda scope, argument: all(scope.resolve(item) for item in argument),
    "Fn::Or": lambda scope, argument: any(scope.resolve(item) for item in argument),
    "Condition": lambda scope, name: scope.condition(str(name)),
}


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def parameters_of(template: dict[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """The effective parameters: the given values (as text), the template's defaults for the rest;
    numbers compared by value, lists split."""
    values: dict[str, Any] = {}
    for name, spec in template.get("Parameters", {}).items():
        raw = given.get(name, spec.get("Default", ""))
        text = ",".join(str(item) for item in raw) if isinstance(raw, list) else str(as_text(raw))
        kind = str(spec.get("Type", "String"))
        if kind == "Number":
            with contextlib.suppress(ValueError):
                text = str(as_text(float(text)))
        values[name] = (
            [item.strip() for item in text.split(",")] if kind.startswith(("List", "Comma")) else text
        )
    return values


def pseudo_parameters(*, stack_name: str, stack_id: str, region: str, account: str) -> dict[str, Any]:
    return {
        "AWS::Region": region,
        "AWS::AccountId": account,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": stack_name,
        "AWS::StackId": stack_id,
        "AWS::NotificationARNs": [],
        "AWS::NoValue": NO_VALUE,
    }


def scope_of(
    template: dict[str, Any],
    given: Mapping[str, Any],
    *,
    stack_name: str,
    stack_id: str,
    region: str,
    account: str,
    exports: Mapping[str, str],
) -> Scope:
    return Scope(
        template=copy.deepcopy(template),
        parameters=parameters_of(template, given),
        pseudo=pseudo_parameters(stack_name=stack_name, stack_id=stack_id, region=region, account=account),
        exports=exports,
    )
