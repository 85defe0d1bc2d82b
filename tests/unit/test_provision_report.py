"""The provision report of the CLI (`petclinic-ops provision`, local/petclinic_local/cli/provision.py):
each stack's parameter changes (before -> after), "parameters only", the protected changes and
the replacements, beside the resource counts; NoEcho values arrive masked and stay so."""

from __future__ import annotations

import io
import json
from typing import Any

from rich.console import Console

from petclinic_local.cli import provision as command

EDGE_ROW: dict[str, Any] = {
    "stack": "edge",
    "stackName": "petclinic-prod-edge",
    "action": "EXECUTE",
    "status": "UPDATE_COMPLETE",
    "added": 0,
    "modified": 1,
    "removed": 0,
    "changes": [
        {
            "logicalId": "WebAcl",
            "type": "AWS::WAFv2::WebACL",
            "action": "Modify",
            "replacement": "False",
            "properties": ["Rules"],
            "causes": ["parameter RateLimitPer5Minutes"],
        }
    ],
    "parameterChanges": [
        {"name": "ApiToken", "before": "****", "after": "****", "source": "operator", "noEcho": True},
        {"name": "RateLimitPer5Minutes", "before": "2000", "after": "3000", "source": "operator"},
    ],
    "parametersOnly": True,
    "protected": [],
    "reason": "only parameters change: RateLimitPer5Minutes '2000' -> '3000' (operator)",
}
DATA_ROW: dict[str, Any] = {
    "stack": "data",
    "stackName": "petclinic-prod-data",
    "action": "PLANNED",
    "status": "UPDATE_COMPLETE",
    "added": 0,
    "modified": 1,
    "removed": 0,
    "changes": [
        {
            "logicalId": "AuditLogGroup",
            "type": "AWS::Logs::LogGroup",
            "action": "Modify",
            "replacement": "True",
            "properties": ["LogGroupName"],
            "replacedBy": ["LogGroupName"],
            "causes": ["template"],
        }
    ],
    "parameterChanges": [],
    "parametersOnly": False,
    "protected": [{"logicalId": "AuditLogGroup", "type": "AWS::Logs::LogGroup", "change": "replace"}],
}


def _described(rows: list[dict[str, Any]]) -> dict[str, Any]:
    output = {
        "environment": "prod",
        "action": "plan",
        "result": "SUCCEEDED",
        "stacks": rows,
        "parameters": [],
    }
    return {
        "executionArn": "arn:aws:states:us-west-2:123456789012:execution:petclinic-ops-prod-provision:x",
        "status": "SUCCEEDED",
        "output": json.dumps(output),
    }


def test_the_aws_report_keeps_the_parameter_changes_and_the_protected_changes() -> None:
    report = command._aws_report(_described([EDGE_ROW, DATA_ROW]))
    edge, data = report["stacks"]
    assert edge["parameterChanges"] == EDGE_ROW["parameterChanges"]
    assert edge["parametersOnly"] is True
    assert data["protected"] == DATA_ROW["protected"]
    assert data["changes"][0]["replacedBy"] == ["LogGroupName"]


def test_the_text_report_shows_each_parameter_change_beside_the_resource_changes() -> None:
    buffer = io.StringIO()
    out = Console(file=buffer, width=140, color_system=None, highlight=False, emoji=False)
    command.render_report(out, command._aws_report(_described([EDGE_ROW, DATA_ROW])))
    text = buffer.getvalue()
    assert "EXECUTE (parameters only)" in text
    assert "parameters edge (only parameters change: no resource is added or removed):" in text
    assert "  RateLimitPer5Minutes: '2000' -> '3000' (operator)" in text
    assert "  ApiToken: '****' -> '****' (operator)" in text
    assert "  replaces AuditLogGroup (AWS::Logs::LogGroup): True, by LogGroupName" in text
    assert "protected data (refused in prod without --force; flagged in dev):" in text
    assert "  replace AuditLogGroup (AWS::Logs::LogGroup)" in text


def test_force_is_passed_to_a_provision_run() -> None:
    request = command.build_request(environment="prod", stacks=["data"], force=True)
    assert request == {"environment": "prod", "stacks": ["data"], "force": True}
