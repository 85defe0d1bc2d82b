"""Models of the Secrets Manager rotation of the Aurora MySQL credentials.

The secret value has the shape Secrets Manager's own RDS rotation functions use, so secrets
created by RDS, the console or CloudFormation rotate unchanged:

    {"engine": "mysql", "host": "...", "port": 3306, "username": "petclinic",
     "password": "...", "dbname": "petclinic", "masterarn": "arn:aws:secretsmanager:..."}

``masterarn`` (the ARN of a superuser secret) is only needed by the alternating-users strategy.
Keys this function does not know (JDBC settings, ``dbClusterIdentifier``, ``ssl``...) are kept
as they are when the pending version is written.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, field_validator

# Defined with the other settings' kinds of value (settings.py reads them without this module).
from petclinic_ops.models.common import DEFAULT_EXCLUDE_CHARACTERS as DEFAULT_EXCLUDE_CHARACTERS  # noqa: PLC0414
from petclinic_ops.models.common import Strategy as Strategy  # noqa: PLC0414

AWSCURRENT = "AWSCURRENT"
AWSPENDING = "AWSPENDING"
AWSPREVIOUS = "AWSPREVIOUS"

SUPPORTED_ENGINES = frozenset({"mysql", "aurora-mysql", "mariadb"})

Step = Literal["createSecret", "setSecret", "testSecret", "finishSecret"]

DEFAULT_PASSWORD_LENGTH = 32


class RotationEvent(BaseModel):
    """What Secrets Manager sends to a rotation function (one invocation per step)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    secret_id: str = Field(alias="SecretId", min_length=1, max_length=2048)
    client_request_token: str = Field(alias="ClientRequestToken", min_length=1, max_length=64)
    step: Step = Field(alias="Step")


class SecretDescription(BaseModel):
    """The part of DescribeSecret the rotation needs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    arn: str
    name: str
    rotation_enabled: bool
    # VersionId -> its staging labels.
    versions: dict[str, frozenset[str]] = Field(default_factory=dict)

    def stages_of(self, version_id: str) -> frozenset[str] | None:
        return self.versions.get(version_id)

    def version_with(self, stage: str) -> str | None:
        return next((version for version, stages in self.versions.items() if stage in stages), None)


class DbCredentials(BaseModel):
    """Where and as whom to log in. The password is a SecretStr: it never shows in a repr or log."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    username: str = Field(min_length=1)
    password: SecretStr
    dbname: str | None = None

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"


def _not_empty(value: SecretStr) -> SecretStr:
    if not value.get_secret_value():
        raise ValueError("must not be empty")
    return value


# The login fields of both secrets (the rotated one and the superuser's): one rule each.
Host = Annotated[str, Field(min_length=1, max_length=255)]
Port = Annotated[int, Field(ge=1, le=65535)]
Username = Annotated[str, Field(min_length=1, max_length=80)]
Password = Annotated[SecretStr, AfterValidator(_not_empty)]


class DatabaseSecret(BaseModel):
    """The rotated secret's value (unknown keys are kept: ``extra="allow"``)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    engine: str
    host: Host
    port: Port = 3306
    username: Username
    password: Password
    dbname: str | None = None
    masterarn: str | None = Field(default=None, min_length=1)

    @field_validator("engine")
    @classmethod
    def _engine(cls, value: str) -> str:
        if value.lower() not in SUPPORTED_ENGINES:
            raise ValueError(
                f"{value!r} is not a MySQL engine; this function rotates "
                f"{', '.join(sorted(SUPPORTED_ENGINES))} secrets"
            )
        return value

    def with_login(self, username: str, password: str) -> DatabaseSecret:
        return self.model_copy(update={"username": username, "password": SecretStr(password)})

    def credentials(self) -> DbCredentials:
        return DbCredentials(
            host=self.host, port=self.port, username=self.username, password=self.password, dbname=self.dbname
        )

    def to_secret_string(self) -> str:
        """JSON for PutSecretValue: the keys that were set (defaults are not added) and all unknown keys."""
        value = self.model_dump(exclude_unset=True)
        value["password"] = self.password.get_secret_value()
        return json.dumps(value)


class SuperuserSecret(BaseModel):
    """The secret ``masterarn`` points to, as RDS creates it (engine, host, port, username, password).

    Its login is used at its own host and port only, never at the rotated secret's (the domain
    checks the two are one database first): the superuser password goes nowhere else.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    host: Host
    port: Port = 3306
    username: Username
    password: Password

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def credentials(self) -> DbCredentials:
        return DbCredentials(host=self.host, port=self.port, username=self.username, password=self.password)


class RotationSettings(BaseModel):
    """What the domain needs of the function's settings (petclinic_ops.settings.RotateSecretSettings
    reads them from the environment; the domain reads no environment)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # None: alternating when the secret has a masterarn, else single.
    strategy: Strategy | None = None
    exclude_characters: str = DEFAULT_EXCLUDE_CHARACTERS
    password_length: int = Field(default=DEFAULT_PASSWORD_LENGTH, ge=16, le=128)


class StepResult(BaseModel):
    """What one invocation did; ``changed`` is False when the step had nothing left to do."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    step: Step
    changed: bool
    detail: str

    def to_output(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
