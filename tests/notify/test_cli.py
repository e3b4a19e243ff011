"""`atrium email check` and `atrium email status`, and the relay in `atrium config check` (never its password)."""
from __future__ import annotations

import json

from click.testing import CliRunner

from app.cli import main
from app.db import db
from app.notify.service import queue_email


def run(app, *args, **env):
    settings = app.config["ATRIUM"]
    smtp = settings.smtp
    environ = {"ATRIUM_DATA_DIR": str(settings.data_dir), "DATABASE_URL": settings.database,
               "ATRIUM_SMTP__HOST": smtp.host, "ATRIUM_SMTP__PORT": str(smtp.port), "ATRIUM_SMTP__SECURITY": "none",
               "ATRIUM_SMTP__FROM_ADDRESS": smtp.from_address, "ATRIUM_SMTP__TIMEOUT": "5", **env}
    result = CliRunner().invoke(main, list(args), env=environ, catch_exceptions=False)
    if not db.is_closed():
        db.close()
    return result


def test_check_reports_whether_the_relay_answers(app, relay):
    ok = run(app, "email", "check")
    assert ok.exit_code == 0 and f"relay 127.0.0.1:{relay.port} (none) answers" in ok.output
    relay.stop()
    down = run(app, "email", "check", "--json")
    assert down.exit_code == 1
    assert json.loads(down.output) == {"host": "127.0.0.1", "port": relay.port, "security": "none", "login": False,
                                       "ok": False, "error": f"127.0.0.1:{relay.port} cannot be reached"
                                                             " (ConnectionRefusedError)"}
    none = run(app, "email", "check", ATRIUM_SMTP__HOST="")
    assert none.exit_code == 2 and "no SMTP relay is configured" in none.output


def test_status_counts_the_outbox_per_tenant(app, team, email_on, other_tenant):
    with app.app_context():
        queue_email(team["tenant"], team["bob"], "test", {})
    result = run(app, "email", "status", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["relay"] == "127.0.0.1"
    assert data["tenants"][0] == {"tenant": "acme", "enabled": True, "queued": 1, "sending": 0, "handed": 0,
                                  "sent": 0, "failed": 0, "skipped": 0}
    assert data["tenants"][1]["tenant"] == "globex" and data["tenants"][1]["enabled"] is False
    assert "acme: email on; queued=1" in run(app, "email", "status").output


def test_config_check_names_the_relay_but_never_its_password(app, relay):
    result = run(app, "config", "check", "--json", ATRIUM_SMTP__USERNAME="atrium",
                 ATRIUM_SMTP__PASSWORD="hunter2-relay")
    assert result.exit_code == 0
    assert json.loads(result.output)["smtp"] == f"127.0.0.1:{relay.port} (none)"
    assert "hunter2-relay" not in result.output
    assert "smtp.password_file" in run(app, "config", "keys").output
