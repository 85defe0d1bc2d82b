"""The rotation contract (petclinic_ops.domain.rotation) against in-memory fakes of both ports
(tests/fakes.py: they follow Secrets Manager's and MySQL's rules closely enough to catch
contract slips)."""

from __future__ import annotations

import json
import re
import shlex
import string
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fakes import HOST, PORT, FakeDatabase, FakeSecrets, SecretVersion, User
from hypothesis import given, settings
from hypothesis import strategies as st

from petclinic_ops.adapters.mysql import quote_account, rewrite_grant, tls_requirement
from petclinic_ops.domain.rotation import (
    MAX_USERNAME_LENGTH,
    USERNAME_PATTERN,
    alternate_username,
    rotate,
    same_database,
)
from petclinic_ops.errors import (
    CredentialsRejected,
    DatabaseUnreachable,
    InvalidConfiguration,
    InvalidSecret,
    RotationNotEnabled,
    SuperuserCredentialsRejected,
    TokenNotPending,
)
from petclinic_ops.models.rotation import (
    AWSCURRENT,
    AWSPREVIOUS,
    DEFAULT_EXCLUDE_CHARACTERS,
    DatabaseSecret,
    RotationEvent,
    RotationSettings,
    SecretDescription,
    StepResult,
)
from petclinic_ops.settings import RotateSecretSettings

SECRET = "arn:aws:secretsmanager:us-west-2:123456789012:secret:petclinic/dev/db/app-AbCdEf"
MASTER = "arn:aws:secretsmanager:us-west-2:123456789012:secret:petclinic/dev/db/master-XyZ123"
APP_PASSWORD = "app-Password-0ld"
MASTER_PASSWORD = "master-Password-1"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
ALLOWED = "".join(
    c
    for c in string.ascii_letters + string.digits + string.punctuation
    if c not in DEFAULT_EXCLUDE_CHARACTERS
)


# --------------------------------------------------------------------------- helpers


def app_secret(**changes: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "engine": "mysql",
        "host": HOST,
        "port": PORT,
        "username": "petclinic",
        "password": APP_PASSWORD,
        "dbname": "petclinic",
        "masterarn": MASTER,
        "dbClusterIdentifier": "petclinic",
        "jdbcOptions": {"useSSL": True, "serverTimezone": "UTC"},
    }
    value.update(changes)
    return {key: item for key, item in value.items() if item is not None}


@dataclass
class World:
    secrets: FakeSecrets
    database: FakeDatabase
    settings: RotationSettings = field(default_factory=RotationSettings)

    def step(self, step: str, token: str, secret_id: str = SECRET) -> StepResult:
        event = RotationEvent.model_validate(
            {"SecretId": secret_id, "ClientRequestToken": token, "Step": step}
        )
        return rotate(event, secrets=self.secrets, database=self.database, settings=self.settings)

    def rotate_fully(self, secret_id: str = SECRET) -> str:
        token = self.secrets.start_rotation(secret_id)
        for step in STEPS:
            self.step(step, token, secret_id)
        self.secrets.end_rotation(secret_id, token)
        return token

    def logs_in(self, stage: str) -> bool:
        value = self.secrets.value(SECRET, stage)
        return self.database.logs_in(value["username"], value["password"])


def master_secret(**changes: Any) -> dict[str, Any]:
    """As RDS creates it: engine, host, port, username, password."""
    value: dict[str, Any] = {
        "engine": "mysql",
        "host": HOST,
        "port": PORT,
        "username": "admin",
        "password": MASTER_PASSWORD,
    }
    value.update(changes)
    return {key: item for key, item in value.items() if item is not None}


def world(secret: dict[str, Any] | str | None = None, **settings: Any) -> World:
    secrets = FakeSecrets()
    secrets.create(SECRET, app_secret() if secret is None else secret)
    secrets.create(MASTER, master_secret())
    database = FakeDatabase()
    database.users["admin"] = User(MASTER_PASSWORD, {"ALL PRIVILEGES ON *.*"}, superuser=True)
    database.users["petclinic"] = User(APP_PASSWORD, {"SELECT, INSERT, UPDATE, DELETE ON petclinic.*"})
    return World(secrets, database, RotationSettings(**settings))


# --------------------------------------------------------------------------- full rotations


def test_alternating_rotation_moves_to_the_clone_and_keeps_the_old_login_working() -> None:
    w = world()
    w.rotate_fully()

    current, previous = w.secrets.value(SECRET, AWSCURRENT), w.secrets.value(SECRET, AWSPREVIOUS)
    assert current["username"] == "petclinic_clone"
    assert previous == app_secret()
    assert w.logs_in(AWSCURRENT)
    assert w.logs_in(AWSPREVIOUS)
    assert w.database.users["petclinic_clone"].grants == w.database.users["petclinic"].grants
    # Everything but the login is kept, unknown keys included.
    assert {k: v for k, v in current.items() if k not in ("username", "password")} == {
        k: v for k, v in app_secret().items() if k not in ("username", "password")
    }
    assert len(current["password"]) == 32
    assert not set(current["password"]) & set(DEFAULT_EXCLUDE_CHARACTERS)


def test_the_second_alternating_rotation_goes_back_to_the_base_user() -> None:
    w = world()
    w.rotate_fully()
    clone_login = w.secrets.value(SECRET, AWSCURRENT)
    w.rotate_fully()

    current = w.secrets.value(SECRET, AWSCURRENT)
    assert current["username"] == "petclinic"
    assert current["password"] != APP_PASSWORD
    assert w.secrets.value(SECRET, AWSPREVIOUS) == clone_login
    assert w.logs_in(AWSCURRENT)
    assert w.logs_in(AWSPREVIOUS)
    assert not w.database.logs_in("petclinic", APP_PASSWORD)


def test_single_user_rotation_changes_the_users_own_password() -> None:
    w = world(app_secret(masterarn=None))
    w.rotate_fully()

    current = w.secrets.value(SECRET, AWSCURRENT)
    assert current["username"] == "petclinic"
    assert w.logs_in(AWSCURRENT)
    assert not w.logs_in(AWSPREVIOUS)
    assert set(w.database.users) == {"admin", "petclinic"}
    assert w.database.writes == [("own password", "petclinic")]


def test_the_single_strategy_can_be_chosen_for_a_secret_with_a_masterarn() -> None:
    w = world(strategy="single")
    w.rotate_fully()

    assert w.secrets.value(SECRET, AWSCURRENT)["username"] == "petclinic"
    assert "petclinic_clone" not in w.database.users
    assert w.logs_in(AWSCURRENT)
    assert not w.logs_in(AWSPREVIOUS)


def test_a_rotation_that_started_on_the_clone_alternates_back() -> None:
    w = world(app_secret(username="petclinic_clone"))
    w.database.users["petclinic_clone"] = w.database.users.pop("petclinic")
    w.rotate_fully()

    assert w.secrets.value(SECRET, AWSCURRENT)["username"] == "petclinic"
    assert w.logs_in(AWSCURRENT)
    assert w.logs_in(AWSPREVIOUS)


@pytest.mark.parametrize("strategy", ["alternating", "single"])
def test_a_rotation_logs_in_three_times(strategy: str) -> None:
    """The AWSPENDING login (refused), the session that sets the password, the test session."""
    w = world(strategy=strategy)
    w.rotate_fully()
    admin = "admin" if strategy == "alternating" else "petclinic"
    pending = w.secrets.value(SECRET, AWSCURRENT)["username"]
    assert [c.username for c in w.database.offered] == [pending, admin, pending]


# --------------------------------------------------------------------------- retries


@pytest.mark.parametrize("strategy", ["alternating", "single"])
def test_each_step_run_twice_changes_nothing_the_second_time(strategy: str) -> None:
    w = world(strategy=strategy)
    token = w.secrets.start_rotation(SECRET)
    for step in STEPS:
        first = w.step(step, token)
        writes = (list(w.secrets.writes), list(w.database.writes))
        second = w.step(step, token)
        assert not second.changed, f"{step} changed something on its retry: {second.detail}"
        assert (w.secrets.writes, w.database.writes) == writes
        assert first.step == second.step == step
    assert w.logs_in(AWSCURRENT)


def test_steps_for_a_version_that_is_already_current_do_nothing() -> None:
    w = world()
    token = w.secrets.start_rotation(SECRET)
    for step in STEPS:
        w.step(step, token)
    writes = (list(w.secrets.writes), list(w.database.writes))
    for step in STEPS:
        result = w.step(step, token)
        assert not result.changed
        assert "already AWSCURRENT" in result.detail
    assert (w.secrets.writes, w.database.writes) == writes


def test_set_secret_completes_a_clone_left_half_made() -> None:
    """A crash after the clone was created (no grants, throwaway password) is repaired by the retry."""
    w = world()
    token = w.secrets.start_rotation(SECRET)
    w.step("createSecret", token)
    w.database.users["petclinic_clone"] = User(password="throwaway", grants=set())

    assert w.step("setSecret", token).changed
    assert w.database.users["petclinic_clone"].grants == w.database.users["petclinic"].grants
    w.step("testSecret", token)
    w.step("finishSecret", token)
    assert w.logs_in(AWSCURRENT)
    assert w.logs_in(AWSPREVIOUS)


def test_single_user_set_secret_retried_after_the_database_changed_is_a_no_op() -> None:
    w = world(strategy="single")
    token = w.secrets.start_rotation(SECRET)
    w.step("createSecret", token)
    w.step("setSecret", token)
    # The AWSCURRENT password no longer works: only the pending one does.
    assert not w.logs_in(AWSCURRENT)
    result = w.step("setSecret", token)
    assert not result.changed
    assert "already works" in result.detail


def answer_once(w: World, description: SecretDescription, monkeypatch: pytest.MonkeyPatch) -> None:
    """The next DescribeSecret answers ``description``: what a racing step read earlier."""
    describe, answers = w.secrets.describe, iter([description])
    monkeypatch.setattr(w.secrets, "describe", lambda secret_id: next(answers, None) or describe(secret_id))


def test_a_finish_secret_that_lost_the_race_for_its_own_token_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = world()
    token = w.secrets.start_rotation(SECRET)
    for step in STEPS[:3]:
        w.step(step, token)
    before = w.secrets.describe(SECRET)
    assert w.step("finishSecret", token).changed  # the other one, first to move AWSCURRENT
    writes = list(w.secrets.writes)
    answer_once(w, before, monkeypatch)  # this one had read AWSCURRENT before that move

    result = w.step("finishSecret", token)
    assert not result.changed
    assert "became AWSCURRENT meanwhile" in result.detail
    assert w.secrets.writes == writes


def test_a_finish_secret_racing_another_change_of_awscurrent_fails_clearly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = world()
    token = w.secrets.start_rotation(SECRET)
    for step in STEPS[:3]:
        w.step(step, token)
    before = w.secrets.describe(SECRET)
    original = before.version_with(AWSCURRENT)
    assert original is not None
    w.secrets.secrets[SECRET]["elsewhere"] = SecretVersion(json.dumps(app_secret()), set())
    assert w.secrets.move_current(SECRET, to_version="elsewhere", from_version=original)  # by hand
    answer_once(w, before, monkeypatch)

    with pytest.raises(TokenNotPending, match=f"moved from version {original} to elsewhere"):
        w.step("finishSecret", token)
    assert AWSCURRENT not in w.secrets.describe(SECRET).versions[token]


# --------------------------------------------------------------------------- the token and the secret's state


def test_a_secret_without_rotation_enabled_is_refused() -> None:
    w = world()
    w.secrets.rotation[SECRET] = False
    token = w.secrets.start_rotation(SECRET)
    with pytest.raises(RotationNotEnabled, match="rotation is not enabled on secret"):
        w.step("createSecret", token)


def test_an_unknown_token_is_refused() -> None:
    w = world()
    w.secrets.start_rotation(SECRET)
    with pytest.raises(TokenNotPending, match="is not a version of secret"):
        w.step("createSecret", str(uuid.uuid4()))


def test_a_token_that_is_not_pending_is_refused() -> None:
    w = world()
    first = w.rotate_fully()
    w.rotate_fully()  # first is now AWSPREVIOUS
    for step in STEPS:
        with pytest.raises(TokenNotPending, match="not staged AWSPENDING"):
            w.step(step, first)


def test_set_secret_before_create_secret_says_so() -> None:
    w = world()
    token = w.secrets.start_rotation(SECRET)
    with pytest.raises(TokenNotPending, match="createSecret has not run"):
        w.step("setSecret", token)


# --------------------------------------------------------------------------- wrong shapes, wrong credentials


@pytest.mark.parametrize("key", ["engine", "host", "username", "password"])
def test_a_secret_without_a_required_key_names_the_key(key: str) -> None:
    w = world(app_secret(**{key: None}))
    token = w.secrets.start_rotation(SECRET)
    with pytest.raises(InvalidSecret, match=rf"{key}: is required") as error:
        w.step("createSecret", token)
    assert SECRET in str(error.value)
    assert "AWSCURRENT" in str(error.value)
    assert APP_PASSWORD not in str(error.value)


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (app_secret(engine="postgres"), r"engine: 'postgres' is not a MySQL engine"),
        (app_secret(port="not-a-port"), r"port: "),
        (app_secret(password=""), r"password: must not be empty"),
        (app_secret(host=12), r"host: "),
        ("not json", r"Invalid JSON"),
        (json.dumps(["a", "list"]), r"should be an object"),
    ],
)
def test_a_secret_in_the_wrong_shape_is_refused_without_echoing_it(secret: Any, message: str) -> None:
    w = world(secret)
    token = w.secrets.start_rotation(SECRET)
    with pytest.raises(InvalidSecret, match=message) as error:
        w.step("createSecret", token)
    assert APP_PASSWORD not in str(error.value)
    assert w.secrets.writes == []


@pytest.mark.parametrize("engine", ["mysql", "aurora-mysql", "mariadb", "MySQL"])
def test_mysql_engines_are_accepted(engine: str) -> None:
    w = world(app_secret(engine=engine))
    w.rotate_fully()
    assert w.secrets.value(SECRET, AWSCURRENT)["engine"] == engine


def test_alternating_without_a_masterarn_is_a_clear_error() -> None:
    w = world(app_secret(masterarn=None), strategy="alternating")
    token = w.secrets.start_rotation(SECRET)
    with pytest.raises(InvalidSecret, match="has no masterarn: ROTATION_STRATEGY=alternating needs"):
        w.step("createSecret", token)


def test_wrong_superuser_credentials_fail_set_secret_and_leave_the_current_login_alone() -> None:
    w = world()
    w.database.users["admin"].password = "changed-elsewhere"
    token = w.secrets.start_rotation(SECRET)
    w.step("createSecret", token)
    with pytest.raises(SuperuserCredentialsRejected) as error:
        w.step("setSecret", token)

    message = str(error.value)
    assert MASTER in message
    assert "refused the credentials of superuser secret" in message
    assert MASTER_PASSWORD not in message
    assert "changed-elsewhere" not in message
    assert w.database.writes == []
    assert w.logs_in(AWSCURRENT)


@pytest.mark.parametrize(
    ("master", "message"),
    [
        (None, "does not exist or has no AWSCURRENT value"),
        ({"username": "admin"}, "password: is required"),
        ("{", "Invalid JSON"),
    ],
)
def test_a_broken_superuser_secret_is_named(master: Any, message: str) -> None:
    w = world()
    if master is None:
        del w.secrets.secrets[MASTER]
    else:
        w.secrets.create(MASTER, master)
    token = w.secrets.start_rotation(SECRET)
    w.step("createSecret", token)
    with pytest.raises(InvalidSecret, match=message) as error:
        w.step("setSecret", token)
    assert MASTER in str(error.value)
    assert w.logs_in(AWSCURRENT)


def test_single_user_with_a_password_changed_elsewhere_fails_clearly() -> None:
    w = world(strategy="single")
    w.database.users["petclinic"].password = "changed-elsewhere"
    token = w.secrets.start_rotation(SECRET)
    w.step("createSecret", token)
    with pytest.raises(CredentialsRejected, match="refused both the AWSCURRENT and the AWSPENDING"):
        w.step("setSecret", token)


@pytest.mark.parametrize(
    ("pending", "message"),
    [
        # The alternating strategy never touches the AWSCURRENT user's password.
        ({}, "expects 'petclinic_clone'"),
        (
            {"username": "petclinic_clone", "host": "elsewhere.example.com"},
            r"points to elsewhere\.example\.com:3306",
        ),
    ],
    ids=["the-current-user", "another-host"],
)
def test_a_pending_version_set_secret_must_not_apply_is_refused(
    pending: dict[str, Any], message: str
) -> None:
    w = world()
    token = w.secrets.start_rotation(SECRET)
    w.secrets.put_pending(SECRET, token, json.dumps(app_secret(password="new-Password-2", **pending)))
    with pytest.raises(InvalidSecret, match=message):
        w.step("setSecret", token)
    assert w.logs_in(AWSCURRENT)
    assert w.database.writes == []
    assert w.database.offered == []  # refused before any login


def test_test_secret_fails_when_the_pending_login_does_not_work() -> None:
    w = world()
    token = w.secrets.start_rotation(SECRET)
    w.step("createSecret", token)
    with pytest.raises(CredentialsRejected, match=r"testSecret: .* refused the AWSPENDING credentials"):
        w.step("testSecret", token)


def test_the_configuration_check_passes_without_a_connection() -> None:
    """RotateSecret without rotating now (the data stack's RotationSchedule) runs testSecret alone
    on an AWSPENDING version that holds no new credentials (none, or AWSCURRENT's): it passes
    without logging in, so it cannot fail on a database not reachable yet or a user not created
    yet. A version with new credentials is still tested (the test above)."""
    w = world()
    w.database.port = 3307  # nothing answers: any login attempt would fail
    empty = w.secrets.start_rotation(SECRET)
    result = w.step("testSecret", empty)
    assert result.changed is False
    assert "nothing to test" in result.detail
    w.secrets.end_rotation(SECRET, empty)
    copy = str(uuid.uuid4())
    w.secrets.put_pending(SECRET, copy, json.dumps(app_secret()))
    assert w.step("testSecret", copy).changed is False
    assert w.database.offered == []  # no login attempted
    w.secrets.secrets[SECRET].pop(copy)
    token = w.secrets.start_rotation(SECRET)
    w.step("createSecret", token)
    with pytest.raises(DatabaseUnreachable):
        w.step("testSecret", token)


def test_an_unreachable_database_names_host_and_port() -> None:
    w = world()
    w.database.port = 3307
    token = w.secrets.start_rotation(SECRET)
    w.step("createSecret", token)
    with pytest.raises(DatabaseUnreachable, match=rf"{HOST}:3306"):
        w.step("setSecret", token)


def test_a_username_too_long_to_alternate_fails_in_create_secret() -> None:
    w = world(app_secret(username="u" * 27))
    token = w.secrets.start_rotation(SECRET)
    with pytest.raises(InvalidSecret, match="too long to alternate"):
        w.step("createSecret", token)


# ------------------------------------------------------------------------ where the superuser password goes

IMPOSTOR = "db.attacker.example.com"
READER = "petclinic.cluster-ro-abc.us-west-2.rds.amazonaws.com"


def test_the_superuser_password_never_goes_to_the_application_secrets_host() -> None:
    """A secret pointing elsewhere must not make the function log in there as the superuser."""
    w = world(app_secret(host=IMPOSTOR))
    w.database.impostors.add(f"{IMPOSTOR}:{PORT}")
    token = w.secrets.start_rotation(SECRET)
    w.step("createSecret", token)
    with pytest.raises(InvalidSecret) as error:
        w.step("setSecret", token)

    message = str(error.value)
    assert f"{IMPOSTOR}:{PORT}" in message
    assert f"{HOST}:{PORT}" in message
    assert MASTER in message
    assert w.database.sent_to(MASTER_PASSWORD) == set()
    assert w.database.writes == []


def test_the_superuser_logs_in_at_its_own_secrets_host() -> None:
    """An application secret on the reader endpoint: the superuser goes to the writer (its host)."""
    w = world(app_secret(host=READER))
    w.database.aliases.add(f"{READER}:{PORT}")
    w.rotate_fully()

    assert w.database.sent_to(MASTER_PASSWORD) == {f"{HOST}:{PORT}"}
    assert w.secrets.value(SECRET, AWSCURRENT)["host"] == READER
    assert w.logs_in(AWSCURRENT)
    assert w.logs_in(AWSPREVIOUS)


def test_a_superuser_secret_without_a_host_is_refused() -> None:
    w = world()
    w.secrets.create(MASTER, master_secret(host=None))
    token = w.secrets.start_rotation(SECRET)
    w.step("createSecret", token)
    with pytest.raises(InvalidSecret, match=r"superuser secret .* host: is required"):
        w.step("setSecret", token)
    assert w.database.sent_to(MASTER_PASSWORD) == set()


WRITER_ENDPOINT = "petclinic.cluster-c9abcdefgh.us-west-2.rds.amazonaws.com"
READER_ENDPOINT = "petclinic.cluster-ro-c9abcdefgh.us-west-2.rds.amazonaws.com"


@pytest.mark.parametrize(
    ("application", "superuser", "same"),
    [
        (("db.example.com", 3306), ("db.example.com", 3306), True),
        (("DB.Example.com.", 3306), ("db.example.com", 3306), True),  # DNS names are case-insensitive
        ((READER_ENDPOINT, 3306), (WRITER_ENDPOINT, 3306), True),
        ((WRITER_ENDPOINT, 3306), (READER_ENDPOINT, 3306), True),
        ((WRITER_ENDPOINT.replace("us-west-2", "cn-north-1") + ".cn", 3306), (WRITER_ENDPOINT, 3306), False),
        (("db.example.com", 3306), ("db.example.com", 3307), False),  # another server on that host
        (("localhost", 3306), ("127.0.0.1", 3306), False),  # the same only by configuration: not provable
        ((READER_ENDPOINT, 3306), (WRITER_ENDPOINT.replace("petclinic.", "other."), 3306), False),
        ((READER_ENDPOINT, 3306), (WRITER_ENDPOINT.replace("c9abcdefgh", "c9zzzzzzzz"), 3306), False),
        ((READER_ENDPOINT, 3306), (WRITER_ENDPOINT.replace("us-west-2", "us-east-1"), 3306), False),
        # An instance endpoint, a custom endpoint: which cluster they belong to is not in the name.
        (("petclinic-1.c9abcdefgh.us-west-2.rds.amazonaws.com", 3306), (WRITER_ENDPOINT, 3306), False),
        (
            ("petclinic.cluster-custom-c9abcdefgh.us-west-2.rds.amazonaws.com", 3306),
            (WRITER_ENDPOINT, 3306),
            False,
        ),
        (
            ("petclinic.cluster-c9abcdefgh.us-west-2.rds.amazonaws.com.attacker.com", 3306),
            (WRITER_ENDPOINT, 3306),
            False,
        ),
    ],
)
def test_which_hosts_are_the_superusers_database(
    application: tuple[str, int], superuser: tuple[str, int], same: bool
) -> None:
    assert same_database(application, superuser) is same


# --------------------------------------------------------------------------- configuration


def test_errors_name_the_failing_step() -> None:
    w = world()
    token = w.secrets.start_rotation(SECRET)
    w.secrets.rotation[SECRET] = False
    with pytest.raises(RotationNotEnabled, match=r"^finishSecret: rotation is not enabled"):
        w.step("finishSecret", token)


def test_the_sample_event_is_a_rotation_event() -> None:
    raw = json.loads((Path(__file__).resolve().parents[2] / "events" / "rotation-step.json").read_text())
    event = RotationEvent.model_validate(raw)
    assert event.step == "createSecret"
    assert event.client_request_token == raw["ClientRequestToken"]


def test_settings_from_the_environment() -> None:
    assert RotateSecretSettings.from_environ({}).rotation() == RotationSettings()
    assert RotateSecretSettings.from_environ({"ROTATION_STRATEGY": ""}).rotation() == RotationSettings()
    assert (
        RotateSecretSettings.from_environ({"ROTATION_STRATEGY": " Single "}).rotation().strategy == "single"
    )
    assert RotateSecretSettings.from_environ(
        {"ROTATION_STRATEGY": "alternating", "EXCLUDE_CHARACTERS": "ab"}
    ).rotation() == RotationSettings(strategy="alternating", exclude_characters="ab")
    defaults = RotateSecretSettings.from_environ({})
    assert (defaults.tls, defaults.db_ca_bundle, defaults.db_connect_timeout) == (True, None, 5.0)
    assert RotateSecretSettings.from_environ({"DB_TLS": ""}).tls
    assert not RotateSecretSettings.from_environ({"DB_TLS": "Disabled"}).tls
    bundle = Path(__file__)
    configured = RotateSecretSettings.from_environ({"DB_CA_BUNDLE": str(bundle), "DB_CONNECT_TIMEOUT": "2.5"})
    assert (configured.db_ca_bundle, configured.db_connect_timeout) == (bundle, 2.5)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"ROTATION_STRATEGY": "multi"}, "ROTATION_STRATEGY: Input should be 'alternating' or 'single'"),
        ({"DB_TLS": "enabled"}, "DB_TLS: Input should be 'required' or 'disabled'"),
        ({"DB_CA_BUNDLE": "/no/such/bundle.pem"}, "DB_CA_BUNDLE: Path does not point to a file"),
        ({"DB_CONNECT_TIMEOUT": "0"}, "DB_CONNECT_TIMEOUT: Input should be greater than 0"),
        ({"DB_CONNECT_TIMEOUT": "301"}, "DB_CONNECT_TIMEOUT: Input should be less than or equal to 300"),
        ({"DB_CONNECT_TIMEOUT": "soon"}, "DB_CONNECT_TIMEOUT: Input should be a valid number"),
    ],
)
def test_a_bad_setting_names_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidConfiguration, match=re.escape(f"environment variable {message}")):
        RotateSecretSettings.from_environ(environ)


# --------------------------------------------------------------------------- properties

usernames = st.from_regex(r"[A-Za-z0-9_$][A-Za-z0-9_$.-]{0,24}", fullmatch=True).filter(
    lambda name: name.removesuffix("_clone") != ""
)


@given(usernames)
def test_alternating_usernames_form_a_pair(username: str) -> None:
    other = alternate_username(username)
    assert other != username
    assert alternate_username(other) == username
    assert {username, other} == {username.removesuffix("_clone"), username.removesuffix("_clone") + "_clone"}
    assert len(other) <= MAX_USERNAME_LENGTH


@given(st.text(min_size=1, max_size=40).filter(lambda n: "'" not in n and "`" not in n))
def test_usernames_outside_the_plain_set_are_refused_or_alternated(username: str) -> None:
    base = username.removesuffix("_clone")
    if base and USERNAME_PATTERN.match(base) and len(base) + len("_clone") <= MAX_USERNAME_LENGTH:
        assert alternate_username(alternate_username(username)) == username
    else:
        with pytest.raises(InvalidSecret, match=r"cannot be alternated|too long"):
            alternate_username(username)


@given(st.text(alphabet=ALLOWED, min_size=1, max_size=64))
def test_generated_passwords_need_no_escaping_anywhere(password: str) -> None:
    assert set(ALLOWED) == set(string.ascii_letters + string.digits + "-_.")
    assert quote(password, safe="") == password  # URL / JDBC URL userinfo
    assert shlex.quote(password) == password  # shell and env files
    assert "${" not in password  # Spring placeholders
    assert not set(password) & set("'\"\\`%")  # MySQL literals and LIKE patterns


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=50)
@given(
    st.dictionaries(st.text(min_size=1, max_size=12), json_values, max_size=4),
    st.text(alphabet=ALLOWED, min_size=1),
)
def test_unknown_keys_survive_the_pending_version(extra: dict[str, Any], password: str) -> None:
    extra = {key: value for key, value in extra.items() if key not in DatabaseSecret.model_fields}
    raw = json.dumps({**app_secret(), **extra})
    pending = json.loads(
        DatabaseSecret.model_validate_json(raw).with_login("petclinic_clone", password).to_secret_string()
    )
    assert pending == {**app_secret(), **extra, "username": "petclinic_clone", "password": password}


def test_credentials_never_show_the_password() -> None:
    secret = DatabaseSecret.model_validate(app_secret())
    assert APP_PASSWORD not in repr(secret) + str(secret) + repr(secret.credentials())


# --------------------------------------------------------------------------- grant statements (MySQL adapter)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (  # MariaDB: the password hash is dropped, REQUIRE and limits kept
            "GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*2B6' "
            "REQUIRE SSL WITH MAX_USER_CONNECTIONS 9",
            "GRANT USAGE ON *.* TO `app_clone`@`%` REQUIRE SSL WITH MAX_USER_CONNECTIONS 9",
        ),
        (
            "GRANT SELECT, INSERT ON `app`.* TO `app`@`%`",
            "GRANT SELECT, INSERT ON `app`.* TO `app_clone`@`%`",
        ),
        (
            "GRANT UPDATE (`a`) ON `db`.`t` TO `app`@`%` WITH GRANT OPTION",
            "GRANT UPDATE (`a`) ON `db`.`t` TO `app_clone`@`%` WITH GRANT OPTION",
        ),
        ("GRANT `reader` TO `app`@`%`", "GRANT `reader` TO `app_clone`@`%`"),
        ("SET DEFAULT ROLE `reader` FOR `app`@`%`", "SET DEFAULT ROLE `reader` FOR `app_clone`@`%`"),
        ("REVOKE INSERT ON `mysql`.* FROM `app`@`%`", "REVOKE INSERT ON `mysql`.* FROM `app_clone`@`%`"),
        (
            "GRANT SELECT ON `x TO y`.* TO 'app'@'%'",
            "GRANT SELECT ON `x TO y`.* TO 'app_clone'@'%'",
        ),  # MySQL 5.7
        (
            "GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED VIA ed25519 USING 'abc' WITH GRANT OPTION",
            "GRANT USAGE ON *.* TO `app_clone`@`%` WITH GRANT OPTION",
        ),
    ],
)
def test_grant_lines_are_rewritten_for_the_other_user(line: str, expected: str) -> None:
    assert rewrite_grant(line, "app", "app_clone", "%") == expected


def test_a_grant_line_for_someone_else_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError, match="does not name `app`@`%`") as error:
        rewrite_grant(
            "GRANT USAGE ON *.* TO `other`@`%` IDENTIFIED BY PASSWORD '*SECRETHASH'", "app", "app_clone", "%"
        )
    assert "SECRETHASH" not in str(error.value)


@given(usernames, st.sampled_from(["%", "10.0.%", "localhost"]))
def test_grant_rewriting_round_trips(user: str, host: str) -> None:
    line = f"GRANT SELECT ON `petclinic`.* TO {quote_account(user, host)}"
    clone = rewrite_grant(line, user, user + "_x", host)
    assert rewrite_grant(clone, user + "_x", user, host) == line


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (
            "CREATE USER `a`@`%` IDENTIFIED WITH 'caching_sha2_password' AS '$A$' REQUIRE NONE ACCOUNT LOCK",
            None,
        ),
        ("CREATE USER `a`@`%` IDENTIFIED BY PASSWORD '*AB' REQUIRE SSL", "SSL"),
        ("CREATE USER `a`@`%` IDENTIFIED WITH 'x' AS 'y' REQUIRE X509 PASSWORD EXPIRE DEFAULT", "X509"),
        (
            "CREATE USER `a`@`%` REQUIRE ISSUER '/C=FI/O=x' AND SUBJECT '/CN=app' PASSWORD EXPIRE DEFAULT",
            "ISSUER '/C=FI/O=x' AND SUBJECT '/CN=app'",
        ),
        ("CREATE USER `a`@`%` IDENTIFIED BY PASSWORD '*AB'", None),
    ],
)
def test_the_tls_requirement_is_read_from_show_create_user(statement: str, expected: str | None) -> None:
    assert tls_requirement(statement) == expected
