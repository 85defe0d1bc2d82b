"""API Gateway: the account's CloudWatch role, stages, methods of every integration type and
usage plans (moto's CloudFormation skips the account, stages and usage plans, and needs an HTTP
method and URI for any method).

A stage with access logs or execution logging (``LoggingLevel`` other than OFF, data trace) is
refused, as API Gateway refuses it, while the account (per region) has no CloudWatch role; the
account takes only a role that exists and that API Gateway may assume.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from petclinic_local.simulators.cloudformation.api import aws, flag, resolve_dynamic
from petclinic_local.simulators.cloudformation.registry import Created, provider

NO_LOGGING_ROLE = "CloudWatch Logs role ARN must be set in account settings to enable logging"


def _logs(props: dict[str, Any]) -> bool:
    """Whether the stage writes logs with the account's role (access logs, execution logs)."""
    settings = props.get("MethodSettings") or []
    return bool(props.get("AccessLogSetting")) or any(
        str(s.get("LoggingLevel", "OFF")).upper() != "OFF" or flag(s.get("DataTraceEnabled", False))
        for s in settings
    )


def _require_logging_role(props: dict[str, Any], region: str) -> None:
    if _logs(props) and not aws("apigateway", region).get_account().get("cloudwatchRoleArn"):
        raise RuntimeError(f"{NO_LOGGING_ROLE} (Service: ApiGateway, Status Code: 400, BadRequestException)")


@provider("AWS::ApiGateway::Account")
class ApiAccount:
    """The account's (region's) CloudWatch role. Deleting the resource leaves the setting, as on AWS."""

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        role_arn = props.get("CloudWatchRoleArn") or ""
        if role_arn:
            name = role_arn.rsplit("/", 1)[-1]
            try:
                role = aws("iam", region).get_role(RoleName=name)["Role"]
            except ClientError as error:  # NoSuchEntity: in API Gateway's own words
                raise RuntimeError(
                    f"The role ARN does not have required permissions set to API Gateway: {role_arn}"
                ) from error
            if "apigateway.amazonaws.com" not in str(role.get("AssumeRolePolicyDocument", "")):
                raise RuntimeError(
                    f"The role ARN does not have required permissions set to API Gateway: {role_arn}"
                )
        aws("apigateway", region).update_account(
            patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": role_arn}]
        )
        return Created(region)

    @staticmethod
    def update(created: Created, props: dict[str, Any], region: str, previous: dict[str, Any]) -> Created:
        return ApiAccount.create(props, "", region)

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        """The account keeps its role: AWS::ApiGateway::Account has no delete."""


@provider(
    "AWS::ApiGateway::Stage", partial=("created in API Gateway's API; no HTTP endpoint serves it locally")
)
class ApiStage:
    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        _require_logging_role(props, region)
        aws("apigateway", region).create_stage(
            restApiId=props["RestApiId"],
            stageName=props["StageName"],
            deploymentId=props["DeploymentId"],
            tracingEnabled=flag(props.get("TracingEnabled", False)),
        )
        return Created(props["StageName"])

    @staticmethod
    def update(created: Created, props: dict[str, Any], region: str, previous: dict[str, Any]) -> Created:
        _require_logging_role(props, region)
        aws("apigateway", region).update_stage(
            restApiId=props["RestApiId"],
            stageName=props["StageName"],
            patchOperations=[{"op": "replace", "path": "/deploymentId", "value": props["DeploymentId"]}],
        )
        return created

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        aws("apigateway", region).delete_stage(restApiId=props["RestApiId"], stageName=props["StageName"])


@provider("AWS::ApiGateway::Method")
class ApiMethod:
    """Methods of every integration type (moto's own handler needs an HTTP method and a URI even
    for a MOCK integration)."""

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        props = resolve_dynamic(props, region)  # an integration's header from Secrets Manager
        client = aws("apigateway", region)
        api, resource, verb = props["RestApiId"], props["ResourceId"], props["HttpMethod"]
        client.put_method(
            restApiId=api,
            resourceId=resource,
            httpMethod=verb,
            authorizationType=props.get("AuthorizationType", "NONE"),
            apiKeyRequired=flag(props.get("ApiKeyRequired", False)),
            requestParameters={k: flag(v) for k, v in (props.get("RequestParameters") or {}).items()},
        )
        for response in props.get("MethodResponses", []):
            client.put_method_response(
                restApiId=api, resourceId=resource, httpMethod=verb, statusCode=str(response["StatusCode"])
            )
        integration = props.get("Integration") or {}
        arguments = {
            "type": integration["Type"],
            "integrationHttpMethod": integration.get("IntegrationHttpMethod"),
            "uri": integration.get("Uri"),
            "requestParameters": integration.get("RequestParameters"),
            "requestTemplates": integration.get("RequestTemplates"),
            "timeoutInMillis": int(integration["TimeoutInMillis"])
            if "TimeoutInMillis" in integration
            else None,
        }
        client.put_integration(
            restApiId=api,
            resourceId=resource,
            httpMethod=verb,
            **{key: value for key, value in arguments.items() if value is not None},
        )
        for response in integration.get("IntegrationResponses", []):
            client.put_integration_response(
                restApiId=api,
                resourceId=resource,
                httpMethod=verb,
                statusCode=str(response["StatusCode"]),
                responseTemplates=response.get("ResponseTemplates", {}),
            )
        return Created(f"{api}|{resource}|{verb}")

    @staticmethod
    def update(created: Created, props: dict[str, Any], region: str, previous: dict[str, Any]) -> Created:
        """In place (an integration's URI, a key requirement...): the method as it was goes, the
        new one is put. Without this the update was a replacement whose new method, having the
        same resource and verb, was deleted with the old one."""
        ApiMethod.delete(created, previous, region, "Delete")
        return ApiMethod.create(props, "", region)

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        aws("apigateway", region).delete_method(
            restApiId=props["RestApiId"], resourceId=props["ResourceId"], httpMethod=props["HttpMethod"]
        )


@provider(
    "AWS::ApiGateway::UsagePlan",
    partial=("created in API Gateway's API; no request is counted against it locally"),
)
class UsagePlan:
    """API Gateway usage plans (moto's CloudFormation has no model for them): the plan, its
    stages, throttle and quota, in API Gateway's API."""

    @staticmethod
    def _arguments(props: dict[str, Any]) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "name": props.get("UsagePlanName", ""),
            "description": props.get("Description", ""),
            "apiStages": [{"apiId": s["ApiId"], "stage": s["Stage"]} for s in props.get("ApiStages", [])],
        }
        if "Throttle" in props:
            throttle = props["Throttle"]
            arguments["throttle"] = {
                "rateLimit": float(throttle["RateLimit"]),
                "burstLimit": int(throttle["BurstLimit"]),
            }
        if "Quota" in props:
            quota = props["Quota"]
            arguments["quota"] = {"limit": int(quota["Limit"]), "period": quota["Period"]}
        return arguments

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        plan = aws("apigateway", region).create_usage_plan(**UsagePlan._arguments(props))
        return Created(plan["id"], {"Id": plan["id"]})

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        aws("apigateway", region).delete_usage_plan(usagePlanId=created.physical_id)
