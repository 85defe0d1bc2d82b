"""Errors that workflows route on.

The class name is the error name Step Functions sees (the Lambda runtime reports it as
``errorType``), so renaming a class is a breaking change for the ASL files' Catch blocks.
Messages say what was wrong and what to do; they never contain secret values.
"""


class OpsError(Exception):
    """Base class of the errors this control plane raises on purpose."""


class InvalidDeployRequest(OpsError):  # noqa: N818 - the name is the Step Functions error name
    """The execution input is neither an ECR "Image Action" event nor a valid manual request."""


class UnknownService(OpsError):  # noqa: N818
    """A manual request names a service this environment does not manage."""


class InvalidConfiguration(OpsError):  # noqa: N818
    """The control plane's configuration (Parameter Store) is missing or malformed."""
