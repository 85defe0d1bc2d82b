"""What a gap is, and what its patches need from the local cloud that installs them."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol


class Hooks(Protocol):
    """What the patches need from the local cloud that installs them (``LocalCloud``; the
    gap tests' ``FakeHooks``; ``InertHooks`` below, under which the patches leave
    moto's own behaviour alone)."""

    time_scale: float
    # Whether IAM decides the calls made as a role (moto_compat.iam): the local cloud's roles are
    # its own; moto's own tests name roles with no permissions and expect their calls to work.
    enforce_iam: bool

    def has_function(self, function_name: str) -> bool:
        """Whether the host runs this Lambda function itself (else moto invokes it its own way)."""
        ...

    def invoke_function(self, function_name: str, payload: Any) -> tuple[Any, bool, str]:
        """Run a function in-process: (response payload, errored, log text)."""
        ...

    def deployment_started(
        self, service: Any, deployment: dict[str, Any], previous: dict[str, Any] | None
    ) -> None:
        """ECS accepted a new deployment of a (moto) service; a rollout simulator drives it from here."""
        ...

    def desired_count_changed(self, service: Any) -> None:
        """A (moto) service's desired count changed without a new deployment; a simulator starts
        or stops its tasks from here."""
        ...

    def background(self, work: Callable[[], None]) -> None:
        """Run work the way AWS does it after answering (rotations), counted as activity."""
        ...

    def cloudformation_events(self) -> Any:
        """The host's CloudFormation simulator (``simulators.cloudformation.StackEvents``: resource
        faults, stack events for EventBridge), or None: then the CloudFormation gaps leave moto as
        it is (moto's own tests)."""
        ...


class InertHooks:
    """``Hooks`` with no local cloud behind them (moto's own tests, tests that need one gap only)."""

    time_scale = 1.0
    enforce_iam = False

    def has_function(self, function_name: str) -> bool:
        return False

    def invoke_function(self, function_name: str, payload: Any) -> tuple[Any, bool, str]:
        raise AssertionError(f"no local function {function_name}: has_function() is always False")

    def deployment_started(self, service: Any, deployment: Any, previous: Any) -> None:
        """No rollout simulator: the new deployment stays IN_PROGRESS, as moto leaves it."""

    def desired_count_changed(self, service: Any) -> None:
        """No simulator: the tasks stay as moto counts them."""

    def background(self, work: Callable[[], None]) -> None:
        work()

    def cloudformation_events(self) -> None:
        """No CloudFormation simulator: moto's CloudFormation as it is."""


Patches = Iterable[contextlib.AbstractContextManager[Any]]


@dataclass(frozen=True)
class Gap:
    """One way moto 5.2.5 falls short of AWS, and the patches that close it.

    ``problem`` says what is wrong, ``upstream`` where moto tracks it (or the code at fault);
    ``moto_services`` names the moto packages the patches touch, whose own tests
    ``make moto-tests`` runs with every gap installed; ``install`` yields the patches (context
    managers, entered in order and removed in reverse); ``contradicts`` names moto's own tests
    (``tests.test_ecr.test_ecr::test_...``) that assert the very behaviour the gap corrects, which
    ``make moto-tests`` therefore expects to fail with the gap installed."""

    name: str
    problem: str
    upstream: str
    moto_services: tuple[str, ...]
    install: Callable[[Hooks], Patches]
    contradicts: tuple[str, ...] = ()
