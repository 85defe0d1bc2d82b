"""A pytest plugin that installs the local cloud's moto patches for a whole test run.

``tools/moto_tests/run.py`` loads it (``-p moto_compat_plugin``) into moto's own test suite:
every gap of ``petclinic_local.moto_compat`` is installed from the start of the run to its end,
in each xdist worker. The hooks make the local-cloud-specific behaviour inert, so what moto's
tests see is the patches themselves: no function is the local cloud's (moto invokes every Lambda
function its own way), time runs at scale 1.0, nobody drives ECS rollouts, and background work
runs at once.
"""

from __future__ import annotations

from typing import Any

import pytest

from petclinic_local import moto_compat
from petclinic_local.moto_compat import InertHooks

_STACK = pytest.StashKey[Any]()


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
