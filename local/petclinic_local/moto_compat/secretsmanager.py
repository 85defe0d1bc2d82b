"""Secrets Manager: RotateSecret as AWS runs it when the rotation function is the host's.

AWS answers RotateSecret at once, then invokes the function for createSecret, setSecret,
testSecret and finishSecret in the background, stops at the first step that fails (AWSCURRENT
then stays where it was), takes AWSPENDING off the new version once the rotation has
succeeded, and records RotationSucceeded or RotationFailed (EventBridge delivers them). moto
invokes the four steps inside the call, goes on after a failed step, promotes the new version
anyway and forgets the configured function when RotateSecret names none.

The patch wraps moto's ``rotate_secret``: moto validates the request and stages the new
version (its checks of the token, the rules, the function ARN and replicas stay), its Lambda
invocations are held back, then the host runs the steps in the background. When the function
is not the host's (``Hooks.has_function``), or there is none, RotateSecret is moto's own.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from unittest import mock

from petclinic_local.moto_compat import iam
from petclinic_local.moto_compat.awslambda import function_name_of
from petclinic_local.moto_compat.gap import Gap, Hooks, Patches
from petclinic_local.moto_compat.timestamps import event_time

ROTATION_STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")

# Set while moto's rotate_secret runs on this thread for the host's function: its synchronous
# Lambda invocations are held back (the host runs the steps after answering).
_held_back = threading.local()


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
    hooks: Hooks, secret: Any, token: str, function: str, steps: tuple[str, ...] = ROTATION_STEPS
) -> None:
    """The steps, in order, stopping at the first failure (AWSCURRENT then stays)."""
    from moto.events.models import events_backends  # noqa: PLC0415

    outcome = "RotationSucceeded"
    for step in steps:
        _, errored, _ = hooks.invoke_function(
            function, {"Step": step, "SecretId": secret.arn, "ClientRequestToken": token}
        )
        if errored:
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


def function_arn_of(backend: Any, function: str) -> str:
    """A rotation function's full ARN (RotationLambdaARN may be a name)."""
    if function.startswith("arn:"):
        return function
    return f"arn:aws:lambda:{backend.region_name}:{backend.account_id}:function:{function}"


def _holdable(original: Callable[..., Any]) -> Callable[..., Any]:
    """moto's Lambda ``invoke``, except on a thread whose invocations are held back."""

    def invoke(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(_held_back, "active", False):
            return None
        return original(self, *args, **kwargs)

    return invoke


def _pending_elsewhere(secret: Any) -> bool:
    """AWSPENDING on a version that is not AWSCURRENT: a rotation that has not completed."""
    return any(
        "AWSPENDING" in v["version_stages"] and "AWSCURRENT" not in v["version_stages"]
        for v in secret.versions.values()
    )


def _secretsmanager_rotation(hooks: Hooks) -> Patches:
    from moto.awslambda.models import LambdaBackend  # noqa: PLC0415
    from moto.awslambda_simple.models import LambdaSimpleBackend  # noqa: PLC0415
    from moto.secretsmanager.exceptions import InvalidRequestException, SecretsManagerClientError  # noqa: PLC0415
    from moto.secretsmanager.models import SecretsManagerBackend  # noqa: PLC0415

    original = SecretsManagerBackend.rotate_secret

    def rotate_secret(  # noqa: PLR0917 - moto's signature
        self: Any,
        secret_id: str,
        client_request_token: str | None = None,
        rotation_lambda_arn: str | None = None,
        rotation_rules: dict[str, Any] | None = None,
        rotate_immediately: bool = True,
    ) -> str:
        secret = self.secrets[secret_id] if self._is_valid_identifier(secret_id) else None
        function_arn: str = rotation_lambda_arn or getattr(secret, "rotation_lambda_arn", None) or ""
        hosts_it = bool(function_arn) and hooks.has_function(function_name_of(function_arn))
        if secret is None or not hosts_it or secret.is_deleted() or not hasattr(secret, "versions"):
            # Unknown, deleted or replica secrets, functions that are not the host's: moto's own.
            return original(  # type: ignore[no-any-return]
                self, secret_id, client_request_token, rotation_lambda_arn, rotation_rules, rotate_immediately
            )
        invoker = "secretsmanager.amazonaws.com"
        if iam.function_policy_refusal(
            function_arn_of(self, function_arn), invoker, self.account_id, secret.arn
        ):
            raise SecretsManagerClientError(
                "AccessDeniedException",
                "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function "
                "policy grants access to the principal secretsmanager.amazonaws.com.",
            )
        if _pending_elsewhere(secret):
            raise InvalidRequestException(
                "A previous rotation isn't complete. That rotation will be reattempted."
            )
        token = client_request_token or str(uuid.uuid4())
        if token in secret.versions:  # a retry of this very request: nothing new to start
            self._client_request_token_validator(token)
            return secret.to_short_dict(version_id=token)  # type: ignore[no-any-return]
        current, last_rotated = secret.default_version_id, secret.last_rotation_date
        # AWSPENDING with AWSCURRENT on one version is a completed rotation, which moto takes for
        # one in progress; the label moves to the new version anyway.
        completed = [
            v for v in secret.versions.values() if {"AWSPENDING", "AWSCURRENT"} <= set(v["version_stages"])
        ]
        for version in completed:
            version["version_stages"].remove("AWSPENDING")
        _held_back.active = True
        try:
            original(self, secret_id, token, function_arn, rotation_rules, rotate_immediately)
        except Exception:
            for version in completed:
                version["version_stages"].append("AWSPENDING")
            raise
        finally:
            _held_back.active = False
        # moto promotes the new version once it has invoked the steps; AWS when finishSecret moves AWSCURRENT.
        secret.set_default_version_id(current)
        secret.last_rotation_date = last_rotated
        secret.rotation_enabled = True
        # Without RotateImmediately, AWS tests the configuration with testSecret, then drops that version.
        steps = ROTATION_STEPS if rotate_immediately else ("testSecret",)
        function = function_name_of(function_arn)
        hooks.background(lambda: _run_rotation(hooks, secret, token, function, steps))
        return secret.to_short_dict(version_id=token)  # type: ignore[no-any-return]

    yield mock.patch.object(SecretsManagerBackend, "rotate_secret", rotate_secret)
    for backend in (LambdaBackend, LambdaSimpleBackend):
        yield mock.patch.object(backend, "invoke", _holdable(backend.invoke))


GAPS = (
    Gap(
        "secretsmanager-rotation",
        "RotateSecret runs the four steps inside the call (AWS answers, then rotates in the background), "
        "goes on after a failed step and promotes the new version anyway, leaves AWSPENDING on it, then "
        "refuses the next rotation; without RotationLambdaARN it forgets the configured function; "
        "no RotationSucceeded/RotationFailed events",
        "moto/secretsmanager/models.py SecretsManagerBackend.rotate_secret",
        ("secretsmanager", "awslambda", "awslambda_simple"),
        _secretsmanager_rotation,
    ),
)
