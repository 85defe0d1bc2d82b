"""`petclinic-ops rotation cancel` on the local cloud: a rotation fails against the real
MySQL/MariaDB and leaves AWSPENDING behind, the cause is repaired, the command (the AWS one: its
boto3 session lands on the local cloud's moto) clears what is safe to clear, and the next
rotation starts afresh and succeeds."""

from __future__ import annotations

import json
from typing import Any

import pytest

from petclinic_local.cli.main import main
from petclinic_local.cli.rotation import break_rotation
from petclinic_local.cloud import LocalCloud
from petclinic_local.petclinic.database import PetClinicDatabase
from petclinic_local.rotations import ROLLOUT, credentials_report, rotation_cloud, start_rotation

SECRET = "petclinic/dev/aurora/app"


def rotate(cloud: LocalCloud) -> dict[str, Any]:
    """The operator's rotation (the rotation-rollout workflow), waited for."""
    arn = start_rotation(cloud)
    cloud.wait_until_quiet()
    [execution] = [e for e in cloud.executions(ROLLOUT) if e["executionArn"] == arn]
    return execution


def stages(cloud: LocalCloud) -> dict[str, list[str]]:
    described = cloud.client("secretsmanager").describe_secret(SecretId=SECRET)
    assert described["RotationEnabled"] is True
    return dict(described["VersionIdsToStages"])


def pending_version(cloud: LocalCloud) -> str:
    [version] = [v for v, labels in stages(cloud).items() if labels == ["AWSPENDING"]]
    return version


def cancel(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = main(["rotation", "cancel", SECRET, "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def pending_login(cloud: LocalCloud, database: PetClinicDatabase, version: str) -> bool:
    value = cloud.client("secretsmanager").get_secret_value(
        SecretId=SECRET, VersionId=version, VersionStage="AWSPENDING"
    )
    secret = json.loads(value["SecretString"])
    return database.can_login(secret["username"], secret["password"])


def assert_no_password_logged(cloud: LocalCloud, database: PetClinicDatabase) -> None:
    """No password of any version, nor the superuser's, in any line the rotation function logged."""
    secrets, logs = cloud.client("secretsmanager"), cloud.client("logs")
    passwords = {database.superuser_password, database.app_password}
    for version in secrets.list_secret_version_ids(SecretId=SECRET)["Versions"]:
        value = secrets.get_secret_value(SecretId=SECRET, VersionId=version["VersionId"])
        passwords.add(json.loads(value["SecretString"])["password"])
    groups = [
        g["logGroupName"]
        for g in logs.describe_log_groups()["logGroups"]
        if "rotate-secret" in g["logGroupName"]
    ]
    lines = [e["message"] for group in groups for e in logs.filter_log_events(logGroupName=group)["events"]]
    assert any("rotation step failed" in line for line in lines)  # the logs are there
    assert [line for line in lines if any(password in line for password in passwords)] == []


@pytest.mark.mysql
@pytest.mark.parametrize("strategy", ["alternating", "single"])
def test_a_rotation_failed_at_set_secret_is_cancelled_and_the_next_one_succeeds(
    database: PetClinicDatabase, capsys: pytest.CaptureFixture[str], strategy: str
) -> None:
    with rotation_cloud(database, strategy) as cloud:
        current = next(v for v, labels in stages(cloud).items() if "AWSCURRENT" in labels)
        repair = break_rotation(database, strategy, "setSecret")
        failed = rotate(cloud)
        assert (failed["status"], failed["error"]) == ("FAILED", "RotationFailed")
        assert "failed at setSecret" in failed["cause"]
        pending = pending_version(cloud)
        secrets = cloud.client("secretsmanager")
        with pytest.raises(
            secrets.exceptions.InvalidRequestException, match="previous rotation isn't complete"
        ):
            secrets.rotate_secret(SecretId=SECRET)  # what the stale AWSPENDING does: no new rotation
        repair()
        invocations = len(cloud.runtime.invocations) if cloud.runtime else 0

        code, outcome = cancel(capsys)
        assert (code, outcome["action"], outcome["version"]) == (0, "removed", pending)
        assert outcome["rotationEnabled"] is True
        assert "AWSPENDING" not in stages(cloud).get(pending, [])
        assert stages(cloud)[current] == ["AWSCURRENT"]
        assert credentials_report(cloud, database)["logins"]["AWSCURRENT"] is True
        # A single user's rotation was checked with the function (its testSecret was refused).
        asked = cloud.runtime.invocations[invocations:] if cloud.runtime else []
        assert len(asked) == (1 if strategy == "single" else 0)

        again = rotate(cloud)
        assert again["status"] == "SUCCEEDED", again
        report = credentials_report(cloud, database)
        assert report["logins"] == {"AWSCURRENT": True, "AWSPREVIOUS": strategy == "alternating"}
        assert "AWSPREVIOUS" in stages(cloud)[current]

        code, outcome = cancel(capsys)  # nothing left to cancel
        assert (code, outcome["action"]) == (0, "nothing")
        assert_no_password_logged(cloud, database)


@pytest.mark.mysql
def test_a_single_user_rotation_whose_password_is_set_is_not_cancelled(
    database: PetClinicDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    """testSecret failed after setSecret changed the only user's password: AWSPENDING holds the
    one password that works, so the command refuses and changes nothing."""
    with rotation_cloud(database, "single") as cloud:
        repair = break_rotation(database, "single", "testSecret")
        failed = rotate(cloud)
        assert "failed at testSecret" in failed["cause"]
        repair()
        pending = pending_version(cloud)
        before = stages(cloud)

        code, outcome = cancel(capsys)
        assert (code, outcome["action"], outcome["version"]) == (1, "refused", pending)
        assert "the database already accepts the AWSPENDING password" in outcome["detail"]
        assert "removing AWSPENDING would lose the only working password" in outcome["detail"]
        assert stages(cloud) == before
        assert pending_login(cloud, database, pending)
        assert credentials_report(cloud, database)["logins"]["AWSCURRENT"] is False


def test_cancel_refuses_an_unknown_secret_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with LocalCloud(time_scale=0.01) as cloud:
        assert main(["rotation", "cancel", "petclinic/dev/aurora/nope"]) == 2
        assert capsys.readouterr().err == "petclinic-ops: secret petclinic/dev/aurora/nope does not exist\n"
        code, outcome = cancel(capsys)
        assert (code, outcome["action"]) == (0, "nothing")
        assert outcome["detail"] == "no version is staged AWSPENDING: no rotation to cancel"
        assert cloud.client("secretsmanager").describe_secret(SecretId=SECRET)["RotationEnabled"] is True
