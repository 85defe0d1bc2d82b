"""The provision workflow's request check (CheckRequest in the shipped ASL, evaluated by the
evaluator the local cloud plugs into Step Functions) on the sample inputs in events/, and the
provision function's input model on its sample payload."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from petclinic_local.jsonata import evaluate_jsonata
from petclinic_local.stack.template import load_template
from petclinic_ops.models.provision import PrepareStackInput

ROOT = Path(__file__).resolve().parents[2]
ASL = json.loads((ROOT / "statemachines" / "provision.asl.json").read_text())
TEMPLATE = load_template(ROOT / "template.yaml")
NAMES = TEMPLATE["Resources"]["ProvisionStateMachine"]["Properties"]["DefinitionSubstitutions"][
    "InfraParameterNames"
]


def _expression(text: str) -> str:
    return text.replace("${InfraParameterNames}", NAMES.strip()).removeprefix("{%").removesuffix("%}").strip()


def check(request: Any) -> bool:
    read = ASL["States"]["ReadRequest"]["Assign"]
    bindings: dict[str, Any] = {"states": {"input": request}}
    for name in ("request", "known", "allowedKeys", "infraParameters"):
        value = read[name]
        bindings[name] = evaluate_jsonata(_expression(value), bindings) if isinstance(value, str) else value
    [choice] = ASL["States"]["CheckRequest"]["Choices"]
    return bool(evaluate_jsonata(_expression(choice["Condition"]), bindings))


@pytest.mark.parametrize(
    "name",
    [
        "provision.json",
        "provision-plan.json",
        "provision-services-parameters.json",
        "provision-genai-route.json",
        "provision-teardown.json",
        "provision-drift.json",
        "provision-prod-forced.json",
    ],
)
def test_the_sample_requests_pass(name: str) -> None:
    assert check(json.loads((ROOT / "events" / name).read_text()))


@pytest.mark.parametrize(
    "request_",
    [
        json.loads((ROOT / "events" / "provision-malformed.json").read_text()),
        {},
        [],
        {"environment": "dev", "stacks": []},
        {"environment": "dev", "parameters": {"edge": {"RotationFunctionArn": "arn:aws:lambda:x"}}},
        {"environment": "dev", "parameters": {"services": {"LifecycleHookFunctionArn": "arn:aws:lambda:x"}}},
        {"environment": "dev", "parameters": {"edge": {"GenAiFunctionArn": 7}}},
        {"environment": "dev", "parameters": {"edge": "GenAiFunctionArn=x"}},
        {"environment": "dev", "templates": {"cdn": "https://x"}},
        {"environment": "dev", "action": "destroy"},
        {"environment": "dev", "force": "yes"},
    ],
)
def test_bad_requests_fail_the_check(request_: Any) -> None:
    assert not check(request_)


def test_the_functions_sample_payload_is_its_input() -> None:
    payload = PrepareStackInput.model_validate(
        json.loads((ROOT / "events" / "provision-stack-payload.json").read_text())
    )
    assert (payload.stack, payload.plan, payload.force) == ("network", True, False)
