"""CloudFormation's stack events on EventBridge, and the resource faults tests inject.

``StackEvents`` puts "CloudFormation Stack Status Change" and "CloudFormation Resource Status
Change" events on the default bus after the API call that caused them has answered (the patches
of ``moto_compat.cloudformation`` record them as the operation runs).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from petclinic_local.simulators.cloudformation.api import aws


@dataclass
class StackFault:
    stack: str
    logical_id: str
    reason: str


class StackEvents:
    """Puts CloudFormation's events on the default bus after the call that caused them answered
    (``delay`` seconds of simulated time later, times the time scale), in order; and holds the
    injected resource faults (``fail``): the named resource of the named stack fails with the
    reason on its next create or update, as a provider error would."""

    def __init__(self, *, account: str, region: str, time_scale: float, delay: float = 20.0) -> None:
        self.account = account
        self.region = region
        self.time_scale = time_scale
        self.delay = delay
        self.faults: list[StackFault] = []
        self.sent: list[dict[str, Any]] = []
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._active = 0
        self._muted = False

    def fail(self, stack: str, logical_id: str, reason: str) -> None:
        self.faults.append(StackFault(stack, logical_id, reason))

    def fault_for(self, stack: str, logical_id: str) -> StackFault | None:
        return next((f for f in self.faults if f.stack == stack and f.logical_id == logical_id), None)

    @contextlib.contextmanager
    def muted(self) -> Iterator[None]:
        """No events while the local cloud lays down the stacks it starts with: they stand for
        stacks provisioned before its story begins, whose events are long gone."""
        self._muted = True
        try:
            yield
        finally:
            self._muted = False

    def record(self, detail_type: str, stack_id: str, detail: dict[str, Any]) -> None:
        """An event of the operation in progress (sent by ``flush``)."""
        if self._muted:
            return
        event = {
            "Source": "aws.cloudformation",
            "DetailType": detail_type,
            "Resources": [stack_id],
            "Detail": json.dumps({"stack-id": stack_id, **detail}),
        }
        with self._lock:
            self._pending.append(event)

    def flush(self, background: Callable[[Callable[[], None]], None]) -> None:
        """Send what the operation recorded, after the delay, from a background thread."""
        with self._lock:
            events, self._pending = self._pending, []
            if not events:
                return
            self._active += 1

        def send() -> None:
            try:
                time.sleep(self.delay * self.time_scale)
                client = aws("events", self.region)
                for start in range(0, len(events), 10):
                    client.put_events(Entries=events[start : start + 10])
                self.sent.extend(events)
            finally:
                with self._lock:
                    self._active -= 1

        background(send)

    def idle(self) -> bool:
        with self._lock:
            return self._active == 0
