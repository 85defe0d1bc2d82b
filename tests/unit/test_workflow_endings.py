"""The one workflow ending (tools/template_checks.py, run by `make validate`): every Standard
workflow of template.yaml computes its result once in Conclude, then records, notifies, counts and
finishes on it; and each way of breaking that is reported."""

from __future__ import annotations

import copy
import importlib.util
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from template_resources import ROOT, state_machines


def _template_checks() -> ModuleType:
    if "template_checks" in sys.modules:
        return sys.modules["template_checks"]
    spec = importlib.util.spec_from_file_location("template_checks", ROOT / "tools" / "template_checks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["template_checks"] = module
    spec.loader.exec_module(module)
    return module


checks = _template_checks()
STANDARD = [machine for machine in state_machines() if not machine.express]


def test_every_standard_workflow_of_the_template_is_checked_and_ends_the_one_way() -> None:
    from petclinic_local.stack.template import load_template  # noqa: PLC0415

    assert len(STANDARD) >= 5
    assert checks.workflow_endings(load_template(ROOT / "template.yaml"), ROOT) == []


@pytest.mark.parametrize("machine", STANDARD, ids=lambda machine: machine.name)
def test_the_result_is_computed_once_in_conclude(machine: Any) -> None:
    states = machine.definition()["States"]
    conclude = states["Conclude"]
    assert conclude["Type"] == "Pass"
    computed = set(conclude["Assign"])
    for name in ("RecordResult", "Notify", "PublishMetrics", "Finish"):
        assert not checks._assigned(states[name]) & computed, name


def _break(change: Callable[[dict[str, Any]], None]) -> list[str]:
    """The findings for the scale workflow after ``change`` (to a copy of its states)."""
    definition = copy.deepcopy(next(m for m in STANDARD if m.name == "scale").definition())
    change(definition["States"])
    findings: list[str] = checks.ending_findings(definition)
    return findings


def _set(path: list[str], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(states: dict[str, Any]) -> None:
        node: Any = states
        for key in path[:-1]:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[path[-1]] = value

    return change


BROKEN = {
    "no Conclude": (lambda states: states.pop("Conclude"), "no Conclude state"),
    "a state bypasses Conclude": (
        _set(["Apply", "Next"], "RecordResult"),
        "Apply goes to RecordResult: only Conclude may",
    ),
    "Conclude is not a Pass": (_set(["Conclude", "Type"], "Choice"), "Conclude must be a Pass"),
    "the ledger write skips the notification on failure": (
        _set(["RecordResult", "Catch", "0", "Next"], "PublishMetrics"),
        "RecordResult must go on to Notify",
    ),
    "a notification that can cut the ending short": (
        _set(["Notify", "Catch"], []),
        "Notify must catch States.ALL",
    ),
    "metrics that never reach Finish": (
        lambda states: (
            states["PublishMetrics"].update(Next="Done"),
            states["PublishMetrics"].update(Catch=[]),
        ),
        "PublishMetrics must lead to Finish",
    ),
    "the notification recomputes the result": (
        _set(["Notify", "Assign"], {"result": "{% 'FAILED' %}"}),
        "Notify assigns ['result']",
    ),
    "metrics that read something else": (
        _set(["PublishMetrics", "Arguments"], {"Namespace": "x", "MetricData": []}),
        "PublishMetrics does not read the result",
    ),
    "the wrong integration for the record": (
        _set(["RecordResult", "Resource"], "arn:aws:states:::sqs:sendMessage"),
        "RecordResult must be a Task on",
    ),
    "Finish is not a Choice": (_set(["Finish", "Type"], "Succeed"), "Finish must be a Choice"),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_each_way_of_breaking_the_ending_is_reported(case: str) -> None:
    change, expected = BROKEN[case]
    findings = _break(change)
    assert any(expected in finding for finding in findings), findings


def test_the_shipped_scale_workflow_has_no_findings_before_it_is_broken() -> None:
    assert _break(lambda states: None) == []
