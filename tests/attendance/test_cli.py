"""`atrium attendance close` and `atrium attendance report`: judging a day again, CSV and JSON, clear errors."""
import datetime
import json

from click.testing import CliRunner

from app.attendance.models import AttendanceDay
from app.cli import main
from app.db import db
from app.org.models import Person


def run(app, *args):
    settings = app.config["ATRIUM"]
    env = {"ATRIUM_DATA_DIR": str(settings.data_dir), "DATABASE_URL": settings.database, "ATRIUM_DEFAULT_LOCALE": "en"}
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    if not db.is_closed():
        db.close()
    return result


def test_close_and_report(app, org, rule):
    Person.update(created_at=datetime.datetime(2025, 1, 1)).execute()
    result = run(app, "attendance", "close", "--tenant", "acme", "--date", "2025-03-03", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"tenant": "acme", "date": "2025-03-03", "judged": 6}
    assert AttendanceDay.select().where(AttendanceDay.absent == True).count() == 6  # noqa: E712
    again = run(app, "attendance", "close", "--tenant", "acme", "--date", "2025-03-03")
    assert again.exit_code == 0 and "acme 2025-03-03: 6 day(s) judged" in again.output
    csv = run(app, "attendance", "report", "--tenant", "acme", "--month", "2025-03", "--department",
              str(org["north"].id))
    assert csv.exit_code == 0 and csv.output.startswith("Name,Login name,")
    assert len(csv.output.strip().splitlines()) == 4
    data = json.loads(run(app, "attendance", "report", "--tenant", "acme", "--month", "2025-03", "--json").output)
    assert len(data["rows"]) == 6 and all(r["absent"] == 1 for r in data["rows"])


def test_errors_are_one_line_and_non_zero(app, org, rule):
    bad_date = run(app, "attendance", "close", "--tenant", "acme", "--date", "yesterday")
    assert bad_date.exit_code == 2 and "--date must look like 2025-03-03" in bad_date.output
    future = run(app, "attendance", "close", "--tenant", "acme", "--date", "2999-01-01")
    assert future.exit_code == 1 and "is not over yet" in future.output
    unknown = run(app, "attendance", "close", "--tenant", "nope", "--date", "2025-03-03")
    assert unknown.exit_code == 1 and "no tenant 'nope'" in unknown.output
    month = run(app, "attendance", "report", "--tenant", "acme", "--month", "03/2025")
    assert month.exit_code == 2 and "--month must look like 2025-03" in month.output
    department = run(app, "attendance", "report", "--tenant", "acme", "--month", "2025-03", "--department", "9999")
    assert department.exit_code == 1 and "no department 9999" in department.output
    assert AttendanceDay.select().count() == 0


def test_close_refuses_a_tenant_without_attendance(app, org):
    result = run(app, "attendance", "close", "--tenant", "acme", "--date", "2025-03-03")
    assert result.exit_code == 1 and "does not take attendance" in result.output
