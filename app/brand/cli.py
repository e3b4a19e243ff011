"""`atrium branding`: apply, check and export brand packs from the command line."""
from __future__ import annotations

import click

from app.cli_helpers import EXIT_CONFIG, emit, fail, get_tenant, require_schema, with_app


def _errors(exc) -> list[str]:
    return [f"{field}: {message}" for field, message in exc.errors]


@click.group()
def branding():
    """Brand packs: icons, colours, buttons and names per tenant."""


@branding.command("check")
@click.argument("pack", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def check(pack, as_json):
    """Validate a brand pack (folder or zip) without applying it; exit 2 when it is refused."""
    from app.brand.pack import BrandInvalid, build_pack, read_pack
    from app.brand.service import contrast_report

    try:
        built = build_pack(read_pack(pack))
    except BrandInvalid as exc:
        emit(as_json, {"valid": False, "errors": [{"field": f, "message": str(m)} for f, m in exc.errors]},
             [f"refused: {line}" for line in _errors(exc)])
        raise SystemExit(EXIT_CONFIG)
    rows = contrast_report(built.settings)
    emit(as_json, {"valid": True, "product_name": built.settings.identity["product_name"],
                       "assets": sorted(built.assets), "contrast": [
                           {"set": s, "foreground": f, "background": b, "ratio": r} for s, f, b, r in rows]},
             [f"valid: {built.settings.identity['product_name']} ({len(built.assets)} icons)"]
             + [f"  {s:<5} {f} on {b}: {r:.2f}:1" for s, f, b, r in rows])


@branding.command("apply")
@click.argument("tenant_slug")
@click.argument("pack", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_app
def apply(app, tenant_slug, pack, as_json):
    """Apply a brand pack (folder or zip) to a tenant as its new current version."""
    from app.brand.pack import BrandInvalid, build_pack, read_pack
    from app.brand.service import apply_pack
    from app.residency.blobs import BlobError

    require_schema(app)
    tenant = get_tenant(tenant_slug)
    try:
        version = apply_pack(tenant, build_pack(read_pack(pack)), note="atrium branding apply")
    except BrandInvalid as exc:
        for line in _errors(exc):
            click.echo(f"refused: {line}", err=True)
        fail("the pack was not applied; nothing changed", EXIT_CONFIG)
    except BlobError as exc:
        fail(f"{exc}; nothing changed")
    emit(as_json, {"tenant": tenant.slug, "version": version.number},
         [f"{tenant.slug}: brand version {version.number} is now current"])


@branding.command("export")
@click.argument("tenant_slug")
@click.argument("out", type=click.Path(dir_okay=False))
@with_app
def export(app, tenant_slug, out):
    """Write a tenant's current brand as a pack zip (the default brand if it has none)."""
    from app.brand.pack import build_pack, read_folder
    from app.brand.service import branding_dir, current_version, export_zip, version_pack

    require_schema(app)
    tenant = get_tenant(tenant_slug)
    version = current_version(tenant)
    pack = version_pack(version) if version else build_pack(read_folder(
        branding_dir(app.config["ATRIUM"].branding_dir) / "default"))
    with open(out, "wb") as fh:
        fh.write(export_zip(pack))
    click.echo(f"wrote {out}")


@branding.command("versions")
@click.argument("tenant_slug")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_app
def list_versions(app, tenant_slug, as_json):
    """List a tenant's brand versions, newest first."""
    from app.brand.service import versions

    require_schema(app)
    rows = [{"version": v.number, "current": v.is_current, "created_at": v.created_at.isoformat(), "note": v.note}
            for v in versions(get_tenant(tenant_slug))]
    emit(as_json, rows, [f"{r['version']:>4} {'*' if r['current'] else ' '} {r['created_at']}  {r['note'] or ''}"
                         for r in rows] or ["no brand versions: the tenant uses the default brand"])


@branding.command("rollback")
@click.argument("tenant_slug")
@click.argument("version", type=int)
@with_app
def rollback_cmd(app, tenant_slug, version):
    """Make an earlier brand version current again."""
    from app.brand.service import rollback

    require_schema(app)
    tenant = get_tenant(tenant_slug)
    try:
        new = rollback(tenant, version)
    except LookupError:
        fail(f"{tenant.slug} has no brand version {version}")
    click.echo(f"{tenant.slug}: version {version} restored as version {new.number}")
