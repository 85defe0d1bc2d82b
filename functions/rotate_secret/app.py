"""Secrets Manager rotation function for the Aurora MySQL credentials (the four-step contract).

Secrets Manager invokes it with ``{"SecretId", "ClientRequestToken", "Step"}`` for createSecret,
setSecret, testSecret and finishSecret; the logic is in petclinic_ops.domain.rotation. The
settings (petclinic_ops.settings.RotateSecretSettings) are read from the environment once per
execution environment, and the adapters built from them once too (one boto3 client, one TLS
context). boto3 and PyMySQL are imported by the adapters on first use, not at import (cold
start), and the Tracer patches only them. Logs carry the step, the secret id and the token
(correlation id), never a secret value.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from petclinic_ops.adapters.mysql import MySQLDatabase
from petclinic_ops.adapters.secrets_manager import SecretsManagerStore
from petclinic_ops.domain import rotation
from petclinic_ops.errors import OpsError
from petclinic_ops.models.rotation import RotationEvent
from petclinic_ops.settings import RotateSecretSettings

logger = Logger()
tracer = Tracer(auto_patch=False)
metrics = Metrics()


@cache
def settings() -> RotateSecretSettings:
    """Read on the first invocation; InvalidConfiguration names the variable (and is not cached)."""
    return RotateSecretSettings.from_environ()


@cache
def database() -> MySQLDatabase:
    return MySQLDatabase.from_settings(settings())


@cache
def secrets_store() -> SecretsManagerStore:
    """Built on the first invocation (a boto3 client per container), with the tracing patches."""
    tracer.patch(["botocore", "pymysql"])
    return SecretsManagerStore()


@logger.inject_lambda_context(correlation_id_path="ClientRequestToken", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=RotationEvent)
def lambda_handler(event: RotationEvent, context: LambdaContext) -> dict[str, Any]:
    metrics.add_dimension(name="step", value=event.step)
    logger.append_keys(step=event.step, secret_id=event.secret_id)
    try:
        result = rotation.rotate(
            event,
            secrets=secrets_store(),
            database=database(),
            settings=settings().rotation(),
        )
    except Exception as exc:
        metrics.add_metric(name="RotationStepsFailed", unit=MetricUnit.Count, value=1)
        # Our errors' and AWS's messages are written to be logged; anything else by type only.
        loggable = isinstance(exc, OpsError) or type(exc).__module__.startswith("botocore.")
        reason = str(exc) if loggable else None
        logger.error("rotation step failed", extra={"error": type(exc).__name__, "reason": reason})
        raise
    metrics.add_metric(name="RotationStepsSucceeded", unit=MetricUnit.Count, value=1)
    logger.info("rotation step done", extra={"changed": result.changed, "detail": result.detail})
    return result.to_output()
