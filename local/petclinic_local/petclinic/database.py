"""A PetClinic application database on a real MySQL/MariaDB server, for local rotations.

`PetClinicDatabase.create(url)` makes what Aurora would hold for PetClinic: a database with a
table, the application user the services log in as (DML grants only) and a superuser for
alternating-user rotation, each with a unique suffix so runs never collide; `drop()` removes all
of it, the rotation's ``_clone`` user included. The secrets' values come from `app_secret` and
`superuser_secret`, in the shape Secrets Manager's RDS rotation uses.
"""

from __future__ import annotations

import contextlib
import secrets
import string
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from petclinic_local.errors import UsageError

DEFAULT_URL = "mysql://root@127.0.0.1:3306"
_ALPHABET = string.ascii_letters + string.digits


def parse_url(url: str) -> dict[str, Any]:
    """mysql://user[:password]@host[:port] -> PyMySQL connection arguments."""
    try:
        parts = urlsplit(url)
    except ValueError:  # "mysql://[::1": an IPv6 host without its bracket
        parts = urlsplit("")
    if parts.scheme not in {"mysql", "mariadb"} or not parts.hostname:
        raise UsageError(f"--mysql {url!r}: expected mysql://user[:password]@host[:port]")
    try:
        port = parts.port or 3306
    except ValueError:
        raise UsageError(f"--mysql {url!r}: the port is not a number") from None
    return {
        "host": parts.hostname,
        "port": port,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
    }


def _password() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(24))


def connect(host: str, port: int, user: str, password: str, database: str | None = None) -> Any:
    import pymysql  # noqa: PLC0415

    return pymysql.connect(
        host=host,
        port=port,
        user=user,
        password=password,
        database=database,
        autocommit=True,
        connect_timeout=5,
    )


def can_login(host: str, port: int, user: str, password: str, database: str | None = None) -> bool:
    import pymysql  # noqa: PLC0415

    try:
        connect(host, port, user, password, database).close()
    except pymysql.err.OperationalError:
        return False
    return True


@dataclass
class PetClinicDatabase:
    host: str
    port: int
    admin_user: str
    admin_password: str
    name: str
    app_user: str
    app_password: str
    superuser: str
    superuser_password: str

    @classmethod
    def create(cls, url: str = DEFAULT_URL) -> PetClinicDatabase:
        import pymysql  # noqa: PLC0415

        admin = parse_url(url)
        suffix = secrets.token_hex(3)
        db = cls(
            host=admin["host"],
            port=admin["port"],
            admin_user=admin["user"],
            admin_password=admin["password"],
            name=f"petclinic_{suffix}",
            app_user=f"pc_{suffix}",
            app_password=_password(),
            superuser=f"pc_admin_{suffix}",
            superuser_password=_password(),
        )
        try:
            connection = connect(**admin)
        except pymysql.err.OperationalError as exc:
            raise UsageError(
                f"no MySQL reachable at {admin['host']}:{admin['port']} as {admin['user']}: {exc.args[-1]}"
            ) from None
        with connection, connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{db.name}`")
            cursor.execute(f"CREATE TABLE `{db.name}`.owners (id INT PRIMARY KEY, last_name VARCHAR(30))")
            # The names are generated here (hex suffixes), never user input.
            cursor.execute(f"INSERT INTO `{db.name}`.owners VALUES (1, 'Franklin'), (2, 'Davis')")  # noqa: S608
            cursor.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (db.app_user, db.app_password))
            cursor.execute(
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON `{db.name}`.* TO %s@'%%'", (db.app_user,)
            )
            cursor.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (db.superuser, db.superuser_password))
            cursor.execute("GRANT ALL PRIVILEGES ON *.* TO %s@'%%' WITH GRANT OPTION", (db.superuser,))
        return db

    def app_secret(self) -> dict[str, Any]:
        return {
            "engine": "mysql",
            "host": self.host,
            "port": self.port,
            "username": self.app_user,
            "password": self.app_password,
            "dbname": self.name,
        }

    def superuser_secret(self) -> dict[str, Any]:
        return {
            "engine": "mysql",
            "host": self.host,
            "port": self.port,
            "username": self.superuser,
            "password": self.superuser_password,
        }

    def can_login(self, user: str, password: str) -> bool:
        return can_login(self.host, self.port, user, password, self.name)

    def drop(self) -> None:
        import pymysql  # noqa: PLC0415

        with contextlib.suppress(pymysql.err.MySQLError):
            connection = connect(self.host, self.port, self.admin_user, self.admin_password)
            with connection, connection.cursor() as cursor:
                for user in (self.app_user, f"{self.app_user}_clone", self.superuser):
                    cursor.execute("DROP USER IF EXISTS %s@'%%'", (user,))
                cursor.execute(f"DROP DATABASE IF EXISTS `{self.name}`")
