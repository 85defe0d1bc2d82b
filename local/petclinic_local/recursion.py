"""The process's recursion limit: Lambda's default while a handler runs, raised only for a JSONata
evaluation that needs more, and never both at once.

Lambda runs a Python handler with the interpreter's default limit (1,000 frames): ``json.loads``
of about 2 KB of nested arrays raises RecursionError there. jsonata-python sets the limit of the
whole process to 10,000 when it is imported (as deep as JavaScript goes), and CPython's limit is
per interpreter, not per thread: left alone, every handler the local cloud runs in-process would
get ten times Lambda's room, and a handler that fails on Lambda would pass here.

So:

* ``kept()`` undoes what an import does to the limit (``petclinic_local.jsonata`` imports
  jsonata-python under it): the process keeps the limit it had.
* ``lambda_limit()`` holds ``LOCK`` and sets Lambda's 1,000 for the block (the in-process Lambda
  runtime wraps every invocation in it), whatever anything else set before.
* ``run_deep(work)`` is for the rare JSONata evaluation that does not fit in the limit the
  process has (a recursive JSONata function, deeply nested data): it holds ``LOCK`` (so no handler
  runs meanwhile), raises the limit to ``DEEP_LIMIT`` and runs ``work`` on a thread of its own
  with a stack big enough for that many frames, then puts the limit back. The Step Functions
  interpreter's other threads evaluate at the process's limit all the while, and fall back to
  ``run_deep`` themselves if they hit it (``petclinic_local.jsonata.evaluate_jsonata``).

One consequence: a handler that waited, in-process, for a workflow whose JSONata needs
``run_deep`` would wait forever (the workflow waits for the handler to end). No handler here waits
for a workflow (on Lambda that would cost its whole timeout too).
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

LAMBDA_LIMIT = 1000
"""Python's default, which Lambda's Python runtimes keep."""

DEEP_LIMIT = 10_000
"""What jsonata-python sets for itself (its evaluator recurses about 10 frames per JSONata level)."""

DEEP_STACK_BYTES = 64 * 1024 * 1024
"""The C stack of a deep evaluation's thread (address space only, until frames touch it): enough
for ``DEEP_LIMIT`` frames of jsonata-python's evaluator with room to spare."""

LOCK = threading.RLock()
"""Held while a handler runs (``lambda_limit``) and while a deep evaluation runs (``run_deep``)."""


@contextlib.contextmanager
def kept() -> Iterator[None]:
    """The recursion limit after the block is the one before it (for imports that change it)."""
    before = sys.getrecursionlimit()
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


@contextlib.contextmanager
def lambda_limit() -> Iterator[None]:
    """Lambda's limit for the block, with no deep evaluation running in the meantime."""
    with LOCK:
        before = sys.getrecursionlimit()
        sys.setrecursionlimit(LAMBDA_LIMIT)
        try:
            yield
        finally:
            sys.setrecursionlimit(before)


def run_deep(work: Callable[[], T]) -> T:
    """``work()`` with ``DEEP_LIMIT`` frames of room, on a thread of its own, while no handler runs.

    Exceptions raised by ``work`` are raised here."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    worker = threading.Thread(target=target, name="jsonata-deep", daemon=True)
    with LOCK:
        before = sys.getrecursionlimit()
        sys.setrecursionlimit(max(before, DEEP_LIMIT))
        try:
            # The size is read when a thread starts (for every thread started meanwhile: those
            # only reserve more address space).
            stack_before = threading.stack_size(DEEP_STACK_BYTES)
            try:
                worker.start()
            finally:
                threading.stack_size(stack_before)
            worker.join()
        finally:
            sys.setrecursionlimit(before)
    if failure:
        raise failure[0]
    return outcome[0]
