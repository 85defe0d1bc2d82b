"""`petclinic-ops rotation start SECRET [--restart-only]` and `petclinic-ops rotation status
SECRET`: the rotation rollout workflow from the command line, as `deploy` follows the deploy
workflow.

- ``rotation start``: the rotation rollout workflow with ``{"secret": SECRET}`` (it rotates,
  waits for the rotation, then restarts every service whose task definition reads the secret
  through the deploy workflow) or, with ``--restart-only``, ``{"secret", "restartOnly": true}``
  (the services that read the current version restarted, no rotation: after a
  ``RolloutNotStarted`` or ``RolloutFailed``). The secret is checked first (DescribeSecret: an
  unknown one starts nothing, exit 2); each state is printed as the execution enters it; the end
  says the result, per service, or the failed step (``RotationFailed``) and what to do.
- ``rotation status``: the secret's rotation (enabled, schedule, last and next rotation), each
  version with its stages (AWSCURRENT, AWSPENDING, AWSPREVIOUS) and creation time, whether a
  rotation was left incomplete (AWSPENDING on a version that is not AWSCURRENT), and the
  workflow's recent executions for the secret. No secret value is read.

Needs: cloudformation:DescribeStacks on the stack, secretsmanager:DescribeSecret and
ListSecretVersionIds on the secret, states:StartExecution on the rotation rollout workflow,
states:ListExecutions, DescribeExecution and GetExecutionHistory on its executions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

from petclinic_local import runner
from petclinic_local.cli import aws, registry, render
from petclinic_local.errors import UsageError

WORKFLOW = "RotationRolloutStateMachine"
EXIT_OK, EXIT_FAILED = 0, 1
RECENT = 20  # rotation rollout executions read for `rotation status`


def describe_secret(plane: aws.ControlPlane, secret: str) -> dict[str, Any]:
    """DescribeSecret; an unknown secret is a UsageError (nothing started)."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    with plane.errors(f"cannot read secret {secret}"):
        try:
            return dict(plane.client("secretsmanager").describe_secret(SecretId=secret))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {
                "ResourceNotFoundException",
                "ValidationException",
            }:
                raise UsageError(f"secret {secret!r} not found in {plane.region}") from None
            raise


def _when(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, dt.datetime) else value


# --------------------------------------------------------------------------- rotation start


def start(
    secret: str,
    *,
    target: aws.Target,
    restart_only: bool = False,
    as_json: bool = False,
    timeout: float = 3600.0,
    poll_seconds: float = 5.0,
    session: Any = None,
) -> int:
    if not secret or len(secret) > 2048:
        raise UsageError("SECRET: a secret's name or ARN (1-2048 characters)")
    plane = aws.control_plane(target, session=session)
    described = describe_secret(plane, secret)
    payload: dict[str, Any] = {"secret": described["ARN"], **({"restartOnly": True} if restart_only else {})}
    progress = render.stderr_console() if as_json else render.console()
    with plane.errors("cannot start the rotation rollout"):
        execution_arn = runner.start(
            plane, WORKFLOW, payload, name=f"manual-{described.get('Name', 'secret')}"
        )
    what = "restarting the services that read" if restart_only else "rotating"
    progress.print(f"{what} {described['ARN']}: {execution_arn}", soft_wrap=True)
    with plane.errors(f"cannot follow {execution_arn}"):
        execution = runner.follow(
            plane,
            execution_arn,
            timeout=timeout,
            poll_seconds=poll_seconds,
            on_state=lambda name, at: progress.print(f"  {at:%H:%M:%S}  {name}"),
        )
    result, details = runner.result(execution), runner.detail(execution)
    code = EXIT_OK if execution["status"] == "SUCCEEDED" else EXIT_FAILED
    if as_json:
        print(
            json.dumps(
                {
                    "secret": described["ARN"],
                    "request": payload,
                    "executionArn": execution_arn,
                    "status": execution["status"],
                    "result": result,
                    "error": execution.get("error"),
                    "details": details,
                    "exitCode": code,
                },
                indent=2,
                default=str,
            )
        )
        return code
    _say_end(progress, execution, result, details)
    return code


def _say_end(out: Any, execution: dict[str, Any], result: str, details: dict[str, Any]) -> None:
    if execution["status"] != "SUCCEEDED":
        out.print(
            f"{render.styled('FAILED')} {execution.get('error')}: {details.get('reason') or ''}",
            soft_wrap=True,
        )
    else:
        out.print(
            f"{render.styled(result)}{': ' + details['reason'] if details.get('reason') else ''}",
            soft_wrap=True,
        )
    if details.get("version"):
        out.print(f"version {details['version']}")
    for each in details.get("results") or []:
        if isinstance(each, dict):
            out.print(
                f"  {each.get('service')}: {render.styled(str(each.get('result')))}"
                f"{' (' + str(each['execution']) + ')' if each.get('execution') else ''}",
                soft_wrap=True,
            )


# --------------------------------------------------------------------------- rotation status


def _executions_for(plane: aws.ControlPlane, arn: str, name: str) -> list[dict[str, Any]]:
    """The rotation rollout's recent executions (the newest ``RECENT``) for this secret."""
    sfn = plane.client("stepfunctions")
    machine = runner.state_machine_arn(plane, WORKFLOW)
    found = []
    with plane.errors("cannot read the rotation rollout's executions"):
        listed = sfn.list_executions(stateMachineArn=machine, maxResults=RECENT).get("executions", [])
        for listed_execution in listed:
            execution = runner.describe(plane, listed_execution["executionArn"])
            given = execution.get("input")
            secret = given.get("secret") if isinstance(given, dict) else None
            if isinstance(given, dict) and isinstance(given.get("detail"), dict):
                secret = (given["detail"].get("additionalEventData") or {}).get("SecretId") or secret
            if secret not in (arn, name):
                continue
            found.append(
                {
                    "executionArn": execution["executionArn"],
                    "startDate": execution["startDate"],
                    "status": execution["status"],
                    "result": runner.result(execution),
                    "reason": str(runner.detail(execution).get("reason") or "")[:300],
                    "restartOnly": bool(isinstance(given, dict) and given.get("restartOnly")),
                }
            )
    return found


def status(secret: str, *, target: aws.Target, as_json: bool = False, session: Any = None) -> int:
    plane = aws.control_plane(target, session=session)
    described = describe_secret(plane, secret)
    arn = described["ARN"]
    with plane.errors(f"cannot list the versions of {arn}"):
        listed = plane.client("secretsmanager").list_secret_version_ids(SecretId=arn, MaxResults=100)
    created = {v["VersionId"]: _when(v.get("CreatedDate")) for v in listed.get("Versions", [])}
    stages = described.get("VersionIdsToStages", {})
    versions = sorted(
        ({"versionId": v, "stages": sorted(s), "created": created.get(v)} for v, s in stages.items()),
        key=lambda version: (version["created"] or "", version["versionId"]),
        reverse=True,
    )
    pending = [
        v["versionId"] for v in versions if "AWSPENDING" in v["stages"] and "AWSCURRENT" not in v["stages"]
    ]
    report = {
        "secret": arn,
        "name": described.get("Name"),
        "rotationEnabled": bool(described.get("RotationEnabled")),
        "rotationLambda": described.get("RotationLambdaARN"),
        "rotationRules": described.get("RotationRules"),
        "lastRotated": _when(described.get("LastRotatedDate")),
        "nextRotation": _when(described.get("NextRotationDate")),
        "versions": versions,
        "incompleteRotation": pending[0] if pending else None,
        "executions": _executions_for(plane, arn, str(described.get("Name"))),
    }
    if as_json:
        print(json.dumps(report, indent=2, default=str))
        return EXIT_OK
    _say_status(render.console(), report)
    return EXIT_OK


def _say_status(out: Any, report: dict[str, Any]) -> None:
    from rich.table import Table  # noqa: PLC0415

    rules = report["rotationRules"] or {}
    schedule = rules.get("ScheduleExpression") or (
        f"every {rules['AutomaticallyAfterDays']} days" if rules.get("AutomaticallyAfterDays") else "none"
    )
    out.print(f"secret {report['secret']}", soft_wrap=True)
    out.print(
        f"rotation {'enabled' if report['rotationEnabled'] else 'DISABLED'}; schedule {schedule}; "
        f"last rotated {report['lastRotated'] or 'never'}; next {report['nextRotation'] or '-'}",
        soft_wrap=True,
    )
    table = Table(title="Versions, newest first", title_justify="left")
    for column in ("version", "stages", "created (UTC)"):
        table.add_column(column, overflow="fold")
    for version in report["versions"]:
        table.add_row(
            version["versionId"], ", ".join(version["stages"]) or "-", str(version["created"] or "-")[:19]
        )
    render.print_table(out, table)
    if report["incompleteRotation"]:
        out.print(
            f"[red]a rotation is incomplete[/red]: AWSPENDING is on {report['incompleteRotation']}, not on "
            'AWSCURRENT\'s version (runbook: "A rotation failed"; `petclinic-ops rotation cancel`)',
            soft_wrap=True,
        )
    else:
        out.print("no rotation is pending")
    if not report["executions"]:
        out.print("no recent rotation rollout execution for this secret")
    for execution in report["executions"]:
        kind = "restart only" if execution["restartOnly"] else "rotation"
        out.print(
            f"  {str(execution['startDate'])[:19]}  {kind}  {render.styled(execution['result'])}"
            f"  {execution['reason']}  {render.short(execution['executionArn'])}",
            soft_wrap=True,
        )


# --------------------------------------------------------------------------- the commands


def _secret(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("secret", help="the secret's name or ARN, e.g. petclinic/dev/aurora/app")


def _start_arguments(parser: argparse.ArgumentParser) -> None:
    _secret(parser)
    parser.add_argument(
        "--restart-only",
        action="store_true",
        help="restart the services that read the current version, without rotating",
    )


@registry.command(
    "rotation start",
    arguments=_start_arguments,
    help="rotate a secret through the rotation rollout workflow, then restart its services; followed",
    description="Starts the rotation rollout workflow with {secret} (rotate, wait for the rotation, "
    "restart every service whose task definition reads the secret through the deploy workflow) or, "
    "with --restart-only, {secret, restartOnly: true}, and follows it to the end: each state, then "
    "the result per service or the failed step.",
    epilog="exit codes: 0 rotated and rolled out (or restarted; nothing to roll out), 1 failed (the "
    "failed step or services named) or still running at --timeout, 2 bad input (unknown secret, stack "
    "not found, no credentials: nothing started)",
    json=registry.JSON,
    follow=registry.Follow(timeout=3600.0, poll_seconds=5.0),
    aws=registry.Aws(),
)
def _start(args: argparse.Namespace) -> int:
    return start(
        args.secret,
        target=aws.Target.from_args(args),
        restart_only=args.restart_only,
        as_json=args.json,
        timeout=args.timeout,
        poll_seconds=args.poll_seconds,
    )


@registry.command(
    "rotation status",
    arguments=_secret,
    help="a secret's rotation: schedule, versions and their stages, an incomplete rotation, recent runs",
    description="The secret's rotation (enabled, schedule, last and next), each version with its stages "
    "(AWSCURRENT, AWSPENDING, AWSPREVIOUS), whether a rotation was left incomplete (AWSPENDING on a "
    "version that is not AWSCURRENT), and the rotation rollout's recent executions for it. Reads no "
    "secret value.",
    epilog=registry.READ_EXIT_CODES.replace("unknown service", "unknown secret"),
    json=registry.JSON,
    aws=registry.Aws(),
)
def _status(args: argparse.Namespace) -> int:
    return status(args.secret, target=aws.Target.from_args(args), as_json=args.json)
