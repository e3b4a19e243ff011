"""The outbox's state machine against a real SMTP server: retries with backoff, permanent failures, crashes at
every step of a send, two workers at once, and a worker process killed mid-send."""
from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from app.config import SmtpSettings
from app.db import db
from app.notify import outbox
from app.notify.models import OutgoingEmail
from app.notify.outbox import ASSUMED_SENT, Relay, send_due
from app.notify.service import queue_email

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime.datetime(2026, 3, 2, 2, 0)


def later(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


def queue(app, team, who="bob", n=1):
    with app.app_context():
        return [queue_email(team["tenant"], team[who], "test", {}, now=T0) for _ in range(n)]


def send(app, now, **kw):
    with app.app_context():
        return send_due(app.config["ATRIUM"], now, **kw)


def row(email: OutgoingEmail) -> OutgoingEmail:
    return OutgoingEmail.get_by_id(email.id)


class Crash(BaseException):
    """Stands for the worker process dying: nothing after it runs, nothing is committed for it."""


def test_backoff_and_retry_while_the_relay_is_down_then_delivery_when_it_returns(app, team, email_on, relay):
    (email,) = queue(app, team)
    relay.stop()
    assert send(app, T0)["retried"] == 1
    first = row(email)
    assert (first.state, first.attempts, first.next_attempt_at) == ("queued", 1, later(60))
    assert "cannot be reached" in first.detail and f"127.0.0.1:{relay.port}" in first.detail
    assert send(app, later(59)) == {"sent": 0, "retried": 0, "failed": 0, "held": 0, "skipped": 0, "recovered": 0}
    assert send(app, later(60))["retried"] == 1
    assert (row(email).attempts, row(email).next_attempt_at) == (2, later(60 + 120))   # doubled
    relay.start()
    assert send(app, later(179))["sent"] == 0                                          # not due yet
    assert send(app, later(180))["sent"] == 1
    done = row(email)
    assert (done.state, done.attempts, done.detail, done.sent_at) == ("sent", 3, None, later(180))
    assert len(relay.mailbox.messages) == 1 and relay.mailbox.messages[0]["Message-ID"] == email.message_id


def test_the_backoff_doubles_up_to_an_hour():
    smtp = SmtpSettings(retry_seconds=60)
    assert [outbox.backoff_seconds(smtp, n) for n in (1, 2, 3, 6, 7, 20)] == [60, 120, 240, 1920, 3600, 3600]


def test_a_temporary_refusal_at_the_end_is_retried_and_a_permanent_one_is_final(app, team, email_on, relay):
    (email,) = queue(app, team)
    relay.mailbox.data_reply = "451 4.3.0 Mailbox busy, try later"
    assert send(app, T0)["retried"] == 1
    assert row(email).state == "queued" and row(email).detail == "end of data: 451 4.3.0 Mailbox busy, try later"
    relay.mailbox.data_reply = None
    assert send(app, later(60))["sent"] == 1

    (refused,) = queue(app, team, "li")
    relay.mailbox.rcpt_reply = "550 5.1.1 <li@acme.example>: no such user"
    assert send(app, later(120))["failed"] == 1
    failed = row(refused)
    assert failed.state == "failed" and failed.detail == "RCPT TO: 550 5.1.1 <li@acme.example>: no such user"
    assert failed.attempts == 1
    for minutes in (10, 100, 1000):                                       # never tried again
        assert send(app, later(minutes * 60))["failed"] == 0
    assert row(refused).attempts == 1 and len(relay.mailbox.messages) == 1


def test_after_max_attempts_it_is_given_up_with_the_last_error(app, team, email_on, relay):
    (email,) = queue(app, team)
    relay.stop()
    moment = T0
    for attempt in range(1, 5):        # max_attempts = 4 in these tests
        counts = send(app, moment)
        moment = row(email).next_attempt_at
    gave_up = row(email)
    assert counts["failed"] == 1 and gave_up.state == "failed" and gave_up.attempts == 4
    assert gave_up.detail.startswith("gave up after 4 attempts: 127.0.0.1:") and "cannot be reached" in gave_up.detail


def test_a_relay_that_is_down_stops_the_pass_without_charging_the_others(app, team, email_on, relay):
    emails = queue(app, team, n=3)
    relay.stop()
    assert send(app, T0)["retried"] == 1
    assert sorted(row(e).attempts for e in emails) == [0, 0, 1]


def test_a_crash_after_the_relay_took_the_message_never_sends_it_again(app, team, email_on, relay):
    """The fault sits between the relay's acceptance and the commit of `sent`: the row stays `handed`."""
    (email,) = queue(app, team)

    class CrashAfterSend(Relay):
        def send(self, *args):
            super().send(*args)
            raise Crash()

    with pytest.raises(Crash):
        send(app, T0, relay=CrashAfterSend(app.config["ATRIUM"].smtp))
    assert row(email).state == "handed" and len(relay.mailbox.messages) == 1
    lease = outbox.lease_seconds(app.config["ATRIUM"].smtp)
    assert send(app, later(lease - 1))["recovered"] == 0          # the lease still holds: maybe it is still working
    assert send(app, later(lease + 1))["recovered"] == 1          # the restarted worker
    recovered = row(email)
    assert (recovered.state, recovered.detail, recovered.sent_at) == ("sent", ASSUMED_SENT, T0)
    assert send(app, later(lease + 600)) == {"sent": 0, "retried": 0, "failed": 0, "held": 0, "skipped": 0,
                                             "recovered": 0}
    assert len(relay.mailbox.messages) == 1


def test_a_crash_before_the_end_of_the_message_sends_it_once_after_the_restart(app, team, email_on, relay):
    """The fault sits after the whole message was written and before the `handed` mark: the relay never saw its end."""
    (email,) = queue(app, team)

    class CrashBeforeEnd(Relay):
        def send(self, sender, recipient, data, before_end):
            def dies():
                raise Crash()
            return super().send(sender, recipient, data, dies)

    with pytest.raises(Crash):
        send(app, T0, relay=CrashBeforeEnd(app.config["ATRIUM"].smtp))
    assert row(email).state == "sending" and relay.mailbox.messages == []
    lease = outbox.lease_seconds(app.config["ATRIUM"].smtp)
    counts = send(app, later(lease + 1))
    assert counts["recovered"] == 1 and counts["sent"] == 1
    assert row(email).state == "sent" and row(email).detail is None
    assert len(relay.mailbox.messages) == 1 and relay.mailbox.messages[0]["Message-ID"] == email.message_id


def test_a_worker_whose_lease_ran_out_does_not_end_the_message_another_worker_took_over(app, team, email_on, relay):
    from app.notify.mail import build_message

    (email,) = queue(app, team)
    lease = outbox.lease_seconds(app.config["ATRIUM"].smtp)
    outcomes = []

    def slow_build(claimed, settings):
        # While this worker is stalled, its lease runs out and a second worker recovers the row and sends it.
        if not outcomes:
            outcomes.append(send_due(settings, later(lease + 1)))
        return build_message(claimed, settings)

    with app.app_context():
        first = outbox.send_one(row(email), Relay(app.config["ATRIUM"].smtp), app.config["ATRIUM"], lambda: T0,
                                slow_build)
    assert outcomes[0]["recovered"] == 1 and outcomes[0]["sent"] == 1
    assert first == "lost"
    assert row(email).state == "sent" and len(relay.mailbox.messages) == 1


@pytest.mark.parametrize("workers", [4])
def test_workers_at_the_same_moment_send_each_email_once(app, team, email_on, relay, workers):
    emails = queue(app, team, n=12) + queue(app, team, "li", n=12)
    start = threading.Barrier(workers)
    results, failures = [], []

    def work():
        try:
            with app.app_context():
                start.wait()
                results.append(send_due(app.config["ATRIUM"], T0))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert sum(r["sent"] for r in results) == 24
    ids = [m["Message-ID"] for m in relay.mailbox.messages]
    assert len(ids) == 24 and sorted(ids) == sorted(e.message_id for e in emails)
    assert {row(e).state for e in emails} == {"sent"}


def _worker_env(app) -> dict:
    settings = app.config["ATRIUM"]
    smtp = settings.smtp
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATRIUM_")}
    env.update({"ATRIUM_DATA_DIR": str(settings.data_dir), "DATABASE_URL": settings.database,
                "ATRIUM_SMTP__HOST": smtp.host, "ATRIUM_SMTP__PORT": str(smtp.port), "ATRIUM_SMTP__SECURITY": "none",
                "ATRIUM_SMTP__FROM_ADDRESS": smtp.from_address, "ATRIUM_SMTP__TIMEOUT": str(smtp.timeout),
                "PYTHONPATH": str(ROOT)})
    return env


@pytest.mark.slow
@pytest.mark.parametrize("stage, state_after_kill", [("RCPT", "sending"), ("DATA", "handed")])
def test_a_worker_killed_mid_send_delivers_exactly_once_after_the_restart(app, team, email_on, relay, stage,
                                                                          state_after_kill):
    """A real `atrium worker` process is killed while the relay holds it at RCPT (before the message) or right
    after the relay took the whole message; the restarted worker sends the first and never resends the second."""
    with app.app_context():
        email = queue_email(team["tenant"], team["bob"], "test", {})
    relay.mailbox.stall_in = stage
    db.close()
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "worker", "--once"], cwd=ROOT, env=_worker_env(app),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert relay.mailbox.stalled.wait(60), process.communicate(timeout=5)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)
    relay.mailbox.stall_in = None
    relay.mailbox.release.set()
    assert row(email).state == state_after_kill
    received = 1 if stage == "DATA" else 0
    assert len(relay.mailbox.messages) == received
    lease = outbox.lease_seconds(app.config["ATRIUM"].smtp)
    restart = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) + datetime.timedelta(seconds=lease + 1)
    counts = send(app, restart)
    assert counts["recovered"] == 1 and counts["sent"] == (1 if stage == "RCPT" else 0)
    assert row(email).state == "sent"
    assert row(email).detail == (ASSUMED_SENT if stage == "DATA" else None)
    assert [m["Message-ID"] for m in relay.mailbox.messages] == [email.message_id]
