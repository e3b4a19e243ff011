"""What every `atrium` command shares: building the app, reporting, exit codes.

Exit codes: 0 success, 1 the operation failed, 2 bad usage or configuration.
"""
from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click
import peewee

from app.config import ConfigError

EXIT_FAILED = 1
EXIT_CONFIG = 2


def fail(message: str, code: int = EXIT_FAILED) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def with_app(command):
    """Build the app from the settings and run the command inside its context, connected to the database."""

    @functools.wraps(command)
    def wrapped(*args, **kwargs):
        from app import create_app
        from app.db import DatabaseUrlError, db, redact_url

        try:
            app = create_app()
        except (ConfigError, DatabaseUrlError) as exc:
            fail(str(exc), EXIT_CONFIG)
        with app.app_context():
            # The connection opens with the first query, so `init` can create the data directory first.
            try:
                return command(app, *args, **kwargs)
            except peewee.OperationalError as exc:
                url = app.config["ATRIUM"].database
                if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
                    fail(f"no database at {url[len('sqlite:///'):]}: run `atrium init` first")
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                fail(f"cannot reach the database {redact_url(url)}: {first}")
            finally:
                if not db.is_closed():
                    db.close()

    return wrapped


def emit(as_json: bool, data, lines) -> None:
    """Print data as JSON, or the human lines."""
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        for line in lines:
            click.echo(line)


def require_schema(app) -> None:
    from app import db as dbmod

    if not dbmod.is_current():
        fail(f"the database schema is at version {dbmod.current_version()}, this release needs "
             f"{dbmod.head_version()}: run `atrium db upgrade`")


def get_tenant(slug: str):
    from app.tenancy.models import Tenant

    tenant = Tenant.get_or_none(Tenant.slug == slug)
    if tenant is None:
        fail(f"no tenant '{slug}' (see `atrium tenant list`)")
    return tenant
