"""Brand packs: brand.toml plus icons, parsed and validated into BrandSettings and checked icon bytes.

A pack is handled as a mapping of relative paths to bytes, whether it came from
a folder, a zip or the admin form, so every route into the product takes the
same checks. A pack that fails changes nothing; each error names its field.
"""
from __future__ import annotations

import io
import posixpath
import stat
import tomllib
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l

from app.brand import icons
from app.brand.colors import AA_NORMAL_TEXT, contrast_ratio, parse_hex
from app.config import LOCALES

COLOR_KEYS = ("primary", "on_primary", "accent", "background", "surface", "text", "muted", "link", "danger", "success")
# Pairs that carry text, checked for WCAG 2.1 AA contrast in the light and the dark set.
CONTRAST_PAIRS = (("text", "background"), ("text", "surface"), ("on_primary", "primary"))
IDENTITY_KEYS = {"product_name": 40, "company_name": 100, "login_headline": 100, "login_text": 500}
LABEL_KEYS = ("login", "logout", "search", "save", "send", "ding", "approve", "reject", "check_in", "new_task")
NAV_ENTRIES = ("home", "people", "chat", "ding", "announcements", "approvals", "tasks", "attendance",
               "contacts", "circle")
# What the editor calls each key, in the admin's language.
COLOR_NAMES = {"primary": _l("Primary"), "on_primary": _l("Text on primary"), "accent": _l("Accent"),
               "background": _l("Page background"), "surface": _l("Cards and panels"), "text": _l("Text"),
               "muted": _l("Secondary text"), "link": _l("Links"), "danger": _l("Errors"), "success": _l("Success")}
LABEL_NAMES = {"login": _l("Log in"), "logout": _l("Log out"), "search": _l("Search"), "save": _l("Save"),
               "send": _l("Send"), "ding": _l("DING"), "approve": _l("Approve"), "reject": _l("Reject"),
               "check_in": _l("Check in"), "new_task": _l("New task")}
NAV_NAMES = {"home": _l("Home"), "people": _l("People"), "chat": _l("Chat"), "ding": _l("DING"),
             "announcements": _l("Announcements"), "approvals": _l("Approvals"), "tasks": _l("Tasks"),
             "attendance": _l("Attendance"), "contacts": _l("External contacts"), "circle": _l("Work circle")}
MAX_CUSTOM_BUTTONS = 8
MAX_RADIUS = 24
MAX_PACK_FILES = 64
MAX_PACK_BYTES = 8 * 1024 * 1024
GENERATED_ICONS = {"favicon-32": 32, "apple-touch-180": 180, "icon-192": 192, "icon-512": 512}
MIN_APP_ICON = 192


class BrandInvalid(ValueError):
    """The pack is refused; `errors` lists (field, message) pairs."""

    def __init__(self, errors: list[tuple[str, object]]):
        super().__init__("; ".join(f"{f}: {m}" for f, m in errors))
        self.errors = errors


@dataclass
class BrandSettings:
    """Everything a brand declares, in plain values (stored as JSON with each version)."""

    identity: dict = field(default_factory=dict)                 # key -> text
    identity_i18n: dict = field(default_factory=dict)            # locale -> {key: text}
    colors: dict = field(default_factory=dict)
    dark: dict = field(default_factory=dict)
    radius: int = 6
    labels: dict = field(default_factory=dict)                   # key -> text
    labels_i18n: dict = field(default_factory=dict)              # locale -> {key: text}
    navigation: list = field(default_factory=lambda: ["home", "people"])
    custom_buttons: list = field(default_factory=list)           # {label, url, icon}
    icons: dict = field(default_factory=dict)                    # asset name -> source path in the pack

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "BrandSettings":
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass
class BrandPack:
    settings: BrandSettings
    assets: dict[str, tuple[bytes, str]]  # asset name -> (bytes, content type), generated ones included


class _Errors:
    def __init__(self):
        self.items: list[tuple[str, object]] = []

    def add(self, where: str, message) -> None:
        self.items.append((where, message))


def _text(errors: _Errors, where: str, value, limit: int, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.add(where, _l("This field is required."))
        return None
    if not isinstance(value, str):
        errors.add(where, _l("Must be text."))
        return None
    value = value.strip()
    if len(value) > limit:
        errors.add(where, _l("At most %(n)d characters.", n=limit))
        return None
    if any(ord(ch) < 32 and ch not in "\n" for ch in value) or "\x7f" in value:
        errors.add(where, _l("Contains characters that are not allowed."))
        return None
    return value


def _table(errors: _Errors, data: dict, key: str) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        errors.add(key, _l("Must be a table."))
        return {}
    return value


def _colors(errors: _Errors, table: dict, where: str) -> dict:
    found = {}
    for key in COLOR_KEYS:
        raw = table.get(key)
        colour = parse_hex(raw)
        if colour is None:
            errors.add(f"{where}.{key}", _l("Use a colour written as #rrggbb.") if raw is not None
                       else _l("This field is required."))
        else:
            found[key] = colour
    for key in table:
        if key not in COLOR_KEYS and key != "dark":
            errors.add(f"{where}.{key}", _l("Unknown key."))
    if len(found) == len(COLOR_KEYS):
        for fg, bg in CONTRAST_PAIRS:
            ratio = contrast_ratio(found[fg], found[bg])
            if ratio < AA_NORMAL_TEXT:
                errors.add(f"{where}.{fg}", _l("%(fg)s on %(bg)s has contrast %(ratio).2f:1; at least 4.5:1 is needed.",
                                               fg=fg, bg=bg, ratio=ratio))
    return found


def _labels(errors: _Errors, table: dict, where: str) -> dict:
    labels = {}
    for key, value in table.items():
        if key in LOCALES:
            continue
        if key not in LABEL_KEYS:
            errors.add(f"{where}.{key}", _l("Unknown button; known ones: %(keys)s.", keys=", ".join(LABEL_KEYS)))
            continue
        text = _text(errors, f"{where}.{key}", value, 24)
        if text:
            labels[key] = text
    return labels


def _safe_url(url) -> bool:
    if not isinstance(url, str) or len(url) > 500 or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("https", "http") and bool(parts.netloc)


def parse_settings(data: dict, files: dict[str, bytes]) -> tuple[BrandSettings, dict[str, bytes], _Errors]:
    """Validate brand.toml's content; returns settings, icon sources by asset name, and the errors found."""
    errors = _Errors()
    settings = BrandSettings()
    known_sections = {"identity", "icons", "colors", "buttons", "navigation"}
    for key in data:
        if key not in known_sections:
            errors.add(key, _l("Unknown section."))

    identity = _table(errors, data, "identity")
    for key, limit in IDENTITY_KEYS.items():
        text = _text(errors, f"identity.{key}", identity.get(key), limit, required=key == "product_name")
        if text:
            settings.identity[key] = text
    for key, value in identity.items():
        if key in LOCALES:
            if not isinstance(value, dict):
                errors.add(f"identity.{key}", _l("Must be a table."))
                continue
            settings.identity_i18n[key] = {}
            for sub, text in value.items():
                if sub not in IDENTITY_KEYS:
                    errors.add(f"identity.{key}.{sub}", _l("Unknown key."))
                elif (clean := _text(errors, f"identity.{key}.{sub}", text, IDENTITY_KEYS[sub])):
                    settings.identity_i18n[key][sub] = clean
        elif key not in IDENTITY_KEYS:
            errors.add(f"identity.{key}", _l("Unknown key."))

    colors = _table(errors, data, "colors")
    settings.colors = _colors(errors, colors, "colors")
    dark = colors.get("dark")
    if dark is not None:
        if isinstance(dark, dict):
            settings.dark = _colors(errors, dark, "colors.dark")
        else:
            errors.add("colors.dark", _l("Must be a table."))

    buttons = _table(errors, data, "buttons")
    radius = buttons.get("radius", 6)
    if isinstance(radius, bool) or not isinstance(radius, int) or not 0 <= radius <= MAX_RADIUS:
        errors.add("buttons.radius", _l("A whole number of pixels from 0 to %(n)d.", n=MAX_RADIUS))
    else:
        settings.radius = radius
    labels = buttons.get("labels", {})
    if isinstance(labels, dict):
        settings.labels = _labels(errors, labels, "buttons.labels")
        for locale in LOCALES:
            if isinstance(labels.get(locale), dict):
                settings.labels_i18n[locale] = _labels(errors, labels[locale], f"buttons.labels.{locale}")
    else:
        errors.add("buttons.labels", _l("Must be a table."))
    for key in buttons:
        if key not in ("radius", "labels"):
            errors.add(f"buttons.{key}", _l("Unknown key."))

    sources: dict[str, bytes] = {}

    def icon(where: str, path, asset: str) -> None:
        if not isinstance(path, str) or path not in files:
            errors.add(where, _l("No file %(path)s in the pack.", path=str(path)[:100]))
            return
        sources[asset] = files[path]
        settings.icons[asset] = path

    navigation = _table(errors, data, "navigation")
    entries = navigation.get("entries", list(settings.navigation))
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        errors.add("navigation.entries", _l("Must be a list of entry names."))
    else:
        unknown = [e for e in entries if e not in NAV_ENTRIES]
        if unknown:
            errors.add("navigation.entries", _l("Unknown entries: %(names)s; known ones: %(known)s.",
                                                names=", ".join(unknown)[:100], known=", ".join(NAV_ENTRIES)))
        elif len(set(entries)) != len(entries):
            errors.add("navigation.entries", _l("An entry is listed twice."))
        else:
            settings.navigation = entries
    custom = navigation.get("custom", [])
    if not isinstance(custom, list) or len(custom) > MAX_CUSTOM_BUTTONS:
        errors.add("navigation.custom", _l("At most %(n)d custom buttons.", n=MAX_CUSTOM_BUTTONS))
        custom = []
    for i, button in enumerate(custom):
        where = f"navigation.custom[{i}]"
        if not isinstance(button, dict):
            errors.add(where, _l("Must be a table."))
            continue
        label = _text(errors, f"{where}.label", button.get("label"), 24, required=True)
        url = button.get("url")
        if not _safe_url(url):
            errors.add(f"{where}.url", _l("Use an http:// or https:// address."))
        for key in button:
            if key not in ("label", "url", "icon"):
                errors.add(f"{where}.{key}", _l("Unknown key."))
        if label and _safe_url(url):
            entry = {"label": label, "url": url}
            if button.get("icon") is not None:
                icon(f"{where}.icon", button["icon"], f"custom-{i}")
                entry["icon"] = f"custom-{i}"
            settings.custom_buttons.append(entry)
    for key in navigation:
        if key not in ("entries", "custom"):
            errors.add(f"navigation.{key}", _l("Unknown key."))

    icon_table = _table(errors, data, "icons")
    for key in ("logo", "app_icon"):
        if key not in icon_table:
            errors.add(f"icons.{key}", _l("This field is required."))
        else:
            icon(f"icons.{key}", icon_table[key], key.replace("_", "-"))
    if "logo_dark" in icon_table:  # optional: the logo drawn for dark mode
        icon("icons.logo_dark", icon_table["logo_dark"], "logo-dark")
    nav_icons = icon_table.get("nav", {})
    if isinstance(nav_icons, dict):
        for entry, path in nav_icons.items():
            if entry not in NAV_ENTRIES:
                errors.add(f"icons.nav.{entry}", _l("Unknown navigation entry."))
            else:
                icon(f"icons.nav.{entry}", path, f"nav-{entry}")
    for key in icon_table:
        if key not in ("logo", "logo_dark", "app_icon", "nav"):
            errors.add(f"icons.{key}", _l("Unknown key."))
    return settings, sources, errors


def build_pack(files: dict[str, bytes]) -> BrandPack:
    """Validate a pack given as {relative path: bytes}; BrandInvalid lists every problem."""
    errors = _Errors()
    raw = files.get("brand.toml")
    if raw is None:
        raise BrandInvalid([("brand.toml", _l("The pack has no brand.toml."))])
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BrandInvalid([("brand.toml", _l("Not valid TOML: %(error)s", error=str(exc)[:200]))]) from None
    settings, sources, errors = parse_settings(data, files)
    assets: dict[str, tuple[bytes, str]] = {}
    for name, content in sources.items():
        where = _icon_field(settings, name)
        try:
            kind = icons.sniff(content)
            if name == "app-icon":
                if kind != "png":
                    raise icons.IconError(_l("The app icon must be a PNG (the favicons are made from it)."))
                width, height = icons.check_png(content)
                if width != height or width < MIN_APP_ICON:
                    raise icons.IconError(_l("The app icon must be square and at least %(n)d pixels wide.",
                                             n=MIN_APP_ICON))
                assets[name] = (content, "image/png")
                for generated, size in GENERATED_ICONS.items():
                    assets[generated] = (icons.resize_png(content, size), "image/png")
            elif kind == "png":
                icons.check_png(content)
                assets[name] = (content, "image/png")
            else:
                assets[name] = (icons.sanitise_svg(content), "image/svg+xml")
        except icons.IconError as exc:
            errors.add(where, exc.args[0])
    if errors.items:
        raise BrandInvalid(errors.items)
    return BrandPack(settings, assets)


def _icon_field(settings: BrandSettings, asset: str) -> str:
    if asset in ("logo", "logo-dark", "app-icon"):
        return "icons." + asset.replace("-", "_")
    if asset.startswith("nav-"):
        return "icons.nav." + asset[4:]
    return f"navigation.custom[{asset.split('-', 1)[1]}].icon"


# --- reading packs from folders and zips ------------------------------------------------

def read_folder(path: str | Path) -> dict[str, bytes]:
    """A pack folder's regular files (no links), bounded in count and size."""
    root = Path(path)
    if not (root / "brand.toml").is_file():
        raise BrandInvalid([("brand.toml", _l("The pack has no brand.toml."))])
    files, total = {}, 0
    for item in sorted(root.rglob("*")):
        if item.is_symlink():
            raise BrandInvalid([(str(item.relative_to(root)), _l("Links are not allowed in a pack."))])
        if item.is_file():
            total += item.stat().st_size
            if len(files) >= MAX_PACK_FILES or total > MAX_PACK_BYTES:
                raise BrandInvalid([("pack", _l("The pack is too large."))])
            files[item.relative_to(root).as_posix()] = item.read_bytes()
    return files


def read_zip(data: bytes) -> dict[str, bytes]:
    """A zipped pack's files: no path traversal, no links, bounded count and uncompressed size."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        raise BrandInvalid([("pack", _l("Not a valid zip file."))]) from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > MAX_PACK_FILES:
            raise BrandInvalid([("pack", _l("The pack is too large."))])
        if sum(m.file_size for m in members) > MAX_PACK_BYTES:
            raise BrandInvalid([("pack", _l("The pack is too large."))])
        files: dict[str, bytes] = {}
        for member in members:
            name = member.filename
            mode = member.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise BrandInvalid([(name[:100], _l("Links are not allowed in a pack."))])
            normal = posixpath.normpath(name.replace("\\", "/"))
            if name.startswith(("/", "\\")) or normal.startswith("..") or ":" in name or "\x00" in name:
                raise BrandInvalid([(name[:100], _l("Unsafe path in the zip file."))])
            try:
                content = archive.read(member)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError):
                raise BrandInvalid([(name[:100], _l("Not a valid zip file."))]) from None
            if len(content) != member.file_size:
                raise BrandInvalid([(name[:100], _l("Not a valid zip file."))])
            files[normal] = content
    # A pack zipped with its folder: strip one common top-level folder.
    if "brand.toml" not in files:
        tops = {p.split("/", 1)[0] for p in files}
        if len(tops) == 1 and all("/" in p for p in files):
            files = {p.split("/", 1)[1]: c for p, c in files.items()}
    return files


def read_pack(path_or_zip: str | Path) -> dict[str, bytes]:
    """A pack from a folder or a .zip file on disk."""
    path = Path(path_or_zip)
    if path.is_dir():
        return read_folder(path)
    if not path.is_file():
        raise BrandInvalid([("pack", _l("No such folder or file: %(path)s", path=str(path)[:200]))])
    if path.stat().st_size > MAX_PACK_BYTES:
        raise BrandInvalid([("pack", _l("The pack is too large."))])
    return read_zip(path.read_bytes())
