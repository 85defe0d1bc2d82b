"""A tiny MySQL server on 127.0.0.1 that speaks just the connection phase, to see what a client
sends a server that asks for the password in clear text.

    with FakeMySQLServer(ask_for="mysql_clear_password") as server:
        ...connect to 127.0.0.1:server.port...
        assert b"the-password" not in server.received

Per connection: the initial handshake (protocol 10, the ``plugin`` it names, TLS offered when
``certificate`` is given, then the client's TLS handshake is answered with it), the client's
handshake response, then an AuthSwitchRequest for ``ask_for`` (mysql_clear_password, or dialog
with a "Password: " prompt) unless it is None, then whatever the client answers, then an
access-denied error. ``received`` holds every byte the server got, decrypted (a client that sent
the password over TLS would show it here too); ``plugins_asked`` the switches it sent.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
from pathlib import Path
from typing import Any

# Capability flags (https://dev.mysql.com/doc/dev/mysql-server/latest/group__group__cs__capabilities__flags.html)
LONG_PASSWORD, FOUND_ROWS, LONG_FLAG, CONNECT_WITH_DB = 0x1, 0x2, 0x4, 0x8
PROTOCOL_41, SSL, TRANSACTIONS, SECURE_CONNECTION = 0x200, 0x800, 0x2000, 0x8000
MULTI_RESULTS, PLUGIN_AUTH, PLUGIN_AUTH_LENENC_CLIENT_DATA = 0x20000, 0x80000, 0x200000
CAPABILITIES = (
    LONG_PASSWORD
    | FOUND_ROWS
    | LONG_FLAG
    | CONNECT_WITH_DB
    | PROTOCOL_41
    | TRANSACTIONS
    | SECURE_CONNECTION
    | MULTI_RESULTS
    | PLUGIN_AUTH
    | PLUGIN_AUTH_LENENC_CLIENT_DATA
)
SALT = b"0123456789abcdefghij"  # 20 bytes of "scramble"
SSL_REQUEST_LENGTH = 32


class FakeMySQLServer:
    def __init__(
        self,
        *,
        ask_for: str | None = "mysql_clear_password",
        plugin: str = "mysql_native_password",
        certificate: tuple[Path, Path] | None = None,
    ) -> None:
        self.ask_for = ask_for
        self.plugin = plugin
        self.certificate = certificate
        self.received = b""
        self.plugins_asked: list[str] = []
        self.connections = 0
        self.errors: list[str] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._lock = threading.Lock()

    def __enter__(self) -> FakeMySQLServer:
        self._listener.listen(8)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close alone does not)
        self._listener.close()
        self._thread.join(timeout=5)
        assert not self._thread.is_alive(), "the fake MySQL server did not stop"

    # ----------------------------------------------------------------- serving

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return  # closed
            with connection:
                connection.settimeout(5)
                self.connections += 1
                try:
                    self._converse(connection)
                except (OSError, ssl.SSLError, ConnectionError, ValueError) as exc:
                    self.errors.append(f"{type(exc).__name__}: {exc}")

    def _converse(self, connection: socket.socket) -> None:
        stream: Any = connection
        _write(stream, 0, self._handshake())
        sequence, response = self._read(stream)
        if self.certificate and len(response) == SSL_REQUEST_LENGTH and _flags(response) & SSL:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.certificate)
            stream = context.wrap_socket(connection, server_side=True)  # the client may refuse it here
            sequence, response = self._read(stream)
        if self.ask_for is not None:
            self.plugins_asked.append(self.ask_for)
            _write(stream, sequence + 1, self._auth_switch())
            with contextlib.suppress(OSError, ConnectionError, ValueError):
                sequence, _ = self._read(stream)  # the client's answer, if any: received keeps it
        _write(stream, sequence + 1, _access_denied())

    def _read(self, stream: Any) -> tuple[int, bytes]:
        header = _read_exactly(stream, 4)
        length = int.from_bytes(header[:3], "little")
        payload = _read_exactly(stream, length)
        with self._lock:
            self.received += header + payload
        return header[3], payload

    def _handshake(self) -> bytes:
        capabilities = CAPABILITIES | (SSL if self.certificate else 0)
        return (
            b"\x0a"
            + b"5.7.99-fake\0"
            + struct.pack("<I", 1)
            + SALT[:8]
            + b"\0"
            + struct.pack("<H", capabilities & 0xFFFF)
            + bytes([45])  # utf8mb4_general_ci
            + struct.pack("<H", 2)  # SERVER_STATUS_AUTOCOMMIT
            + struct.pack("<H", capabilities >> 16)
            + bytes([len(SALT) + 1])
            + b"\0" * 10
            + SALT[8:]
            + b"\0"
            + self.plugin.encode()
            + b"\0"
        )

    def _auth_switch(self) -> bytes:
        assert self.ask_for is not None
        # dialog: a flag byte (0x04 = a password question, echo off) and the prompt.
        data = b"\x04Password: " if self.ask_for == "dialog" else b"\0"
        return b"\xfe" + self.ask_for.encode() + b"\0" + data


def _flags(response: bytes) -> int:
    return int(struct.unpack("<I", response[:4])[0])


def _access_denied() -> bytes:
    return b"\xff" + struct.pack("<H", 1045) + b"#28000" + b"Access denied (fake server)"


def _write(stream: Any, sequence: int, payload: bytes) -> None:
    stream.sendall(len(payload).to_bytes(3, "little") + bytes([sequence & 0xFF]) + payload)


def _read_exactly(stream: Any, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = stream.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the client closed the connection")
        data += chunk
    return data


def self_signed_certificate(directory: Path, *, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A certificate for ``host`` (an IP address SAN) and its key, as PEM files: (cert, key).
    Trusting the certificate file itself makes it a valid chain (it is its own CA)."""
    import datetime as dt  # noqa: PLC0415
    import ipaddress  # noqa: PLC0415

    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake mysql")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "server.pem", directory / "server.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file
