"""Start a workflow, wait for it, report it: the one way the local commands, the CLI and the
benchmarks run a Step Functions workflow, on the local cloud and on AWS alike.

    execution = runner.run(cloud, "ScaleStateMachine", {"profile": "night"}, name="scale-night")
    arn = runner.start(plane, "DeployStateMachine", payload, name="manual-customers-service")
    execution = runner.follow(plane, arn, timeout=600, poll_seconds=5, on_state=print)   # AWS
    execution["status"], execution.get("output"), runner.detail(execution)

A workflow is named by its key: its state machine's logical id in template.yaml, whose ARN the
control plane stack outputs as ``<key>Arn`` (DeployStateMachine -> DeployStateMachineArn); a new
workflow needs that output and nothing here. ``plane`` is anything with the stack's ``outputs``
and a ``client(service)``: a ``LocalCloud``, or the CLI's ``ControlPlane`` (AWS, or an endpoint).

- start: a unique execution name, ``<name>-<UTC time>-<random>`` (at most 80 characters): Step
  Functions refuses a second execution of one name with another input, and answers a second
  start with the same input with the first execution.
- wait: on a local cloud until it is quiet (every execution, rollout and rotation the run set off
  has ended) or until this execution ends; on AWS (``follow``) by polling DescribeExecution, each
  state entered passed to ``on_state``, up to a timeout (``StillRunning``: the execution goes on).
- report: the execution as a record (``Execution``), its input, output and cause parsed from
  JSON; ``detail`` is the workflow's own account (its output, or its cause when it failed), and
  ``history`` / ``transitions`` / ``lambda_invocations`` what it cost.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol

from petclinic_local.errors import UsageError

if TYPE_CHECKING:
    from petclinic_local.cloud import LocalCloud

# Step Functions execution names: 1-80 characters, none of whitespace, brackets, wildcards,
# " # % \ ^ | ~ ` $ & , ; : / or control characters.
_NAME_UNSAFE = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]+")
NAME_LIMIT = 80
FINAL_EVENTS = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"})


class Plane(Protocol):
    """The control plane as the runner needs it: the stack's outputs and clients."""

    @property
    def outputs(self) -> Mapping[str, str]: ...

    def client(self, service: str) -> Any: ...


class StillRunning(TimeoutError):
    """The execution was still running when the wait ended; it goes on."""


class Execution(dict[str, Any]):
    """An execution as DescribeExecution gives it, for reports: ``stateMachine`` (its name),
    ``executionArn``, ``status``, ``startDate`` (ISO 8601), ``input``, and ``output`` when it has
    one, ``error`` and ``cause`` when it ended otherwise than SUCCEEDED (JSON parsed, else text).
    Asking a failed (or still running) execution for what it does not have, its output say,
    raises a KeyError that says why: its status, error and cause, so a test that expected
    success explains its own failure."""

    def __missing__(self, key: str) -> Any:
        status = self.get("status")
        detail = f"{self.get('error')}: {self.get('cause')}" if status not in ("SUCCEEDED", "RUNNING") else ""
        raise KeyError(f"{key!r}: execution {self.get('executionArn')} is {status} {detail}".rstrip())


# --------------------------------------------------------------------------- start


def state_machine_arn(plane: Plane, key: str) -> str:
    """The ARN of workflow ``key`` (its logical id) from the stack's outputs; a UsageError naming
    the workflows the stack has when it has no such one."""
    output = f"{key}Arn"
    arn = plane.outputs.get(output)
    if not arn:
        known = sorted(k.removesuffix("Arn") for k in plane.outputs if k.endswith("StateMachineArn"))
        stack = getattr(plane, "stack_name", "the stack")
        raise UsageError(
            f"stack {stack} has no {output} output: is it the petclinic-ops control plane? "
            f"(its workflows: {', '.join(known) or 'none'})"
        )
    return arn


def execution_name(name: str, *, now: dt.datetime | None = None) -> str:
    """``name-<UTC time>-<8 hex>``: unique, at most 80 characters, only characters Step Functions
    allows in a name (others become '-'; a long ``name`` is cut, never the unique part)."""
    stamp = f"{(now or dt.datetime.now(dt.UTC)):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    cleaned = _NAME_UNSAFE.sub("-", name).strip("-") or "run"
    return f"{cleaned[: NAME_LIMIT - len(stamp) - 1]}-{stamp}"


def start(plane: Plane, key: str, request: Any, *, name: str) -> str:
    """Start workflow ``key`` with ``request`` (JSON) under a unique name derived from ``name``;
    its execution ARN."""
    arn = state_machine_arn(plane, key)
    started = plane.client("stepfunctions").start_execution(
        stateMachineArn=arn, name=execution_name(name), input=json.dumps(request)
    )
    return str(started["executionArn"])


# --------------------------------------------------------------------------- report


def parse_json(text: str | None) -> Any:
    """A JSON text's value; the text itself when it is not JSON; None for None."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def record(described: Mapping[str, Any]) -> Execution:
    """DescribeExecution's answer as an ``Execution``."""
    started = described.get("startDate")
    execution = Execution(
        {
            "stateMachine": str(described.get("stateMachineArn", "")).rsplit(":", 1)[-1],
            "executionArn": described["executionArn"],
            "status": described["status"],
            "startDate": started.isoformat() if isinstance(started, dt.datetime) else started,
            "input": parse_json(described.get("input") or "null"),
        }
    )
    if "output" in described:
        execution["output"] = parse_json(described["output"])
    if described["status"] not in ("SUCCEEDED", "RUNNING"):
        execution["error"] = described.get("error")
        execution["cause"] = parse_json(described.get("cause"))
    return execution


def describe(plane: Plane, execution_arn: str) -> Execution:
    return record(plane.client("stepfunctions").describe_execution(executionArn=execution_arn))


def detail(execution: Mapping[str, Any]) -> dict[str, Any]:
    """The workflow's own account of its run: its output when it succeeded, else its cause (a
    cause that is no JSON object as ``{"reason": cause}``); {} when it has neither."""
    value = execution.get("output") if execution.get("status") == "SUCCEEDED" else execution.get("cause")
    if value is None:
        return {}
    return value if isinstance(value, dict) else {"reason": value}


def result(execution: Mapping[str, Any]) -> str:
    """The workflow's result (its output's or cause's ``result``: SUCCEEDED, COALESCED, FAILED...),
    else Step Functions' error, else the status."""
    return str(detail(execution).get("result") or execution.get("error") or execution["status"])


def history(plane: Plane, execution_arn: str) -> list[dict[str, Any]]:
    """Every event of the execution's history, oldest first."""
    sfn = plane.client("stepfunctions")
    events: list[dict[str, Any]] = []
    request: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**request)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        request["nextToken"] = page["nextToken"]


def states_entered(events: list[dict[str, Any]]) -> list[str]:
    """The name of every state entered, in order."""
    return [
        event.get("stateEnteredEventDetails", {}).get("name", "")
        for event in events
        if event["type"].endswith("StateEntered")
    ]


def transitions(events: list[dict[str, Any]]) -> int:
    """State transitions (every state entered: what a Standard workflow bills)."""
    return len(states_entered(events))


def lambda_invocations(events: list[dict[str, Any]]) -> int:
    """Lambda tasks scheduled (``arn:aws:states:::lambda:invoke``)."""
    return sum(
        1
        for event in events
        if event["type"] == "TaskScheduled"
        and event.get("taskScheduledEventDetails", {}).get("resourceType") == "lambda"
    )


# --------------------------------------------------------------------------- wait


def wait(
    cloud: LocalCloud,
    execution_arn: str,
    *,
    until: Literal["quiet", "end"] = "quiet",
    timeout: float = 300.0,
) -> Execution:
    """On a local cloud: until it is quiet (``quiet``: every execution, rollout and rotation has
    ended, QuietTimeout otherwise) or until this execution ends (``end``: other work may go on,
    StillRunning otherwise); then the execution."""
    if until == "quiet":
        cloud.wait_until_quiet(timeout=timeout)
        return describe(cloud, execution_arn)
    deadline = time.monotonic() + timeout
    while (execution := describe(cloud, execution_arn))["status"] == "RUNNING":
        if time.monotonic() > deadline:
            raise StillRunning(f"still running after {timeout:.0f} s: {execution_arn}")
        time.sleep(0.05)
    return execution


def run(
    cloud: LocalCloud,
    key: str,
    request: Any,
    *,
    name: str,
    until: Literal["quiet", "end"] = "quiet",
    timeout: float = 300.0,
) -> Execution:
    """Start workflow ``key`` on a local cloud, wait (``wait``), and return the execution."""
    return wait(cloud, start(cloud, key, request, name=name), until=until, timeout=timeout)


def follow(
    plane: Plane,
    execution_arn: str,
    *,
    timeout: float,
    poll_seconds: float,
    on_state: Callable[[str, dt.datetime], None] | None = None,
    on_entered: Callable[[dict[str, Any]], None] | None = None,
) -> Execution:
    """Until the execution ends, polling DescribeExecution every ``poll_seconds`` (and, with
    ``on_state``, its history: each state entered, once, with its time; ``on_entered`` gets the
    whole StateEntered event, its input among it); StillRunning after ``timeout`` seconds (the
    execution goes on without us)."""
    seen = 0
    deadline = time.monotonic() + timeout
    while True:
        # Described first, then its history: an execution that ends in between has every state
        # reported (the other way round, its last states were lost).
        execution = describe(plane, execution_arn)
        if on_state is not None or on_entered is not None:
            events = history(plane, execution_arn)
            for event in events[seen:]:
                if not event["type"].endswith("StateEntered"):
                    continue
                if on_state is not None:
                    on_state(event["stateEnteredEventDetails"]["name"], event["timestamp"])
                if on_entered is not None:
                    on_entered(event)
            seen = len(events)
        if execution["status"] != "RUNNING":
            return execution
        if time.monotonic() > deadline:
            raise StillRunning(
                f"still running after {timeout:.0f} s: {execution_arn} (it goes on without us)"
            )
        time.sleep(poll_seconds)
