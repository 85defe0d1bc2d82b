"""The control plane's own IAM roles against what their workflows and functions call.

What the local cloud cannot prove (it does not enforce IAM), this proves statically, on
template.yaml as SAM deploys it (tools/template_checks.py's offline transform, intrinsics
evaluated by tests/template_eval.py for each of ``PARAMETER_SETS``: the defaults, and a set that
turns every conditional statement of the roles on):

* every Task state of each state machine's ASL (inside Parallel and Map too): an optimised
  integration requires the actions ``OPTIMISED`` lists (Step Functions' "IAM policies for
  integrated services" pages; ``.sync`` adds what Step Functions needs to follow the job), an
  ``aws-sdk:<service>:<api>`` one requires ``<prefix>:<Api>``, the operation and the IAM prefix
  read from botocore's service model (``SDK_SERVICES`` and ``IAM_PREFIXES`` hold the exceptions);
* every boto3 call in the Python a function deploys (its CodeUri, and the layer's modules it
  imports, lazily or not): the client's service and method, mapped to the operation by botocore
  (paginators and waiters: their operation), then to the IAM action; Powertools' Parameters
  provider by its documented calls (``POWERTOOLS``);
* what a resource's configuration makes AWS call with the role (``CONFIGURED``): a state
  machine's logging and tracing, a function's logs, tracing and VPC, a KMS-encrypted topic it
  publishes to; and what the arguments this project passes add to a call (``WITH_REQUEST``:
  the roles and tags it passes). A Task state a substitution leaves unreachable is left out
  only while it does (``NOT_REACHED``).

Each required action must be allowed by an ``Allow`` statement of the role (action wildcards
honoured, ``NotAction``/``NotResource`` and unconditional ``Deny`` considered, AWS managed policies
by the actions ``MANAGED_POLICIES`` lists); where the call's target is fixed in the template (a
DynamoDB table, a Lambda function, a state machine and its executions, an SNS topic), a statement's
``Resource`` must cover it. Every ``Resource: "*"`` statement of the control plane's roles (the
CloudFormation role is tools/cfn_role.py's) may carry only actions that IAM's service
authorization reference (cfn-lint's ``Policies.json``, read through tools/cfn_role.py's
``Schemas``) lists without resource types, or that ``STAR_ACCEPTED`` names with its reason::

    python tools/iam_check.py --check    # make validate; fails naming role, state or call site, action
    python tools/iam_check.py --report   # the figures; granted actions nothing requires, as information
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parents[1]

CLOUDFORMATION_ROLE = "CloudFormationRole"  # tools/cfn_role.py checks it
LAYER = Path("layers/shared")  # the shared layer every function has (template.yaml Globals)
ASL, PYTHON, CONFIG = "asl", "python", "config"
# The parameter sets the template is evaluated with: the defaults, and one that turns on every
# conditional statement of the roles (an existing secret with its master secret and key, the
# functions in VPCs, a guardrail, prod).
_ARN = "arn:aws:{}:us-west-2:123456789012:{}"
PARAMETER_SETS: dict[str, dict[str, str]] = {
    "defaults": {},
    "existing secret, VPCs, guardrail, prod": {
        "EnvironmentName": "prod",
        "DatabaseSecretArn": _ARN.format("secretsmanager", "secret:petclinic/prod/aurora/app-AbCdEf"),
        "DatabaseMasterSecretArn": _ARN.format(
            "secretsmanager", "secret:petclinic/prod/aurora/master-AbCdEf"
        ),
        "DatabaseSecretsKmsKeyArn": _ARN.format("kms", "key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        "RotationSubnetIds": "subnet-0123456789abcdef0,subnet-0123456789abcdef1",
        "RotationSecurityGroupIds": "sg-0123456789abcdef0",
        "GenAiSubnetIds": "subnet-0123456789abcdef0,subnet-0123456789abcdef1",
        "GenAiSecurityGroupIds": "sg-0123456789abcdef0",
        "GenAiGuardrailId": "gr0123456789",
    },
}


def _load(name: str, path: Path) -> Any:
    """A module of the repository that is not a package's (tools/, tests/), loaded by its path."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # their dataclasses look their module up
    spec.loader.exec_module(module)
    return module


class Reference(Protocol):
    """IAM's service authorization reference, as tools/cfn_role.py's ``Schemas`` reads it."""

    iam: dict[str, Any]

    def action(self, action: str) -> dict[str, Any] | None: ...

    def resource_level(self, action: str) -> bool: ...


def reference() -> Reference:
    reference: Reference = _load("cfn_role", ROOT / "tools" / "cfn_role.py").Schemas()
    return reference


# --------------------------------------------------------------------------- the tables

# Optimised integrations: "service:api" -> the actions the state machine's role needs (Step
# Functions Developer Guide, "IAM policies for integrated services", each service's page).
OPTIMISED: dict[str, tuple[str, ...]] = {
    "lambda:invoke": ("lambda:InvokeFunction",),
    "dynamodb:getItem": ("dynamodb:GetItem",),
    "dynamodb:putItem": ("dynamodb:PutItem",),
    "dynamodb:updateItem": ("dynamodb:UpdateItem",),
    "dynamodb:deleteItem": ("dynamodb:DeleteItem",),
    "sns:publish": ("sns:Publish",),
    "sqs:sendMessage": ("sqs:SendMessage",),
    "events:putEvents": ("events:PutEvents",),
    "states:startExecution": ("states:StartExecution",),
    "ecs:runTask": ("ecs:RunTask",),
}
# What ``.sync`` (and ``.sync:2``) adds: Step Functions follows the job through a managed
# EventBridge rule and describes (or stops) it (the same pages, "Synchronous" policies).
SYNC_EXTRA: dict[str, tuple[tuple[str, ...], str]] = {
    "states:startExecution": (
        (
            "states:DescribeExecution",
            "states:StopExecution",
            "events:PutTargets",
            "events:PutRule",
            "events:DescribeRule",
        ),
        "StepFunctionsGetEventsForStepFunctionsExecutionRule",
    ),
    "ecs:runTask": (
        ("ecs:StopTask", "ecs:DescribeTasks", "events:PutTargets", "events:PutRule", "events:DescribeRule"),
        "StepFunctionsGetEventsForECSTaskRule",
    ),
}
# AWS SDK integrations name a service by the SDK's service id, lowercase without spaces (Step
# Functions Developer Guide, "Integrating AWS SDK services"); botocore names two of ours otherwise.
# Each entry is checked: the botocore model's serviceId, so normalised, must be the integration's.
SDK_SERVICES: dict[str, str] = {"sfn": "stepfunctions", "cloudwatchlogs": "logs"}
# The IAM prefix is the model's signingName (else its endpointPrefix), but for: name -> prefix
# (IAM service authorization reference: CloudWatch's prefix is cloudwatch; it signs as monitoring).
IAM_PREFIXES: dict[str, str] = {"monitoring": "cloudwatch"}
# Operations whose IAM action is not named after them: (botocore service, operation) -> actions
# (the service authorization reference's "API operations" tables).
OPERATION_ACTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("bedrock-runtime", "Converse"): ("bedrock:InvokeModel",),
    ("bedrock-runtime", "ConverseStream"): ("bedrock:InvokeModelWithResponseStream",),
    ("lambda", "Invoke"): ("lambda:InvokeFunction",),
    ("s3", "ListObjectsV2"): ("s3:ListBucket",),
    ("s3", "HeadObject"): ("s3:GetObject",),
}
# Powertools' Parameters SSM provider: method -> the actions its calls need (Powertools for AWS
# Lambda (Python), Parameters utility, "IAM Permissions": get -> GetParameter, get_multiple ->
# GetParametersByPath (a paginator), get_parameters_by_name -> GetParameters).
POWERTOOLS_SSM = "powertools:SSMProvider"
POWERTOOLS: dict[str, tuple[str, ...]] = {
    "get": ("ssm:GetParameter",),
    "get_multiple": ("ssm:GetParametersByPath",),
    "get_parameters_by_name": ("ssm:GetParameters",),
}
# Its Secrets Manager provider: get -> GetSecretValue (the same page).
POWERTOOLS_SECRETS = "powertools:SecretsProvider"
POWERTOOLS_SECRETS_CALLS: dict[str, tuple[str, ...]] = {"get": ("secretsmanager:GetSecretValue",)}
# What the AWS managed policies SAM attaches allow (IAM's published policy documents), on "*".
MANAGED_POLICIES: dict[str, tuple[str, ...]] = {
    "AWSLambdaBasicExecutionRole": ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"),
    "AWSXrayWriteOnlyAccess": (
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:GetSamplingStatisticSummaries",
    ),
}
# What a resource's configuration makes AWS call with its role.
CONFIGURED: dict[str, tuple[tuple[str, ...], str]] = {
    "StateMachineLogging": (
        (
            "logs:CreateLogDelivery",
            "logs:GetLogDelivery",
            "logs:UpdateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:DescribeResourcePolicies",
            "logs:DescribeLogGroups",
        ),
        "Step Functions Developer Guide, IAM policies for logging to CloudWatch Logs",
    ),
    "StateMachineTracing": (
        (
            "xray:PutTraceSegments",
            "xray:PutTelemetryRecords",
            "xray:GetSamplingRules",
            "xray:GetSamplingTargets",
        ),
        "Step Functions Developer Guide, IAM policies for AWS X-Ray",
    ),
    "FunctionTracing": (
        ("xray:PutTraceSegments", "xray:PutTelemetryRecords"),
        "Lambda Developer Guide, active tracing: the execution role's permissions",
    ),
    "FunctionLogs": (
        ("logs:CreateLogStream", "logs:PutLogEvents"),
        "Lambda Developer Guide, the execution role and its log group",
    ),
    "FunctionVpc": (
        (
            "ec2:CreateNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses",
        ),
        "Lambda Developer Guide, VPC access: the execution role creates and manages the network interfaces",
    ),
    "EncryptedTopic": (
        ("kms:GenerateDataKey", "kms:Decrypt"),
        "SNS Developer Guide, server-side encryption: a publisher to an encrypted topic needs the key",
    ),
}
# Actions AWS checks on top of an operation's own, for the arguments this project's calls pass:
# action -> (the further actions, the reason).
WITH_REQUEST: dict[str, tuple[tuple[str, ...], str]] = {
    "ecs:RegisterTaskDefinition": (
        ("iam:PassRole", "ecs:TagResource"),
        "the deploy workflow registers a copy of the service's task definition, its task and execution "
        "roles (passed: iam:PassRole) and its tags (tag-on-create: ecs:TagResource) included",
    ),
    "cloudformation:CreateChangeSet": (
        ("iam:PassRole",),
        "the provision function names the CloudFormation role (RoleARN), which CloudFormation "
        "checks as iam:PassRole",
    ),
}
# Task states a definition's substitution makes unreachable: (ASL file, state) -> (the
# substitution, the value that leaves the state unreached, the reason).
NOT_REACHED: dict[tuple[str, str], tuple[str, str, str]] = {
    ("statemachines/task-token-relay.asl.json", "FailWait"): (
        "FailedStatuses",
        "",
        "the relay fails a wait only for a status FailedStatuses lists ($failed is false when it is empty)",
    ),
}
# Actions acceptable on Resource "*" although the reference lists a resource type for them:
# action -> (the condition key the statement must carry, or None; the reason).
STAR_ACCEPTED: dict[str, tuple[str | None, str]] = {
    "cloudformation:GetTemplateSummary": (
        None,
        "its resource type, a stack, is optional: the provision function asks for the summary of a "
        'template (TemplateURL), of no stack, which IAM authorizes against "*"',
    ),
    "cloudwatch:PutMetricData": (
        "cloudwatch:namespace",
        "its only resource type, a CloudWatch dataset, is optional and the metrics go to no named "
        "dataset; CloudWatch's user guide (condition keys to limit access to namespaces) scopes "
        'PutMetricData by Resource "*" with the cloudwatch:namespace condition, which the statement '
        "must carry",
    ),
    "cloudwatch:GetMetricData": (
        None,
        "its only resource type, a CloudWatch dataset, is optional and the deployment hook reads the "
        "ALB's own metrics (AWS/ApplicationELB), of no named dataset, which IAM authorizes against "
        '"*" (and GetMetricData takes no namespace condition key)',
    ),
}


class IamCheckError(Exception):
    """The template or the code cannot be read for the check; the message says where."""


# --------------------------------------------------------------------------- IAM statements

Statement = dict[str, Any]


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@cache
def _pattern(text: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    return re.compile(body, re.IGNORECASE if ignore_case else 0)


def action_matches(pattern: str, action: str) -> bool:
    return pattern == "*" or bool(_pattern(pattern, True).fullmatch(action))


def resource_matches(pattern: Any, resource: str) -> bool:
    return isinstance(pattern, str) and (pattern == "*" or bool(_pattern(pattern, False).fullmatch(resource)))


def _covers(statement: Statement, action: str, resource: str | None) -> bool:
    if "NotAction" in statement:
        if any(action_matches(p, action) for p in listed(statement["NotAction"])):
            return False
    elif not any(action_matches(p, action) for p in listed(statement.get("Action", []))):
        return False
    if resource is None:
        return True
    if "NotResource" in statement:
        return not any(resource_matches(p, resource) for p in listed(statement["NotResource"]))
    return any(resource_matches(p, resource) for p in listed(statement.get("Resource", [])))


@dataclass
class Role:
    logical_id: str
    statements: list[tuple[str, Statement]] = field(default_factory=list)  # (policy/Sid, statement)
    managed: list[str] = field(default_factory=list)

    def allows(self, action: str, resource: str | None) -> bool:
        denied = any(
            s.get("Effect") == "Deny" and "Condition" not in s and _covers(s, action, resource or "*")
            for _, s in self.statements
        )
        if denied:
            return False
        if any(s.get("Effect") == "Allow" and _covers(s, action, resource) for _, s in self.statements):
            return True
        return any(
            action_matches(granted, action)
            for name in self.managed
            for granted in MANAGED_POLICIES.get(name, ())
        )


def roles_of(resources: Mapping[str, Any]) -> dict[str, Role]:
    roles = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::IAM::Role" or logical_id == CLOUDFORMATION_ROLE:
            continue
        role = Role(logical_id)
        properties = resource.get("Properties", {})
        for policy in properties.get("Policies", []):
            for index, statement in enumerate(listed(policy["PolicyDocument"].get("Statement", []))):
                role.statements.append((f"{policy['PolicyName']}/{statement.get('Sid') or index}", statement))
        for arn in properties.get("ManagedPolicyArns", []):
            role.managed.append(str(arn).rsplit("/", 1)[-1])
        roles[logical_id] = role
    return roles


# --------------------------------------------------------------------------- the template


@cache
def _template_eval() -> Any:
    return _load("template_eval", ROOT / "tests" / "template_eval.py")


def arn(service: str, rest: str) -> str:
    """An ARN in the account, region and partition the template is evaluated for."""
    where = _template_eval()
    return f"arn:{where.PARTITION}:{service}:{where.REGION}:{where.ACCOUNT}:{rest}"


def evaluated(root: Path = ROOT, parameters: Mapping[str, str] | None = None) -> dict[str, Any]:
    """template.yaml as SAM deploys it, evaluated with the parameters (defaults for the others),
    its placeholders for the resources whose names the template fixes replaced by their names
    and ARNs."""
    template_eval = _template_eval()
    template = template_eval.transformed(root / "template.yaml")
    return resolve_names(template_eval.evaluate(template, dict(parameters or {})))


PLACEHOLDER = re.compile(r"<([A-Za-z0-9]+)(?:\.([A-Za-z]+))?>")


# The resources whose name property fixes their Ref and ARN: type -> (name property, Ref is the
# ARN, the attribute's name, the ARN from the name).
NAMED: dict[str, tuple[str, bool, str, Any]] = {
    "AWS::DynamoDB::Table": ("TableName", False, "Arn", lambda n: arn("dynamodb", f"table/{n}")),
    "AWS::Lambda::Function": ("FunctionName", False, "Arn", lambda n: arn("lambda", f"function:{n}")),
    "AWS::StepFunctions::StateMachine": (
        "StateMachineName",
        True,
        "Arn",
        lambda n: arn("states", f"stateMachine:{n}"),
    ),
    "AWS::SNS::Topic": ("TopicName", True, "TopicArn", lambda n: arn("sns", n)),
    "AWS::Logs::LogGroup": ("LogGroupName", False, "Arn", lambda n: arn("logs", f"log-group:{n}:*")),
}


def resolve_names(resources: dict[str, Any]) -> dict[str, Any]:
    """``<Table>`` / ``<Table.Arn>`` (a resource's Ref and GetAtt left by the evaluation) as the name
    and ARN the resource's own name property fixes; anything else stays a placeholder."""
    names: dict[str, str] = {}
    for logical_id, resource in resources.items():
        prop, ref_is_arn, attribute, to_arn = NAMED.get(resource["Type"], ("", False, "", None))
        name = resource.get("Properties", {}).get(prop)
        if isinstance(name, str):
            names[logical_id] = to_arn(name) if ref_is_arn else name
            names[f"{logical_id}.{attribute}"] = to_arn(name)
            names[f"{logical_id}.Name"] = name

    def replace(node: Any) -> Any:
        if isinstance(node, str):
            return PLACEHOLDER.sub(lambda m: names.get(m.group(0)[1:-1], m.group(0)), node)
        if isinstance(node, list):
            return [replace(item) for item in node]
        if isinstance(node, dict):
            return {key: replace(item) for key, item in node.items()}
        return node

    return {logical_id: replace(resource) for logical_id, resource in resources.items()}


def _role_of(properties: Mapping[str, Any], key: str) -> str | None:
    match = PLACEHOLDER.fullmatch(str(properties.get(key, "")))
    return match.group(1) if match else None


# --------------------------------------------------------------------------- what is required


@dataclass(frozen=True)
class Need:
    role: str
    source: str  # ASL, PYTHON or CONFIG
    where: str  # the state (file#State) or the call site (path:line), or the configuration
    action: str
    resource: str | None = None  # what the call targets, where the template fixes it


@cache
def _botocore() -> Any:
    import botocore.session  # noqa: PLC0415

    return botocore.session.get_session()


@cache
def _model(service: str) -> Any:
    try:
        return _botocore().get_service_model(service)
    except Exception as exc:  # botocore's UnknownServiceError and friends
        raise IamCheckError(f"botocore has no service {service!r}") from exc


def iam_prefix(service: str) -> str:
    metadata = _model(service).metadata
    name = str(metadata.get("signingName") or metadata["endpointPrefix"])
    return IAM_PREFIXES.get(name, name)


def operation_actions(service: str, operation: str) -> tuple[str, ...]:
    """The IAM actions a botocore operation needs."""
    if (service, operation) in OPERATION_ACTIONS:
        return OPERATION_ACTIONS[(service, operation)]
    return (f"{iam_prefix(service)}:{operation}",)


def sdk_service(name: str) -> str:
    """The botocore service of an ``aws-sdk:<name>:`` integration."""
    service = SDK_SERVICES.get(name, name)
    candidates = [service, *(s for s in _botocore().get_available_services() if s.replace("-", "") == name)]
    for candidate in candidates:
        try:
            model = _model(candidate)
        except IamCheckError:
            continue
        if re.sub(r"[\s-]", "", str(model.metadata.get("serviceId", ""))).lower() == name:
            return str(candidate)
    raise IamCheckError(f"aws-sdk:{name}: no botocore service with that service id (add it to SDK_SERVICES)")


@cache
def sdk_actions(integration: str) -> tuple[str, ...]:
    """``cloudwatchlogs:filterLogEvents`` -> ``("logs:FilterLogEvents",)``."""
    name, _, api = integration.partition(":")
    service = sdk_service(name)
    operations = {op.lower(): op for op in _model(service).operation_names}
    operation = operations.get(api.lower())
    if operation is None:
        raise IamCheckError(f"aws-sdk:{integration}: {service} has no operation {api}")
    return operation_actions(service, operation)


TASK_RESOURCE = re.compile(r"arn:[^:]+:states:::(?P<api>[^.]+)(?P<pattern>\.sync(?::2)?|\.waitForTaskToken)?")
LITERAL = re.compile(r"[^{}$<>%*]+")


def _literal(value: Any, substitutions: Mapping[str, Any]) -> str | None:
    if not isinstance(value, str):
        return None
    text = re.sub(r"\$\{([^}]+)\}", lambda m: str(substitutions.get(m.group(1), m.group(0))), value)
    return text if LITERAL.fullmatch(text) else None


def integration_actions(resource: str) -> tuple[str, list[str]]:
    """A Task's Resource -> (its API, ``service:api``; the actions its role needs)."""
    match = TASK_RESOURCE.fullmatch(resource)
    if match is None:
        if re.fullmatch(r"arn:[^:]+:lambda:.*", resource):
            return "lambda:function", ["lambda:InvokeFunction"]
        raise IamCheckError(f"Resource {resource}: neither an integration nor a function")
    api, pattern = match["api"], match["pattern"] or ""
    if api.startswith("aws-sdk:"):
        if pattern.startswith(".sync"):
            raise IamCheckError(f"{resource}: AWS SDK integrations have no .sync")
        return api, list(sdk_actions(api.removeprefix("aws-sdk:")))
    if api not in OPTIMISED:
        raise IamCheckError(f"{resource}: an optimised integration not in tools/iam_check.py OPTIMISED")
    actions = list(OPTIMISED[api])
    if pattern.startswith(".sync"):
        if api not in SYNC_EXTRA:
            raise IamCheckError(f"{resource}: .sync of an integration not in SYNC_EXTRA")
        actions += SYNC_EXTRA[api][0]
    return api, actions


# The argument naming what an integration acts on, and its ARN from the argument's value.
TARGETS: dict[str, tuple[str, Any]] = {
    "dynamodb": ("TableName", lambda name: arn("dynamodb", f"table/{name}")),
    "lambda:invoke": (
        "FunctionName",
        lambda name: name if name.startswith("arn:") else arn("lambda", f"function:{name}"),
    ),
    "sns:publish": ("TopicArn", lambda topic: topic),
    "states:startExecution": ("StateMachineArn", lambda machine: machine),
}


def _target(api: str, action: str, args: Mapping[str, Any], substitutions: Mapping[str, Any]) -> str | None:
    """The ARN the action is called on, where the state's arguments fix it (None: not known)."""
    if api in SYNC_EXTRA and action.startswith("events:"):
        return arn("events", f"rule/{SYNC_EXTRA[api][1]}")
    argument, to_arn = TARGETS.get(
        api, TARGETS.get(api.removeprefix("aws-sdk:").split(":", 1)[0], ("", None))
    )
    value = _literal(args.get(argument), substitutions) if argument else None
    target: str | None = to_arn(value) if value else None
    if target and api == "states:startExecution" and action != "states:StartExecution":
        target = target.replace(":stateMachine:", ":execution:") + ":an-execution"
    return target


def task_needs(
    resource: str, arguments: Any, substitutions: Mapping[str, Any]
) -> list[tuple[str, str | None]]:
    """(action, target ARN or None) a Task state's role needs, from its Resource and arguments."""
    args = arguments if isinstance(arguments, dict) else {}
    api, actions = integration_actions(resource)
    if api == "lambda:function":  # a Task whose Resource is the function itself
        return [("lambda:InvokeFunction", resource)]
    return [(action, _target(api, action, args, substitutions)) for action in actions]


def with_request(required: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    """The actions with those AWS checks for the arguments passed (``WITH_REQUEST``)."""
    extra = [(a, None) for action, _ in required for a in WITH_REQUEST.get(action, ((), ""))[0]]
    return required + [item for item in extra if item not in required]


def tasks(states: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every Task state, those inside Parallel branches and Map processors too."""
    for name, state in states.items():
        if state.get("Type") == "Task":
            yield prefix + name, state
        for index, branch in enumerate(state.get("Branches", [])):
            yield from tasks(branch.get("States", {}), f"{prefix}{name}[{index}]/")
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from tasks(state[key].get("States", {}), f"{prefix}{name}/")


def state_machine_needs(
    logical_id: str, resource: Mapping[str, Any], asl_file: str, resources: Mapping[str, Any]
) -> tuple[str | None, list[Need], list[str]]:
    """The state machine's role, what it needs, and the states its substitutions leave unreached."""
    properties = resource["Properties"]
    role = _role_of(properties, "RoleArn")
    if role is None:
        return None, [], []
    definition = properties.get("Definition")
    if not isinstance(definition, dict):
        raise IamCheckError(f"{logical_id}: no Definition object in the transformed template")
    substitutions = properties.get("DefinitionSubstitutions", {})
    needs: list[Need] = []
    skipped: list[str] = []
    for name, state in tasks(definition.get("States", {})):
        where = f"{asl_file}#{name}"
        unreached = NOT_REACHED.get((asl_file, name))
        if unreached and substitutions.get(unreached[0]) == unreached[1]:
            skipped.append(f"{logical_id} {where}: {unreached[2]}")
            continue
        arguments = state.get("Arguments", state.get("Parameters"))
        try:
            required = task_needs(state["Resource"], arguments, substitutions)
        except IamCheckError as exc:
            raise IamCheckError(f"{logical_id} {where}: {exc}") from exc
        needs += [Need(role, ASL, where, action, target) for action, target in with_request(required)]
        for target in _topics(state, substitutions, resources):
            needs += [
                Need(role, CONFIG, f"{where} (encrypted topic)", a, target)
                for a in CONFIGURED["EncryptedTopic"][0]
            ]
    if properties.get("LoggingConfiguration", {}).get("Destinations"):
        needs += [
            Need(role, CONFIG, f"{logical_id} logging", a) for a in CONFIGURED["StateMachineLogging"][0]
        ]
    if properties.get("TracingConfiguration", {}).get("Enabled"):
        needs += [
            Need(role, CONFIG, f"{logical_id} tracing", a) for a in CONFIGURED["StateMachineTracing"][0]
        ]
    return role, needs, skipped


def _topics(
    state: Mapping[str, Any], substitutions: Mapping[str, Any], resources: Mapping[str, Any]
) -> list[str | None]:
    """The key of the KMS-encrypted topic an sns:publish state publishes to (None: not known)."""
    if not str(state.get("Resource", "")).endswith(("sns:publish", "sns:publish.waitForTaskToken")):
        return []
    arguments = state.get("Arguments", state.get("Parameters"))
    topic = _literal(arguments.get("TopicArn") if isinstance(arguments, dict) else None, substitutions)
    keys = []
    for resource in resources.values():
        props = resource.get("Properties", {})
        if (
            resource["Type"] == "AWS::SNS::Topic"
            and props.get("KmsMasterKeyId")
            and topic
            and topic.endswith(f":{props.get('TopicName')}")
        ):
            key = str(props["KmsMasterKeyId"])
            keys.append(key if key.startswith("arn:") else None)
    return keys


# --------------------------------------------------------------------------- the Python


@dataclass
class Call:
    service: str  # botocore service, or POWERTOOLS_SSM
    method: str
    where: str  # path:line


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node but those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not _is_type_checking(child):
                stack.append(child)


def _module_file(module: str, layer: Path, local: Path) -> Path | None:
    parts = module.split(".")
    for base in (layer, local):
        for candidate in (base.joinpath(*parts).with_suffix(".py"), base.joinpath(*parts, "__init__.py")):
            if candidate.is_file():
                return candidate
    return None


def _imports(path: Path, layer: Path, local: Path) -> set[Path]:
    """The repository's modules ``path`` imports (lazily or not), with their packages."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    base = layer if path.is_relative_to(layer) else local
    package = ".".join(path.relative_to(base).with_suffix("").parts[:-1])
    found: set[Path] = set()
    for node in _runtime_nodes(tree):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            origin = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1] if package else []
                origin = ".".join([*parent, *([origin] if origin else [])])
            modules = [origin, *(f"{origin}.{alias.name}" if origin else alias.name for alias in node.names)]
        for module in modules:
            parts = module.split(".")
            for end in range(1, len(parts) + 1):
                file = _module_file(".".join(parts[:end]), layer, local)
                if file is not None:
                    found.add(file)
    return found


def reachable(code: Path, layer: Path) -> list[Path]:
    """The function's own modules and every module of the layer they import, transitively."""
    todo = sorted(p for p in code.rglob("*.py") if "tests" not in p.parts)
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo += sorted(_imports(path, layer, code) - seen)
    return sorted(seen)


class _Scope:
    """What a module's names and a class's attributes hold, as far as clients go."""

    def __init__(self, factories: Mapping[str, tuple[str, Any]]) -> None:
        self.factories = factories
        self.attributes: dict[str, str] = {}
        self.locals: dict[str, str] = {}

    def service(self, node: ast.AST | None) -> str | None:
        """The service of the client an expression evaluates to (None: not a client, or not known)."""
        found: str | None = None
        if isinstance(node, ast.Call):
            found = self._called(node)
        elif isinstance(node, ast.BoolOp):
            found = next((s for s in map(self.service, node.values) if s), None)
        elif isinstance(node, ast.IfExp):
            found = self.service(node.body) or self.service(node.orelse)
        elif isinstance(node, ast.Name):
            found = self.locals.get(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            found = self.attributes.get(node.attr)
        return found

    def _called(self, node: ast.Call) -> str | None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "client" and node.args:
            return _constant(node.args[0])  # boto3.client("x"), a session's client("x")
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name == "SSMProvider":
            return POWERTOOLS_SSM
        if name == "SecretsProvider":
            return POWERTOOLS_SECRETS
        kind, value = self.factories.get(name, ("", None))
        if kind == "fixed":
            return str(value)
        if kind == "param" and len(node.args) > value:
            return _constant(node.args[value])
        return None


def _constant(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _factories(trees: Iterable[ast.Module]) -> dict[str, tuple[str, Any]]:
    """Module-level functions returning a boto3 client: name -> ("fixed", service) or ("param", index)."""
    found: dict[str, tuple[str, Any]] = {}
    for _ in range(2):  # a factory may call another
        for tree in trees:
            for function in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
                params = [a.arg for a in function.args.args]
                for node in ast.walk(function):
                    if not isinstance(node, ast.Return) or not isinstance(node.value, ast.Call):
                        continue
                    call = node.value
                    service = _Scope(found).service(call)
                    if service:
                        found[function.name] = ("fixed", service)
                    elif (
                        isinstance(call.func, ast.Attribute)
                        and call.func.attr == "client"
                        and call.args
                        and isinstance(call.args[0], ast.Name)
                        and call.args[0].id in params
                    ):
                        found[function.name] = ("param", params.index(call.args[0].id))
    return found


def _client_calls(tree: ast.Module, path: str, factories: Mapping[str, tuple[str, Any]]) -> list[Call]:
    """The calls on clients in the module's functions and its classes' methods."""
    calls: list[Call] = []
    owners: list[ast.Module | ast.ClassDef] = [tree, *(n for n in tree.body if isinstance(n, ast.ClassDef))]
    definitions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    for owner in owners:
        scope = _Scope(factories)
        functions = [n for n in owner.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        if isinstance(owner, ast.ClassDef):
            _class_attributes(scope, functions)
        else:  # the module's own statements
            calls += _calls_in(
                ast.Module([n for n in owner.body if not isinstance(n, definitions)], []), scope, path
            )
        for function in functions:
            calls += _calls_in(function, scope, path)
    return calls


def _class_attributes(scope: _Scope, methods: list[ast.FunctionDef | ast.AsyncFunctionDef]) -> None:
    """A class's attributes holding clients: its properties returning one, ``self.x = <client>``."""
    for _ in range(2):  # an attribute may be built from another
        for method in methods:
            for node in ast.walk(method):
                if isinstance(node, ast.Return) and (service := scope.service(node.value)):
                    scope.attributes[method.name] = service
                if isinstance(node, ast.Assign) and (service := scope.service(node.value)):
                    for target in node.targets:
                        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
                            scope.attributes[target.attr] = service


def _calls_in(function: ast.AST, scope: _Scope, path: str) -> list[Call]:
    scope.locals = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and (service := scope.service(node.value)):
            scope.locals.update({t.id: service for t in node.targets if isinstance(t, ast.Name)})
    calls = []
    for node in ast.walk(function):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        service = scope.service(node.func.value)
        if service:
            method = node.func.attr
            if method in ("get_paginator", "get_waiter") and node.args:
                method = f"{method}:{_constant(node.args[0]) or '?'}"
            calls.append(Call(service, method, f"{path}:{node.lineno}"))
    return calls


def _unresolved_clients(tree: ast.Module, path: str, factories: Mapping[str, tuple[str, Any]]) -> list[str]:
    """``boto3.client(x)`` whose service is not a literal, outside a factory taking it as a parameter."""
    factory_bodies = {
        id(node)
        for function in tree.body
        if isinstance(function, ast.FunctionDef) and factories.get(function.name, ("",))[0] == "param"
        for node in ast.walk(function)
    }
    return [
        f"{path}:{node.lineno}: a boto3 client whose service is not a literal: name the service"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("client", "resource")
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "boto3"
        and not (node.args and isinstance(node.args[0], ast.Constant))
        and id(node) not in factory_bodies
    ]


def call_actions(call: Call) -> tuple[str, ...]:
    """The IAM actions one client call needs."""
    if call.service == POWERTOOLS_SSM:
        if call.method not in POWERTOOLS:
            raise IamCheckError(
                f"{call.where}: SSMProvider.{call.method} is not in tools/iam_check.py POWERTOOLS"
            )
        return POWERTOOLS[call.method]
    if call.service == POWERTOOLS_SECRETS:
        if call.method not in POWERTOOLS_SECRETS_CALLS:
            raise IamCheckError(
                f"{call.where}: SecretsProvider.{call.method} is not in tools/iam_check.py "
                "POWERTOOLS_SECRETS_CALLS"
            )
        return POWERTOOLS_SECRETS_CALLS[call.method]
    model = _model(call.service)
    kind, _, name = call.method.partition(":")
    from botocore import xform_name  # noqa: PLC0415

    if kind == "get_waiter":
        waiters = _botocore().get_waiter_model(call.service)
        named = {xform_name(w): w for w in waiters.waiter_names}
        if name not in named:
            raise IamCheckError(f"{call.where}: {call.service} has no waiter {name}")
        return operation_actions(call.service, waiters.get_waiter(named[name]).operation)
    if kind in ("exceptions", "meta", "can_paginate", "close"):
        return ()

    operations = {xform_name(op): op for op in model.operation_names}
    operation = operations.get(name if kind == "get_paginator" else call.method)
    if operation is None:
        raise IamCheckError(f"{call.where}: {call.service} client has no method {call.method}")
    return operation_actions(call.service, operation)


def python_needs(role: str, code: Path, root: Path) -> tuple[list[Need], list[str]]:
    """What the function's Python (its folder, the layer modules it imports) needs its role to allow."""
    files = sorted([*code.rglob("*.py"), *(root / LAYER).rglob("*.py")])
    fingerprint = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    calls, problems = _python_calls(code, root, fingerprint)
    return [Need(role, PYTHON, where, action) for where, action in calls], list(problems)


@cache
def _python_calls(
    code: Path, root: Path, fingerprint: tuple[tuple[str, int, int], ...]
) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """(call site, action) for every client call reachable from ``code``; the unresolved clients.
    Cached by the files' ``fingerprint`` (the check analyses each function once per parameter set)."""
    del fingerprint  # the cache key only
    modules = reachable(code, root / LAYER)
    trees = {path: ast.parse(path.read_text(encoding="utf-8"), str(path)) for path in modules}
    factories = _factories(trees.values())
    calls: list[tuple[str, str]] = []
    problems: list[str] = []
    for path, tree in trees.items():
        shown = str(path.relative_to(root))
        problems += _unresolved_clients(tree, shown, factories)
        for call in _client_calls(tree, shown, factories):
            where = f"{call.where} {call.service}.{call.method}"
            calls += [(where, a) for a, _ in with_request([(a, None) for a in call_actions(call)])]
    return tuple(calls), tuple(problems)


def function_needs(
    logical_id: str, resource: Mapping[str, Any], code_uri: str, root: Path
) -> tuple[str | None, list[Need], list[str]]:
    properties = resource["Properties"]
    role = _role_of(properties, "Role")
    if role is None:
        return None, [], []
    needs, problems = python_needs(role, root / code_uri, root)
    log_group = properties.get("LoggingConfig", {}).get("LogGroup")
    where = f"{logical_id} logs" + (f" ({log_group})" if log_group else "")
    needs += [Need(role, CONFIG, where, a) for a in CONFIGURED["FunctionLogs"][0]]
    if properties.get("VpcConfig", {}).get("SubnetIds"):
        needs += [Need(role, CONFIG, f"{logical_id} VPC", a) for a in CONFIGURED["FunctionVpc"][0]]
    if properties.get("TracingConfig", {}).get("Mode") == "Active":
        needs += [Need(role, CONFIG, f"{logical_id} tracing", a) for a in CONFIGURED["FunctionTracing"][0]]
    return role, needs, problems


# --------------------------------------------------------------------------- the check


@cache
def _sam_template(path: Path) -> str:
    from petclinic_local.stack.template import load_template  # noqa: PLC0415

    return json.dumps(load_template(path))


@dataclass
class Analysis:
    roles: dict[str, Role]
    needs: list[Need]
    problems: list[str]
    consumers: dict[str, list[str]]  # role -> the state machines and functions using it
    unreached: list[str] = field(default_factory=list)  # Task states NOT_REACHED leaves out


def analyse(
    root: Path = ROOT,
    resources: dict[str, Any] | None = None,
    sam: Mapping[str, Any] | None = None,
    parameters: Mapping[str, str] | None = None,
) -> Analysis:
    """What each role of the control plane is required to allow, and what it is granted.

    ``resources``: the evaluated transformed template (``evaluated(root, parameters)``; a test
    passes an altered copy); ``sam``: template.yaml itself, for each resource's ASL file and code
    folder."""
    resources = resources if resources is not None else evaluated(root, parameters)
    sam = sam if sam is not None else json.loads(_sam_template(root / "template.yaml"))
    sam_resources = sam.get("Resources", {})
    code_default = sam.get("Globals", {}).get("Function", {}).get("CodeUri")
    roles = roles_of(resources)
    needs: list[Need] = []
    problems: list[str] = []
    consumers: dict[str, list[str]] = defaultdict(list)
    unreached: list[str] = []
    for logical_id, resource in resources.items():
        source = sam_resources.get(logical_id, {}).get("Properties", {})
        if resource["Type"] == "AWS::StepFunctions::StateMachine":
            asl_file = str(source.get("DefinitionUri", logical_id))
            role, found, skipped = state_machine_needs(logical_id, resource, asl_file, resources)
            unreached += skipped
        elif resource["Type"] == "AWS::Lambda::Function" and (source.get("CodeUri") or code_default):
            role, found, unresolved = function_needs(
                logical_id, resource, str(source.get("CodeUri") or code_default), root
            )
            problems += unresolved
        else:
            continue
        if role is None or role not in roles:
            problems.append(f"{logical_id}: its role is not one of the template's ({role})")
            continue
        consumers[role].append(logical_id)
        needs += found
    return Analysis(roles, needs, problems, dict(consumers), unreached)


def check(analysis: Analysis, schemas: Reference) -> list[str]:
    problems = list(analysis.problems)
    for role in analysis.roles.values():
        problems += [
            f"{role.logical_id}: holds {name}: list its actions in MANAGED_POLICIES"
            for name in role.managed
            if name not in MANAGED_POLICIES
        ]
    seen: set[tuple[str, str, str, str | None]] = set()
    for need in analysis.needs:
        key = (need.role, need.where, need.action, need.resource)
        if key in seen:
            continue
        seen.add(key)
        if schemas.action(need.action) is None:
            problems.append(
                f"{need.role} {need.where}: {need.action} is not an IAM action "
                "(service authorization reference)"
            )
        elif not analysis.roles[need.role].allows(need.action, need.resource):
            on = f" on {need.resource}" if need.resource else ""
            problems.append(
                f"{need.role} {need.where}: needs {need.action}{on}, which no statement of the role allows"
            )
    problems += star_problems(analysis.roles.values(), schemas)
    return problems


def expand(action: str, schemas: Reference) -> list[str]:
    """An action, or the actions a wildcard names (service authorization reference)."""
    if "*" not in action and "?" not in action:
        return [action]
    service = action.split(":", 1)[0]
    known = schemas.iam.get(service, {}).get("Actions", {})
    return [f"{service}:{name}" for name in sorted(known) if action_matches(action, f"{service}:{name}")]


def star_problems(roles: Iterable[Role], schemas: Reference) -> list[str]:
    problems = []
    for role in roles:
        for name, statement in role.statements:
            if statement.get("Effect") != "Allow" or "*" not in listed(statement.get("Resource", [])):
                continue
            for pattern in listed(statement.get("Action", [])):
                for action in expand(pattern, schemas) or [pattern]:
                    problem = _star_problem(action, statement, schemas)
                    if problem:
                        named = action if action == pattern else f"{pattern} ({action})"
                        problems.append(f'{role.logical_id} {name}: {named} on Resource "*": {problem}')
    return problems


def _star_problem(action: str, statement: Statement, schemas: Reference) -> str | None:
    accepted = next((v for k, v in STAR_ACCEPTED.items() if k.lower() == action.lower()), None)
    if accepted is not None:
        key = accepted[0]
        conditions = statement.get("Condition", {})
        if key and not any(key in keys for keys in conditions.values()):
            return f"accepted only with the condition {key} (STAR_ACCEPTED)"
        return None
    if schemas.action(action) is None:
        return (
            "not an action of the service authorization reference: name it right, or list it in "
            "STAR_ACCEPTED with its reason"
        )
    if schemas.resource_level(action):
        return "IAM lets it be scoped to resources (service authorization reference): name them"
    return None


# --------------------------------------------------------------------------- the figures


def report(analysis: Analysis, schemas: Reference) -> dict[str, Any]:
    by_source: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for need in analysis.needs:
        by_source[need.source].add((need.role, need.action))
    required: dict[str, set[str]] = defaultdict(set)
    for need in analysis.needs:
        required[need.role].add(need.action.lower())
    unused = {}
    for role_id in sorted(analysis.consumers):
        role = analysis.roles[role_id]
        granted = sorted(
            a for _, s in role.statements if s.get("Effect") == "Allow" for a in listed(s.get("Action", []))
        )
        unused[role_id] = sorted(
            {a for a in granted if not any(action_matches(a, r) for r in required[role_id])}
        )
    star = sorted(
        {
            a
            for role in analysis.roles.values()
            for _, s in role.statements
            if s.get("Effect") == "Allow" and "*" in listed(s.get("Resource", []))
            for a in listed(s.get("Action", []))
        }
    )
    return {
        "roles": len(analysis.roles),
        "rolesChecked": {role: sorted(users) for role, users in sorted(analysis.consumers.items())},
        "statements": sum(len(role.statements) for role in analysis.roles.values()),
        "requiredActions": len({(n.role, n.action) for n in analysis.needs}),
        "requiredBySource": {source: len(pairs) for source, pairs in sorted(by_source.items())},
        "callSites": {
            source: len({n.where for n in analysis.needs if n.source == source})
            for source in sorted(by_source)
        },
        "resourceChecked": len({(n.role, n.action, n.resource) for n in analysis.needs if n.resource}),
        "resourceStarActions": star,
        "unreachedStates": analysis.unreached,
        "grantedButNotRequired": {role: actions for role, actions in unused.items() if actions},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="fail on any action not allowed or wrongly on '*'")
    mode.add_argument("--report", action="store_true", help="print the figures as JSON")
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    schemas = reference()
    problems: list[str] = []
    figures: dict[str, Any] = {}
    try:
        for name, parameters in PARAMETER_SETS.items():
            analysis = analyse(args.root, parameters=parameters)
            figures[name] = report(analysis, schemas)
            problems += [f"[{name}] {problem}" for problem in check(analysis, schemas)]
    except IamCheckError as exc:
        print(f"iam_check: {exc}", file=sys.stderr)
        return 1
    if args.report:
        print(json.dumps(figures, indent=2))
        return 0
    for problem in problems:
        print(f"iam_check: {problem}", file=sys.stderr)
    if not problems:
        for name, found in figures.items():
            print(
                f"iam_check: [{name}] {len(found['rolesChecked'])} roles allow the "
                f"{found['requiredActions']} actions their states and calls require "
                f"({json.dumps(found['requiredBySource'])}); "
                f'{len(found["resourceStarActions"])} actions on Resource "*", none IAM can scope'
            )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
