"""The handler kit: everything a Lambda handler does besides its own parse-call-return.

A function's app.py builds one ``Function`` (one per module instance: its settings and adapters
are cached per execution environment, and a published version's environment is its own) and
decorates its handler with it::

    kit = Function(ScaleSettings, correlation_id="executionId")
    ports = kit.once(AwsScalePorts)

    @kit.handler(parse=scale.parse_input)
    def lambda_handler(request: ScaleInput, context: LambdaContext) -> dict[str, Any]:
        return scale.handle(request, kit.settings().to_domain(), ports(), kit)

What the kit does:

- Powertools: the Logger with the Lambda context (and the correlation id at
  ``correlation_id``, a JMESPath into the event), the state cleared per invocation; the Tracer
  (no auto-patching: ``once(..., patch=...)`` patches the libraries an adapter uses when the
  adapter is built; ``tracing=False``: none); Metrics flushed at the end of the invocation
  (``metrics=False``: none).
- Parsing: ``parse`` is a pydantic model (a JSON string or an object validated against it; a
  ValidationError raised names the fields) or a function of the event that raises the
  function's own error. Without ``parse`` the handler gets the event as it came.
- Settings: ``kit.settings()`` reads the function's settings class from the environment on the
  first call and keeps it; a broken configuration raises ``InvalidConfiguration`` naming the
  variable (and is read again on the next invocation). ``to_domain()`` on it gives the domain's
  configuration.
- Adapters: ``kit.once(factory)`` builds one on first use and keeps it (``cache_clear()`` as a
  fresh container would).
- Telemetry: the kit is the domain's ``Telemetry`` port (petclinic_ops.domain.telemetry): a use
  case logs and counts through it, so the errors it maps to outputs, and what it reports, are
  the use case's, in the layer, and tested there.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics, Tracer
from pydantic import BaseModel

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from petclinic_ops.settings import FunctionSettings

S = TypeVar("S", bound="FunctionSettings")
E = TypeVar("E")
R = TypeVar("R")
T = TypeVar("T")

Handler = Callable[[Any, "LambdaContext"], R]


class Function(Generic[S]):
    """One Lambda function's wiring (see the module's docstring)."""

    def __init__(
        self,
        settings: type[S],
        *,
        correlation_id: str | None = None,
        metrics: bool = True,
        tracing: bool = True,
    ) -> None:
        self.logger = Logger()
        self.metrics = Metrics() if metrics else None
        self.correlation_id = correlation_id
        self.tracer = Tracer(auto_patch=False) if tracing else None
        self.settings: functools._lru_cache_wrapper[S] = functools.cache(settings.from_environ)

    # ------------------------------------------------------------------ adapters

    def once(self, factory: Callable[[], T], *, patch: Sequence[str] = ()) -> functools._lru_cache_wrapper[T]:
        """``factory()`` built on first use and kept; the Tracer patches ``patch`` first."""

        def build() -> T:
            if patch and self.tracer is not None:
                self.tracer.patch(list(patch))
            return factory()

        return functools.cache(functools.update_wrapper(build, factory, updated=()))

    # ------------------------------------------------------------------ the handler

    def handler(
        self, parse: type[BaseModel] | Callable[[Any], Any] | None = None
    ) -> Callable[[Callable[[E, LambdaContext], R]], Handler[R]]:
        """The Lambda entry point around ``call(parsed_event, context)``."""

        def decorate(call: Callable[[E, LambdaContext], R]) -> Handler[R]:
            @functools.wraps(call)
            def parsed(event: Any, context: LambdaContext) -> R:
                return call(self._parse(parse, event), context)

            wrapped: Handler[R] = parsed
            if self.metrics is not None:
                wrapped = self.metrics.log_metrics(wrapped)
            if self.tracer is not None:
                wrapped = self.tracer.capture_lambda_handler(wrapped)
            injected: Handler[R] = self.logger.inject_lambda_context(
                correlation_id_path=self.correlation_id, clear_state=True
            )(wrapped)
            return injected

        return decorate

    @staticmethod
    def _parse(parse: type[BaseModel] | Callable[[Any], Any] | None, event: Any) -> Any:
        if parse is None:
            return event
        if isinstance(parse, type) and issubclass(parse, BaseModel):
            # As Powertools' event_parser: a string is JSON, anything else is validated as it is.
            if isinstance(event, str):
                return parse.model_validate_json(event)
            return parse.model_validate(event)
        return cast("Callable[[Any], Any]", parse)(event)

    # ------------------------------------------------------------------ Telemetry (the domain's port)

    def info(self, message: str, **fields: Any) -> None:
        self.logger.info(message, extra=fields, stacklevel=3)

    def warning(self, message: str, **fields: Any) -> None:
        self.logger.warning(message, extra=fields, stacklevel=3)

    def error(self, message: str, **fields: Any) -> None:
        self.logger.error(message, extra=fields, stacklevel=3)

    def exception(self, message: str, **fields: Any) -> None:
        self.logger.exception(message, extra=fields, stacklevel=3)

    def metric(self, name: str, value: float, unit: str = "Count") -> None:
        if self.metrics is not None:
            self.metrics.add_metric(name=name, unit=unit, value=value)

    def dimension(self, name: str, value: str) -> None:
        if self.metrics is not None:
            self.metrics.add_dimension(name=name, value=value)

    def keys(self, **fields: Any) -> None:
        self.logger.append_keys(**fields)
