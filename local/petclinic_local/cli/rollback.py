"""`petclinic-ops rollback SERVICE [--to REVISION | --steps N]`: deploy the image of an earlier
successful deployment again, through the deploy workflow (so the lease, the ledger and the
notifications hold), and follow it like `deploy`, with its exit codes.

The candidates are the images of the service's SUCCEEDED image deployments in the ledger,
newest first, each digest once, without the image running now; then the image the service ran
before the oldest recorded deployment (its task definition's image, resolved to a digest in
ECR). ``--steps N`` takes the N-th of them (default 1: the previous image); ``--to REVISION``
the image of that task definition revision (a ledger row's revision after, else the revision
itself, read from ECS).

The request is a manual one: ``{"service", "image": "sha256:<digest>", "reason": "rollback to
..."}``. Needs what `deploy` and `status` need.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from petclinic_local.cli import aws, deploy, registry, render
from petclinic_local.cli.history import ledger
from petclinic_local.cli.status import split_image
from petclinic_local.errors import UsageError


def _running_digest(plane: aws.ControlPlane, service: str) -> str | None:
    ecs = plane.client("ecs")
    with plane.errors(f"cannot read service {service}"):
        services = ecs.describe_services(cluster=plane.cluster, services=[service]).get("services", [])
        if not services:
            return None
        definition = ecs.describe_task_definition(taskDefinition=services[0]["taskDefinition"])[
            "taskDefinition"
        ]
    return _digest_of(plane, service, definition)


def _digest_of(plane: aws.ControlPlane, service: str, definition: dict[str, Any]) -> str | None:
    """The digest of the service's container image in a task definition (a tag is resolved in ECR)."""
    repository = plane.repository(service)
    for container in definition.get("containerDefinitions", []):
        name, tag, digest = split_image(container.get("image", ""))
        if name != repository:
            continue
        if digest:
            return digest
        from botocore.exceptions import ClientError  # noqa: PLC0415

        with plane.errors(f"cannot read images of {repository}"):
            try:
                details = plane.client("ecr").describe_images(
                    repositoryName=repository, imageIds=[{"imageTag": tag or "latest"}]
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ImageNotFoundException":
                    return None
                raise
        return str(details["imageDetails"][0]["imageDigest"])
    return None


def _revision_image(plane: aws.ControlPlane, service: str, task_definition: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError  # noqa: PLC0415

    with plane.errors(f"cannot read task definition {task_definition}"):
        try:
            definition = plane.client("ecs").describe_task_definition(taskDefinition=task_definition)[
                "taskDefinition"
            ]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"ClientException", "InvalidParameterException"}:
                return None
            raise
    digest = _digest_of(plane, service, definition)
    if digest is None:
        return None
    return {"digest": digest, "taskDefinition": definition["taskDefinitionArn"], "tag": None, "from": "ecs"}


def candidates(plane: aws.ControlPlane, service: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Earlier images to roll back to, newest first (see the module's docstring)."""
    running = _running_digest(plane, service)
    seen = {running} if running else set()
    found = []
    for row in rows:
        digest = row.get("digest")
        if row.get("result") != "SUCCEEDED" or row.get("kind", "image") != "image" or not digest:
            continue
        if digest in seen:
            continue
        seen.add(digest)
        found.append(
            {
                "digest": digest,
                "taskDefinition": row.get("taskDefinitionAfter"),
                "tag": row.get("tag"),
                "from": "ledger",
                "startedAt": row.get("startedAt"),
            }
        )
    oldest_before = rows[-1].get("taskDefinitionBefore") if rows else None
    if oldest_before:
        before = _revision_image(plane, service, oldest_before)
        if before and before["digest"] not in seen:
            found.append(before)
    return found


def choose(plane: aws.ControlPlane, service: str, *, to: int | None, steps: int | None) -> dict[str, Any]:
    rows = ledger(plane, service)
    if to is not None:
        for row in rows:
            after = row.get("taskDefinitionAfter") or ""
            if row.get("result") == "SUCCEEDED" and row.get("digest") and after.rsplit(":", 1)[-1] == str(to):
                return {
                    "digest": row["digest"],
                    "taskDefinition": after,
                    "tag": row.get("tag"),
                    "from": "ledger",
                }
        family = (
            (rows[0].get("taskDefinitionBefore") or rows[0].get("taskDefinitionAfter") or "") if rows else ""
        )
        family_name = family.rsplit("/", 1)[-1].rsplit(":", 1)[0] or None
        target = _revision_image(plane, service, f"{family_name}:{to}") if family_name else None
        if target is None:
            raise UsageError(
                f"--to {to}: no revision {to} of {service} with an image of {plane.repository(service)}"
            )
        return target
    found = candidates(plane, service, rows)
    wanted = steps or 1
    if wanted > len(found):
        raise UsageError(
            f"--steps {wanted}: {service} has {len(found)} earlier image(s) to roll back to "
            f"({len(rows)} ledger row(s))"
        )
    return found[wanted - 1]


def run(
    target: aws.Target,
    service: str,
    *,
    to: int | None = None,
    steps: int | None = None,
    reason: str | None = None,
    as_json: bool = False,
    timeout: float = 7200.0,
    poll_seconds: float = 5.0,
    session: Any = None,
) -> int:
    if to is not None and steps is not None:
        raise UsageError("--to and --steps: give one of them")
    if (to is not None and to < 1) or (steps is not None and steps < 1):
        raise UsageError("--to and --steps take a number of at least 1")
    plane = aws.control_plane(target, session=session)
    plane.service(service)
    chosen = choose(plane, service, to=to, steps=steps)
    label = chosen.get("tag") or render.short(chosen["digest"])
    why = reason or f"rollback to {label} ({render.short(chosen.get('taskDefinition'))})"
    payload = deploy.validated_input(service, chosen["digest"], why[:256])
    progress = render.console() if not as_json else render.stderr_console()
    with plane.errors("cannot start the rollback"):
        execution_arn = deploy.start(plane, payload)
    progress.print(f"rolling {service} back to {label} ({chosen['digest']}): {execution_arn}")
    with plane.errors(f"cannot follow {execution_arn}"):
        execution = deploy.follow(
            plane, execution_arn, timeout=timeout, poll_seconds=poll_seconds, say=progress.print
        )
    result, details = deploy.result_of(execution)
    code = deploy.EXIT_CODES.get(result, 1)
    if as_json:
        print(
            json.dumps(
                {
                    "service": service,
                    "target": chosen,
                    "request": payload,
                    "executionArn": execution_arn,
                    "result": result,
                    "details": details,
                    "exitCode": code,
                },
                indent=2,
                default=str,
            )
        )
    else:
        progress.print(f"{render.styled(result)}: {details.get('reason') or execution.get('error') or ''}")
    return code


# --------------------------------------------------------------------------- the command


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service")
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--to", type=aws.count, metavar="REVISION", help="the task definition revision to go back to"
    )
    which.add_argument("--steps", type=aws.count, metavar="N", help="the N-th earlier image (default 1)")
    parser.add_argument("--reason", help="recorded in the ledger (default: rollback to TAG (family:REV))")


@registry.command(
    "rollback",
    arguments=_arguments,
    help="deploy an earlier successful image again, through the deploy workflow, and follow it",
    description="Deploys the image (by digest) of an earlier SUCCEEDED deployment of SERVICE through the "
    "deploy workflow (lease, ledger and notifications hold) and follows it like `deploy`. Default: the "
    "previous image (--steps 1); --to REVISION: the image of that task definition revision.",
    epilog=deploy.FOLLOW_EXIT_CODES,
    raw_description=True,
    json="print the result as JSON (for scripts)",
    follow=registry.Follow(timeout=7200.0, poll_seconds=5.0),
    aws=registry.Aws(),
)
def _rollback(args: argparse.Namespace) -> int:
    return run(
        aws.Target.from_args(args),
        args.service,
        to=args.to,
        steps=args.steps,
        reason=args.reason,
        as_json=args.json,
        timeout=args.timeout,
        poll_seconds=args.poll_seconds,
    )
