"""petclinic_local.recursion: handlers run with Lambda's recursion limit (1,000) while the Step
Functions interpreter's JSONata, which jsonata-python would give 10,000 frames process-wide, still
evaluates what it evaluated before, without ever lending a handler its room."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from petclinic_local import recursion
from petclinic_local.jsonata import evaluate_jsonata
from petclinic_local.stack.deploy import FunctionSpec
from petclinic_local.stack.lambda_runtime import LambdaRuntime

# 500 nested calls of a JSONata function: about 5,000 Python frames in jsonata-python.
RECURSIVE = "($f := function($n){ $n <= 0 ? 0 : 1 + $f($n - 1) }; $f(500))"
# The same through `and`, where jsonata-python turns a RecursionError into its own "Unexpected".
RECURSIVE_AND = "($f := function($n){ $n <= 0 ? true : $f($n - 1) }; $f(300) and true)"

HANDLER = """
import json
import sys


def handler(event, context):
    limit = sys.getrecursionlimit()
    try:
        json.loads("[" * 1000 + "]" * 1000)
    except RecursionError:
        return {"limit": limit, "overflowed": True}
    return {"limit": limit, "overflowed": False}
"""


def test_loading_the_local_cloud_keeps_the_processs_recursion_limit() -> None:
    """Before the fix, importing the local cloud (jsonata-python) left the limit at 10,000."""
    code = (
        "import sys; before = sys.getrecursionlimit(); "
        "import petclinic_local.jsonata, petclinic_local.cloud, petclinic_local.moto_compat; "
        "print(before, sys.getrecursionlimit())"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after = shown.stdout.split()
    assert (before, after) == ("1000", "1000"), shown.stdout


def test_a_deep_jsonata_evaluation_still_evaluates_at_lambdas_limit() -> None:
    """What evaluated with jsonata-python's 10,000 frames still does with the process at 1,000 (it
    runs again with more room), and the limit is back to 1,000 afterwards."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(recursion.LAMBDA_LIMIT)
    try:
        assert evaluate_jsonata(RECURSIVE, {}) == 500
        assert evaluate_jsonata(RECURSIVE_AND, {}) is True
        assert sys.getrecursionlimit() == recursion.LAMBDA_LIMIT
    finally:
        sys.setrecursionlimit(before)


def test_no_handler_ever_runs_with_the_room_a_deep_evaluation_takes(tmp_path: Path) -> None:
    """Handlers on one thread, deep JSONata evaluations on another, for 2 s: each invocation sees
    1,000 and overflows on 2 KB of nested arrays, as on Lambda; each evaluation succeeds."""
    (tmp_path / "app.py").write_text(HANDLER)
    spec = FunctionSpec(
        logical_id="Deep",
        name="deep",
        arn="arn:aws:lambda:us-west-2:123456789012:function:deep",
        code_dir=tmp_path,
        handler="app.handler",
        layer_dirs=(),
        environment={},
        timeout=3,
        memory=128,
        log_group="/aws/lambda/deep",
    )
    runtime = LambdaRuntime({"Deep": spec}, region="us-west-2")
    stop = threading.Event()
    evaluated: list[Any] = []
    errors: list[BaseException] = []

    def evaluate() -> None:
        while not stop.is_set():
            try:
                evaluated.append(evaluate_jsonata(RECURSIVE, {}))
            except BaseException as exc:  # reported below
                errors.append(exc)
                return

    evaluator = threading.Thread(target=evaluate)
    evaluator.start()
    seen = []
    deadline = time.monotonic() + 2.0
    try:
        while time.monotonic() < deadline or len(evaluated) < 3:
            payload, errored, _ = runtime.invoke("deep", {})
            assert not errored, payload
            seen.append(payload)
    finally:
        stop.set()
        evaluator.join(30)
    assert errors == []
    assert len(seen) > 10
    assert set(evaluated) == {500}
    wrong = [p for p in seen if p != {"limit": 1000, "overflowed": True}]
    assert wrong == [], f"{len(wrong)} of {len(seen)} invocations: {wrong[:3]}"
