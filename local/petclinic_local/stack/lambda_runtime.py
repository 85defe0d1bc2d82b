"""Run the template's functions in-process, as Lambda would run them from /var/task and /opt.

Each function's handler module is imported from its CodeUri folder (with its layers on sys.path)
under its own Environment, once (the cold start), and called with a Lambda context. Invocations
are serialised (sys.path and sys.stdout are process-wide). The function's Environment is scoped
to the invoking thread (``ThreadScopedEnviron``): the handler sees the process's variables with
its own over them, and every other thread (Step Functions' interpreter creating boto3 clients,
the simulators, the test) sees the process environment, which never changes under it. A handler
runs with Lambda's recursion limit (1,000 frames, ``recursion.lambda_limit``), whatever jsonata-python
or anything else set for the process: what overflows Lambda's stack overflows here. An exception
becomes Lambda's error payload (errorType = class name), which is what Step Functions' Catch
matches on.
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

from petclinic_local import recursion
from petclinic_local.moto_compat import iam
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


class ThreadScopedEnviron(os._Environ[str]):
    """``os.environ`` with a per-thread overlay: the variables of the function a thread is running.

    Why: setting a function's variables in the process-wide environment and removing them after
    the invocation raced with every other thread that iterates the environment. botocore reads
    the proxy variables (urllib's getproxies: a snapshot of the keys, then a lookup of each) for
    every client it creates, and Step Functions' interpreter creates one per state; a key removed
    between the two raised KeyError in that thread, and the state failed (a deploy execution
    ended at ResolveRequest with "'DEPLOY_TAG_EXCLUDE'", with no ledger row). Here a thread with
    an overlay reads and writes its overlay first (a removal is a tombstone), and every other
    thread reads the process environment, shared with the original ``os.environ`` (same data, so
    references taken before, and putenv for subprocesses, stay as they were). Threads a handler
    starts see the process environment only (the handlers here start none).
    """

    def __init__(self, base: os._Environ[str]) -> None:
        super().__init__(base._data, base.encodekey, base.decodekey, base.encodevalue, base.decodevalue)  # type: ignore[attr-defined]
        self._local = threading.local()

    @property
    def overlay(self) -> dict[str, str | None] | None:
        overlay: dict[str, str | None] | None = getattr(self._local, "overlay", None)
        return overlay

    @contextlib.contextmanager
    def overlaid(self, variables: dict[str, str]) -> Iterator[None]:
        """This thread sees ``variables`` over the process environment until the block ends."""
        previous = self.overlay
        self._local.overlay = {**(previous or {}), **variables}
        try:
            yield
        finally:
            self._local.overlay = previous

    def __getitem__(self, key: str) -> str:
        overlay = self.overlay
        if overlay is not None and key in overlay:
            value = overlay[key]
            if value is None:
                raise KeyError(key)
            return value
        return super().__getitem__(key)

    def __setitem__(self, key: str, value: str) -> None:
        overlay = self.overlay
        if overlay is None:
            super().__setitem__(key, value)
            return
        self.encodekey(key)
        self.encodevalue(value)  # type checks as os.environ does: str only
        overlay[key] = value

    def __delitem__(self, key: str) -> None:
        overlay = self.overlay
        if overlay is None:
            super().__delitem__(key)
            return
        if key not in self:
            raise KeyError(key)
        overlay[key] = None

    def __iter__(self) -> Iterator[str]:
        keys = list(super().__iter__())  # a snapshot, as os.environ takes
        overlay = self.overlay
        if overlay is None:
            yield from keys
            return
        overlay = dict(overlay)
        yield from (key for key in keys if key not in overlay)
        yield from (key for key, value in overlay.items() if value is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def scoped_environ() -> ThreadScopedEnviron:
    """Make ``os.environ`` (and so ``os.getenv``) a ``ThreadScopedEnviron``, once per process."""
    if not isinstance(os.environ, ThreadScopedEnviron):
        # Replacing, not clearing, is the point: the same variables, read per thread from now on.
        os.environ = ThreadScopedEnviron(os.environ)  # noqa: B003
    return os.environ


# Process-wide, like what they guard: sys.path, sys.stdout, and the `logging` logger a
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
        self._environ = scoped_environ()

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
        with self._lock, recursion.lambda_limit(), self._environment(spec):
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

    @staticmethod
    def _principal(spec: FunctionSpec) -> iam.Principal | None:
        """The session Lambda runs the handler as: its execution role's, named after the function."""
        return iam.Principal(spec.role_arn, spec.name.split(":", 1)[0]) if spec.role_arn else None

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
        # A new list, not an in-place change: a thread iterating sys.path (an import on another
        # thread) keeps the list it started with instead of skipping entries that moved.
        saved_path = sys.path
        saved_stdout = sys.stdout
        sys.path = [str(spec.code_dir), *(str(layer) for layer in spec.layer_dirs), *saved_path]
        sys.stdout = self._sink
        try:
            with self._environ.overlaid(variables), iam.acting_as(self._principal(spec)):
                yield
        finally:
            sys.stdout = saved_stdout
            sys.path = saved_path
