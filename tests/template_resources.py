"""template.yaml's workflows and functions, read once: tests find them here rather than in lists
of their own, so a new workflow or function is covered where the template declares it.

``state_machines()``: every ``AWS::Serverless::StateMachine`` (logical id, the name after
``petclinic-ops-{env}-``, Standard or Express, its ASL file and substitutions: several may share
one file, as the task-token relays do); ``functions()``: every
``AWS::Serverless::Function`` (logical id, name, CodeUri folder). Both in template order.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
NAME_PREFIX = "petclinic-ops-${EnvironmentName}-"


@dataclass(frozen=True)
class StateMachine:
    logical_id: str
    name: str  # deploy, deployment-events...: the state machine is petclinic-ops-{env}-<name>
    express: bool
    asl: Path
    substitutions: tuple[tuple[str, Any], ...] = ()  # DefinitionSubstitutions, as in the template

    def definition(self) -> dict[str, Any]:
        import json  # noqa: PLC0415

        loaded: dict[str, Any] = json.loads(self.asl.read_text(encoding="utf-8"))
        return loaded

    def substituted(self, **values: str) -> dict[str, Any]:
        """The definition as this state machine gets it: each ``${Name}`` of its
        DefinitionSubstitutions replaced by the template's literal value, or by ``values[Name]``
        (required for the ones the template gives as an intrinsic, such as a table's !Ref)."""
        import json  # noqa: PLC0415

        text = self.asl.read_text(encoding="utf-8")
        for name, literal in self.substitutions:
            value = values.get(name, literal)
            if not isinstance(value, str):
                raise AssertionError(
                    f"{self.logical_id}: give the value of {name} (the template has {value!r})"
                )
            text = text.replace("${" + name + "}", json.dumps(value)[1:-1])
        loaded: dict[str, Any] = json.loads(text)
        return loaded


@dataclass(frozen=True)
class Function:
    logical_id: str
    name: str  # resolve-deploy...: the function is petclinic-ops-{env}-<name>
    code: Path


@cache
def _resources() -> dict[str, Any]:
    from petclinic_local.stack.template import load_template  # noqa: PLC0415

    resources: dict[str, Any] = load_template(TEMPLATE)["Resources"]
    return resources


def _name(logical_id: str, props: dict[str, Any], key: str) -> str:
    name = props[key]
    text = name.get("Fn::Sub") if isinstance(name, dict) else name
    if not isinstance(text, str) or not text.startswith(NAME_PREFIX):
        raise AssertionError(f"{logical_id}: {key} is not !Sub {NAME_PREFIX}<name>: {name!r}")
    return text.removeprefix(NAME_PREFIX)


@cache
def state_machines() -> tuple[StateMachine, ...]:
    return tuple(
        StateMachine(
            logical_id,
            _name(logical_id, resource["Properties"], "Name"),
            resource["Properties"].get("Type", "STANDARD") == "EXPRESS",
            ROOT / resource["Properties"]["DefinitionUri"],
            tuple(resource["Properties"].get("DefinitionSubstitutions", {}).items()),
        )
        for logical_id, resource in _resources().items()
        if resource["Type"] == "AWS::Serverless::StateMachine"
    )


@cache
def functions() -> tuple[Function, ...]:
    return tuple(
        Function(
            logical_id,
            _name(logical_id, resource["Properties"], "FunctionName"),
            ROOT / resource["Properties"]["CodeUri"],
        )
        for logical_id, resource in _resources().items()
        if resource["Type"] == "AWS::Serverless::Function"
    )
