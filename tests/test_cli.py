"""The `atrium` command."""
import json
import os
import stat

import pytest
from click.testing import CliRunner

from app.cli import main


@pytest.fixture
def run(tmp_path, request):
    """Invoke `atrium` against a fresh data dir (SQLite) or a fresh PostgreSQL database."""
    env = {"ATRIUM_DATA_DIR": str(tmp_path / "data")}
    if request.param == "postgres":
        server = request.getfixturevalue("pg_server")
        name = f"cli_{tmp_path.name[-20:].replace('-', '_').lower()}"
        server.execute(f"CREATE DATABASE {name}")
        env["DATABASE_URL"] = server.url(name)
        request.addfinalizer(lambda: server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

    def invoke(*args, input=None):
        from app.db import db
        result = CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False)
        if not isinstance(db.obj, type(None)) and not db.is_closed():
            db.close()
        return result

    invoke.env = env
    return invoke


both = pytest.mark.parametrize("run", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)


@both
def test_init_is_safe_to_rerun_and_keeps_the_secret(run, tmp_path):
    result = run("init", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["secret_key_created"] is True and data["schema_version"] >= 2
    key = tmp_path / "data" / "secret_key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    first = key.read_text()
    again = json.loads(run("init", "--json").output)
    assert again["secret_key_created"] is False and again["migrations_applied"] == []
    assert key.read_text() == first


@both
def test_tenant_and_admin_commands(run):
    run("init")
    result = run("tenant", "create", "acme", "--name", "Acme Corp", "--host", "acme.example", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["default"] is True
    assert run("tenant", "create", "acme", "--name", "Again").exit_code == 2
    bad = run("tenant", "create", "Bad Slug", "--name", "X")
    assert bad.exit_code == 2 and "slug" in bad.output
    listing = json.loads(run("tenant", "list", "--json").output)
    assert listing == [{"slug": "acme", "name": "Acme Corp", "default": True, "hosts": ["acme.example"], "active_people": 0}]

    created = run("user", "create-admin", "acme", "root", "--name", "Root Admin", "--json")
    assert created.exit_code == 0, created.output
    assert len(json.loads(created.output)["one_time_password"]) == 19
    assert run("user", "create-admin", "acme", "root").exit_code == 2
    assert run("user", "create-admin", "nosuch", "x").exit_code == 1
    weak = run("user", "create-admin", "acme", "weak", "--password-stdin", input="short\n")
    assert weak.exit_code == 2 and "password" in weak.output
    ok = run("user", "create-admin", "acme", "strong", "--password-stdin", input="a-long-enough-password\n")
    assert ok.exit_code == 0 and "one-time" not in ok.output
    reset = run("user", "reset-password", "acme", "strong", "--json")
    assert reset.exit_code == 0 and json.loads(reset.output)["one_time_password"]
    assert run("user", "reset-password", "acme", "ghost").exit_code == 1


@both
def test_demo_creates_two_branded_tenants_and_is_rerunnable(run):
    run("init")
    result = run("demo", "--json")
    assert result.exit_code == 0, result.output
    demo, sakura = json.loads(result.output)
    assert 190 <= demo["people"] <= 210 and demo["departments"] == 15 and demo["created"]
    assert sakura["tenant"] == "sakura" and sakura["url"].startswith("http://sakura.localhost:")
    again = json.loads(run("demo", "--json").output)
    assert not again[0]["created"] and again[0]["people"] == demo["people"]
    assert again[0]["one_time_password"] != demo["one_time_password"]

    from app import create_app
    from app.brand.service import brand_for
    from app.config import load_settings
    from app.db import db
    from app.org.models import Department, Person
    from app.tenancy.models import Tenant
    with create_app(load_settings(environ=run.env)).app_context():
        db.connect(reuse_if_open=True)
        tenant = Tenant.get(Tenant.slug == "demo")
        people = list(Person.select().where(Person.tenant == tenant))
        names = [p.display_name for p in people]
        assert any(all("\u4e00" <= ch <= "\u9fff" for ch in n) for n in names)   # Chinese names
        assert any(n.isascii() and " " in n for n in names)                      # English names
        assert sum(1 for p in people if p.manager_id) >= len(people) - 2          # a manager chain
        assert Department.select().where((Department.tenant == tenant) & Department.head.is_null(False)).count() == 15
        colours = {brand_for(t).settings.colors["primary"] for t in Tenant.select()}
        assert len(colours) == 2                                                  # two different brands
        assert brand_for(Tenant.get(Tenant.slug == "sakura")).version == 1        # applied once, not per run
        db.close()


@pytest.mark.parametrize("run", ["sqlite"], indirect=True)
def test_commands_refuse_an_unmigrated_database(run):
    result = run("tenant", "list")
    assert result.exit_code == 1 and "run `atrium init` first" in result.output
    assert run("db", "upgrade", "--to", "1").exit_code == 0
    result = run("tenant", "list")
    assert result.exit_code == 1 and "atrium db upgrade" in result.output


def test_db_upgrade_and_status(run):
    assert run("db", "status").exit_code == 1
    result = run("db", "upgrade", "--to", "1")
    assert result.exit_code == 0 and "0 -> 1" in result.output
    status = json.loads(run("db", "status", "--json").output)
    assert status["current"] == 1 and status["pending"]
    assert "-> " in run("db", "upgrade").output
    assert run("db", "status").exit_code == 0


run_sqlite = pytest.mark.parametrize("run", ["sqlite"], indirect=True)
test_db_upgrade_and_status = run_sqlite(test_db_upgrade_and_status)


@run_sqlite
def test_unreachable_database_is_one_clear_line(run):
    run.env["DATABASE_URL"] = "postgresql://atrium:hunter2-secret@127.0.0.1:1/atrium"
    result = run("tenant", "list")
    assert result.exit_code == 1
    assert "cannot reach the database postgresql://atrium:***@127.0.0.1:1/atrium" in result.output
    assert "hunter2" not in result.output and "Traceback" not in result.output


@run_sqlite
def test_serve_refuses_before_init(run):
    result = run("serve")
    assert result.exit_code == 2 and "atrium init" in result.output


@run_sqlite
def test_help_everywhere(run):
    for args in ([], ["db"], ["tenant"], ["user"], ["config"], ["serve"], ["demo"], ["init"],
                 ["tenant", "create"], ["user", "create-admin"], ["db", "upgrade"]):
        result = run(*args, "--help")
        assert result.exit_code == 0 and "Usage:" in result.output, args
    assert "ATRIUM_SERVE__BIND" in run("config", "keys").output
