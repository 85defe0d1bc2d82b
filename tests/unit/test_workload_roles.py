"""The roles infra/ creates allow what the PetClinic services, VPC flow logs, RDS monitoring and
API Gateway call with them, and nothing else (tools/workload_roles.py). Each test alters the
evaluated stacks in memory (a statement removed, widened or added; a container or user changed)
and reads what the check says."""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("workload_roles", ROOT / "tools" / "workload_roles.py")
assert _spec
assert _spec.loader
workload_roles: Any = importlib.util.module_from_spec(_spec)
sys.modules["workload_roles"] = workload_roles
_spec.loader.exec_module(workload_roles)

REFERENCE = workload_roles.iam.reference()
ARN = "arn:aws:{}:us-west-2:123456789012:{}"
REPOSITORY = ARN.format("ecr", "repository/petclinic/dev/customers-service")
STREAM = ARN.format(
    "logs", "log-group:/ecs/petclinic-dev:log-stream:customers-service/customers-service/task-id"
)
SECRET = ARN.format("secretsmanager", "secret:petclinic/dev/aurora/app-AbCdEf")
DATA_KEY = ARN.format("kms", "key/data-datakey")
CUSTOMERS = "services.CustomersTaskDefinition customers-service"


@pytest.fixture(scope="module")
def shipped() -> dict[str, Any]:
    stacks: dict[str, Any] = workload_roles.evaluated()
    return stacks


@pytest.fixture
def stacks(shipped: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(shipped)


def problems(stacks: dict[str, Any], env: str = "dev") -> list[str]:
    analysis = workload_roles.analyse(parameters={"EnvironmentName": env}, stacks=stacks)
    found: list[str] = workload_roles.check(analysis, REFERENCE)
    return found


def statements(stacks: dict[str, Any], role: str) -> list[dict[str, Any]]:
    stack, logical_id = role.split(".")
    found: list[dict[str, Any]] = stacks[stack][logical_id]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    return found


def statement(stacks: dict[str, Any], role: str, sid: str) -> dict[str, Any]:
    return next(s for s in statements(stacks, role) if s.get("Sid") == sid)


def remove(stacks: dict[str, Any], role: str, sid: str) -> None:
    kept = [s for s in statements(stacks, role) if s.get("Sid") != sid]
    assert len(kept) < len(statements(stacks, role)), f"{role} has no statement {sid}"
    statements(stacks, role)[:] = kept


@pytest.mark.parametrize("name", list(workload_roles.PARAMETER_SETS))
def test_the_shipped_templates_pass(name: str) -> None:
    parameters = workload_roles.PARAMETER_SETS[name]
    analysis = workload_roles.analyse(parameters=parameters)
    assert workload_roles.check(analysis, REFERENCE) == []
    assert workload_roles.main(["--check"]) == 0


def test_every_role_infra_creates_is_checked_against_its_users(stacks: dict[str, Any]) -> None:
    analysis = workload_roles.analyse(stacks=stacks)
    assert sorted(analysis.roles) == [
        "data.EnhancedMonitoringRole",
        "edge.ApiGatewayLogsRole",
        "network.FlowLogRole",
        "services.AdminServerTaskRole",
        "services.CustomersTaskRole",
        "services.DeploymentRole",
        "services.ExecutionRole",
        "services.VetsTaskRole",
        "services.VisitsTaskRole",
    ]
    assert set(analysis.needs.users) == set(analysis.roles)
    needed = {(n.action, n.resource) for n in analysis.needs.actions if n.role == "services.ExecutionRole"}
    assert ("ecr:BatchGetImage", REPOSITORY) in needed
    assert ("logs:PutLogEvents", STREAM) in needed
    assert ("secretsmanager:GetSecretValue", SECRET) in needed
    assert ("kms:Decrypt", DATA_KEY) in needed
    # admin-server has no database secret; the X-Ray daemon comes from ECR Public: no pull
    assert not any(
        n.user.startswith("services.AdminServerTaskDefinition") and n.action.startswith("secretsmanager")
        for n in analysis.needs.actions
    )
    assert not any(
        n.user.endswith("xray-daemon") and n.action.startswith("ecr:") for n in analysis.needs.actions
    )


# --------------------------------------------------------------------------- sufficient


def test_the_image_pull_removed_fails_naming_role_action_and_repository(stacks: dict[str, Any]) -> None:
    remove(stacks, "services.ExecutionRole", "PullThePetClinicImages")
    found = problems(stacks)
    assert (
        f"services.ExecutionRole {CUSTOMERS}: needs ecr:BatchGetImage on {REPOSITORY}, which no statement "
        "of the role allows; Amazon ECS Developer Guide, task execution IAM role"
    ) in found
    assert len([p for p in found if "needs ecr:" in p]) == 3 * 4  # three actions, four repositories


def test_the_log_statement_on_another_group_fails_naming_the_log_stream(stacks: dict[str, Any]) -> None:
    statement(stacks, "services.ExecutionRole", "WriteTheServiceLogs")["Resource"] = ARN.format(
        "logs", "log-group:/ecs/petclinic-prod:*"
    )
    found = problems(stacks)
    assert any(
        p.startswith(f"services.ExecutionRole {CUSTOMERS}: needs logs:CreateLogStream on {STREAM}")
        for p in found
    )
    assert any(
        "grants logs:PutLogEvents on arn:aws:logs:us-west-2:123456789012:log-group:/ecs/petclinic-prod:*" in p
        for p in found
    )


@pytest.mark.parametrize(
    ("sid", "action", "resource"),
    [
        ("InjectTheDatabaseSecret", "secretsmanager:GetSecretValue", SECRET),
        ("DecryptTheDatabaseSecret", "kms:Decrypt", DATA_KEY),
    ],
)
def test_the_secret_or_its_key_removed_fails(
    stacks: dict[str, Any], sid: str, action: str, resource: str
) -> None:
    remove(stacks, "services.ExecutionRole", sid)
    assert any(
        p.startswith(f"services.ExecutionRole {CUSTOMERS}: needs {action} on {resource},")
        for p in problems(stacks)
    )


def test_the_x_ray_daemon_needs_the_sampling_rules_it_proxies(stacks: dict[str, Any]) -> None:
    trace = statement(stacks, "services.VetsTaskRole", "TraceHasNoResourceLevelPermission")
    trace["Action"] = [a for a in trace["Action"] if a != "xray:GetSamplingRules"]
    assert [p for p in problems(stacks) if "needs" in p] == [
        "services.VetsTaskRole services.VetsTaskDefinition xray-daemon: needs xray:GetSamplingRules on *, "
        f"which no statement of the role allows; {workload_roles.XRAY_REASON}"
    ]


def test_the_configuration_path_removed_fails_for_the_application_container(stacks: dict[str, Any]) -> None:
    remove(stacks, "services.VisitsTaskRole", "ReadTheConfiguration")
    path = ARN.format("ssm", "parameter/petclinic/dev/config/")
    assert any(
        p.startswith(
            "services.VisitsTaskRole services.VisitsTaskDefinition visits-service: "
            f"needs ssm:GetParametersByPath on {path},"
        )
        for p in problems(stacks)
    )


DEPLOYMENTS = "services.DeploymentRole"
CUSTOMERS_SERVICE = "services.CustomersService customers-service"


def test_the_deployment_role_needs_each_services_rules_and_target_groups(stacks: dict[str, Any]) -> None:
    """ECS's CANARY, LINEAR and BLUE_GREEN deployments: a rule or target group left out of the
    role fails naming it; one the role names that no service shifts is not needed."""
    rules = statement(stacks, DEPLOYMENTS, "WeighTheServicesRules")
    customers_test_rule = next(r for r in rules["Resource"] if "customerstestlistenerrule" in r)
    rules["Resource"] = [r for r in rules["Resource"] if r != customers_test_rule]
    groups = statement(stacks, DEPLOYMENTS, "RegisterTheRevisionsTasks")
    alternate = next(g for g in groups["Resource"] if "petclinic-dev-vets-alt" in g)
    groups["Resource"] = [g for g in groups["Resource"] if g != alternate]
    found = problems(stacks)
    assert (
        f"{DEPLOYMENTS} {CUSTOMERS_SERVICE}: needs elasticloadbalancing:ModifyRule on {customers_test_rule}, "
        f"which no statement of the role allows; {workload_roles.TRAFFIC_SHIFT_REASON}"
    ) in found
    assert any(
        p.startswith(
            f"{DEPLOYMENTS} services.VetsService vets-service: needs elasticloadbalancing:RegisterTargets"
        )
        and alternate in p
        for p in found
    )
    remove(stacks, DEPLOYMENTS, "ReadTheLoadBalancerHasNoResourceLevelPermission")
    assert any("needs elasticloadbalancing:DescribeTargetHealth on *" in p for p in problems(stacks))


def test_the_lifecycle_hook_role_may_call_the_hook_function_and_nothing_else() -> None:
    """With the control plane's hook function wired (prod's parameter set), ECS's hook role needs
    lambda:InvokeFunction on exactly that function: removed, or widened to every function, fails."""
    parameters = workload_roles.PARAMETER_SETS["prod, running images"]
    hook = parameters["LifecycleHookFunctionArn"]
    shipped_prod = workload_roles.evaluated(parameters=parameters)
    analysis = workload_roles.analyse(parameters=parameters, stacks=copy.deepcopy(shipped_prod))
    assert workload_roles.check(analysis, REFERENCE) == []
    assert {
        (n.action, n.resource) for n in analysis.needs.actions if n.role == "services.LifecycleHookRole"
    } == {("lambda:InvokeFunction", hook)}

    def found_with(change: Any) -> list[str]:
        stacks = copy.deepcopy(shipped_prod)
        change(statement(stacks, "services.LifecycleHookRole", "CallTheLifecycleHook"))
        found: list[str] = workload_roles.check(
            workload_roles.analyse(parameters=parameters, stacks=stacks), REFERENCE
        )
        return found

    removed = found_with(lambda s: s.update(Resource=ARN.format("lambda", "function:another")))
    assert any(f"needs lambda:InvokeFunction on {hook}" in p for p in removed), removed
    widened = found_with(lambda s: s.update(Resource=ARN.format("lambda", "function:*")))
    assert any("function:*" in p for p in widened), widened


def test_the_deployment_role_may_not_weigh_the_listener_or_other_rules(stacks: dict[str, Any]) -> None:
    statement(stacks, DEPLOYMENTS, "WeighTheServicesRules")["Resource"].append(
        ARN.format("elasticloadbalancing", "listener-rule/app/petclinic-dev/*")
    )
    statement(stacks, DEPLOYMENTS, "RegisterTheRevisionsTasks")["Action"].append(
        "elasticloadbalancing:ModifyListener"
    )
    found = problems(stacks)
    assert any("listener-rule/app/petclinic-dev/*" in p for p in found), found
    assert any("elasticloadbalancing:ModifyListener" in p for p in found), found


def test_the_flow_log_role_needs_what_vpc_flow_logs_call(stacks: dict[str, Any]) -> None:
    remove(stacks, "network.FlowLogRole", "FindTheLogGroupHasNoResourceLevelPermission")
    assert any(
        "network.FlowLogRole network.FlowLog: needs logs:DescribeLogGroups on *" in p
        for p in problems(stacks)
    )


def test_a_flow_log_group_no_stack_creates_needs_create_log_group(stacks: dict[str, Any]) -> None:
    stacks["network"]["FlowLog"]["Properties"]["LogGroupName"] = "/petclinic/dev/elsewhere"
    found = problems(stacks)
    assert any(
        "network.FlowLog: needs logs:CreateLogGroup on" in p and "/petclinic/dev/elsewhere:*" in p
        for p in found
    )


def test_a_managed_policy_taken_off_fails_and_an_extra_one_is_not_needed(stacks: dict[str, Any]) -> None:
    monitoring = stacks["data"]["EnhancedMonitoringRole"]["Properties"]
    monitoring["ManagedPolicyArns"] = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    found = problems(stacks)
    assert any(
        p.startswith(
            "data.EnhancedMonitoringRole: needs the AWS managed policy AmazonRDSEnhancedMonitoringRole"
        )
        for p in found
    )
    assert any(
        p.startswith("data.EnhancedMonitoringRole: holds the AWS managed policy ReadOnlyAccess")
        for p in found
    )


# --------------------------------------------------------------------------- necessary


def test_an_action_nothing_calls_fails(stacks: dict[str, Any]) -> None:
    statement(stacks, "services.CustomersTaskRole", "ReadTheConfiguration")["Action"] = [
        "ssm:GetParameter",
        "ssm:GetParametersByPath",
    ]
    assert problems(stacks) == [
        "services.CustomersTaskRole customers-service/ReadTheConfiguration: grants ssm:GetParameter, which "
        "nothing that uses the role calls"
    ]


def test_a_wildcard_action_is_checked_for_every_action_it_names(stacks: dict[str, Any]) -> None:
    statement(stacks, "services.ExecutionRole", "InjectTheDatabaseSecret")["Action"] = "secretsmanager:Get*"
    found = problems(stacks)
    named = "services.ExecutionRole run-petclinic-tasks/InjectTheDatabaseSecret: grants secretsmanager:Get*"
    assert f"{named} (secretsmanager:getrandompassword), which nothing that uses the role calls" in found
    assert f"{named} (secretsmanager:getresourcepolicy), which nothing that uses the role calls" in found
    assert not any("getsecretvalue" in p for p in found)


@pytest.mark.parametrize(
    ("sid", "wider"),
    [
        ("InjectTheDatabaseSecret", ARN.format("secretsmanager", "secret:petclinic/dev/*")),
        ("WriteTheServiceLogs", ARN.format("logs", "log-group:*")),
        ("DecryptTheDatabaseSecret", ARN.format("kms", "key/*")),
        ("PullThePetClinicImages", ARN.format("ecr", "repository/*")),
    ],
)
def test_a_widened_resource_fails(stacks: dict[str, Any], sid: str, wider: str) -> None:
    statement(stacks, "services.ExecutionRole", sid)["Resource"] = wider
    found = [p for p in problems(stacks) if "WIDER accepts" not in p]  # the ECR entry then names nothing
    assert found
    assert all(
        f"run-petclinic-tasks/{sid}: grants" in p and f" on {wider}, beside or wider than" in p for p in found
    )


def test_the_services_key_added_back_to_the_execution_role_fails(stacks: dict[str, Any]) -> None:
    services_key = ARN.format("kms", "key/services-serviceskey")
    statement(stacks, "services.ExecutionRole", "DecryptTheDatabaseSecret")["Resource"] = [
        DATA_KEY,
        services_key,
    ]
    assert problems(stacks) == [
        "services.ExecutionRole run-petclinic-tasks/DecryptTheDatabaseSecret: grants kms:Decrypt on "
        f"{services_key}, beside or wider than what is needed ({DATA_KEY})"
    ]


def test_a_scopable_action_on_resource_star_fails(stacks: dict[str, Any]) -> None:
    statement(stacks, "network.FlowLogRole", "WriteTheFlowLogGroup")["Resource"] = "*"
    found = problems(stacks)
    assert any(
        p.startswith(
            'network.FlowLogRole deliver-flow-logs/WriteTheFlowLogGroup: logs:PutLogEvents on Resource "*"'
        )
        for p in found
    )


def test_not_resource_is_refused_and_a_deny_grants_nothing(stacks: dict[str, Any]) -> None:
    trace = statement(stacks, "services.VetsTaskRole", "TraceHasNoResourceLevelPermission")
    trace["NotResource"] = ARN.format("xray", "group/none")
    del trace["Resource"]
    assert problems(stacks) == [
        "services.VetsTaskRole vets-service/TraceHasNoResourceLevelPermission: NotAction or NotResource "
        "grants what it does not name: name it"
    ]
    del trace["NotResource"]
    trace["Resource"] = "*"
    statements(stacks, "services.VetsTaskRole").append(
        {"Effect": "Deny", "Action": "xray:PutTraceSegments", "Resource": "*"}
    )
    assert problems(stacks) == [
        "services.VetsTaskRole services.VetsTaskDefinition xray-daemon: needs xray:PutTraceSegments on *, "
        f"which no statement of the role allows; {workload_roles.XRAY_REASON}"
    ]


def test_a_wider_entry_no_statement_uses_fails(stacks: dict[str, Any]) -> None:
    statement(stacks, "services.ExecutionRole", "PullThePetClinicImages")["Resource"] = [
        ARN.format("ecr", f"repository/petclinic/dev/{service}")
        for service in ("customers-service", "vets-service", "visits-service", "admin-server")
    ]
    assert problems(stacks) == [
        "services.ExecutionRole: WIDER accepts "
        f"{ARN.format('ecr', 'repository/petclinic/dev/*')}, which no statement names: remove the entry"
    ]


# --------------------------------------------------------------------------- users


def test_a_role_nothing_uses_fails(stacks: dict[str, Any]) -> None:
    del stacks["network"]["FlowLog"]
    assert problems(stacks) == [
        "network.FlowLogRole: nothing infra/ declares uses it (tools/workload_roles.py reads its users)"
    ]


def test_an_image_of_another_registry_fails_and_ecr_public_needs_nothing(stacks: dict[str, Any]) -> None:
    containers = stacks["services"]["VetsTaskDefinition"]["Properties"]["ContainerDefinitions"]
    containers[0]["Image"] = "docker.io/library/vets:1"
    assert problems(stacks) == [
        "services.VetsTaskDefinition vets-service: image docker.io/library/vets:1: neither ECR nor "
        "ECR Public (what would pull it?)"
    ]


def test_a_secret_from_parameter_store_needs_get_parameters(stacks: dict[str, Any]) -> None:
    container = stacks["services"]["CustomersTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    container["Secrets"].append({"Name": "EXTRA", "ValueFrom": "/petclinic/dev/config/extra"})
    parameter = ARN.format("ssm", "parameter/petclinic/dev/config/extra")
    assert any(
        p.startswith(f"services.ExecutionRole {CUSTOMERS}: needs ssm:GetParameters on {parameter},")
        for p in problems(stacks)
    )


def test_an_http_namespace_fails_until_discovery_is_derived(stacks: dict[str, Any]) -> None:
    stacks["services"]["Namespace"]["Type"] = "AWS::ServiceDiscovery::HttpNamespace"
    assert any("services.Namespace: an HTTP namespace" in p for p in problems(stacks))


def test_the_report_counts_roles_statements_and_actions() -> None:
    figures = workload_roles.report(workload_roles.analyse())
    assert figures["roles"] == 9
    assert figures["actionsNeeded"] == figures["actionsGranted"]
    assert figures["perRole"]["services.ExecutionRole"]["actionsNeeded"] == 8
