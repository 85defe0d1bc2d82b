"""Faults injected into workflow states, for the fault-injection tests and the demo.

Not a moto workaround: a test instrument. ``StateFaults`` makes a named state of a named state
machine fail with a given error (every attempt, so its Retry runs out and its Catch, if any,
decides), or stops the execution as it enters the state (an execution that dies there: stopped,
timed out, or lost to a service error). The real ASL runs unchanged; only the state's call is
replaced by the failure.

    faults.fail("petclinic-ops-dev-deploy", "InspectRollout", error="Ecs.ServerException")
    faults.stop_on_entry("petclinic-ops-dev-deploy", "RecordResult")
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock


@dataclass
class Fault:
    state_machine: str
    state: str
    action: str  # "fail" or "stop"
    error: str = "Injected.ServiceUnavailable"
    cause: str = "injected fault: the service call failed"
    remaining: int | None = None  # None: every time
    fired: int = 0


@dataclass
class StateFaults:
    faults: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(
        self,
        state_machine: str,
        state: str,
        *,
        error: str = "Injected.ServiceUnavailable",
        cause: str = "injected fault: the service call failed",
        times: int | None = None,
    ) -> Fault:
        """``state`` fails with ``error`` (every attempt, or the next ``times`` attempts)."""
        fault = Fault(state_machine, state, "fail", error, cause, times)
        with self._lock:
            self.faults.append(fault)
        return fault

    def stop_on_entry(self, state_machine: str, state: str, *, times: int = 1) -> Fault:
        """The execution is stopped (ABORTED) as it enters ``state``, before the state's call."""
        fault = Fault(state_machine, state, "stop", remaining=times)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def _take(self, state_machine: str, state: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if (fault.state_machine, fault.state) != (state_machine, state):
                    continue
                if fault.remaining is not None:
                    if fault.remaining <= 0:
                        continue
                    fault.remaining -= 1
                fault.fired += 1
                return fault
        return None

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        from moto.stepfunctions.parser.asl.component.state.exec.execute_state import (  # noqa: PLC0415
            ExecutionState,
        )

        original = ExecutionState._evaluate_with_timeout

        def evaluate(state: Any, env: Any) -> None:
            context = env.states.context_object.context_object_data
            fault = self._take(context["StateMachine"]["Name"], state.name)
            if fault is None:
                original(state, env)
            elif fault.action == "stop":
                env.set_stop(stop_date=dt.datetime.now(dt.UTC), cause=fault.cause, error=None)
            else:
                raise _failure(env, fault)

        with mock.patch.object(ExecutionState, "_evaluate_with_timeout", evaluate):
            yield


def _failure(env: Any, fault: Fault) -> Exception:
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (  # noqa: PLC0415
        CustomErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (  # noqa: PLC0415
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails  # noqa: PLC0415

    failure: Exception = FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=CustomErrorName(fault.error),
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(
                taskFailedEventDetails=TaskFailedEventDetails(error=fault.error, cause=fault.cause)
            ),
        )
    )
    return failure
