"""Fixtures that compose: a database (SQLite or a real PostgreSQL), an app on it, a client, people."""
from __future__ import annotations

import itertools
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.servers import PostgresServer

for _name in [n for n in os.environ if n.startswith("ATRIUM_") or n == "DATABASE_URL"]:
    del os.environ[_name]  # the developer's own settings must not leak into tests

@pytest.fixture(autouse=True)
def _same_umask_after():
    """A test that runs `atrium` in-process gets its umask (027); the next test must not inherit it."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield
    os.umask(previous)


TEST_PASSWORD = "correct-horse-battery"
_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server():
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_template(pg_server):
    """A database migrated to the newest schema, copied for each test (CREATE DATABASE ... TEMPLATE)."""
    from app import db as dbmod

    pg_server.execute("CREATE DATABASE atrium_template")
    database = dbmod.make_database(pg_server.url("atrium_template"), pool=False)
    database.connect()
    dbmod.upgrade(database)
    database.close()
    return "atrium_template"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    from app import db as dbmod

    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    database = dbmod.make_database(f"sqlite:///{path}")
    database.connect()
    dbmod.upgrade(database)
    database.close()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """A fresh database at the newest schema: SQLite, and a real PostgreSQL server."""
    if request.param == "sqlite":
        target = tmp_path / "atrium.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    server = request.getfixturevalue("pg_server")
    template = request.getfixturevalue("pg_template")
    name = f"t{os.getpid()}_{next(_counter)}"
    server.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    yield server.url(name)
    server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def make_settings(data_dir: Path, database_url: str, **extra):
    from app.config import load_settings
    from app.instance import ensure_secret_key

    # English unless a test asks otherwise, so assertions can read the source strings.
    settings = load_settings({"data_dir": str(data_dir), "database_url": database_url, "default_locale": "en",
                              **extra}, environ={})
    ensure_secret_key(settings)
    return settings


@pytest.fixture
def settings_overrides():
    """Override in a test module to pass more settings to the app."""
    return {}


@pytest.fixture
def app(database_url, tmp_path, settings_overrides):
    from app import create_app
    from app.db import db

    application = create_app(make_settings(tmp_path / "data", database_url, **settings_overrides))
    application.config["TESTING"] = True
    # No app context stays pushed: each test request gets its own, with a fresh `g`, as in production.
    yield application
    if not db.is_closed():
        db.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def tenant(app):
    """The default tenant, reached at localhost."""
    from app.tenancy.service import create_tenant

    return create_tenant("acme", "Acme Corp", ["acme.example"], is_default=True)


@pytest.fixture
def other_tenant(app, tenant):
    """A second tenant, reached at globex.example."""
    from app.tenancy.service import create_tenant

    return create_tenant("globex", "Globex Inc", ["globex.example"])


def make_person(tenant, login, *, role="member", password=TEST_PASSWORD, **fields):
    from app.org.service import save_person

    form = {"login": login, "display_name": fields.pop("display_name", login.title()), "role": role,
            "password": password or "", **fields}
    return save_person(tenant, None, form)


@pytest.fixture
def admin(tenant):
    return make_person(tenant, "alice", role="admin", display_name="Alice Admin", email="alice@acme.example")


@pytest.fixture
def member(tenant):
    return make_person(tenant, "bob", display_name="Bob Member", email="bob@acme.example")


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client, login_name, password=TEST_PASSWORD, host="localhost"):
    """Log in through the real form; returns the response of the POST."""
    base = f"http://{host}"
    page = client.get("/login", base_url=base)
    return client.post("/login", base_url=base, data={"login": login_name, "password": password,
                                                       "csrf_token": csrf_from(page.get_data(as_text=True))})


def client_for(app, login_name, host="localhost"):
    """A test client logged in as login_name through the real form."""
    client = app.test_client()
    assert login(client, login_name, host=host).status_code == 302
    return client


def events(kind=None, after=0) -> list[tuple[str, int | None, str, dict]]:
    """(audience, audience id, kind, payload) of the event log after `after`, oldest first."""
    import json

    from app.events.models import Event

    rows = Event.select().where(Event.id > after).order_by(Event.id)
    return [(e.audience, e.audience_id, e.kind, json.loads(e.payload)) for e in rows if kind in (None, e.kind)]


def post_form(client, path, data=None, host="localhost", page=None):
    """POST a form with the session's CSRF token taken from `page` (default: the same path)."""
    base = f"http://{host}"
    html = client.get(page or "/", base_url=base).get_data(as_text=True)
    return client.post(path, base_url=base, data={**(data or {}), "csrf_token": csrf_from(html)})
