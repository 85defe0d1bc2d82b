"""The Secrets Manager rotation contract for Aurora MySQL credentials.

Secrets Manager calls the rotation function four times per rotation, with the same
ClientRequestToken (the new version's id): createSecret, setSecret, testSecret, finishSecret.
Any call may be a retry, so every step first looks at what is already done and does only the
rest. Two strategies, as Secrets Manager's own RDS rotation functions:

- alternating (the secret has ``masterarn``): the superuser creates ``<user>_clone`` with the
  grants of ``<user>`` and the rotation alternates between the two users. The AWSCURRENT user is
  never touched, so running tasks keep working until the services roll (no failed logins).
  The superuser logs in at its own secret's host and port, and only when the rotated secret
  provably names the same database (``same_database``): its password goes nowhere else.
- single: the user changes its own password in setSecret; the old password stops working then.

Three database connections per rotation: setSecret tries the AWSPENDING login (its retry check)
and, when that is refused, opens one session that does the work (the superuser's, or the user's
own), whose login is the credentials check; testSecret logs in and queries in one session.

Pure logic: Secrets Manager and the database are ports (``SecretStore``, ``Database``); the
adapters are in petclinic_ops.adapters. Error messages name secrets, stages, users and
host:port, never a password.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, SecretStr, ValidationError

from petclinic_ops.domain.telemetry import Telemetry
from petclinic_ops.domain.validation import describe
from petclinic_ops.errors import (
    CredentialsRejected,
    InvalidSecret,
    OpsError,
    RotationNotEnabled,
    SuperuserCredentialsRejected,
    TokenNotPending,
)
from petclinic_ops.models.rotation import (
    AWSCURRENT,
    AWSPENDING,
    DatabaseSecret,
    DbCredentials,
    RotationEvent,
    RotationSettings,
    SecretDescription,
    Step,
    StepResult,
    Strategy,
    SuperuserSecret,
)

CLONE_SUFFIX = "_clone"
# MySQL 5.7/8.0 (so Aurora MySQL 2 and 3) accept user names of up to 32 characters.
MAX_USERNAME_LENGTH = 32
# Names the alternating strategy creates and quotes in GRANT statements: keep them plain.
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_$][A-Za-z0-9_$.-]*$")

M = TypeVar("M", bound=BaseModel)


class SecretStore(Protocol):
    """Port: Secrets Manager."""

    def describe(self, secret_id: str) -> SecretDescription: ...

    def get_value(self, secret_id: str, *, stage: str, version_id: str | None = None) -> str | None:
        """The SecretString of a version, or None when that version (or the secret) has no value."""
        ...

    def put_pending(self, secret_id: str, token: str, value: str) -> None:
        """Store ``value`` as version ``token``, staged AWSPENDING."""
        ...

    def random_password(self, *, length: int, exclude_characters: str) -> str: ...

    def move_current(self, secret_id: str, *, to_version: str, from_version: str | None) -> bool:
        """Stage ``to_version`` AWSCURRENT; ``from_version`` (the old one) becomes AWSPREVIOUS.

        False, moving nothing, when ``from_version`` no longer holds AWSCURRENT (someone moved it
        since it was read: Secrets Manager refuses the update).
        """
        ...


class Database(Protocol):
    """Port: the MySQL server the secret logs in to. Each call is one connection (one login)."""

    def can_login(self, credentials: DbCredentials) -> bool:
        """True if the server accepts the login, False if it refuses it (DatabaseUnreachable otherwise)."""
        ...

    def set_password(
        self, admin_credentials: DbCredentials, user: str, password: SecretStr, clone_from: str | None = None
    ) -> None:
        """Set ``user``'s password, logged in as ``admin_credentials`` (that user itself in single mode).

        With ``clone_from``: create ``user`` first if it does not exist, and give it the grants of
        ``clone_from`` (on each host ``clone_from`` has). The password is set last, so a login
        with it proves the whole step was done (setSecret's retry check relies on that).
        CredentialsRejected if the server refuses the login of ``admin_credentials``.
        """
        ...

    def run_test_query(self, credentials: DbCredentials) -> None:
        """Log in and run a query (SELECT 1, and one in ``credentials.dbname`` when set).
        CredentialsRejected if the server refuses the login."""
        ...


# --------------------------------------------------------------------------- strategy and users


def choose_strategy(requested: Strategy | None, secret: DatabaseSecret, secret_id: str) -> Strategy:
    if requested == "single":
        return "single"
    if secret.masterarn:
        return "alternating"
    if requested == "alternating":
        raise InvalidSecret(
            f"secret {secret_id} has no masterarn: ROTATION_STRATEGY=alternating needs the ARN of a "
            "superuser secret in the key 'masterarn' (or use ROTATION_STRATEGY=single)"
        )
    return "single"


def alternate_username(username: str) -> str:
    """The other user of the pair ``<user>`` / ``<user>_clone``."""
    base = username.removesuffix(CLONE_SUFFIX)
    if not base or not USERNAME_PATTERN.match(base):
        raise InvalidSecret(
            f"username {username!r} cannot be alternated: use letters, digits and _ $ . - "
            "(or ROTATION_STRATEGY=single)"
        )
    if len(base + CLONE_SUFFIX) > MAX_USERNAME_LENGTH:
        raise InvalidSecret(
            f"username {username!r} is too long to alternate: {base + CLONE_SUFFIX!r} exceeds MySQL's "
            f"{MAX_USERNAME_LENGTH} characters (shorten it or use ROTATION_STRATEGY=single)"
        )
    return base if username.endswith(CLONE_SUFFIX) else base + CLONE_SUFFIX


# --------------------------------------------------------------------------- where the superuser logs in

# An Aurora cluster's writer and reader endpoints: <cluster>.cluster-<hash>.<region>.rds.amazonaws.com
# and <cluster>.cluster-ro-<hash>.<region>.rds.amazonaws.com (amazonaws.com.cn in China). The hash
# is the account's in that region and a cluster identifier is unique per account and region, so
# two such names with the same cluster, hash, region and domain are one cluster.
_AURORA_CLUSTER_ENDPOINT = re.compile(
    r"^(?P<cluster>[a-z][a-z0-9-]*)\.cluster-(?:ro-)?"
    r"(?P<rest>[a-z0-9]+\.[a-z]{2}(?:-[a-z]+)+-\d+\.rds\.amazonaws\.com(?:\.cn)?)$"
)


def _normal_host(host: str) -> str:
    return host.strip().lower().removesuffix(".")


def same_database(application: tuple[str, int], superuser: tuple[str, int]) -> bool:
    """Whether (host, port) of the application secret provably is the superuser secret's database.

    The same host name (ignoring case and a final dot) and port; or the writer and reader
    endpoints of one Aurora cluster (cluster, hash, region and domain equal) on the same port.
    Nothing else: an instance or custom endpoint does not say its cluster, and two names of one
    server (localhost, 127.0.0.1) are the same only by configuration. The superuser password is
    sent only to the superuser secret's own host, and only when this holds.
    """
    (app_host, app_port), (super_host, super_port) = application, superuser
    if app_port != super_port:
        return False
    app_host, super_host = _normal_host(app_host), _normal_host(super_host)
    if app_host == super_host:
        return True
    clusters = [_AURORA_CLUSTER_ENDPOINT.match(host) for host in (app_host, super_host)]
    return all(clusters) and len({m.group("cluster", "rest") for m in clusters if m}) == 1


# --------------------------------------------------------------------------- the steps


@dataclass(frozen=True)
class _Rotation:
    """One invocation: the event, the secret's versions and the ports."""

    event: RotationEvent
    description: SecretDescription
    secrets: SecretStore
    database: Database
    settings: RotationSettings

    @property
    def secret_id(self) -> str:
        return self.event.secret_id

    @property
    def token(self) -> str:
        return self.event.client_request_token

    def result(self, changed: bool, detail: str) -> StepResult:
        return StepResult(step=self.event.step, changed=changed, detail=detail)

    def current(self) -> DatabaseSecret:
        raw = self.secrets.get_value(self.secret_id, stage=AWSCURRENT)
        return _parse(DatabaseSecret, raw, f"secret {self.secret_id} (AWSCURRENT)")

    def pending_value(self) -> str | None:
        return self.secrets.get_value(self.secret_id, stage=AWSPENDING, version_id=self.token)

    def pending(self) -> DatabaseSecret:
        raw = self.pending_value()
        if raw is None:
            raise TokenNotPending(
                f"version {self.token} of secret {self.secret_id} has no value yet: createSecret has not run"
            )
        return _parse(DatabaseSecret, raw, f"secret {self.secret_id} (AWSPENDING version {self.token})")

    def superuser(self, masterarn: str) -> SuperuserSecret:
        what = f"superuser secret {masterarn} (masterarn of {self.secret_id})"
        raw = self.secrets.get_value(masterarn, stage=AWSCURRENT)
        if raw is None:
            raise InvalidSecret(f"{what} does not exist or has no AWSCURRENT value")
        return _parse(SuperuserSecret, raw, what)


def _parse(model: type[M], raw: str | None, what: str) -> M:
    if raw is None:
        raise InvalidSecret(f"{what} has no value")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        # describe() names the keys and never echoes input values (the password among them);
        # "from None" keeps the ValidationError, which does, out of the traceback.
        raise InvalidSecret(f"{what} is not a MySQL database secret: {describe(exc)}") from None


def handle(
    event: RotationEvent,
    *,
    secrets: Callable[[], SecretStore],
    database: Callable[[], Database],
    settings: Callable[[], RotationSettings],
    telemetry: Telemetry,
) -> dict[str, Any]:
    """The rotation function's call: one step, reported (the step as a metric dimension, the
    step and the secret id on every log line). The ports and settings are built inside, so a
    broken configuration is reported as the step's failure too; the error is raised again."""
    telemetry.dimension("step", event.step)
    telemetry.keys(step=event.step, secret_id=event.secret_id)
    try:
        result = rotate(event, secrets=secrets(), database=database(), settings=settings())
    except Exception as exc:
        telemetry.metric("RotationStepsFailed", 1)
        # Our errors' and AWS's messages are written to be logged; anything else by type only.
        loggable = isinstance(exc, OpsError) or type(exc).__module__.startswith("botocore.")
        reason = str(exc) if loggable else None
        telemetry.error("rotation step failed", error=type(exc).__name__, reason=reason)
        raise
    telemetry.metric("RotationStepsSucceeded", 1)
    telemetry.info("rotation step done", changed=result.changed, detail=result.detail)
    return result.to_output()


def rotate(
    event: RotationEvent, *, secrets: SecretStore, database: Database, settings: RotationSettings
) -> StepResult:
    """Run one step of the rotation; a step with nothing left to do returns ``changed=False``.

    Errors keep their type (the error name) and say which step failed: "setSecret: ...".
    """
    try:
        return _run(event, secrets=secrets, database=database, settings=settings)
    except OpsError as exc:
        raise type(exc)(f"{event.step}: {exc}") from None


def _run(
    event: RotationEvent, *, secrets: SecretStore, database: Database, settings: RotationSettings
) -> StepResult:
    description = secrets.describe(event.secret_id)
    if not description.rotation_enabled:
        raise RotationNotEnabled(
            f"rotation is not enabled on secret {event.secret_id}: enable it (RotateSecret with a "
            "rotation function) instead of invoking this function directly"
        )
    stages = description.stages_of(event.client_request_token)
    if stages is None:
        raise TokenNotPending(
            f"ClientRequestToken {event.client_request_token} is not a version of secret {event.secret_id}"
        )
    rotation = _Rotation(event, description, secrets, database, settings)
    if AWSCURRENT in stages:
        return rotation.result(False, f"version {rotation.token} is already AWSCURRENT: nothing to do")
    if AWSPENDING not in stages:
        raise TokenNotPending(
            f"version {rotation.token} of secret {rotation.secret_id} is not staged AWSPENDING "
            f"(stages: {', '.join(sorted(stages)) or 'none'}): it is not the rotation in progress"
        )
    return _STEPS[event.step](rotation)


def _create(rotation: _Rotation) -> StepResult:
    """Generate the new login and store it as AWSPENDING under the token (once)."""
    current = rotation.current()
    if rotation.pending_value() is not None:
        return rotation.result(False, f"version {rotation.token} already has a value")
    strategy = choose_strategy(rotation.settings.strategy, current, rotation.secret_id)
    username = alternate_username(current.username) if strategy == "alternating" else current.username
    password = rotation.secrets.random_password(
        length=rotation.settings.password_length, exclude_characters=rotation.settings.exclude_characters
    )
    rotation.secrets.put_pending(
        rotation.secret_id, rotation.token, current.with_login(username, password).to_secret_string()
    )
    return rotation.result(
        True, f"AWSPENDING version {rotation.token} created for user {username} ({strategy} users)"
    )


def _set(rotation: _Rotation) -> StepResult:
    """Make the database accept the AWSPENDING login."""
    current = rotation.current()
    pending = rotation.pending()
    strategy = choose_strategy(rotation.settings.strategy, current, rotation.secret_id)
    _check_same_database(rotation, current, pending)
    _check_pending_user(rotation, strategy, current, pending)  # before any login
    if rotation.database.can_login(pending.credentials()):
        return rotation.result(False, f"the AWSPENDING login of {pending.username} already works")
    if strategy == "alternating":
        _set_alternating(rotation, current, pending)
    else:
        _set_single(rotation, current, pending)
    return rotation.result(
        True, f"password of {pending.username} set on {current.host}:{current.port} ({strategy} users)"
    )


def _check_same_database(rotation: _Rotation, current: DatabaseSecret, pending: DatabaseSecret) -> None:
    if (current.host, current.port) != (pending.host, pending.port):
        raise InvalidSecret(
            f"the AWSPENDING version of secret {rotation.secret_id} points to {pending.host}:{pending.port}, "
            f"AWSCURRENT to {current.host}:{current.port}: a rotation changes the password only; "
            "cancel this rotation and put a corrected AWSCURRENT version"
        )


def _check_pending_user(
    rotation: _Rotation, strategy: Strategy, current: DatabaseSecret, pending: DatabaseSecret
) -> None:
    if strategy == "single":
        if pending.username != current.username:
            raise InvalidSecret(
                f"the AWSPENDING version of secret {rotation.secret_id} is for user {pending.username!r} "
                f"but AWSCURRENT is {current.username!r}: the single-user strategy changes one user's "
                "password"
            )
        return
    expected = alternate_username(current.username)
    if pending.username != expected:
        # Never the AWSCURRENT user: its password must keep working for the running tasks.
        raise InvalidSecret(
            f"the AWSPENDING version of secret {rotation.secret_id} is for user {pending.username!r}, "
            f"the alternating strategy expects {expected!r} (AWSCURRENT is {current.username!r})"
        )


def _set_alternating(rotation: _Rotation, current: DatabaseSecret, pending: DatabaseSecret) -> None:
    masterarn = current.masterarn or pending.masterarn
    if not masterarn:
        raise InvalidSecret(
            f"secret {rotation.secret_id} has no masterarn: the alternating strategy needs one"
        )
    superuser = rotation.superuser(masterarn)
    if not same_database((current.host, current.port), (superuser.host, superuser.port)):
        raise InvalidSecret(
            f"secret {rotation.secret_id} is for {current.host}:{current.port} but its superuser secret "
            f"{masterarn} is for {superuser.endpoint}: the superuser password is only sent to its own "
            "host, so both must name the same host and port (or the writer and reader endpoints of one "
            "Aurora cluster); correct the host of the secret that is wrong and retry"
        )
    admin = superuser.credentials()
    try:  # one session: the login is checked by logging in to do the work
        rotation.database.set_password(admin, pending.username, pending.password, clone_from=current.username)
    except CredentialsRejected:
        raise SuperuserCredentialsRejected(
            f"{admin.endpoint} refused the credentials of superuser secret {masterarn} "
            f"(user {superuser.username}, masterarn of {rotation.secret_id}): fix that secret and retry; "
            "AWSCURRENT is unchanged and keeps working"
        ) from None


def _set_single(rotation: _Rotation, current: DatabaseSecret, pending: DatabaseSecret) -> None:
    try:
        rotation.database.set_password(current.credentials(), current.username, pending.password)
    except CredentialsRejected:
        raise CredentialsRejected(
            f"{current.host}:{current.port} refused both the AWSCURRENT and the AWSPENDING "
            f"credentials of secret {rotation.secret_id} (user {current.username}): the database has a "
            "password Secrets Manager does not hold as AWSCURRENT (changed by hand, or by an earlier "
            "rotation that did not finish); put the working password as AWSCURRENT and rotate again"
        ) from None


def _test(rotation: _Rotation) -> StepResult:
    """Log in with AWSPENDING and run a query (one session).

    Secrets Manager's check of a rotation configured without rotating now (RotateSecret with
    RotateImmediately false; the data stack's RotationSchedule) runs testSecret alone on an
    AWSPENDING version it made, then removes it: no createSecret ran, so that version has no value
    of its own (none, or AWSCURRENT's). Nothing was rotated and there is nothing new to log in
    with; it passes without a connection, so the check cannot fail on a database the function
    cannot reach yet or a user that does not exist yet (docs/provisioning.md)."""
    raw = rotation.pending_value()
    if raw is None or _same_login(raw, rotation.current()):
        return rotation.result(
            False,
            f"AWSPENDING version {rotation.token} holds no new credentials (createSecret did not run: "
            "Secrets Manager's check of the rotation configuration): nothing to test",
        )
    pending = rotation.pending()
    credentials = pending.credentials()
    try:
        rotation.database.run_test_query(credentials)
    except CredentialsRejected:
        raise CredentialsRejected(
            f"{credentials.endpoint} refused the AWSPENDING credentials of secret "
            f"{rotation.secret_id} (user {pending.username}): setSecret did not take effect"
        ) from None
    target = f" and queried database {pending.dbname}" if pending.dbname else ""
    return rotation.result(False, f"AWSPENDING user {pending.username} logged in{target}")


def _same_login(raw: str, current: DatabaseSecret) -> bool:
    """Whether a version's value has AWSCURRENT's username and password (its other keys aside: the
    check's copy may predate the connection details attached later)."""
    try:
        value = json.loads(raw)
    except ValueError:
        return False
    return (
        isinstance(value, dict)
        and value.get("username") == current.username
        and value.get("password") == current.password.get_secret_value()
    )


def _finish(rotation: _Rotation) -> StepResult:
    """Stage the token AWSCURRENT; the old AWSCURRENT becomes AWSPREVIOUS.

    Two finishSecret for one token can race (a retry overlapping a slow first attempt): both read
    AWSCURRENT on the old version, one moves it and Secrets Manager refuses the other's move.
    That one finds the token AWSCURRENT and has nothing left to do.
    """
    previous = rotation.description.version_with(AWSCURRENT)
    if rotation.secrets.move_current(rotation.secret_id, to_version=rotation.token, from_version=previous):
        return rotation.result(True, f"AWSCURRENT moved to {rotation.token} (AWSPREVIOUS is now {previous})")
    now = rotation.secrets.describe(rotation.secret_id)
    if AWSCURRENT in (now.stages_of(rotation.token) or ()):
        return rotation.result(
            False, f"version {rotation.token} became AWSCURRENT meanwhile (a concurrent finishSecret)"
        )
    raise TokenNotPending(
        f"AWSCURRENT of secret {rotation.secret_id} moved from version {previous} to "
        f"{now.version_with(AWSCURRENT)} while this rotation finished: the secret was changed outside "
        f"the rotation; version {rotation.token} was not made AWSCURRENT"
    )


_STEPS: dict[Step, Callable[[_Rotation], StepResult]] = {
    "createSecret": _create,
    "setSecret": _set,
    "testSecret": _test,
    "finishSecret": _finish,
}
