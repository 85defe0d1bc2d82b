"""The deploy workflow's task definition rewrite: the JSONata expression in the shipped ASL file,
evaluated by the same evaluator the local cloud plugs into Step Functions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from petclinic_local.jsonata import evaluate_jsonata

ASL = json.loads((Path(__file__).resolve().parents[2] / "statemachines" / "deploy.asl.json").read_text())
REWRITE = ASL["States"]["RegisterTaskDefinition"]["Arguments"].removeprefix("{%").removesuffix("%}").strip()
REGISTRY = "123456789012.dkr.ecr.us-west-2.amazonaws.com"
DIGEST = "sha256:" + "b" * 64
NEW_IMAGE = f"{REGISTRY}/petclinic/dev/customers-service@{DIGEST}"
FAMILY = "petclinic-dev-customers-service"


def described(image: str = f"{REGISTRY}/petclinic/dev/customers-service:1.0.0") -> dict[str, Any]:
    """DescribeTaskDefinition's output as the aws-sdk integration hands it over (PascalCase)."""
    return {
        "TaskDefinition": {
            "TaskDefinitionArn": f"arn:aws:ecs:us-west-2:123456789012:task-definition/{FAMILY}:7",
            "Family": "petclinic-dev-customers-service",
            "Revision": 7,
            "Status": "ACTIVE",
            "RequiresAttributes": [{"Name": "com.amazonaws.ecs.capability.task-iam-role"}],
            "Compatibilities": ["EC2", "FARGATE"],
            "RegisteredAt": "2026-11-20T10:00:00.000Z",
            "RegisteredBy": "arn:aws:iam::123456789012:role/deployer",
            "TaskRoleArn": "arn:aws:iam::123456789012:role/petclinic-customers-service-task",
            "NetworkMode": "awsvpc",
            "Cpu": "512",
            "Memory": "1024",
            "ContainerDefinitions": [
                {
                    "Name": "customers-service",
                    "Image": image,
                    "Essential": True,
                    "Secrets": [{"Name": "P", "ValueFrom": "arn:s"}],
                },
                {
                    "Name": "xray-daemon",
                    "Image": "public.ecr.aws/xray/aws-xray-daemon:3.3.7",
                    "Essential": False,
                },
            ],
        },
        "Tags": [{"Key": "app", "Value": "petclinic"}],
    }


def rewrite(
    state_input: dict[str, Any], repository: str = "petclinic/dev/customers-service"
) -> dict[str, Any]:
    """The job being deployed names the new image; its repository is what gets replaced."""
    job = {"kind": "image", "image": f"{REGISTRY}/{repository}@{DIGEST}"}
    result: dict[str, Any] = evaluate_jsonata(REWRITE, {"states": {"input": state_input}, "job": job})
    return result


def test_the_service_container_is_pinned_by_digest_and_sidecars_are_kept() -> None:
    containers = rewrite(described())["ContainerDefinitions"]
    assert [c["Image"] for c in containers] == [NEW_IMAGE, "public.ecr.aws/xray/aws-xray-daemon:3.3.7"]
    assert containers[0]["Secrets"] == [{"Name": "P", "ValueFrom": "arn:s"}]


@pytest.mark.parametrize(
    "current",
    [
        f"{REGISTRY}/petclinic/dev/customers-service:1.0.0",
        f"{REGISTRY}/petclinic/dev/customers-service@sha256:{'c' * 64}",
        f"{REGISTRY}/petclinic/dev/customers-service",
    ],
)
def test_any_reference_to_the_repository_is_replaced(current: str) -> None:
    assert rewrite(described(current))["ContainerDefinitions"][0]["Image"] == NEW_IMAGE


def test_read_only_fields_are_dropped_and_the_rest_copied() -> None:
    registered = rewrite(described())
    for field in (
        "TaskDefinitionArn",
        "Revision",
        "Status",
        "RequiresAttributes",
        "Compatibilities",
        "RegisteredAt",
        "RegisteredBy",
    ):
        assert field not in registered
    assert registered["Family"] == "petclinic-dev-customers-service"
    assert registered["TaskRoleArn"].endswith("petclinic-customers-service-task")
    assert (registered["Cpu"], registered["Memory"], registered["NetworkMode"]) == ("512", "1024", "awsvpc")
    assert registered["Tags"] == [{"Key": "app", "Value": "petclinic"}]


def test_without_tags_none_are_sent() -> None:
    state_input = described()
    del state_input["Tags"]
    assert "Tags" not in rewrite(state_input)


def test_a_repository_of_a_similar_name_is_not_touched() -> None:
    state_input = described(f"{REGISTRY}/petclinic/dev/customers-service-legacy:1.0.0")
    with pytest.raises(
        Exception, match=r"has no container running an image of .*petclinic/dev/customers-service"
    ):
        rewrite(state_input)


def test_a_task_definition_without_the_repository_is_an_error_naming_both() -> None:
    with pytest.raises(
        Exception, match=r"task-definition/petclinic-dev-customers-service:7 has no container"
    ):
        rewrite(described(), repository="petclinic/dev/vets-service")
