"""`atrium attendance`: judge a day again, and the monthly report for IT's own tools."""
from __future__ import annotations

import datetime
import zoneinfo

import click

from app.cli_helpers import emit, fail, get_tenant, require_schema, with_app


@click.group()
def attendance():
    """Attendance: judge days, print monthly reports."""


@attendance.command("close")
@click.option("--tenant", "tenant_slug", required=True, help="The tenant's short name.")
@click.option("--date", "day", required=True, help="The day to judge, e.g. 2025-03-03 (each person's local date).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_app
def close(app, tenant_slug, day, as_json):
    """Judge (or judge again) one day for every active person of a tenant: absent, late, early, leave."""
    from app.attendance.service import close_day, rule_for
    from app.org.models import Person

    require_schema(app)
    tenant = get_tenant(tenant_slug)
    try:
        date = datetime.date.fromisoformat(day)
    except ValueError:
        fail(f"--date must look like 2025-03-03, not {day!r}", 2)
    rule = rule_for(tenant)
    if rule is None or not rule.enabled:
        fail(f"tenant '{tenant.slug}' does not take attendance (see Attendance → Settings)")
    zone = zoneinfo.ZoneInfo(tenant.timezone or app.config["ATRIUM"].default_timezone)
    if date >= datetime.datetime.now(zone).date():
        fail(f"{date} is not over yet in {zone}: only past days can be judged")
    people = list(Person.active(tenant))
    judged = close_day(tenant, rule, date, people)
    emit(as_json, {"tenant": tenant.slug, "date": date.isoformat(), "judged": judged},
         [f"{tenant.slug} {date}: {judged} day(s) judged"])


@attendance.command("report")
@click.option("--tenant", "tenant_slug", required=True, help="The tenant's short name.")
@click.option("--month", required=True, help="The month, e.g. 2025-03.")
@click.option("--department", type=int, default=None, help="A department id (with its sub-departments); default: everyone.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of CSV.")
@with_app
def report(app, tenant_slug, month, department, as_json):
    """Print a month's attendance per person as CSV (or JSON)."""
    from app.attendance.service import parse_month, report as build, report_csv, report_values
    from app.org.service import OrgIndex
    from app.validation import ValidationError

    require_schema(app)
    tenant = get_tenant(tenant_slug)
    try:
        first = parse_month(month, datetime.date.today())
    except ValidationError:
        fail(f"--month must look like 2025-03, not {month!r}", 2)
    index = OrgIndex(tenant)
    if department is not None and department not in index.by_id:
        fail(f"tenant '{tenant.slug}' has no department {department}")
    rows = build(tenant, first, department, index)
    if as_json:
        emit(True, {"tenant": tenant.slug, "month": first.strftime("%Y-%m"), "department": department,
                    "rows": [{**report_values(r), "person": r.person.id} for r in rows]}, [])
    else:
        click.echo(report_csv(rows).lstrip("\ufeff"), nl=False)
