"""The email outbox: emails queued in the database, sent through the customer's SMTP relay by the worker.

States of an `outgoing_email` row:

    queued --claim--> sending --whole message written, mark committed--> handed --relay: 250--> sent
       ^                 |                                                  |
       |                 +-- relay down or 4xx before the end ----------+   +-- relay: 4xx --> queued (retry)
       +-- backoff ------+   (5xx, or too many attempts: failed)        |   +-- relay: 5xx --> failed
                                                                        +-> queued (retry, backoff)
    queued --the person read it in the app first, or left--> skipped

- **Claiming.** A worker takes a row with one conditional UPDATE (queued and due
  -> sending, with its own random claim token and a lease). Of two workers, one
  update matches and the other finds the row taken: no row is worked on twice.
- **Retrying.** A relay that cannot be reached, refuses the TLS or the login, or
  answers 4xx puts the row back to queued, due after `retry_seconds`, doubled on
  each attempt (at most an hour); after `max_attempts` it is failed. A 5xx answer
  is final: failed at once, with the relay's code and text (never a secret: a
  refused login records only its code).
- **The one moment that matters.** SMTP has no way to ask a relay whether it
  took a message, and a relay takes it when it receives the end-of-data mark.
  So the worker writes the whole message, then commits the row as `handed`
  (conditional on still holding its claim), and only then sends the mark. A
  worker that lost its claim (its lease ran out and another took the row) fails
  that update and drops the connection instead: the relay discards a message
  whose end it never saw.
- **Crash recovery.** When a lease runs out, the worker that held it is taken to
  be dead. A row still `sending` goes back to queued and is sent again: its
  relay never saw the end of it. A row `handed` is taken as sent and never sent
  again, with a note saying so.

The guarantee, honestly: an email is never sent twice, and it is never lost
when a worker dies, except in one window that no SMTP client can close: a
worker that dies (or loses the relay's answer) after sending the end-of-data
mark and before recording the answer. The relay then has the whole message and
almost always delivers it; the row is recorded as sent with that note, and if
the relay had in fact refused it right then, the relay's own log is the only
trace. Every attempt carries the same Message-ID, fixed when the row was queued.

Off work: an email that is not urgent waits until the person's working hours
start (and do-not-disturb ends); DINGs are urgent and go at once.
"""
from __future__ import annotations

import datetime
import logging
import re
import smtplib
import ssl
import uuid
from typing import Callable

from app.config import Settings, SmtpSettings
from app.db import utcnow
from app.notify.models import Notification, OutgoingEmail
from app.org.models import Person
from app.org.status import is_off_work, next_alert_time

log = logging.getLogger(__name__)

BATCH = 200                 # emails one pass takes on; the next pass takes the rest
MAX_BACKOFF_SECONDS = 3600
LEASE_MARGIN_SECONDS = 60
ASSUMED_SENT = "assumed sent: the relay had the whole message, its answer was not recorded"


class RelayUnavailable(Exception):
    """The relay cannot be used now (unreachable, TLS or login refused): every email waits. `detail` is safe to keep."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail
        self.outcome = "retried"    # or "failed", once the email has used up its attempts


class Refused(Exception):
    """The relay answered this message with an error code (before or after its end)."""

    def __init__(self, code: int, text: str, stage: str):
        super().__init__(f"{code} {text}")
        self.code, self.text, self.stage = code, text, stage

    @property
    def permanent(self) -> bool:
        return self.code >= 500

    @property
    def detail(self) -> str:
        return f"{self.stage}: {self.code} {self.text}"[:300]


class NoAnswer(Exception):
    """The connection broke after the end-of-data mark was sent: the relay's answer is unknown."""


class ClaimLost(Exception):
    """Another worker took the row over (this one's lease ran out): the message must not be ended."""


def _reply_text(raw) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return re.sub(r"\s+", " ", text).strip()[:200]


def _dot_stuffed(data: bytes) -> bytes:
    """The message as DATA carries it: CRLF line ends, lines starting with a dot doubled, ending in CRLF."""
    data = re.sub(rb"\r\n|\r|\n", b"\r\n", data)
    data = re.sub(rb"(?m)^\.", b"..", data)
    return data if data.endswith(b"\r\n") else data + b"\r\n"


class Relay:
    """One connection to the customer's SMTP relay, opened when first needed and reused for a pass."""

    def __init__(self, smtp: SmtpSettings):
        self.smtp = smtp
        self.conn: smtplib.SMTP | None = None

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.smtp.ca_file or None)

    def connect(self) -> None:
        """Connect, greet, secure and log in as configured; RelayUnavailable with a safe detail otherwise."""
        smtp = self.smtp
        where = f"{smtp.host}:{smtp.port}"
        try:
            if smtp.security == "tls":
                conn = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=self._tls())
            else:
                conn = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        except smtplib.SMTPConnectError as exc:
            raise RelayUnavailable(f"{where} refused the connection: {exc.smtp_code} {_reply_text(exc.smtp_error)}")
        except ssl.SSLError as exc:
            raise RelayUnavailable(f"{where}: TLS failed ({exc.reason or type(exc).__name__})") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise RelayUnavailable(f"{where} cannot be reached ({type(exc).__name__})") from None
        try:
            conn.ehlo()
            if smtp.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise RelayUnavailable(f"{where} does not offer STARTTLS")
                conn.starttls(context=self._tls())
                conn.ehlo()
            if smtp.username:
                try:
                    conn.login(smtp.username, smtp.read_password())
                except smtplib.SMTPAuthenticationError as exc:
                    # The relay's text is not kept: some echo what they were sent.
                    raise RelayUnavailable(f"{where} refused the login ({exc.smtp_code})") from None
        except RelayUnavailable:
            _close_quietly(conn)
            raise
        except ssl.SSLError as exc:
            _close_quietly(conn)
            raise RelayUnavailable(f"{where}: TLS failed ({exc.reason or type(exc).__name__})") from None
        except (OSError, smtplib.SMTPException) as exc:
            _close_quietly(conn)
            raise RelayUnavailable(f"{where} broke off while connecting ({type(exc).__name__})") from None
        self.conn = conn

    def send(self, sender: str, recipient: str, data: bytes, before_end: Callable[[], None]) -> str:
        """Send one message; `before_end` runs after the whole message is written and before its end mark.

        Returns the relay's acceptance; raises Refused (with the stage), NoAnswer after the end mark,
        RelayUnavailable when the connection broke before it, or whatever before_end raised.
        """
        if self.conn is None:
            self.connect()
        conn = self.conn
        try:
            code, text = conn.mail(sender)
            if code != 250:
                _refuse(conn, code, text, "MAIL FROM")
            code, text = conn.rcpt(recipient)
            if code not in (250, 251):
                _refuse(conn, code, text, "RCPT TO")
            code, text = conn.docmd("DATA")
            if code != 354:
                _refuse(conn, code, text, "DATA")
            conn.send(_dot_stuffed(data))
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self.close()
            raise RelayUnavailable(f"{self.smtp.host}:{self.smtp.port} broke off ({type(exc).__name__})") from None
        try:
            before_end()
        except BaseException:
            self.close()    # the relay drops a message whose end it never saw
            raise
        try:
            conn.send(b".\r\n")
            code, text = conn.getreply()
        except (OSError, smtplib.SMTPServerDisconnected):
            self.close()
            raise NoAnswer() from None
        if code != 250:
            raise Refused(code, _reply_text(text), "end of data")
        return _reply_text(text)

    def close(self) -> None:
        if self.conn is not None:
            _close_quietly(self.conn)
            self.conn = None


def _refuse(conn: smtplib.SMTP, code: int, text, stage: str) -> None:
    """Raise Refused for the relay's answer, after resetting the transaction so the connection can go on."""
    try:
        conn.rset()
    except (OSError, smtplib.SMTPException):   # the next message finds the connection broken and reconnects
        pass
    raise Refused(code, _reply_text(text), stage)


def _close_quietly(conn: smtplib.SMTP) -> None:
    try:
        conn.close()
    except OSError:   # closing a broken connection: nothing more to lose
        pass


def lease_seconds(smtp: SmtpSettings) -> int:
    """How long a claim holds: every step of one message may take the timeout, plus a margin."""
    return 10 * smtp.timeout + LEASE_MARGIN_SECONDS


def backoff_seconds(smtp: SmtpSettings, attempts: int) -> int:
    """The wait after the given number of failed attempts: retry_seconds, doubled each time, at most an hour."""
    return min(smtp.retry_seconds * 2 ** max(0, attempts - 1), MAX_BACKOFF_SECONDS)


def recover(now: datetime.datetime) -> dict[str, int]:
    """Rows whose worker died (its lease ran out): unfinished ones go back to the queue, handed ones count as sent."""
    requeued = (OutgoingEmail.update(state="queued", claim=None, lease_until=None, next_attempt_at=now)
                .where((OutgoingEmail.state == "sending") & (OutgoingEmail.lease_until < now)).execute())
    assumed = (OutgoingEmail.update(state="sent", sent_at=OutgoingEmail.handed_at, claim=None, lease_until=None,
                                    detail=ASSUMED_SENT)
               .where((OutgoingEmail.state == "handed") & (OutgoingEmail.lease_until < now)).execute())
    return {"requeued": requeued, "assumed": assumed}


def _mine(row: OutgoingEmail, token: str, *states: str):
    return (OutgoingEmail.id == row.id) & (OutgoingEmail.claim == token) & OutgoingEmail.state.in_(states)


def _retry(row: OutgoingEmail, token: str, smtp: SmtpSettings, moment: datetime.datetime, detail: str,
           *states: str) -> str:
    attempts = row.attempts + 1   # row is as it was before this worker's claim counted one more
    if attempts >= smtp.max_attempts:
        OutgoingEmail.update(state="failed", claim=None, lease_until=None,
                             detail=f"gave up after {attempts} attempts: {detail}"[:300]).where(
            _mine(row, token, *states)).execute()
        return "failed"
    OutgoingEmail.update(state="queued", claim=None, lease_until=None, detail=detail[:300],
                         next_attempt_at=moment + datetime.timedelta(seconds=backoff_seconds(smtp, attempts))).where(
        _mine(row, token, *states)).execute()
    return "retried"


def _hold_or_skip(row: OutgoingEmail, moment: datetime.datetime, default_timezone: str) -> str | None:
    """'skipped' when the email is no longer wanted, 'held' when its person is off work; None to send it now."""
    person = Person.get_or_none(Person.id == row.person_id)
    reason = None
    if person is None or not person.is_active:
        reason = "the person is no longer active"
    elif row.notification_id and (Notification.select(Notification.read_at)
                                  .where(Notification.id == row.notification_id).scalar()):
        reason = "read in the app before it was sent"
    if reason:
        OutgoingEmail.update(state="skipped", detail=reason).where(
            (OutgoingEmail.id == row.id) & (OutgoingEmail.state == "queued")).execute()
        return "skipped"
    if not row.urgent and is_off_work(person, moment):
        OutgoingEmail.update(next_attempt_at=next_alert_time(person, moment, default_timezone)).where(
            (OutgoingEmail.id == row.id) & (OutgoingEmail.state == "queued")).execute()
        return "held"
    return None


def send_one(row: OutgoingEmail, relay: Relay, settings: Settings, clock: Callable[[], datetime.datetime] = utcnow,
             build: Callable | None = None) -> str:
    """Claim one queued row and send it; the outcome: sent, retried, failed, held, skipped, taken or lost."""
    from app.notify.mail import NoSender, build_message

    smtp = settings.smtp
    moment = clock()
    outcome = _hold_or_skip(row, moment, settings.default_timezone)
    if outcome:
        return outcome
    token = uuid.uuid4().hex
    lease = datetime.timedelta(seconds=lease_seconds(smtp))
    claimed = (OutgoingEmail.update(state="sending", claim=token, lease_until=moment + lease,
                                    attempts=OutgoingEmail.attempts + 1)
               .where((OutgoingEmail.id == row.id) & (OutgoingEmail.state == "queued")
                      & (OutgoingEmail.next_attempt_at <= moment)).execute())
    if not claimed:
        return "taken"
    try:
        built = (build or build_message)(row, settings)
    except NoSender:
        return _retry(row, token, smtp, moment, "no sender address: set one under Admin → Email notifications",
                      "sending")
    except Exception as exc:   # a message that cannot be made would fail on every attempt: record it and move on
        log.exception("email %s could not be built", row.id)
        OutgoingEmail.update(state="failed", claim=None, lease_until=None,
                             detail=f"could not be built ({type(exc).__name__})").where(
            _mine(row, token, "sending")).execute()
        return "failed"

    def before_end():
        handed = (OutgoingEmail.update(state="handed", handed_at=clock(), lease_until=clock() + lease)
                  .where(_mine(row, token, "sending")).execute())
        if not handed:
            raise ClaimLost()

    try:
        relay.send(built.sender, built.recipient, built.as_bytes(), before_end)
    except ClaimLost:
        return "lost"
    except NoAnswer:
        OutgoingEmail.update(state="sent", sent_at=clock(), claim=None, lease_until=None, detail=ASSUMED_SENT).where(
            _mine(row, token, "handed")).execute()
        return "sent"
    except Refused as exc:
        if exc.permanent:
            OutgoingEmail.update(state="failed", claim=None, lease_until=None, detail=exc.detail).where(
                _mine(row, token, "sending", "handed")).execute()
            return "failed"
        return _retry(row, token, smtp, clock(), exc.detail, "sending", "handed")
    except RelayUnavailable as exc:
        exc.outcome = _retry(row, token, smtp, clock(), exc.detail, "sending")
        raise
    OutgoingEmail.update(state="sent", sent_at=clock(), claim=None, lease_until=None, detail=None).where(
        _mine(row, token, "handed")).execute()
    return "sent"


def send_due(settings: Settings, now: datetime.datetime | None = None, relay: Relay | None = None,
             build: Callable | None = None) -> dict[str, int]:
    """One pass: recover the rows of dead workers, then send what is due (urgent first) until the relay fails.

    Leases and backoff count from the clock as each email is sent; a given `now` stands still for the pass.
    """
    clock = (lambda: now) if now is not None else utcnow
    now = clock()
    counts = {"sent": 0, "retried": 0, "failed": 0, "held": 0, "skipped": 0, "recovered": 0}
    if not settings.smtp.host:
        return counts
    counts["recovered"] = sum(recover(now).values())
    due = list(OutgoingEmail.select().where((OutgoingEmail.state == "queued") & (OutgoingEmail.next_attempt_at <= now))
               .order_by(OutgoingEmail.urgent.desc(), OutgoingEmail.next_attempt_at, OutgoingEmail.id).limit(BATCH))
    relay = relay or Relay(settings.smtp)
    try:
        for row in due:
            try:
                outcome = send_one(row, relay, settings, clock, build)
            except RelayUnavailable as exc:
                log.warning("SMTP relay unavailable: %s", exc.detail)
                counts[exc.outcome] += 1
                break   # the rest wait for the next pass rather than each failing the same way
            if outcome in counts:
                counts[outcome] += 1
    finally:
        relay.close()
    return counts
