"""Brand versions: apply a pack, roll back, export, and the brand a page uses."""
from __future__ import annotations

import hashlib
import io
import json
import sys
import threading
import tomllib
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import peewee

from app.audit import difference, flatten, record
from app.brand.colors import contrast_ratio, parse_hex
from app.brand.models import BrandAsset, BrandVersion
from app.brand.pack import BrandPack, BrandSettings, build_pack, read_folder
from app.db import db
from app.org.models import Person
from app.residency.blobs import read_blob, save_blob
from app.residency.models import Blob
from app.tenancy.models import Tenant
from app.tenancy.scope import TenantScope

KEEP_VERSIONS = 50


def branding_dir(configured: str = "") -> Path:
    """Where the shipped brand packs are: the setting, else beside the package, else the installed share dir."""
    if configured:
        return Path(configured)
    beside = Path(__file__).resolve().parents[2] / "branding"
    if (beside / "default" / "brand.toml").is_file():
        return beside
    return Path(sys.prefix) / "share" / "atrium" / "branding"


# --- CSS ------------------------------------------------------------------------------------

def _mix(a: str, b: str, share: float) -> str:
    """Colour a with `share` of colour b blended in."""
    ca = [int(a[i:i + 2], 16) for i in (1, 3, 5)]
    cb = [int(b[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x * (1 - share) + y * share):02x}" for x, y in zip(ca, cb))


def _variables(colors: dict) -> list[str]:
    lines = [f"--color-{key.replace('_', '-')}: {parse_hex(value)};" for key, value in colors.items()]
    lines.append(f"--color-border: {_mix(colors['surface'], colors['text'], 0.18)};")
    lines.append(f"--color-primary-soft: {_mix(colors['surface'], colors['primary'], 0.12)};")
    return lines


def render_css(settings: BrandSettings) -> str:
    """The brand as CSS custom properties; every value was validated, so nothing else can get in."""
    light = _variables(settings.colors) + [f"--radius: {int(settings.radius)}px;"]
    css = ":root {\n  " + "\n  ".join(light) + "\n}\n"
    if settings.dark:
        css += ("@media (prefers-color-scheme: dark) {\n  :root {\n    " + "\n    ".join(_variables(settings.dark))
                + "\n    color-scheme: dark;\n  }\n}\n")
    return css


def contrast_report(settings: BrandSettings) -> list[tuple[str, str, str, float]]:
    """(set, foreground, background, ratio) for each text pair, for the editor."""
    from app.brand.pack import CONTRAST_PAIRS

    rows = []
    for name, colors in (("light", settings.colors), ("dark", settings.dark)):
        if colors:
            for fg, bg in CONTRAST_PAIRS:
                rows.append((name, fg, bg, round(contrast_ratio(colors[fg], colors[bg]), 2)))
    return rows


# --- the brand a page uses ----------------------------------------------------------------------

@dataclass(frozen=True)
class ActiveBrand:
    """A brand ready for templates: settings, the stylesheet's digest and the asset URLs' digests."""

    settings: BrandSettings
    css: str
    css_digest: str
    assets: dict  # asset name -> digest
    tenant_id: int | None  # None for the shipped default brand
    version: int | None

    def text(self, key: str, locale: str) -> str:
        return (self.settings.identity_i18n.get(locale, {}).get(key) or self.settings.identity.get(key) or "")

    def label(self, key: str, locale: str) -> str | None:
        return self.settings.labels_i18n.get(locale, {}).get(key) or self.settings.labels.get(key)


def _digest(*parts) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:20]


_default_lock = threading.Lock()
_default: dict[str, tuple[ActiveBrand, dict]] = {}


def default_brand(configured_dir: str = "") -> tuple[ActiveBrand, dict[str, tuple[bytes, str]]]:
    """The shipped default brand and its asset bytes, loaded once per process."""
    with _default_lock:
        if configured_dir not in _default:
            pack = build_pack(read_folder(branding_dir(configured_dir) / "default"))
            css = render_css(pack.settings)
            assets = {name: _digest("default", name, hashlib.sha256(data).hexdigest())
                      for name, (data, _type) in pack.assets.items()}
            brand = ActiveBrand(pack.settings, css, _digest("default", css), assets, None, None)
            _default[configured_dir] = (brand, {assets[n]: (n, *v) for n, v in pack.assets.items()})
        return _default[configured_dir]


@lru_cache(maxsize=256)
def _load_version(tenant_id: int, version_id: int, digest: str) -> ActiveBrand:
    # The key holds the tenant and the content digest: one tenant's brand is never served for another,
    # and a database restored under the same ids cannot bring back a stale entry.
    version = BrandVersion.get_by_id(version_id)
    assets = {a.name: a.url_hash for a in BrandAsset.select().where(BrandAsset.version == version_id)}
    return ActiveBrand(BrandSettings.from_dict(json.loads(version.settings)), version.css, version.css_hash,
                       assets, tenant_id, version.number)


def current_version(tenant: Tenant) -> BrandVersion | None:
    return TenantScope(tenant).select(BrandVersion).where(BrandVersion.is_current == True).first()  # noqa: E712


def brand_for(tenant: Tenant | None, configured_dir: str = "") -> ActiveBrand:
    """The tenant's current brand, or the shipped default (for tenants without one and unknown hosts)."""
    if tenant is not None:
        row = (TenantScope(tenant).select(BrandVersion, BrandVersion.id, BrandVersion.css_hash)
               .where(BrandVersion.is_current == True).tuples().first())  # noqa: E712
        if row:
            return _load_version(tenant.id, *row)
    return default_brand(configured_dir)[0]


# --- changing a tenant's brand ------------------------------------------------------------------

def apply_pack(tenant: Tenant, pack: BrandPack, by: Person | None = None, note: str = "") -> BrandVersion:
    """Save the pack as the tenant's new current brand version; earlier versions stay for rollback."""
    return _apply(tenant, pack, by, note, "brand.apply")


def _apply(tenant: Tenant, pack: BrandPack, by: Person | None, note: str, action: str) -> BrandVersion:
    css = render_css(pack.settings)
    settings_json = json.dumps(pack.settings.to_dict(), ensure_ascii=False, sort_keys=True)
    blobs = {name: save_blob(tenant, data, content_type) for name, (data, content_type) in pack.assets.items()}
    with db.atomic():
        scope = TenantScope(tenant)
        previous = current_version(tenant)
        number = (scope.select(BrandVersion, peewee.fn.MAX(BrandVersion.number)).scalar() or 0) + 1
        BrandVersion.update(is_current=False).where((BrandVersion.tenant == tenant)
                                                    & (BrandVersion.is_current == True)).execute()  # noqa: E712
        digest = _digest(tenant.id, number, css, settings_json, *sorted(b.sha256 for b in blobs.values()))
        version = BrandVersion.create(tenant=tenant, number=number, settings=settings_json,
                                      css=css, css_hash=digest, is_current=True,
                                      created_by=by, note=note[:200] or None)
        for name, blob in blobs.items():
            BrandAsset.create(tenant=tenant, version=version, name=name, blob=blob,
                              url_hash=_digest(tenant.id, name, blob.sha256))
        record(action, target=version, tenant=tenant, actor=by,
               changes=difference({"version": previous.number if previous else None, **_brand_facts(previous)},
                                  {"version": number, "note": version.note, **_brand_facts(version)}))
    return version


def _brand_facts(version: BrandVersion | None) -> dict:
    """A version's settings as dotted keys, and each icon by a short fingerprint, to show what a change changed."""
    if version is None:
        return {}
    facts = flatten(json.loads(version.settings))
    for name, sha256 in (BrandAsset.select(BrandAsset.name, Blob.sha256).join(Blob)
                         .where(BrandAsset.version == version).tuples()):
        facts[f"icon.{name}"] = sha256[:12]
    return facts


def rollback(tenant: Tenant, number: int, by: Person | None = None) -> BrandVersion:
    """Make an earlier version current again, as a new version (so the history only grows)."""
    old = TenantScope(tenant).select(BrandVersion).where(BrandVersion.number == number).first()
    if old is None:
        raise LookupError(number)
    return _apply(tenant, version_pack(old), by, f"rollback to {number}", "brand.rollback")


def version_pack(version: BrandVersion) -> BrandPack:
    """A stored version as a pack again (settings and asset bytes)."""
    settings = BrandSettings.from_dict(json.loads(version.settings))
    assets = {}
    for asset in BrandAsset.select().where(BrandAsset.version == version):
        assets[asset.name] = (read_blob(asset.blob), asset.blob.content_type)
    return BrandPack(settings, assets)


def versions(tenant: Tenant):
    return TenantScope(tenant).select(BrandVersion).order_by(BrandVersion.number.desc()).limit(KEEP_VERSIONS)


def asset_for(tenant: Tenant | None, digest: str, name: str, configured_dir: str = "") -> tuple[bytes, str] | None:
    """The bytes and content type of a brand asset reachable from this tenant, or None."""
    if tenant is not None:
        asset = (TenantScope(tenant).select(BrandAsset)
                 .where((BrandAsset.url_hash == digest) & (BrandAsset.name == name)).first())
        if asset is not None:
            return read_blob(asset.blob), asset.blob.content_type
    found = default_brand(configured_dir)[1].get(digest)
    if found and found[0] == name:
        return found[1], found[2]
    return None


def css_for(tenant: Tenant | None, digest: str, configured_dir: str = "") -> str | None:
    """The stylesheet with this digest if it is this tenant's (any version) or the default's."""
    if tenant is not None:
        row = (TenantScope(tenant).select(BrandVersion, BrandVersion.css)
               .where(BrandVersion.css_hash == digest).tuples().first())
        if row:
            return row[0]
    default = default_brand(configured_dir)[0]
    return default.css if default.css_digest == digest else None


# --- export ---------------------------------------------------------------------------------

_EXTENSIONS = {"image/png": "png", "image/svg+xml": "svg"}


def settings_to_toml(settings: BrandSettings, icon_paths: dict[str, str]) -> str:
    """brand.toml text for the settings; round-trips through build_pack."""
    def q(value: str) -> str:
        return json.dumps(value, ensure_ascii=False)

    lines = ["[identity]"] + [f"{k} = {q(v)}" for k, v in settings.identity.items()]
    for locale, values in settings.identity_i18n.items():
        lines += ["", f"[identity.{locale}]"] + [f"{k} = {q(v)}" for k, v in values.items()]
    lines += ["", "[icons]", f"logo = {q(icon_paths['logo'])}", f"app_icon = {q(icon_paths['app-icon'])}"]
    if "logo-dark" in icon_paths:
        lines.append(f"logo_dark = {q(icon_paths['logo-dark'])}")
    nav_icons = {n[4:]: p for n, p in icon_paths.items() if n.startswith("nav-")}
    if nav_icons:
        lines += ["", "[icons.nav]"] + [f"{k} = {q(v)}" for k, v in nav_icons.items()]
    lines += ["", "[colors]"] + [f"{k} = {q(v)}" for k, v in settings.colors.items()]
    if settings.dark:
        lines += ["", "[colors.dark]"] + [f"{k} = {q(v)}" for k, v in settings.dark.items()]
    lines += ["", "[buttons]", f"radius = {int(settings.radius)}"]
    lines += ["", "[buttons.labels]"] + [f"{k} = {q(v)}" for k, v in settings.labels.items()]
    for locale, values in settings.labels_i18n.items():
        lines += ["", f"[buttons.labels.{locale}]"] + [f"{k} = {q(v)}" for k, v in values.items()]
    lines += ["", "[navigation]", "entries = [" + ", ".join(q(e) for e in settings.navigation) + "]"]
    for button in settings.custom_buttons:
        lines += ["", "[[navigation.custom]]", f"label = {q(button['label'])}", f"url = {q(button['url'])}"]
        if button.get("icon"):
            lines.append(f"icon = {q(icon_paths[button['icon']])}")
    text = "\n".join(lines) + "\n"
    tomllib.loads(text)  # what we write must read back
    return text


def export_zip(pack: BrandPack) -> bytes:
    """A pack as a zip: brand.toml and icons/ (generated favicons are made again on import)."""
    from app.brand.pack import GENERATED_ICONS

    icon_paths, out = {}, io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, (data, content_type) in sorted(pack.assets.items()):
            if name in GENERATED_ICONS:
                continue
            path = f"icons/{name}.{_EXTENSIONS.get(content_type, 'bin')}"
            icon_paths[name] = path
            archive.writestr(path, data)
        archive.writestr("brand.toml", settings_to_toml(pack.settings, icon_paths))
    return out.getvalue()
