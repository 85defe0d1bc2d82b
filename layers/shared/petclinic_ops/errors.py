"""Errors that workflows route on, and every other error the functions raise on purpose: one tree
under ``OpsError``.

The class name is the error name Step Functions sees (the Lambda runtime reports it as
``errorType``), so renaming a class is a breaking change for the ASL files' Catch blocks
(tests/unit/test_error_names.py checks that every name they catch is raised, or a Fail state's).
Messages say what was wrong and what to do; they never contain secret values.
"""

from __future__ import annotations

from typing import Literal


class OpsError(Exception):
    """Base class of the errors this control plane raises on purpose."""


class InvalidDeployRequest(OpsError):
    """The execution input is neither an ECR "Image Action" event nor a valid manual request."""


class UnknownService(OpsError):
    """A manual request names a service this environment does not manage."""


class InvalidConfiguration(OpsError):
    """The control plane's configuration (Parameter Store) is missing or malformed."""


# --------------------------------------------------------------------------- secret rotation
# Raised by the rotation Lambda (Secrets Manager's rotation contract). Secrets Manager records
# the error name and message of a failed step; messages name secrets, stages, users and
# host:port, never a password.


class RotationNotEnabled(OpsError):
    """The secret's rotation is not enabled: the function was invoked outside a rotation."""


class TokenNotPending(OpsError):
    """The ClientRequestToken is not a version of the secret staged AWSPENDING."""


class InvalidSecret(OpsError):
    """A secret value does not have the shape the rotation needs (names the key, never the value)."""


class SuperuserCredentialsRejected(OpsError):
    """The database refused the credentials of the superuser secret (the secret's masterarn)."""


class CredentialsRejected(OpsError):
    """The database refused a version of the rotated secret (AWSCURRENT or AWSPENDING)."""


class DatabaseUnreachable(OpsError):
    """No connection to host:port (network path, DNS, TLS handshake or timeout)."""


class DatabaseOperationFailed(OpsError):
    """The database answered a rotation statement (create user, grant, password, test query) with an error."""


class CleartextPasswordRefused(OpsError):
    """The database asked for the password in clear text (mysql_clear_password, dialog): not sent."""


# --------------------------------------------------------------------------- provisioning
# Raised by the provision function (one stack per invocation); the provision workflow reports
# the stack, the error name and the message, and stops the run.


class InvalidProvisionRequest(OpsError):
    """The provision request names an unknown stack or template parameter, or a bad value."""


class StackBusy(OpsError):
    """The stack is in an operation (…_IN_PROGRESS) or in a state no change set can fix."""


class ChangeSetFailed(OpsError):
    """CloudFormation could not create the change set (template or parameter error): the reason."""


class InvalidTemplateLocation(OpsError):
    """A template is not the control plane's own: another bucket or host, not https, a key that is
    not templates/<sha256>.yaml, or an object whose SHA-256 is not its key. Nothing was changed."""


class ProtectedChangeRefused(OpsError):
    """In prod, a change set would replace or delete a stateful resource (Aurora, a secret, a KMS
    key, an ECR repository, a log group) or turn deletion protection off, and the run was not
    forced: the change set is deleted, nothing changed; the message names the resources."""


# --------------------------------------------------------------------------- scaling
# Raised by the scale plan function before anything changes; the scale workflow fails with the
# error name and the message (which names the profile and the field), changing nothing.


class InvalidScaleRequest(OpsError):
    """The plan function's input is not {profile, dryRun?, trigger?, executionId?} of the right types."""


class UnknownScaleProfile(OpsError):
    """No profile of that name in Parameter Store (/petclinic/{env}/scale/{profile})."""


class InvalidScaleProfile(OpsError):
    """A profile's JSON is malformed, names an unknown service or cluster, or has a bad value."""


class ScaleRefused(OpsError):
    """A guard rail refuses the profile: a prod floor, or every prod service to 0."""


# --------------------------------------------------------------------------- genai
# Raised inside the GenAI function, which answers each with its own status (the API's 4xx, a
# polite refusal, 503); no workflow routes on them: a release judges the function by its alarms.


class ChatInputError(OpsError, ValueError):
    """A request the chat API refuses: ``status`` 4xx, ``problem`` a fixed code, the message a
    sentence naming what was wrong (no client text in it)."""

    def __init__(self, problem: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.problem = problem
        self.status = status

    @property
    def sentence(self) -> str:
        """The message as a sentence a person reads (capitalised, ending with a full stop)."""
        text = str(self)
        return text[:1].upper() + text[1:] + ("" if text.endswith((".", "?", "!")) else ".")


FailureKind = Literal["throttled", "unavailable", "timeout", "not_ready", "error"]


class ModelFailure(OpsError):
    """A Converse call failed; ``kind`` says how (the adapter maps Bedrock's errors onto it)."""

    def __init__(self, kind: FailureKind, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind: FailureKind = kind
        self.detail = detail


class ChatUnavailable(OpsError):
    """No model of the chain answered (all failed or all are cooling down)."""


class BudgetExhausted(OpsError):
    """Today's token budget is used up: the request is refused politely."""


class ToolError(OpsError):
    """A tool could not do what the model asked; the message goes back to the model."""
