"""`petclinic-ops restart SERVICE [--reason R]`: a new deployment of the service's running
revision through the deploy workflow (``{"service", "restart": true, "reason"}``, what the
rotation rollout sends), followed to the end like `deploy`, with its exit codes. New tasks read
their secrets anew; a deployment a dead execution left on the lease (``inflight``) is finished
first (the execution's output then has ``takenOverFrom``).

The request is checked with the workflow's own model and the service against the stack's
ServiceNames before anything starts.

Needs: cloudformation:DescribeStacks on the stack, states:StartExecution on the deploy workflow,
states:DescribeExecution and states:GetExecutionHistory on its executions.
"""

from __future__ import annotations

import argparse
from typing import Any

from petclinic_local.cli import aws, deploy, registry
from petclinic_local.errors import UsageError


def validated_input(service: str, reason: str | None) -> dict[str, Any]:
    from pydantic import ValidationError  # noqa: PLC0415

    from petclinic_ops.domain.validation import describe  # noqa: PLC0415
    from petclinic_ops.models.deploy import ManualRestartRequest  # noqa: PLC0415

    payload: dict[str, Any] = {"service": service, "restart": True, **({"reason": reason} if reason else {})}
    try:
        ManualRestartRequest.model_validate(payload)
    except ValidationError as exc:
        raise UsageError(f"invalid request: {describe(exc)}") from None
    return payload


def run(
    service: str,
    *,
    target: aws.Target,
    reason: str | None = None,
    as_json: bool = False,
    timeout: float = 7200.0,
    poll_seconds: float = 5.0,
    session: Any = None,
) -> int:
    """Validate, start the restart, follow it; the deploy workflow's exit code (0 live, 1
    failed, 3 queued behind or superseded by another execution)."""
    payload = validated_input(service, reason)
    plane = aws.control_plane(target, session=session)
    plane.service(service)
    return deploy.start_and_follow(
        plane,
        payload,
        announce=f"restarting {service} (its running revision)",
        report={"service": service, "request": payload},
        as_json=as_json,
        timeout=timeout,
        poll_seconds=poll_seconds,
    )


# --------------------------------------------------------------------------- the command


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service", help="ECS service, e.g. vets-service")
    parser.add_argument("--reason", help="recorded in the ledger and the notification (e.g. INC-123)")


@registry.command(
    "restart",
    arguments=_arguments,
    help="a new deployment of a service's running revision through the deploy workflow, followed",
    description="Starts the deploy workflow with {service, restart: true, reason}: a new deployment of the "
    "running task definition (new tasks read their secrets anew), under the service's lease, with its "
    "rollout wait, ledger row and notification; a deployment a dead execution left is finished first. "
    "Followed to the end like `deploy`.",
    epilog=deploy.FOLLOW_EXIT_CODES,
    json=registry.JSON,
    follow=registry.Follow(timeout=7200.0, poll_seconds=5.0),
    aws=registry.Aws(),
)
def _restart(args: argparse.Namespace) -> int:
    return run(
        args.service,
        target=aws.Target.from_args(args),
        reason=args.reason,
        as_json=args.json,
        timeout=args.timeout,
        poll_seconds=args.poll_seconds,
    )
