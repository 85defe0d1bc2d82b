"""Secrets Manager: secrets (generated values), their RDS target attachment and rotation
schedule (moto's CloudFormation skips all three).
"""

from __future__ import annotations

import json
import re
from typing import Any

from petclinic_local.simulators.cloudformation.api import aws, flag
from petclinic_local.simulators.cloudformation.registry import Created, provider


@provider("AWS::SecretsManager::Secret")
class Secret:
    @staticmethod
    def _value(props: dict[str, Any], region: str) -> str:
        if "SecretString" in props:
            return str(props["SecretString"])
        generate = props.get("GenerateSecretString") or {}
        password = aws("secretsmanager", region).get_random_password(
            PasswordLength=int(generate.get("PasswordLength", 32)),
            ExcludeCharacters=generate.get("ExcludeCharacters", ""),
            ExcludePunctuation=flag(generate.get("ExcludePunctuation", False)),
        )["RandomPassword"]
        if "SecretStringTemplate" not in generate:
            return str(password)
        value = json.loads(generate["SecretStringTemplate"])
        value[generate["GenerateStringKey"]] = password
        return json.dumps(value)

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        arguments = {
            "Name": props.get("Name") or logical_id,
            "Description": props.get("Description"),
            "KmsKeyId": props.get("KmsKeyId"),
            "SecretString": Secret._value(props, region),
            "Tags": props.get("Tags"),
        }
        created = aws("secretsmanager", region).create_secret(
            **{key: value for key, value in arguments.items() if value is not None}
        )
        return Created(created["ARN"], {"Id": created["ARN"]})

    @staticmethod
    def update(created: Created, props: dict[str, Any], region: str, previous: dict[str, Any]) -> Created:
        # Never the value: the rotation owns it once created (CloudFormation regenerates only
        # when GenerateSecretString itself changes, which the templates never do in place).
        if props.get("Description") is not None:
            aws("secretsmanager", region).update_secret(
                SecretId=created.physical_id, Description=props["Description"]
            )
        return created

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        aws("secretsmanager", region).delete_secret(
            SecretId=created.physical_id, ForceDeleteWithoutRecovery=True
        )


@provider("AWS::SecretsManager::SecretTargetAttachment")
class SecretTargetAttachment:
    """Adds the cluster's connection details to the secret's current value (a new version), as
    Secrets Manager does for an RDS target; the password stays whatever is current."""

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        secrets = aws("secretsmanager", region)
        cluster = aws("rds", region).describe_db_clusters(DBClusterIdentifier=props["TargetId"])[
            "DBClusters"
        ][0]
        value = json.loads(secrets.get_secret_value(SecretId=props["SecretId"])["SecretString"])
        wanted = {
            "engine": "mysql" if cluster["Engine"].endswith("mysql") else cluster["Engine"],
            "host": cluster["Endpoint"],
            "port": cluster["Port"],
            "dbClusterIdentifier": cluster["DBClusterIdentifier"],
        }
        if {key: value.get(key) for key in wanted} != wanted:
            secrets.put_secret_value(SecretId=props["SecretId"], SecretString=json.dumps({**value, **wanted}))
        return Created(props["SecretId"])

    @staticmethod
    def update(created: Created, props: dict[str, Any], region: str, previous: dict[str, Any]) -> Created:
        return SecretTargetAttachment.create(props, "", region)

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        return None  # the secret keeps its connection details, as it does on AWS


@provider("AWS::SecretsManager::RotationSchedule")
class RotationSchedule:
    """Rotation configured without rotating now (RotateImmediatelyOnUpdate false): RotateSecret
    would rotate at once, so the schedule is set on the secret as the resource sets it."""

    @staticmethod
    def create(props: dict[str, Any], logical_id: str, region: str) -> Created:
        from moto.secretsmanager.models import secretsmanager_backends  # noqa: PLC0415

        arn = aws("secretsmanager", region).describe_secret(SecretId=props["SecretId"])["ARN"]
        account = arn.split(":")[4]
        if flag(props.get("RotateImmediatelyOnUpdate", True)):
            aws("secretsmanager", region).rotate_secret(
                SecretId=arn,
                RotationLambdaARN=props["RotationLambdaARN"],
                RotationRules=props.get("RotationRules", {}),
            )
            return Created(arn)
        secret = secretsmanager_backends[account][region].secrets[arn]
        secret.rotation_requested = secret.rotation_enabled = True
        secret.rotation_lambda_arn = props["RotationLambdaARN"]
        rules = props.get("RotationRules", {})
        days = re.fullmatch(r"rate\((\d+) days?\)", rules.get("ScheduleExpression", ""))
        secret.auto_rotate_after_days = int(
            rules.get("AutomaticallyAfterDays") or (days.group(1) if days else 0)
        )
        return Created(arn)

    @staticmethod
    def update(created: Created, props: dict[str, Any], region: str, previous: dict[str, Any]) -> Created:
        return RotationSchedule.create({**props, "RotateImmediatelyOnUpdate": False}, "", region)

    @staticmethod
    def delete(created: Created, props: dict[str, Any], region: str, policy: str) -> None:
        from moto.secretsmanager.models import secretsmanager_backends  # noqa: PLC0415

        account = created.physical_id.split(":")[4]
        secret = secretsmanager_backends[account][region].secrets.get(created.physical_id)
        if secret is not None:
            secret.rotation_enabled = False
