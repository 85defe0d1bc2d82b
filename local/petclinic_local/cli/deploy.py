"""`petclinic-ops deploy SERVICE IMAGE`: a manual execution of the deploy workflow on AWS,
followed to the end. The input is checked with the workflow's own model, and the service against
the stack's ServiceNames, before anything starts.

Needs: cloudformation:DescribeStacks on the stack, states:StartExecution on the deploy workflow,
states:DescribeExecution and states:GetExecutionHistory on its executions.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from petclinic_local.cli import aws, render
from petclinic_local.errors import UsageError

if TYPE_CHECKING:
    from petclinic_local.cli.aws import ControlPlane, Target

EXIT_CODES = {"SUCCEEDED": 0, "COALESCED": 3, "SUPERSEDED": 3, "DUPLICATE": 3, "SKIPPED": 3}


def validated_input(service: str, image: str, reason: str | None) -> dict[str, Any]:
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
    machine = plane.output("DeployStateMachineArn")
    name = f"manual-{payload['service']}-{datetime.now(UTC):%Y%m%dT%H%M%S}"[:80]
    started = plane.client("stepfunctions").start_execution(
        stateMachineArn=machine, name=name, input=json.dumps(payload)
    )
    return str(started["executionArn"])


def follow(
    session: Any, execution_arn: str, *, timeout: float, poll_seconds: float, say: Any
) -> dict[str, Any]:
    """Print each state as the execution enters it; return DescribeExecution at the end."""
    sfn = session.client("stepfunctions")
    seen = 0
    deadline = time.monotonic() + timeout
    while True:
        events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
        for event in events[seen:]:
            if event["type"].endswith("StateEntered"):
                say(f"  {event['timestamp']:%H:%M:%S}  {event['stateEnteredEventDetails']['name']}")
        seen = len(events)
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        if time.monotonic() > deadline:
            raise aws.AwsFailure(
                f"still running after {timeout:.0f} s: {execution_arn} (it goes on without us)"
            )
        time.sleep(poll_seconds)


def result_of(described: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if described["status"] == "SUCCEEDED":
        output: dict[str, Any] = json.loads(described.get("output") or "{}")
        return output.get("result", "SUCCEEDED"), output
    try:
        cause = json.loads(described.get("cause") or "")
    except ValueError:
        cause = {"reason": described.get("cause")}
    if not isinstance(cause, dict):
        cause = {"reason": cause}
    return str(cause.get("result") or described.get("error") or described["status"]), cause


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
        described = follow(
            plane.session, execution_arn, timeout=timeout, poll_seconds=poll_seconds, say=out.print
        )
    result, details = result_of(described)
    out.print(f"{render.styled(result)}: {details.get('reason') or described.get('error') or ''}")
    if details.get("image"):
        out.print(f"image {details['image']}")
    if details.get("taskDefinition"):
        out.print(f"task definition {details['taskDefinition']}")
    return EXIT_CODES.get(result, 1)
