"""`atrium email`: check the SMTP relay, and what the outbox holds."""
from __future__ import annotations

import sys

import click

from app.cli_helpers import EXIT_CONFIG, EXIT_FAILED, emit, fail, require_schema, with_app


@click.group()
def email():
    """Email through the customer's SMTP relay: check the relay, see the outbox."""


@email.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_app
def check(app, as_json):
    """Connect to the relay, secure the connection and log in as configured; exit 1 when that fails."""
    from app.notify.outbox import Relay, RelayUnavailable

    smtp = app.config["ATRIUM"].smtp
    if not smtp.host:
        fail("no SMTP relay is configured (smtp.host): no email is sent", EXIT_CONFIG)
    relay = Relay(smtp)
    where = {"host": smtp.host, "port": smtp.port, "security": smtp.security, "login": bool(smtp.username)}
    try:
        relay.connect()
    except RelayUnavailable as exc:
        emit(as_json, {**where, "ok": False, "error": exc.detail}, [f"error: {exc.detail}"])
        sys.exit(EXIT_FAILED)
    finally:
        relay.close()
    login = f", logged in as {smtp.username}" if smtp.username else ""
    emit(as_json, {**where, "ok": True}, [f"relay {smtp.host}:{smtp.port} ({smtp.security}{login}) answers"])


@email.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@with_app
def status(app, as_json):
    """Emails per state (queued, sending, handed, sent, failed, skipped) for each tenant that has any."""
    from app.notify.service import email_settings, outbox_counts
    from app.tenancy.models import Tenant

    require_schema(app)
    rows, lines = [], []
    smtp = app.config["ATRIUM"].smtp
    lines.append(f"relay: {smtp.host}:{smtp.port} ({smtp.security})" if smtp.host else "relay: none configured")
    for tenant in Tenant.select().order_by(Tenant.slug):
        counts = outbox_counts(tenant)
        enabled = email_settings(tenant).enabled
        rows.append({"tenant": tenant.slug, "enabled": enabled, **counts})
        lines.append(f"{tenant.slug}: email {'on' if enabled else 'off'}; "
                     + " ".join(f"{state}={count}" for state, count in counts.items()))
    emit(as_json, {"relay": smtp.host or None, "tenants": rows}, lines)
