"""Errors that workflows route on.

The class name is the error name Step Functions sees (the Lambda runtime reports it as
``errorType``), so renaming a class is a breaking change for the ASL files' Catch blocks.
Messages say what was wrong and what to do; they never contain secret values.
"""


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
