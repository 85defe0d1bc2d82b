"""Every workaround for a moto 5.2.5 gap, in one place.

The local cloud runs the real template, ASL files and handlers on moto. Where moto falls short
of AWS, a ``Gap`` below closes it with patches that ``install`` applies and the returned
ExitStack removes. Each gap names what is wrong and where upstream tracks it, and
``tests/local/test_moto_gaps.py`` shows, gap by gap, that unpatched moto still needs it (when a
test there starts failing, upstream fixed the gap: delete the workaround).

Measured facts behind these: ../shared/notes/local-aws.md.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, cast
from unittest import mock

import jsonata
from jsonata.utils import Utils as JsonataUtils

# --------------------------------------------------------------------------- the hooks


class Hooks(Protocol):
    """What the patches need from the local cloud that installs them."""

    time_scale: float

    def has_function(self, function_name: str) -> bool: ...

    def invoke_function(self, function_name: str, payload: Any) -> tuple[Any, bool, str]:
        """Run a function in-process: (response payload, errored, log text)."""
        ...

    def deployment_started(
        self, service: Any, deployment: dict[str, Any], previous: dict[str, Any] | None
    ) -> None:
        """ECS accepted a new deployment; the rollout simulator drives it from here."""
        ...

    def background(self, work: Callable[[], None]) -> None:
        """Run work the way AWS does it after answering (rotations), counted as activity."""
        ...


@dataclass(frozen=True)
class Gap:
    name: str
    problem: str
    upstream: str
    install: Callable[[Hooks], Iterable[contextlib.AbstractContextManager[Any]]]


# --------------------------------------------------------------------------- JSONata


def _aws_jsonata_functions() -> dict[str, Callable[..., Any]]:
    """Step Functions' additions to JSONata (AWS docs, "Transforming data with JSONata")."""

    def parse(value: str) -> Any:
        return json.loads(value)

    def partition(array: list[Any], size: int) -> list[list[Any]]:
        return [array[i : i + int(size)] for i in range(0, len(array), int(size))]

    def arange(first: float, last: float, step: float) -> list[float]:
        out, value = [], first
        while (step > 0 and value <= last) or (step < 0 and value >= last):
            out.append(value)
            value += step
        return out

    def hash_(value: str, algorithm: str = "SHA-256") -> str:
        import hashlib  # noqa: PLC0415

        name = algorithm.replace("-", "").lower()
        return hashlib.new(name, value.encode()).hexdigest()

    return {
        "parse": parse,
        "uuid": lambda: str(uuid.uuid4()),
        "partition": partition,
        "range": arange,
        "hash": hash_,
        "random": lambda *seed: random.Random(seed[0] if seed else None).random(),  # noqa: S311
    }


class _Undefined(Exception):
    pass


def evaluate_jsonata(expression: str, bindings: dict[str, Any]) -> Any:
    """Evaluate one JSONata expression with variables bound to Python values.

    Values are bound, not printed into the expression text, so strings with quotes and large
    documents cost nothing to parse. Raises ``_Undefined`` when the result is undefined.
    """
    compiled = jsonata.Jsonata(expression)
    for name, function in _aws_jsonata_functions().items():
        compiled.register_lambda(name, function)
    compiled.set_output_convert_nulls(False)
    values = {name: JsonataUtils.NULL_VALUE if value is None else value for name, value in bindings.items()}
    result = compiled.evaluate(None, values)
    if result is None:
        raise _Undefined(expression)
    return JsonataUtils.convert_nulls(result)


def _string_jsonata_eval_body(self: Any, env: Any) -> None:
    """Replacement of moto's StringJSONata._eval_body (which composes text for a JVM bridge)."""
    from moto.stepfunctions.parser.api import EvaluationFailedEventDetails, HistoryEventType  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (  # noqa: PLC0415
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (  # noqa: PLC0415
        StatesErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (  # noqa: PLC0415
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails  # noqa: PLC0415

    store = env.variable_store
    bindings = {**store._outer_scope, **store._inner_scope}
    # The context object holds datetimes where AWS has ISO 8601 strings (Execution.StartTime...).
    bindings["states"] = _jsonable(env.states._states_data)
    try:
        result = evaluate_jsonata(self.expression, bindings)
    except _Undefined:
        cause = f"The JSONata expression '{self.expression}' returned nothing (undefined)."
    except Exception as exc:
        cause = f"An error occurred while evaluating the JSONata expression '{self.expression}': {exc}"
    else:
        env.stack.append(result)
        return
    error_name = StatesErrorName(typ=StatesErrorNameType.StatesQueryEvaluationError)
    raise FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=error_name,
            event_type=HistoryEventType.EvaluationFailed,
            event_details=EventDetails(
                evaluationFailedEventDetails=EvaluationFailedEventDetails(
                    cause=cause, error=error_name.error_name
                )
            ),
        )
    )


def _string_variable_sample_eval_body(self: Any, env: Any) -> None:
    """Replacement of StringVariableSample._eval_body: a JSONPath state reading $variable (and a
    JSONata one, with $states) through the bound evaluator, not text composition."""
    from moto.stepfunctions.parser.asl.component.common.query_language import QueryLanguageMode  # noqa: PLC0415

    store = env.variable_store
    bindings = {**store._outer_scope, **store._inner_scope}
    if self.query_language_mode == QueryLanguageMode.JSONata:
        bindings["states"] = _jsonable(env.states._states_data)
    try:
        env.stack.append(evaluate_jsonata(self.expression, bindings))
    except _Undefined:
        env.stack.append(None)


def _jsonata(_: Hooks) -> Iterator[contextlib.AbstractContextManager[Any]]:
    from moto.stepfunctions.parser.asl.component.common.string import string_expression  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata  # noqa: PLC0415

    yield mock.patch.object(string_expression.StringJSONata, "_eval_body", _string_jsonata_eval_body)
    yield mock.patch.object(
        string_expression.StringVariableSample, "_eval_body", _string_variable_sample_eval_body
    )
    # Text-composed expressions (JSONPath states sampling variables) still go through here.
    yield mock.patch.object(moto_jsonata, "_eval_jsonata", lambda text: jsonata.Jsonata(text).evaluate(None))


# --------------------------------------------------------------------------- AWS SDK integrations

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


def _iso(value: dt.datetime) -> str:
    value = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _jsonable(value: Any) -> Any:
    """SDK responses as Step Functions hands them over: timestamps become ISO 8601 strings."""
    if isinstance(value, dt.datetime):
        return _iso(value)
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    return value


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
        return _iso(value)
    if shape is None:
        return _jsonable(value)
    if shape.type_name == "structure" and isinstance(value, dict):
        members = shape.members
        return {key[:1].upper() + key[1:]: sfn_cased(item, members.get(key)) for key, item in value.items()}
    if shape.type_name == "list" and isinstance(value, list):
        return [sfn_cased(item, shape.member) for item in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {key: sfn_cased(item, shape.value) for key, item in value.items()}
    return _jsonable(value)


def _normalise_response(
    self: Any, response: Any, boto_service_name: str | None = None, service_action_name: str | None = None
) -> None:
    if not isinstance(response, dict):
        return
    output_shape = _operation_model(self, boto_service_name, service_action_name).output_shape
    converted = sfn_cased(response, output_shape)
    response.clear()
    response.update(converted)


def _aws_sdk_normalisation(_: Hooks) -> Iterator[contextlib.AbstractContextManager[Any]]:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: PLC0415
        state_task_service_aws_sdk as aws_sdk,
    )

    # Only the aws-sdk integration: optimised integrations (dynamodb:putItem, sns:publish, ...)
    # take the native parameter names and are already right.
    yield mock.patch.object(
        aws_sdk.StateTaskServiceAwsSdk, "_normalise_parameters", _normalise_parameters, create=True
    )
    yield mock.patch.object(
        aws_sdk.StateTaskServiceAwsSdk, "_normalise_response", _normalise_response, create=True
    )


def _sfn_integration_names(_: Hooks) -> Iterator[contextlib.AbstractContextManager[Any]]:
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


def _aws_sdk_error_names(_: Hooks) -> Iterator[contextlib.AbstractContextManager[Any]]:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: PLC0415
        state_task_service_aws_sdk as aws_sdk,
    )

    yield mock.patch.dict(aws_sdk._SERVICE_ERROR_NAMES, SDK_ERROR_SERVICE_NAMES)


# Step Functions names some services differently from the SDKs (aws-sdk:cloudwatchlogs:... is boto3's "logs").
SDK_SERVICE_NAMES = {"cloudwatchlogs": "logs"}


def _aws_sdk_service_names(_: Hooks) -> Iterator[contextlib.AbstractContextManager[Any]]:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (  # noqa: PLC0415
        StateTaskService,
    )

    yield mock.patch.dict(StateTaskService._SERVICE_NAME_SFN_TO_BOTO_OVERRIDES, SDK_SERVICE_NAMES)


# --------------------------------------------------------------------------- Step Functions API


def _start_execution_name(_: Hooks) -> Iterator[contextlib.AbstractContextManager[Any]]:
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend  # noqa: PLC0415

    original = StepFunctionsParserBackend.start_execution

    def start_execution(
        self: Any, state_machine_arn: str, name: str | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        return original(self, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)

    yield mock.patch.object(StepFunctionsParserBackend, "start_execution", start_execution)


def _time_scale(hooks: Hooks) -> Iterator[contextlib.AbstractContextManager[Any]]:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.common.timeouts import heartbeat, timeout  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function  # noqa: PLC0415

    original_wait = wait_function.WaitFunction._wait_interval

    def wait_interval(self: Any, env: Any, wait_seconds: float) -> None:
        original_wait(self, env, wait_seconds * hooks.time_scale)

    class _ScaledTime:
        def __getattr__(self, name: str) -> Any:
            return getattr(time, name)

        @staticmethod
        def sleep(seconds: float) -> None:
            time.sleep(seconds * hooks.time_scale)

    yield mock.patch.object(wait_function.WaitFunction, "_wait_interval", wait_interval)
    yield mock.patch.object(retrier_decl, "time", _ScaledTime())
    for module, base in ((timeout, timeout.Timeout), (heartbeat, heartbeat.Heartbeat)):
        for cls in [
            c for c in vars(module).values() if isinstance(c, type) and issubclass(c, base) and c is not base
        ]:
            yield mock.patch.object(cls, "_eval_body", _scaled_eval(cast(Any, cls)._eval_body, hooks))


def _scaled_eval(original: Callable[[Any, Any], None], hooks: Hooks) -> Callable[[Any, Any], None]:
    def eval_body(self: Any, env: Any) -> None:
        original(self, env)
        env.stack.append(env.stack.pop() * hooks.time_scale)

    return eval_body


# --------------------------------------------------------------------------- Lambda


def _lambda_in_process(hooks: Hooks) -> Iterator[contextlib.AbstractContextManager[Any]]:
    from moto.awslambda_simple.models import LambdaSimpleBackend  # noqa: PLC0415

    original = LambdaSimpleBackend.invoke

    def invoke(  # noqa: PLR0917 - moto's signature
        self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> str | bytes | None:
        name = function_name.split(":")[6] if function_name.startswith("arn:") else function_name
        if not hooks.has_function(name):
            return original(self, function_name, qualifier, body, headers, response_headers)  # type: ignore[no-any-return]
        payload, errored, logs = hooks.invoke_function(name, json.loads(body) if body else {})
        if errored:
            response_headers["x-amz-function-error"] = "Unhandled"
        if headers.get("x-amz-log-type") == "Tail":
            import base64  # noqa: PLC0415

            response_headers["x-amz-log-result"] = base64.b64encode(logs[-4096:].encode()).decode()
        return json.dumps(payload).encode()

    yield mock.patch.object(LambdaSimpleBackend, "invoke", invoke)


# --------------------------------------------------------------------------- EventBridge


def event_time(value: Any) -> str:
    """EventBridge's ``time``: ISO 8601 in UTC, whole seconds."""
    if isinstance(value, int | float):
        value = dt.datetime.fromtimestamp(value, dt.UTC)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def _target_input(target: dict[str, Any], event: dict[str, Any], original: dict[str, Any]) -> str:
    from moto.events.models import EventTemplateParser  # noqa: PLC0415

    if "Input" in target:
        return str(target["Input"])
    if "InputPath" in target:
        from jsonpath_ng import parse  # noqa: PLC0415

        matches = [match.value for match in parse(target["InputPath"]).find(event)]
        return json.dumps(matches[0] if matches else None)
    if "InputTransformer" in target:
        transformer = target["InputTransformer"]
        rendered = EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event={**original, "time": event["time"]},  # moto's parser reads 'ingestion-time'
        )
        return rendered if isinstance(rendered, str) else json.dumps(rendered)
    return json.dumps(event)


def _eventbridge_states_targets(_: Hooks) -> Iterator[contextlib.AbstractContextManager[Any]]:
    from moto.events.models import Rule  # noqa: PLC0415
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends  # noqa: PLC0415
    from moto.utilities.arns import parse_arn  # noqa: PLC0415

    original = Rule.send_to_targets

    def send_to_targets(self: Any, original_event: dict[str, Any], transform_input: bool = True) -> None:
        event = {**original_event, "time": event_time(original_event.get("time"))}
        event.pop("ingestion-time", None)
        if not self.event_pattern.matches_event(event):
            return
        others = [target for target in self.targets if parse_arn(target["Arn"]).service != "states"]
        for target in self.targets:
            arn = parse_arn(target["Arn"])
            if arn.service != "states":
                continue
            backend = stepfunctions_parser_backends[arn.account][arn.region]
            backend.start_execution(target["Arn"], None, _target_input(target, event, original_event))
        if others:
            with _only_targets(self, others):
                original(self, original_event, transform_input)

    yield mock.patch.object(Rule, "send_to_targets", send_to_targets)


@contextlib.contextmanager
def _only_targets(rule: Any, targets: list[dict[str, Any]]) -> Iterator[None]:
    saved = rule.targets
    rule.targets = targets
    try:
        yield
    finally:
        rule.targets = saved


# --------------------------------------------------------------------------- DynamoDB


def _dynamodb_atomic_writes(_: Hooks) -> Iterator[contextlib.AbstractContextManager[Any]]:
    from moto.dynamodb.models import DynamoDBBackend  # noqa: PLC0415

    lock = threading.RLock()

    def serialised(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            with lock:
                return original(self, *args, **kwargs)

        return call

    for name in ("put_item", "update_item", "delete_item", "transact_write_items", "get_item"):
        yield mock.patch.object(DynamoDBBackend, name, serialised(getattr(DynamoDBBackend, name)))


# --------------------------------------------------------------------------- ECR and ECS


def _ecr_push_time(_: Hooks) -> Iterator[contextlib.AbstractContextManager[Any]]:
    from moto.ecr.models import Image  # noqa: PLC0415

    original = Image.__init__
    last = [0.0]
    lock = threading.Lock()

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        # Millisecond precision, strictly increasing: a real push takes far longer than 1 ms.
        with lock:
            last[0] = max(round(time.time(), 3), round(last[0] + 0.001, 3))
            self.image_pushed_at = last[0]

    yield mock.patch.object(Image, "__init__", init)


# ECS deployments change under UpdateService and under the rollout simulator: one lock for both.
deployment_lock = threading.RLock()


def new_deployment(service: Any, task_definition: str) -> dict[str, Any]:
    from moto.moto_api._internal import mock_random  # noqa: PLC0415

    now = dt.datetime.now(dt.UTC)
    deployment_id = f"ecs-svc/{mock_random.randint(10**18, 10**19 - 1)}"
    return {
        "id": deployment_id,
        "status": "PRIMARY",
        "taskDefinition": task_definition,
        "desiredCount": service.desired_count,
        "pendingCount": service.desired_count,
        "runningCount": 0,
        "failedTasks": 0,
        "createdAt": now,
        "updatedAt": now,
        "launchType": service.launch_type,
        "platformFamily": "FARGATE" if service.launch_type != "EC2" else "EC2",
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": f"ECS deployment {deployment_id} in progress.",
    }


def _ecs_deployments(hooks: Hooks) -> Iterator[contextlib.AbstractContextManager[Any]]:
    from moto.ecs.models import EC2ContainerServiceBackend  # noqa: PLC0415

    original = EC2ContainerServiceBackend.update_service

    def update_service(self: Any, service_properties: dict[str, Any]) -> Any:
        cluster = service_properties.get("cluster", "default")
        name = service_properties["service"].split("/")[-1]
        force = bool(service_properties.pop("force_new_deployment", False))
        with deployment_lock:
            before = self._get_service(cluster, name).task_definition
            service = original(self, service_properties)
            if service.task_definition != before or force:
                task_definition = self.describe_task_definition(service.task_definition).arn
                previous = copy.copy(next((d for d in service.deployments if d["status"] == "PRIMARY"), None))
                for deployment in service.deployments:
                    if deployment["status"] == "PRIMARY":
                        deployment["status"] = "ACTIVE"
                deployment = new_deployment(service, task_definition)
                service.deployments.insert(0, deployment)
                service.task_definition = task_definition
                hooks.deployment_started(service, deployment, previous)
        return service

    yield mock.patch.object(EC2ContainerServiceBackend, "update_service", update_service)


# --------------------------------------------------------------------------- Secrets Manager

ROTATION_STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


def rotation_event(secret: Any, event_name: str) -> dict[str, Any]:
    """What Secrets Manager records in CloudTrail (and EventBridge delivers) when a rotation ends."""
    now = event_time(dt.datetime.now(dt.UTC))
    return {
        "Source": "aws.secretsmanager",
        "DetailType": "AWS Service Event via CloudTrail",
        "Detail": json.dumps(
            {
                "eventVersion": "1.08",
                "userIdentity": {"accountId": secret.account_id, "invokedBy": "secretsmanager.amazonaws.com"},
                "eventTime": now,
                "eventSource": "secretsmanager.amazonaws.com",
                "eventName": event_name,
                "awsRegion": secret.region,
                "sourceIPAddress": "secretsmanager.amazonaws.com",
                "userAgent": "secretsmanager.amazonaws.com",
                "requestParameters": None,
                "responseElements": None,
                "additionalEventData": {"SecretId": secret.arn},
                "requestID": str(uuid.uuid4()),
                "eventID": str(uuid.uuid4()),
                "readOnly": False,
                "eventType": "AwsServiceEvent",
                "managementEvent": True,
                "recipientAccountId": secret.account_id,
                "eventCategory": "Management",
            }
        ),
    }


def _run_rotation(
    secret: Any, token: str, function_arn: str, steps: tuple[str, ...] = ROTATION_STEPS
) -> None:
    """The four steps, in order, stopping at the first failure (AWSCURRENT then stays)."""
    from moto.awslambda.utils import get_backend  # noqa: PLC0415
    from moto.events.models import events_backends  # noqa: PLC0415

    lambda_backend = get_backend(secret.account_id, secret.region)
    outcome = "RotationSucceeded"
    for step in steps:
        response_headers: dict[str, Any] = {}
        body = json.dumps({"Step": step, "SecretId": secret.arn, "ClientRequestToken": token})
        lambda_backend.invoke(function_arn, None, body, {}, response_headers)
        if response_headers.get("x-amz-function-error"):
            outcome = "RotationFailed"
            break
    if steps != ROTATION_STEPS:  # a configuration test: no rotation happened
        secret.versions.pop(token, None)
        return
    if outcome == "RotationSucceeded":
        # AWS takes AWSPENDING off the new version once the rotation has succeeded.
        version = secret.versions.get(token, {})
        if "AWSPENDING" in version.get("version_stages", []):
            version["version_stages"].remove("AWSPENDING")
        current = next((v for v, d in secret.versions.items() if "AWSCURRENT" in d["version_stages"]), None)
        secret.set_default_version_id(current)
        secret.last_rotation_date = int(time.time())
    events_backends[secret.account_id][secret.region].put_events([rotation_event(secret, outcome)])


def _secretsmanager_rotation(hooks: Hooks) -> Iterator[contextlib.AbstractContextManager[Any]]:
    from moto.awslambda.utils import get_backend  # noqa: PLC0415
    from moto.secretsmanager.exceptions import (  # noqa: PLC0415
        InvalidRequestException,
        ResourceNotFoundException,
        SecretNotFoundException,
    )
    from moto.secretsmanager.models import SecretsManagerBackend  # noqa: PLC0415

    def rotate_secret(  # noqa: PLR0917 - moto's signature
        self: Any,
        secret_id: str,
        client_request_token: str | None = None,
        rotation_lambda_arn: str | None = None,
        rotation_rules: dict[str, Any] | None = None,
        rotate_immediately: bool = True,
    ) -> str:
        if not self._is_valid_identifier(secret_id):
            raise SecretNotFoundException()
        secret = self.secrets[secret_id]
        if secret.is_deleted():
            raise InvalidRequestException(
                "You can't perform this operation on the secret because it was marked for deletion."
            )
        function_arn = rotation_lambda_arn or secret.rotation_lambda_arn
        if not function_arn:
            raise InvalidRequestException("No Lambda rotation function ARN is associated with this secret.")
        try:
            get_backend(self.account_id, self.region_name).get_function(function_arn)
        except Exception:
            raise ResourceNotFoundException(f"Resource not found for ARN '{function_arn}'.") from None
        if any(
            "AWSPENDING" in v["version_stages"] and "AWSCURRENT" not in v["version_stages"]
            for v in secret.versions.values()
        ):
            raise InvalidRequestException(
                "A previous rotation isn't complete. That rotation will be reattempted."
            )
        secret.rotation_requested = secret.rotation_enabled = True
        secret.rotation_lambda_arn = function_arn
        if rotation_rules and "AutomaticallyAfterDays" in rotation_rules:
            secret.auto_rotate_after_days = rotation_rules["AutomaticallyAfterDays"]
        token = client_request_token or str(uuid.uuid4())
        if token in secret.versions:
            return secret.to_short_dict(version_id=token)  # type: ignore[no-any-return]
        version = {"createdate": int(time.time()), "version_id": token, "version_stages": ["AWSPENDING"]}
        secret.remove_version_stages_from_old_versions(["AWSPENDING"])  # a label is on one version only
        if rotate_immediately:
            secret.versions[token] = version
            hooks.background(lambda: _run_rotation(secret, token, function_arn))
        else:
            # AWS tests the configuration with testSecret, then drops that version.
            current = secret.versions.get(secret.default_version_id, {})
            secret.versions[token] = {
                **version,
                **{k: v for k, v in current.items() if k.startswith("secret_")},
            }
            hooks.background(lambda: _run_rotation(secret, token, function_arn, steps=("testSecret",)))
        return secret.to_short_dict(version_id=token)  # type: ignore[no-any-return]

    yield mock.patch.object(SecretsManagerBackend, "rotate_secret", rotate_secret)


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


# --------------------------------------------------------------------------- CloudFormation


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


# --------------------------------------------------------------------------- registry

GAPS: tuple[Gap, ...] = (
    Gap(
        "jsonata",
        'moto has no JSONata evaluator ("QueryLanguage": "JSONata" and Assign fail): _eval_jsonata is None '
        "(LocalStack plugs a JVM bridge there); it also prints string variables into expressions unescaped, "
        "and its context object holds datetimes where AWS has ISO 8601 strings",
        "moto/stepfunctions/parser/asl/jsonata/jsonata.py (no upstream issue yet)",
        _jsonata,
    ),
    Gap(
        "aws-sdk-normalisation",
        "arn:aws:states:::aws-sdk:* tasks fail: PascalCase parameters are not mapped to the API's names, "
        "responses keep camelCase keys and datetimes that break DescribeExecution",
        "getmoto/moto#10076 (fix PRs #10094, #10101)",
        _aws_sdk_normalisation,
    ),
    Gap(
        "sfn-integration-names",
        "arn:aws:states:::states:startExecution(.sync:2) tasks fail: the optimised Step Functions "
        "integration hands its PascalCase parameters to boto3 unmapped and returns camelCase keys",
        "moto/stepfunctions/parser/.../state_task_service_sfn.py (StateTaskService._normalise_* are stubs)",
        _sfn_integration_names,
    ),
    Gap(
        "aws-sdk-error-names",
        "aws-sdk errors are named 'ecs.XException' where AWS says 'Ecs.XException' "
        "(ServiceName.ErrorName, both PascalCase)",
        "moto/stepfunctions/parser/.../state_task_service_aws_sdk.py _SERVICE_ERROR_NAMES",
        _aws_sdk_error_names,
    ),
    Gap(
        "aws-sdk-service-names",
        "aws-sdk:cloudwatchlogs:* tasks fail: the integration's service name is not mapped to boto3's 'logs'",
        "moto/stepfunctions/parser/.../state_task_service.py _SERVICE_NAME_SFN_TO_BOTO_OVERRIDES",
        _aws_sdk_service_names,
    ),
    Gap(
        "start-execution-name",
        "StartExecution without a name gets '.../None' as its ARN; the second one fails",
        "moto/stepfunctions/parser/models.py start_execution",
        _start_execution_name,
    ),
    Gap(
        "time-scale",
        "Wait states, Retry intervals and task timeouts really sleep; scale them down locally",
        "by design (a local-cloud setting, not a moto bug)",
        _time_scale,
    ),
    Gap(
        "lambda-in-process",
        "Lambda runs Docker (absent here) or, with use_docker False, echoes the payload",
        "moto/awslambda_simple/models.py LambdaSimpleBackend.invoke",
        _lambda_in_process,
    ),
    Gap(
        "eventbridge-states-targets",
        "a rule with a Step Functions target raises NotImplementedError on PutEvents; events carry "
        "'time' as a unix number instead of an ISO 8601 string",
        "moto/events/models.py Rule.send_to_targets",
        _eventbridge_states_targets,
    ),
    Gap(
        "dynamodb-atomic-writes",
        "a conditional write checks its condition and writes in two steps with no lock: two requests in "
        "two threads (Step Functions runs executions in threads) can both pass attribute_not_exists(...)",
        "moto/dynamodb/models/__init__.py DynamoDBBackend.update_item (no upstream issue yet)",
        _dynamodb_atomic_writes,
    ),
    Gap(
        "ecr-push-time",
        "ECR records imagePushedAt in whole seconds, so pushes within one second cannot be ordered "
        "(locally, pushes are also kept at least 1 ms apart, as real pushes are)",
        "moto/ecr/models.py Image.__init__",
        _ecr_push_time,
    ),
    Gap(
        "secretsmanager-rotation",
        "RotateSecret runs the four steps inside the call (AWS answers, then rotates in the background), "
        "goes on after a failed step and promotes the new version anyway, leaves AWSPENDING on it, then "
        "refuses the next rotation; without RotationLambdaARN it forgets the configured function; "
        "no RotationSucceeded/RotationFailed events",
        "moto/secretsmanager/models.py SecretsManagerBackend.rotate_secret",
        _secretsmanager_rotation,
    ),
    Gap(
        "ecs-deployments",
        "UpdateService never starts a new deployment: the PRIMARY deployment keeps its id, task "
        "definition and rolloutState (force_new_deployment only renames it)",
        "moto/ecs/models.py EC2ContainerServiceBackend.update_service",
        _ecs_deployments,
    ),
)


def install(hooks: Hooks, *, skip: Iterable[str] = ()) -> contextlib.ExitStack:
    """Apply every gap's patches (except ``skip``); closing the stack removes them."""
    skipped = set(skip)
    unknown = skipped - {gap.name for gap in GAPS}
    if unknown:
        raise ValueError(f"unknown gaps: {', '.join(sorted(unknown))}")
    stack = contextlib.ExitStack()
    for gap in GAPS:
        if gap.name in skipped:
            continue
        for patcher in gap.install(hooks):
            stack.enter_context(patcher)
    return stack
