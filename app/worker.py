"""The worker: small named jobs run in passes, for every tenant of the install.

Each job gets the pass's `now` and returns its counts. Jobs are safe to run on
several nodes at once (each claims its rows with conditional updates), so the
worker needs no leader. Capabilities add their jobs to JOBS.
"""
from __future__ import annotations

import datetime
import json
import logging
import signal
import sys
import threading
import time
from typing import Callable

import click
from flask import current_app

from app.approvals.service import reroute_stalled
from app.attendance.service import close_due
from app.cli_helpers import EXIT_FAILED, require_schema, with_app
from app.db import db, utcnow
from app.ding.service import due_work
from app.events.models import Event
from app.notify import jobs as notify_jobs
from app.notify.outbox import send_due

log = logging.getLogger(__name__)

EVENT_RETENTION_DAYS = 14

Job = Callable[[datetime.datetime], dict]


def run_due_dings(now: datetime.datetime) -> dict:
    """Deliver scheduled DINGs and remind the unconfirmed."""
    return due_work(now)


def prune_events(now: datetime.datetime) -> dict:
    """Drop events older than the retention; a client that far behind reloads instead of replaying."""
    cutoff = now - datetime.timedelta(days=EVENT_RETENTION_DAYS)
    return {"pruned": Event.delete().where(Event.created_at < cutoff).execute()}


def reroute_approvals(now: datetime.datetime) -> dict:
    """Hand requests waiting on someone deactivated to that person's manager or an admin."""
    return reroute_stalled(now)


def close_attendance_days(now: datetime.datetime) -> dict:
    """Judge the attendance of days that have ended (absences, missed check-outs, leave)."""
    return close_due(now)
def queue_notification_emails(now: datetime.datetime) -> dict:
    """Queue emails for DINGs left unconfirmed past the tenant's delay, and the daily digests that are due."""
    settings = current_app.config["ATRIUM"]
    return {"dings": notify_jobs.escalate_dings(settings, now), "digests": notify_jobs.queue_digests(settings, now)}


def send_emails(now: datetime.datetime) -> dict:
    """Send queued emails through the SMTP relay, retrying with backoff while it is down.

    It follows the clock rather than the pass's `now`: sending takes time, and leases and backoff count from
    the moment each email is sent.
    """
    return send_due(current_app.config["ATRIUM"])


JOBS: list[tuple[str, Job]] = [
    ("dings", run_due_dings),
    ("notifications", queue_notification_emails),
    ("email", send_emails),
    ("events", prune_events),
    ("approvals", reroute_approvals),
    ("attendance", close_attendance_days),
]


def run_pass(now: datetime.datetime | None = None, jobs: list[tuple[str, Job]] | None = None) -> dict[str, dict]:
    """Run each job once; a job that fails is logged and reported as {"error": class name}, the others still run."""
    now = now or utcnow()
    results: dict[str, dict] = {}
    for name, job in JOBS if jobs is None else jobs:
        try:
            results[name] = job(now)
        except Exception as exc:  # one broken job must not starve the others; the pass reports it
            log.exception("worker job %s failed", name)
            results[name] = {"error": type(exc).__name__}
        finally:
            # Each job gives its connection back (to the pool, on PostgreSQL): nothing is held between passes.
            if not db.is_closed():
                db.close()
    return results


def failed(results: dict[str, dict]) -> list[str]:
    """The names of the jobs that failed in a pass."""
    return [name for name, counts in results.items() if "error" in counts]


def summary(results: dict[str, dict], seconds: float | None = None) -> str:
    """One line for a pass: `dings delivered=0 reminded=2; events pruned=0 (0.01 s)`."""
    parts = ["{} {}".format(name, " ".join(f"{key}={value}" for key, value in counts.items()))
             for name, counts in results.items()]
    return "; ".join(parts) + ("" if seconds is None else f" ({seconds:.2f} s)")


def run_forever(interval: float, stop: threading.Event, report: Callable[[dict, float], None],
                jobs: list[tuple[str, Job]] | None = None) -> int:
    """Run passes every `interval` seconds until `stop` is set (a pass under way finishes first); returns the count."""
    passes = 0
    while not stop.is_set():
        started = time.monotonic()
        results = run_pass(jobs=jobs)
        passes += 1
        report(results, time.monotonic() - started)
        stop.wait(max(0.0, interval - (time.monotonic() - started)))
    return passes


# --- the command ----------------------------------------------------------------------------

@click.command("worker")
@click.option("--interval", type=click.FloatRange(min=1), default=30.0, show_default=True,
              help="Seconds from the start of one pass to the start of the next.")
@click.option("--once", is_flag=True, help="Run one pass and exit (non-zero when a job failed).")
@click.option("--json", "as_json", is_flag=True, help="Print each pass's counts as JSON.")
@with_app
def worker(app, interval, once, as_json):
    """Run the background jobs (DINGs, notification emails, event pruning, approval stand-ins, attendance days) until
    stopped."""
    require_schema(app)

    def report(results: dict, seconds: float) -> None:
        if as_json:
            click.echo(json.dumps(results, sort_keys=True))
        else:
            click.echo(f"{utcnow():%Y-%m-%d %H:%M:%S}Z worker pass: {summary(results, seconds)}")

    if once:
        started = time.monotonic()
        results = run_pass()
        report(results, time.monotonic() - started)
        if failed(results):
            sys.exit(EXIT_FAILED)
        return
    stop = threading.Event()
    # SIGTERM (systemd, docker) and Ctrl-C end the loop after the pass under way.
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_args: stop.set())
    click.echo(f"worker started: a pass every {interval:g} s; jobs: {', '.join(name for name, _job in JOBS)}")
    passes = run_forever(interval, stop, report)
    click.echo(f"worker stopped after {passes} pass(es)")
