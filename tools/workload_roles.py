"""The roles infra/ creates for the PetClinic services against what those services call.

tools/iam_check.py proves the control plane's roles; this proves the workload's, the roles
infra/*.yaml creates and AWS services assume: the ECS execution role and the task roles, the VPC
flow log role, RDS enhanced monitoring, API Gateway's CloudWatch role. The four stacks are
evaluated together (tests/template_eval.py's evaluator, for each of ``PARAMETER_SETS``; an
``Fn::ImportValue`` is the exporting stack's evaluated output), and what each role must allow is
read from what uses it:

* an ECS task definition's execution role: ECR's token and the pull of each container's image
  from its repository (an image of ECR Public needs none), ``logs:CreateLogStream`` and
  ``PutLogEvents`` on the ``awslogs`` driver's log group, and for each ``Secrets`` entry
  ``secretsmanager:GetSecretValue`` on the secret (``ssm:GetParameters`` on a parameter) and
  ``kms:Decrypt`` on the secret's customer managed key (Amazon ECS Developer Guide, task
  execution IAM role; an ECR repository's own KMS key needs nothing: ECR decrypts through its
  grant, Amazon ECR User Guide, encryption at rest);
* its task role: what the containers call, ``CONTAINERS``: the X-Ray daemon sidecar, and the
  Spring applications' configuration (Spring Cloud AWS Parameter Store) under ``CONFIG_PATH``;
  Cloud Map discovery through a DNS namespace needs no IAM action (an HTTP namespace fails the
  check: its clients would call ``servicediscovery:DiscoverInstances``);
* an ECS service's load balancer ``AdvancedConfiguration`` role (CANARY, LINEAR, BLUE_GREEN):
  reading the load balancer, ``ModifyRule`` on its production and test rules, registering
  targets in its two target groups (``TRAFFIC_SHIFT_REASON``); its lifecycle hooks' role:
  ``lambda:InvokeFunction`` on each hook's function (``HOOK_REASON``);
* a VPC flow log to CloudWatch Logs: ``FLOW_LOGS`` on its log group;
* an RDS instance's ``MonitoringRoleArn`` and API Gateway's account ``CloudWatchRoleArn``: the
  AWS managed policy the service's guide names (``MANAGED``).

The check fails, naming role, action and resource, when a role does not allow what a user needs
on that resource (SUFFICIENT), and when it grants an action nothing needs, names a resource beside
or wider than what is needed (``WIDER`` holds the accepted ones with their reasons), holds a
managed policy nothing needs, or puts on ``Resource: "*"`` an action IAM can scope (NECESSARY)::

    python tools/workload_roles.py --check    # make validate
    python tools/workload_roles.py --report   # the figures per role
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if str(Path(__file__).parent) not in sys.path:  # its sibling tools, as when it runs as a script
    sys.path.insert(0, str(Path(__file__).parent))
import iam_check

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT, REGION = "123456789012", "us-west-2"
STACKS = ("network", "data", "services", "edge")  # the order they are provisioned in: imports first
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/petclinic-ops/petclinic-ops-{{env}}-workload-boundary"
# The parameter sets the stacks are evaluated with: the defaults (dev, first provision: images
# from the data stack's repositories), and prod as the provision workflow re-provisions it (the
# running images by digest, the services' certificate).
HOOK_FUNCTION = "petclinic-ops-prod-deployment-hook"  # template.yaml's DeploymentHookFunction
_IMAGE = ACCOUNT + ".dkr.ecr." + REGION + ".amazonaws.com/petclinic/prod/{}@sha256:" + "ab" * 32
PARAMETER_SETS: dict[str, dict[str, str]] = {
    "defaults": {},
    "prod, running images": {
        "EnvironmentName": "prod",
        "CustomersImage": _IMAGE.format("customers-service"),
        "VetsImage": _IMAGE.format("vets-service"),
        "VisitsImage": _IMAGE.format("visits-service"),
        "AdminServerImage": _IMAGE.format("admin-server"),
        "CertificateArn": f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/1234abcd-12ab-34cd-56ef-1234567890ab",
        "OriginDomainName": "origin.example.com",
        "LifecycleHookFunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{HOOK_FUNCTION}",
    },
}

# What the containers call with their task role: image pattern -> (actions on "*", the reason).
XRAY_DAEMON = re.compile(r"(^|/)aws-xray-daemon(:|@|$)")
XRAY_ACTIONS = (
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
)
XRAY_REASON = (
    "the X-Ray daemon uploads segments and telemetry and proxies the SDK's centralized sampling "
    "(X-Ray Developer Guide, the daemon's permissions: AWSXRayDaemonWriteAccess without "
    "GetSamplingStatisticSummaries, which neither daemon nor SDK calls)"
)
# Every other container is a Spring Boot application reading its configuration by path
# (infra/data.yaml's spring.datasource.url parameter; Spring Cloud AWS's Parameter Store
# reference: ssm:GetParametersByPath, authorized against the path requested).
CONFIG_PATH = "/petclinic/{env}/config/"
CONFIG_REASON = (
    "Spring Cloud AWS Parameter Store imports the configuration under the path with "
    "GetParametersByPath (recursive: the path and the paths under it)"
)
# VPC Flow Logs to CloudWatch Logs (Amazon VPC User Guide, IAM role for publishing flow logs to
# CloudWatch Logs): logs:CreateLogGroup too, but only for a log group that does not exist; the
# stream of each network interface is named <eni>-all.
FLOW_LOGS_REASON = "VPC Flow Logs deliver with the role (Amazon VPC User Guide, flow logs to CloudWatch Logs)"
# The AWS managed policies the services' guides name for the role they assume: the property that
# hands the role over -> (the policy, the reason).
MANAGED: dict[tuple[str, str], tuple[str, str]] = {
    ("AWS::RDS::DBInstance", "MonitoringRoleArn"): (
        "AmazonRDSEnhancedMonitoringRole",
        "RDS enhanced monitoring (Amazon RDS User Guide, setting up enhanced monitoring: the role "
        "with the AWS managed policy AmazonRDSEnhancedMonitoringRole)",
    ),
    ("AWS::ApiGateway::Account", "CloudWatchRoleArn"): (
        "AmazonAPIGatewayPushToCloudWatchLogs",
        "API Gateway's account CloudWatch role (API Gateway Developer Guide, CloudWatch logging: "
        "the AWS managed policy AmazonAPIGatewayPushToCloudWatchLogs)",
    ),
}
# Resources a statement may name although they are wider than the needs: (role, ARN pattern with
# {env}) -> the reason.
WIDER: dict[tuple[str, str], str] = {
    ("services.ExecutionRole", f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/petclinic/{{env}}/*"): (
        "the environment's repositories (infra/data.yaml names them petclinic/{env}/<service>): the "
        "deploy workflow registers task definitions with any image of them, not only the ones the "
        "templates name"
    ),
}


iam: Any = iam_check
listed = iam.listed


def arn(service: str, rest: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{rest}"


class WorkloadRolesError(Exception):
    """The templates cannot be read for the check; the message says where."""


# --------------------------------------------------------------------------- the stacks


def _evaluator_class() -> Any:
    base = iam._template_eval().Evaluator

    class Evaluator(base):  # type: ignore[misc,valid-type]
        """tests/template_eval.py's, with the region's Availability Zones (data.yaml's instances)."""

        def intrinsic(self, key: str, argument: Any) -> Any:
            if key == "Fn::GetAZs":
                return [f"{REGION}{zone}" for zone in "abcd"]
            return super().intrinsic(key, argument)

    return Evaluator


def _names(stack: str, resources: Mapping[str, Any]) -> dict[str, str]:
    """``Ref`` and ``GetAtt`` of the resources whose name (or a stand-in for a generated id) fixes them."""
    names: dict[str, str] = {}
    for logical_id, resource in resources.items():
        props, kind = resource["Properties"], resource["Type"]
        name = props.get("LogGroupName") or props.get("RepositoryName") or props.get("Name")
        if kind == "AWS::Logs::LogGroup":
            names |= {logical_id: name, f"{logical_id}.Arn": arn("logs", f"log-group:{name}:*")}
        elif kind == "AWS::ECR::Repository":
            uri = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{name}"
            names |= {logical_id: name, f"{logical_id}.Arn": arn("ecr", f"repository/{name}")}
            names[f"{logical_id}.RepositoryUri"] = uri
        elif kind == "AWS::SecretsManager::Secret":
            names[logical_id] = arn("secretsmanager", f"secret:{name}-AbCdEf")
        elif kind == "AWS::KMS::Key":
            key = f"{stack}-{logical_id}".lower()
            names |= {logical_id: key, f"{logical_id}.Arn": arn("kms", f"key/{key}")}
        elif kind == "AWS::IAM::Role":
            role = props.get("RoleName") or f"petclinic-{stack}-{logical_id}-GENERATED"
            names[f"{logical_id}.Arn"] = f"arn:aws:iam::{ACCOUNT}:role{props.get('Path', '/')}{role}"
        elif kind == "AWS::SSM::Parameter":
            names[logical_id] = name
        elif kind == "AWS::ElasticLoadBalancingV2::TargetGroup":
            names[logical_id] = arn("elasticloadbalancing", f"targetgroup/{name}/0123456789abcdef")
        elif kind == "AWS::ElasticLoadBalancingV2::ListenerRule":
            balancer = next(
                (
                    r["Properties"].get("Name")
                    for r in resources.values()
                    if r["Type"] == "AWS::ElasticLoadBalancingV2::LoadBalancer"
                ),
                "GENERATED",
            )
            rule = f"listener-rule/app/{balancer}/50dc6c495c0c9188/f2f7dc8efc522ab2/{logical_id.lower()}"
            names[logical_id] = arn("elasticloadbalancing", rule)
    return names


PLACEHOLDER = re.compile(r"<([A-Za-z0-9]+(?:\.[A-Za-z.]+)?|import:[A-Za-z0-9-]+)>")


def _replace(node: Any, names: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return PLACEHOLDER.sub(lambda m: names.get(m.group(1), m.group(0)), node)
    if isinstance(node, list):
        return [_replace(item, names) for item in node]
    if isinstance(node, dict):
        return {key: _replace(item, names) for key, item in node.items()}
    return node


def evaluated(root: Path = ROOT, parameters: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Each stack's resources, evaluated with the parameters each declares (a boundary ARN given),
    resources' names and ARNs and the other stacks' exports in place of their placeholders."""
    from petclinic_local.stack.template import load_template  # noqa: PLC0415

    evaluator = _evaluator_class()
    paths = {path.stem: path for path in sorted((root / "infra").glob("*.yaml"))}
    order = [s for s in STACKS if s in paths] + sorted(set(paths) - set(STACKS))
    exports: dict[str, str] = {}
    stacks: dict[str, dict[str, Any]] = {}
    for stack in order:
        template = load_template(paths[stack])
        declared = template.get("Parameters", {})
        given = {k: v for k, v in (parameters or {}).items() if k in declared}
        env = given.get("EnvironmentName", "dev")
        if "PermissionsBoundaryArn" in declared:
            given["PermissionsBoundaryArn"] = BOUNDARY.format(env=env)
        values = evaluator(template, given)
        resources = {
            logical_id: {**resource, "Properties": values.value(resource.get("Properties", {}))}
            for logical_id, resource in template.get("Resources", {}).items()
            if not resource.get("Condition") or values.condition(resource["Condition"])
        }
        names = {**_names(stack, resources), **{f"import:{k}": v for k, v in exports.items()}}
        stacks[stack] = _replace(resources, names)
        outputs = _replace(values.value(template.get("Outputs", {})), names)
        exports |= {o["Export"]["Name"]: o["Value"] for o in outputs.values() if "Export" in o}
    return stacks


# --------------------------------------------------------------------------- what is needed


@dataclass(frozen=True)
class Need:
    role: str  # stack.LogicalId
    user: str  # what needs it: stack.LogicalId and the container or setting
    action: str
    resource: str  # what the call is authorized against ("*": no resource-level permission)
    scope: str  # the widest Resource a statement may grant it on
    reason: str


@dataclass
class Needs:
    actions: list[Need] = field(default_factory=list)
    managed: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))  # role -> policy
    users: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # role -> users
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was read and needs nothing


ECR_IMAGE = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<repo>[^:@]+)"
)
ECR_PULL = ("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage")
EXECUTION_REASON = "Amazon ECS Developer Guide, task execution IAM role"


def _log_stream(group: str, stream: str) -> str:
    return arn("logs", f"log-group:{group}:log-stream:{stream}")


def image_needs(role: str, user: str, image: str) -> tuple[list[Need], str | None]:
    """What the execution role needs to pull the image; a problem for a registry it cannot tell."""
    match = ECR_IMAGE.match(image)
    if match is None:
        if image.startswith("public.ecr.aws/"):
            return [], None  # ECR Public: pulled without credentials
        return [], f"{user}: image {image}: neither ECR nor ECR Public (what would pull it?)"
    repository = f"arn:aws:ecr:{match['region']}:{match['account']}:repository/{match['repo']}"
    token = Need(role, user, "ecr:GetAuthorizationToken", "*", "*", EXECUTION_REASON)
    return [token, *(Need(role, user, a, repository, repository, EXECUTION_REASON) for a in ECR_PULL)], None


def secret_needs(role: str, user: str, value_from: str, keys: Mapping[str, str]) -> list[Need]:
    """A ``Secrets`` entry: the secret (its JSON key and version stripped) or parameter, and its key."""
    reason = f"{EXECUTION_REASON}: secrets injected from the task definition"
    if ":secretsmanager:" in value_from:
        secret = ":".join(value_from.split(":")[:7])
        needs = [Need(role, user, "secretsmanager:GetSecretValue", secret, secret, reason)]
        if keys.get(secret):
            needs.append(Need(role, user, "kms:Decrypt", keys[secret], keys[secret], reason))
        return needs
    parameter = (
        value_from if value_from.startswith("arn:") else arn("ssm", f"parameter/{value_from.lstrip('/')}")
    )
    return [Need(role, user, "ssm:GetParameters", parameter, parameter, reason)]


def _role_key(value: Any, role_arns: Mapping[str, str]) -> str | None:
    return role_arns.get(value) if isinstance(value, str) else None


def task_definition_needs(
    where: str, properties: Mapping[str, Any], role_arns: Mapping[str, str], keys: Mapping[str, str], env: str
) -> Needs:
    found = Needs()
    execution = _role_key(properties.get("ExecutionRoleArn"), role_arns)
    task = _role_key(properties.get("TaskRoleArn"), role_arns)
    for container in properties.get("ContainerDefinitions", []):
        user = f"{where} {container['Name']}"
        if execution:
            found.users[execution].append(user)
            found.actions += _execution_needs(execution, user, container, keys, found.problems)
        if task:
            found.users[task].append(user)
            found.actions += _task_needs(task, user, container, env)
    return found


def _execution_needs(
    role: str, user: str, container: Mapping[str, Any], keys: Mapping[str, str], problems: list[str]
) -> list[Need]:
    needs, problem = image_needs(role, user, str(container.get("Image", "")))
    problems += [problem] if problem else []
    logging = container.get("LogConfiguration", {})
    if logging.get("LogDriver") == "awslogs":
        options = logging.get("Options", {})
        group = options["awslogs-group"]
        stream = _log_stream(
            group, f"{options.get('awslogs-stream-prefix', 'ecs')}/{container['Name']}/task-id"
        )
        scope = arn("logs", f"log-group:{group}:*")
        reason = f"{EXECUTION_REASON}: the awslogs log driver"
        needs += [
            Need(role, user, a, stream, scope, reason) for a in ("logs:CreateLogStream", "logs:PutLogEvents")
        ]
        if str(options.get("awslogs-create-group", "")).lower() == "true":
            needs.append(Need(role, user, "logs:CreateLogGroup", scope, scope, reason))
    for secret in container.get("Secrets", []):
        needs += secret_needs(role, user, str(secret["ValueFrom"]), keys)
    return needs


def _task_needs(role: str, user: str, container: Mapping[str, Any], env: str) -> list[Need]:
    if XRAY_DAEMON.search(str(container.get("Image", ""))):
        return [Need(role, user, a, "*", "*", XRAY_REASON) for a in XRAY_ACTIONS]
    path = CONFIG_PATH.format(env=env)
    resource = arn("ssm", f"parameter{path}")
    return [Need(role, user, "ssm:GetParametersByPath", resource, f"{resource}*", CONFIG_REASON)]


def flow_log_needs(where: str, properties: Mapping[str, Any], role: str, groups: set[str]) -> list[Need]:
    if properties.get("LogDestinationType", "cloud-watch-logs") != "cloud-watch-logs":
        return []
    group = str(properties["LogGroupName"])
    scope = arn("logs", f"log-group:{group}:*")
    stream = _log_stream(group, "eni-0123456789abcdef0-all")
    needs = [
        Need(role, where, "logs:CreateLogStream", stream, scope, FLOW_LOGS_REASON),
        Need(role, where, "logs:PutLogEvents", stream, scope, FLOW_LOGS_REASON),
        Need(role, where, "logs:DescribeLogStreams", scope, scope, FLOW_LOGS_REASON),
        Need(role, where, "logs:DescribeLogGroups", "*", "*", FLOW_LOGS_REASON),
    ]
    if group not in groups:  # a log group no stack creates: VPC Flow Logs creates it
        needs.append(Need(role, where, "logs:CreateLogGroup", scope, scope, FLOW_LOGS_REASON))
    return needs


# ECS's infrastructure role for load balancers (Amazon ECS Developer Guide, infrastructure IAM
# role for load balancers; the AWS managed policy AmazonECSInfrastructureRolePolicyForLoadBalancers
# names these actions on every rule and target group): a CANARY, LINEAR or BLUE_GREEN deployment
# reads the load balancer, weighs the service's production and test rules between its two target
# groups and registers the revisions' tasks in them.
TRAFFIC_SHIFT_REASON = (
    "ECS shifts the service's traffic between its target groups (Amazon ECS Developer Guide, "
    "infrastructure IAM role for load balancers)"
)
ELB_READS = (
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
)
TARGET_WRITES = ("elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets")


HOOK_REASON = (
    "ECS invokes a deployment lifecycle hook's Lambda function with the hook's role (Amazon ECS "
    "Developer Guide, permissions required for Lambda functions in blue/green deployments)"
)


def service_needs(where: str, properties: Mapping[str, Any], role_arns: Mapping[str, str]) -> Needs:
    """An ECS service's load balancers with ``AdvancedConfiguration`` and its lifecycle hooks:
    what their roles need."""
    found = Needs()
    for hook in (properties.get("DeploymentConfiguration") or {}).get("LifecycleHooks", []):
        role = _role_key(hook.get("RoleArn"), role_arns)
        target = hook.get("HookTargetArn")
        if role and target:
            user = f"{where} lifecycle hook"
            found.users[role].append(user)
            found.actions.append(Need(role, user, "lambda:InvokeFunction", target, target, HOOK_REASON))
    for balancer in properties.get("LoadBalancers", []):
        advanced = balancer.get("AdvancedConfiguration") or {}
        role = _role_key(advanced.get("RoleArn"), role_arns)
        if not role:
            continue
        user = f"{where} {balancer.get('ContainerName')}"
        found.users[role].append(user)
        found.actions += [Need(role, user, a, "*", "*", TRAFFIC_SHIFT_REASON) for a in ELB_READS]
        for rule in (advanced.get("ProductionListenerRule"), advanced.get("TestListenerRule")):
            if rule:
                found.actions.append(
                    Need(role, user, "elasticloadbalancing:ModifyRule", rule, rule, TRAFFIC_SHIFT_REASON)
                )
        for group in (balancer.get("TargetGroupArn"), advanced.get("AlternateTargetGroupArn")):
            if group:
                found.actions += [
                    Need(role, user, a, group, group, TRAFFIC_SHIFT_REASON) for a in TARGET_WRITES
                ]
    return found


def _index(stacks: Mapping[str, Mapping[str, Any]]) -> tuple[dict[str, str], dict[str, str], set[str]]:
    """Role ARN -> stack.LogicalId; secret ARN -> its customer managed key's ARN; log group names."""
    role_arns, keys, groups = {}, {}, set()
    for stack, resources in stacks.items():
        names = _names(stack, resources)
        for logical_id, resource in resources.items():
            props = resource["Properties"]
            if resource["Type"] == "AWS::IAM::Role":
                role_arns[names[f"{logical_id}.Arn"]] = f"{stack}.{logical_id}"
            elif resource["Type"] == "AWS::SecretsManager::Secret" and props.get("KmsKeyId"):
                key = str(props["KmsKeyId"])
                keys[names[logical_id]] = key if key.startswith("arn:") else arn("kms", f"key/{key}")
            elif resource["Type"] == "AWS::Logs::LogGroup":
                groups.add(str(props.get("LogGroupName")))
    return role_arns, keys, groups


def derive(stacks: Mapping[str, Mapping[str, Any]], env: str) -> Needs:
    """What every role infra/ creates must allow, from what uses it."""
    role_arns, keys, groups = _index(stacks)
    needs = Needs()
    for stack, resources in stacks.items():
        for logical_id, resource in resources.items():
            where, props, kind = f"{stack}.{logical_id}", resource["Properties"], resource["Type"]
            if kind == "AWS::ECS::TaskDefinition":
                found = task_definition_needs(where, props, role_arns, keys, env)
                needs.actions += found.actions
                needs.problems += found.problems
                for user_role, users in found.users.items():
                    needs.users[user_role] += users
            elif kind == "AWS::ECS::Service":
                found = service_needs(where, props, role_arns)
                needs.actions += found.actions
                for user_role, users in found.users.items():
                    needs.users[user_role] += users
            elif kind == "AWS::EC2::FlowLog" and (
                flow_role := _role_key(props.get("DeliverLogsPermissionArn"), role_arns)
            ):
                needs.users[flow_role].append(where)
                needs.actions += flow_log_needs(where, props, flow_role, groups)
            elif kind == "AWS::ServiceDiscovery::HttpNamespace":
                needs.problems.append(
                    f"{where}: an HTTP namespace: its clients call servicediscovery:DiscoverInstances, "
                    "which tools/workload_roles.py does not derive yet"
                )
            elif kind == "AWS::ServiceDiscovery::PrivateDnsNamespace":
                needs.notes.append(f"{where}: Cloud Map through DNS ({props.get('Name')}): no IAM action")
            _managed_needs(needs, where, kind, props, role_arns)
    return needs


def _managed_needs(
    needs: Needs, where: str, kind: str, props: Mapping[str, Any], role_arns: Mapping[str, str]
) -> None:
    for (managed_kind, prop), (policy, reason) in MANAGED.items():
        role = _role_key(props.get(prop), role_arns) if kind == managed_kind else None
        if role:
            needs.users[role].append(where)
            needs.managed[role][policy] = reason


# --------------------------------------------------------------------------- the check


def roles(stacks: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Every AWS::IAM::Role of infra/, as tools/iam_check.py's ``Role`` (keyed stack.LogicalId)."""
    found = {}
    for stack, resources in stacks.items():
        for logical_id, role in iam.roles_of(resources).items():
            role.logical_id = f"{stack}.{logical_id}"
            found[role.logical_id] = role
    return found


def sufficient(role: Any, needs: Iterable[Need], managed: Mapping[str, str], schemas: Any) -> list[str]:
    problems = []
    for need in sorted(set(needs), key=lambda n: (n.user, n.action, n.resource)):
        if schemas.action(need.action) is None:
            problems.append(f"{need.role} {need.user}: {need.action} is not an IAM action (reference)")
        elif not role.allows(need.action, None if need.resource == "*" else need.resource):
            problems.append(
                f"{need.role} {need.user}: needs {need.action} on {need.resource}, which no statement "
                f"of the role allows; {need.reason}"
            )
    problems += [
        f"{role.logical_id}: needs the AWS managed policy {policy} ({reason})"
        for policy, reason in managed.items()
        if policy not in role.managed
    ]
    return problems


def _within(pattern: str, scope: str) -> bool:
    """Whether every resource the pattern names is one the scope names (its wildcards read literally)."""
    return bool(iam.resource_matches(scope, pattern))


def _accepted(role: str, pattern: str, env: str) -> bool:
    return any(r == role and p.format(env=env) == pattern for r, p in WIDER)


def necessary(role: Any, needs: list[Need], managed: Mapping[str, str], schemas: Any, env: str) -> list[str]:
    problems = [
        f"{role.logical_id}: holds the AWS managed policy {policy}, which nothing that uses the role needs"
        for policy in role.managed
        if policy not in managed
    ]
    for name, statement in role.statements:
        where = f"{role.logical_id} {name}"
        if statement.get("Effect") != "Allow":
            continue  # a Deny grants nothing (Role.allows honours it)
        if "NotAction" in statement or "NotResource" in statement:
            problems.append(f"{where}: NotAction or NotResource grants what it does not name: name it")
            continue
        for pattern in listed(statement.get("Action", [])):
            for action in iam.expand(pattern, schemas) or [pattern]:
                shown = pattern if action == pattern else f"{pattern} ({action})"
                resources = listed(statement.get("Resource", []))
                problems += _action_problems(where, (action, shown), resources, needs, env)
    return problems


def _action_problems(
    where: str, action: tuple[str, str], resources: list[Any], needs: list[Need], env: str
) -> list[str]:
    """``action``: the action, and how the statement names it (a wildcard and what it expands to)."""
    scopes = sorted({n.scope for n in needs if n.action.lower() == action[0].lower()})
    if not scopes:
        return [f"{where}: grants {action[1]}, which nothing that uses the role calls"]
    role = where.split(" ", 1)[0]
    return [
        f"{where}: grants {action[1]} on {resource}, beside or wider than what is needed "
        f"({', '.join(scopes)})"
        for resource in resources
        if resource != "*"  # iam_check.star_problems decides "*"
        and not any(_within(str(resource), scope) for scope in scopes)
        and not _accepted(role, str(resource), env)
    ]


@dataclass
class Analysis:
    roles: dict[str, Any]
    needs: Needs
    env: str


def analyse(root: Path = ROOT, parameters: Mapping[str, str] | None = None, stacks: Any = None) -> Analysis:
    """``stacks``: the evaluated stacks (``evaluated(root, parameters)``; a test passes an altered copy)."""
    stacks = stacks if stacks is not None else evaluated(root, parameters)
    env = (parameters or {}).get("EnvironmentName", "dev")
    return Analysis(roles(stacks), derive(stacks, env), env)


def check(analysis: Analysis, schemas: Any) -> list[str]:
    problems = list(analysis.needs.problems)
    by_role: dict[str, list[Need]] = defaultdict(list)
    for need in analysis.needs.actions:
        by_role[need.role].append(need)
    for role_id, role in sorted(analysis.roles.items()):
        if role_id not in analysis.needs.users:
            problems.append(
                f"{role_id}: nothing infra/ declares uses it (tools/workload_roles.py reads its users)"
            )
            continue
        managed = analysis.needs.managed.get(role_id, {})
        problems += sufficient(role, by_role[role_id], managed, schemas)
        problems += necessary(role, by_role[role_id], managed, schemas, analysis.env)
    problems += iam.star_problems(analysis.roles.values(), schemas)
    return problems + _unused_wider(analysis)


def _unused_wider(analysis: Analysis) -> list[str]:
    """A ``WIDER`` entry no statement of its role names any more is taken out, not kept."""
    named = {
        (role_id, str(resource))
        for role_id, role in analysis.roles.items()
        for _, statement in role.statements
        for resource in listed(statement.get("Resource", []))
    }
    return [
        f"{role}: WIDER accepts {pattern.format(env=analysis.env)}, which no statement names: "
        "remove the entry"
        for role, pattern in WIDER
        if (role, pattern.format(env=analysis.env)) not in named
    ]


# --------------------------------------------------------------------------- the figures


def _granted(role: Any) -> Iterator[str]:
    for _, statement in role.statements:
        yield from listed(statement.get("Action", []))


def report(analysis: Analysis) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for role_id, role in sorted(analysis.roles.items()):
        needs = [n for n in analysis.needs.actions if n.role == role_id]
        figures[role_id] = {
            "users": len(set(analysis.needs.users.get(role_id, []))),
            "statements": len(role.statements),
            "actionsNeeded": len({n.action for n in needs}),
            "actionResourcePairsNeeded": len({(n.action, n.resource) for n in needs}),
            "actionsGranted": len(set(_granted(role))),
            "managedPolicies": role.managed,
        }
    return {
        "roles": len(analysis.roles),
        "statements": sum(len(r.statements) for r in analysis.roles.values()),
        "actionsNeeded": len({(n.role, n.action) for n in analysis.needs.actions}),
        "actionResourcePairsNeeded": len({(n.role, n.action, n.resource) for n in analysis.needs.actions}),
        "managedPoliciesNeeded": sum(len(p) for p in analysis.needs.managed.values()),
        "actionsGranted": sum(len(set(_granted(r))) for r in analysis.roles.values()),
        "perRole": figures,
        "notes": analysis.needs.notes,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="fail on a permission missing or not needed")
    mode.add_argument("--report", action="store_true", help="print the figures as JSON")
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    schemas = iam.reference()
    problems: list[str] = []
    figures: dict[str, Any] = {}
    try:
        for name, parameters in PARAMETER_SETS.items():
            analysis = analyse(args.root, parameters)
            figures[name] = report(analysis)
            problems += [f"[{name}] {problem}" for problem in check(analysis, schemas)]
    except (WorkloadRolesError, KeyError) as exc:
        print(f"workload_roles: {exc}", file=sys.stderr)
        return 1
    if args.report:
        print(json.dumps(figures, indent=2))
        return 0
    for problem in problems:
        print(f"workload_roles: {problem}", file=sys.stderr)
    if not problems:
        for name, found in figures.items():
            print(
                f"workload_roles: [{name}] {found['roles']} roles of infra/ allow the "
                f"{found['actionsNeeded']} actions their users need and no more "
                f"({found['statements']} statements)"
            )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
