"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives: plain, STARTTLS or
TLS from the start, with a self-signed certificate for 127.0.0.1, and AUTH with one account."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from tests.hubstack import free_port


@dataclass
class Received:
    """One mail as the server took it: the envelope, the message, who logged in."""

    mail_from: str
    rcpt_tos: list[str]
    message: Message
    login: str | None


@dataclass
class SmtpServer:
    port: int
    cert: Path | None  # the certificate a client must trust (SSL_CERT_FILE), when TLS is on
    received: list[Received] = field(default_factory=list)


class _Keeper:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        data = session.auth_data
        login = data.login.decode() if session.authenticated and data is not None else None
        self.server.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                             message_from_bytes(envelope.content), login))
        return "250 OK"


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate and key for the address 127.0.0.1, valid for a day."""
    pytest.importorskip("cryptography")  # moto's dependency, so in the dev install
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@contextmanager
def smtp_serving(tmp: Path, *, tls: str = "", account: tuple[str, str] | None = None
                 ) -> Iterator[SmtpServer]:
    """An SMTP server on 127.0.0.1: `tls` "" (plain), "starttls" or "ssl" (TLS from the
    start); with `account` (user, password), AUTH is required and checked."""
    controller_module = pytest.importorskip("aiosmtpd.controller")
    from aiosmtpd.smtp import AuthResult, LoginPassword

    server = SmtpServer(port=free_port(), cert=None)
    kwargs: dict[str, Any] = {}
    if tls:
        server.cert, key = self_signed_certificate(tmp)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(server.cert, key)
        if tls == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        else:
            # aiosmtpd offers AUTH only after its own STARTTLS; this connection is TLS already.
            kwargs.update(ssl_context=context, auth_require_tls=False)
    if account is not None:

        def authenticate(smtp: Any, session: Any, envelope: Any, mechanism: str,
                         data: Any) -> AuthResult:
            ok = isinstance(data, LoginPassword) and (
                data.login.decode(), data.password.decode()) == account
            return AuthResult(success=ok, handled=False, auth_data=data)

        kwargs.update(authenticator=authenticate, auth_required=True)
    controller = controller_module.Controller(_Keeper(server), hostname="127.0.0.1",
                                              port=server.port, **kwargs)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
