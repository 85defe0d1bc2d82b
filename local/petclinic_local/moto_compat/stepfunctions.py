"""Step Functions: moto's ASL interpreter (moto.stepfunctions.parser) with a JSONata evaluator,
generated execution names, and a time scale for waits, retries and timeouts; and where moto's
answers differ from AWS's recorded ones: the field a failed JSONata expression is in, escapes in
Assign's literal strings, invalid JSONata Wait timestamps, the context's RedriveCount, and an
execution's end (status and final history event) seen at once, a stop that comes before the
execution's thread has begun, and GetExecutionHistory's order and pages.

moto 5.2.5 ports LocalStack's interpreter without its JVM JSONata bridge; the evaluator plugged
in here is ``petclinic_local.jsonata`` (jsonata-python), with values bound rather than printed
into the expression text.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, cast
from unittest import mock

from petclinic_local.jsonata import JsonataUndefined, evaluate_jsonata, evaluate_text
from petclinic_local.moto_compat.gap import Gap, Hooks, Patches
from petclinic_local.moto_compat.timestamps import jsonable

# --------------------------------------------------------------------------- JSONata


def _string_jsonata_eval_body(self: Any, env: Any) -> None:
    """Replacement of moto's StringJSONata._eval_body (which composes text for a JVM bridge)."""
    from moto.stepfunctions.parser.api import EvaluationFailedEventDetails, HistoryEventType  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (  # noqa: PLC0415
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (  # noqa: PLC0415
        StatesErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (  # noqa: PLC0415
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails  # noqa: PLC0415

    store = env.variable_store
    bindings = {**store._outer_scope, **store._inner_scope}
    # The context object holds datetimes where AWS has ISO 8601 strings (Execution.StartTime...).
    bindings["states"] = jsonable(env.states._states_data)
    field = field_of(env)  # None without the jsonata-field-path gap
    expression = f"The JSONata expression '{self.expression}'" + (
        f" specified for the field '{field}'" if field else ""
    )
    try:
        result = evaluate_jsonata(self.expression, bindings)
    except JsonataUndefined:
        cause = f"{expression} returned nothing (undefined)."
    except Exception as exc:
        cause = f"{expression} threw an error during evaluation. {_jsonata_error(exc)}"
    else:
        env.stack.append(result)
        return
    error_name = StatesErrorName(typ=StatesErrorNameType.StatesQueryEvaluationError)
    details = EvaluationFailedEventDetails(cause=cause, error=error_name.error_name)
    raise FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=error_name,
            event_type=HistoryEventType.EvaluationFailed,
            event_details=EventDetails(evaluationFailedEventDetails=details),
        )
    )


def _jsonata_error(exc: Exception) -> str:
    """AWS's "T1006: Attempted to invoke a non-function": the JSONata error code, then its message."""
    code = getattr(exc, "error", None)
    return f"{code}: {exc}" if isinstance(code, str) and code else str(exc) or type(exc).__name__


def _string_variable_sample_eval_body(self: Any, env: Any) -> None:
    """Replacement of StringVariableSample._eval_body: a JSONPath state reading $variable (and a
    JSONata one, with $states) through the bound evaluator, not text composition."""
    from moto.stepfunctions.parser.asl.component.common.query_language import QueryLanguageMode  # noqa: PLC0415

    store = env.variable_store
    bindings = {**store._outer_scope, **store._inner_scope}
    if self.query_language_mode == QueryLanguageMode.JSONata:
        bindings["states"] = jsonable(env.states._states_data)
    try:
        env.stack.append(evaluate_jsonata(self.expression, bindings))
    except JsonataUndefined:
        env.stack.append(None)


def _jsonata(_: Hooks) -> Patches:
    from moto.stepfunctions.parser.asl.component.common.string import string_expression  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata  # noqa: PLC0415

    yield mock.patch.object(string_expression.StringJSONata, "_eval_body", _string_jsonata_eval_body)
    yield mock.patch.object(
        string_expression.StringVariableSample, "_eval_body", _string_variable_sample_eval_body
    )
    # Text-composed expressions (JSONPath states sampling variables) still go through here.
    yield mock.patch.object(moto_jsonata, "_eval_jsonata", evaluate_text)


# The field an expression is written in, as AWS names it in the cause of a failure:
# relative to the state, "/" before each object key, "[i]" for each array index ("Output",
# "Output/result", "Arguments/FunctionName", "Assign/x", "Output/a[0]", "Choices[1]/Condition",
# "Catch[0]/Output"). Kept on the environment (one per state machine frame) while the field's
# components evaluate.
_FIELD_PATH = "_petclinic_field_path"
HISTORY_PAGE = 100  # GetExecutionHistory's default maxResults on AWS
STOP_WAITS_FOR_START_SECONDS = 60.0  # how long StopExecution waits for an execution's thread to begin


def field_of(env: Any) -> str | None:
    """The field being evaluated in ``env`` ("Output/result"), or None outside any known field."""
    path: list[str | int] | None = getattr(env, _FIELD_PATH, None)
    if not path:
        return None
    parts = [f"[{part}]" if isinstance(part, int) else part for part in path]
    return parts[0] + "".join(part if part.startswith("[") else f"/{part}" for part in parts[1:])


def _path(env: Any) -> list[str | int]:
    path: list[str | int] | None = getattr(env, _FIELD_PATH, None)
    if path is None:
        path = []
        setattr(env, _FIELD_PATH, path)
    return path


def _in_field(
    eval_body: Callable[[Any, Any], None], part: Callable[[Any], str | int]
) -> Callable[[Any, Any], None]:
    def eval_body_in_field(self: Any, env: Any) -> None:
        path = _path(env)
        path.append(part(self))
        try:
            eval_body(self, env)
        finally:
            path.pop()

    return eval_body_in_field


def _indexed_values(self: Any, env: Any) -> None:
    """A template array's _eval_body (moto's, with each item's index in the field path)."""
    path = _path(env)
    values = []
    for index, value in enumerate(self.values):
        path.append(index)
        try:
            value.eval(env)
        finally:
            path.pop()
        values.append(env.stack.pop())
    env.stack.append(values)


def _constant(name: str) -> Callable[[Any], str]:
    return lambda _: name


def _identifier(binding: Any) -> str:
    return str(binding.identifier)


def _numbered_field(default: str) -> Callable[[Any], str]:
    return lambda item: str(getattr(item, "_petclinic_field", default))


def _numbered(init: Callable[..., None], items: str, name: str) -> Callable[..., None]:
    """An __init__ that also names each of its rules or catchers ("Choices[1]", "Catch[0]")."""

    def numbering_init(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        for index, item in enumerate(getattr(self, items)):
            item._petclinic_field = f"{name}[{index}]"

    return numbering_init


def _jsonata_field_path(_: Hooks) -> Patches:
    from moto.stepfunctions.parser.asl.component.common import outputdecl, parargs  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.common.assign import (  # noqa: PLC0415
        assign_decl,
        assign_template_binding,
        assign_template_value_array,
    )
    from moto.stepfunctions.parser.asl.component.common.catch import catch_decl, catcher_decl  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.common.jsonata import (  # noqa: PLC0415
        jsonata_template_binding,
        jsonata_template_value_array,
    )
    from moto.stepfunctions.parser.asl.component.common.timeouts import heartbeat, timeout  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.state.choice import choice_rule, choices_decl  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.state.choice.comparison import comparison  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.state.exec.state_map import max_concurrency  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.items import items  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.state.fail import cause_decl, error_decl  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import seconds, timestamp  # noqa: PLC0415

    fields: dict[Any, str] = {
        outputdecl.Output: "Output",
        parargs.ArgumentsJSONataTemplateValueObject: "Arguments",
        parargs.ArgumentsStringJSONata: "Arguments",
        assign_decl.AssignDecl: "Assign",
        items.ItemsJSONata: "Items",
        seconds.SecondsJSONata: "Seconds",
        timestamp.Timestamp: "Timestamp",
        timeout.TimeoutSecondsJSONata: "TimeoutSeconds",
        heartbeat.HeartbeatSecondsJSONata: "HeartbeatSeconds",
        max_concurrency.MaxConcurrencyJSONata: "MaxConcurrency",
        comparison.ConditionStringJSONata: "Condition",
        error_decl.Error: "Error",
        cause_decl.Cause: "Cause",
    }
    for cls, name in fields.items():
        yield mock.patch.object(cls, "_eval_body", _in_field(cls._eval_body, _constant(name)))
    for cls in (
        jsonata_template_binding.JSONataTemplateBinding,
        assign_template_binding.AssignTemplateBinding,
    ):
        yield mock.patch.object(cls, "_eval_body", _in_field(cls._eval_body, _identifier))
    for array in (
        jsonata_template_value_array.JSONataTemplateValueArray,
        assign_template_value_array.AssignTemplateValueArray,
    ):
        yield mock.patch.object(array, "_eval_body", _indexed_values)
    # A Choice rule's and a catcher's Condition, Assign and Output are named under it.
    for decl, listed, name, cls in (
        (choices_decl.ChoicesDecl, "rules", "Choices", choice_rule.ChoiceRule),
        (catch_decl.CatchDecl, "catchers", "Catch", catcher_decl.CatcherDecl),
    ):
        yield mock.patch.object(decl, "__init__", _numbered(decl.__init__, listed, name))
        yield mock.patch.object(cls, "_eval_body", _in_field(cls._eval_body, _numbered_field(name)))


def _assign_literal_escapes(_: Hooks) -> Patches:
    from moto.stepfunctions.parser.asl.component.common.assign.assign_template_value_terminal import (  # noqa: PLC0415
        AssignTemplateValueTerminalLit,
    )
    from moto.stepfunctions.parser.asl.component.common.jsonata.jsonata_template_binding import (  # noqa: PLC0415
        JSONataTemplateBinding,
    )
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor  # noqa: PLC0415

    def unescaped_literal(visit: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def visit_literal(self: Any, ctx: Any) -> Any:
            visited = visit(self, ctx)
            if isinstance(visited, AssignTemplateValueTerminalLit) and isinstance(visited.value, str):
                return AssignTemplateValueTerminalLit(value=_json_unescaped(visited.value))
            return visited

        return visit_literal

    def visit_jsonata_template_binding(self: Any, ctx: Any) -> Any:
        visited = original_binding(self, ctx)
        return JSONataTemplateBinding(identifier=_json_unescaped(visited.identifier), value=visited.value)

    original_binding = Preprocessor.visitJsonata_template_binding
    for visitor in (
        "visitAssign_template_value_terminal_string_literal",
        # A "{% ... %}" string in a JSONPath state's Assign is a literal too.
        "visitAssign_template_value_terminal_string_jsonata",
    ):
        yield mock.patch.object(Preprocessor, visitor, unescaped_literal(getattr(Preprocessor, visitor)))
    yield mock.patch.object(Preprocessor, "visitJsonata_template_binding", visit_jsonata_template_binding)


def _json_unescaped(text: str) -> str:
    """The string a JSON string token's inner text stands for (``\\"`` is ``"``, ``\\u00e9`` is é)."""
    try:
        value = json.loads(f'"{text}"')
    except ValueError:
        return text
    return value if isinstance(value, str) else text


def _jsonata_wait_timestamp(_: Hooks) -> Patches:
    from moto.stepfunctions.parser.api import EvaluationFailedEventDetails, HistoryEventType  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (  # noqa: PLC0415
        StatesErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (  # noqa: PLC0415
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.common.string.string_expression import StringJSONata  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import Timestamp  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails  # noqa: PLC0415

    original_event = Timestamp._create_failure_event
    original_parse = Timestamp._from_timestamp_string

    def create_failure_event(self: Any, env: Any, timestamp_str: Any) -> Any:
        if not isinstance(self.string, StringJSONata):
            return original_event(self, env, timestamp_str)
        error_name = StatesErrorName(typ=StatesErrorNameType.StatesQueryEvaluationError)
        cause = (
            "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format "
            f"string: {timestamp_str}"
        )
        return FailureEvent(
            env=env,
            error_name=error_name,
            event_type=HistoryEventType.EvaluationFailed,
            event_details=EventDetails(
                evaluationFailedEventDetails=EvaluationFailedEventDetails(
                    cause=cause, error=error_name.error_name
                )
            ),
        )

    def from_timestamp_string(timestamp: Any) -> Any:
        return original_parse(timestamp) if isinstance(timestamp, str) else None

    yield mock.patch.object(Timestamp, "_create_failure_event", create_failure_event)
    yield mock.patch.object(Timestamp, "_from_timestamp_string", staticmethod(from_timestamp_string))


def _context_redrive_count(_: Hooks) -> Patches:
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker  # noqa: PLC0415

    original = ExecutionWorker._get_evaluation_environment

    def get_evaluation_environment(self: Any) -> Any:
        env = original(self)
        # moto has no RedriveExecution: every execution is on its first drive.
        env.states.context_object.context_object_data["Execution"].setdefault("RedriveCount", 0)
        return env

    yield mock.patch.object(ExecutionWorker, "_get_evaluation_environment", get_evaluation_environment)


# --------------------------------------------------------------------------- the API


def _start_execution_name(_: Hooks) -> Patches:
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend  # noqa: PLC0415

    original = StepFunctionsParserBackend.start_execution

    def start_execution(
        self: Any, state_machine_arn: str, name: str | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        return original(self, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)

    yield mock.patch.object(StepFunctionsParserBackend, "start_execution", start_execution)


# --------------------------------------------------------------------------- an execution's end

# Held while an execution's end is recorded (its status, then its final history event) and while
# DescribeExecution, ListExecutions and GetExecutionHistory read: they see both or neither.
_END = threading.RLock()

_FINAL_EVENTS = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"})


class _Ending:
    """One execution's end, recorded once: the status (moto's worker communication), then the
    final history event; nothing is recorded after it."""

    def __init__(self, communication: Any, env: Any, terminated: Callable[[Any], None]) -> None:
        self.communication = communication
        self.env = env
        self._terminated = terminated
        self.reflected = False
        self.final_event_id: int | None = None

    def reflect(self) -> None:
        if not self.reflected:
            self.reflected = True
            self._terminated(self.communication)


def _execution_end_visible(_: Hooks) -> Patches:
    from moto.stepfunctions.parser.api import ExecutionTimedOutEventDetails, HistoryEventType  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramTimedOut  # noqa: PLC0415
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication  # noqa: PLC0415
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker  # noqa: PLC0415
    from moto.stepfunctions.responses import StepFunctionResponse  # noqa: PLC0415

    original_environment = ExecutionWorker._get_evaluation_environment
    original_add_event = EventManager.add_event
    original_terminated = BaseExecutionWorkerCommunication.terminated

    def get_evaluation_environment(self: Any) -> Any:
        env = original_environment(self)
        ending = _Ending(self._execution_communication, env, original_terminated)
        env.event_manager._petclinic_ending = ending
        self._execution_communication._petclinic_ending = ending
        return env

    def add_event(self: Any, *args: Any, **kwargs: Any) -> int:
        ending: _Ending | None = getattr(self, "_petclinic_ending", None)
        if ending is None:
            return original_add_event(self, *args, **kwargs)  # type: ignore[no-any-return]
        event_type = kwargs["event_type"] if "event_type" in kwargs else args[1]
        with _END:
            if ending.final_event_id is not None:  # ended (timed out while a state still ran)
                return ending.final_event_id
            if str(getattr(event_type, "value", event_type)) in _FINAL_EVENTS:
                ending.reflect()  # the status first: whoever sees the final event sees it
                ending.final_event_id = original_add_event(self, *args, **kwargs)
                return ending.final_event_id
            return original_add_event(self, *args, **kwargs)  # type: ignore[no-any-return]

    def terminated(self: Any) -> None:
        ending: _Ending | None = getattr(self, "_petclinic_ending", None)
        if ending is None:
            original_terminated(self)
            return
        with _END:
            ending.reflect()
            env = ending.env
            if ending.final_event_id is None and isinstance(env.program_state(), ProgramTimedOut):
                # The execution timed out while a state still runs on moto's worker thread, which
                # would record ExecutionTimedOut only once that state returns.
                ending.final_event_id = original_add_event(
                    env.event_manager,
                    context=env.event_history_context,
                    event_type=HistoryEventType.ExecutionTimedOut,
                    event_details=EventDetails(executionTimedOutEventDetails=ExecutionTimedOutEventDetails()),
                )

    yield mock.patch.object(ExecutionWorker, "_get_evaluation_environment", get_evaluation_environment)
    yield mock.patch.object(EventManager, "add_event", add_event)
    yield mock.patch.object(BaseExecutionWorkerCommunication, "terminated", terminated)
    for reader in ("describe_execution", "list_executions", "get_execution_history"):
        yield mock.patch.object(
            StepFunctionResponse, reader, _holding_end(getattr(StepFunctionResponse, reader))
        )


def _holding_end(read: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def holding(self: Any) -> Any:
        with _END:
            return read(self)

    return holding


# --------------------------------------------------------------------------- time


def _time_scale(hooks: Hooks) -> Patches:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.common.timeouts import heartbeat, timeout  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function  # noqa: PLC0415

    original_wait = wait_function.WaitFunction._wait_interval

    def wait_interval(self: Any, env: Any, wait_seconds: float) -> None:
        original_wait(self, env, wait_seconds * hooks.time_scale)

    class _ScaledTime:
        def __getattr__(self, name: str) -> Any:
            return getattr(time, name)

        @staticmethod
        def sleep(seconds: float) -> None:
            time.sleep(seconds * hooks.time_scale)

    yield mock.patch.object(wait_function.WaitFunction, "_wait_interval", wait_interval)
    yield mock.patch.object(retrier_decl, "time", _ScaledTime())
    for module, base in ((timeout, timeout.Timeout), (heartbeat, heartbeat.Heartbeat)):
        for cls in [
            c for c in vars(module).values() if isinstance(c, type) and issubclass(c, base) and c is not base
        ]:
            yield mock.patch.object(cls, "_eval_body", _scaled_eval(cast(Any, cls)._eval_body, hooks))


def _scaled_eval(original: Callable[[Any, Any], None], hooks: Hooks) -> Callable[[Any, Any], None]:
    def eval_body(self: Any, env: Any) -> None:
        original(self, env)
        env.stack.append(env.stack.pop() * hooks.time_scale)

    return eval_body


def _stopped_stays_aborted(_: Hooks) -> Patches:
    from moto.stepfunctions.parser.asl.eval import environment  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped  # noqa: PLC0415

    original = environment.Environment.set_error
    original_stop = environment.Environment.set_stop

    def set_stop(self: Any, stop_date: Any, cause: str | None, error: str | None) -> None:
        original_stop(self, stop_date, cause, error)
        # Wake the tasks waiting on a token now, as AWS ends a stopped execution at once.
        pool = getattr(self, "callback_pool_manager", None)
        for endpoint in list(getattr(pool, "_pool", {}).values()):
            endpoint.interrupt_all()

    def set_error(self: Any, error: Any) -> None:
        # A stopped execution is ABORTED on AWS, whatever its interrupted state reports afterwards
        # (a parked waitForTaskToken task ends with States.Timeout once its frame is gone).
        if isinstance(self._program_state, ProgramStopped):
            return
        original(self, error)

    yield mock.patch.object(environment.Environment, "set_error", set_error)
    yield mock.patch.object(environment.Environment, "set_stop", set_stop)


_CHILD = "_petclinic_child"  # on a startExecution .sync resolver: (its client, the child's ARN)


def _sync_stops_the_child(_: Hooks) -> Patches:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: PLC0415
        state_task_service_callback as callback,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: PLC0415
        state_task_service_sfn as sfn,
    )

    def remembering(build: Callable[..., Any]) -> Callable[..., Any]:
        def build_resolver(
            self: Any,
            env: Any,
            resource_runtime_part: Any,
            normalised_parameters: Any,
            state_credentials: Any,
        ) -> Any:
            child = env.stack[-1]["ExecutionArn"]  # the StartExecution answer the builder pops
            resolver = build(self, env, resource_runtime_part, normalised_parameters, state_credentials)
            # The module's boto_client_for at call time: a session of the state machine's role.
            client = sfn.boto_client_for(
                region=resource_runtime_part.region,
                service="stepfunctions",
                state_credentials=state_credentials,
            )
            setattr(resolver, _CHILD, (client, child))
            return resolver

        return build_resolver

    original_sync = callback.StateTaskServiceCallback._eval_sync

    def eval_sync(self: Any, env: Any, sync_resolver: Any, **rest: Any) -> Any:
        outcome = original_sync(self, env=env, sync_resolver=sync_resolver, **rest)
        child = getattr(sync_resolver, _CHILD, None)
        if child is not None and not isinstance(outcome, dict):
            # The task ended before the child did (its execution stopped, or the task timed out:
            # a callback outcome, not the child's DescribeExecution): Step Functions stops the
            # child, as the parent's role (states:StopExecution on the child's ARN); refused, the
            # child runs on (the refusal is AWS's, recorded; the parent cannot report it).
            from botocore.exceptions import ClientError  # noqa: PLC0415

            client, arn = child
            with contextlib.suppress(ClientError):
                client.stop_execution(executionArn=arn, cause="the parent execution stopped")
        return outcome

    for name in ("_build_sync_resolver", "_build_sync2_resolver"):
        yield mock.patch.object(
            sfn.StateTaskServiceSfn, name, remembering(getattr(sfn.StateTaskServiceSfn, name))
        )
    yield mock.patch.object(callback.StateTaskServiceCallback, "_eval_sync", eval_sync)


def _stop_before_start(_: Hooks) -> Patches:
    from moto.stepfunctions.parser.backend import execution_worker  # noqa: PLC0415

    original = execution_worker.ExecutionWorker.stop

    def stop(self: Any, stop_date: Any, error: str | None, cause: str | None) -> None:
        # The worker's thread parses the definition, then sets ``env``: a stop that comes first
        # waits for it (AWS stops an execution whatever it is doing). The thread is started, so
        # env comes; the deadline only keeps a broken worker from holding the caller forever.
        deadline = time.monotonic() + STOP_WAITS_FOR_START_SECONDS
        while getattr(self, "env", None) is None and time.monotonic() < deadline:
            time.sleep(0.005)
        original(self, stop_date=stop_date, error=error, cause=cause)

    yield mock.patch.object(execution_worker.ExecutionWorker, "stop", stop)


def _history_order_and_pages(_: Hooks) -> Patches:
    from moto.core.responses import ActionResult  # noqa: PLC0415
    from moto.stepfunctions.responses import StepFunctionResponse  # noqa: PLC0415

    def get_execution_history(self: Any) -> Any:
        # moto answers every event, oldest first, whatever reverseOrder, maxResults and nextToken
        # say; AWS pages (maxResults, default 100, at most 1,000) in the order asked.
        reverse = bool(self._get_param("reverseOrder"))
        size = int(self._get_param("maxResults") or HISTORY_PAGE) or HISTORY_PAGE
        token = self._get_param("nextToken")
        start = int(token) if token and str(token).isdigit() else 0
        with _END:
            history = self.stepfunction_backend.get_execution_history(self._get_param("executionArn"))
        events = list(reversed(history["events"])) if reverse else list(history["events"])
        page: dict[str, Any] = {"events": events[start : start + size]}
        if start + size < len(events):
            page["nextToken"] = str(start + size)
        return ActionResult(page)

    yield mock.patch.object(StepFunctionResponse, "get_execution_history", get_execution_history)


def _send_task_failure_cause(_: Hooks) -> Patches:
    from moto.core.responses import EmptyResult  # noqa: PLC0415
    from moto.stepfunctions.responses import StepFunctionResponse  # noqa: PLC0415

    original = StepFunctionResponse.send_task_failure

    def send_task_failure(self: Any) -> Any:
        # moto's response handler reads the token and the error and drops the cause.
        if self._get_param("cause") is None:
            return original(self)
        self.stepfunction_backend.send_task_failure(
            self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
        )
        return EmptyResult()

    yield mock.patch.object(StepFunctionResponse, "send_task_failure", send_task_failure)


_VALIDATED: set[str] = set()


def _definition_validation(_: Hooks) -> Patches:
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend  # noqa: PLC0415

    original = StepFunctionsParserBackend._validate_definition

    def validate_definition(definition: str) -> None:
        if definition in _VALIDATED:  # parsed before in this process: the same text is as valid
            return
        original(definition)
        _VALIDATED.add(definition)

    yield mock.patch.object(
        StepFunctionsParserBackend, "_validate_definition", staticmethod(validate_definition)
    )


GAPS = (
    Gap(
        "history-order-and-pages",
        "GetExecutionHistory ignores reverseOrder, maxResults and nextToken: every event, oldest first "
        "(a reader of the newest events, as `status` reads a lease holder's wait, gets the oldest)",
        "moto/stepfunctions/responses.py StepFunctionResponse.get_execution_history (reads the ARN only)",
        ("stepfunctions",),
        _history_order_and_pages,
    ),
    Gap(
        "stop-before-start",
        "StopExecution just after StartExecution fails with AttributeError (\"'NoneType' object has no "
        "attribute 'set_stop'\"): the execution's thread has not yet set its environment, and the "
        "execution goes on running",
        "moto/stepfunctions/parser/backend/execution_worker.py ExecutionWorker.stop (self.env is set "
        "by _execution_logic on the worker's thread)",
        ("stepfunctions",),
        _stop_before_start,
    ),
    Gap(
        "definition-validation",
        "CreateStateMachine parses the whole definition with the ANTLR grammar only to validate it "
        "(the provision workflow: most of a second), again for every local cloud in a process",
        "moto/stepfunctions/parser/models.py StepFunctionsParserBackend._validate_definition",
        ("stepfunctions",),
        _definition_validation,
    ),
    Gap(
        "execution-end-visible",
        "an execution's status is set after its final history event is appended, on another thread: "
        "DescribeExecution answered RUNNING just after GetExecutionHistory showed ExecutionSucceeded "
        "(and FAILED before its error and cause were set); a timed-out execution recorded "
        "ExecutionTimedOut only when its running state returned",
        "moto/stepfunctions/parser/backend/execution_worker.py ExecutionWorker._execution_logic "
        "(program.eval, then terminated())",
        ("stepfunctions",),
        _execution_end_visible,
    ),
    Gap(
        "jsonata",
        'moto has no JSONata evaluator ("QueryLanguage": "JSONata" and Assign fail): _eval_jsonata is None '
        "(LocalStack plugs a JVM bridge there); it also prints string variables into expressions unescaped, "
        "and its context object holds datetimes where AWS has ISO 8601 strings",
        "moto/stepfunctions/parser/asl/jsonata/jsonata.py (no upstream issue yet)",
        ("stepfunctions",),
        _jsonata,
    ),
    Gap(
        "jsonata-field-path",
        "the cause of a failed JSONata expression names no field (\"The JSONata expression '$x' returned "
        "nothing (undefined).\" where AWS says \"... specified for the field 'Output/result' returned "
        'nothing ..."), and its EvaluationFailed event has no location or state: moto does not track '
        "which field an expression is in",
        "moto/stepfunctions/parser/asl/jsonata/validations.py _validate_null_output "
        '("TODO: Add snapshot test to investigate behaviour for field string")',
        ("stepfunctions",),
        _jsonata_field_path,
    ),
    Gap(
        "assign-literal-escapes",
        'a literal string in Assign keeps its JSON escapes ({"var": "\\""} assigns the two '
        'characters \\" where AWS assigns "), as does a key of an Output or Arguments template',
        "moto/stepfunctions/parser/asl/parse/preprocessor.py _inner_string_of "
        "(visitAssign_template_value_terminal_string_literal, visitJsonata_template_binding)",
        ("stepfunctions",),
        _assign_literal_escapes,
    ),
    Gap(
        "jsonata-wait-timestamp",
        "a JSONata Wait Timestamp that is not an ISO 8601 date-time fails with States.Runtime (or a "
        'TypeError when not a string) where AWS fails it with States.QueryEvaluationError, "The Timestamp '
        'field cannot be parsed as an ISO-8601 extended offset date-time format string: ..."',
        "moto/stepfunctions/parser/asl/component/state/wait/wait_function/timestamp.py "
        "Timestamp._create_failure_event",
        ("stepfunctions",),
        _jsonata_wait_timestamp,
    ),
    Gap(
        "context-redrive-count",
        "the context object's Execution has no RedriveCount (AWS: 0 until the execution is redriven)",
        "moto/stepfunctions/parser/backend/execution_worker.py ExecutionWorker._get_evaluation_environment",
        ("stepfunctions",),
        _context_redrive_count,
    ),
    Gap(
        "start-execution-name",
        "StartExecution without a name gets '.../None' as its ARN; the second one fails",
        "moto/stepfunctions/parser/models.py start_execution",
        ("stepfunctions",),
        _start_execution_name,
    ),
    Gap(
        "stop-execution-aborted",
        "StopExecution of an execution waiting on a task token leaves it running until the task's timeout, "
        "then ends it FAILED with States.Timeout instead of ABORTED at once: nothing wakes the waiting "
        "task, and Environment.set_error overrides the stopped program state",
        "moto/stepfunctions/parser/asl/eval/environment.py Environment.set_error",
        ("stepfunctions",),
        _stopped_stays_aborted,
    ),
    Gap(
        "sync-stops-the-child",
        "an execution stopped while a startExecution.sync Task waits leaves the child execution running "
        "(AWS stops it, with the parent's role: the .sync integration's states:StopExecution)",
        "moto/stepfunctions/parser/asl/component/state/exec/state_task/service/"
        "state_task_service_callback.py StateTaskServiceCallback._eval_sync",
        ("stepfunctions",),
        _sync_stops_the_child,
    ),
    Gap(
        "send-task-failure-cause",
        "SendTaskFailure drops its cause: the failed task's error output has the Error but no Cause",
        "moto/stepfunctions/responses.py StepFunctionResponse.send_task_failure",
        ("stepfunctions",),
        _send_task_failure_cause,
    ),
    Gap(
        "time-scale",
        "Wait states, Retry intervals and task timeouts really sleep; scale them down locally",
        "by design (a local-cloud setting, not a moto bug)",
        ("stepfunctions",),
        _time_scale,
    ),
)
