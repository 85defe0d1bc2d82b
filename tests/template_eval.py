"""The CloudFormation a template deploys as, with its intrinsic functions evaluated for given
parameter values, the way CloudFormation resolves them: what a resource's properties become in
an account (an IAM policy's statements, a stage's settings), so tests can check the values, not
the expressions.

``transformed(path)`` is template.yaml as SAM deploys it (tools/template_checks.py: the SAM
translator offline); ``evaluate(template, parameters)`` resolves Ref (parameters with their
defaults, pseudo parameters), Fn::Sub, Fn::Join, Fn::Split, Fn::Select, Fn::If and the conditions
(Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition), drops AWS::NoValue, and leaves what only a
deployment knows as a readable placeholder: a resource's Ref is ``<LogicalId>``, its GetAtt
``<LogicalId.Attribute>``, an import ``<import:Name>``. Resources whose Condition is false are
left out. Any other intrinsic raises, so a test never checks a value this cannot compute.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT, REGION, PARTITION = "123456789012", "us-west-2", "aws"
_NO_VALUE = object()


@cache
def _transformed(path: str) -> str:
    spec = importlib.util.spec_from_file_location("template_checks", ROOT / "tools" / "template_checks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("template_checks", module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return json.dumps(module.transformed_template(Path(path), region=REGION))


def transformed(path: Path = ROOT / "template.yaml") -> dict[str, Any]:
    """template.yaml as SAM deploys it (a fresh copy each time)."""
    loaded: dict[str, Any] = json.loads(_transformed(str(path)))
    return loaded


class Evaluator:
    def __init__(self, template: dict[str, Any], parameters: dict[str, str | list[str]]) -> None:
        self.template = template
        self.values: dict[str, Any] = {
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": PARTITION,
            "AWS::StackName": "stack",
            "AWS::URLSuffix": "amazonaws.com",
        }
        declared = template.get("Parameters", {})
        unknown = set(parameters) - set(declared)
        if unknown:
            raise KeyError(f"the template declares no parameters {sorted(unknown)}")
        for name, declaration in declared.items():
            value: Any = parameters.get(name, declaration.get("Default"))
            if value is None:
                raise KeyError(f"parameter {name} has no default: give it")
            if declaration.get("Type") == "CommaDelimitedList" and isinstance(value, str):
                value = value.split(",")
            elif not isinstance(value, list):
                value = str(value)
            self.values[name] = value
        self.conditions: dict[str, bool] = {}

    # conditions

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.value(self.template["Conditions"][name]))
        return self.conditions[name]

    # values

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [item for item in (self.value(item) for item in node) if item is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            [(key, argument)] = node.items()
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                return self.intrinsic(key, argument)
        resolved = {key: self.value(item) for key, item in node.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

    def intrinsic(self, key: str, argument: Any) -> Any:
        if key == "Ref":
            return self.ref(argument)
        if key == "Condition":
            return self.condition(argument)
        if key == "Fn::If":
            name, when_true, when_false = argument
            return self.value(when_true if self.condition(name) else when_false)
        if key == "Fn::Equals":
            left, right = (self.value(item) for item in argument)
            return left == right
        if key == "Fn::Not":
            return not self.value(argument[0])
        if key == "Fn::And":
            return all(self.value(item) for item in argument)
        if key == "Fn::Or":
            return any(self.value(item) for item in argument)
        if key == "Fn::Join":
            separator, items = argument
            return separator.join(str(item) for item in self.value(items))
        if key == "Fn::Split":
            separator, text = argument
            return str(self.value(text)).split(separator)
        if key == "Fn::Select":
            index, items = argument
            return self.value(items)[int(self.value(index))]
        if key == "Fn::Sub":
            return self.sub(argument)
        if key == "Fn::GetAtt":
            target = argument if isinstance(argument, list) else str(argument).split(".", 1)
            return f"<{target[0]}.{target[1]}>"
        if key == "Fn::ImportValue":
            return f"<import:{self.value(argument)}>"
        if key == "Fn::FindInMap":
            mapping, top, second = (self.value(item) for item in argument)
            return self.template["Mappings"][mapping][top][second]
        raise NotImplementedError(f"{key} is not evaluated here")

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.values:
            return self.values[name]
        if name in self.template.get("Resources", {}):
            return f"<{name}>"
        raise KeyError(f"Ref {name}: no such parameter or resource")

    def sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        local = {name: self.value(item) for name, item in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in local:
                return str(local[name])
            if "." in name and name.split(".", 1)[0] in self.template.get("Resources", {}):
                return f"<{name}>"
            resolved = self.ref(name)
            if isinstance(resolved, list):
                raise TypeError(f"Fn::Sub ${{{name}}} is a list")
            return str(resolved)

        return re.sub(r"\$\{([^}]+)\}", replace, text)


def evaluate(
    template: dict[str, Any], parameters: dict[str, str | list[str]] | None = None
) -> dict[str, Any]:
    """The template's resources (those whose Condition holds), each with its properties evaluated."""
    evaluator = Evaluator(template, parameters or {})
    resources: dict[str, Any] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        condition = resource.get("Condition")
        if condition and not evaluator.condition(condition):
            continue
        resources[logical_id] = {**resource, "Properties": evaluator.value(resource.get("Properties", {}))}
    return resources


def statements(role: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """An evaluated AWS::IAM::Role's inline policy statements by Sid (``policy#index`` for a
    statement without one, as SAM's policy templates write them)."""
    found: dict[str, dict[str, Any]] = {}
    for policy in role["Properties"].get("Policies", []):
        for index, statement in enumerate(as_list(policy["PolicyDocument"]["Statement"])):
            found[statement.get("Sid") or f"{policy['PolicyName']}#{index}"] = statement
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
