"""Stack parameters as CloudFormation takes and shows them: constraints and the template's Rules
checked before anything is created, a CommaDelimitedList shown as given, UsePreviousValue as
given, NoEcho values masked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from unittest import mock

from petclinic_local.moto_compat.gap import Gap, Hooks, Patches


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


_RULE_FUNCTIONS: dict[str, Callable[[list[Any]], Any]] = {
    "Fn::Equals": lambda arguments: _as_cfn_string(arguments[0]) == _as_cfn_string(arguments[1]),
    "Fn::Not": lambda arguments: not arguments[0],
    "Fn::And": all,
    "Fn::Or": any,
    "Fn::Contains": lambda arguments: (
        _as_cfn_string(arguments[1]) in {_as_cfn_string(item) for item in arguments[0]}
    ),
}


def _rule_value(expression: Any, values: dict[str, Any]) -> Any:
    """A rule-specific intrinsic function's value over the stack's parameter values (Ref,
    Fn::Equals, Fn::Not, Fn::And, Fn::Or, Fn::Contains: the ones infra/ uses)."""
    if not isinstance(expression, dict):
        return expression
    [(function, argument)] = expression.items()
    if function == "Ref":
        return _as_given(values[argument]) if argument in values else argument
    if function not in _RULE_FUNCTIONS:
        raise NotImplementedError(f"the local cloud does not evaluate {function} in a template's Rules")
    arguments = [_rule_value(item, values) for item in argument] if isinstance(argument, list) else []
    return _RULE_FUNCTIONS[function](arguments)


def rule_problem(template: dict[str, Any], values: dict[str, Any]) -> str | None:
    """The AssertDescription of the first assertion of the template's Rules that the parameter
    values fail (a rule applies when its RuleCondition holds, or it has none), or None."""
    for rule in (template.get("Rules") or {}).values():
        if "RuleCondition" in rule and not _rule_value(rule["RuleCondition"], values):
            continue
        for assertion in rule.get("Assertions", []):
            if not _rule_value(assertion["Assert"], values):
                return str(assertion.get("AssertDescription") or "Template error: a rule's assertion failed")
    return None


def _cfn_template_rules(_: Hooks) -> Patches:
    from moto.cloudformation.exceptions import ValidationError  # noqa: PLC0415
    from moto.cloudformation.parsing import ResourceMap  # noqa: PLC0415

    original = ResourceMap.load_parameters

    def load_parameters(self: Any) -> None:
        original(self)
        problem = rule_problem(self._template, self.resolved_parameters)
        if problem:
            raise ValidationError(message=problem)

    yield mock.patch.object(ResourceMap, "load_parameters", load_parameters)


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
        "cfn-template-rules",
        "CreateStack, UpdateStack and change sets ignore the template's Rules: a parameter "
        "combination an assertion refuses is created, where CloudFormation refuses the call with "
        "ValidationError (the assertion's AssertDescription)",
        "moto/cloudformation/parsing.py ResourceMap.load_parameters (no Rules section)",
        ("cloudformation",),
        _cfn_template_rules,
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
)
