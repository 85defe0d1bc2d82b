"""A pytest plugin that installs the local cloud's moto patches for a whole test run.

``tools/moto_tests/run.py`` loads it (``-p moto_compat_plugin``) into moto's own test suite:
every gap of ``petclinic_local.moto_compat`` is installed from the start of the run to its end,
in each xdist worker. The hooks make the local-cloud-specific behaviour inert, so what moto's
tests see is the patches themselves: no function is the local cloud's (moto invokes every Lambda
function its own way), time runs at scale 1.0, nobody drives ECS rollouts, and background work
runs at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from petclinic_local import moto_compat

_STACK = pytest.StashKey[Any]()


class InertHooks:
    """``moto_compat.Hooks`` with no local cloud behind them."""

    time_scale = 1.0

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


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_STACK] = moto_compat.install(InertHooks())


def pytest_unconfigure(config: pytest.Config) -> None:
    stack = config.stash.get(_STACK, None)
    if stack is not None:
        stack.close()


def pytest_report_header(config: pytest.Config) -> str:
    return (
        f"moto_compat: {len(moto_compat.GAPS)} gaps installed ({', '.join(g.name for g in moto_compat.GAPS)})"
    )
