"""Serving brand stylesheets, icons and the web-app manifest; the admin's brand editor."""
from __future__ import annotations

import json

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.brand import current_brand
from app.brand.pack import (COLOR_KEYS, COLOR_NAMES, IDENTITY_KEYS, LABEL_KEYS, LABEL_NAMES, MAX_PACK_BYTES, NAV_ENTRIES,
                            NAV_NAMES, BrandInvalid, BrandSettings, build_pack, read_folder, read_zip)
from app.brand.service import (apply_pack, asset_for, branding_dir, contrast_report, css_for, current_version,
                               export_zip, rollback, settings_to_toml, version_pack, versions)
from app.residency.blobs import BlobError
from app.security.permissions import TENANT_MANAGE, permission_required

bp = Blueprint("brand", __name__)
admin_bp = Blueprint("brand_admin", __name__, url_prefix="/admin/brand")

IMMUTABLE = "public, max-age=31536000, immutable"
# Icons are shown as images only: nothing in them may run, load or be framed.
ASSET_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def _branding_dir_setting() -> str:
    return current_app.config["ATRIUM"].branding_dir


@bp.route("/brand/<digest>.css")
def stylesheet(digest: str):
    """A brand stylesheet by content digest (the tenant's own versions, or the default), cached for a year."""
    css = css_for(g.tenant, digest, _branding_dir_setting())
    if css is None:
        abort(404)
    response = Response(css, mimetype="text/css")
    response.headers["Cache-Control"] = IMMUTABLE
    return response


@bp.route("/brand/<digest>/<name>")
def asset(digest: str, name: str):
    """A brand icon by content digest, with its real content type and a locked-down policy."""
    found = asset_for(g.tenant, digest, name, _branding_dir_setting())
    if found is None:
        abort(404)
    data, content_type = found
    response = Response(data, mimetype=content_type)
    response.headers["Cache-Control"] = IMMUTABLE
    response.headers["Content-Security-Policy"] = ASSET_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/manifest.webmanifest")
def manifest():
    """The tenant's web-app manifest: name, icons and colours."""
    from app.brand import BrandView

    view = BrandView(current_brand(), "en")
    icons = [{"src": view.asset_url(f"icon-{size}"), "sizes": f"{size}x{size}", "type": "image/png"}
             for size in (192, 512)]
    body = {"name": view.product_name, "short_name": view.product_name, "start_url": "/", "display": "standalone",
            "theme_color": view.theme_color, "background_color": current_brand().settings.colors["background"],
            "icons": icons}
    response = Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico; send them to the tenant's generated icon."""
    from app.brand import BrandView

    return redirect(BrandView(current_brand(), "en").asset_url("favicon-32"))


# --- the admin's editor ---------------------------------------------------------------------------

def _shipped_packs() -> list[str]:
    root = branding_dir(_branding_dir_setting())
    return sorted(p.name for p in root.iterdir() if (p / "brand.toml").is_file()) if root.is_dir() else []


def _current_pack():
    """The tenant's current pack (or the shipped default) with asset bytes, for editing and export."""
    version = current_version(g.tenant)
    if version is not None:
        return version_pack(version)
    return build_pack(read_folder(branding_dir(_branding_dir_setting()) / "default"))


def _form_files(form, uploads, base) -> dict[str, bytes]:
    """Turn the editor's fields and uploads into pack files, keeping current icons not replaced."""
    settings = BrandSettings()
    settings.identity = {k: form.get(f"identity.{k}", "") for k in IDENTITY_KEYS if form.get(f"identity.{k}", "").strip()}
    zh = {k: form.get(f"identity.zh_Hans.{k}", "") for k in IDENTITY_KEYS if form.get(f"identity.zh_Hans.{k}", "").strip()}
    settings.identity_i18n = {"zh_Hans": zh} if zh else {}
    settings.colors = {k: form.get(f"colors.{k}", "") for k in COLOR_KEYS}
    if form.get("dark_enabled"):
        settings.dark = {k: form.get(f"dark.{k}", "") for k in COLOR_KEYS}
    try:
        settings.radius = int(form.get("radius", "6"))
    except ValueError:
        settings.radius = -1  # refused by validation with the field's name
    settings.labels = {k: form.get(f"labels.{k}") for k in LABEL_KEYS if (form.get(f"labels.{k}") or "").strip()}
    zh_labels = {k: form.get(f"labels.zh_Hans.{k}") for k in LABEL_KEYS if (form.get(f"labels.zh_Hans.{k}") or "").strip()}
    settings.labels_i18n = {"zh_Hans": zh_labels} if zh_labels else {}
    order = []
    for entry in NAV_ENTRIES:
        if form.get(f"nav.{entry}"):
            try:
                position = int(form.get(f"nav_order.{entry}") or 99)
            except ValueError:
                position = 99
            order.append((position, NAV_ENTRIES.index(entry), entry))
    settings.navigation = [e for _, _, e in sorted(order)]
    files: dict[str, bytes] = {}
    icon_paths = {}
    for name, (data, content_type) in base.assets.items():
        if name in ("logo", "logo-dark", "app-icon") or name.startswith("nav-"):
            path = f"icons/{name}.{'svg' if content_type == 'image/svg+xml' else 'png'}"
            files[path] = data
            icon_paths[name] = path
    for field, name in (("logo", "logo"), ("logo_dark", "logo-dark"), ("app_icon", "app-icon")):
        upload = uploads.get(field)
        if upload and upload.filename:
            data = upload.read(MAX_PACK_BYTES + 1)
            path = f"icons/upload-{name}"
            files[path] = data
            icon_paths[name] = path
    for i in range(3):
        label, url = (form.get(f"custom.{i}.label") or "").strip(), (form.get(f"custom.{i}.url") or "").strip()
        if label or url:
            settings.custom_buttons.append({"label": label, "url": url})
    files["brand.toml"] = settings_to_toml(settings, icon_paths).encode()
    return files


@admin_bp.route("/", methods=["GET", "POST"])
@permission_required(TENANT_MANAGE)
def editor():
    """Edit the brand with a live preview; check it, or save it as a new version."""
    errors, report, form = [], None, None
    base = _current_pack()
    if request.method == "POST":
        form = request.form
        try:
            pack = build_pack(_form_files(request.form, request.files, base))
        except BrandInvalid as exc:
            errors = exc.errors
        else:
            report = contrast_report(pack.settings)
            if request.form.get("action") == "save":
                try:
                    version = apply_pack(g.tenant, pack, g.person, note=_("edited in the admin area"))
                except BlobError:
                    errors = [("icons", _("The icons could not be stored. Nothing was changed; try again later."))]
                else:
                    flash(_("Brand saved as version %(n)d.", n=version.number), "success")
                    return redirect(url_for("brand_admin.editor"))
    return render_template("admin/brand.html", settings=base.settings, form=form, errors=errors, report=report,
                           color_keys=COLOR_KEYS, label_keys=LABEL_KEYS, nav_entries=NAV_ENTRIES,
                           color_names=COLOR_NAMES, label_names=LABEL_NAMES, nav_names=NAV_NAMES,
                           identity_keys=list(IDENTITY_KEYS), versions=list(versions(g.tenant)),
                           shipped=_shipped_packs(), current=current_version(g.tenant),
                           default_report=contrast_report(base.settings)), (400 if errors else 200)


@admin_bp.route("/rollback/<int:number>", methods=["POST"])
@permission_required(TENANT_MANAGE)
def rollback_version(number: int):
    """Make an earlier version current again."""
    try:
        version = rollback(g.tenant, number, g.person)
    except LookupError:
        abort(404)
    flash(_("Brand version %(old)d restored as version %(n)d.", old=number, n=version.number), "success")
    return redirect(url_for("brand_admin.editor"))


@admin_bp.route("/import", methods=["POST"])
@permission_required(TENANT_MANAGE)
def import_pack():
    """Apply a brand pack uploaded as a zip, or one of the packs shipped with Atrium."""
    try:
        shipped = request.form.get("shipped")
        if shipped:
            if shipped not in _shipped_packs():
                abort(404)
            files = read_folder(branding_dir(_branding_dir_setting()) / shipped)
        else:
            upload = request.files.get("pack")
            if not upload or not upload.filename:
                raise BrandInvalid([("pack", _("Choose a zip file."))])
            data = upload.read(MAX_PACK_BYTES + 1)
            if len(data) > MAX_PACK_BYTES:
                raise BrandInvalid([("pack", _("The pack is too large."))])
            files = read_zip(data)
        version = apply_pack(g.tenant, build_pack(files), g.person, note=_("imported"))
    except BrandInvalid as exc:
        for field, message in exc.errors[:20]:
            flash(f"{field}: {message}", "error")
        return redirect(url_for("brand_admin.editor"))
    flash(_("Brand saved as version %(n)d.", n=version.number), "success")
    return redirect(url_for("brand_admin.editor"))


@admin_bp.route("/export")
@permission_required(TENANT_MANAGE)
def export():
    """Download the current brand as a pack (zip)."""
    data = export_zip(_current_pack())
    return Response(data, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="brand-{g.tenant.slug}.zip"'})
