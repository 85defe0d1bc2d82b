"""The rotation function end to end: the real handler, moto's Secrets Manager and a real MariaDB.

The handler is imported as Lambda imports it: functions/rotate_secret and layers/shared on
sys.path, app.py loaded from its folder. Secrets Manager is moto 5.2.5 (``mock_aws``) with
every gap of ``petclinic_local.moto_compat`` closed, so it behaves as AWS does; the database is
the server of the ``mysql_admin`` fixture (tests/conftest.py), without TLS, so the tests set the
explicit opt-out DB_TLS=disabled (one test shows TLS is on by default).

How rotations are driven: ``Harness`` is the ``moto_compat.Hooks`` of these tests, and holds no
moto workaround of its own (those live in moto_compat only).
- ``RotateSecret`` with a RotationLambdaARN (a moto Lambda function exists for it) creates the
  new version staged AWSPENDING and, as AWS does after answering, invokes the function once per
  step, in order, and stops at the first step that errors (AWSCURRENT then stays); after four
  successful steps it takes AWSPENDING off the new version. ``Harness.background`` runs that work
  at once, so it has finished when ``rotate_secret`` returns.
- ``Harness.invoke_function`` receives those invocations: ``run=`` chooses which steps run the
  real handler in-process; any other step errors as an invocation that timed out would, so it is
  the last one Secrets Manager invokes. The tests then call the handler for the remaining steps
  directly, with the same token, as a retry by Secrets Manager would.
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
import socket
import ssl
import subprocess
import sys
import threading
import uuid
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from mysql_wire import FakeMySQLServer
from pymysql.connections import Connection

from petclinic_local import moto_compat
from petclinic_local.cli.rotation import cancel_rotation
from petclinic_ops.adapters.mysql import MySQLDatabase, quote_account
from petclinic_ops.adapters.secrets_manager import SecretsManagerStore
from petclinic_ops.domain import rotation
from petclinic_ops.errors import (
    CleartextPasswordRefused,
    CredentialsRejected,
    DatabaseUnreachable,
    InvalidConfiguration,
    InvalidSecret,
    RotationNotEnabled,
    SuperuserCredentialsRejected,
    TokenNotPending,
)
from petclinic_ops.models.rotation import RotationEvent, RotationSettings, StepResult

pytestmark = pytest.mark.mysql

ROOT = Path(__file__).resolve().parents[2]
FUNCTION_DIR = ROOT / "functions" / "rotate_secret"
LAYER_DIR = ROOT / "layers" / "shared"
REGION = "us-west-2"
FUNCTION_NAME = "petclinic-ops-dev-rotate-secret"
FUNCTION_TIMEOUT_SECONDS = 30
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
APP_PASSWORD = "App-password-0ld-1234"
MASTER_PASSWORD = "Master-password-5678"
FUNCTION_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "rotate-secret",
    "POWERTOOLS_METRICS_NAMESPACE": "PetclinicOps",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def load_handler() -> ModuleType:
    """functions/rotate_secret/app.py, imported as the Lambda runtime would (/var/task and /opt/python)."""
    for path in (str(LAYER_DIR), str(FUNCTION_DIR)):
        if path not in sys.path:
            sys.path.insert(0, path)
    spec = importlib.util.spec_from_file_location("rotate_secret_app", FUNCTION_DIR / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class LambdaContext:
    function_name: str = FUNCTION_NAME
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{DEFAULT_ACCOUNT_ID}:function:{FUNCTION_NAME}"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@pytest.fixture(scope="module")
def app() -> Iterator[ModuleType]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FUNCTION_ENVIRONMENT.items():
            patch.setenv(name, value)
        yield load_handler()


@dataclass(frozen=True)
class Invocation:
    """One invocation of the function by Secrets Manager, and what the function answered."""

    event: dict[str, Any]
    payload: Any
    errored: bool


@dataclass
class Harness(moto_compat.InertHooks):
    """moto's Secrets Manager with the rotation function behind a moto Lambda ARN; the
    ``moto_compat.Hooks`` that run the function in-process."""

    app: ModuleType
    client: Any
    logs: io.StringIO
    function_arn: str = ""
    invocations: list[Invocation] = field(default_factory=list)
    run: frozenset[str] = frozenset(STEPS)
    failure: Exception | None = None
    time_scale: float = 1.0  # moto_compat.Hooks: no Step Functions here, nothing to scale

    # moto_compat.Hooks

    def has_function(self, function_name: str) -> bool:
        return function_name == FUNCTION_NAME

    def invoke_function(self, function_name: str, payload: Any) -> tuple[Any, bool, str]:
        """Secrets Manager invokes a step: the handler runs if the step is in ``run``, else the
        invocation times out. An exception is Lambda's error payload (``failure`` keeps it)."""
        assert function_name == FUNCTION_NAME
        start = len(self.logs.getvalue())
        context = LambdaContext()
        result: Any
        if payload["Step"] not in self.run:
            errored = True
            result = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"{context.aws_request_id} Task timed out after "
                f"{FUNCTION_TIMEOUT_SECONDS:.2f} seconds",
            }
        else:
            try:
                result, errored = self.app.lambda_handler(payload, context), False
            except Exception as exc:
                self.failure = exc
                result, errored = {"errorType": type(exc).__name__, "errorMessage": str(exc)}, True
        self.invocations.append(Invocation(payload, result, errored))
        return result, errored, self.logs.getvalue()[start:]

    def deployment_started(
        self, service: Any, deployment: dict[str, Any], previous: dict[str, Any] | None
    ) -> None:
        raise AssertionError("these tests start no ECS deployment")

    def background(self, work: Callable[[], None]) -> None:
        """RotateSecret's rotation runs to its end before rotate_secret returns."""
        work()

    # Secrets Manager

    def create_secret(self, name: str, value: dict[str, Any]) -> str:
        arn: str = self.client.create_secret(Name=name, SecretString=json.dumps(value))["ARN"]
        return arn

    def value(self, secret_id: str, stage: str = "AWSCURRENT") -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(
            self.client.get_secret_value(SecretId=secret_id, VersionStage=stage)["SecretString"]
        )
        return loaded

    def stages(self, secret_id: str) -> dict[str, list[str]]:
        stages: dict[str, list[str]] = self.client.describe_secret(SecretId=secret_id)["VersionIdsToStages"]
        return stages

    def version(self, secret_id: str, stage: str = "AWSCURRENT") -> str:
        (version,) = [v for v, stages in self.stages(secret_id).items() if stage in stages]
        return version

    def rotate(self, secret_id: str, run: tuple[str, ...] = STEPS) -> str:
        """RotateSecret; the steps in ``run`` run the handler in-process, any other times out.
        Checks that Secrets Manager invoked the steps in order with RotateSecret's token, up to
        the first that errored (timed out or failed) or all four. Returns the token."""
        self.run, self.failure, first = frozenset(run), None, len(self.invocations)
        arn = self.client.describe_secret(SecretId=secret_id)["ARN"]
        token: str = self.client.rotate_secret(
            SecretId=secret_id,
            RotationLambdaARN=self.function_arn,
            RotationRules={"AutomaticallyAfterDays": 30},
        )["VersionId"]
        invocations = self.invocations[first:]
        assert [(i.event["SecretId"], i.event["ClientRequestToken"]) for i in invocations] == [
            (arn, token)
        ] * len(invocations)
        # In order from createSecret, ending at the first step not in ``run`` or that failed.
        expected = list(STEPS)
        for index, step in enumerate(STEPS):
            if step not in self.run or (index < len(invocations) and invocations[index].errored):
                expected = expected[: index + 1]
                break
        assert [i.event["Step"] for i in invocations] == expected
        assert (self.failure is not None) == any(
            i.errored and i.event["Step"] in self.run for i in invocations
        )
        return token

    @property
    def steps(self) -> list[str]:
        """The steps Secrets Manager invoked, in order, since the fixture started."""
        return [invocation.event["Step"] for invocation in self.invocations]

    # the function

    def invoke(self, step: str, token: str, secret_id: str) -> dict[str, Any]:
        """The handler called directly (a retry of the step by Secrets Manager): raises its errors."""
        event = {"SecretId": secret_id, "ClientRequestToken": token, "Step": step}
        result: dict[str, Any] = self.app.lambda_handler(event, LambdaContext())
        return result


def clear_caches(app: ModuleType) -> None:
    for cached in (app.settings, app.database, app.secrets_store):
        cached.cache_clear()


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def lambda_handler(event, context):\n    return None\n")
    return buffer.getvalue()


@pytest.fixture
def aws(app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    for name, value in FUNCTION_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DB_TLS", "disabled")  # the local server has no TLS: the explicit opt-out
    monkeypatch.setenv("DB_CONNECT_TIMEOUT", "3")
    monkeypatch.delenv("ROTATION_STRATEGY", raising=False)
    clear_caches(app)  # settings, adapters and boto3 client per test, as a fresh container would
    handler = app.logger.registered_handler
    logs = io.StringIO()
    previous_stream = handler.setStream(logs)
    try:
        with mock_aws(config={"lambda": {"use_docker": False}}):
            harness = Harness(app, boto3.client("secretsmanager"), logs)
            with moto_compat.install(harness):  # every gap: none gets in these tests' way
                role = boto3.client("iam").create_role(
                    RoleName="rotate-secret",
                    AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
                )["Role"]["Arn"]
                harness.function_arn = boto3.client("lambda").create_function(
                    FunctionName=FUNCTION_NAME,
                    Runtime="python3.11",
                    Role=role,
                    Handler="app.lambda_handler",
                    Code={"ZipFile": _zip()},
                    Timeout=FUNCTION_TIMEOUT_SECONDS,
                )["FunctionArn"]
                yield harness
    finally:
        handler.setStream(previous_stream)
        clear_caches(app)


@dataclass
class Database:
    """The test's users on the real server, and the secrets that describe them."""

    sandbox: Any
    app_user: str
    superuser: str

    def secret(self, **changes: Any) -> dict[str, Any]:
        value: dict[str, Any] = {
            "engine": "mariadb",
            "host": self.sandbox.server.host,
            "port": self.sandbox.server.port,
            "username": self.app_user,
            "password": APP_PASSWORD,
            "dbname": self.sandbox.database,
            "dbInstanceIdentifier": "petclinic-local",
            "jdbcParameters": {"useSSL": False, "serverTimezone": "UTC"},
        }
        value.update(changes)
        return {key: item for key, item in value.items() if item is not None}

    def master_secret(self, password: str = MASTER_PASSWORD) -> dict[str, Any]:
        return {
            "engine": "mariadb",
            "host": self.sandbox.server.host,
            "port": self.sandbox.server.port,
            "username": self.superuser,
            "password": password,
        }

    def logs_in(self, value: dict[str, Any]) -> bool:
        return bool(self.sandbox.can_login(value["username"], value["password"]))

    def normalised_grants(self, user: str) -> list[str]:
        """SHOW GRANTS with the grantee replaced and the password hash dropped, for comparison."""
        lines = [line.replace(quote_account(user, "%"), "<grantee>") for line in self.sandbox.grants(user)]
        return sorted(re.sub(r" IDENTIFIED BY PASSWORD '[^']*'", "", line) for line in lines)

    def accounts(self) -> list[tuple[Any, ...]]:
        """Every account of this test with its password hash: a retry must not change any."""
        pattern = self.sandbox.prefix + "\\_%"
        rows: list[tuple[Any, ...]] = self.sandbox.execute(
            "SELECT User, Host, authentication_string FROM mysql.user WHERE User LIKE %s ORDER BY User, Host",
            (pattern,),
        )
        return rows


@pytest.fixture
def db(mysql_sandbox: Any) -> Database:
    app_user = mysql_sandbox.create_user("app", APP_PASSWORD, grants=("SELECT, INSERT, UPDATE, DELETE",))
    superuser = mysql_sandbox.create_superuser("adm", MASTER_PASSWORD)
    return Database(mysql_sandbox, app_user, superuser)


def alternating_secret(aws: Harness, db: Database, **changes: Any) -> str:
    master = aws.create_secret(f"petclinic/test/master-{uuid.uuid4().hex[:6]}", db.master_secret(**changes))
    return aws.create_secret(f"petclinic/test/app-{uuid.uuid4().hex[:6]}", db.secret(masterarn=master))


# --------------------------------------------------------------------------- full rotations


def test_alternating_rotation_through_rotate_secret(aws: Harness, db: Database) -> None:
    secret = alternating_secret(aws, db)
    original = aws.version(secret)
    token = aws.rotate(secret)

    assert aws.failure is None
    current, previous = aws.value(secret), aws.value(secret, "AWSPREVIOUS")
    assert current["username"] == f"{db.app_user}_clone"
    assert previous == db.secret(masterarn=previous["masterarn"])
    assert db.logs_in(current)
    assert db.logs_in(previous)
    # Secrets Manager took AWSPENDING off the new version once the rotation succeeded.
    assert aws.stages(secret) == {token: ["AWSCURRENT"], original: ["AWSPREVIOUS"]}
    # The pending version kept every key but the login, unknown ones included.
    assert {k: v for k, v in current.items() if k not in ("username", "password")} == {
        k: v for k, v in previous.items() if k not in ("username", "password")
    }
    assert db.normalised_grants(current["username"]) == db.normalised_grants(db.app_user)

    # The next rotation goes back to the base user; the clone (now AWSPREVIOUS) keeps working.
    second = aws.rotate(secret)
    assert aws.failure is None
    assert aws.stages(secret)[second] == ["AWSCURRENT"]
    assert aws.stages(secret)[token] == ["AWSPREVIOUS"]
    again, clone = aws.value(secret), aws.value(secret, "AWSPREVIOUS")
    assert again["username"] == db.app_user
    assert clone == current
    assert db.logs_in(again)
    assert db.logs_in(clone)
    assert not db.logs_in(previous)  # the first password of the base user is gone

    logs = aws.logs.getvalue()
    for password in (APP_PASSWORD, MASTER_PASSWORD, current["password"], again["password"]):
        assert password not in logs
    records = [json.loads(line) for line in logs.splitlines()]
    done = [r for r in records if r["message"] == "rotation step done"]
    assert [r["step"] for r in done] == list(STEPS) * 2
    assert {r["correlation_id"] for r in done[:4]} == {token}
    assert {r["correlation_id"] for r in done[4:]} == {second}


@pytest.mark.parametrize(
    ("with_masterarn", "strategy"), [(False, None), (True, "single")], ids=["no-masterarn", "explicit-single"]
)
def test_single_user_rotation(
    aws: Harness, db: Database, monkeypatch: pytest.MonkeyPatch, with_masterarn: bool, strategy: str | None
) -> None:
    if strategy:
        monkeypatch.setenv("ROTATION_STRATEGY", strategy)
    secret = (
        alternating_secret(aws, db)
        if with_masterarn
        else aws.create_secret("petclinic/test/app", db.secret())
    )
    aws.rotate(secret)

    assert aws.failure is None
    current, previous = aws.value(secret), aws.value(secret, "AWSPREVIOUS")
    assert current["username"] == previous["username"] == db.app_user
    assert db.logs_in(current)
    assert not db.logs_in(previous)
    assert [row[0] for row in db.accounts()] == sorted([db.app_user, db.superuser])


@pytest.mark.parametrize("strategy", ["alternating", "single"])
def test_a_rotation_opens_three_database_connections(
    aws: Harness, db: Database, monkeypatch: pytest.MonkeyPatch, strategy: str
) -> None:
    """setSecret: the AWSPENDING login (refused: not set yet), then one session that changes the
    password; testSecret: one session that logs in and queries. A refused login counts."""
    monkeypatch.setenv("ROTATION_STRATEGY", strategy)
    secret = alternating_secret(aws, db)
    logins: list[str] = []
    original = Connection.connect

    def connect(self: Connection[Any], sock: Any = None) -> None:
        logins.append(self.user.decode() if isinstance(self.user, bytes) else self.user)
        original(self, sock)

    monkeypatch.setattr(Connection, "connect", connect)
    token = aws.rotate(secret)

    assert aws.failure is None
    superuser = db.superuser if strategy == "alternating" else db.app_user
    pending = aws.value(secret)["username"]
    assert [invocation.event["Step"] for invocation in aws.invocations] == list(STEPS)
    assert logins == [pending, superuser, pending]
    assert "already AWSCURRENT" in aws.invoke("setSecret", token, secret)["detail"]
    assert len(logins) == 3  # a late retry logs in nowhere


def test_metrics_count_steps_by_outcome(
    aws: Harness, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = alternating_secret(aws, db, password="wrong-password")
    token = aws.rotate(secret, run=("createSecret",))  # setSecret timed out: the last step invoked
    assert aws.steps == ["createSecret", "setSecret"]
    with pytest.raises(SuperuserCredentialsRejected):
        aws.invoke("setSecret", token, secret)

    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    metrics = [
        (name, doc["step"])
        for doc in emf
        for name in ("RotationStepsSucceeded", "RotationStepsFailed")
        if name in doc
    ]
    assert metrics == [("RotationStepsSucceeded", "createSecret"), ("RotationStepsFailed", "setSecret")]


# --------------------------------------------------------------------------- retries and interruptions


@pytest.mark.parametrize("strategy", ["alternating", "single"])
def test_each_step_twice_changes_nothing_the_second_time(
    aws: Harness, db: Database, monkeypatch: pytest.MonkeyPatch, strategy: str
) -> None:
    monkeypatch.setenv("ROTATION_STRATEGY", strategy)
    secret = alternating_secret(aws, db)
    # RotateSecret's version only: createSecret timed out, so Secrets Manager invoked no other
    # step and the version has no value yet. The steps are driven here.
    token = aws.rotate(secret, run=())
    assert aws.steps == ["createSecret"]

    for step in STEPS:
        first = aws.invoke(step, token, secret)
        state = (aws.stages(secret), aws.value(secret), db.accounts())
        second = aws.invoke(step, token, secret)
        assert (aws.stages(secret), aws.value(secret), db.accounts()) == state
        assert second["changed"] is False, second
        assert first["step"] == second["step"] == step
    for step in STEPS:
        assert "already AWSCURRENT" in aws.invoke(step, token, secret)["detail"]
    assert db.logs_in(aws.value(secret))


def test_a_rotation_interrupted_after_set_secret_resumes(aws: Harness, db: Database) -> None:
    secret = alternating_secret(aws, db)
    original = aws.version(secret)
    token = aws.rotate(secret, run=("createSecret", "setSecret"))  # testSecret timed out
    assert aws.steps == ["createSecret", "setSecret", "testSecret"]
    assert aws.invocations[-1].payload["errorType"] == "Sandbox.Timedout"
    assert aws.stages(secret) == {original: ["AWSCURRENT"], token: ["AWSPENDING"]}

    pending = aws.value(secret, "AWSPENDING")
    assert aws.value(secret)["username"] == db.app_user
    assert db.logs_in(aws.value(secret))
    assert db.logs_in(pending)

    # Secrets Manager retries the whole rotation with the same token: the steps already done
    # again (nothing to do), then the remaining ones.
    assert aws.invoke("createSecret", token, secret)["changed"] is False
    assert aws.value(secret, "AWSPENDING") == pending
    assert aws.invoke("setSecret", token, secret)["changed"] is False
    aws.invoke("testSecret", token, secret)
    aws.invoke("finishSecret", token, secret)
    assert aws.value(secret) == pending
    assert "AWSCURRENT" in aws.stages(secret)[token]
    assert aws.stages(secret)[original] == ["AWSPREVIOUS"]
    assert db.logs_in(aws.value(secret))
    assert db.logs_in(aws.value(secret, "AWSPREVIOUS"))


def test_two_finish_secrets_racing_on_one_token_both_end_cleanly(aws: Harness, db: Database) -> None:
    """Two execution environments run finishSecret for the same token at the same moment (a
    retry by Secrets Manager overlapping a slow first attempt): both read AWSCURRENT on the old
    version before either moves it. One moves it; the other must find it moved, not fail with
    UpdateSecretVersionStage's error."""
    secret = alternating_secret(aws, db)
    original = aws.version(secret)
    token = aws.rotate(secret, run=("createSecret", "setSecret", "testSecret"))  # finishSecret timed out
    event = RotationEvent.model_validate(
        {"SecretId": secret, "ClientRequestToken": token, "Step": "finishSecret"}
    )
    both_described = threading.Barrier(2, timeout=10)

    def finish() -> StepResult:
        client = boto3.client("secretsmanager")  # one client per execution environment
        first = threading.Event()

        def wait_for_the_other(**_: Any) -> None:  # after this client's first DescribeSecret
            if not first.is_set():
                first.set()
                both_described.wait()

        client.meta.events.register("after-call.secrets-manager.DescribeSecret", wait_for_the_other)
        return rotation.rotate(
            event,
            secrets=SecretsManagerStore(client),
            database=MySQLDatabase(tls=False),  # finishSecret does not connect
            settings=RotationSettings(),
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = [future.result() for future in [pool.submit(finish), pool.submit(finish)]]

    assert sorted(result.changed for result in results) == [False, True]
    assert set(aws.stages(secret)[token]) == {"AWSPENDING", "AWSCURRENT"}  # as after one finishSecret
    assert aws.stages(secret)[original] == ["AWSPREVIOUS"]
    assert db.logs_in(aws.value(secret))


def test_cancel_clears_a_rotation_whose_create_secret_never_ran(aws: Harness, db: Database) -> None:
    """createSecret timed out: AWSPENDING sits on a version without a value and blocks RotateSecret.
    `rotation cancel`'s core removes it (nothing to lose) and the next rotation succeeds."""
    secret = alternating_secret(aws, db)
    original = aws.version(secret)
    token = aws.rotate(secret, run=())
    with pytest.raises(
        aws.client.exceptions.InvalidRequestException, match="previous rotation isn't complete"
    ):
        aws.client.rotate_secret(SecretId=secret)

    outcome = cancel_rotation(aws.client, secret)
    assert (outcome.action, outcome.version) == ("removed", token)
    assert "AWSPENDING" not in aws.stages(secret).get(token, [])
    assert aws.rotate(secret) != token
    assert aws.failure is None
    assert aws.stages(secret)[original] == ["AWSPREVIOUS"]
    assert db.logs_in(aws.value(secret))


def test_a_half_made_clone_gets_its_grants_on_the_retry(aws: Harness, db: Database) -> None:
    """setSecret died after CREATE USER: the clone exists without grants and with another password."""
    db.sandbox.execute("CREATE USER %s@'%%' IDENTIFIED BY 'Half-made-9876'", (f"{db.app_user}_clone",))
    secret = alternating_secret(aws, db)
    aws.rotate(secret)

    assert aws.failure is None
    assert db.normalised_grants(f"{db.app_user}_clone") == db.normalised_grants(db.app_user)
    assert db.logs_in(aws.value(secret))


def test_the_clone_gets_column_role_and_limit_grants_too(aws: Harness, db: Database) -> None:
    role = db.sandbox.name("reader")
    table = f"`{db.sandbox.database}`.`owners`"
    statements = [
        (f"GRANT UPDATE (name) ON {table} TO %s@'%%' WITH GRANT OPTION", (db.app_user,)),
        ("GRANT USAGE ON *.* TO %s@'%%' WITH MAX_USER_CONNECTIONS 20", (db.app_user,)),
        ("CREATE ROLE %s", (role,)),
        # Like a master user that manages roles (MySQL 8: ROLE_ADMIN): it may grant the role on.
        ("GRANT %s TO %s@'%%' WITH ADMIN OPTION", (role, db.superuser)),
        (f"GRANT SELECT ON {table} TO %s", (role,)),
        ("GRANT %s TO %s@'%%'", (role, db.app_user)),
        ("SET DEFAULT ROLE %s FOR %s@'%%'", (role, db.app_user)),
    ]
    try:
        for statement, args in statements:
            db.sandbox.execute(statement, args)
        secret = alternating_secret(aws, db)
        aws.rotate(secret)
        assert aws.failure is None
        grants = db.normalised_grants(f"{db.app_user}_clone")
        assert grants == db.normalised_grants(db.app_user)
        assert any("SET DEFAULT ROLE" in line for line in grants)
        assert any("MAX_USER_CONNECTIONS 20" in line for line in grants)
    finally:
        db.sandbox.execute("DROP ROLE IF EXISTS %s", (role,))


# --------------------------------------------------------------------------- failures


def test_wrong_superuser_credentials_fail_clearly_and_current_keeps_working(
    aws: Harness, db: Database
) -> None:
    secret = alternating_secret(aws, db, password="not-the-master-password")
    master = aws.value(secret)["masterarn"]
    original = aws.version(secret)
    token = aws.rotate(secret)

    # setSecret failed: Secrets Manager invoked no later step, and got the error as Lambda gives it.
    assert isinstance(aws.failure, SuperuserCredentialsRejected)
    assert aws.steps == ["createSecret", "setSecret"]
    answered = aws.invocations[-1].payload
    assert answered["errorType"] == "SuperuserCredentialsRejected"
    assert answered["errorMessage"] == str(aws.failure)
    message = str(aws.failure)
    assert master in message
    assert "refused the credentials of superuser secret" in message
    for password in ("not-the-master-password", MASTER_PASSWORD, APP_PASSWORD):
        assert password not in message
        assert password not in aws.logs.getvalue()
    assert "SuperuserCredentialsRejected" in aws.logs.getvalue()
    assert db.logs_in(aws.value(secret))
    assert not db.logs_in(aws.value(secret, "AWSPENDING"))
    assert aws.stages(secret) == {original: ["AWSCURRENT"], token: ["AWSPENDING"]}
    assert [row[0] for row in db.accounts()] == sorted([db.app_user, db.superuser])


def test_the_superuser_logs_in_only_at_its_own_secrets_host(aws: Harness, db: Database) -> None:
    """The application secret names another host: the superuser does not log in there (nor at
    its own host: the rotation stops before any superuser login), naming both hosts."""
    port = db.sandbox.server.port
    master = aws.create_secret("petclinic/test/master", db.master_secret())
    secret = aws.create_secret("petclinic/test/app", db.secret(host="localhost", masterarn=master))
    aws.rotate(secret)

    assert isinstance(aws.failure, InvalidSecret)
    assert aws.steps == ["createSecret", "setSecret"]
    message = str(aws.failure)
    assert f"is for localhost:{port} but its superuser secret {master} is for 127.0.0.1:{port}" in message
    assert MASTER_PASSWORD not in aws.logs.getvalue()
    assert [row[0] for row in db.accounts()] == sorted([db.app_user, db.superuser])


def test_a_server_asking_for_cleartext_gets_no_password(aws: Harness, db: Database) -> None:
    """The secret names a server that asks for mysql_clear_password: no password reaches it,
    neither the secret's nor the superuser's, and the error says why."""
    with FakeMySQLServer(ask_for="mysql_clear_password") as fake:
        master = aws.create_secret("petclinic/test/master", db.master_secret())
        secret = aws.create_secret("petclinic/test/app", db.secret(port=fake.port, masterarn=master))
        aws.rotate(secret)

    assert isinstance(aws.failure, CleartextPasswordRefused)
    assert f"setSecret: 127.0.0.1:{fake.port} asked for the password in clear text" in str(aws.failure)
    assert fake.plugins_asked == ["mysql_clear_password"]
    pending = aws.value(secret, "AWSPENDING")["password"]
    for password in (pending, APP_PASSWORD, MASTER_PASSWORD):
        assert password.encode() not in fake.received
        assert password not in aws.logs.getvalue()
    assert db.logs_in(aws.value(secret))


@pytest.mark.parametrize(
    ("changes", "strategy", "error", "message"),
    [
        *[
            (
                {key: None},
                None,
                InvalidSecret,
                rf"\(AWSCURRENT\) is not a MySQL database secret: {key}: is required",
            )
            for key in ("engine", "host", "username", "password")
        ],
        ({"engine": "postgres"}, None, InvalidSecret, "engine: 'postgres' is not a MySQL engine"),
        ({}, "alternating", InvalidSecret, "has no masterarn: ROTATION_STRATEGY=alternating needs"),
        ({}, "multi-user", InvalidConfiguration, "environment variable ROTATION_STRATEGY: Input should be"),
    ],
    ids=["no-engine", "no-host", "no-username", "no-password", "postgres", "no-masterarn", "bad-strategy"],
)
def test_create_secret_refuses_what_it_cannot_rotate_and_stores_nothing(
    aws: Harness,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    changes: dict[str, Any],
    strategy: str | None,
    error: type[Exception],
    message: str,
) -> None:
    if strategy:
        monkeypatch.setenv("ROTATION_STRATEGY", strategy)
    secret = aws.create_secret("petclinic/test/app", db.secret(**changes))
    token = aws.rotate(secret, run=())
    with pytest.raises(error, match=message):
        aws.invoke("createSecret", token, secret)
    with pytest.raises(aws.client.exceptions.ResourceNotFoundException):
        aws.client.get_secret_value(SecretId=secret, VersionId=token, VersionStage="AWSPENDING")


def test_rotation_must_be_enabled(aws: Harness, db: Database) -> None:
    secret = aws.create_secret("petclinic/test/app", db.secret())
    token = str(uuid.uuid4())
    aws.client.put_secret_value(
        SecretId=secret, ClientRequestToken=token, SecretString="{}", VersionStages=["AWSPENDING"]
    )
    with pytest.raises(RotationNotEnabled, match="rotation is not enabled"):
        aws.invoke("createSecret", token, secret)


def test_the_token_must_be_the_pending_version(aws: Harness, db: Database) -> None:
    secret = aws.create_secret("petclinic/test/app", db.secret())
    token = aws.rotate(secret, run=())
    with pytest.raises(TokenNotPending, match="is not a version of secret"):
        aws.invoke("createSecret", str(uuid.uuid4()), secret)
    (current,) = [v for v, stages in aws.stages(secret).items() if "AWSCURRENT" in stages]
    assert aws.invoke("setSecret", current, secret)["changed"] is False
    assert token != current


def test_an_unreachable_database_names_host_and_port(aws: Harness, db: Database) -> None:
    with socket_port() as port:
        secret = aws.create_secret("petclinic/test/app", db.secret(port=port))
        token = aws.rotate(secret, run=("createSecret",))
        with pytest.raises(DatabaseUnreachable, match=rf"cannot connect to 127\.0\.0\.1:{port}: \(2003\)"):
            aws.invoke("setSecret", token, secret)


def test_tls_is_required_unless_explicitly_disabled(
    aws: Harness, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DB_TLS")
    secret = aws.create_secret("petclinic/test/app", db.secret())
    token = aws.rotate(secret, run=("createSecret",))
    # This server has no TLS (or a certificate nobody trusts): the function does not fall back.
    with pytest.raises(
        DatabaseUnreachable, match=rf"cannot connect to 127\.0\.0\.1:{db.sandbox.server.port}"
    ):
        aws.invoke("setSecret", token, secret)
    assert db.logs_in(aws.value(secret))


def test_the_tls_context_is_built_once_per_container(
    aws: Harness, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading the CA bundle costs tens of milliseconds: once per execution environment."""
    monkeypatch.delenv("DB_TLS")
    built: list[ssl.SSLContext] = []

    def create_default_context(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        built.append(original(*args, **kwargs))
        return built[-1]

    original = ssl.create_default_context
    monkeypatch.setattr(ssl, "create_default_context", create_default_context)
    secret = aws.create_secret("petclinic/test/app", db.secret())
    token = aws.rotate(secret, run=("createSecret",))
    for _ in range(3):  # three invocations of one container (retries by Secrets Manager)
        with pytest.raises(DatabaseUnreachable):
            aws.invoke("setSecret", token, secret)
    assert len(built) == 1


def test_the_pending_login_is_tested(aws: Harness, db: Database) -> None:
    secret = alternating_secret(aws, db)
    token = aws.rotate(secret, run=("createSecret",))
    with pytest.raises(CredentialsRejected, match=r"testSecret: .* refused the AWSPENDING credentials"):
        aws.invoke("testSecret", token, secret)


# --------------------------------------------------------------------------- cold start


def test_importing_the_handler_loads_neither_boto3_nor_pymysql() -> None:
    code = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]; import app; "
        "print(sorted(m for m in ('boto3', 'pymysql', 'moto') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(FUNCTION_DIR), str(LAYER_DIR)],
        capture_output=True,
        text=True,
        check=True,
        env={"POWERTOOLS_TRACE_DISABLED": "true", "PATH": "/usr/bin:/bin"},
    )
    assert result.stdout.strip() == "[]"


class socket_port:
    """A port on 127.0.0.1 where nothing listens (bound, not listening, for the test's duration)."""

    def __enter__(self) -> int:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        port: int = self.socket.getsockname()[1]
        return port

    def __exit__(self, *exc: object) -> None:
        self.socket.close()
