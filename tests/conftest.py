"""Fixtures shared by all test folders: a real MySQL/MariaDB server for the rotation tests.

``mysql_admin`` (session) finds a server root can log in to:
1. 127.0.0.1:3306 as root with no password (the project's machines run MariaDB 10.11 there);
2. else a private server started in a temporary directory on a free port, when the binaries
   are installed (mariadbd or mysqld, with mariadb-install-db / mysql_install_db, or MySQL's
   ``mysqld --initialize-insecure``). Grant tables are on: the tests check logins;
3. else the tests skip with the reason, or fail when the environment variable CI is set
   (CI must run them).
PETCLINIC_TEST_MYSQL=private skips step 1 (to test step 2 on a machine that has a server).

``mysql_sandbox`` (per test) gives each test its own database and user names with a unique
prefix, so tests run in parallel (pytest-xdist), and drops them all afterwards.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pymysql
import pytest

SERVER_BINARIES = ("mariadbd", "mysqld")
INSTALL_BINARIES = ("mariadb-install-db", "mysql_install_db")
EXTRA_PATHS = ("/usr/sbin", "/usr/local/sbin", "/usr/local/mysql/bin", "/usr/local/mysql/scripts")
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class MySQLServer:
    """Connection parameters of a server on which ``user`` may create databases, users and grants."""

    host: str
    port: int
    user: str
    password: str
    origin: str

    def connect(self, **options: Any) -> Any:
        settings: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "autocommit": True,
            "ssl_disabled": True,
            "connect_timeout": 5,
        }
        settings.update(options)
        return pymysql.connect(**settings)


def _login_error(host: str, port: int, user: str = "root", password: str = "", **options: Any) -> str | None:
    """None if the login works, else why not."""
    try:
        pymysql.connect(
            host=host,
            port=port,
            user=user,
            password=password,
            ssl_disabled=True,
            connect_timeout=3,
            **options,
        ).close()
    except (pymysql.err.MySQLError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _which(*names: str) -> str | None:
    search = os.pathsep.join([os.environ.get("PATH", ""), *EXTRA_PATHS])
    for name in names:
        found = shutil.which(name, path=search)
        if found:
            return found
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _initialise(server: str, datadir: Path, log: Path) -> None:
    """An empty data directory with root@localhost and no password."""
    version = subprocess.run([server, "--version"], capture_output=True, text=True, check=False).stdout
    user = ["--user=root"] if os.geteuid() == 0 else []
    if "mariadb" in version.lower():
        installer = _which(*INSTALL_BINARIES)
        if installer is None:
            raise RuntimeError(
                f"{server} is MariaDB but neither of {', '.join(INSTALL_BINARIES)} is installed"
            )
        command = [
            installer,
            "--no-defaults",
            f"--datadir={datadir}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--skip-name-resolve",
            *user,
        ]
    else:  # MySQL 5.7+/8: mysql_install_db is gone, the server initialises itself.
        command = [server, "--no-defaults", "--initialize-insecure", f"--datadir={datadir}", *user]
    with log.open("w") as output:
        result = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, timeout=120, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {log.read_text()[-2000:]}")


def _wait_until_up(process: subprocess.Popen[bytes], sock: Path, error_log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = error_log.read_text()[-2000:] if error_log.exists() else ""
            raise RuntimeError(f"the private server exited with {process.returncode}: {log}")
        with contextlib.suppress(pymysql.err.MySQLError, OSError):
            pymysql.connect(unix_socket=str(sock), user="root", password="", connect_timeout=1).close()
            return
        time.sleep(0.2)
    raise RuntimeError(f"the private server did not accept connections within {START_TIMEOUT:.0f} s")


@contextlib.contextmanager
def _private_server(server: str) -> Iterator[MySQLServer]:
    # Short path: a unix socket path must stay under ~100 characters.
    base = Path(tempfile.mkdtemp(prefix="petclinic-mysql-"))
    datadir, sock, error_log = base / "data", base / "mysqld.sock", base / "error.log"
    port = _free_port()
    process: subprocess.Popen[bytes] | None = None
    try:
        _initialise(server, datadir, base / "install.log")
        command = [
            server,
            "--no-defaults",
            f"--datadir={datadir}",
            f"--socket={sock}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            f"--pid-file={base / 'mysqld.pid'}",
            f"--log-error={error_log}",
            "--skip-name-resolve",
            "--skip-log-bin",
            "--innodb-buffer-pool-size=32M",
            *(["--user=root"] if os.geteuid() == 0 else []),
        ]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_until_up(process, sock, error_log)
        root = pymysql.connect(unix_socket=str(sock), user="root", password="")
        with contextlib.closing(root) as connection, connection.cursor() as cursor:
            cursor.execute("CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'")
            cursor.execute("GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION")
        yield MySQLServer("127.0.0.1", port, "root", "", f"private server {server} in {base}")
    finally:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(base, ignore_errors=True)


def _unavailable(reason: str) -> NoReturn:
    message = f"no MySQL/MariaDB server for the rotation tests: {reason}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set: these tests must run there)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def mysql_admin() -> Iterator[MySQLServer]:
    """A server root can log in to (see the module docstring for where it comes from)."""
    reasons: list[str] = []
    if os.environ.get("PETCLINIC_TEST_MYSQL") != "private":
        error = _login_error("127.0.0.1", 3306)
        if error is None:
            yield MySQLServer("127.0.0.1", 3306, "root", "", "127.0.0.1:3306")
            return
        reasons.append(f"root cannot log in to 127.0.0.1:3306 ({error})")
    server = _which(*SERVER_BINARIES)
    if server is None:
        reasons.append(f"none of {', '.join(SERVER_BINARIES)} is installed to start a private server")
        _unavailable("; ".join(reasons))
    with contextlib.ExitStack() as stack:
        try:
            started = stack.enter_context(_private_server(server))
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            reasons.append(f"the private server did not start: {exc}")
            _unavailable("; ".join(reasons))
        yield started


@dataclass
class MySQLSandbox:
    """A database and a user-name prefix of one test; ``cleanup`` drops everything with that prefix."""

    server: MySQLServer
    prefix: str
    database: str
    users: list[str] = field(default_factory=list)

    def name(self, suffix: str) -> str:
        return f"{self.prefix}_{suffix}"

    def execute(self, statement: str, args: Any = None) -> list[tuple[Any, ...]]:
        with contextlib.closing(self.server.connect()) as connection, connection.cursor() as cursor:
            cursor.execute(statement, args)
            return list(cursor.fetchall())

    def create_user(self, suffix: str, password: str, grants: tuple[str, ...] = (), host: str = "%") -> str:
        """``<prefix>_<suffix>``@``host``; ``grants`` are privilege lists on the test database."""
        user = self.name(suffix)
        self.execute("CREATE USER %s@%s IDENTIFIED BY %s", (user, host, password))
        for privileges in grants:
            self.execute(f"GRANT {privileges} ON `{self.database}`.* TO %s@%s", (user, host))
        self.users.append(user)
        return user

    def create_superuser(self, suffix: str, password: str) -> str:
        """Like an RDS master user: may create users and grant what it has."""
        user = self.name(suffix)
        self.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (user, password))
        self.execute("GRANT ALL PRIVILEGES ON *.* TO %s@'%%' WITH GRANT OPTION", (user,))
        self.users.append(user)
        return user

    def can_login(self, user: str, password: str) -> bool:
        return _login_error(self.server.host, self.server.port, user, password) is None

    def grants(self, user: str, host: str = "%") -> list[str]:
        return [str(row[0]) for row in self.execute("SHOW GRANTS FOR %s@%s", (user, host))]

    def cleanup(self) -> None:
        pattern = self.prefix.replace("_", "\\_") + "\\_%"
        for user, host in self.execute("SELECT User, Host FROM mysql.user WHERE User LIKE %s", (pattern,)):
            self.execute("DROP USER %s@%s", (user, host))
        self.execute(f"DROP DATABASE IF EXISTS `{self.database}`")


@pytest.fixture
def mysql_sandbox(mysql_admin: MySQLServer) -> Iterator[MySQLSandbox]:
    """A fresh database ``<prefix>_db`` with a table, and the user prefix of this test."""
    prefix = "t" + uuid.uuid4().hex[:8]
    sandbox = MySQLSandbox(mysql_admin, prefix, f"{prefix}_db")
    sandbox.execute(f"CREATE DATABASE `{sandbox.database}`")
    sandbox.execute(f"CREATE TABLE `{sandbox.database}`.`owners` (id INT PRIMARY KEY, name VARCHAR(64))")
    try:
        yield sandbox
    finally:
        sandbox.cleanup()


# --------------------------------------------------------------------------- fault-injection count

_FAULT_CASES: dict[str, bool] = {}
# The workflows in the order the summary names them; a case's workflow is in its test's name
# (test_a_fault_in_the_<workflow>[_workflow]_ends_in_a_known_state).
_FAULT_WORKFLOWS = ("deploy", "rotation rollout", "provision", "scale", "genai release", "relay")
_FAULT_TEST = re.compile(r"test_a_fault_in_the_(?P<workflow>\w+?)(?:_workflow)?_ends_in_a_known_state")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Each fault-injection case (a state x fault) ends in a known state when its test passes."""
    if "fault_injection" not in report.keywords:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _FAULT_CASES[report.nodeid] = report.outcome == "passed"


def _fault_workflow(nodeid: str) -> str:
    found = _FAULT_TEST.search(nodeid.rsplit("::", maxsplit=1)[-1])
    return found["workflow"].replace("_", " ") if found else "other"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _FAULT_CASES:
        return
    counts: dict[str, list[int]] = {}
    for nodeid, known in _FAULT_CASES.items():
        tried_known = counts.setdefault(_fault_workflow(nodeid), [0, 0])
        tried_known[0] += 1
        tried_known[1] += known
    order = [*_FAULT_WORKFLOWS, *sorted(set(counts) - set(_FAULT_WORKFLOWS))]
    per_workflow = "; ".join(
        f"{name} {counts[name][0]} tried, {counts[name][1]} known" for name in order if name in counts
    )
    terminalreporter.write_line(
        f"fault injection: {per_workflow} (all: {len(_FAULT_CASES)} workflow states x faults tried, "
        f"{sum(_FAULT_CASES.values())} ended in a known state)"
    )


# --------------------------------------------------------------------------- IAM refusals


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed test shows what the local cloud's IAM refused lately (moto_compat.iam.REFUSALS:
    since the current local cloud started), which is often why it failed."""
    outcome = yield
    report = outcome.get_result()
    iam = sys.modules.get("petclinic_local.moto_compat.iam")
    if report.when != "call" or not report.failed or iam is None or not iam.REFUSALS:
        return
    lines = [refusal.message for refusal in iam.REFUSALS[-20:]]
    report.sections.append(("IAM refusals (the last 20)", "\n".join(lines)))
