"""stack.lambda_runtime: the template's functions run in-process, each under its own environment,
without changing the environment other threads see."""

from __future__ import annotations

import os
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from petclinic_local.stack.deploy import FunctionSpec
from petclinic_local.stack.lambda_runtime import LambdaRuntime

HANDLER = """
import json
import os
import sys
import threading

seen_by_others = threading.Event()


def handler(event, context):
    if "nested" in event:  # what Lambda's default recursion limit refuses
        depth = event["nested"]
        json.loads("[" * depth + "]" * depth)
        return {"limit": sys.getrecursionlimit()}
    if event.get("set"):
        os.environ["WRITTEN_BY_THE_HANDLER"] = "yes"
    if event.get("unset"):
        del os.environ["FUNCTION_ONLY"]
        return {"after_delete": os.environ.get("FUNCTION_ONLY")}
    if event.get("wait"):
        seen_by_others.wait(5)
    return {"value": os.environ["FUNCTION_ONLY"], "region": os.getenv("AWS_REGION")}
"""


@pytest.fixture
def runtime(tmp_path: Path) -> LambdaRuntime:
    (tmp_path / "app.py").write_text(HANDLER)
    variables = {"FUNCTION_ONLY": "mine", **{f"FUNCTION_VARIABLE_{i}": str(i) for i in range(20)}}
    spec = FunctionSpec(
        logical_id="Probe",
        name="probe",
        arn="arn:aws:lambda:us-west-2:123456789012:function:probe",
        code_dir=tmp_path,
        handler="app.handler",
        layer_dirs=(),
        environment=variables,
        timeout=3,
        memory=128,
        log_group="/aws/lambda/probe",
    )
    return LambdaRuntime({"Probe": spec}, region="us-west-2")


def test_a_handler_sees_its_variables_and_no_other_thread_does(runtime: LambdaRuntime) -> None:
    results: list[Any] = []
    invoking = threading.Thread(target=lambda: results.append(runtime.invoke("probe", {"wait": True})))
    invoking.start()
    time.sleep(0.2)  # the handler is waiting now, its environment in place
    assert "FUNCTION_ONLY" not in os.environ
    assert os.getenv("FUNCTION_ONLY") is None
    assert "FUNCTION_ONLY" not in dict(os.environ)
    module = runtime._modules["probe"]
    module.seen_by_others.set()
    invoking.join(5)
    payload, errored, _ = results[0]
    assert not errored, payload
    assert payload == {"value": "mine", "region": "us-west-2"}


def test_what_a_handler_writes_or_removes_stays_in_its_invocation(runtime: LambdaRuntime) -> None:
    payload, errored, _ = runtime.invoke("probe", {"set": True})
    assert not errored, payload
    assert "WRITTEN_BY_THE_HANDLER" not in os.environ
    payload, errored, _ = runtime.invoke("probe", {"unset": True})
    assert (payload, errored) == ({"after_delete": None}, False)
    payload, errored, _ = runtime.invoke("probe", {})
    assert payload["value"] == "mine"


def test_threads_reading_the_environment_or_the_path_never_miss_an_entry(runtime: LambdaRuntime) -> None:
    """The race behind a flaky fault-injection case: botocore reads the proxy variables (a snapshot
    of the keys, then each value) for every client it creates, while an invocation on another
    thread ended and removed its function's variables: KeyError in the reader. Before the fix this
    found 63 KeyErrors in 5 s (10,690 invocations); the environment is now per thread."""
    errors: list[BaseException] = []
    missed: list[str] = []
    stop = threading.Event()
    path = set(sys.path)

    def read_like_botocore() -> None:
        while not stop.is_set():
            try:
                urllib.request.getproxies()
                dict(os.environ)
            except KeyError as exc:
                errors.append(exc)
            # What an import on this thread does: walk sys.path (none of its entries may be skipped).
            missed.extend(path - {entry for entry in sys.path})

    readers = [threading.Thread(target=read_like_botocore) for _ in range(2)]
    for reader in readers:
        reader.start()
    invocations = 0
    deadline = time.monotonic() + 2.0
    try:
        while time.monotonic() < deadline:
            payload, errored, _ = runtime.invoke("probe", {})
            assert not errored, payload
            invocations += 1
    finally:
        stop.set()
        for reader in readers:
            reader.join(5)
    assert invocations > 100
    assert errors == [], f"{len(errors)} KeyErrors in {invocations} invocations: {errors[:3]}"
    assert missed == [], f"sys.path entries skipped {len(missed)} times in {invocations} invocations"


def test_a_handler_runs_with_lambdas_recursion_limit_whatever_the_process_has(runtime: LambdaRuntime) -> None:
    """jsonata-python sets the process's limit to 10,000 when it loads; Lambda keeps Python's 1,000,
    where json.loads of about 2 KB of nested arrays overflows. Before the fix the handler below
    parsed them locally (and passed) where Lambda raises RecursionError."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(10_000)  # what importing jsonata-python does
    try:
        payload, errored, _ = runtime.invoke("probe", {"nested": 1000})
        assert errored, payload
        assert payload["errorType"] == "RecursionError"
        payload, errored, _ = runtime.invoke("probe", {"nested": 100})
        assert (payload, errored) == ({"limit": 1000}, False)
        assert sys.getrecursionlimit() == 10_000  # the process's own, back after the invocation
    finally:
        sys.setrecursionlimit(before)
