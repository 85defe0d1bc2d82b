"""`petclinic-ops rollback SERVICE [--to REVISION | --steps N]`: deploy the image of an earlier
successful deployment again, through the deploy workflow (so the lease, the ledger and the
notifications hold), and follow it like `deploy`, with its exit codes.

The candidates are the images that ran before the one running now, nearest first: the images
in the order each first ran (the one before the oldest recorded deployment, resolved to a
digest in ECR, then each SUCCEEDED image deployment of the ledger), up to the running one. So
after an automatic rollback (the service already back on 1.1.0), the default is the image before
1.1.0, and the command says so. ``--steps N`` takes the N-th of them (default 1: the last image
that succeeded before the one running); ``--to REVISION`` the image of that task definition
revision (a ledger row's revision after, else the revision itself, read from ECS).

It says what runs now and what it will deploy (tag, digest, task definition), then asks on
stdin unless ``--yes`` (no answer, or not "y": nothing starts, exit 2); ``--dry-run`` says it and
starts nothing. The request is a manual one: ``{"service", "image": "sha256:<digest>", "reason":
"rollback to ..."}``. Needs what `deploy` and `status` need.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from petclinic_local.cli import aws, deploy, registry, render
from petclinic_local.cli.history import ledger
from petclinic_local.cli.status import split_image
from petclinic_local.errors import UsageError


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
    tag = next(
        (
            split_image(container.get("image", ""))[1]
            for container in definition.get("containerDefinitions", [])
            if split_image(container.get("image", ""))[0] == plane.repository(service)
        ),
        None,
    )
    return {"digest": digest, "taskDefinition": definition["taskDefinitionArn"], "tag": tag, "from": "ecs"}


def running(plane: aws.ControlPlane, service: str) -> dict[str, Any]:
    """What the service runs now: its task definition, the image's digest and tag (``{}`` when
    ECS has no such service)."""
    ecs = plane.client("ecs")
    with plane.errors(f"cannot read service {service}"):
        services = ecs.describe_services(cluster=plane.cluster, services=[service]).get("services", [])
        if not services:
            return {}
        definition = ecs.describe_task_definition(taskDefinition=services[0]["taskDefinition"])[
            "taskDefinition"
        ]
    now: dict[str, Any] = {
        "taskDefinition": definition.get("taskDefinitionArn", services[0]["taskDefinition"]),
        "digest": _digest_of(plane, service, definition),
        "tag": None,
    }
    for container in definition.get("containerDefinitions", []):
        name, tag, _ = split_image(container.get("image", ""))
        if name == plane.repository(service):
            now["tag"] = tag
    return now


def candidates(
    plane: aws.ControlPlane, service: str, rows: list[dict[str, Any]], now: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Earlier images to roll back to, newest first (see the module's docstring).

    The images the service ran, in the order each first ran: the image before the oldest
    recorded deployment, then each SUCCEEDED image deployment's (a digest counted at its first
    deployment only). The candidates are those before the running image, the nearest first: a
    rollback after an automatic one (the service already back on the previous image) goes one
    image back from there, and rollbacks in a row walk back instead of forth. An image that is
    not in that sequence (deployed outside the workflow): every recorded image but it."""
    now = running(plane, service) if now is None else now
    current = now.get("digest")
    sequence: list[dict[str, Any]] = []
    oldest_before = rows[-1].get("taskDefinitionBefore") if rows else None
    if oldest_before:
        before = _revision_image(plane, service, oldest_before)
        if before:
            sequence.append(before)
    for row in reversed(rows):  # oldest first
        digest = row.get("digest")
        if row.get("result") != "SUCCEEDED" or row.get("kind", "image") != "image" or not digest:
            continue
        if any(image["digest"] == digest for image in sequence):
            continue
        sequence.append(
            {
                "digest": digest,
                "taskDefinition": row.get("taskDefinitionAfter"),
                "tag": row.get("tag"),
                "from": "ledger",
                "startedAt": row.get("startedAt"),
            }
        )
    digests = [image["digest"] for image in sequence]
    if current in digests:
        return list(reversed(sequence[: digests.index(current)]))
    return [image for image in reversed(sequence) if image["digest"] != current]


def choose(
    plane: aws.ControlPlane,
    service: str,
    *,
    to: int | None,
    steps: int | None,
    rows: list[dict[str, Any]] | None = None,
    now: dict[str, Any] | None = None,
) -> dict[str, Any]:
    rows = ledger(plane, service) if rows is None else rows
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
    found = candidates(plane, service, rows, now)
    wanted = steps or 1
    if wanted > len(found):
        raise UsageError(
            f"--steps {wanted}: {service} has {len(found)} earlier image(s) to roll back to "
            f"({len(rows)} ledger row(s))"
        )
    return found[wanted - 1]


def _image_text(image: dict[str, Any]) -> str:
    """``1.1.0 (sha256:...) on family:REV``: tag, full digest, task definition."""
    where = f" on {render.short(image['taskDefinition'])}" if image.get("taskDefinition") else ""
    return f"{image.get('tag') or 'untagged'} ({image.get('digest') or 'digest unknown'}){where}"


def plan_lines(
    service: str, now: dict[str, Any], chosen: dict[str, Any], rows: list[dict[str, Any]]
) -> list[str]:
    """What runs now, what the rollback deploys, and a note when the last deployment was
    already rolled back (the service is back on the image before it)."""
    lines = [
        f"{service} runs now:  {_image_text(now) if now else 'nothing (no such service in ECS)'}",
        f"rollback deploys:  {_image_text(chosen)}",
    ]
    last = rows[0] if rows else None
    if last and last.get("result") == "FAILED" and last.get("rolledBack"):
        lines.append(
            f"note: the last deployment ({last.get('tag') or render.short(last.get('digest'))}) FAILED and "
            f"was already rolled back to {render.short(last.get('taskDefinitionBefore'))}, which runs now: "
            f"this rollback goes one image further back"
        )
    return lines


def confirmed(question: str) -> bool:
    """The operator's yes on stdin (the question on stderr); False at the end of input."""
    print(question, end="", file=sys.stderr, flush=True)
    try:
        answer = sys.stdin.readline()
    except (OSError, UnicodeDecodeError, ValueError):
        answer = ""
    if not answer:
        print(file=sys.stderr)
    return answer.strip().lower() in {"y", "yes"}


def run(
    target: aws.Target,
    service: str,
    *,
    to: int | None = None,
    steps: int | None = None,
    reason: str | None = None,
    as_json: bool = False,
    dry_run: bool = False,
    yes: bool = False,
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
    rows = ledger(plane, service)
    now = running(plane, service)
    if now.get("digest") and not now.get("tag"):
        now["tag"] = next((row.get("tag") for row in rows if row.get("digest") == now["digest"]), None)
    chosen = choose(plane, service, to=to, steps=steps, rows=rows, now=now)
    if now.get("digest") == chosen["digest"]:
        raise UsageError(f"{service} already runs {_image_text(chosen)}: nothing to roll back")
    label = chosen.get("tag") or render.short(chosen["digest"])
    why = reason or f"rollback to {label} ({render.short(chosen.get('taskDefinition'))})"
    payload = deploy.validated_input(service, chosen["digest"], why[:256])
    progress = render.console() if not as_json else render.stderr_console()
    for line in plan_lines(service, now, chosen, rows):
        progress.print(line, soft_wrap=True)
    report: dict[str, Any] = {"service": service, "running": now, "target": chosen, "request": payload}
    if dry_run:
        if as_json:
            print(json.dumps({**report, "dryRun": True}, indent=2, default=str))
        else:
            progress.print("dry run: nothing started")
        return 0
    if not yes and not confirmed(f"deploy {label} to {service}? [y/N] "):
        raise UsageError("not confirmed: nothing started (answer y, or pass --yes)")
    return deploy.start_and_follow(
        plane,
        payload,
        announce=f"rolling {service} back to {label} ({chosen['digest']})",
        report=report,
        as_json=as_json,
        timeout=timeout,
        poll_seconds=poll_seconds,
    )


# --------------------------------------------------------------------------- the command


EXIT_CODES_HELP = (
    "exit codes: 0 the image is live (--dry-run: shown), 1 the deployment failed (rolled back) or was "
    "still running at --timeout, 2 bad input, nothing to roll back to or not confirmed (stack not found, "
    "no credentials: nothing started), 3 queued behind or superseded by another execution"
)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service")
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--to", type=aws.count, metavar="REVISION", help="the task definition revision to go back to"
    )
    which.add_argument("--steps", type=aws.count, metavar="N", help="the N-th earlier image (default 1)")
    parser.add_argument("--reason", help="recorded in the ledger (default: rollback to TAG (family:REV))")
    parser.add_argument("--yes", "-y", action="store_true", help="deploy without asking")
    registry.dry_run(parser, "say what runs now and what the rollback would deploy; start nothing")


@registry.command(
    "rollback",
    arguments=_arguments,
    help="deploy an earlier successful image again, through the deploy workflow, and follow it",
    description="Deploys the image (by digest) of an earlier SUCCEEDED deployment of SERVICE through the "
    "deploy workflow (lease, ledger and notifications hold) and follows it like `deploy`. Default: the "
    "last image that succeeded before the one running (--steps 1); --to REVISION: the image of that task "
    "definition revision. Says what runs now and what it will deploy (tag, digest), then asks unless "
    "--yes; --dry-run says it and starts nothing.",
    epilog=EXIT_CODES_HELP,
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
        dry_run=args.dry_run,
        yes=args.yes,
        timeout=args.timeout,
        poll_seconds=args.poll_seconds,
    )
