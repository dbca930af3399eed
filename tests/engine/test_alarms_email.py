"""Alarm e-mails against a real SMTP server on 127.0.0.1 (aiosmtpd): the alarm arrives with
model, metric, value and minimum; STARTTLS with a certificate from a throw-away authority
(trusted through the smtp.cafile setting) and a login work; the password never appears in a
log line or an error message, not even when the server echoes it; failures are AlarmEmailError
with a clear message. The server kit at the top is reused by tests/engine/test_monitor_cli.py.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import socket
import ssl
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from engine.alarms import email as alarm_email
from engine.alarms.email import (
    AlarmEmailError,
    email_configured,
    send_alarm_email,
    send_test_email,
)
from engine.alarms.store import list_alarms, raise_alarms
from engine.ground.database import connect
from engine.ground.settings import load_settings, set_setting
from engine.nowtest.result import AlarmReason
from engine.services.nowtest import email_new_alarms


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True, slots=True)
class Certificates:
    ca_file: Path  # what the client trusts
    cert_file: Path  # the server's chain
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_certificates(folder: Path) -> Certificates:
    """A CA and a server certificate for 127.0.0.1 / localhost signed by it."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Ratchet test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                       crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False,
                                       decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    certs = Certificates(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    certs.ca_file.write_bytes(ca.public_bytes(pem))
    certs.cert_file.write_bytes(cert.public_bytes(pem))
    certs.key_file.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
    return certs


@dataclass
class Mailbox:
    """The aiosmtpd handler: keeps every message it receives, and the logins it saw."""

    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


def password_checker(mailbox: Mailbox, user: str, password: str, echo: bool = False):
    """An aiosmtpd authenticator; with `echo`, a badly behaved server that repeats the
    password it was sent in its refusal (our error messages must still not show it)."""

    def authenticator(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        sent_user, sent_password = auth_data.login.decode(), auth_data.password.decode()
        if (sent_user, sent_password) == (user, password):
            mailbox.logins.append(sent_user)
            return AuthResult(success=True)
        reply = f"535 5.7.8 no such login {sent_user}/{sent_password}" if echo else \
            "535 5.7.8 Authentication credentials invalid"
        return AuthResult(success=False, handled=False, message=reply)

    return authenticator


class SmtpServer:
    """Start with `with SmtpServer(...) as server:`; `server.port`, `server.mailbox`."""

    def __init__(self, certs: Certificates | None = None, implicit_tls: bool = False,
                 user: str | None = None, password: str | None = None, echo: bool = False):
        self.mailbox = Mailbox()
        self.port = free_port()
        kwargs: dict = {}
        if certs is not None and implicit_tls:
            kwargs["ssl_context"] = certs.server_context()
        elif certs is not None:
            kwargs.update(tls_context=certs.server_context(), require_starttls=True)
        if user is not None:
            kwargs.update(authenticator=password_checker(self.mailbox, user, password or "",
                                                         echo),
                          # aiosmtpd only counts STARTTLS as TLS; TLS from the start is too
                          auth_require_tls=not implicit_tls, auth_required=True)
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port,
                                     **kwargs)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


# -- the tests -----------------------------------------------------------------------------
MODEL = "demo-flight-delay@1"
PASSWORD = "Pw-9f3!kq-unguessable"
USER = "ratchet-ops"



@pytest.fixture
def alarms(empty_ws):
    conn = connect(empty_ws.database)
    try:
        raise_alarms(conn, MODEL, 7, [
            AlarmReason("metric", "roc_auc", 0.8843, 0.92,
                        f"{MODEL}: roc_auc 0.884 is below the minimum 0.92."),
            AlarmReason("drift", "dep_delay", 0.31, 0.1,
                        f"{MODEL}: dep_delay drifted (statistic 0.31 above 0.1)."),
        ])
        return list(reversed(list_alarms(conn)))
    finally:
        conn.close()


def configure(empty_ws, port: int, **extra: str) -> dict:
    """Settings written and read back through the real settings file."""
    for key, value in {"smtp.host": "127.0.0.1", "smtp.port": str(port),
                       "smtp.starttls": "false", "alarms.email_to":
                       "ops@example.com, lead@example.org", **extra}.items():
        set_setting(empty_ws.root, key, value)
    return load_settings(empty_ws.root)


def engine_log(caplog) -> str:
    """What our modules logged (the test server's own debug log is not ours)."""
    return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("engine"))


def test_the_alarm_email_names_model_metric_value_and_minimum(empty_ws, alarms):
    with SmtpServer() as server:
        assert send_alarm_email(configure(empty_ws, server.port), alarms) is True
    (msg,) = server.mailbox.messages
    assert msg["Subject"] == f"Ratchet alarm: {MODEL} roc_auc 0.884 < 0.92 (+1 more)"
    assert server.mailbox.recipients == [["ops@example.com", "lead@example.org"]]
    assert msg["From"].startswith("ratchet@")
    body = msg.get_content()
    assert f"model:     {MODEL}" in body and "metric:    roc_auc" in body
    assert "value:     0.884" in body and "minimum:   0.92" in body
    assert "feature drift: dep_delay" in body and "threshold: 0.1" in body
    assert "now-test 7" in body and alarms[0].last_at in body
    assert f"ratchet alarms ack ID (ID: {alarms[0].id} {alarms[1].id})" in body.replace("`", "")


def test_starttls_and_login_work_and_the_password_stays_out_of_logs(empty_ws, alarms, tmp_path,
                                                                    caplog):
    certs = make_certificates(tmp_path)
    with caplog.at_level(logging.DEBUG), \
            SmtpServer(certs, user=USER, password=PASSWORD) as server:
        settings = configure(empty_ws, server.port, **{
            "smtp.starttls": "true", "smtp.user": USER, "smtp.password": PASSWORD,
            "smtp.cafile": str(certs.ca_file), "smtp.sender": "alarms@example.com"})
        assert send_alarm_email(settings, alarms[:1]) is True
        send_test_email(settings)
    assert server.mailbox.logins == [USER, USER]
    assert [m["Subject"] for m in server.mailbox.messages] == [
        f"Ratchet alarm: {MODEL} roc_auc 0.884 < 0.92", "Ratchet test e-mail"]
    assert server.mailbox.messages[0]["From"] == "alarms@example.com"
    assert "alarm e-mail about 1 alarm(s) sent" in engine_log(caplog)
    assert PASSWORD not in engine_log(caplog)


def test_a_refused_login_says_so_without_the_password_even_if_the_server_echoes_it(
        empty_ws, alarms, tmp_path, caplog):
    certs = make_certificates(tmp_path)
    with caplog.at_level(logging.DEBUG), \
            SmtpServer(certs, user=USER, password="the-right-one", echo=True) as server:
        settings = configure(empty_ws, server.port, **{
            "smtp.starttls": "true", "smtp.user": USER, "smtp.password": PASSWORD,
            "smtp.cafile": str(certs.ca_file)})
        with pytest.raises(AlarmEmailError) as info:
            send_alarm_email(settings, alarms)
        # the monitoring glue records the failure on the alarms and logs it
        conn = connect(empty_ws.database)
        try:
            error = email_new_alarms(conn, empty_ws.root, alarms)
            stored = list_alarms(conn)
        finally:
            conn.close()
    message = info.value.message
    assert f"127.0.0.1:{server.port}" in message and f"logging in as '{USER}'" in message
    assert "535" in message and "********" in message  # the echoed password, masked
    assert PASSWORD not in message and PASSWORD not in str(info.value)
    assert error is not None and PASSWORD not in error
    assert all(a.email_error == error and a.emailed_at is None for a in stored)
    assert PASSWORD not in engine_log(caplog) and "was not sent" in engine_log(caplog)
    assert server.mailbox.messages == []


def test_an_untrusted_certificate_is_refused_with_what_to_do(empty_ws, alarms, tmp_path):
    certs = make_certificates(tmp_path)
    with SmtpServer(certs) as server:
        settings = configure(empty_ws, server.port, **{"smtp.starttls": "true"})
        with pytest.raises(AlarmEmailError) as info:
            send_alarm_email(settings, alarms)
    assert "STARTTLS failed" in info.value.message
    assert "certificate could not be verified" in info.value.message
    assert "smtp.cafile" in info.value.message and server.mailbox.messages == []


def test_a_server_that_requires_starttls_refuses_a_plain_session(empty_ws, alarms, tmp_path):
    certs = make_certificates(tmp_path)
    with SmtpServer(certs) as server, pytest.raises(AlarmEmailError) as info:
        send_alarm_email(configure(empty_ws, server.port), alarms)
    assert "sending failed" in info.value.message and "530" in info.value.message


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_tls_from_the_start_on_the_implicit_tls_port(empty_ws, alarms, tmp_path, monkeypatch):
    certs = make_certificates(tmp_path)
    with SmtpServer(certs, implicit_tls=True, user=USER, password=PASSWORD) as server:
        monkeypatch.setattr(alarm_email, "IMPLICIT_TLS_PORT", server.port)
        settings = configure(empty_ws, server.port, **{
            "smtp.user": USER, "smtp.password": PASSWORD,
            "smtp.cafile": str(certs.ca_file)})
        assert send_alarm_email(settings, alarms) is True
    assert server.mailbox.logins == [USER] and len(server.mailbox.messages) == 1


def test_a_wrong_port_is_a_clear_error(empty_ws, alarms):
    port = free_port()  # nothing listens there
    settings = configure(empty_ws, port)
    with pytest.raises(AlarmEmailError) as info:
        send_alarm_email(settings, alarms)
    assert info.value.code == "E_ALARM_EMAIL"
    assert f"the SMTP server 127.0.0.1:{port}" in info.value.message
    assert "connection was refused" in info.value.message


def test_no_password_over_an_unencrypted_connection(empty_ws, alarms):
    settings = configure(empty_ws, free_port(), **{"smtp.user": USER, "smtp.password": PASSWORD})
    with pytest.raises(AlarmEmailError) as info:
        send_alarm_email(settings, alarms)
    assert "unencrypted" in info.value.message and "smtp.starttls" in info.value.message
    assert PASSWORD not in info.value.message


def test_without_host_or_recipients_email_is_off(empty_ws, alarms):
    settings = load_settings(empty_ws.root)
    assert not email_configured(settings)
    assert send_alarm_email(settings, alarms) is False
    with pytest.raises(AlarmEmailError) as info:
        send_test_email(settings)
    assert info.value.code == "E_EMAIL_NOT_CONFIGURED"
    assert "smtp.host and alarms.email_to" in info.value.message
    set_setting(empty_ws.root, "smtp.host", "127.0.0.1")
    assert not email_configured(load_settings(empty_ws.root))  # still no recipient
    conn = connect(empty_ws.database)
    try:
        assert email_new_alarms(conn, empty_ws.root, alarms) is None
        assert all(a.email_error is None for a in list_alarms(conn))
    finally:
        conn.close()
