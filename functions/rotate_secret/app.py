"""Secrets Manager rotation function for the Aurora MySQL credentials (the four-step contract).

Secrets Manager invokes it with ``{"SecretId", "ClientRequestToken", "Step"}`` for createSecret,
setSecret, testSecret and finishSecret; the logic is in petclinic_ops.domain.rotation (its
``handle`` reports each step). The settings (petclinic_ops.settings.RotateSecretSettings) are
read from the environment once per execution environment, and the adapters built from them once
too (one boto3 client, one TLS context). boto3 and PyMySQL are imported by the adapters on first
use, not at import (cold start), and the Tracer patches only them. Logs carry the step, the
secret id and the token (correlation id), never a secret value. The wiring is the handler
kit's (petclinic_ops.handler).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from petclinic_ops.adapters.mysql import MySQLDatabase
from petclinic_ops.adapters.secrets_manager import SecretsManagerStore
from petclinic_ops.domain import rotation
from petclinic_ops.handler import Function
from petclinic_ops.models.rotation import RotationEvent
from petclinic_ops.settings import RotateSecretSettings

kit = Function(RotateSecretSettings, correlation_id="ClientRequestToken")
logger, settings = kit.logger, kit.settings
database = kit.once(lambda: MySQLDatabase.from_settings(settings()))
secrets_store = kit.once(SecretsManagerStore, patch=("botocore", "pymysql"))


@kit.handler(parse=RotationEvent)
def lambda_handler(event: RotationEvent, context: LambdaContext) -> dict[str, Any]:
    return rotation.handle(
        event,
        secrets=secrets_store,
        database=database,
        settings=lambda: settings().to_domain(),
        telemetry=kit,
    )
