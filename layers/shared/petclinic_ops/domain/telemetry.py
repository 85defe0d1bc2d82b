"""The port a use case reports through: log lines, metrics, and keys every later line carries.

The handler kit (petclinic_ops.handler.Function) implements it with Powertools' Logger and
Metrics; a test passes anything with these methods. Fields are metadata (names, counts, ids,
reasons written to be logged), never a secret or a user's text.
"""

from __future__ import annotations

from typing import Any, Protocol


class Telemetry(Protocol):
    def info(self, message: str, **fields: Any) -> None: ...

    def warning(self, message: str, **fields: Any) -> None: ...

    def error(self, message: str, **fields: Any) -> None: ...

    def exception(self, message: str, **fields: Any) -> None:
        """An error line with the exception being handled (its type and traceback)."""
        ...

    def metric(self, name: str, value: float, unit: str = "Count") -> None:
        """A metric of this invocation (unit: a CloudWatch unit name, "Count" or "Percent")."""
        ...

    def dimension(self, name: str, value: str) -> None:
        """A dimension on every metric of this invocation."""
        ...

    def keys(self, **fields: Any) -> None:
        """Keys on every later log line of this invocation."""
        ...
