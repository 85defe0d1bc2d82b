"""Dev and prod in one account: each environment's ECR repositories are its own
(petclinic/{env}/<service>, infra/data.yaml), and each control plane (template.yaml, its
RepositoryPrefix empty by default) takes its own environment's pushes only: the push rule's
filter, the resolver's prefix and the IAM scopes, evaluated for each environment, agree with the
data stack's names and never cover the other environment's."""

from __future__ import annotations

from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from template_eval import ACCOUNT, PARTITION, REGION, as_list, evaluate, statements, transformed

from petclinic_local.stack.template import load_template
from petclinic_ops.domain import provision
from petclinic_ops.settings import ResolveDeploySettings

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("customers-service", "vets-service", "visits-service", "admin-server")
OTHER = {"dev": "prod", "prod": "dev"}
# The one form template.yaml may use RepositoryPrefix in (the TaskFamilyPrefix pattern).
RESOLVED = {
    "Fn::If": [
        "HasRepositoryPrefix",
        {"Ref": "RepositoryPrefix"},
        {"Fn::Sub": "petclinic/${EnvironmentName}/"},
    ]
}


def repositories(environment: str) -> set[str]:
    """The repository names infra/data.yaml creates in the environment."""
    data = load_template(ROOT / "infra" / "data.yaml")
    ecr = {name: r for name, r in data["Resources"].items() if r["Type"] == "AWS::ECR::Repository"}
    evaluated = evaluate(
        {**data, "Resources": ecr}, {"EnvironmentName": environment, "PermissionsBoundaryArn": ""}
    )
    return {r["Properties"]["RepositoryName"] for r in evaluated.values()}


def repository_arn(name: str) -> str:
    return f"arn:{PARTITION}:ecr:{REGION}:{ACCOUNT}:repository/{name}"


@cache
def _control_plane(environment: str, prefix: str) -> dict[str, Any]:
    parameters = {"EnvironmentName": environment} | ({"RepositoryPrefix": prefix} if prefix else {})
    return evaluate(transformed(), dict(parameters))


def control_plane(environment: str, prefix: str = "") -> dict[str, Any]:
    """Where a control plane uses its repository prefix, evaluated."""
    resources = _control_plane(environment, prefix)
    # The deploy state machine's EcrImagePushed event, as SAM deploys it.
    rule = resources["DeployStateMachineEcrImagePushed"]["Properties"]["EventPattern"]
    assert rule["source"] == ["aws.ecr"]
    [cfn_ecr] = [
        statement
        for name in ("CloudFormationRolePolicy1", "CloudFormationRolePolicy2", "CloudFormationRolePolicy3")
        for statement in resources[name]["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Sid") == "Ecr"
    ]
    [pull] = [
        s
        for s in resources["WorkloadBoundary"]["Properties"]["PolicyDocument"]["Statement"]
        if s["Sid"] == "PullThePetClinicImages"
    ]
    return {
        "rule": rule["detail"]["repository-name"],
        "environment": resources["ResolveDeployFunction"]["Properties"]["Environment"]["Variables"],
        "describe_images": statements(resources["DeployStateMachineRole"])["ReadPushedImages"]["Resource"],
        "boundary": pull["Resource"],
        "cloudformation": as_list(cfn_ecr["Resource"]),
    }


def rule_matches(pattern: list[dict[str, str]], repository: str) -> bool:
    """EventBridge's prefix matching of detail.repository-name."""
    return any(repository.startswith(item["prefix"]) for item in pattern)


def resolver_service(variables: dict[str, str], repository: str) -> str | None:
    """What the resolver function, with the environment the template gives it, maps a repository to."""
    config = ResolveDeploySettings.from_environ(variables).to_domain()
    return config.service_for(repository)


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_each_environments_data_stack_names_its_own_repositories(environment: str) -> None:
    own, other = repositories(environment), repositories(OTHER[environment])
    assert own == {f"petclinic/{environment}/{service}" for service in SERVICES}
    assert own.isdisjoint(other)


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_a_control_plane_takes_its_own_environments_pushes_only(environment: str) -> None:
    """The rule, the resolver and IAM all use petclinic/{env}/: every repository of the
    environment's data stack is matched and mapped to its service, none of the other's is."""
    plane = control_plane(environment)
    prefix = f"petclinic/{environment}/"
    assert plane["rule"] == [{"prefix": prefix}]
    assert plane["environment"]["REPOSITORY_PREFIX"] == prefix
    assert plane["describe_images"] == repository_arn(f"{prefix}*")
    assert plane["boundary"] == repository_arn(f"{prefix}*")
    assert plane["cloudformation"] == [repository_arn(f"{prefix}*")]
    scopes = [plane["describe_images"], plane["boundary"], *plane["cloudformation"]]
    for repository in repositories(environment):
        assert rule_matches(plane["rule"], repository)
        assert resolver_service(plane["environment"], repository) == repository.rsplit("/", 1)[1]
        assert all(fnmatchcase(repository_arn(repository), scope) for scope in scopes)
    for repository in repositories(OTHER[environment]):
        assert not rule_matches(plane["rule"], repository)
        assert resolver_service(plane["environment"], repository) is None
        assert not any(fnmatchcase(repository_arn(repository), scope) for scope in scopes)


def test_a_given_prefix_is_used_verbatim_by_the_rule_the_resolver_and_iam() -> None:
    plane = control_plane("prod", "team-a/petclinic-")
    assert plane["rule"] == [{"prefix": "team-a/petclinic-"}]
    assert plane["environment"]["REPOSITORY_PREFIX"] == "team-a/petclinic-"
    assert plane["describe_images"] == plane["boundary"] == repository_arn("team-a/petclinic-*")
    assert resolver_service(plane["environment"], "team-a/petclinic-vets-service") == "vets-service"
    # The CloudFormation role creates only what infra/ names: the environment's repositories.
    assert plane["cloudformation"] == [repository_arn("petclinic/prod/*")]


def _nodes(node: Any) -> list[Any]:
    found = [node]
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    for child in children:
        found += _nodes(child)
    return found


def test_the_template_uses_repository_prefix_only_resolved() -> None:
    """An empty RepositoryPrefix means petclinic/{env}/: a raw use (an IAM resource
    repository/${RepositoryPrefix}* would be repository/*) would take every environment's."""
    template = load_template(ROOT / "template.yaml")
    used = _nodes({key: template[key] for key in ("Resources", "Outputs") if key in template})
    refs = [n for n in used if n == {"Ref": "RepositoryPrefix"}]
    resolved = [n for n in used if n == RESOLVED]
    subs = [str(n["Fn::Sub"]) for n in used if isinstance(n, dict) and "Fn::Sub" in n]
    assert len(resolved) >= 4  # the rule, the resolver, DescribeImages, the boundary
    assert len(refs) == len(resolved)
    assert not [sub for sub in subs if "${RepositoryPrefix}" in sub]


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_the_services_first_image_and_pulls_are_the_environments(environment: str) -> None:
    """The provision workflow's idea of a service's first image is the data stack's repository,
    and the services stack's execution role pulls the environment's repositories only."""
    stack_id = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/petclinic-{environment}-services/id"
    registry = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
    assert {provision.initial_image(stack_id, environment, service, "1.0.0") for service in SERVICES} == {
        f"{registry}/{repository}:1.0.0" for repository in repositories(environment)
    }
    services = load_template(ROOT / "infra" / "services.yaml")
    role = services["Resources"]["ExecutionRole"]["Properties"]["Policies"]
    [pull] = [
        s for p in role for s in p["PolicyDocument"]["Statement"] if s["Sid"] == "PullThePetClinicImages"
    ]
    assert pull["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:"
        "repository/petclinic/${EnvironmentName}/*"
    }
