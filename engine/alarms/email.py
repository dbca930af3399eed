"""Alarm e-mails through the SMTP server of the workspace settings (engine.ground.settings).

STARTTLS (verified against the system's certificate authorities, or smtp.cafile) before the
login; port 465 speaks TLS from the start. A password is never sent over a connection that is
not encrypted, and never appears in an error message or a log line: every message is scrubbed
of it (and of its base64 forms, which a server could echo back) before it leaves this module.
Without a host or recipients e-mail is simply off: send_alarm_email returns False.
"""

from __future__ import annotations

import base64
import logging
import math
import socket
from typing import TYPE_CHECKING

from engine.alarms.store import Alarm
from engine.errors import EngineError
from engine.ground.settings_spec import MASK
from engine.nowtest.result import ALARM_KINDS, AlarmReason

if TYPE_CHECKING:
    import ssl
    from email.message import EmailMessage

# smtplib, ssl and the email package are imported where a message is written or sent: every
# now-test asks whether e-mail is configured, and most need not pay for them (issue 16).

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 20
IMPLICIT_TLS_PORT = 465

KIND_NAMES = {"metric": "metric", "estimate": "estimated metric (no labels)",
              "drift": "feature drift", "out_of_range": "share of inputs out of range",
              "prediction_drift": "prediction drift", "watch": "watch folder",
              "quality": "data-quality rule"}


class AlarmEmailError(EngineError):
    """The alarm e-mail could not be sent; the message says where and what failed."""

    code = "E_ALARM_EMAIL"


def recipients(settings: dict) -> list[str]:
    text = str(settings.get("alarms.email_to") or "")
    return [a.strip() for a in text.replace(";", ",").split(",") if a.strip()]


def email_configured(settings: dict) -> bool:
    """E-mail is on when an SMTP host and at least one recipient are set."""
    return bool(str(settings.get("smtp.host") or "").strip() and recipients(settings))


# -- the message ---------------------------------------------------------------------------
def number(value: float | None, other: float | None = None) -> str:
    """Few digits, but enough that a value and the bound it crossed never print the same."""
    if value is None or math.isnan(value):
        return "n/a"
    for digits in range(3, 13):
        text = f"{value:.{digits}g}"
        if other is None or text != f"{other:.{digits}g}":
            return text
    return repr(value)


def comparison(alarm: Alarm | AlarmReason) -> str:
    """"roc_auc 0.884 < 0.92": the subject, its value, and the bound it crossed (for a
    watch-folder failure: "a file failed in FOLDER (CODE)")."""
    if alarm.kind == "watch":
        return f"a file failed in {alarm.subject}"
    if alarm.value is None or alarm.bound is None or not math.isfinite(alarm.value):
        return f"{alarm.subject} {number(alarm.value)}"
    sign = "<" if alarm.value < alarm.bound else ">"
    return f"{alarm.subject} {number(alarm.value, alarm.bound)} {sign} " \
           f"{number(alarm.bound, alarm.value)}"


def bound_name(alarm: Alarm) -> str:
    if alarm.kind in ("metric", "estimate") and alarm.value is not None \
            and alarm.bound is not None:
        return "minimum" if alarm.value < alarm.bound else "maximum"
    return "threshold"


def subject_line(alarms: list[Alarm]) -> str:
    first = alarms[0]
    more = f" (+{len(alarms) - 1} more)" if len(alarms) > 1 else ""
    return f"Ratchet alarm: {first.model} {comparison(first)}{more}"


def alarm_text(alarm: Alarm) -> str:
    when = alarm.last_at if alarm.occurrences == 1 else \
        f"{alarm.last_at} ({alarm.occurrences} times since {alarm.first_at})"
    nowtest = f" (now-test {alarm.last_nowtest})" if alarm.last_nowtest else ""
    return "\n".join([
        f"Alarm {alarm.id}: {alarm.model} {comparison(alarm)}",
        f"  model:     {alarm.model}",
        f"  {KIND_NAMES.get(alarm.kind, alarm.kind) + ':':<10} {alarm.subject}",
        f"  value:     {number(alarm.value, alarm.bound)}",
        f"  {bound_name(alarm) + ':':<10} {number(alarm.bound, alarm.value)}",
        f"  when:      {when}{nowtest}",
        f"  {alarm.message}",
    ])


def by_importance(alarms: list[Alarm]) -> list[Alarm]:
    """Missed requirements first (the subject line names the first), then estimates, drift."""
    order = {kind: i for i, kind in enumerate(ALARM_KINDS)}
    return sorted(alarms, key=lambda a: order.get(a.kind, len(order)))


def compose_alarm_message(settings: dict, alarms: list[Alarm]) -> EmailMessage:
    alarms = by_importance(alarms)
    host = socket.gethostname()
    body = [f"Ratchet on {host} raised {len(alarms)} alarm{'s' if len(alarms) != 1 else ''}:",
            ""]
    for alarm in alarms:
        body += [alarm_text(alarm), ""]
    ids = " ".join(str(a.id) for a in alarms)
    body.append("Acknowledge on the Monitor page of the Ratchet app, or with "
                f"`ratchet alarms ack ID` (ID: {ids}).")
    return _message(settings, subject_line(alarms), "\n".join(body) + "\n")


def _message(settings: dict, subject: str, body: str) -> EmailMessage:
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    sender = str(settings.get("smtp.sender") or "ratchet@localhost")
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(recipients(settings))
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid("ratchet", domain=sender.rpartition("@")[2] or "localhost")
    msg.set_content(body)
    return msg


# -- sending -------------------------------------------------------------------------------
def send_alarm_email(settings: dict, alarms: list[Alarm], *,
                     ssl_context: ssl.SSLContext | None = None) -> bool:
    """One e-mail listing `alarms`. False (nothing sent) when e-mail is not configured or
    there is no alarm; raises AlarmEmailError when sending fails."""
    if not alarms or not email_configured(settings):
        return False
    _deliver(settings, compose_alarm_message(settings, alarms), ssl_context)
    log.info("alarm e-mail about %d alarm(s) sent to %s", len(alarms),
             ", ".join(recipients(settings)))
    return True


def send_test_email(settings: dict, *, ssl_context: ssl.SSLContext | None = None) -> None:
    """The Settings page's "Send test e-mail": raises AlarmEmailError when e-mail is not
    configured or sending fails."""
    if not email_configured(settings):
        missing = [k for k, ok in (("smtp.host", str(settings.get("smtp.host") or "").strip()),
                                   ("alarms.email_to", recipients(settings))) if not ok]
        raise AlarmEmailError(f"e-mail is not configured: set {' and '.join(missing)} "
                              "first.", "E_EMAIL_NOT_CONFIGURED")
    body = (f"This is a test e-mail from Ratchet on {socket.gethostname()}.\n"
            "Alarm e-mails will arrive like this one.\n")
    _deliver(settings, _message(settings, "Ratchet test e-mail", body), ssl_context)


def _secrets(settings: dict) -> list[str]:
    password = str(settings.get("smtp.password") or "")
    if not password:
        return []
    user = str(settings.get("smtp.user") or "")
    forms = [password, f"\0{user}\0{password}"]
    encoded = [base64.b64encode(f.encode("utf-8", "surrogatepass")).decode("ascii")
               for f in forms]
    return sorted(forms + encoded, key=len, reverse=True)


def scrub(text: str, settings: dict) -> str:
    """`text` without the password in any form it could take on the wire."""
    for secret in _secrets(settings):
        text = text.replace(secret, MASK)
    return text


def _explain(exc: BaseException) -> str:
    import smtplib
    import ssl

    if isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error
        reply = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        return f"the server answered {exc.smtp_code} {reply}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"its certificate could not be verified ({exc.verify_message}); set " \
               "smtp.cafile to the PEM file of its certificate authority"
    if isinstance(exc, socket.timeout | TimeoutError):
        return f"no answer within {TIMEOUT_SECONDS} s"
    if isinstance(exc, ConnectionRefusedError):
        return "the connection was refused (is the host and port right?)"
    if isinstance(exc, socket.gaierror):
        return f"the host name cannot be resolved ({exc.strerror})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}"


def _context(settings: dict, given: ssl.SSLContext | None) -> ssl.SSLContext:
    if given is not None:
        return given
    import ssl

    cafile = str(settings.get("smtp.cafile") or "") or None
    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise AlarmEmailError(f"the certificate file {cafile} (smtp.cafile) cannot be used "
                              f"({exc}); give a PEM file of certificate authorities.",
                              "E_ALARM_EMAIL") from None


def _deliver(settings: dict, message: EmailMessage, ssl_context: ssl.SSLContext | None) -> None:
    host = str(settings.get("smtp.host") or "").strip()
    port = int(settings.get("smtp.port") or 587)
    user = str(settings.get("smtp.user") or "")
    password = str(settings.get("smtp.password") or "")
    import smtplib
    import ssl

    implicit_tls = port == IMPLICIT_TLS_PORT
    starttls = bool(settings.get("smtp.starttls")) and not implicit_tls
    where = f"the SMTP server {host}:{port}"
    if user and not (starttls or implicit_tls):
        raise AlarmEmailError(f"{where}: smtp.user is set but smtp.starttls is off; Ratchet "
                              "does not send a password over an unencrypted connection. Turn "
                              "smtp.starttls on (or use port 465).", "E_ALARM_EMAIL")
    context = _context(settings, ssl_context) if (starttls or implicit_tls) else None
    stage = "connecting"
    try:
        local = socket.gethostname() or "localhost"
        if implicit_tls:
            smtp = smtplib.SMTP_SSL(host, port, local_hostname=local, timeout=TIMEOUT_SECONDS,
                                    context=context)
        else:
            smtp = smtplib.SMTP(host, port, local_hostname=local, timeout=TIMEOUT_SECONDS)
        with smtp:
            stage = "greeting"
            smtp.ehlo()
            if starttls:
                stage = "STARTTLS"
                smtp.starttls(context=context)
                smtp.ehlo()
            if user:
                stage = f"logging in as {user!r}"
                try:
                    smtp.login(user, password)
                except UnicodeEncodeError:
                    raise AlarmEmailError(f"{where}: logging in as {user!r} failed: the user "
                                          "or password has characters other than ASCII, "
                                          "which SMTP login cannot send.",
                                          "E_ALARM_EMAIL") from None
            stage = "sending"
            refused = smtp.send_message(message)
    except AlarmEmailError:
        raise
    except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
        text = scrub(f"could not send the e-mail through {where}: {stage} failed "
                     f"({_explain(exc)}).", settings)
        raise AlarmEmailError(text, "E_ALARM_EMAIL") from None
    if refused:
        raise AlarmEmailError(scrub(f"{where} refused the recipient(s) "
                                    f"{', '.join(refused)}; the others got the e-mail.",
                                    settings), "E_ALARM_EMAIL")
