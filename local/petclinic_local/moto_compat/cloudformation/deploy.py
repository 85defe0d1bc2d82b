"""Gap helpers (no patches) for the control plane's deploy (``stack.deploy``) around moto's
``create_stack`` of the transformed template.yaml: the template and parameters it is handed, and
the resources it creates wrongly (state machines, Lambda aliases, API deployments) or not at all
(rotation schedules, alarms). Each helper's docstring starts with "Gap:".
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any


def prepare_template_for_moto(template: dict[str, Any]) -> dict[str, Any]:
    """Gap: moto's CloudFormation breaks DescribeKey when AWS::KMS::Key KeyPolicy is an object
    (it stores the dict where a JSON string belongs). Hand it the policy as a string."""
    prepared = copy.deepcopy(template)
    for resource in prepared.get("Resources", {}).values():
        if resource.get("Type") == "AWS::KMS::Key":
            policy = resource.get("Properties", {}).get("KeyPolicy")
            if isinstance(policy, dict) and not _has_intrinsics(policy):
                resource["Properties"]["KeyPolicy"] = json.dumps(policy)
            elif isinstance(policy, dict):
                resource["Properties"]["KeyPolicy"] = {"Fn::Sub": json.dumps(_to_sub(policy))}
    return prepared


def _has_intrinsics(value: Any) -> bool:
    if isinstance(value, dict):
        return any(
            key.startswith("Fn::") or key == "Ref" or _has_intrinsics(item) for key, item in value.items()
        )
    if isinstance(value, list):
        return any(_has_intrinsics(item) for item in value)
    return False


def _to_sub(value: Any) -> Any:
    """Turn {"Fn::Sub": "..."} leaves into their template text so the whole policy is one Fn::Sub."""
    if isinstance(value, dict):
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            return value["Fn::Sub"]
        if set(value) == {"Ref"}:
            return "${" + value["Ref"] + "}"
        return {key: _to_sub(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_sub(item) for item in value]
    return value


def complete_parameters(template: dict[str, Any], given: dict[str, str]) -> dict[str, str]:
    """Gap: moto splits a CommaDelimitedList parameter only when it is passed in, not when its
    Default applies (Fn::Join then joins the characters of the string). Pass every default."""
    values = {
        name: str(spec["Default"])
        for name, spec in template.get("Parameters", {}).items()
        if "Default" in spec
    }
    return {**values, **given}


def recreate_state_machine(
    sfn: Any, *, expected_arn: str, definition: str, substitutions: dict[str, Any], role_arn: str, kind: str
) -> str:
    """Gap: moto's CloudFormation creates AWS::StepFunctions::StateMachine in the backend that
    cannot execute; with DefinitionS3Location (what SAM writes) its definition is empty, and
    DefinitionSubstitutions are ignored. Create it again, same name and so same ARN, where
    executions run."""
    for key, value in substitutions.items():
        definition = definition.replace("${" + key + "}", str(value))
    name = expected_arn.rsplit(":", maxsplit=1)[-1]
    arn: str = sfn.create_state_machine(name=name, definition=definition, roleArn=role_arn, type=kind)[
        "stateMachineArn"
    ]
    if arn != expected_arn:
        raise RuntimeError(f"state machine {name}: created as {arn}, the stack knows it as {expected_arn}")
    return arn


def apply_rotation_schedules(
    resources: dict[str, Any], resolve: Callable[[Any], Any], account: str, region: str
) -> None:
    """Gap: moto's CloudFormation skips AWS::SecretsManager::RotationSchedule. Configure rotation on
    the secret as the resource would (no rotation now: RotateImmediatelyOnUpdate is false here)."""
    from moto.secretsmanager.models import secretsmanager_backends  # noqa: PLC0415

    backend = secretsmanager_backends[account][region]
    for resource in resources.values():
        if resource.get("Type") != "AWS::SecretsManager::RotationSchedule":
            continue
        props = resolve(resource["Properties"])
        secret = backend.secrets[props["SecretId"]]
        secret.rotation_requested = secret.rotation_enabled = True
        secret.rotation_lambda_arn = props["RotationLambdaARN"]
        rules = props.get("RotationRules", {})
        days = re.fullmatch(r"rate\((\d+) days?\)", rules.get("ScheduleExpression", ""))
        secret.auto_rotate_after_days = rules.get("AutomaticallyAfterDays") or (
            int(days.group(1)) if days else 0
        )


# AWS::CloudWatch::Alarm properties (named as PutMetricAlarm's parameters) that are numbers in the
# API: a parameter's Ref or a Sub hands them over as strings.
_ALARM_NUMBERS = {"Period": int, "EvaluationPeriods": int, "DatapointsToAlarm": int, "Threshold": float}


def create_alarms(resources: dict[str, Any], resolve: Callable[[Any], Any], cloudwatch: Any) -> list[str]:
    """Gap: moto's CloudFormation skips AWS::CloudWatch::Alarm (a warning, no alarm), so the
    alarms the runbook says page do not exist locally. Create each as the resource would
    (PutMetricAlarm with the resolved properties); returns their names."""
    names = []
    for resource in resources.values():
        if resource.get("Type") != "AWS::CloudWatch::Alarm":
            continue
        props = resolve(resource["Properties"])
        request = dict(props)
        for key, kind in _ALARM_NUMBERS.items():
            if key in request:
                request[key] = kind(request[key])
        for query in request.get("Metrics", []):
            if "Period" in query.get("MetricStat", {}):
                query["MetricStat"]["Period"] = int(query["MetricStat"]["Period"])
        cloudwatch.put_metric_alarm(**request)
        names.append(str(request["AlarmName"]))
    return names


def prepare_lambda_aliases(template: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Gap: moto's CloudFormation skips AWS::Lambda::Alias (no model for the type): a Ref to an
    alias resolves to nothing, so a permission on an alias (API Gateway invoking `live`) fails
    to create. Rewrite every Ref to an alias as the alias ARN (function ARN + ":" + name), take
    the permissions on aliases out of the template, and return both (aliases first), for
    ``create_lambda_aliases`` to create once the stack exists."""
    prepared = copy.deepcopy(template)
    resources = prepared.get("Resources", {})
    aliases = {
        logical_id: resource["Properties"]
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::Lambda::Alias"
    }

    def arn_of(logical_id: str) -> dict[str, Any]:
        props = aliases[logical_id]
        function = props["FunctionName"]
        if isinstance(function, dict) and set(function) == {"Ref"}:
            function = {"Fn::GetAtt": [function["Ref"], "Arn"]}
        return {"Fn::Join": [":", [function, props["Name"]]]}

    def rewrite(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Ref"} and value["Ref"] in aliases:
                return arn_of(value["Ref"])
            return {key: rewrite(item) for key, item in value.items()}
        if isinstance(value, list):
            return [rewrite(item) for item in value]
        return value

    deferred: dict[str, dict[str, Any]] = {
        key: {"Type": "AWS::Lambda::Alias", **props} for key, props in aliases.items()
    }
    for logical_id, resource in list(resources.items()):
        if logical_id in aliases:
            continue
        name = resource.get("Properties", {}).get("FunctionName")
        if (
            resource.get("Type") == "AWS::Lambda::Permission"
            and isinstance(name, dict)
            and name.get("Ref") in aliases
        ):
            deferred[logical_id] = {
                "Type": "AWS::Lambda::Permission",
                **rewrite(resources.pop(logical_id)["Properties"]),
            }
            continue
        resources[logical_id] = rewrite(resource)
    prepared["Outputs"] = rewrite(prepared.get("Outputs", {}))
    return prepared, deferred


def create_lambda_aliases(
    aliases: dict[str, dict[str, Any]],
    resolve: Callable[[Any], Any],
    client: Any,
    version_of: Callable[[str], str],
) -> None:
    """The other half of ``prepare_lambda_aliases``' gap: create the template's aliases as CloudFormation
    would, after the functions and versions they name exist, then the permissions on them."""
    for logical_id, props in aliases.items():
        unresolved = {key: value for key, value in props.items() if key != "Type"}
        version = unresolved.get("FunctionVersion")
        if isinstance(version, dict) and version.get("Fn::GetAtt", [None, None])[1] == "Version":
            # moto's AWS::Lambda::Version answers no Fn::GetAtt: ask the model itself.
            unresolved["FunctionVersion"] = version_of(version["Fn::GetAtt"][0])
        resolved = resolve(unresolved)
        if props["Type"] == "AWS::Lambda::Permission":
            permission = {
                key: resolved[key]
                for key in ("FunctionName", "Action", "Principal", "SourceArn", "SourceAccount")
                if key in resolved
            }
            client.add_permission(StatementId=logical_id, **permission)
            continue
        arguments = {
            "FunctionName": resolved["FunctionName"],
            "Name": resolved["Name"],
            "FunctionVersion": str(resolved["FunctionVersion"]),
        }
        if resolved.get("Description"):
            arguments["Description"] = resolved["Description"]
        if resolved.get("RoutingConfig"):
            arguments["RoutingConfig"] = resolved["RoutingConfig"]
        client.create_alias(**arguments)


def drop_openapi_deployments(template: dict[str, Any]) -> dict[str, Any]:
    """Gap: moto's CloudFormation creates an AWS::ApiGateway::RestApi without the methods of its
    OpenAPI ``Body`` (SAM's DefinitionBody), so the API's AWS::ApiGateway::Deployment fails with
    "The REST API doesn't contain any methods" and the stack with it. Leave such deployments out,
    and what cannot exist without them (the stage, the usage plan on it, its keys: whatever refers
    to a resource left out, transitively): the local cloud serves the API itself
    (``petclinic-ops local api``), through the same handler."""
    prepared = copy.deepcopy(template)
    resources = prepared.get("Resources", {})
    with_body = {
        logical_id
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::ApiGateway::RestApi" and "Body" in resource.get("Properties", {})
    }
    dropped = {
        key
        for key, resource in resources.items()
        if resource.get("Type") == "AWS::ApiGateway::Deployment"
        and resource.get("Properties", {}).get("RestApiId", {}).get("Ref") in with_body
    }
    while True:
        dependants = {
            key
            for key, resource in resources.items()
            if key not in dropped and _refers_to(resource.get("Properties", {}), dropped)
        }
        if not dependants:
            break
        dropped |= dependants
    for logical_id in dropped:
        del resources[logical_id]
    for resource in resources.values():
        depends = resource.get("DependsOn")
        if isinstance(depends, list):
            resource["DependsOn"] = [d for d in depends if d not in dropped] or None
            if resource["DependsOn"] is None:
                del resource["DependsOn"]
        elif isinstance(depends, str) and depends in dropped:
            del resource["DependsOn"]
    return prepared


def _refers_to(value: Any, logical_ids: set[str]) -> bool:
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return value["Ref"] in logical_ids
        if set(value) == {"Fn::GetAtt"}:
            target = value["Fn::GetAtt"]
            name = target[0] if isinstance(target, list) else str(target).split(".")[0]
            return name in logical_ids
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            return any("${" + logical_id in value["Fn::Sub"] for logical_id in logical_ids)
        return any(_refers_to(item, logical_ids) for item in value.values())
    if isinstance(value, list):
        return any(_refers_to(item, logical_ids) for item in value)
    return False
