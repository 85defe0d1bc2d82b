"""MySQL (Aurora MySQL, MariaDB), as the rotation's ``Database`` port. PyMySQL, imported on first use.

Built once per execution environment from the function's settings (petclinic_ops.settings.
RotateSecretSettings): TLS is on by default and verified (CA bundle and host name), with one
SSLContext for every connection of the container; the bundle is DB_CA_BUNDLE, else the Lambda
runtime's system bundle when it exists, else Python's default trust store. DB_TLS=disabled is an
explicit opt-out for servers without TLS (the local MariaDB). DB_CONNECT_TIMEOUT bounds each
connection attempt.

A password never leaves as it is: the authentication plugins that would send it in clear text
(mysql_clear_password, MariaDB's dialog) are refused whatever the TLS mode, before anything is
sent (CleartextPasswordRefused), and without DB_TLS=disabled every connection is TLS, verified.

Errors never carry a password: server messages are redacted, PyMySQL's exceptions are not
chained (``from None``), and credentials hold the password as a SecretStr.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from petclinic_ops.errors import (
    CleartextPasswordRefused,
    CredentialsRejected,
    DatabaseOperationFailed,
    DatabaseUnreachable,
)
from petclinic_ops.models.rotation import DbCredentials

if TYPE_CHECKING:
    import ssl

    from pymysql.connections import Connection

    from petclinic_ops.settings import RotateSecretSettings

SYSTEM_CA_BUNDLE = "/etc/pki/tls/certs/ca-bundle.crt"  # Amazon Linux, so the Lambda runtime
DEFAULT_CONNECT_TIMEOUT = 5.0  # seconds
QUERY_TIMEOUT = 30

# Server error codes of a refused login: access denied (1045, 1698), password expired (1862),
# account locked (MySQL 3118, MariaDB 4151).
LOGIN_REFUSED = frozenset({1045, 1698, 1862, 3118, 4151})
DATABASE_REFUSED = frozenset({1044, 1049})  # no access to / no such database (after the login)
# Authentication plugins whose CREATE USER ... IDENTIFIED WITH <plugin> BY takes a password (MySQL).
PASSWORD_PLUGINS = frozenset({"mysql_native_password", "caching_sha2_password", "sha256_password"})

# MariaDB's SHOW GRANTS repeats the password hash ("IDENTIFIED BY PASSWORD '*...'", or
# "IDENTIFIED VIA plugin USING '...'"): never copy it to the other user.
_AUTHENTICATION = re.compile(
    r"\s+IDENTIFIED\s+(?:BY\s+PASSWORD\s+'[^']*'|VIA\s+.*?)(?=\s+REQUIRE\s|\s+WITH\s|$)"
)
# The TLS requirement of an account in SHOW CREATE USER (MySQL 8 leaves it out of SHOW GRANTS).
_REQUIRE = re.compile(
    r"\sREQUIRE\s+(NONE|SSL|X509|(?:(?:ISSUER|SUBJECT|CIPHER)\s+'(?:[^'\\]|\\.)*'\s*(?:AND\s+)?)+)"
)


# Authentication plugins that send the password itself: the server, or anyone in between without
# TLS, would get it. mysql_clear_password is also how Aurora's IAM authentication takes its
# token; this function logs in with passwords only.
CLEARTEXT_PLUGINS = ("mysql_clear_password", "dialog")


class _LoginRefused(Exception):
    """Internal signal: the server refused the login (never leaves this module)."""


class _CleartextRequested(Exception):
    """Internal signal: the server asked for a cleartext plugin (never leaves this module)."""

    def __init__(self, plugin: str) -> None:
        super().__init__(plugin)
        self.plugin = plugin


def _refusing(plugin: str) -> type:
    """An entry of PyMySQL's ``auth_plugin_map``: PyMySQL builds the plugin's handler before it
    answers the server's request for that plugin, and building this one raises, so the answer
    (the password) is never written."""

    class Refuse:
        def __init__(self, connection: object) -> None:
            raise _CleartextRequested(plugin)

    return Refuse


_AUTH_PLUGIN_MAP = {plugin: _refusing(plugin) for plugin in CLEARTEXT_PLUGINS}


def quote_account(user: str, host: str, quote: str = "`") -> str:
    """An account as SHOW GRANTS prints it: `user`@`host` (MySQL 8, MariaDB) or 'user'@'host' (5.7)."""
    return f"{quote}{user.replace(quote, quote * 2)}{quote}@{quote}{host.replace(quote, quote * 2)}{quote}"


def rewrite_grant(line: str, source: str, target: str, host: str) -> str:
    """A SHOW GRANTS line of ``source``@``host`` as the same statement for ``target``@``host``.

    The grantee is the account after the last TO/FOR/FROM (GRANT ... TO, MariaDB's SET DEFAULT
    ROLE ... FOR, MySQL's partial REVOKE ... FROM); the password clause is dropped. Raises
    ValueError (without echoing the line: it may hold a password hash) if no grantee is found.
    """
    for quote in ("`", "'"):
        grantee = re.escape(quote_account(source, host, quote))
        matches = list(re.finditer(rf"(\s(?:TO|FOR|FROM)\s){grantee}(?=\s|$)", line))
        if matches:
            last = matches[-1]
            replaced = (
                line[: last.start()] + last.group(1) + quote_account(target, host, quote) + line[last.end() :]
            )
            return _AUTHENTICATION.sub("", replaced)
    raise ValueError(f"a SHOW GRANTS line does not name {quote_account(source, host)} as its grantee")


def tls_requirement(create_user: str) -> str | None:
    """The REQUIRE clause of a SHOW CREATE USER statement, None when there is none (or NONE)."""
    matches = list(_REQUIRE.finditer(create_user))
    if not matches:
        return None
    clause = matches[-1].group(1).strip()
    return None if clause == "NONE" else clause


def _redact(text: str, hidden: tuple[str, ...]) -> str:
    for value in hidden:
        if value:
            text = text.replace(value, "********")
    return text


def _describe_error(exc: BaseException, hidden: tuple[str, ...]) -> str:
    args: tuple[Any, ...] = exc.args
    if len(args) >= 2 and isinstance(args[0], int):
        return _redact(f"({args[0]}) {args[1]}", hidden)
    return _redact(f"{type(exc).__name__}: {exc}", hidden)


class _Session:
    """One connection, with statements that fail as DatabaseOperationFailed (redacted)."""

    def __init__(self, connection: Connection[Any], endpoint: str, hidden: tuple[str, ...]) -> None:
        self.connection = connection
        self.endpoint = endpoint
        self.hidden = hidden

    @property
    def is_mariadb(self) -> bool:
        return "mariadb" in self.connection.get_server_info().lower()

    def execute(
        self, what: str, statement: str, args: tuple[Any, ...] | None = None
    ) -> list[tuple[Any, ...]]:
        import pymysql  # noqa: PLC0415

        try:
            with self.connection.cursor() as cursor:
                cursor.execute(statement, args)
                return list(cursor.fetchall())
        except pymysql.err.MySQLError as exc:
            raise DatabaseOperationFailed(
                f"{what} on {self.endpoint} failed: {_describe_error(exc, self.hidden)}"
            ) from None

    def hosts_of(self, user: str) -> list[str]:
        rows = self.execute(
            f"looking up user {user}", "SELECT Host FROM mysql.user WHERE User = %s ORDER BY Host", (user,)
        )
        if not rows:
            raise DatabaseOperationFailed(f"user {user!r} does not exist on {self.endpoint}")
        return [str(row[0]) for row in rows]

    def change_own_password(self, password: SecretStr) -> None:
        # No privilege needed for one's own password. MariaDB hashes with PASSWORD() (its ALTER USER
        # needs CREATE USER); MySQL 5.7.6+/8.0 (Aurora 2/3) take the plain text.
        statement = "SET PASSWORD = PASSWORD(%s)" if self.is_mariadb else "SET PASSWORD = %s"
        self.execute("changing the user's own password", statement, (password.get_secret_value(),))

    def set_password(self, user: str, host: str, password: SecretStr) -> None:
        self.execute(
            f"setting the password of {quote_account(user, host)}",
            "ALTER USER %s@%s IDENTIFIED BY %s",
            (user, host, password.get_secret_value()),
        )

    def clone_account(self, source: str, target: str, host: str) -> None:
        """Create ``target``@``host`` if missing and give it the grants and TLS requirement of ``source``."""
        account = quote_account(target, host)
        if not self.execute(
            f"looking up {account}", "SELECT 1 FROM mysql.user WHERE User = %s AND Host = %s", (target, host)
        ):
            plugin = self._password_plugin(source, host)
            identified = f"IDENTIFIED WITH {plugin} BY %s" if plugin else "IDENTIFIED BY %s"
            # A throwaway password: the real one is set last, so a working AWSPENDING login means
            # the grants are in place too.
            import secrets  # noqa: PLC0415 - only a new clone user needs it

            placeholder = secrets.token_urlsafe(32)
            self.execute(
                f"creating {account}", f"CREATE USER %s@%s {identified}", (target, host, placeholder)
            )
        for (line,) in self.execute(
            f"reading the grants of {quote_account(source, host)}", "SHOW GRANTS FOR %s@%s", (source, host)
        ):
            try:
                statement = rewrite_grant(str(line), source, target, host)
            except ValueError as exc:
                raise DatabaseOperationFailed(
                    f"copying grants to {account} on {self.endpoint}: {exc}"
                ) from None
            self.execute(f"copying the grants of {quote_account(source, host)} to {account}", statement)
        ((create_user,),) = self.execute(
            f"reading the account of {quote_account(source, host)}", "SHOW CREATE USER %s@%s", (source, host)
        )
        requirement = tls_requirement(str(create_user))
        if requirement:
            self.execute(
                f"copying the TLS requirement to {account}",
                "ALTER USER %s@%s REQUIRE " + requirement.replace("%", "%%"),
                (target, host),
            )

    def _password_plugin(self, user: str, host: str) -> str | None:
        """The source's plugin, so MySQL 8 does not give the clone its default (caching_sha2)."""
        if self.is_mariadb:
            return None  # MariaDB's IDENTIFIED BY is mysql_native_password, its default
        rows = self.execute(
            f"reading the plugin of {quote_account(user, host)}",
            "SELECT plugin FROM mysql.user WHERE User = %s AND Host = %s",
            (user, host),
        )
        plugin = str(rows[0][0]) if rows else ""
        return plugin if plugin in PASSWORD_PLUGINS else None


class MySQLDatabase:
    """The ``Database`` port. PyMySQL is imported on the first connection; the SSLContext is built
    on the first TLS connection and kept (one adapter per execution environment)."""

    def __init__(
        self,
        *,
        tls: bool = True,
        ca_bundle: str | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        self.tls = tls
        self.ca_bundle = ca_bundle or (SYSTEM_CA_BUNDLE if os.path.isfile(SYSTEM_CA_BUNDLE) else None)
        self.connect_timeout = connect_timeout

    @classmethod
    def from_settings(cls, settings: RotateSecretSettings) -> MySQLDatabase:
        return cls(
            tls=settings.tls,
            ca_bundle=str(settings.db_ca_bundle) if settings.db_ca_bundle else None,
            connect_timeout=settings.db_connect_timeout,
        )

    @cached_property
    def ssl_context(self) -> ssl.SSLContext:
        # Verifies the chain and the host name (CERT_REQUIRED, check_hostname): Aurora's certificates
        # name the cluster and instance endpoints. Imported here: createSecret and finishSecret,
        # the steps that open no connection, pay nothing for TLS at a cold start.
        import ssl  # noqa: PLC0415

        return ssl.create_default_context(cafile=self.ca_bundle)

    # ----------------------------------------------------------------------- the port

    def can_login(self, credentials: DbCredentials) -> bool:
        try:
            connection = self._connect(credentials)
        except _LoginRefused:
            return False
        connection.close()
        return True

    def set_password(
        self, admin_credentials: DbCredentials, user: str, password: SecretStr, clone_from: str | None = None
    ) -> None:
        hidden = (admin_credentials.password.get_secret_value(), password.get_secret_value())
        with self._session(admin_credentials, hidden=hidden) as session:
            if clone_from is None and user == admin_credentials.username:
                session.change_own_password(password)
                return
            hosts = session.hosts_of(clone_from or user)
            if clone_from is not None:
                for host in hosts:
                    session.clone_account(clone_from, user, host)
            # Passwords last: once the new login works, everything before it is done.
            for host in hosts:
                session.set_password(user, host, password)

    def run_test_query(self, credentials: DbCredentials) -> None:
        with self._session(credentials, database=credentials.dbname) as session:
            session.execute("the test query", "SELECT 1")
            if credentials.dbname:
                session.execute(
                    f"the test query in database {credentials.dbname}",
                    "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
                )

    # ----------------------------------------------------------------------- connections

    @contextmanager
    def _session(
        self, credentials: DbCredentials, *, database: str | None = None, hidden: tuple[str, ...] = ()
    ) -> Iterator[_Session]:
        try:
            connection = self._connect(credentials, database=database)
        except _LoginRefused:
            raise CredentialsRejected(
                f"{credentials.endpoint} refused the login of user {credentials.username}"
            ) from None
        try:
            yield _Session(
                connection, credentials.endpoint, (credentials.password.get_secret_value(), *hidden)
            )
        finally:
            connection.close()

    def _connect(self, credentials: DbCredentials, *, database: str | None = None) -> Connection[Any]:
        import pymysql  # noqa: PLC0415 - lazy: keeps PyMySQL off the handler's cold start

        options: dict[str, Any] = {
            "host": credentials.host,
            "port": credentials.port,
            "user": credentials.username,
            "password": credentials.password.get_secret_value(),
            "database": database,
            "connect_timeout": self.connect_timeout,
            "read_timeout": QUERY_TIMEOUT,
            "write_timeout": QUERY_TIMEOUT,
            "charset": "utf8mb4",
            "autocommit": True,
            "auth_plugin_map": _AUTH_PLUGIN_MAP,
        }
        if self.tls:
            options["ssl"] = self.ssl_context  # required: PyMySQL fails (2026) if the server has no TLS
        else:
            options["ssl_disabled"] = True
        try:
            return pymysql.connect(**options)
        except _CleartextRequested as exc:
            raise CleartextPasswordRefused(
                f"{credentials.endpoint} asked for the password in clear text ({exc.plugin}) for user "
                f"{credentials.username}: refused, the password was not sent; the account must use "
                "mysql_native_password or caching_sha2_password (IAM authentication is not supported)"
            ) from None
        except pymysql.err.MySQLError as exc:
            raise self._connect_error(exc, credentials, database) from None

    def _connect_error(
        self, exc: BaseException, credentials: DbCredentials, database: str | None
    ) -> Exception:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        reason = _describe_error(exc, (credentials.password.get_secret_value(),))
        if code in LOGIN_REFUSED:
            return _LoginRefused()
        if code in DATABASE_REFUSED:
            return DatabaseOperationFailed(
                f"user {credentials.username} logged in to {credentials.endpoint} but cannot use "
                f"database {database}: {reason}"
            )
        hint = ""
        if code == 2026:
            hint = " (the server offers no TLS; DB_TLS=disabled turns TLS off, for servers without it only)"
        return DatabaseUnreachable(f"cannot connect to {credentials.endpoint}: {reason}{hint}")
