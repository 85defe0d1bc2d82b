"""`petclinic-ops rotation cancel SECRET`: clear what a failed rotation left behind, safely.

A rotation that fails leaves its version staged AWSPENDING, and while a version other than
AWSCURRENT carries AWSPENDING, RotateSecret refuses to start another rotation ("A previous
rotation isn't complete") and Secrets Manager keeps retrying the failed one. When that version
is not worth finishing, `rotation cancel` takes AWSPENDING off it (UpdateSecretVersionStage), so
the next RotateSecret starts afresh. Rotation stays enabled: CancelRotateSecret is not used (it
turns rotation off, and leaves AWSPENDING where it is).

Safety rules (``cancel_rotation``; nothing is changed unless one of the "removed" rules holds):
- no AWSPENDING, or AWSPENDING on the AWSCURRENT version: nothing to cancel (exit 0);
- the AWSPENDING version has no value (createSecret never stored one): removed;
- its user differs from AWSCURRENT's (alternating users): removed. The AWSCURRENT user was never
  touched; the other user may already have the pending password, which nobody uses yet, and the
  next rotation sets a new one;
- the same user (single user): once setSecret ran, the database accepts only the AWSPENDING
  password, and removing it would lose the only working one. The rotation function itself is
  asked (its testSecret step, which logs in with AWSPENDING from inside the VPC): if the
  database refuses that login (CredentialsRejected), removed; if the login works, refused (exit
  1): finish the rotation instead (fix the cause, then RotateSecret, which reattempts it); if
  testSecret fails otherwise, refused (exit 1): nothing can be said.
Run it when the rotation has failed, not while one runs.

Needs: secretsmanager:DescribeSecret, GetSecretValue and UpdateSecretVersionStage on the secret;
for single-user rotations lambda:InvokeFunction on its rotation function. Passwords are read to
compare users and never printed.

`petclinic-ops local rotate --fail-at STEP [--recover]` rehearses it on one local cloud: the
rotation fails at STEP, the cause is repaired, `rotation cancel` runs, a new rotation follows.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

from petclinic_local.cli import registry, render
from petclinic_local.errors import UsageError

if TYPE_CHECKING:
    from petclinic_local.cli.aws import Target

AWSCURRENT, AWSPENDING = "AWSCURRENT", "AWSPENDING"
EXIT_DONE, EXIT_REFUSED = 0, 1
Action = Literal["removed", "nothing", "refused"]


@dataclass(frozen=True)
class CancelOutcome:
    secret: str
    action: Action
    version: str | None
    detail: str
    rotation_enabled: bool

    def to_json(self) -> dict[str, Any]:
        value = asdict(self)
        value["rotationEnabled"] = value.pop("rotation_enabled")
        return value


def cancel_rotation(secrets: Any, secret_id: str, *, functions: Any = None) -> CancelOutcome:
    """Take AWSPENDING off the version a failed rotation left, when that is safe (module docstring).

    ``secrets`` is a boto3 Secrets Manager client, ``functions`` a Lambda client (needed only for
    a single-user rotation). A secret that does not exist is a UsageError.
    """
    try:
        described = secrets.describe_secret(SecretId=secret_id)
    except secrets.exceptions.ResourceNotFoundException:
        raise UsageError(f"secret {secret_id} does not exist") from None
    arn, versions = described["ARN"], described.get("VersionIdsToStages", {})
    enabled = bool(described.get("RotationEnabled", False))

    def outcome(action: Action, version: str | None, detail: str) -> CancelOutcome:
        return CancelOutcome(arn, action, version, detail, enabled)

    pending = next((v for v, stages in versions.items() if AWSPENDING in stages), None)
    if pending is None:
        return outcome("nothing", None, "no version is staged AWSPENDING: no rotation to cancel")
    if AWSCURRENT in versions[pending]:
        return outcome(
            "nothing", pending, "AWSPENDING is on the AWSCURRENT version: the last rotation finished"
        )
    refusal = _refusal(secrets, arn, pending, described.get("RotationLambdaARN"), functions)
    if refusal is not None:
        return outcome("refused", pending, refusal)
    secrets.update_secret_version_stage(SecretId=arn, VersionStage=AWSPENDING, RemoveFromVersionId=pending)
    return outcome(
        "removed",
        pending,
        f"AWSPENDING removed from version {pending}; AWSCURRENT is unchanged and the next "
        "rotation starts afresh",
    )


def _refusal(secrets: Any, arn: str, pending: str, function: str | None, functions: Any) -> str | None:
    """Why AWSPENDING must stay on ``pending``, or None when removing it loses nothing."""
    pending_user = _username(secrets, arn, VersionId=pending, VersionStage=AWSPENDING)
    if pending_user is None:
        return None  # no value: createSecret never stored one
    current_user = _username(secrets, arn, VersionStage=AWSCURRENT)
    if current_user != pending_user:
        return None  # alternating users: the AWSCURRENT user was never touched
    if not function or functions is None:
        return (
            f"version {pending} is a single-user rotation of {pending_user} and its rotation function "
            "cannot be asked whether the database already has its password: not removed"
        )
    error = _test_secret(functions, function, arn, pending)
    if error is None:
        return (
            f"the database already accepts the AWSPENDING password of {pending_user} (single user: "
            "setSecret changed it, the AWSCURRENT password no longer works); removing AWSPENDING would "
            "lose the only working password. Finish the rotation instead: fix what failed, then "
            f"`aws secretsmanager rotate-secret --secret-id {arn}` reattempts it"
        )
    if error[0] == "CredentialsRejected":
        return None  # the database never got the pending password
    return (
        f"cannot tell whether the database already has the AWSPENDING password of {pending_user} "
        f"(single user): testSecret failed with {error[0]}: {error[1]}; not removed"
    )


def _username(secrets: Any, arn: str, **version: str) -> str | None:
    try:
        value = secrets.get_secret_value(SecretId=arn, **version)
    except secrets.exceptions.ResourceNotFoundException:
        return None
    try:
        username = json.loads(value.get("SecretString") or "")["username"]
    except (ValueError, KeyError, TypeError):
        raise UsageError(f"secret {arn} ({', '.join(version.values())}) has no JSON 'username'") from None
    return str(username)


def _test_secret(functions: Any, function: str, arn: str, token: str) -> tuple[str, str] | None:
    """The rotation function's testSecret for ``token``: None if it passed, else (errorType, message)."""
    response = functions.invoke(
        FunctionName=function,
        Payload=json.dumps({"SecretId": arn, "ClientRequestToken": token, "Step": "testSecret"}).encode(),
    )
    if not response.get("FunctionError"):
        return None
    try:
        payload = json.loads(response["Payload"].read())
        return str(payload.get("errorType")), str(payload.get("errorMessage"))
    except (ValueError, AttributeError):
        return "Unknown", "the function failed without an error payload"


# --------------------------------------------------------------------------- the command (AWS)


def run_cancel(secret: str, *, target: Target, as_json: bool = False, session: Any = None) -> int:
    from petclinic_local.cli import aws  # noqa: PLC0415

    if session is None:
        session = aws.session_for(target)
    elif not isinstance(session, aws.EndpointSession):
        session = aws.EndpointSession(session, target.endpoint_url)
    with aws.aws_errors(session, f"cannot cancel the rotation of {secret} (nothing was changed)", usage=True):
        outcome = cancel_rotation(
            session.client("secretsmanager"), secret, functions=session.client("lambda")
        )
    if as_json:
        print(json.dumps(outcome.to_json(), indent=2))
    else:
        say_outcome(render.console().print, outcome)
    return EXIT_REFUSED if outcome.action == "refused" else EXIT_DONE


def say_outcome(say: Callable[[str], None], outcome: CancelOutcome) -> None:
    style = {"removed": "green", "nothing": "yellow", "refused": "red"}[outcome.action]
    say(f"[{style}]{outcome.action}[/{style}] {outcome.secret}: {outcome.detail}")
    if outcome.action == "removed":
        enabled = "enabled" if outcome.rotation_enabled else "NOT enabled"
        say(f"rotation stays {enabled}; next: docs/runbook.md, 'Rotate the database credentials now'")


# --------------------------------------------------------------------------- the local rehearsal

FailAt = Literal["setSecret", "testSecret"]


def break_rotation(database: Any, strategy: str, fail_at: FailAt) -> Callable[[], None]:
    """Make the next rotation fail at ``fail_at`` on this database; returns the repair.

    setSecret: the account setSecret logs in with is locked (the superuser; the application user
    itself with a single user). testSecret: the application user loses its grants on the
    database, so the pending user can log in but not query it (after setSecret changed the
    password, with a single user).
    """
    from petclinic_local.petclinic.database import connect  # noqa: PLC0415

    def execute(*statements: tuple[str, tuple[str, ...]]) -> None:
        connection = connect(database.host, database.port, database.admin_user, database.admin_password)
        with connection, connection.cursor() as cursor:
            for statement, args in statements:
                cursor.execute(statement, args)

    if fail_at == "setSecret":
        account = database.superuser if strategy == "alternating" else database.app_user
        execute(("ALTER USER %s@'%%' ACCOUNT LOCK", (account,)))
        return lambda: execute(("ALTER USER %s@'%%' ACCOUNT UNLOCK", (account,)))
    grants = f"SELECT, INSERT, UPDATE, DELETE ON `{database.name}`.*"
    execute((f"REVOKE {grants} FROM %s@'%%'", (database.app_user,)))
    return lambda: execute((f"GRANT {grants} TO %s@'%%'", (database.app_user,)))


def rehearse(*, mysql_url: str, strategy: str, fail_at: str, recover: bool, as_json: bool, keep: bool) -> int:
    """`petclinic-ops local rotate --fail-at STEP [--recover]` on one local cloud. Exit 0 when the
    last rotation succeeded (the one after the cancel), else 1."""
    from petclinic_local.cli.local_rotate import local_rotation_cloud  # noqa: PLC0415
    from petclinic_local.rotations import rotate_and_report  # noqa: PLC0415

    if fail_at not in ("setSecret", "testSecret"):
        raise UsageError(f"--fail-at {fail_at!r}: choose setSecret or testSecret")
    console = render.console()
    report: dict[str, Any] = {}
    cancelled: CancelOutcome | None = None
    local = local_rotation_cloud(console, mysql_url=mysql_url, strategy=strategy, keep=keep)
    with local as (cloud, database):
        with console.status(f"rotating ({strategy} users), failing at {fail_at}", spinner="dots"):
            repair = break_rotation(database, strategy, cast(FailAt, fail_at))
            report["failed"] = rotate_and_report(cloud, database, strategy)
        if recover:
            repair()
            secrets, functions = cloud.client("secretsmanager"), cloud.client("lambda")
            cancelled = cancel_rotation(secrets, cloud.seeded["databaseSecretArn"], functions=functions)
            report["cancel"] = cancelled.to_json()
            if cancelled.action == "removed":
                report["rotation"] = rotate_and_report(cloud, database, strategy)
    if as_json:
        print(json.dumps(report, indent=2, default=str))
    else:
        _render(console, report, cancelled)
    final = report.get("rotation") or report["failed"]
    return EXIT_DONE if final["execution"]["status"] == "SUCCEEDED" else EXIT_REFUSED


def _render(console: Any, report: dict[str, Any], cancelled: CancelOutcome | None) -> None:
    console.print("[bold]1. the rotation that fails[/bold]")
    render.rotation_report(console, report["failed"])
    if cancelled is not None:
        console.print("[bold]2. petclinic-ops rotation cancel[/bold] (after the cause was repaired)")
        say_outcome(console.print, cancelled)
    if "rotation" in report:
        console.print("[bold]3. the next rotation[/bold]")
        render.rotation_report(console, report["rotation"])


# --------------------------------------------------------------------------- the command

registry.group("rotation", "the database credentials' rotation on AWS")


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("secret", help="the secret's name or ARN, e.g. petclinic/dev/aurora/app")


@registry.command(
    "rotation cancel",
    arguments=_arguments,
    help="take AWSPENDING off the version a failed rotation left, when that is safe",
    description="A failed rotation leaves its version staged AWSPENDING and RotateSecret refuses the "
    "next one. This removes that label (rotation stays enabled) so the next rotation starts afresh, "
    "unless that would lose the only working password: with a single user it asks the rotation "
    "function (testSecret) whether the database already accepts the AWSPENDING password, and then "
    "refuses (exit 1).",
    epilog="exit codes: 0 removed or nothing to cancel, 1 refused (nothing changed), 2 bad input "
    "(unknown secret, no credentials: nothing changed)",
    json="print the outcome as JSON",
    aws=registry.Aws(stack=False),
)
def _cancel(args: argparse.Namespace) -> int:
    from petclinic_local.cli import aws  # noqa: PLC0415

    return run_cancel(args.secret, target=aws.Target.from_args(args), as_json=args.json)
