"""The `atrium` command: thin wrappers over domain functions, with --json where a machine reads it.

Exit codes: 0 success, 1 the operation failed, 2 bad usage or configuration.
"""
from __future__ import annotations

import json
import os
import sys

import click
import peewee

from app import __version__
from app.cli_helpers import EXIT_CONFIG, EXIT_FAILED, emit, fail, get_tenant, require_schema, with_app
from app.config import ConfigError, describe, load_settings


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="atrium")
def main():
    """Atrium, the on-premise collaboration appliance.

    Settings come from built-in defaults, then the TOML file named by
    ATRIUM_CONFIG, then ATRIUM_* environment variables (see `atrium config keys`).
    """
    os.umask(0o027)  # what the appliance writes is not for other users of the host


# --- init and database ----------------------------------------------------------

@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_app
def init(app, as_json):
    """Prepare the data directory, the secret key and the database schema (safe to re-run)."""
    from app import db as dbmod
    from app.instance import ensure_data_dir, ensure_secret_key

    settings = app.config["ATRIUM"]
    ensure_data_dir(settings)
    created = ensure_secret_key(settings)
    applied = dbmod.upgrade()
    emit(as_json, {"data_dir": settings.data_dir, "secret_key_created": created,
                   "migrations_applied": [m.version for m in applied], "schema_version": dbmod.current_version()},
         [f"data directory: {settings.data_dir}",
          f"secret key: {'created' if created else 'kept'} ({settings.secret_key_path})",
          f"database: {dbmod.redact_url(settings.database)} at schema version {dbmod.current_version()}"
          f" ({len(applied)} migration(s) applied)"])


@main.group()
def db():
    """Database schema: upgrade and status."""


@db.command("upgrade")
@click.option("--to", "target", type=int, default=None, help="Stop at this schema version (default: newest).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_app
def db_upgrade(app, target, as_json):
    """Apply pending schema migrations, each in its own transaction."""
    from app import db as dbmod
    from app.instance import ensure_data_dir

    ensure_data_dir(app.config["ATRIUM"])
    before = dbmod.current_version()
    applied = dbmod.upgrade(target=target, progress=None if as_json else
                            lambda m: click.echo(f"applying {m.version:04d} {m.name} ..."))
    after = dbmod.current_version()
    emit(as_json, {"from": before, "to": after, "applied": [m.version for m in applied]},
         [f"schema version {before} -> {after}" if applied else f"schema is current (version {after})"])


@db.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_app
def db_status(app, as_json):
    """Show the schema version and pending migrations; exit 1 when not current."""
    from app import db as dbmod

    current = dbmod.current_version()
    pending = dbmod.pending_migrations()
    emit(as_json, {"current": current, "head": dbmod.head_version(), "pending": [m.version for m in pending]},
         [f"schema version {current} of {dbmod.head_version()}"] + [f"pending: {m.version:04d} {m.name}" for m in pending])
    if pending:
        sys.exit(EXIT_FAILED)


# --- tenants and users -------------------------------------------------------------

@main.group()
def tenant():
    """Tenants: the organisations served by this install."""


@tenant.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="Display name of the organisation.")
@click.option("--host", "hosts", multiple=True, help="A host name that reaches this tenant (repeatable).")
@click.option("--default", "is_default", is_flag=True, help="Make it the default tenant (answers on IP addresses and localhost).")
@click.option("--locale", type=click.Choice(["zh_Hans", "en"]), default=None, help="Default language.")
@click.option("--timezone", default=None, help="Default time zone, e.g. Asia/Shanghai.")
@click.option("--blob-store", default=None, help="Blob store for its files (default: residency.default_blob_store).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_app
def tenant_create(app, slug, name, hosts, is_default, locale, timezone, blob_store, as_json):
    """Create a tenant with a short name SLUG, pinned to a blob store."""
    from app.tenancy.service import create_tenant
    from app.validation import ValidationError

    require_schema(app)
    try:
        t = create_tenant(slug, name, hosts, is_default=is_default, locale=locale, timezone=timezone,
                          blob_store=blob_store)
    except ValidationError as exc:
        fail(f"{exc.field}: {exc.message}", EXIT_CONFIG)
    emit(as_json, {"id": t.id, "slug": t.slug, "name": t.name, "hosts": t.host_names(), "default": t.is_default,
                   "blob_store": t.blob_store},
         [f"created tenant {t.slug} ({t.name}){' [default]' if t.is_default else ''}, files in blob store {t.blob_store}",
          f"next: atrium user create-admin {t.slug} LOGIN --name 'Full Name'"])


@tenant.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_app
def tenant_list(app, as_json):
    """List tenants with their host names and head counts."""
    from app.org.models import Person
    from app.tenancy.models import Tenant

    require_schema(app)
    rows = []
    for t in Tenant.select().order_by(Tenant.slug):
        rows.append({"slug": t.slug, "name": t.name, "default": t.is_default, "hosts": t.host_names(),
                     "active_people": Person.active(t).count()})
    emit(as_json, rows, [f"{r['slug']:<20} {r['name']:<30} {'default ' if r['default'] else ''}"
                         f"hosts: {', '.join(r['hosts']) or '-'}  people: {r['active_people']}" for r in rows]
         or ["no tenants yet: atrium tenant create SLUG --name NAME"])


@main.group()
def user():
    """People: local admins, password resets and unlocking locked-out accounts."""


def _read_password(password_stdin: bool) -> tuple[str, bool]:
    """A password from stdin, or a generated one-time password (second value True)."""
    from app.security.passwords import generate_one_time_password

    if password_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    return generate_one_time_password(), True


@user.command("create-admin")
@click.argument("tenant_slug")
@click.argument("login")
@click.option("--name", "display_name", default=None, help="Display name (default: the login name).")
@click.option("--email", default=None, help="Email address.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of generating a one-time password.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_app
def user_create_admin(app, tenant_slug, login, display_name, email, password_stdin, as_json):
    """Create an admin LOGIN in a tenant; prints a one-time password unless --password-stdin."""
    from app.org.service import save_person
    from app.validation import ValidationError

    require_schema(app)
    t = get_tenant(tenant_slug)
    password, one_time = _read_password(password_stdin)
    form = {"login": login, "display_name": display_name or login, "email": email or "", "role": "admin",
            "password": password, "must_change_password": one_time}
    try:
        person = save_person(t, None, form)
    except ValidationError as exc:
        fail(f"{exc.field}: {exc.message}", EXIT_CONFIG)
    emit(as_json, {"tenant": t.slug, "login": person.login, "one_time_password": password if one_time else None},
         [f"created admin {person.login} in {t.slug}"] +
         ([f"one-time password: {password}  (they choose their own at first login)"] if one_time else []))


@user.command("reset-password")
@click.argument("tenant_slug")
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_app
def user_reset_password(app, tenant_slug, login, password_stdin, as_json):
    """Give a local account a new password (a one-time password unless --password-stdin); ends its sessions."""
    from app.org.models import Person
    from app.org.service import set_password
    from app.tenancy.scope import TenantScope
    from app.validation import ValidationError

    require_schema(app)
    t = get_tenant(tenant_slug)
    person = TenantScope(t).select(Person).where(Person.login == login.lower()).first()
    if person is None:
        fail(f"no person '{login}' in tenant {t.slug}")
    if person.source != "local":
        fail(f"{login} logs in with the directory password; change it in the directory")
    password, one_time = _read_password(password_stdin)
    try:
        set_password(person, password, must_change=one_time)
    except ValidationError as exc:
        fail(f"{exc.field}: {exc.message}", EXIT_CONFIG)
    emit(as_json, {"tenant": t.slug, "login": person.login, "one_time_password": password if one_time else None},
         [f"password of {person.login} in {t.slug} changed"] + ([f"one-time password: {password}"] if one_time else []))


@user.command("unlock")
@click.argument("tenant_slug")
@click.argument("login")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_app
def user_unlock(app, tenant_slug, login, as_json):
    """Unlock an account locked out after failed logins (also when every admin of the tenant is locked)."""
    from app.org.models import Person
    from app.security import throttle
    from app.tenancy.scope import TenantScope

    require_schema(app)
    t = get_tenant(tenant_slug)
    person = TenantScope(t).select(Person).where(Person.login == login.strip().lower()).first()
    if person is None:
        fail(f"no person '{login}' in tenant {t.slug}")
    was_locked = person.locked_at is not None
    throttle.unlock(person)
    emit(as_json, {"tenant": t.slug, "login": person.login, "was_locked": was_locked},
         [f"{person.login} in {t.slug} {'unlocked' if was_locked else 'was not locked; failed logins cleared'}"])


# --- demo and serving ----------------------------------------------------------------

@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_app
def demo(app, as_json):
    """Create two demo tenants with their own org charts and brands, and print how to log in.

    Re-running it keeps the data and prints fresh one-time passwords for the demo admins.
    """
    from app.demo import create_demo_install

    require_schema(app)
    settings = app.config["ATRIUM"]
    port = settings.serve.bind.rpartition(":")[2]
    rows, lines = [], []
    for spec, result in create_demo_install(settings.branding_dir):
        url = (settings.public_url if spec.is_default and settings.public_url
               else f"http://{settings.serve.bind}" if spec.is_default else f"http://{spec.host}:{port}")
        rows.append({"tenant": spec.slug, "created": result.created, "people": result.people,
                     "departments": result.departments, "url": url, "login": result.admin.login,
                     "one_time_password": result.password})
        lines += [f"{spec.name}: {result.people} people in {result.departments} departments"
                  f" ({'created' if result.created else 'already there'}), brand '{spec.pack}'",
                  f"  open      {url}",
                  f"  login     {result.admin.login}",
                  f"  password  {result.password}   (one-time: you will choose your own)", ""]
    emit(as_json, rows, lines)


@main.command()
@click.option("--dev", is_flag=True, help="Flask's development server with code reloading (never in production).")
@click.option("--bind", default=None, help="Address to listen on, e.g. 0.0.0.0:8000 (default: serve.bind).")
@click.option("--workers", type=int, default=None, help="Worker processes (default: serve.workers).")
def serve(dev, bind, workers):
    """Serve the web app with gunicorn (or the development server with --dev)."""
    from app import create_app, read_secret_key
    from app import db as dbmod
    from app.residency.checks import before_serving, one_line
    from app.residency.policy import check_settings
    from app.serve import AtriumServer, gunicorn_options

    try:
        settings = load_settings()
    except ConfigError as exc:
        fail(str(exc), EXIT_CONFIG)
    if read_secret_key(settings) is None:
        fail(f"no secret key at {settings.secret_key_path}: run `atrium init` first", EXIT_CONFIG)
    problems = check_settings(settings)
    if problems:
        fail(one_line(problems), EXIT_CONFIG)
    database = dbmod.make_database(settings.database, pool=False)  # closed before gunicorn forks
    try:
        database.connect()
        current, pending = dbmod.current_version(database), dbmod.pending_migrations(database)
        refused = None if pending else before_serving(settings, database)
        database.close()
    except peewee.OperationalError as exc:
        fail(f"cannot reach the database {dbmod.redact_url(settings.database)}: {type(exc).__name__}")
    if pending:
        fail(f"the database schema is at version {current}, this release needs {dbmod.head_version()}:"
             " run `atrium db upgrade`")
    if refused:
        fail(*refused)
    if dev:
        host, _, port = (bind or settings.serve.bind).rpartition(":")
        create_app(settings).run(host=host or "127.0.0.1", port=int(port), debug=False, use_reloader=True)
        return
    AtriumServer(settings, gunicorn_options(settings, bind, workers)).run()


# --- configuration -------------------------------------------------------------------

@main.group()
def config():
    """Inspect the configuration."""


@config.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def config_check(as_json):
    """Validate the configuration and print the effective settings (passwords hidden)."""
    from app.db import redact_url

    try:
        settings = load_settings()
    except ConfigError as exc:
        fail(str(exc), EXIT_CONFIG)
    data = {"source": settings.source, "data_dir": settings.data_dir, "database": redact_url(settings.database),
            "public_url": settings.public_url, "default_locale": settings.default_locale,
            "default_timezone": settings.default_timezone, "bind": settings.serve.bind,
            "smtp": (f"{settings.smtp.host}:{settings.smtp.port} ({settings.smtp.security})"
                     if settings.smtp.host else "none (no email is sent)")}
    emit(as_json, data, ["configuration is valid"] + [f"  {k}: {v}" for k, v in data.items()])


@config.command("keys")
def config_keys():
    """List every setting with its default and meaning."""
    for key, default, doc in describe():
        env = "ATRIUM_" + key.upper().replace(".", "__")
        click.echo(f"{key:<28} {default:<22} {doc}\n{'':<28} env: {env}")


# --- commands that live with their capability --------------------------------------------

from app.audit.cli import audit  # noqa: E402
from app.attendance.cli import attendance  # noqa: E402
from app.brand.cli import branding  # noqa: E402
from app.notify.cli import email  # noqa: E402
from app.residency.cli import backup, residency, restore, storage, tenant_commands  # noqa: E402
from app.security.cli import policy  # noqa: E402
from app.worker import worker  # noqa: E402

main.add_command(audit)
main.add_command(attendance)
main.add_command(branding)
main.add_command(residency)
main.add_command(storage)
main.add_command(backup)
main.add_command(restore)
for _command in tenant_commands:
    tenant.add_command(_command)
main.add_command(worker)
main.add_command(email)
main.add_command(policy)


# --- directory sync (LDAP / Active Directory) --------------------------------------------

def _directory_config(tenant):
    from app.org.ldap.config import get_config

    config = get_config(tenant)
    if config is None:
        fail(f"tenant {tenant.slug} has no directory: configure it with `atrium ldap-config {tenant.slug} "
             "--from-file directory.toml`", EXIT_CONFIG)
    return config


def _directory_failure_line(failure, config) -> str:
    """One line an operator can act on, naming the exception class only (its text may hold secrets)."""
    from app.org.ldap.config import servers_of

    if failure.kind == "unreachable":
        return f"cannot reach the directory ({', '.join(servers_of(config))}): {failure.error_class}"
    if failure.kind == "credentials":
        return f"the directory refused the bind DN or password ({failure.error_class})"
    if failure.kind == "tls":
        return f"TLS with the directory failed ({failure.error_class}): check the CA bundle and the server certificate"
    if failure.kind == "secret":
        return "the bind password cannot be read: check bind_password_file, or set the password again"
    return f"the directory failed: {failure.reason()}"


@main.command("ldap-test")
@click.argument("tenant_slug")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_app
def ldap_test(app, tenant_slug, as_json):
    """Connect to a tenant's directory, bind, and count the people and departments a sync would read."""
    from app.org.ldap.directory import DirectoryFailure, check_connection
    from app.org.ldap.sync import record_directory_test

    require_schema(app)
    tenant = get_tenant(tenant_slug)
    config = _directory_config(tenant)
    try:
        report = check_connection(config)
    except DirectoryFailure as failure:
        record_directory_test(tenant, config, failure=failure)
        if as_json:
            emit(True, {"ok": False, "error": failure.kind, "reason": failure.reason()}, [])
        fail(_directory_failure_line(failure, config))
    record_directory_test(tenant, config, report=report)
    emit(as_json, {"ok": True, "server": report.server, "people": report.people, "departments": report.departments},
         [f"connected to {report.server} as {config.bind_dn or 'anonymous'}",
          f"people found by the user filter: {report.people}",
          f"departments found ({config.department_source}): {report.departments}"])


def _sync_lines(tenant, result, limit: int = 20) -> list[str]:
    from app.org.ldap.read import problem_text
    from app.org.ldap.sync import guard_text

    run = result.run
    head = f"{tenant.slug}: {run.kind} sync{' (dry run)' if run.dry_run else ''} {run.status}"
    lines = [f"{head} in {run.duration_ms / 1000:.1f} s (run {run.id})"]
    if run.status == "failed":
        return lines + [f"  reason: {run.reason}"]
    counts = json.loads(run.counts)
    lines.append("  " + ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in counts.items()))
    for violation in result.guard:
        lines.append(f"  stopped: {guard_text(violation)}" if run.status == "aborted"
                     else f"  forced past: {guard_text(violation)}")
    if run.status == "aborted":
        lines.append("  nothing was changed; check the plan, then run again with --force if it is right")
    plan = result.plan.summary(limit)
    for kind in ("creates", "updates", "moves", "deactivations", "reactivations", "departments"):
        for row in plan[kind]:
            detail = {k: v for k, v in row.items() if k not in ("dn",)}
            lines.append(f"  {kind[:-1]}: {row.get('dn') or ''} {json.dumps(detail, ensure_ascii=False)}")
    for problem in result.plan.problems[:limit]:
        lines.append(f"  problem: {problem_text(problem.as_dict())}")
    if len(result.plan.problems) > limit:
        lines.append(f"  ... {len(result.plan.problems) - limit} more problems (see --json or the admin pages)")
    return lines


def _sync_data(tenant, result) -> dict:
    from app.org.ldap.read import problem_text
    from app.org.ldap.sync import guard_text

    run = result.run
    data = {"tenant": tenant.slug, "run": run.id, "status": run.status, "kind": run.kind, "dry_run": run.dry_run,
            "forced": run.forced, "reason": run.reason, "duration_ms": run.duration_ms,
            "counts": json.loads(run.counts)}
    if result.plan is not None:
        data["guard"] = [guard_text(v) for v in result.guard]
        data["problems"] = [problem_text(p.as_dict()) for p in result.plan.problems[:200]]
        data["plan"] = result.plan.summary()
    return data


@main.command("ldap-sync")
@click.argument("tenant_slug", required=False)
@click.option("--all", "all_tenants", is_flag=True, help="Every tenant whose directory sync is switched on and scheduled.")
@click.option("--dry-run", is_flag=True, help="Only plan: show what would change, change nothing.")
@click.option("--force", is_flag=True, help="Apply even when the safety guard would stop the run.")
@click.option("--full/--incremental", "full", default=True,
              help="Read everything (default; finds deletions) or only what changed since the last sync.")
@click.option("--json", "as_json", is_flag=True, help="Print the run and its plan as JSON.")
@with_app
def ldap_sync(app, tenant_slug, all_tenants, dry_run, force, full, as_json):
    """Sync a tenant's people and departments from its directory; exit 1 when a run fails or is stopped."""
    from app.org.ldap.sync import DirectoryNotConfigured, run_sync, scheduled_tenants

    require_schema(app)
    if bool(tenant_slug) == bool(all_tenants):
        fail("name one TENANT or give --all", EXIT_CONFIG)
    tenants = scheduled_tenants() if all_tenants else [get_tenant(tenant_slug)]
    if not all_tenants:
        config = _directory_config(tenants[0])
        if not config.enabled:
            fail(f"the directory of tenant {tenant_slug} is switched off", EXIT_CONFIG)
    results = []
    for tenant in tenants:
        def progress(count, slug=tenant.slug):
            click.echo(f"{slug}: {count} entries read", err=True)

        try:
            result = run_sync(tenant, kind="full" if full else "incremental", dry_run=dry_run, force=force,
                              origin="schedule" if all_tenants else "cli", progress=progress)
        except DirectoryNotConfigured:
            continue
        results.append((tenant, result))
        if not as_json:
            for line in _sync_lines(tenant, result):
                click.echo(line)
    if as_json:
        data = [_sync_data(t, r) for t, r in results]
        emit(True, data if all_tenants else data[0], [])
    if any(r.run.status != "ok" for _t, r in results):
        sys.exit(EXIT_FAILED)


@main.command("ldap-config")
@click.argument("tenant_slug")
@click.option("--from-file", "path", type=click.Path(dir_okay=False), default=None,
              help="A TOML file with the directory settings (replaces them all).")
@click.option("--bind-password-stdin", is_flag=True, help="Read the bind password from standard input.")
@click.option("--show", is_flag=True, help="Print the settings in force (the password never).")
@click.option("--json", "as_json", is_flag=True, help="Print the settings as JSON.")
@with_app
def ldap_config(app, tenant_slug, path, bind_password_stdin, show, as_json):
    """Configure a tenant's directory from a TOML file, or show its settings."""
    from app.org.ldap.config import SettingsFileError, describe_config, get_config, save_config, settings_from_toml
    from app.validation import ValidationError

    require_schema(app)
    tenant = get_tenant(tenant_slug)
    if not path and not show:
        fail("give --from-file FILE or --show", EXIT_CONFIG)
    if path:
        try:
            values = settings_from_toml(path)
        except SettingsFileError as exc:
            fail(str(exc), EXIT_CONFIG)
        password = sys.stdin.readline().rstrip("\r\n") if bind_password_stdin else None
        if bind_password_stdin and not password:
            fail("no bind password on standard input", EXIT_CONFIG)
        try:
            save_config(tenant, values, new_bind_password=password)
        except ValidationError as exc:
            fail(f"{path}: {exc.field}: {exc.message}", EXIT_CONFIG)
    config = get_config(tenant) if show or path else None
    if config is None:
        fail(f"tenant {tenant.slug} has no directory", EXIT_CONFIG)
    data = describe_config(config)
    lines = [f"directory settings of {tenant.slug}{' saved' if path else ''}:"]
    lines += [f"  {key}: {json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else value}"
              for key, value in data.items()]
    emit(as_json, data, lines)


if __name__ == "__main__":  # pragma: no cover
    main()
