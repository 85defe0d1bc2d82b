"""Secrets Manager, as the rotation's ``SecretStore`` port (boto3, imported on first use).

Every read names its staging label: moto (the local cloud) keeps a "default version" that
UpdateSecretVersionStage does not move, so a GetSecretValue without VersionStage can answer
with the old value there; on AWS the two are the same.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from petclinic_ops.errors import InvalidSecret
from petclinic_ops.models.rotation import AWSCURRENT, AWSPENDING, SecretDescription

if TYPE_CHECKING:
    from types_boto3_secretsmanager.client import SecretsManagerClient


class SecretsManagerStore:
    def __init__(self, client: SecretsManagerClient | None = None) -> None:
        self._injected = client

    @cached_property
    def client(self) -> SecretsManagerClient:
        if self._injected is not None:
            return self._injected
        import boto3  # noqa: PLC0415 - lazy: boto3 costs cold-start time the handler's import should not pay
        from botocore.config import Config  # noqa: PLC0415

        # The Lambda's timeout bounds the whole step; fail over to a retry well before it.
        config = Config(connect_timeout=5, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})
        return boto3.client("secretsmanager", config=config)

    def describe(self, secret_id: str) -> SecretDescription:
        response = self.client.describe_secret(SecretId=secret_id)
        return SecretDescription(
            arn=response["ARN"],
            name=response["Name"],
            # Absent until rotation has been configured once.
            rotation_enabled=bool(response.get("RotationEnabled", False)),
            versions={
                version: frozenset(stages)
                for version, stages in response.get("VersionIdsToStages", {}).items()
            },
        )

    def get_value(self, secret_id: str, *, stage: str, version_id: str | None = None) -> str | None:
        arguments: dict[str, Any] = {"SecretId": secret_id, "VersionStage": stage}
        if version_id is not None:
            arguments["VersionId"] = version_id
        try:
            response = self.client.get_secret_value(**arguments)
        except self.client.exceptions.ResourceNotFoundException:
            # The secret does not exist, or the version has no value yet (AWSPENDING before createSecret).
            return None
        value = response.get("SecretString")
        if value is None:
            raise InvalidSecret(f"secret {secret_id} ({stage}) holds binary data, not a JSON SecretString")
        return value

    def put_pending(self, secret_id: str, token: str, value: str) -> None:
        self.client.put_secret_value(
            SecretId=secret_id, ClientRequestToken=token, SecretString=value, VersionStages=[AWSPENDING]
        )

    def random_password(self, *, length: int, exclude_characters: str) -> str:
        response = self.client.get_random_password(
            PasswordLength=length,
            ExcludeCharacters=exclude_characters,
            IncludeSpace=False,
            RequireEachIncludedType=True,
        )
        return response["RandomPassword"]

    def move_current(self, secret_id: str, *, to_version: str, from_version: str | None) -> bool:
        arguments: dict[str, Any] = {
            "SecretId": secret_id,
            "VersionStage": AWSCURRENT,
            "MoveToVersionId": to_version,
        }
        if from_version is not None:
            arguments["RemoveFromVersionId"] = from_version
        errors = self.client.exceptions
        try:
            self.client.update_secret_version_stage(**arguments)
        except (errors.InvalidParameterException, errors.InvalidRequestException):
            # RemoveFromVersionId no longer holds AWSCURRENT (or, None, another version does).
            if AWSCURRENT in self.describe(secret_id).versions.get(from_version or "", ()):
                raise  # not that: the request is wrong in some other way
            return False
        return True
