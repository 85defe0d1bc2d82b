"""Errors of the local cloud and the CLI. The CLI reports a ``UsageError`` in one line with
exit code 2 (nothing was started)."""


class UsageError(Exception):
    """Bad input or configuration: the message says what and where."""


class QuietTimeout(TimeoutError):
    """The local cloud still had work in flight (executions, rollouts, rotations) at the deadline."""
