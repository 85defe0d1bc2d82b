"""Run the template's functions in-process, as Lambda would run them from /var/task and /opt.

Each function's handler module is imported from its CodeUri folder (with its layers on sys.path)
under its own Environment, once (the cold start), and called with a Lambda context. Invocations
are serialised: os.environ and sys.stdout are process-wide, and a handler must see only its own
environment. An exception becomes Lambda's error payload (errorType = class name), which is
what Step Functions' Catch matches on.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any

from petclinic_local.stack.deploy import FunctionSpec

# Locally there is no X-Ray daemon: the Tracer would only warn.
LOCAL_ENVIRONMENT = {"POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_DEV": "false"}


@dataclass
class LambdaContext:
    """The attributes Powertools and handlers read from Lambda's context object."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))


class _Sink(io.TextIOBase):
    """stdout for handlers: Powertools' Logger keeps the stream it saw at import, so writes go to
    whichever invocation's buffer is current."""

    def __init__(self) -> None:
        self.buffer_: io.StringIO = io.StringIO()

    def write(self, text: str) -> int:
        return self.buffer_.write(text)


# Process-wide, like what they guard: os.environ, sys.stdout, and the `logging` logger a
# Powertools Logger attaches its handler to once per service name (bound to the stream it saw
# first). One sink and one lock for every runtime in the process, so a second local cloud's
# functions log where the first one's did: into the current invocation.
_SINK = _Sink()
_LOCK = threading.RLock()


@dataclass
class Invocation:
    function: str
    request_id: str
    duration_ms: float
    cold: bool
    errored: bool
    logs: str


class LambdaRuntime:
    def __init__(
        self,
        functions: dict[str, FunctionSpec],
        *,
        region: str,
        on_invocation: Callable[[Invocation], None] | None = None,
        version_environment: Callable[[str, str], dict[str, str]] | None = None,
    ) -> None:
        self.functions = {spec.name: spec for spec in functions.values()}
        # "fn:VERSION" runs the same code with that published version's environment, in a
        # module instance of its own (a version's containers are its own, as on Lambda).
        self.version_environment = version_environment
        self.region = region
        self.on_invocation = on_invocation
        self._modules: dict[str, ModuleType] = {}
        self._lock = _LOCK
        self._sink = _SINK
        self.invocations: list[Invocation] = []

    def has_function(self, name: str) -> bool:
        return name.split(":", 1)[0] in self.functions

    def _qualified(self, name: str) -> FunctionSpec:
        base, _, version = name.partition(":")
        spec = self.functions[base]
        if not version or version == "$LATEST":
            return spec
        environment = (
            self.version_environment(base, version) if self.version_environment else spec.environment
        )
        return replace(
            spec,
            name=name,
            arn=f"{spec.arn}:{version}",
            environment=environment,
            logical_id=f"{spec.logical_id}_v{version}",
        )

    def invoke(self, name: str, event: Any) -> tuple[Any, bool, str]:
        spec = self._qualified(name)
        with self._lock, self._environment(spec):
            self._sink.buffer_ = io.StringIO()
            started = time.perf_counter()
            cold = name not in self._modules
            errored = False
            base, _, version = name.partition(":")
            context = LambdaContext(base, spec.arn, spec.memory, spec.timeout, version or "$LATEST")
            try:
                handler = self._handler(spec)
                payload: Any = handler(event, context)
            except Exception as exc:
                errored = True
                payload = {
                    "errorMessage": str(exc),
                    "errorType": type(exc).__name__,
                    "stackTrace": traceback.format_exception(exc)[-5:],
                }
                print(f"[ERROR] {type(exc).__name__}: {exc}", file=self._sink)
            invocation = Invocation(
                name,
                context.aws_request_id,
                (time.perf_counter() - started) * 1000,
                cold,
                errored,
                self._sink.buffer_.getvalue(),
            )
        self.invocations.append(invocation)
        if self.on_invocation:
            self.on_invocation(invocation)
        return payload, errored, invocation.logs

    def _handler(self, spec: FunctionSpec) -> Callable[[Any, Any], Any]:
        module_name, _, function_name = spec.handler.rpartition(".")
        module = self._modules.get(spec.name)
        if module is None:
            path = spec.code_dir / (module_name.replace(".", "/") + ".py")
            unique = f"_petclinic_local_fn_{spec.logical_id}_{module_name.replace('.', '_')}"
            loader_spec = importlib.util.spec_from_file_location(unique, path)
            if loader_spec is None or loader_spec.loader is None:
                raise ImportError(f"cannot load handler module {path}")
            module = importlib.util.module_from_spec(loader_spec)
            loader_spec.loader.exec_module(module)
            self._modules[spec.name] = module
        handler: Callable[[Any, Any], Any] = getattr(module, function_name)
        return handler

    @contextlib.contextmanager
    def _environment(self, spec: FunctionSpec) -> Iterator[None]:
        variables = {
            **spec.environment,
            **LOCAL_ENVIRONMENT,
            "AWS_LAMBDA_FUNCTION_NAME": spec.name.split(":", 1)[0],
            "AWS_LAMBDA_FUNCTION_VERSION": spec.name.partition(":")[2] or "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }
        saved_env = {key: os.environ.get(key) for key in variables}
        saved_path = list(sys.path)
        saved_stdout = sys.stdout
        os.environ.update(variables)
        sys.path[:0] = [str(spec.code_dir), *(str(layer) for layer in spec.layer_dirs)]
        sys.stdout = self._sink
        try:
            yield
        finally:
            sys.stdout = saved_stdout
            sys.path[:] = saved_path
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
