"""Health endpoints for load balancers and the smoke tests."""
from __future__ import annotations

import peewee
from flask import Blueprint, jsonify

from app import db as dbmod
from app.residency.checks import readiness

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz():
    """The process is alive."""
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz():
    """The database answers, its schema is current and the residency policy holds; 503 with the reason otherwise."""
    try:
        dbmod.db.connect(reuse_if_open=True)
        dbmod.db.execute_sql("SELECT 1")
        current, head, pending = dbmod.current_version(), dbmod.head_version(), dbmod.pending_migrations()
    except peewee.OperationalError as exc:
        # The driver's message names the server, never the password; keep the first line only.
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        return jsonify(status="unavailable", database="unreachable", reason=reason), 503
    except peewee.DatabaseError as exc:
        return jsonify(status="unavailable", database="error", reason=type(exc).__name__), 503
    migrations = {"current": current, "head": head, "pending": [m.version for m in pending]}
    if pending:
        return jsonify(status="unavailable", database="ok", migrations=migrations,
                       reason="database schema is not current: run `atrium db upgrade`"), 503
    residency_ok, residency = readiness()
    if not residency_ok:
        return jsonify(status="unavailable", database="ok", migrations=migrations, residency=residency,
                       reason=f"residency: {residency['problems'][0]}"), 503
    return jsonify(status="ready", database="ok", migrations=migrations, residency=residency)
