"""Step Functions' AWS SDK integrations (``arn:aws:states:::aws-sdk:SERVICE:ACTION``) as AWS
runs them: PascalCase parameters mapped to the API's names, responses with capitalised member
names and ISO 8601 timestamps, errors named ``ServiceName.ErrorName``, and the services Step
Functions names differently from boto3.

The aws-sdk integration, and the optimised Step Functions integration (states:startExecution),
which moto leaves unmapped too; the other optimised integrations (dynamodb:putItem, sns:publish,
...) take the native parameter names and are already right.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from unittest import mock

from petclinic_local.moto_compat.gap import Gap, Hooks, Patches
from petclinic_local.moto_compat.timestamps import iso, jsonable

# AWS: "the Error field ... ServiceName.ErrorName, both in PascalCase" (Step Functions developer
# guide, AWS SDK integrations). moto keeps the lower-case resource name for most services.
SDK_ERROR_SERVICE_NAMES = {
    "applicationautoscaling": "ApplicationAutoScaling",
    "cloudformation": "CloudFormation",
    "cloudwatch": "CloudWatch",
    "cloudwatchlogs": "CloudWatchLogs",
    "dynamodb": "DynamoDb",
    "ecr": "Ecr",
    "ecs": "Ecs",
    "lambda": "Lambda",
    "rds": "Rds",
    "secretsmanager": "SecretsManager",
    "sfn": "Sfn",
    "sns": "Sns",
    "ssm": "Ssm",
}

# Step Functions names some services differently from the SDKs (aws-sdk:cloudwatchlogs:... is boto3's "logs",
# aws-sdk:applicationautoscaling:... boto3's "application-autoscaling").
SDK_SERVICE_NAMES = {"cloudwatchlogs": "logs", "applicationautoscaling": "application-autoscaling"}


def _operation_model(task: Any, service_name: str | None, action: str | None) -> Any:
    import botocore.session  # noqa: PLC0415

    service = task._get_boto_service_name(boto_service_name=service_name)
    api_action = action or task.resource.api_action
    model = botocore.session.get_session().get_service_model(service)
    if "_" in api_action:  # describe_execution (moto's internal calls) -> DescribeExecution
        return model.operation_model("".join(part.capitalize() for part in api_action.split("_")))
    return model.operation_model(api_action[0].upper() + api_action[1:])


def _normalise_parameters(
    self: Any,
    parameters: dict[str, Any],
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    input_shape = _operation_model(self, boto_service_name, service_action_name).input_shape
    if input_shape is not None:
        self._to_boto_request(parameters, input_shape)


def sfn_cased(value: Any, shape: Any) -> Any:
    """An SDK response as Step Functions returns it: each structure member's name with its first
    letter capitalised (serviceArns -> ServiceArns, ARN stays ARN), map keys untouched,
    timestamps as ISO 8601 strings."""
    if isinstance(value, dt.datetime):
        return iso(value)
    if shape is None:
        return jsonable(value)
    if shape.type_name == "structure" and isinstance(value, dict):
        members = shape.members
        return {key[:1].upper() + key[1:]: sfn_cased(item, members.get(key)) for key, item in value.items()}
    if shape.type_name == "list" and isinstance(value, list):
        return [sfn_cased(item, shape.member) for item in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {key: sfn_cased(item, shape.value) for key, item in value.items()}
    return jsonable(value)


def _normalise_response(
    self: Any, response: Any, boto_service_name: str | None = None, service_action_name: str | None = None
) -> None:
    if not isinstance(response, dict):
        return
    output_shape = _operation_model(self, boto_service_name, service_action_name).output_shape
    converted = sfn_cased(response, output_shape)
    response.clear()
    response.update(converted)


def _aws_sdk_normalisation(_: Hooks) -> Patches:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: PLC0415
        state_task_service_aws_sdk as aws_sdk,
    )

    yield mock.patch.object(
        aws_sdk.StateTaskServiceAwsSdk, "_normalise_parameters", _normalise_parameters, create=True
    )
    yield mock.patch.object(
        aws_sdk.StateTaskServiceAwsSdk, "_normalise_response", _normalise_response, create=True
    )


def _sfn_integration_names(_: Hooks) -> Patches:
    """The optimised Step Functions integration (states:startExecution, .sync, .sync:2) maps its
    parameters and its child's DescribeExecution the same way as the aws-sdk integration."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: PLC0415
        state_task_service_sfn as sfn,
    )

    original = sfn.StateTaskServiceSfn._normalise_parameters

    def normalise_parameters(
        self: Any,
        parameters: dict[str, Any],
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        original(self, parameters, boto_service_name, service_action_name)  # Input as a JSON string
        _normalise_parameters(self, parameters, boto_service_name, service_action_name)

    yield mock.patch.object(sfn.StateTaskServiceSfn, "_normalise_parameters", normalise_parameters)
    yield mock.patch.object(sfn.StateTaskServiceSfn, "_normalise_response", _normalise_response)


def _aws_sdk_error_names(_: Hooks) -> Patches:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: PLC0415
        state_task_service_aws_sdk as aws_sdk,
    )

    yield mock.patch.dict(aws_sdk._SERVICE_ERROR_NAMES, SDK_ERROR_SERVICE_NAMES)


def _aws_sdk_service_names(_: Hooks) -> Patches:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (  # noqa: PLC0415
        StateTaskService,
    )

    yield mock.patch.dict(StateTaskService._SERVICE_NAME_SFN_TO_BOTO_OVERRIDES, SDK_SERVICE_NAMES)


GAPS = (
    Gap(
        "aws-sdk-normalisation",
        "arn:aws:states:::aws-sdk:* tasks fail: PascalCase parameters are not mapped to the API's names, "
        "responses keep camelCase keys and datetimes that break DescribeExecution",
        "getmoto/moto#10076 (fix PRs #10094, #10101)",
        ("stepfunctions",),
        _aws_sdk_normalisation,
    ),
    Gap(
        "sfn-integration-names",
        "arn:aws:states:::states:startExecution(.sync:2) tasks fail: the optimised Step Functions "
        "integration hands its PascalCase parameters to boto3 unmapped and returns camelCase keys",
        "moto/stepfunctions/parser/.../state_task_service_sfn.py (StateTaskService._normalise_* are stubs)",
        ("stepfunctions",),
        _sfn_integration_names,
    ),
    Gap(
        "aws-sdk-error-names",
        "aws-sdk errors are named 'ecs.XException' where AWS says 'Ecs.XException' "
        "(ServiceName.ErrorName, both PascalCase)",
        "moto/stepfunctions/parser/.../state_task_service_aws_sdk.py _SERVICE_ERROR_NAMES",
        ("stepfunctions",),
        _aws_sdk_error_names,
    ),
    Gap(
        "aws-sdk-service-names",
        "aws-sdk:cloudwatchlogs:* and aws-sdk:applicationautoscaling:* tasks fail: the integration's "
        "service names are not mapped to boto3's 'logs' and 'application-autoscaling'",
        "moto/stepfunctions/parser/.../state_task_service.py _SERVICE_NAME_SFN_TO_BOTO_OVERRIDES",
        ("stepfunctions",),
        _aws_sdk_service_names,
    ),
)
