"""What IAM authorises for a call: its action, the resource ARN AWS evaluates, the condition keys.

Each call a role makes on the local cloud becomes one or more ``Request``s: the operation's own
(its IAM action, not always the operation's name: Invoke is ``lambda:InvokeFunction``, Converse
is ``bedrock:InvokeModel``), and those AWS adds (``iam:PassRole`` for a role the call hands to a
service, with ``iam:PassedToService``; ``ecs:TagResource`` for tags on create). The resource is
the ARN of the Service Authorization Reference's resource type, built from the parameters (and,
where AWS evaluates the full ARN, from moto's records: a secret's random suffix, a stack's id, a
scalable target's tags); an action without resource-level permissions is evaluated on ``*``.

An action missing from ``RESOURCES`` and ``UNSCOPED`` raises ``UnknownAction``: ``moto_compat.iam``
then allows it only to a role allowed it on every resource (``Resource: "*"``) and denied it on none;
add it here when a handler or a workflow starts calling it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from petclinic_local.moto_compat.iam_policy import Request, listed

PREFIXES = {"stepfunctions": "states", "bedrock-runtime": "bedrock"}  # botocore name -> IAM prefix
ACTIONS = {  # operations IAM authorises under another action's name
    "lambda:Invoke": "lambda:InvokeFunction",
    "bedrock:Converse": "bedrock:InvokeModel",
    "bedrock:ConverseStream": "bedrock:InvokeModelWithResponseStream",
    "s3:HeadObject": "s3:GetObject",
    "s3:ListObjectsV2": "s3:ListBucket",
    "s3:HeadBucket": "s3:ListBucket",
}
# Actions that no Request authorises (the Service Authorization Reference lists no permission).
FREE = frozenset({"sts:GetCallerIdentity"})
# Actions without resource-level permissions (evaluated on "*"), per the Service Authorization Reference.
UNSCOPED = frozenset(
    {
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:DescribeScalingActivities",
        "cloudformation:DescribeStackDriftDetectionStatus",
        "cloudformation:GetTemplateSummary",
        "cloudformation:ListStacks",
        "cloudwatch:GetMetricData",
        "cloudwatch:GetMetricStatistics",
        "ecr:GetAuthorizationToken",
        "ecs:DescribeTaskDefinition",
        "ecs:ListClusters",
        "ecs:ListTaskDefinitions",
        "logs:DescribeLogGroups",
        "secretsmanager:GetRandomPassword",
        "secretsmanager:ListSecrets",
        "ssm:DescribeParameters",
        "states:ListStateMachines",
        "states:SendTaskFailure",
        "states:SendTaskHeartbeat",
        "states:SendTaskSuccess",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    }
)


class UnknownAction(Exception):
    """A call whose resource this module cannot tell: refused, naming the action."""


@dataclass(frozen=True)
class Where:
    region: str
    account: str

    def arn(self, service: str, rest: str, *, region: bool = True, account: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account if account else ''}:{rest}"


Params = Mapping[str, Any]
Builder = Callable[[Params, Where], list[Request]]


def action_of(service_name: str, operation: str) -> str:
    prefix = PREFIXES.get(service_name, service_name)
    action = f"{prefix}:{operation}"
    return ACTIONS.get(action, action)


def requests_for(service_name: str, operation: str, params: Params, where: Where) -> list[Request]:
    """Every authorisation AWS makes for the call (empty for a call IAM does not authorise)."""
    action = action_of(service_name, operation)
    if action in FREE:
        return []
    if action in UNSCOPED:
        return [Request(action, "*", _context(action, params, where))]
    builder = RESOURCES.get(action)
    if builder is None:
        raise UnknownAction(action)
    return [
        Request(r.action, r.resource, {**_context(r.action, params, where), **r.context})
        for r in builder(params, where)
    ]


def _context(action: str, params: Params, where: Where) -> dict[str, Any]:
    context: dict[str, Any] = {"aws:SecureTransport": "true", "aws:RequestedRegion": where.region}
    if action == "cloudwatch:PutMetricData":
        context["cloudwatch:namespace"] = params.get("Namespace")
    return context


# --------------------------------------------------------------------------- per service


def _one(action: str, resource: str, **context: Any) -> list[Request]:
    return [Request(action, resource, context)]


def _named(
    service: str, template: str, key: str, *, arn_prefix: str | None = None
) -> Callable[[str], Builder]:
    """A builder for an action whose resource is one parameter (a name, or already an ARN)."""

    def for_action(action: str) -> Builder:
        def build(params: Params, where: Where) -> list[Request]:
            value = str(params.get(key, ""))
            if value.startswith(arn_prefix or f"arn:aws:{service}:"):
                return _one(action, value)
            return _one(action, where.arn(service, template.format(value)))

        return build

    return for_action


def _table(name: str, where: Where) -> str:
    return name if name.startswith("arn:") else where.arn("dynamodb", f"table/{name}")


def _dynamodb(action: str) -> Builder:
    def build(params: Params, where: Where) -> list[Request]:
        if "RequestItems" in params:
            return [Request(action, _table(t, where), {}) for t in params["RequestItems"]]
        return _one(action, _table(str(params.get("TableName", "")), where))

    return build


def _cluster(params: Params, where: Where) -> tuple[str, str]:
    cluster = str(params.get("cluster") or "default")
    name = cluster.rsplit("/", 1)[-1]
    return name, where.arn("ecs", f"cluster/{name}")


def _ecs_services(action: str) -> Builder:
    def build(params: Params, where: Where) -> list[Request]:
        cluster, _ = _cluster(params, where)
        names = listed(params.get("services", params.get("service", [])))
        return [
            Request(action, s if s.startswith("arn:") else where.arn("ecs", f"service/{cluster}/{s}"), {})
            for s in map(str, names)
        ]

    return build


def _ecs_list_services(params: Params, where: Where) -> list[Request]:
    return _one("ecs:ListServices", "*", **{"ecs:cluster": _cluster(params, where)[1]})


def _pass_role(role_arn: str, service: str) -> Request:
    return Request("iam:PassRole", role_arn, {"iam:PassedToService": service})


def _register_task_definition(params: Params, where: Where) -> list[Request]:
    resource = where.arn("ecs", f"task-definition/{params.get('family', '')}:*")
    found = [Request("ecs:RegisterTaskDefinition", resource, {})]
    if params.get("tags"):
        found.append(Request("ecs:TagResource", resource, {"ecs:CreateAction": "RegisterTaskDefinition"}))
    for key in ("taskRoleArn", "executionRoleArn"):
        if params.get(key):
            found.append(_pass_role(str(params[key]), "ecs-tasks.amazonaws.com"))
    return found


def _ecr(action: str) -> Builder:
    def build(params: Params, where: Where) -> list[Request]:
        account = str(params.get("registryId") or where.account)
        return _one(
            action, f"arn:aws:ecr:{where.region}:{account}:repository/{params.get('repositoryName', '')}"
        )

    return build


def _function(params: Params, where: Where, *, qualifier_key: str = "Qualifier") -> str:
    """A Lambda function's ARN from FunctionName (name, name:qualifier, partial or full ARN)."""
    name = str(params.get("FunctionName", ""))
    if name.startswith("arn:"):
        arn = name
    else:
        parts = name.split(":")
        if len(parts) >= 3 and parts[1] == "function":  # 123456789012:function:name[:qualifier]
            parts = parts[2:]
        arn = where.arn("lambda", "function:" + ":".join(parts))
    qualifier = params.get(qualifier_key)
    if qualifier and arn.count(":") == 6:
        arn = f"{arn}:{qualifier}"
    return arn


def _lambda(action: str, *, qualifier_key: str = "Qualifier") -> Builder:
    def build(params: Params, where: Where) -> list[Request]:
        return _one(action, _function(params, where, qualifier_key=qualifier_key))

    return build


def _log_group(action: str) -> Builder:
    def build(params: Params, where: Where) -> list[Request]:
        return _one(action, where.arn("logs", f"log-group:{params.get('logGroupName', '')}:*"))

    return build


def _log_stream(action: str) -> Builder:
    def build(params: Params, where: Where) -> list[Request]:
        group, stream = params.get("logGroupName", ""), params.get("logStreamName", "")
        return _one(action, where.arn("logs", f"log-group:{group}:log-stream:{stream}"))

    return build


def _rule(action: str, key: str) -> Builder:
    def build(params: Params, where: Where) -> list[Request]:
        bus = str(params.get("EventBusName") or "default").rsplit("/", 1)[-1]
        name = str(params.get(key, ""))
        if name.startswith("arn:"):
            return _one(action, name)
        rest = f"rule/{name}" if bus == "default" else f"rule/{bus}/{name}"
        found = _one(action, where.arn("events", rest))
        for target in params.get("Targets", []) if action == "events:PutTargets" else []:
            if target.get("RoleArn"):
                found.append(_pass_role(str(target["RoleArn"]), "events.amazonaws.com"))
        return found

    return build


def _put_events(params: Params, where: Where) -> list[Request]:
    buses = {str(e.get("EventBusName") or "default") for e in params.get("Entries", [])}
    return [
        Request("events:PutEvents", b if b.startswith("arn:") else where.arn("events", f"event-bus/{b}"), {})
        for b in sorted(buses)
    ]


def _secret_arn(secret_id: str, where: Where) -> str:
    """The full ARN (with Secrets Manager's random suffix) AWS evaluates, looked up in moto."""
    with contextlib.suppress(Exception):
        from moto.secretsmanager.models import secretsmanager_backends  # noqa: PLC0415

        backend = secretsmanager_backends[where.account][where.region]
        if backend._is_valid_identifier(secret_id):
            return str(backend.secrets[secret_id].arn)
    return secret_id if secret_id.startswith("arn:") else where.arn("secretsmanager", f"secret:{secret_id}")


def _secret(action: str) -> Builder:
    def build(params: Params, where: Where) -> list[Request]:
        return _one(action, _secret_arn(str(params.get("SecretId", "")), where))

    return build


def _parameter(action: str) -> Builder:
    def build(params: Params, where: Where) -> list[Request]:
        names = listed(params.get("Names", params.get("Name", params.get("Path", ""))))
        found = []
        for name in map(str, names):
            resource = name if name.startswith("arn:") else where.arn("ssm", "parameter/" + name.lstrip("/"))
            found.append(Request(action, resource, {}))
            if action == "ssm:PutParameter" and params.get("Tags"):
                found.append(Request("ssm:AddTagsToResource", resource, {}))
        return found

    return build


def _stack_arn(name: str, where: Where) -> str:
    if name.startswith("arn:"):
        return name
    with contextlib.suppress(Exception):
        from moto.cloudformation.models import cloudformation_backends  # noqa: PLC0415

        backend = cloudformation_backends[where.account][where.region]
        for stack in backend.stacks.values():
            if stack.name == name and stack.status != "DELETE_COMPLETE":
                return str(stack.stack_id)
    return where.arn("cloudformation", f"stack/{name}/*")


def _change_set_stack(change_set: str, where: Where) -> str | None:
    with contextlib.suppress(Exception):
        from moto.cloudformation.models import cloudformation_backends  # noqa: PLC0415

        backend = cloudformation_backends[where.account][where.region]
        found = backend.change_sets.get(change_set)
        if found is not None:
            return str(found.stack_id)
    return None


def _stack(action: str) -> Builder:
    def build(params: Params, where: Where) -> list[Request]:
        name = str(params.get("StackName") or "")
        if not name and params.get("ChangeSetName"):
            name = _change_set_stack(str(params["ChangeSetName"]), where) or ""
        found = _one(action, _stack_arn(name, where) if name else "*")
        if action in {"cloudformation:CreateChangeSet", "cloudformation:CreateStack"} and params.get(
            "RoleARN"
        ):
            found.append(_pass_role(str(params["RoleARN"]), "cloudformation.amazonaws.com"))
        return found

    return build


def _alarms(action: str) -> Builder:
    def build(params: Params, where: Where) -> list[Request]:
        names = listed(params.get("AlarmNames", params.get("AlarmName", [])))
        if not names:
            prefix = params.get("AlarmNamePrefix")
            names = [f"{prefix}*" if prefix else "*"]
        return [Request(action, where.arn("cloudwatch", f"alarm:{n}"), {}) for n in names]

    return build


def _model(action: str) -> Builder:
    def build(params: Params, where: Where) -> list[Request]:
        model = str(params.get("modelId", ""))
        if model.startswith("arn:"):
            return _one(action, model)
        if model.split(".", 1)[0] in {"us", "eu", "apac", "global", "us-gov", "jp", "au"}:
            return _one(action, where.arn("bedrock", f"inference-profile/{model}"))
        return _one(action, where.arn("bedrock", f"foundation-model/{model}", account=False))

    return build


def _scalable_target(action: str) -> Builder:
    def build(params: Params, where: Where) -> list[Request]:
        namespace, dimension = params.get("ServiceNamespace"), params.get("ScalableDimension")
        context: dict[str, Any] = {
            "application-autoscaling:service-namespace": namespace,
            "application-autoscaling:scalable-dimension": dimension,
        }
        resource = where.arn("application-autoscaling", "scalable-target/*")
        target = _existing_target(params, where)
        if target is not None:
            resource = str(target.arn)
            context |= {f"aws:ResourceTag/{k}": v for k, v in (getattr(target, "tags", None) or {}).items()}
        return _one(action, resource, **context)

    return build


def _existing_target(params: Params, where: Where) -> Any:
    with contextlib.suppress(Exception):
        from moto.applicationautoscaling.models import applicationautoscaling_backends  # noqa: PLC0415

        backend = applicationautoscaling_backends[where.account][where.region]
        dimension = str(params.get("ScalableDimension"))
        return backend.targets.get(dimension, {}).get(str(params.get("ResourceId")))
    return None


def _s3_object(action: str) -> Builder:
    def build(params: Params, where: Where) -> list[Request]:
        return _one(action, f"arn:aws:s3:::{params.get('Bucket', '')}/{params.get('Key', '')}")

    return build


def _s3_bucket(action: str) -> Builder:
    def build(params: Params, where: Where) -> list[Request]:
        return _one(action, f"arn:aws:s3:::{params.get('Bucket', '')}")

    return build


def _queue(action: str) -> Builder:
    def build(params: Params, where: Where) -> list[Request]:
        url = str(params.get("QueueUrl", ""))
        return _one(action, where.arn("sqs", url.rstrip("/").rsplit("/", 1)[-1]))

    return build


def _key(action: str) -> Builder:
    def build(params: Params, where: Where) -> list[Request]:
        key = str(params.get("KeyId", ""))
        return _one(action, key if key.startswith("arn:") else where.arn("kms", f"key/{key}"))

    return build


def _each(actions: str, builder: Callable[[str], Builder]) -> dict[str, Builder]:
    return {action: builder(action) for action in actions.split()}


_state_machine = _named("states", "stateMachine:{}", "stateMachineArn")
_execution = _named("states", "execution:{}", "executionArn")
_topic = _named("sns", "{}", "TopicArn")
_db_cluster = _named("rds", "cluster:{}", "DBClusterIdentifier")

RESOURCES: dict[str, Builder] = {
    **_each(
        "dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem dynamodb:DeleteItem dynamodb:Query "
        "dynamodb:Scan dynamodb:DescribeTable dynamodb:BatchGetItem dynamodb:BatchWriteItem",
        _dynamodb,
    ),
    **_each("ecs:DescribeServices ecs:UpdateService", _ecs_services),
    "ecs:ListServices": _ecs_list_services,
    # IAM authorizes a service revision's ARN (the service authorization reference names service
    # and service-revision; the revision's ARN is what the request carries).
    "ecs:DescribeServiceRevisions": lambda p, w: [
        Request("ecs:DescribeServiceRevisions", str(arn), {})
        for arn in listed(p.get("serviceRevisionArns", []))
    ],
    "ecs:RegisterTaskDefinition": _register_task_definition,
    "ecs:TagResource": lambda p, w: _one("ecs:TagResource", str(p.get("resourceArn", ""))),
    **_each("ecr:BatchGetImage ecr:PutImage ecr:DescribeImages ecr:ListImages ecr:BatchDeleteImage", _ecr),
    **_each("events:DescribeRule events:PutRule events:DeleteRule", lambda a: _rule(a, "Name")),
    **_each("events:PutTargets events:RemoveTargets", lambda a: _rule(a, "Rule")),
    "events:PutEvents": _put_events,
    **_each(
        "lambda:InvokeFunction lambda:GetFunctionConfiguration lambda:GetFunction lambda:PublishVersion "
        "lambda:ListVersionsByFunction lambda:ListAliases lambda:UpdateFunctionConfiguration",
        _lambda,
    ),
    **_each(
        "lambda:GetAlias lambda:UpdateAlias lambda:DeleteAlias", lambda a: _lambda(a, qualifier_key="Name")
    ),
    **_each("logs:FilterLogEvents logs:DescribeLogStreams logs:GetLogEvents", _log_group),
    **_each("logs:CreateLogStream logs:PutLogEvents", _log_stream),
    **_each("rds:DescribeDBClusters rds:ModifyDBCluster", _db_cluster),
    **_each("s3:GetObject s3:PutObject s3:DeleteObject", _s3_object),
    **_each("s3:ListBucket", _s3_bucket),
    **_each(
        "secretsmanager:DescribeSecret secretsmanager:GetSecretValue secretsmanager:PutSecretValue "
        "secretsmanager:UpdateSecretVersionStage secretsmanager:RotateSecret secretsmanager:DeleteSecret "
        "secretsmanager:CancelRotateSecret",
        _secret,
    ),
    **_each(
        "ssm:GetParameter ssm:GetParameters ssm:PutParameter ssm:DeleteParameter ssm:GetParametersByPath",
        _parameter,
    ),
    **_each("sns:Publish", _topic),
    **_each("states:StartExecution states:StartSyncExecution states:DescribeStateMachine", _state_machine),
    **_each("states:DescribeExecution states:StopExecution states:GetExecutionHistory", _execution),
    **_each(
        "cloudformation:DescribeStacks cloudformation:DescribeStackEvents cloudformation:DeleteStack "
        "cloudformation:CreateChangeSet cloudformation:ExecuteChangeSet cloudformation:DescribeChangeSet "
        "cloudformation:DeleteChangeSet cloudformation:DetectStackDrift "
        "cloudformation:DescribeStackResourceDrifts "
        "cloudformation:GetStackPolicy cloudformation:SetStackPolicy cloudformation:DescribeStackResources "
        "cloudformation:ListStackResources cloudformation:GetTemplate cloudformation:CreateStack "
        "cloudformation:UpdateStack",
        _stack,
    ),
    **_each("cloudwatch:PutMetricAlarm cloudwatch:DeleteAlarms cloudwatch:DescribeAlarms", _alarms),
    "cloudwatch:PutMetricData": lambda p, w: _one("cloudwatch:PutMetricData", "*"),
    **_each("bedrock:InvokeModel bedrock:InvokeModelWithResponseStream", _model),
    **_each(
        "application-autoscaling:RegisterScalableTarget application-autoscaling:DeregisterScalableTarget",
        _scalable_target,
    ),
    **_each("sqs:SendMessage", _queue),
    **_each("kms:Decrypt kms:GenerateDataKey kms:Encrypt", _key),
}
