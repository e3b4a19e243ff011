"""The admin pages of the directory sync: settings, test, preview, sync now, and the run history."""
from __future__ import annotations

import json

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.org.ldap.config import describe_config, save_config
from app.org.ldap.directory import DirectoryFailure, check_connection
from app.org.ldap.models import DirectoryConfig, SyncRun
from app.org.ldap.presets import DEPARTMENT_SOURCES, MAPPING_KEYS, PRESET_NAMES, PRESETS, SECURITY_MODES
from app.org.ldap.read import problem_text
from app.org.ldap.sync import DirectoryNotConfigured, guard_text, record_directory_test, run_sync
from app.pagination import paginate
from app.security.permissions import TENANT_MANAGE, permission_required
from app.validation import ValidationError

bp = Blueprint("directory", __name__, url_prefix="/admin/directory")


def _lines(form, name: str) -> list[str]:
    return [line.strip() for line in (form.get(name) or "").splitlines() if line.strip()]


def _form_values(form) -> dict:
    """The settings form as the values save_config checks."""
    mapping = {}
    for line in _lines(form, "mapping"):
        key, sep, attribute = line.partition("=")
        if not sep:
            raise ValidationError("mapping", _("Write one mapping per line: key = attribute."))
        mapping[key.strip()] = attribute.strip()
    values = {key: (form.get(key) or "").strip() for key in (
        "preset", "security", "ca_file", "bind_dn", "bind_password_file", "user_filter", "department_source",
        "department_base_dn", "department_filter", "page_size", "connect_timeout", "receive_timeout",
        "max_deactivation_share")}
    values.update(enabled=bool(form.get("enabled")), schedule_enabled=bool(form.get("schedule_enabled")),
                  servers=_lines(form, "servers"), user_base_dns=_lines(form, "user_base_dns"), mapping=mapping)
    return values


def _current():
    return g.scope.select(DirectoryConfig).first()


@bp.route("/", methods=["GET", "POST"])
@permission_required(TENANT_MANAGE)
def settings():
    """The tenant's directory settings, with test, preview and sync buttons."""
    config = _current()
    error = None
    if request.method == "POST":
        try:
            save_config(g.tenant, _form_values(request.form),
                        new_bind_password=request.form.get("bind_password") or None,
                        clear_bind_password=bool(request.form.get("clear_bind_password")))
        except ValidationError as exc:
            error = exc
        else:
            flash(_("Directory settings saved."), "success")
            return redirect(url_for("directory.settings"))
    shown = describe_config(config) if config else None
    runs = list(g.scope.select(SyncRun).order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(5))
    return render_template("admin/directory/settings.html", directory=shown, form=request.form if error else None,
                           error=error, presets=PRESET_NAMES, preset_mappings={n: p.attribute_names()
                                                                               for n, p in PRESETS.items()},
                           sources=DEPARTMENT_SOURCES, security_modes=SECURITY_MODES, mapping_keys=MAPPING_KEYS,
                           runs=runs), (400 if error else 200)


@bp.route("/test", methods=["POST"])
@permission_required(TENANT_MANAGE)
def test():
    """Connect, bind and count, and say how it went."""
    config = _current()
    if config is None:
        flash(_("Save the directory settings first."), "error")
        return redirect(url_for("directory.settings"))
    try:
        report = check_connection(config)
    except DirectoryFailure as failure:
        record_directory_test(g.tenant, config, failure=failure)
        messages = {
            "unreachable": _("Cannot reach the directory server (%(error)s).", error=failure.error_class),
            "credentials": _("The directory refused the bind DN or password."),
            "tls": _("TLS with the directory failed (%(error)s). Check the CA bundle and the server certificate.",
                     error=failure.error_class),
            "secret": _("The bind password cannot be read. Check the password file or enter the password again."),
        }
        flash(messages.get(failure.kind, _("The directory failed: %(reason)s", reason=failure.reason())), "error")
    else:
        record_directory_test(g.tenant, config, report=report)
        flash(_("Connected to %(server)s: %(people)d people and %(departments)d departments found.",
                server=report.server, people=report.people, departments=report.departments), "success")
    return redirect(url_for("directory.settings"))


def _start(dry_run: bool):
    kind = "incremental" if request.form.get("kind") == "incremental" else "full"
    try:
        result = run_sync(g.tenant, kind=kind, dry_run=dry_run, force=bool(request.form.get("force")),
                          origin="admin", started_by=g.person)
    except DirectoryNotConfigured:
        flash(_("Save and switch on the directory settings first."), "error")
        return redirect(url_for("directory.settings"))
    return redirect(url_for("directory.run", run_id=result.run.id))


@bp.route("/preview", methods=["POST"])
@permission_required(TENANT_MANAGE)
def preview():
    """Plan a sync without changing anything, and show the plan."""
    return _start(dry_run=True)


@bp.route("/sync", methods=["POST"])
@permission_required(TENANT_MANAGE)
def sync():
    """Sync now (forced past the safety guard when asked), and show what happened."""
    return _start(dry_run=False)


@bp.route("/runs")
@permission_required(TENANT_MANAGE)
def runs():
    """Every sync run of the tenant, newest first."""
    query = g.scope.select(SyncRun).order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
    page = paginate(query, request.args.get("page"), per_page=50)
    return render_template("admin/directory/runs.html", page=page,
                           counts={run.id: json.loads(run.counts) for run in page.items})


@bp.route("/runs/<int:run_id>")
@permission_required(TENANT_MANAGE)
def run(run_id: int):
    """One run: its counts, the guard's verdict, the plan lines and the problems."""
    shown = g.scope.get_or_404(SyncRun, run_id)
    plan = json.loads(shown.plan)
    return render_template("admin/directory/run.html", run=shown, counts=json.loads(shown.counts), plan=plan,
                           guard=[guard_text(v) for v in plan.get("guard", [])],
                           problems=[problem_text(p) for p in json.loads(shown.problems)])
