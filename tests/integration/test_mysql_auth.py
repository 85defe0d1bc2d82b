"""What the MySQL adapter sends a server that asks for the password in clear text, over real
sockets: tests/mysql_wire.py's server speaks the MySQL connection phase on 127.0.0.1 and keeps
every byte it receives (decrypted, when the client talks TLS to it)."""

from __future__ import annotations

from pathlib import Path

import pymysql
import pytest
from mysql_wire import FakeMySQLServer, self_signed_certificate
from pydantic import SecretStr

from petclinic_ops.adapters.mysql import MySQLDatabase
from petclinic_ops.errors import CleartextPasswordRefused, DatabaseUnreachable
from petclinic_ops.models.rotation import DbCredentials

PASSWORD = "Never-in-clear-4821"


def credentials(server: FakeMySQLServer) -> DbCredentials:
    return DbCredentials(host="127.0.0.1", port=server.port, username="app", password=SecretStr(PASSWORD))


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def plain() -> MySQLDatabase:
    return MySQLDatabase(tls=False, connect_timeout=3)


@pytest.fixture
def verified(certificate: tuple[Path, Path]) -> MySQLDatabase:
    """TLS verified against a bundle that trusts the fake server's certificate."""
    return MySQLDatabase(tls=True, ca_bundle=str(certificate[0]), connect_timeout=3)


@pytest.mark.parametrize("plugin", ["mysql_clear_password", "dialog"])
def test_a_switch_to_a_cleartext_plugin_is_refused_without_tls(plain: MySQLDatabase, plugin: str) -> None:
    with FakeMySQLServer(ask_for=plugin) as fake, pytest.raises(CleartextPasswordRefused) as error:
        plain.can_login(credentials(fake))
    assert fake.plugins_asked == [plugin]
    assert PASSWORD.encode() not in fake.received
    assert f"127.0.0.1:{fake.port} asked for the password in clear text ({plugin})" in str(error.value)


def test_a_switch_to_cleartext_is_refused_over_verified_tls_too(
    verified: MySQLDatabase, certificate: tuple[Path, Path]
) -> None:
    with (
        FakeMySQLServer(ask_for="mysql_clear_password", certificate=certificate) as fake,
        pytest.raises(CleartextPasswordRefused, match="mysql_clear_password"),
    ):
        verified.can_login(credentials(fake))
    assert fake.plugins_asked == ["mysql_clear_password"]  # the TLS handshake succeeded
    assert PASSWORD.encode() not in fake.received


def test_a_server_whose_default_plugin_is_cleartext_gets_no_password(plain: MySQLDatabase) -> None:
    """The handshake names mysql_clear_password: PyMySQL answers it with an empty response (no
    password), and the server's switch to it that follows is refused."""
    with (
        FakeMySQLServer(plugin="mysql_clear_password", ask_for="mysql_clear_password") as fake,
        pytest.raises(CleartextPasswordRefused, match="mysql_clear_password"),
    ):
        plain.can_login(credentials(fake))
    assert PASSWORD.encode() not in fake.received


def test_tls_required_and_a_certificate_nobody_trusts_sends_no_password(
    certificate: tuple[Path, Path],
) -> None:
    default_trust = MySQLDatabase(tls=True, connect_timeout=3)
    with (
        FakeMySQLServer(ask_for=None, certificate=certificate) as fake,
        pytest.raises(DatabaseUnreachable, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"),
    ):
        default_trust.can_login(credentials(fake))
    assert PASSWORD.encode() not in fake.received
    assert b"app\0" not in fake.received  # not even the handshake response: only the TLS request


def test_tls_required_and_a_server_without_tls_sends_nothing() -> None:
    with (
        FakeMySQLServer(ask_for=None) as fake,
        pytest.raises(DatabaseUnreachable, match=r"\(2026\).*DB_TLS=disabled turns TLS off"),
    ):
        MySQLDatabase(tls=True, connect_timeout=3).can_login(credentials(fake))
    assert fake.connections == 1
    assert fake.received == b""


def test_the_fake_server_would_see_a_password_sent_in_clear() -> None:
    """The control: PyMySQL on its own answers the switch with the password, and the fake keeps it."""
    with (
        FakeMySQLServer(ask_for="mysql_clear_password") as fake,
        pytest.raises(pymysql.err.OperationalError, match="1045"),
    ):
        pymysql.connect(host="127.0.0.1", port=fake.port, user="app", password=PASSWORD, ssl_disabled=True)
    assert PASSWORD.encode() + b"\0" in fake.received
