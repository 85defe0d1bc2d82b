"""The CloudFormation service role is derived from infra/ (tools/cfn_role.py): it covers every
resource type the stacks use, grants nothing they do not need (or says why in place), scopes what
IAM lets it scope, fits IAM's size limits, and can create and pass only boundary-bound roles under
the workload path, to the services that assume them."""

from __future__ import annotations

import copy
import importlib.util
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from petclinic_local.stack.template import load_template

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("cfn_role", ROOT / "tools" / "cfn_role.py")
assert _spec
assert _spec.loader
cfn_role: Any = importlib.util.module_from_spec(_spec)
sys.modules["cfn_role"] = cfn_role  # its dataclasses look their module up
_spec.loader.exec_module(cfn_role)

SCHEMAS = cfn_role.Schemas()
TEMPLATE = load_template(ROOT / "template.yaml")


def _problems(template: dict[str, Any] | None = None, root: Path = ROOT) -> list[str]:
    return list(cfn_role.check(root, SCHEMAS, template if template is not None else TEMPLATE))


def _policy_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for logical_id, resource in template["Resources"].items()
        if logical_id.startswith(cfn_role.POLICY_PREFIX)
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]


def _statement(template: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(s for s in _policy_statements(template) if s["Sid"] == sid)


def test_the_shipped_role_is_exactly_what_infra_needs() -> None:
    assert _problems() == []
    figures = cfn_role.report(ROOT, SCHEMAS)
    assert figures["resourceTypes"] == len(cfn_role.infra_types(cfn_role.infra_templates(ROOT)))
    assert figures["grantedActions"] == figures["derivedActions"] + len(cfn_role.KEPT)
    assert all(size <= cfn_role.MANAGED_POLICY_LIMIT for size in figures["policies"].values())
    # No AWS managed policy (PowerUserAccess was one), no inline policy: all of it is derived.
    role = TEMPLATE["Resources"]["CloudFormationRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    assert "Policies" not in role


def test_the_generated_block_is_what_the_tool_writes_now() -> None:
    """Hand edits or a stale block (infra/ changed, --write not run) show here."""
    templates = cfn_role.infra_templates(ROOT)
    needs = cfn_role.derive(templates, SCHEMAS)
    block = cfn_role.render(cfn_role.pack(cfn_role.statements(needs, SCHEMAS, templates)), needs)
    assert block in (ROOT / "template.yaml").read_text()


def test_the_power_user_role_of_before_fails_the_check() -> None:
    template = copy.deepcopy(TEMPLATE)
    for logical_id in [k for k in template["Resources"] if k.startswith(cfn_role.POLICY_PREFIX)]:
        del template["Resources"][logical_id]
    template["Resources"]["CloudFormationRole"]["Properties"]["ManagedPolicyArns"] = [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/PowerUserAccess"}
    ]
    problems = _problems(template)
    assert any("PowerUserAccess" in p and "not derived" in p for p in problems)
    assert any(p.startswith("ecs:CreateService is needed by AWS::ECS::Service") for p in problems)


def test_a_resource_type_infra_gains_is_a_failure_naming_it(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "infra", tmp_path / "infra")
    edge = tmp_path / "infra" / "edge.yaml"
    edge.write_text(
        edge.read_text().replace(
            "\nResources:\n", "\nResources:\n  Queue:\n    Type: AWS::SQS::Queue\n    Properties: {}\n", 1
        )
    )
    problems = _problems(root=tmp_path)
    assert any(p.startswith("sqs:CreateQueue is needed by AWS::SQS::Queue") for p in problems), problems


def test_an_action_nothing_in_infra_needs_is_a_failure_unless_kept_with_a_reason() -> None:
    template = copy.deepcopy(TEMPLATE)
    _statement(template, "Ecr")["Action"].append("ecr:PutRegistryPolicy")
    [problem] = _problems(template)
    assert problem.startswith("ecr:PutRegistryPolicy")
    assert "no type in infra/ needs it" in problem
    # A wildcard is never derived.
    template = copy.deepcopy(TEMPLATE)
    _statement(template, "Ecr")["Action"].append("ecr:*")
    assert any("ecr:*" in p and "wildcard" in p for p in _problems(template))
    # What KEPT keeps has its reason in the tool and beside its statement in template.yaml.
    text = (ROOT / "template.yaml").read_text()
    for action, (_resources, _condition, reason) in cfn_role.KEPT.items():
        assert reason
        assert f"# kept: {reason}" in text, action


def test_resource_star_only_for_actions_without_resource_level_permissions() -> None:
    template = copy.deepcopy(TEMPLATE)
    _statement(template, "EcsNoResourceLevelPermissions")["Action"].append("ecs:DeleteCluster")
    assert any(p.startswith("ecs:DeleteCluster (") and 'Resource "*"' in p for p in _problems(template))
    # The claim is the service authorization reference's, not the statement's name.
    assert SCHEMAS.resource_level("ecs:DeleteCluster")
    assert not SCHEMAS.resource_level("ec2:DescribeVpcs")


@pytest.mark.parametrize(
    ("sid", "mutation", "expected"),
    [
        (
            "WriteWorkloadRolesOnlyWithTheBoundary",
            lambda s: s.pop("Condition"),
            "without the condition iam:PermissionsBoundary",
        ),
        (
            "AttachOnlyTheManagedPoliciesInfraNames",
            lambda s: s["Condition"].pop("StringEquals"),
            "without the condition iam:PermissionsBoundary",
        ),
        (
            "PassWorkloadRolesOnlyToTheServicesThatAssumeThem",
            lambda s: s.pop("Condition"),
            "iam:PassRole without the condition iam:PassedToService",
        ),
        (
            "ReadAndTidyWorkloadRoles",
            lambda s: s.update(
                Resource=[{"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/petclinic-*"}]
            ),
            "only the workload roles",
        ),
    ],
)
def test_roles_are_written_only_with_the_boundary_and_passed_only_to_their_services(
    sid: str, mutation: Any, expected: str
) -> None:
    template = copy.deepcopy(TEMPLATE)
    mutation(_statement(template, sid))
    assert any(expected in p for p in _problems(template)), _problems(template)


def test_the_pass_role_condition_is_the_services_the_roles_trust() -> None:
    passed = _statement(TEMPLATE, "PassWorkloadRolesOnlyToTheServicesThatAssumeThem")
    assert passed["Condition"]["StringEquals"]["iam:PassedToService"] == [
        "apigateway.amazonaws.com",  # the account's API Gateway CloudWatch role (edge)
        "ecs-tasks.amazonaws.com",  # the execution role and the four task roles
        "ecs.amazonaws.com",  # the deployment role (traffic shifting between target groups)
        "monitoring.rds.amazonaws.com",  # RDS enhanced monitoring
        "rds.amazonaws.com",  # ... which RDS receives (ALSO_PASSED_TO)
        "vpc-flow-logs.amazonaws.com",  # the flow log role
    ]
    attach = _statement(TEMPLATE, "AttachOnlyTheManagedPoliciesInfraNames")
    assert attach["Condition"]["ArnEquals"]["iam:PolicyARN"] == [
        {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::aws:policy/service-role/{name}"}
        for name in ("AmazonRDSEnhancedMonitoringRole", "AmazonAPIGatewayPushToCloudWatchLogs")
    ]


def test_a_policy_over_iams_size_limit_fails() -> None:
    template = copy.deepcopy(TEMPLATE)
    resources = template["Resources"]
    first, *others = sorted(k for k in resources if k.startswith(cfn_role.POLICY_PREFIX))
    for logical_id in others:
        statements = resources.pop(logical_id)["Properties"]["PolicyDocument"]["Statement"]
        resources[first]["Properties"]["PolicyDocument"]["Statement"] += statements
    [problem] = _problems(template)
    assert problem.startswith(f"{first}: ")
    assert "over IAM's 6144 for a managed policy" in problem
    # Measured as IAM stores it, resolved with the longest partition, region, account: a policy
    # that fits in us-west-2 but not in a longer region still fails.
    assert (
        cfn_role.resolve({"Fn::Sub": "arn:${AWS::Partition}:x:${AWS::Region}"})
        == "arn:aws-us-gov:x:ap-southeast-5"
    )


def test_every_infra_role_has_the_boundary_the_workload_path_and_an_environment_name(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "infra", tmp_path / "infra")
    services = tmp_path / "infra" / "services.yaml"
    text = services.read_text()
    text = text.replace("      PermissionsBoundary: !Ref PermissionsBoundaryArn\n", "", 1)
    text = text.replace("      Path: /petclinic-workload/\n", "      Path: /\n", 1)
    text = text.replace(
        "RoleName: !Sub petclinic-${EnvironmentName}-ecs-execution", "RoleName: petclinic-ops-x"
    )
    services.write_text(text)
    problems = _problems(root=tmp_path)
    assert "services.ExecutionRole: PermissionsBoundary must be !Ref PermissionsBoundaryArn" in problems
    assert "services.ExecutionRole: Path must be /petclinic-workload/" in problems
    assert "services.ExecutionRole: RoleName must start with petclinic-${EnvironmentName}-" in problems


def test_the_boundary_allows_what_the_infra_roles_are_given() -> None:
    template = copy.deepcopy(TEMPLATE)
    for statement in template["Resources"]["WorkloadBoundary"]["Properties"]["PolicyDocument"]["Statement"]:
        statement["Action"] = [a for a in statement["Action"] if a != "logs:DescribeLogGroups"]
    problems = _problems(template)
    assert (
        "network.FlowLogRole is given logs:DescribeLogGroups, which WorkloadBoundary does not allow"
        in " ".join(problems)
    )
