"""The IAM that template.yaml deploys, read from the SAM-transformed template with its intrinsics
evaluated for given parameters (tests/template_eval.py): the scale workflow's role may update the
listed services only and re-register only their scalable targets; the GenAI function's role may
invoke its chain's own models, inference profiles and prompt routers only, and apply only the
configured guardrail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from template_eval import ACCOUNT, REGION, as_list, evaluate, statements, transformed

from petclinic_local.stack.template import load_template

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ["customers-service", "vets-service", "visits-service", "admin-server"]


def role(logical_id: str, **parameters: str) -> dict[str, dict[str, Any]]:
    return statements(evaluate(transformed(), dict(parameters))[logical_id])


def allowing(found: dict[str, dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [statement for statement in found.values() if action in as_list(statement["Action"])]


# --------------------------------------------------------------------------- the scale role


@pytest.mark.parametrize(
    ("parameters", "cluster", "services"),
    [
        ({}, "petclinic-dev", SERVICES),
        (
            {"ClusterName": "petclinic-prod", "ServiceNames": "vets-service,admin-server"},
            "petclinic-prod",
            ["vets-service", "admin-server"],
        ),
    ],
)
def test_the_scale_role_updates_the_listed_services_only(
    parameters: dict[str, str], cluster: str, services: list[str]
) -> None:
    [update] = allowing(role("ScaleStateMachineRole", **parameters), "ecs:UpdateService")
    assert as_list(update["Action"]) == ["ecs:UpdateService"]
    assert sorted(as_list(update["Resource"])) == sorted(
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{cluster}/{name}" for name in services
    )
    assert "Condition" not in update


@pytest.mark.parametrize(
    ("parameters", "cluster", "services"),
    [
        ({}, "petclinic-dev", SERVICES),
        (
            {"ClusterName": "petclinic-prod", "ServiceNames": "vets-service"},
            "petclinic-prod",
            ["vets-service"],
        ),
    ],
)
def test_the_scale_role_re_registers_only_the_listed_services_scalable_targets(
    parameters: dict[str, str], cluster: str, services: list[str]
) -> None:
    """A scalable target's ARN ends in a generated id, so the services stack tags each target and
    the role's condition names the tags, the namespace and the dimension."""
    [register] = allowing(
        role("ScaleStateMachineRole", **parameters), "application-autoscaling:RegisterScalableTarget"
    )
    assert register["Resource"] == f"arn:aws:application-autoscaling:{REGION}:{ACCOUNT}:scalable-target/*"
    assert register["Condition"] == {
        "StringEquals": {
            "application-autoscaling:service-namespace": "ecs",
            "application-autoscaling:scalable-dimension": "ecs:service:DesiredCount",
            "aws:ResourceTag/petclinic:cluster": cluster,
            "aws:ResourceTag/petclinic:service": services,
        }
    }


def test_the_services_stack_tags_every_scalable_target_as_the_scale_role_expects() -> None:
    [register] = allowing(role("ScaleStateMachineRole"), "application-autoscaling:RegisterScalableTarget")
    keys = {
        key.removeprefix("aws:ResourceTag/") for key in register["Condition"]["StringEquals"] if "Tag/" in key
    }
    services = load_template(ROOT / "infra" / "services.yaml")["Resources"]
    targets = {
        k: r for k, r in services.items() if r["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget"
    }
    assert targets
    for logical_id, target in targets.items():
        tags = {tag["Key"]: tag["Value"] for tag in target["Properties"].get("Tags", [])}
        assert set(tags) == keys, logical_id
        assert tags["petclinic:cluster"] == {"Ref": "Cluster"}
        # The tag is the service the target scales (its ResourceId's last part).
        service = tags["petclinic:service"]["Fn::GetAtt"][0]
        assert target["Properties"]["ResourceId"]["Fn::Sub"].endswith(f"${{{service}.Name}}"), logical_id


def test_no_scale_write_is_on_a_wildcard_without_a_condition() -> None:
    writes = {"ecs:UpdateService", "application-autoscaling:RegisterScalableTarget", "rds:ModifyDBCluster"}
    for sid, statement in role("ScaleStateMachineRole").items():
        if writes & set(as_list(statement["Action"])):
            wildcards = [r for r in as_list(statement["Resource"]) if r.endswith("*")]
            assert not wildcards or "Condition" in statement, sid
