"""`petclinic-ops deploy SERVICE IMAGE`: a manual execution of the deploy workflow on AWS,
followed to the end. The input is checked with the workflow's own model, and the service against
the stack's ServiceNames, before anything starts.

Needs: cloudformation:DescribeStacks on the stack, states:StartExecution on the deploy workflow,
states:DescribeExecution and states:GetExecutionHistory on its executions.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from petclinic_local import runner
from petclinic_local.cli import aws, registry, render
from petclinic_local.errors import UsageError

if TYPE_CHECKING:
    from petclinic_local.cli.aws import ControlPlane, Target
    from petclinic_local.runner import Execution

WORKFLOW = "DeployStateMachine"
EXIT_CODES = {"SUCCEEDED": 0, "COALESCED": 3, "SUPERSEDED": 3, "DUPLICATE": 3, "SKIPPED": 3}
FOLLOW_EXIT_CODES = (
    "exit codes: 0 the image is live, 1 the deployment failed (rolled back) or was still running at "
    "--timeout, 2 bad input (unknown service, nothing to roll back to, stack not found, no credentials: "
    "nothing started), 3 queued behind or superseded by another execution"
)


def validated_input(service: str, image: str, reason: str | None) -> dict[str, Any]:
    from pydantic import ValidationError  # noqa: PLC0415

    from petclinic_ops.domain.validation import describe  # noqa: PLC0415
    from petclinic_ops.models.deploy import ManualDeployRequest  # noqa: PLC0415

    payload = {"service": service, "image": image, **({"reason": reason} if reason else {})}
    try:
        ManualDeployRequest.model_validate(payload)
    except ValidationError as exc:
        raise UsageError(f"invalid request: {describe(exc)}") from None
    return payload


def start(plane: ControlPlane, payload: dict[str, Any]) -> str:
    """A manual execution of the stack's deploy workflow (the payload validated, the service known)."""
    return runner.start(plane, WORKFLOW, payload, name=f"manual-{payload['service']}")


def follow(
    plane: ControlPlane, execution_arn: str, *, timeout: float, poll_seconds: float, say: Any
) -> Execution:
    """Print each state as the execution enters it; the execution at its end (runner.follow)."""
    return runner.follow(
        plane,
        execution_arn,
        timeout=timeout,
        poll_seconds=poll_seconds,
        on_state=lambda name, at: say(f"  {at:%H:%M:%S}  {name}"),
    )


def result_of(execution: Execution) -> tuple[str, dict[str, Any]]:
    """The deploy workflow's result (SUCCEEDED, COALESCED, FAILED...) and its account of the run."""
    return runner.result(execution), runner.detail(execution)


def run(
    service: str,
    image: str,
    *,
    target: Target,
    reason: str | None = None,
    timeout: float = 7200.0,
    poll_seconds: float = 5.0,
    session: Any = None,
) -> int:
    """Validate the request and the service against the stack, then start and follow the
    execution: nothing is started for bad input or an unknown service (exit 2)."""
    payload = validated_input(service, image, reason)
    plane = aws.control_plane(target, session=session)
    plane.service(service)
    out = render.console()
    with plane.errors("cannot start the deployment"):
        execution_arn = start(plane, payload)
    out.print(f"started {execution_arn}")
    with plane.errors("cannot follow the deployment"):
        execution = follow(plane, execution_arn, timeout=timeout, poll_seconds=poll_seconds, say=out.print)
    result, details = result_of(execution)
    out.print(f"{render.styled(result)}: {details.get('reason') or execution.get('error') or ''}")
    if details.get("image"):
        out.print(f"image {details['image']}")
    if details.get("taskDefinition"):
        out.print(f"task definition {details['taskDefinition']}")
    return EXIT_CODES.get(result, 1)


# --------------------------------------------------------------------------- the command


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service", help="ECS service, e.g. customers-service")
    parser.add_argument("image", help="image tag (e.g. 3.4.1) or digest (sha256:...)")
    parser.add_argument("--reason", help="recorded in the ledger and the notification")


@registry.command(
    "deploy",
    arguments=_arguments,
    help="deploy an image to a service on AWS (manual execution) and follow it to the end",
    description="Starts the deploy workflow with {service, image, reason} after checking the request "
    "with the workflow's own model and the service against the stack, and follows it to the end.",
    epilog=FOLLOW_EXIT_CODES,
    follow=registry.Follow(timeout=7200.0, poll_seconds=5.0),
    aws=registry.Aws(),
)
def _deploy(args: argparse.Namespace) -> int:
    return run(
        args.service,
        args.image,
        target=aws.Target.from_args(args),
        reason=args.reason,
        timeout=args.timeout,
        poll_seconds=args.poll_seconds,
    )
