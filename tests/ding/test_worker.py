"""`atrium worker`: passes of named jobs, event pruning, --once --json, and a clean stop on SIGTERM."""
import datetime
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from app import worker
from app.cli import main
from app.db import db, utcnow
from app.ding import service
from app.ding.models import DingRecipient
from app.events import publish
from app.events.models import Event

ROOT = Path(__file__).resolve().parents[2]


def cli_env(app) -> dict:
    settings = app.config["ATRIUM"]
    return {"ATRIUM_DATA_DIR": str(settings.data_dir), "DATABASE_URL": settings.database, "ATRIUM_DEFAULT_LOCALE": "en"}


def run(app, *args):
    result = CliRunner().invoke(main, list(args), env=cli_env(app), catch_exceptions=False)
    if not db.is_closed():
        db.close()
    return result


def test_once_json_delivers_reminds_and_prunes(app, team):
    now = utcnow()
    running = service.send_ding(team["tenant"], team["wei"], "Running", [team["li"].id],
                                now=now - datetime.timedelta(minutes=6))
    service.send_ding(team["tenant"], team["wei"], "Scheduled", [team["bob"].id, team["dan"].id],
                      send_at=now - datetime.timedelta(minutes=1), now=now - datetime.timedelta(minutes=2))
    old = publish(team["tenant"], "message", {}, person=team["li"])
    Event.update(created_at=now - datetime.timedelta(days=15)).where(Event.id == old.id).execute()

    result = run(app, "worker", "--once", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"dings": {"delivered": 1, "reminded": 1}, "events": {"pruned": 1},
                                         "notifications": {"dings": 0, "digests": 0},
                                         "email": {"sent": 0, "retried": 0, "failed": 0, "held": 0, "skipped": 0,
                                                   "recovered": 0},
                                         "approvals": {"rerouted": 0}, "attendance": {"closed": 0}}
    assert DingRecipient.get(DingRecipient.ding == running.id).alerts == 2
    again = run(app, "worker", "--once")
    assert again.exit_code == 0 and "worker pass: dings delivered=0 reminded=0; notifications dings=0 digests=0; " \
        "email sent=0 retried=0 failed=0 held=0 skipped=0 recovered=0; events pruned=0" in again.output


def test_a_failing_job_is_reported_and_the_others_still_run(app, caplog):
    def broken(now):
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="app.worker"):
        results = worker.run_pass(jobs=[("broken", broken), ("fine", lambda now: {"done": 1})])
    assert results == {"broken": {"error": "RuntimeError"}, "fine": {"done": 1}}
    assert worker.failed(results) == ["broken"]
    assert "worker job broken failed" in caplog.text
    assert worker.summary(results, 0.5) == "broken error=RuntimeError; fine done=1 (0.50 s)"


def test_every_job_gets_the_same_now_and_the_loop_stops_when_asked(app):
    seen, reports = [], []
    stop = threading.Event()

    def job(now):
        seen.append(now)
        return {"n": len(seen)}

    def report(results, seconds):
        reports.append(results)
        if len(reports) == 3:
            stop.set()

    passes = worker.run_forever(0.01, stop, report, jobs=[("a", job), ("b", job)])
    assert passes == 3 and [r["a"]["n"] for r in reports] == [1, 3, 5]
    assert seen[0] == seen[1] and seen[1] < seen[2]


def test_the_job_list_names_every_job():
    assert [name for name, _job in worker.JOBS] == ["dings", "notifications", "email", "events", "approvals",
                                                   "attendance"]


@pytest.mark.slow
def test_sigterm_stops_the_worker_after_its_pass(app, team):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ATRIUM_")}, **cli_env(app)}
    db.close()
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "worker", "--interval", "1"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "worker started" in process.stdout.readline()
        assert "worker pass: dings delivered=0 reminded=0" in process.stdout.readline()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "worker stopped after" in out
