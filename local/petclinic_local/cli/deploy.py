"""`petclinic-ops deploy SERVICE IMAGE`: a manual execution of the deploy workflow on AWS,
followed to the end. The input is checked with the workflow's own model, and the service against
the stack's ServiceNames, before anything starts.

Needs: cloudformation:DescribeStacks on the stack, states:StartExecution on the deploy workflow,
states:DescribeExecution and states:GetExecutionHistory on its executions.
"""

from __future__ import annotations

import argparse
import json
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


# --strategy's spelling (the issue's) -> ECS's deploymentConfiguration.strategy.
STRATEGIES = {"rolling": "ROLLING", "canary": "CANARY", "linear": "LINEAR", "blue-green": "BLUE_GREEN"}


def validated_input(
    service: str, image: str, reason: str | None, strategy: str | None = None
) -> dict[str, Any]:
    from pydantic import ValidationError  # noqa: PLC0415

    from petclinic_ops.domain.validation import describe  # noqa: PLC0415
    from petclinic_ops.models.deploy import ManualDeployRequest  # noqa: PLC0415

    payload = {
        "service": service,
        "image": image,
        **({"reason": reason} if reason else {}),
        **({"strategy": STRATEGIES.get(strategy, strategy)} if strategy else {}),
    }
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


def outcome_lines(result: str, details: dict[str, Any], execution: Execution) -> list[str]:
    """What an operator reads at the end: the result and its reason, then what runs or what waits."""
    lines = [f"{render.styled(result)}: {details.get('reason') or execution.get('error') or ''}"]
    if details.get("image"):
        lines.append(f"image {details['image']}")
    if details.get("taskDefinition"):
        lines.append(f"task definition {details['taskDefinition']}")
    if details.get("takenOverFrom"):
        lines.append(f"finished first what {details['takenOverFrom']} left")
    if result == "COALESCED":
        service = details.get("service") or "SERVICE"
        holder = details.get("queuedBehind")
        lines.append(
            f"queued behind {holder or 'the running deployment'}: it deploys this image when it ends "
            f"(unless a newer one arrives first). Follow it: petclinic-ops status {service}; "
            f"petclinic-ops history {service} shows the result."
        )
    return lines


def start_and_follow(
    plane: ControlPlane,
    payload: dict[str, Any],
    *,
    announce: str,
    report: dict[str, Any],
    as_json: bool,
    timeout: float,
    poll_seconds: float,
) -> int:
    """Start the deploy workflow with a validated payload, follow it (each state as it is entered,
    on stderr with ``as_json``), then print the outcome: what `deploy`, `restart` and `rollback`
    share. The exit code is the workflow's result's (EXIT_CODES; 1 for a failure)."""
    progress = render.stderr_console() if as_json else render.console()
    with plane.errors("cannot start the deploy workflow"):
        execution_arn = start(plane, payload)
    progress.print(f"{announce}: {execution_arn}", soft_wrap=True)
    with plane.errors(f"cannot follow {execution_arn}"):
        execution = follow(
            plane, execution_arn, timeout=timeout, poll_seconds=poll_seconds, say=progress.print
        )
    result, details = result_of(execution)
    code = EXIT_CODES.get(result, 1)
    if as_json:
        outcome = {"executionArn": execution_arn, "result": result, "details": details, "exitCode": code}
        print(json.dumps({**report, **outcome}, indent=2, default=str))
        return code
    for line in outcome_lines(result, details, execution):
        progress.print(line, soft_wrap=True)
    return code


def run(
    service: str,
    image: str,
    *,
    target: Target,
    reason: str | None = None,
    strategy: str | None = None,
    as_json: bool = False,
    timeout: float = 7200.0,
    poll_seconds: float = 5.0,
    session: Any = None,
) -> int:
    """Validate the request and the service against the stack, then start and follow the
    execution: nothing is started for bad input or an unknown service (exit 2)."""
    payload = validated_input(service, image, reason, strategy)
    plane = aws.control_plane(target, session=session)
    plane.service(service)
    return start_and_follow(
        plane,
        payload,
        announce=f"deploying {image} to {service}",
        report={"service": service, "request": payload},
        as_json=as_json,
        timeout=timeout,
        poll_seconds=poll_seconds,
    )


# --------------------------------------------------------------------------- the command


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service", help="ECS service, e.g. customers-service")
    parser.add_argument("image", help="image tag (e.g. 3.4.1) or digest (sha256:...)")
    parser.add_argument("--reason", help="recorded in the ledger and the notification")
    parser.add_argument(
        "--strategy",
        choices=sorted(STRATEGIES),
        help="deploy by this strategy instead of the service's configured one (for this deployment)",
    )


@registry.command(
    "deploy",
    arguments=_arguments,
    help="deploy an image to a service on AWS (manual execution) and follow it to the end",
    description="Starts the deploy workflow with {service, image, reason, strategy} after checking the "
    "request with the workflow's own model and the service against the stack, and follows it to the end.",
    epilog=FOLLOW_EXIT_CODES,
    json=registry.JSON,
    follow=registry.Follow(timeout=7200.0, poll_seconds=5.0),
    aws=registry.Aws(),
)
def _deploy(args: argparse.Namespace) -> int:
    return run(
        args.service,
        args.image,
        target=aws.Target.from_args(args),
        reason=args.reason,
        strategy=args.strategy,
        as_json=args.json,
        timeout=args.timeout,
        poll_seconds=args.poll_seconds,
    )
