"""moto_compat.stepfunctions: JSONata, generated execution names, the time scale, an execution's
end seen at once, and AWS's recorded outcomes (JSONata failure causes, Assign's escapes, $range,
Wait timestamps, the context's RedriveCount)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any
from unittest import mock

import jsonata
import pytest
from moto_gaps import (
    ISO_MILLIS_Z,
    PASS,
    ROLE_ARN,
    FakeHooks,
    FunctionResult,
    client,
    create_role,
    create_state_machine,
    execute,
    jsonata_pass,
    local_aws,
    output_of,
    task,
    wait_for_executions,
)

from petclinic_local.cloud import ACCOUNT, REGION
from petclinic_local.moto_compat import iam

# Outputs are objects: moto's DescribeExecution returns a string output unquoted (not JSON).
START_TIME = jsonata_pass({"start": "{% $states.context.Execution.StartTime %}"})

# JSONata: a string with a double quote, assigned to a variable and read back.
QUOTED = 'say "hi"'

ASSIGN_AND_READ_BACK = {
    "QueryLanguage": "JSONata",
    "StartAt": "Assign",
    "States": {
        "Assign": {"Type": "Pass", "Assign": {"text": "{% $states.input.text %}"}, "Next": "Read"},
        "Read": {"Type": "Pass", "Output": "{% {'text': $text} %}", "End": True},
    },
}


def test_needed_jsonata_no_evaluator() -> None:
    """If this fails, moto fixed jsonata: delete the workaround (moto evaluates JSONata)."""
    with local_aws(skip={"jsonata"}):
        described = execute(jsonata_pass("{% 1 + 1 %}"))
        assigned = execute(ASSIGN_AND_READ_BACK, {"text": QUOTED})
    for run in (described, assigned):
        assert run["status"] == "FAILED"
        assert run["error"] == "States.Runtime"
        assert "'NoneType' object is not callable" in run["cause"]


def test_needed_jsonata_strings_printed_unescaped() -> None:
    """If this fails, moto fixed jsonata: delete the workaround (string variables are escaped)."""
    from moto.stepfunctions.parser.asl.jsonata.jsonata import encode_jsonata_variable_declarations  # noqa: PLC0415

    declarations = encode_jsonata_variable_declarations({"$text": QUOTED})
    assert declarations == '$text:="say "hi"";'
    with pytest.raises(jsonata.JException, match="Expected"):
        jsonata.Jsonata(f"({declarations}$text)").evaluate(None)


def test_needed_jsonata_context_holds_datetimes() -> None:
    """If this fails, moto fixed jsonata: delete the workaround ($states.context has AWS's
    ISO 8601 strings). An evaluator plugged where moto expects one is not enough."""
    from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata  # noqa: PLC0415

    plugged = mock.patch.object(
        moto_jsonata, "_eval_jsonata", lambda text: jsonata.Jsonata(text).evaluate(None)
    )
    with local_aws(skip={"jsonata"}), plugged:
        start_time = output_of(execute(START_TIME))["start"]
    assert not ISO_MILLIS_Z.match(start_time)
    assert start_time.endswith("+00:00")  # datetime.isoformat(), microseconds, no Z


def test_closed_jsonata() -> None:
    with local_aws():
        assert output_of(execute(jsonata_pass("{% 1 + 1 %}"))) == 2
        assert output_of(execute(ASSIGN_AND_READ_BACK, {"text": QUOTED})) == {"text": QUOTED}
        start_time = output_of(execute(START_TIME))["start"]
        partitioned = output_of(execute(jsonata_pass("{% $partition([1, 2, 3], 2) %}")))
    assert ISO_MILLIS_Z.match(start_time), start_time
    assert partitioned == [[1, 2], [3]]


def test_closed_jsonata_variable_with_quote_in_jsonpath_state() -> None:
    definition = {
        "StartAt": "Assign",
        "States": {
            "Assign": {"Type": "Pass", "Assign": {"text.$": "$.text"}, "Next": "Read"},
            "Read": {"Type": "Pass", "Parameters": {"text.$": "$text"}, "End": True},
        },
    }
    with local_aws():
        assert output_of(execute(definition, {"text": QUOTED})) == {"text": QUOTED}


def test_needed_start_execution_name() -> None:
    """If this fails, moto fixed start-execution-name: delete the workaround (an execution
    started without a name gets a generated one)."""
    with local_aws(skip={"start-execution-name"}):
        sfn = client("stepfunctions")
        arn = create_state_machine(PASS)
        first = sfn.start_execution(stateMachineArn=arn, input='{"n": 1}')["executionArn"]
        with pytest.raises(sfn.exceptions.ExecutionAlreadyExists):
            sfn.start_execution(stateMachineArn=arn, input='{"n": 2}')
        wait_for_executions(arn)
    assert first.endswith(":None")


def test_closed_start_execution_name() -> None:
    with local_aws():
        sfn = client("stepfunctions")
        arn = create_state_machine(PASS)
        started = [
            sfn.start_execution(stateMachineArn=arn, input=f'{{"n": {n}}}')["executionArn"] for n in (1, 2)
        ]
        finished = wait_for_executions(arn, count=2)
        statuses = {sfn.describe_execution(executionArn=a)["status"] for a in started}
    assert len(set(started)) == 2
    assert set(started) == set(finished)
    assert statuses == {"SUCCEEDED"}
    for execution_arn in started:
        uuid.UUID(execution_arn.rsplit(":", maxsplit=1)[-1])


def _failing_function(payload: Any) -> FunctionResult:
    return {"errorType": "RuntimeError", "errorMessage": "boom"}, True, ""


@contextlib.contextmanager
def timing_cloud(*, skip: set[str] | frozenset[str], time_scale: float) -> Iterator[None]:
    """Functions for the timing machines: "failing" fails, "stuck" works until the test ends."""
    finished = threading.Event()

    def stuck(payload: Any) -> FunctionResult:
        finished.wait(10)
        return {"done": True}, False, ""

    hooks = FakeHooks(time_scale=time_scale, functions={"stuck": stuck, "failing": _failing_function})
    with local_aws(skip=skip, hooks=hooks):
        try:
            yield
        finally:
            finished.set()


def _run_timing_machines(seconds: int) -> dict[str, dict[str, Any]]:
    """A Wait, a Retry interval and a task timeout of ``seconds`` each, run side by side (so
    1 s each takes about 1 s in all): their status, error and duration."""
    lambda_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function"
    machines = {
        "wait": create_state_machine(
            {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": seconds, "End": True}}}
        ),
        "retry": create_state_machine(
            task(
                f"{lambda_arn}:failing",
                Retry=[{"ErrorEquals": ["States.ALL"], "IntervalSeconds": seconds, "MaxAttempts": 1}],
            )
        ),
        "timeout": create_state_machine(task(f"{lambda_arn}:stuck", TimeoutSeconds=seconds)),
    }
    sfn = client("stepfunctions")
    for arn in machines.values():
        sfn.start_execution(stateMachineArn=arn, name="run")
    results = {}
    for kind, arn in machines.items():
        (execution_arn,) = wait_for_executions(arn)
        described = sfn.describe_execution(executionArn=execution_arn)
        history = sfn.get_execution_history(executionArn=execution_arn)["events"]
        results[kind] = {
            "status": described["status"],
            "error": described.get("error"),
            "seconds": (described["stopDate"] - described["startDate"]).total_seconds(),
            "attempts": sum(1 for event in history if event["type"] == "LambdaFunctionFailed"),
        }
    return results


def test_needed_time_scale() -> None:
    """If this fails, moto fixed time-scale: delete the workaround (moto scales Wait, Retry
    intervals and timeouts by itself; by design it does not: this is a local-cloud setting)."""
    with timing_cloud(skip={"time-scale"}, time_scale=0.001):
        results = _run_timing_machines(seconds=1)
    assert results["wait"]["status"] == "SUCCEEDED"
    assert results["retry"]["attempts"] == 2
    assert (results["timeout"]["status"], results["timeout"]["error"]) == ("FAILED", "States.Timeout")
    for kind in ("wait", "retry", "timeout"):
        assert results[kind]["seconds"] >= 0.95, (kind, results)


def test_closed_time_scale() -> None:
    with timing_cloud(skip=frozenset(), time_scale=0.001):
        results = _run_timing_machines(seconds=100)  # 0.1 s each
    assert results["wait"]["status"] == "SUCCEEDED"
    assert results["retry"]["attempts"] == 2
    assert (results["timeout"]["status"], results["timeout"]["error"]) == ("FAILED", "States.Timeout")
    for kind in ("wait", "retry", "timeout"):
        assert results[kind]["seconds"] < 5, (kind, results)


def _stop_a_parked_execution(timeout_seconds: int) -> tuple[str, float]:
    """Start an execution that waits on a task token (SQS is the simplest integration that parks
    one), stop it while it waits; its status once it has ended, and how long that took."""
    sfn = client("stepfunctions")
    queue = client("sqs").create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = create_state_machine(
        task(
            "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            {"QueueUrl": queue, "MessageBody": {"token.$": "$$.Task.Token"}},
            TimeoutSeconds=timeout_seconds,
        )
    )
    execution = sfn.start_execution(stateMachineArn=arn, name="parked", input="{}")["executionArn"]
    messages: list[Any] = []
    while not messages:  # the token is parked once the message is on the queue
        messages = client("sqs").receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
    stopped = time.monotonic()
    sfn.stop_execution(executionArn=execution, cause="operator")
    wait_for_executions(arn, timeout=60)
    described = sfn.describe_execution(executionArn=execution)
    return f"{described['status']} {described.get('error', '')}".strip(), time.monotonic() - stopped


def test_needed_stop_execution_aborted() -> None:
    """If this fails, moto fixed stop-execution-aborted: delete the workaround (a stopped
    execution that was waiting on a task token ends at once, ABORTED, not at its task's timeout
    FAILED with States.Timeout)."""
    with local_aws(skip={"stop-execution-aborted"}):
        status, _ = _stop_a_parked_execution(timeout_seconds=3)
    # The stop is ignored: the task's own timeout ends it (how long after the stop depends on how
    # long the queue took to show the token, which a busy machine stretches: not asserted).
    assert status == "FAILED States.Timeout"


def test_closed_stop_execution_aborted() -> None:
    with local_aws():
        status, took = _stop_a_parked_execution(timeout_seconds=300)
    assert status == "ABORTED"
    assert took < 60


def _stop_a_parent_waiting_on_its_child(parent_role: str = ROLE_ARN) -> tuple[str, str]:
    """A parent that runs a child (a 300 s Wait) with startExecution.sync:2, stopped while it
    waits: the parent's status and the child's, a moment after the parent ended."""
    sfn = client("stepfunctions")
    child = create_state_machine(
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 300, "End": True}}}
    )
    parent = create_state_machine(
        task("arn:aws:states:::states:startExecution.sync:2", {"StateMachineArn": child, "Input": {}}),
        parent_role,
    )
    execution = sfn.start_execution(stateMachineArn=parent, name="parent", input="{}")["executionArn"]
    deadline = time.monotonic() + 30
    while not sfn.list_executions(stateMachineArn=child)["executions"]:
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.01)
    sfn.stop_execution(executionArn=execution, cause="operator")
    wait_for_executions(parent, timeout=30)
    [started] = sfn.list_executions(stateMachineArn=child)["executions"]
    with contextlib.suppress(TimeoutError):  # the child ends at once, or not at all
        wait_for_executions(child, timeout=3)
    status = sfn.describe_execution(executionArn=started["executionArn"])["status"]
    if status == "RUNNING":
        sfn.stop_execution(executionArn=started["executionArn"])
    return sfn.describe_execution(executionArn=execution)["status"], status


def test_needed_sync_stops_the_child() -> None:
    """If this fails, moto fixed sync-stops-the-child: delete the workaround (a parent stopped
    while a startExecution.sync Task waits stops its child)."""
    with local_aws(skip={"sync-stops-the-child"}):
        assert _stop_a_parent_waiting_on_its_child() == ("ABORTED", "RUNNING")


def test_closed_sync_stops_the_child() -> None:
    with local_aws():
        assert _stop_a_parent_waiting_on_its_child() == ("ABORTED", "ABORTED")


def test_a_parent_whose_role_may_not_stop_the_child_leaves_it_running_refused() -> None:
    with local_aws():
        role = create_role(
            "no-stop",
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["states:StartExecution", "states:DescribeExecution"],
                        "Resource": "*",
                    }
                ],
            },
        )
        assert _stop_a_parent_waiting_on_its_child(role) == ("ABORTED", "RUNNING")
        refused = [r for r in iam.REFUSALS if r.action == "states:StopExecution"]
    assert refused
    assert "assumed-role/no-stop/" in refused[0].message


PASSES = {  # five Pass states: 12 events (started, 5 x entered/exited, succeeded)
    "StartAt": "P1",
    "States": {
        **{f"P{i}": {"Type": "Pass", "Next": f"P{i + 1}"} for i in range(1, 5)},
        "P5": {"Type": "Pass", "End": True},
    },
}


def _history_pages() -> dict[str, Any]:
    """GetExecutionHistory of a finished 12-event execution: newest first in pages of 5."""
    sfn = client("stepfunctions")
    arn = create_state_machine(PASSES)
    sfn.start_execution(stateMachineArn=arn, name="pages", input="{}")
    (execution,) = wait_for_executions(arn)
    first = sfn.get_execution_history(executionArn=execution, reverseOrder=True, maxResults=5)
    pages = [first]
    while "nextToken" in pages[-1] and len(pages) < 5:
        pages.append(
            sfn.get_execution_history(
                executionArn=execution, reverseOrder=True, maxResults=5, nextToken=pages[-1]["nextToken"]
            )
        )
    return {
        "sizes": [len(page["events"]) for page in pages],
        "ids": [event["id"] for page in pages for event in page["events"]],
    }


def test_needed_history_order_and_pages() -> None:
    """If this fails, moto fixed history-order-and-pages: delete the workaround (reverseOrder and
    maxResults are ignored: every event, oldest first, in one answer)."""
    with local_aws(skip={"history-order-and-pages"}):
        seen = _history_pages()
    assert seen == {"sizes": [12], "ids": list(range(1, 13))}


def test_closed_history_order_and_pages() -> None:
    with local_aws():
        seen = _history_pages()
    assert seen == {"sizes": [5, 5, 2], "ids": list(range(12, 0, -1))}


def _stop_before_the_thread_begins() -> tuple[str, str]:
    """Stop an execution whose thread has not yet set up its environment (held back here, as a
    busy machine holds it back); what StopExecution answered and the execution's status after."""
    from moto.stepfunctions.parser.backend import execution_worker  # noqa: PLC0415

    sfn = client("stepfunctions")
    arn = create_state_machine(
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 300, "End": True}}}
    )
    release = threading.Event()
    original = execution_worker.ExecutionWorker._get_evaluation_environment

    def held_back(self: Any) -> Any:
        release.wait(30)
        return original(self)

    with mock.patch.object(execution_worker.ExecutionWorker, "_get_evaluation_environment", held_back):
        execution = sfn.start_execution(stateMachineArn=arn, name="early", input="{}")["executionArn"]
        threading.Timer(0.3, release.set).start()  # the thread begins while StopExecution waits
        try:
            sfn.stop_execution(executionArn=execution, cause="operator")
            answer = "stopped"
        except Exception as exc:
            answer = type(exc).__name__
        release.set()
        if answer != "stopped":
            status = sfn.describe_execution(executionArn=execution)["status"]
            for _ in range(3000):  # once the thread has begun, a stop works (and ends the 300 s wait)
                with contextlib.suppress(AttributeError):
                    sfn.stop_execution(executionArn=execution, cause="cleanup")
                    break
                time.sleep(0.01)
            return answer, status
        wait_for_executions(arn, timeout=30)
    return answer, sfn.describe_execution(executionArn=execution)["status"]


def test_needed_stop_before_start() -> None:
    """If this fails, moto fixed stop-before-start: delete the workaround (StopExecution before the
    execution's thread has set its environment raises AttributeError: moto answers an error)."""
    with local_aws(skip={"stop-before-start"}):
        assert _stop_before_the_thread_begins() == ("AttributeError", "RUNNING")


def test_closed_stop_before_start() -> None:
    with local_aws():
        assert _stop_before_the_thread_begins() == ("stopped", "ABORTED")


def _fail_a_parked_task() -> dict[str, Any]:
    """A task waiting on a token, failed with SendTaskFailure(error, cause); what its Catch sees."""
    sfn = client("stepfunctions")
    queue = client("sqs").create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    state = task(
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        {"QueueUrl": queue, "MessageBody": {"token.$": "$$.Task.Token"}},
        TimeoutSeconds=30,
        Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
    )
    state["States"]["T"].pop("End")
    state["States"]["T"]["Next"] = "Caught"
    state["States"]["Caught"] = {"Type": "Pass", "End": True}
    arn = create_state_machine(state)
    execution = sfn.start_execution(stateMachineArn=arn, name="failed", input="{}")["executionArn"]
    messages: list[Any] = []
    while not messages:
        messages = client("sqs").receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
    token = json.loads(messages[0]["Body"])["token"]
    sfn.send_task_failure(taskToken=token, error="DeploymentFailed", cause="tasks failed to start")
    wait_for_executions(arn, timeout=30)
    return dict(output_of(sfn.describe_execution(executionArn=execution)))


def test_needed_send_task_failure_cause() -> None:
    """If this fails, moto fixed send-task-failure-cause: delete the workaround (the cause given to
    SendTaskFailure reaches the failed task's error output)."""
    with local_aws(skip={"send-task-failure-cause"}):
        caught = _fail_a_parked_task()
    assert caught["Error"] == "DeploymentFailed"
    assert not caught.get("Cause")


def test_closed_send_task_failure_cause() -> None:
    with local_aws():
        caught = _fail_a_parked_task()
    assert caught == {"Error": "DeploymentFailed", "Cause": "tasks failed to start"}


def _parses_while_creating_twice(definition: dict[str, Any]) -> int:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser  # noqa: PLC0415

    with mock.patch.object(
        AmazonStateLanguageParser, "parse", side_effect=AmazonStateLanguageParser.parse
    ) as parse:
        create_state_machine(definition)
        create_state_machine(definition)
    return parse.call_count


def test_needed_definition_validation() -> None:
    """If this fails, moto fixed definition-validation: delete the workaround (CreateStateMachine
    no longer parses an unchanged definition again just to validate it)."""
    unique = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "needed", "End": True}}}
    with local_aws(skip={"definition-validation"}):
        assert _parses_while_creating_twice(unique) == 2


def test_closed_definition_validation() -> None:
    unique = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "closed", "End": True}}}
    invalid = {"StartAt": "Nowhere", "States": {"P": {"Type": "Wrong", "End": True}}}
    with local_aws():
        assert _parses_while_creating_twice(unique) == 1
        for _ in range(2):  # an invalid definition is rejected every time (never remembered)
            with pytest.raises(client("stepfunctions").exceptions.ClientError, match="ASLParserException"):
                create_state_machine(invalid)


FINAL_EVENTS = {"ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"}


def _described_once_history_ends(definition: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Run ``definition`` while moto's execution thread is held back after the program ends (where
    it sets the execution's status: ``terminated()``, which a busy machine delays as much); wait
    for the history's final event, then DescribeExecution. Its answer and that event's type."""
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication  # noqa: PLC0415

    released = threading.Event()
    terminated = BaseExecutionWorkerCommunication.terminated  # with the gap's patch, if installed

    def terminated_late(self: Any) -> None:
        released.wait(10)
        terminated(self)

    sfn = client("stepfunctions")
    arn = create_state_machine(definition)
    with mock.patch.object(BaseExecutionWorkerCommunication, "terminated", terminated_late):
        try:
            execution = sfn.start_execution(stateMachineArn=arn, name="held", input="{}")["executionArn"]
            events: list[dict[str, Any]] = []
            while not events or events[-1]["type"] not in FINAL_EVENTS:
                events = sfn.get_execution_history(executionArn=execution)["events"]
            described = dict(sfn.describe_execution(executionArn=execution))
        finally:
            released.set()
        wait_for_executions(arn)
    return described, str(events[-1]["type"])


def test_needed_execution_end_visible() -> None:
    """If this fails, moto fixed execution-end-visible: delete the workaround (DescribeExecution no
    longer answers RUNNING once GetExecutionHistory shows the execution's final event)."""
    with local_aws(skip={"execution-end-visible"}):
        described, final = _described_once_history_ends(PASS)
    assert final == "ExecutionSucceeded"
    assert described["status"] == "RUNNING"


def test_closed_execution_end_visible() -> None:
    failing = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Broken", "Cause": "on purpose"}}}
    with local_aws():
        succeeded, succeeded_event = _described_once_history_ends(PASS)
        failed, failed_event = _described_once_history_ends(failing)
    assert (succeeded_event, succeeded["status"], json.loads(succeeded["output"])) == (
        "ExecutionSucceeded",
        "SUCCEEDED",
        {},
    )
    assert (failed_event, failed["status"], failed["error"], failed["cause"]) == (
        "ExecutionFailed",
        "FAILED",
        "Broken",
        "on purpose",
    )


def _timed_out_while_a_task_runs(skip: set[str] | frozenset[str]) -> tuple[str, list[str]]:
    """An execution (TimeoutSeconds 1) whose only task runs until the test ends: its status once it
    is no longer RUNNING, and the types of the history's events then."""
    finished = threading.Event()

    def stuck(payload: Any) -> FunctionResult:
        finished.wait(30)
        return {"done": True}, False, ""

    with local_aws(skip=skip, hooks=FakeHooks(functions={"stuck": stuck})):
        definition = task(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:stuck")
        definition["TimeoutSeconds"] = 1
        sfn = client("stepfunctions")
        arn = create_state_machine(definition)
        try:
            execution = sfn.start_execution(stateMachineArn=arn, name="slow", input="{}")["executionArn"]
            (execution,) = wait_for_executions(arn, timeout=30)
            status = str(sfn.describe_execution(executionArn=execution)["status"])
            types = [str(e["type"]) for e in sfn.get_execution_history(executionArn=execution)["events"]]
        finally:
            finished.set()
    return status, types


def test_needed_execution_end_visible_timed_out() -> None:
    """If this fails, moto fixed execution-end-visible: delete the workaround (a timed-out
    execution's history ends with ExecutionTimedOut as soon as its status is TIMED_OUT)."""
    status, types = _timed_out_while_a_task_runs(skip={"execution-end-visible"})
    assert status == "TIMED_OUT"
    assert not FINAL_EVENTS & set(types), types


def test_closed_execution_end_visible_timed_out() -> None:
    status, types = _timed_out_while_a_task_runs(skip=frozenset())
    assert status == "TIMED_OUT"
    assert types[-1] == "ExecutionTimedOut", types
    assert types.count("ExecutionTimedOut") == 1


# --------------------------------------------------------------------------- AWS-recorded outcomes
# The definitions and the outcomes below are AWS's, as LocalStack's snapshot tests recorded them on
# AWS (tests/aws/services/stepfunctions/v2: assign/test_assign_reference_variables,
# scenarios/test_base_scenarios, intrinsic_functions/test_array_jsonata, test_math_operations_jsonata,
# context_object/test_context_object).

ESCAPED_ASSIGN = {  # test_escape_sequence_parsing[ESCAPE_SEQUENCES_JSONATA_COMPARISON_ASSIGN]: true
    "QueryLanguage": "JSONata",
    "StartAt": "Pass",
    "States": {
        "Pass": {"Type": "Pass", "Assign": {"var": '"'}, "Next": "Check"},
        "Check": {"Type": "Pass", "Output": "{% $var = '\"' %}", "End": True},
    },
}


def test_needed_assign_literal_escapes() -> None:
    """If this fails, moto fixed assign-literal-escapes: delete the workaround (a literal string in
    Assign is the string its JSON text stands for: {"var": "\\""} assigns one double quote)."""
    with local_aws(skip={"assign-literal-escapes"}):
        assert output_of(execute(ESCAPED_ASSIGN)) is False


def test_closed_assign_literal_escapes() -> None:
    jsonpath = {
        "StartAt": "Pass",
        "States": {
            "Pass": {"Type": "Pass", "Assign": {"var": 'say "hi"\n\u00e9'}, "Next": "Read"},
            "Read": {"Type": "Pass", "Parameters": {"var.$": "$var"}, "End": True},
        },
    }
    keyed = jsonata_pass({'a "key"': "{% 1 %}", "nested": ['"', {"\u00e9": '\\"'}]})
    with local_aws():
        assert output_of(execute(ESCAPED_ASSIGN)) is True
        assert output_of(execute(jsonpath)) == {"var": 'say "hi"\n\u00e9'}
        assert output_of(execute(keyed)) == {'a "key"': 1, "nested": ['"', {"\u00e9": '\\"'}]}


def _evaluation_failed(definition: dict[str, Any], execution_input: Any = None) -> dict[str, Any]:
    """The error and cause of a run that fails on an expression (DescribeExecution's, which are the
    ExecutionFailed event's)."""
    sfn = client("stepfunctions")
    arn = create_state_machine(definition)
    sfn.start_execution(stateMachineArn=arn, name="run", input=json.dumps(execution_input or {}))
    (execution_arn,) = wait_for_executions(arn)
    described = sfn.describe_execution(executionArn=execution_arn)
    last = sfn.get_execution_history(executionArn=execution_arn)["events"][-1]
    failed = {"error": described["error"], "cause": described["cause"]}
    assert last["executionFailedEventDetails"] == failed
    return failed


def _undefined_in(state: dict[str, Any], states_before: int = 0) -> dict[str, Any]:
    states: dict[str, Any] = {
        f"State{i}": {"Type": "Pass", "Next": f"State{i + 1}"} for i in range(states_before)
    }
    states[f"State{states_before}"] = {**state, "End": True}
    return {"QueryLanguage": "JSONata", "StartAt": "State0", "States": states}


LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
UNDEFINED = "{% $doesNotExist %}"

# (definition, the field AWS names, the state, the event id it was entered at)
UNDEFINED_ON_AWS = [
    (_undefined_in({"Type": "Pass", "Output": "{% $doesNotExist %}"}), "Output", "State0", 2),
    (_undefined_in({"Type": "Pass", "Output": {"result": UNDEFINED}}), "Output/result", "State0", 2),
    (
        _undefined_in({"Type": "Pass", "Output": {"result": UNDEFINED}}, states_before=2),
        "Output/result",
        "State2",
        6,
    ),
    (_undefined_in({"Type": "Pass", "Assign": {"result": UNDEFINED}}), "Assign/result", "State0", 2),
    (
        _undefined_in({"Type": "Task", "Resource": LAMBDA_INVOKE, "Arguments": "{% $doesNotExist %}"}),
        "Arguments",
        "State0",
        2,
    ),
    (
        _undefined_in(
            {"Type": "Task", "Resource": LAMBDA_INVOKE, "Arguments": {"FunctionName": "{% $doesNotExist %}"}}
        ),
        "Arguments/FunctionName",
        "State0",
        2,
    ),
]


def test_needed_jsonata_field_path() -> None:
    """If this fails, moto fixed jsonata-field-path: delete the workaround (moto's own cause of an
    undefined JSONata result names the field the expression is written in). moto evaluates with an
    evaluator plugged where it expects one, as LocalStack's JVM bridge would be."""
    from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata  # noqa: PLC0415

    plugged = mock.patch.object(
        moto_jsonata, "_eval_jsonata", lambda text: jsonata.Jsonata(text).evaluate(None)
    )
    definition = _undefined_in({"Type": "Pass", "Output": {"result": "{% $doesNotExist %}"}})
    with local_aws(skip={"jsonata", "jsonata-field-path"}), plugged:
        failed = _evaluation_failed(definition)
    assert failed["cause"].endswith("The JSONata expression '$doesNotExist' returned nothing (undefined).")


def test_closed_jsonata_field_path() -> None:
    with local_aws():
        for definition, field, state, entered in UNDEFINED_ON_AWS:
            failed = _evaluation_failed(definition)
            assert failed == {
                "error": "States.QueryEvaluationError",
                "cause": f"An error occurred while executing the state '{state}' (entered at the event id "
                f"#{entered}). The JSONata expression '$doesNotExist' specified for the field '{field}' "
                "returned nothing (undefined).",
            }, field
        # test_math_random_seeded: an expression that fails to evaluate
        seeded = {
            "QueryLanguage": "JSONata",
            "StartAt": "State_0",
            "States": {
                "State_0": {
                    "Type": "Pass",
                    "Output": {"FunctionResult": "{% $randomSeeded($states.input.FunctionInput.fst) %}"},
                    "End": True,
                }
            },
        }
        threw = _evaluation_failed(seeded, {"FunctionInput": "fst"})
    assert threw["cause"] == (
        "An error occurred while executing the state 'State_0' (entered at the event id #2). The JSONata "
        "expression '$randomSeeded($states.input.FunctionInput.fst)' specified for the field "
        "'Output/FunctionResult' threw an error during evaluation. T1006: Attempted to invoke a non-function"
    )


def test_closed_jsonata_field_path_in_arrays_rules_and_catchers() -> None:
    """Beyond the recorded cases, the same naming: "[i]" for an array item, a Choice rule's and a
    catcher's fields under "Choices[i]" and "Catch[i]"."""
    choice = {
        "QueryLanguage": "JSONata",
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [
                    {"Condition": "{% false %}", "Next": "Done"},
                    {"Condition": "{% $doesNotExist %}", "Next": "Done"},
                ],
                "Default": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    caught = {
        "QueryLanguage": "JSONata",
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": LAMBDA_INVOKE,
                "Arguments": {"FunctionName": "{% $doesNotExist %}"},
                "Catch": [
                    {"ErrorEquals": ["States.ALL"], "Output": {"e": "{% $alsoMissing %}"}, "Next": "Done"}
                ],
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    with local_aws():
        in_array = _evaluation_failed(jsonata_pass({"a": [1, {"b": "{% $doesNotExist %}"}]}))["cause"]
        in_rule = _evaluation_failed(choice)["cause"]
        in_catcher = _evaluation_failed(caught)["cause"]
    assert "specified for the field 'Output/a[1]/b' returned nothing" in in_array
    assert "specified for the field 'Choices[1]/Condition' returned nothing" in in_rule
    assert "specified for the field 'Catch[0]/Output/e' returned nothing" in in_catcher


def test_closed_jsonata_range_is_a_sequence() -> None:
    """$range, one of the functions Step Functions adds to JSONata, returns a JSONata sequence: one
    value collapses to that value (test_array_range)."""
    recorded = {(0, 9, 3): [0, 3, 6, 9], (0, 10, 3): [0, 3, 6, 9], (1, 9, 9): 1, (1, 9, 2): [1, 3, 5, 7, 9]}
    definition = jsonata_pass(
        "{% $range($states.input.FunctionInput.fst, $states.input.FunctionInput.snd, "
        "$states.input.FunctionInput.trd) %}"
    )
    with local_aws():
        for (fst, snd, trd), expected in recorded.items():
            outcome = output_of(execute(definition, {"FunctionInput": {"fst": fst, "snd": snd, "trd": trd}}))
            assert outcome == expected, (fst, snd, trd, outcome)
        assert output_of(execute(jsonata_pass("{% $append([], $range(7, 7, 1)) %}"))) == [7]


# test_wait_timestamp_jsonata: each fails with States.QueryEvaluationError on AWS
INVALID_TIMESTAMPS = [
    "2016-12-05 21:29:29Z",
    "2016-12-05T21:29:29",
    "2016-13-05T21:29:29Z",
    "2016-12-05T25:29:29Z",
    "05-12-2016T21:29:29Z",
]
WAIT_TIMESTAMP_JSONATA = {
    "QueryLanguage": "JSONata",
    "StartAt": "WaitState",
    "States": {"WaitState": {"Type": "Wait", "Timestamp": "{% $states.input.TimestampValue %}", "End": True}},
}


def test_needed_jsonata_wait_timestamp() -> None:
    """If this fails, moto fixed jsonata-wait-timestamp: delete the workaround (an invalid JSONata
    Wait Timestamp fails with States.QueryEvaluationError, not States.Runtime)."""
    with local_aws(skip={"jsonata-wait-timestamp"}):
        described = execute(WAIT_TIMESTAMP_JSONATA, {"TimestampValue": INVALID_TIMESTAMPS[0]})
    assert (described["status"], described["error"]) == ("FAILED", "States.Runtime")


def test_closed_jsonata_wait_timestamp() -> None:
    with local_aws():
        for value in INVALID_TIMESTAMPS:
            failed = _evaluation_failed(WAIT_TIMESTAMP_JSONATA, {"TimestampValue": value})
            assert failed == {
                "error": "States.QueryEvaluationError",
                "cause": "An error occurred while executing the state 'WaitState' (entered at the event id "
                "#2). The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format "
                f"string: {value}",
            }
        not_a_string = execute(WAIT_TIMESTAMP_JSONATA, {"TimestampValue": 42})
    assert not_a_string["error"] == "States.QueryEvaluationError"


CONTEXT_EXECUTION = {
    "StartAt": "Read",
    "States": {
        "Read": {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Output": "{% $states.context.Execution %}",
            "Next": "ReadPath",
        },
        "ReadPath": {  # $$.Execution whole holds moto's datetime StartTime, which no output can carry
            "Type": "Pass",
            "Parameters": {"jsonata.$": "$", "redriveCount.$": "$$.Execution.RedriveCount"},
            "End": True,
        },
    },
}


def test_needed_context_redrive_count() -> None:
    """If this fails, moto fixed context-redrive-count: delete the workaround (the context object's
    Execution has RedriveCount)."""
    with local_aws(skip={"context-redrive-count"}):
        seen = output_of(execute(jsonata_pass("{% $states.context.Execution %}")))
    assert set(seen) == {"Id", "Input", "StartTime", "Name", "RoleArn"}


def test_closed_context_redrive_count() -> None:
    with local_aws():
        seen = output_of(execute(CONTEXT_EXECUTION, {"input-value": 0}))
    assert set(seen["jsonata"]) == {"Id", "Input", "StartTime", "Name", "RoleArn", "RedriveCount"}
    assert (seen["jsonata"]["RedriveCount"], seen["redriveCount"]) == (0, 0)
    assert seen["jsonata"]["Input"] == {"input-value": 0}
