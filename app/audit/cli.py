"""`atrium audit export`: the audit log as JSON lines, for a SIEM."""
from __future__ import annotations

import json

import click

from app.cli_helpers import EXIT_CONFIG, fail, get_tenant, require_schema, with_app


@click.group()
def audit():
    """The audit log: who did what, when and from where (append-only)."""


@audit.command("export", epilog="""\b
Examples:
  atrium audit export acme --since 2026-11-01 > acme-november.jsonl
  atrium audit export --all --since 2026-11-01T00:00:00Z --until 2026-12-01 > install.jsonl

Each line is one JSON object with the keys id, at, tenant, tenant_id, actor, actor_id, via,
address, action, target (type, id, label), changes and outcome; times are ISO-8601 UTC.""")
@click.argument("tenant_slug", required=False)
@click.option("--all", "all_tenants", is_flag=True,
              help="Every entry of the install: all tenants, deleted ones included, and the install's own.")
@click.option("--since", required=True, metavar="WHEN",
              help="From this moment on: 2026-11-01 (midnight UTC), 2026-11-01T08:00:00Z or with an offset.")
@click.option("--until", default=None, metavar="WHEN",
              help="Up to, not including, this moment; a date alone means the end of that day.")
@with_app
def export(app, tenant_slug, all_tenants, since, until):
    """Write the audit entries of TENANT (or --all) from --since on to standard output, one JSON object a line."""
    from app.audit import record
    from app.audit.service import BadFilter, Target, as_json, parse_moment, stream

    require_schema(app)
    if bool(tenant_slug) == bool(all_tenants):
        fail("name one TENANT or give --all", EXIT_CONFIG)
    try:
        start = parse_moment(since, "since")
        end = parse_moment(until, "until", end_of_day=True) if until else None
    except BadFilter as exc:
        fail(f"--{exc.field}: {exc.message} (got {(since if exc.field == 'since' else until)!r})", EXIT_CONFIG)
    if end is not None and end <= start:
        fail("--until: the end is not after --since", EXIT_CONFIG)
    tenant = None if all_tenants else get_tenant(tenant_slug)
    count = 0
    for event in stream(tenant, start, end):
        click.echo(json.dumps(as_json(event), ensure_ascii=False, separators=(",", ":")))
        count += 1
    record("audit.export", tenant=tenant, target=Target("audit_log", label=tenant.slug if tenant else "all"),
           changes={"since": start, "until": end, "entries": count})
    click.echo(f"exported {count} audit entries", err=True)
