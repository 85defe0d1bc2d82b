"""`petclinic-ops executions [--workflow W] [--status S] [--limit N]`: recent executions of the
control plane's workflows (every state machine the stack outputs), newest first, with their
result and reason. A deploy execution deploys, under the same lease, the request queued behind
it: one that deployed more than one shows each deployment's outcome (``outcomes``), and
``--status FAILED`` finds it when one of them FAILED, even if the execution SUCCEEDED.

Express workflows (deployment-events) keep no execution list in Step Functions
(ListExecutions supports Standard workflows only): their runs are in their CloudWatch log group.

Needs: cloudformation:DescribeStacks, states:DescribeStateMachine, states:ListExecutions and
states:DescribeExecution on the stack's workflows.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from petclinic_local.cli import aws, registry, render
from petclinic_local.errors import UsageError
from petclinic_local.runner import parse_json

EXIT_OK = 0
SCAN_LIMIT = 100  # executions read per workflow for --status FAILED (some succeeded after a failure)
STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")


def outcome(described: dict[str, Any]) -> tuple[str, str]:
    """(result, reason): the workflow's own result when its output or error cause says it (the
    deploy workflow's SUCCEEDED/COALESCED/FAILED...), else Step Functions' status and error."""
    status = described["status"]
    if status == "RUNNING":
        return "RUNNING", ""
    output = parse_json(described.get("output"))
    if isinstance(output, dict) and status == "SUCCEEDED":
        return str(output.get("result") or status), str(output.get("reason") or "")
    cause = parse_json(described.get("cause"))
    error = described.get("error") or status
    if isinstance(cause, dict):
        reason = cause.get("reason") or cause.get("errorMessage") or json.dumps(cause)[:300]
        return str(cause.get("result") or error), str(reason)
    return str(error), str(cause or "")


def outcomes(described: dict[str, Any]) -> list[dict[str, Any]]:
    """Each deployment's outcome of a deploy execution (its output's or cause's ``deployments``:
    an execution deploys what was queued behind it under the same lease, so one execution may
    end SUCCEEDED with a FAILED deployment before it); [] for other workflows."""
    for value in (parse_json(described.get("output")), parse_json(described.get("cause"))):
        if isinstance(value, dict) and isinstance(value.get("deployments"), list):
            return [
                {
                    "service": item.get("service"),
                    "image": item.get("tag") or item.get("digest") or item.get("kind"),
                    "result": item.get("result"),
                    "reason": item.get("reason"),
                    "rolledBack": item.get("rolledBack"),
                }
                for item in value["deployments"]
                if isinstance(item, dict)
            ]
    return []


def failed(row: dict[str, Any]) -> bool:
    """What ``--status FAILED`` finds: an execution that failed, or one that recorded a FAILED
    deployment before it went on to deploy a queued request."""
    return row["status"] == "FAILED" or any(o.get("result") == "FAILED" for o in row["outcomes"])


def _request(execution_input: Any) -> str:
    if not isinstance(execution_input, dict):
        return "-"
    if "detail" in execution_input and isinstance(execution_input["detail"], dict):
        detail = execution_input["detail"]
        what = detail.get("image-tag") or render.short(detail.get("image-digest")) or detail.get("eventName")
        kind = execution_input.get("detail-type", "event")
        return f"{kind}: {detail.get('repository-name', '')} {what or ''}".strip()
    if "service" in execution_input:
        what = (
            "restart" if execution_input.get("restart") else render.short(str(execution_input.get("image")))
        )
        return f"{execution_input['service']} {what}"
    if "secret" in execution_input:
        return f"rotate {render.short(str(execution_input['secret']))}"
    return json.dumps(execution_input)[:60]


def _workflows(plane: aws.ControlPlane, workflow: str | None) -> dict[str, str]:
    machines = plane.state_machines()
    if workflow is None:
        return machines
    for name, arn in machines.items():
        if workflow in {name, arn, arn.rsplit(":", 1)[-1]}:
            return {name: arn}
    raise UsageError(f"unknown workflow {workflow!r}: stack {plane.stack} has {', '.join(sorted(machines))}")


def list_executions(
    plane: aws.ControlPlane, *, workflow: str | None = None, status: str | None = None, limit: int = 20
) -> tuple[list[dict[str, Any]], list[str]]:
    """(the newest ``limit`` executions across the workflows, newest first; the Express workflows
    left out). ``status`` FAILED also finds executions that succeeded after a FAILED deployment
    (``failed``): they are read whatever their status, up to ``SCAN_LIMIT`` per workflow."""
    sfn = plane.client("stepfunctions")
    listed: list[tuple[str, dict[str, Any]]] = []
    express = []
    for name, arn in _workflows(plane, workflow).items():
        with plane.errors(f"cannot read workflow {name}"):
            if sfn.describe_state_machine(stateMachineArn=arn).get("type") == "EXPRESS":
                express.append(name)
                continue
            request: dict[str, Any] = {"stateMachineArn": arn, "maxResults": min(limit, 1000)}
            if status == "FAILED":
                request["maxResults"] = max(limit, SCAN_LIMIT)
            elif status:
                request["statusFilter"] = status
            listed += [(name, e) for e in sfn.list_executions(**request).get("executions", [])]
    listed.sort(key=lambda pair: pair[1]["startDate"], reverse=True)
    rows: list[dict[str, Any]] = []
    for name, execution in listed:
        if len(rows) == limit:
            break
        if status == "FAILED" and execution.get("status") not in ("FAILED", "SUCCEEDED"):
            continue
        with plane.errors(f"cannot read execution {execution['executionArn']}"):
            described = sfn.describe_execution(executionArn=execution["executionArn"])
        row = _row(name, described)
        if status == "FAILED" and not failed(row):
            continue
        rows.append(row)
    return rows, express


def _row(workflow: str, described: dict[str, Any]) -> dict[str, Any]:
    result, reason = outcome(described)
    stop = described.get("stopDate")
    return {
        "workflow": workflow,
        "name": described["name"],
        "executionArn": described["executionArn"],
        "status": described["status"],
        "result": result,
        "reason": reason,
        "outcomes": outcomes(described),
        "startDate": described["startDate"].isoformat(),
        "stopDate": stop.isoformat() if stop else None,
        "durationSeconds": round((stop - described["startDate"]).total_seconds(), 3) if stop else None,
        "input": parse_json(described.get("input")),
        "output": parse_json(described.get("output")),
        "error": described.get("error"),
        "cause": parse_json(described.get("cause")),
    }


def executions_table(rows: list[dict[str, Any]], title: str) -> Any:
    from rich.table import Table  # noqa: PLC0415

    table = Table(title=title, title_justify="left")
    for column in ("started (UTC)", "workflow", "request", "status", "result", "reason", "took", "execution"):
        table.add_column(column, overflow="fold", no_wrap=column in {"workflow", "status", "result", "took"})
    for row in rows:
        took = row["durationSeconds"]
        table.add_row(
            row["startDate"][:19].replace("T", " "),
            row["workflow"],
            _request(row["input"]),
            render.styled(row["status"]),
            render.styled(row["result"]),
            row["reason"],
            "-" if took is None else f"{took:.1f} s",
            row["name"],
        )
        if len(row["outcomes"]) > 1:  # each deployment of the execution, in order
            for number, each in enumerate(row["outcomes"], 1):
                table.add_row(
                    "",
                    "",
                    f"  {number}. {each['image']}",
                    "",
                    render.styled(str(each["result"])),
                    str(each["reason"] or ""),
                    "",
                    "",
                )
    return table


def run(
    target: aws.Target,
    *,
    workflow: str | None = None,
    status: str | None = None,
    limit: int = 20,
    as_json: bool = False,
    session: Any = None,
) -> int:
    if limit < 1:
        raise UsageError(f"--limit {limit}: must be at least 1")
    plane = aws.control_plane(target, session=session)
    rows, express = list_executions(plane, workflow=workflow, status=status, limit=limit)
    if as_json:
        print(json.dumps({"executions": rows, "expressWorkflows": express}, indent=2, default=str))
        return EXIT_OK
    out = render.console()
    render.print_table(out, executions_table(rows, f"Executions of {plane.stack}'s workflows, newest first"))
    if express:
        out.print(
            f"not listed: {', '.join(express)} (Express: Step Functions keeps no execution list; "
            "see its CloudWatch log group)"
        )
    return EXIT_OK


# --------------------------------------------------------------------------- the command


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workflow", metavar="W", help="deploy, rotation-rollout... (a name or ARN)")
    parser.add_argument(
        "--status",
        choices=("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"),
        help="executions of this status; FAILED also finds an execution with a FAILED deployment that "
        "went on to deploy the request queued behind it",
    )
    parser.add_argument("--limit", type=aws.count, default=20, help="executions to show (default 20)")


@registry.command(
    "executions",
    arguments=_arguments,
    help="recent executions of the control plane's workflows with their results and reasons",
    description="Executions of every Standard workflow the stack outputs (deploy, rotation-rollout...), "
    "newest first, with the workflow's result (SUCCEEDED, COALESCED, FAILED...) and reason; an execution "
    "that deployed more than one request (the one queued behind it) shows each deployment's outcome.",
    epilog=registry.READ_EXIT_CODES + "; unknown workflow: 2",
    raw_description=True,
    json=registry.JSON,
    aws=registry.Aws(),
)
def _executions(args: argparse.Namespace) -> int:
    return run(
        aws.Target.from_args(args),
        workflow=args.workflow,
        status=args.status,
        limit=args.limit,
        as_json=args.json,
    )
