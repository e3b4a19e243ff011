"""`atrium policy`: show and change a tenant's security policies from the command line."""
from __future__ import annotations

import click

from app.cli_helpers import EXIT_CONFIG, emit, fail, get_tenant, require_schema, with_app


def _text(value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "(none)"
    return str(value)


def _lines(policy) -> list[str]:
    from app.security.policy import as_values

    return [f"{key} = {_text(value)}" for key, value in as_values(policy).items()]


@click.group()
def policy():
    """Security policies per tenant: login, privacy, files, watermark (keys as in `atrium policy show`)."""


@policy.command("show")
@click.argument("tenant_slug")
@click.option("--json", "as_json", is_flag=True, help="Print the policy as JSON.")
@with_app
def show(app, tenant_slug, as_json):
    """Print a tenant's security policy, one section.key = value per line."""
    from app.security.policy import load_policy

    require_schema(app)
    tenant = get_tenant(tenant_slug)
    current = load_policy(tenant)
    emit(as_json, {"tenant": tenant.slug, "policy": current.as_dict()}, _lines(current))


@policy.command("set")
@click.argument("tenant_slug")
@click.argument("settings", nargs=-1, required=True, metavar="KEY=VALUE...")
@click.option("--json", "as_json", is_flag=True, help="Print the resulting policy as JSON.")
@with_app
def set_(app, tenant_slug, settings, as_json):
    """Change settings, e.g. login.lockout_after=5 login.ip_allow=10.0.0.0/8,192.168.1.0/24; lists are
    comma-separated, an empty value empties one. Every setting is checked first: one refused, none saved."""
    from app.security.policy import PolicyInvalid, limits_from, save_policy

    require_schema(app)
    tenant = get_tenant(tenant_slug)
    changes = {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"expected KEY=VALUE, got {item!r}", EXIT_CONFIG)
        changes[key.strip()] = value.strip()
    try:
        saved = save_policy(tenant, changes, limits_from(app.config["ATRIUM"]), partial=True)
    except PolicyInvalid as exc:
        for key, message in exc.errors:
            click.echo(f"refused: {key}: {message}", err=True)
        fail("the policy was not changed", EXIT_CONFIG)
    emit(as_json, {"tenant": tenant.slug, "policy": saved.as_dict()},
         [f"policy of {tenant.slug} saved"] + _lines(saved))
