"""Secrets Manager: RotateSecret as AWS runs it.

AWS answers RotateSecret at once, then invokes the function for createSecret, setSecret,
testSecret and finishSecret in the background, stops at the first step that fails (AWSCURRENT
then stays where it was), takes AWSPENDING off the new version once the rotation has
succeeded, and records RotationSucceeded or RotationFailed (EventBridge delivers them). moto
invokes the four steps inside the call, goes on after a failed step, promotes the new version
anyway and forgets the configured function when RotateSecret names none.

The patch replaces moto's ``rotate_secret`` with RotateSecret as AWS runs it; the steps run
through moto's Lambda backend, so in-process for the host's functions.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from typing import Any
from unittest import mock

from petclinic_local.moto_compat.gap import Gap, Hooks, Patches
from petclinic_local.moto_compat.timestamps import event_time

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


def _secretsmanager_rotation(hooks: Hooks) -> Patches:
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


GAPS = (
    Gap(
        "secretsmanager-rotation",
        "RotateSecret runs the four steps inside the call (AWS answers, then rotates in the background), "
        "goes on after a failed step and promotes the new version anyway, leaves AWSPENDING on it, then "
        "refuses the next rotation; without RotationLambdaARN it forgets the configured function; "
        "no RotationSucceeded/RotationFailed events",
        "moto/secretsmanager/models.py SecretsManagerBackend.rotate_secret",
        ("secretsmanager",),
        _secretsmanager_rotation,
    ),
)
