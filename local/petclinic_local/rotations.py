"""Rotations on the local cloud against a real MySQL/MariaDB: the cloud whose managed secret is
a database's application user, starting the operator's "rotate now" execution, and what the
secret's versions can do afterwards (who logs in)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from petclinic_local import runner

if TYPE_CHECKING:
    from petclinic_local.cloud import LocalCloud
    from petclinic_local.petclinic.database import PetClinicDatabase

WORKFLOW = "RotationRolloutStateMachine"
ROLLOUT = "petclinic-ops-dev-rotation-rollout"


def rotation_cloud(database: PetClinicDatabase, strategy: str, **options: Any) -> LocalCloud:
    """A local cloud whose managed secret is this database's application user.

    Rotations do real database work, in real time, while the workflow's waits are scaled: at
    0.05 the rotation workflow's 120 checks of 5 s leave the database 30 s, and a rollout of 20
    simulated seconds takes 1 s."""
    options = {"time_scale": 0.05, "rollout_seconds": 20.0, **options}
    from petclinic_local.cloud import LocalCloud  # noqa: PLC0415 - moto is slow to import
    from petclinic_local.petclinic.seed import PetClinicSeed  # noqa: PLC0415

    seed = PetClinicSeed(secret_value=database.app_secret(), master_secret_value=database.superuser_secret())
    return LocalCloud(seed=seed, parameters={"RotationStrategy": strategy}, **options)


def start_rotation(cloud: LocalCloud) -> str:
    """The operator's "rotate now" execution of the rotation rollout (runner.start)."""
    return runner.start(cloud, WORKFLOW, {"secret": cloud.seeded["databaseSecretArn"]}, name="rotate")


def credentials_report(cloud: LocalCloud, database: PetClinicDatabase) -> dict[str, Any]:
    """Versions of the secret and whether each stage's credentials log in to the database now."""
    client = cloud.client("secretsmanager")
    arn = cloud.seeded["databaseSecretArn"]
    versions = []
    for listed in client.list_secret_version_ids(SecretId=arn)["Versions"]:
        if not listed.get("VersionStages"):
            continue  # a version no stage points at any more (the data stack's first values)
        value = json.loads(
            client.get_secret_value(SecretId=arn, VersionId=listed["VersionId"])["SecretString"]
        )
        versions.append(
            {
                "versionId": listed["VersionId"],
                "stages": listed.get("VersionStages", []),
                "username": value["username"],
            }
        )
    logins: dict[str, bool] = {}
    current_user = None
    for stage in ("AWSCURRENT", "AWSPREVIOUS"):
        try:
            value = json.loads(client.get_secret_value(SecretId=arn, VersionStage=stage)["SecretString"])
        except client.exceptions.ResourceNotFoundException:
            logins[stage] = False
            continue
        if stage == "AWSCURRENT":
            current_user = value["username"]
        logins[stage] = database.can_login(value["username"], value["password"])
    return {"versions": versions, "currentUser": current_user, "logins": logins}


def rotate_and_report(cloud: LocalCloud, database: PetClinicDatabase, strategy: str) -> dict[str, Any]:
    execution = runner.wait(cloud, start_rotation(cloud), timeout=300)
    executions = cloud.executions(runner.state_machine_arn(cloud, WORKFLOW))
    output = execution.get("output") or {}
    cause = execution.get("cause") if isinstance(execution.get("cause"), dict) else {}
    return {
        "strategy": strategy,
        "database": {"host": database.host, "port": database.port, "name": database.name},
        "execution": {
            key: execution[key] for key in ("status", "output", "error", "cause") if key in execution
        },
        **credentials_report(cloud, database),
        "redeployed": output.get("redeployed")
        or [r["service"] for r in (cause or {}).get("results", []) if r.get("result") == "SUCCEEDED"],
        "deployments": [row for row in cloud.deployments() if row.get("source") == "rotation"],
        # The RotationSucceeded event starts the workflow too: it finds the version claimed.
        "otherExecutions": [
            {"status": e["status"], "result": (e.get("output") or {}).get("result")}
            for e in executions
            if e["executionArn"] != execution["executionArn"]
        ],
    }
