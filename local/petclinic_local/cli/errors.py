"""Errors the CLI reports in one line with exit code 2 (nothing was started)."""


class UsageError(Exception):
    """Bad input or configuration: the message says what and where."""
