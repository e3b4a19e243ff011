"""A tenant's directory settings: checking them, storing them (the bind password encrypted), reading them back."""
from __future__ import annotations

import base64
import json
import tomllib
from typing import Any, Mapping
from urllib.parse import urlparse

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from flask_babel import lazy_gettext as _l
from ldap3.utils.dn import parse_dn

from app.audit import difference, record
from app.db import db, utcnow
from app.org.ldap.models import DirectoryConfig
from app.org.ldap.presets import DEPARTMENT_SOURCES, MAPPING_KEYS, PRESET_NAMES, PRESETS, SECURITY_MODES, Preset
from app.tenancy.models import Tenant
from app.tenancy.scope import TenantScope
from app.validation import ValidationError

# The settings file and the form speak these keys; anything else is refused by name.
SETTING_KEYS = (
    "enabled", "preset", "servers", "security", "ca_file", "bind_dn", "bind_password_file", "user_base_dns",
    "user_filter", "department_source", "department_base_dn", "department_filter", "mapping", "page_size",
    "connect_timeout", "receive_timeout", "schedule_enabled", "max_deactivation_share",
)
_LIST_KEYS = ("servers", "user_base_dns")
_BOOL_KEYS = ("enabled", "schedule_enabled")
_INT_RANGES = {"page_size": (1, 10000), "connect_timeout": (1, 300), "receive_timeout": (1, 3600)}


class SettingsFileError(Exception):
    """The settings file cannot be used; the message names the key or the problem in one line."""


class SecretUnavailable(Exception):
    """The bind password cannot be read (no secret key, a changed secret key, or an unreadable file)."""


# --- the bind password at rest ------------------------------------------------------

def _fernet() -> Fernet:
    secret = current_app.config.get("SECRET_KEY")
    if not secret:
        raise SecretUnavailable("no secret key: run `atrium init`")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"atrium directory bind password").derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(plain: str) -> str:
    """The text encrypted with a key derived from the install's secret key."""
    return _fernet().encrypt(plain.encode()).decode()


def decrypt_secret(token: str) -> str:
    """The plain text of encrypt_secret's result; SecretUnavailable when the secret key changed."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnavailable("the stored bind password was encrypted with another secret key") from None


def bind_password(config: DirectoryConfig) -> str:
    """The bind password from its file, or the stored encrypted one; '' when none is set."""
    if config.bind_password_file:
        try:
            with open(config.bind_password_file, encoding="utf-8") as fh:
                return fh.readline().rstrip("\r\n")
        except OSError as exc:
            raise SecretUnavailable(f"cannot read bind_password_file ({type(exc).__name__})") from None
    if config.bind_password_encrypted:
        return decrypt_secret(config.bind_password_encrypted)
    return ""


# --- reading a stored configuration --------------------------------------------------

def get_config(tenant: Tenant) -> DirectoryConfig | None:
    """The tenant's directory settings, or None when it has no directory."""
    return TenantScope(tenant).select(DirectoryConfig).first()


def servers_of(config: DirectoryConfig) -> list[str]:
    return json.loads(config.server_uris or "[]")


def base_dns_of(config: DirectoryConfig) -> list[str]:
    return json.loads(config.user_base_dns or "[]")


def mapping_overrides_of(config: DirectoryConfig) -> dict[str, str]:
    return json.loads(config.mapping or "{}")


def preset_of(config: DirectoryConfig) -> Preset:
    """The attribute mapping in force: the preset with the tenant's overrides."""
    return PRESETS[config.preset].with_overrides(mapping_overrides_of(config))


def user_filter_of(config: DirectoryConfig) -> str:
    return config.user_filter or PRESETS[config.preset].user_filter


def department_filter_of(config: DirectoryConfig) -> str:
    if config.department_filter:
        return config.department_filter
    preset = PRESETS[config.preset]
    return preset.group_filter if config.department_source == "group" else preset.ou_filter


def describe_config(config: DirectoryConfig) -> dict[str, Any]:
    """Every setting as plain values for display; the bind password only as whether one is set."""
    return {
        "enabled": config.enabled, "preset": config.preset, "servers": servers_of(config),
        "security": config.security, "ca_file": config.ca_file or "", "bind_dn": config.bind_dn or "",
        "bind_password": "set" if config.bind_password_encrypted else "not set",
        "bind_password_file": config.bind_password_file or "", "user_base_dns": base_dns_of(config),
        "user_filter": config.user_filter or "", "department_source": config.department_source,
        "department_base_dn": config.department_base_dn or "", "department_filter": config.department_filter or "",
        "mapping": mapping_overrides_of(config), "page_size": config.page_size,
        "connect_timeout": config.connect_timeout, "receive_timeout": config.receive_timeout,
        "schedule_enabled": config.schedule_enabled, "max_deactivation_share": config.max_deactivation_share,
        "high_water_mark": config.high_water_mark or "",
        "last_full_sync_at": config.last_full_sync_at.isoformat(sep=" ") if config.last_full_sync_at else "",
    }


# --- checking and saving ------------------------------------------------------------------

def _text(values: Mapping, key: str, *, required: bool = False, max_length: int = 1024) -> str | None:
    value = values.get(key)
    if value is None or value == "":
        if required:
            raise ValidationError(key, _l("This field is required."))
        return None
    if not isinstance(value, str):
        raise ValidationError(key, _l("Expected text."))
    value = value.strip()
    if len(value) > max_length or any(ord(ch) < 32 for ch in value):
        raise ValidationError(key, _l("At most %(n)d characters on one line.", n=max_length))
    return value or None


def _dn(values: Mapping, key: str, *, required: bool = False) -> str | None:
    value = _text(values, key, required=required)
    if value is not None:
        try:
            parse_dn(value)
        except Exception:  # ldap3 raises several types for malformed DNs; the field error says it all
            raise ValidationError(key, _l("Not a valid DN, e.g. ou=people,dc=example,dc=com.")) from None
    return value


def _filter(values: Mapping, key: str) -> str | None:
    value = _text(values, key)
    if value is not None and (not value.startswith("(") or not value.endswith(")")
                              or value.count("(") != value.count(")")):
        raise ValidationError(key, _l("Not a valid LDAP filter, e.g. (objectClass=inetOrgPerson)."))
    return value


def _server_uri(uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.scheme not in ("ldap", "ldaps") or not parsed.hostname or parsed.path not in ("", "/"):
        raise ValidationError("servers", _l("Use ldap://HOST[:PORT] or ldaps://HOST[:PORT], one per line."))
    try:
        parsed.port
    except ValueError:
        raise ValidationError("servers", _l("Use ldap://HOST[:PORT] or ldaps://HOST[:PORT], one per line.")) from None
    return uri.rstrip("/")


def _number(values: Mapping, key: str, default, low, high, kind=int):
    value = values.get(key, default)
    if value is None or value == "":
        return default
    try:
        number = kind(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None or not (low <= number <= high):
        raise ValidationError(key, _l("Enter a number from %(low)s to %(high)s.", low=low, high=high))
    return number


def clean_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    """Checked settings as column values; ValidationError naming the first bad key."""
    unknown = [key for key in values if key not in SETTING_KEYS]
    if unknown:
        raise ValidationError(unknown[0], _l("Unknown setting."))
    preset = values.get("preset") or "openldap"
    if preset not in PRESET_NAMES:
        raise ValidationError("preset", _l("Choose one of: %(names)s.", names=", ".join(PRESET_NAMES)))
    security = values.get("security") or "none"
    if security not in SECURITY_MODES:
        raise ValidationError("security", _l("Choose one of: %(names)s.", names=", ".join(SECURITY_MODES)))
    source = values.get("department_source") or "ou"
    if source not in DEPARTMENT_SOURCES:
        raise ValidationError("department_source", _l("Choose one of: %(names)s.", names=", ".join(DEPARTMENT_SOURCES)))
    lists = {}
    for key in _LIST_KEYS:
        items = values.get(key) or []
        if isinstance(items, str) or not all(isinstance(i, str) for i in items):
            raise ValidationError(key, _l("Expected a list of text values."))
        lists[key] = [i.strip() for i in items if i.strip()]
    if not lists["servers"]:
        raise ValidationError("servers", _l("Name at least one server."))
    servers = [_server_uri(uri) for uri in lists["servers"]]
    if not lists["user_base_dns"]:
        raise ValidationError("user_base_dns", _l("Name at least one base DN for people."))
    for base in lists["user_base_dns"]:
        _dn({"user_base_dns": base}, "user_base_dns")
    for key in _BOOL_KEYS:
        if not isinstance(values.get(key, False), bool):
            raise ValidationError(key, _l("Expected true or false."))
    mapping = values.get("mapping") or {}
    if not isinstance(mapping, Mapping):
        raise ValidationError("mapping", _l("Expected a table of attribute names."))
    for key, attr in mapping.items():
        if key not in MAPPING_KEYS:
            raise ValidationError(f"mapping.{key}", _l("Unknown mapping key."))
        if not isinstance(attr, str) or (attr and not attr.replace("-", "").replace(";", "").isalnum()):
            raise ValidationError(f"mapping.{key}", _l("Expected an attribute name."))
    department_base = _dn(values, "department_base_dn", required=source in ("ou", "group"))
    cleaned = {
        "enabled": values.get("enabled", True), "preset": preset, "server_uris": json.dumps(servers),
        "security": security, "ca_file": _text(values, "ca_file"), "bind_dn": _dn(values, "bind_dn"),
        "bind_password_file": _text(values, "bind_password_file"),
        "user_base_dns": json.dumps(lists["user_base_dns"]), "user_filter": _filter(values, "user_filter"),
        "department_source": source, "department_base_dn": department_base,
        "department_filter": _filter(values, "department_filter"),
        "mapping": json.dumps({k: v for k, v in mapping.items()}, sort_keys=True),
        "schedule_enabled": values.get("schedule_enabled", False),
        "max_deactivation_share": _number(values, "max_deactivation_share", 0.10, 0.0, 1.0, float),
    }
    for key, (low, high) in _INT_RANGES.items():
        cleaned[key] = _number(values, key, DirectoryConfig._meta.fields[key].default, low, high)
    if security == "ldaps" and any(uri.startswith("ldap://") for uri in servers):
        raise ValidationError("security", _l("With LDAPS every server address starts with ldaps://."))
    return cleaned


def save_config(tenant: Tenant, values: Mapping[str, Any], *, new_bind_password: str | None = None,
                clear_bind_password: bool = False) -> DirectoryConfig:
    """Create or replace the tenant's directory settings; a None password keeps the stored one."""
    cleaned = clean_settings(values)
    if new_bind_password and cleaned["bind_password_file"]:
        raise ValidationError("bind_password", _l("Give the bind password or a file holding it, not both."))
    with db.atomic():
        config = get_config(tenant) or DirectoryConfig(tenant=tenant)
        before = _audited_settings(config) if config.id else {}
        previous = (config.preset, config.department_source, config.server_uris, config.user_base_dns)
        for key, value in cleaned.items():
            setattr(config, key, value)
        if new_bind_password:
            config.bind_password_encrypted = encrypt_secret(new_bind_password)
        elif clear_bind_password or cleaned["bind_password_file"]:
            config.bind_password_encrypted = None
        if previous != (config.preset, config.department_source, config.server_uris, config.user_base_dns):
            # Another directory or another reading of it: the next incremental sync starts afresh.
            config.high_water_mark = None
        config.updated_at = utcnow()
        config.save()
        after = _audited_settings(config)
        if new_bind_password:
            after["bind_password"] = "new"   # redacted in the log, which shows only that it changed
        if after != before:
            record("directory.config", target=config, tenant=tenant, changes=difference(before, after))
    return config


def _audited_settings(config: DirectoryConfig) -> dict[str, Any]:
    """The settings as the audit log compares them: what people set, not what the sync keeps up to date."""
    shown = describe_config(config)
    shown["bind_password"] = "stored" if config.bind_password_encrypted else None
    for kept_by_sync in ("high_water_mark", "last_full_sync_at"):
        shown.pop(kept_by_sync)
    return shown


def settings_from_toml(path: str) -> dict[str, Any]:
    """The settings in a TOML file; SettingsFileError naming an unknown or refused key."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise SettingsFileError(f"{path}: file not found") from None
    except OSError as exc:
        raise SettingsFileError(f"{path}: cannot read it ({type(exc).__name__})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsFileError(f"{path}: not valid TOML: {exc}") from None
    if "bind_password" in data:
        raise SettingsFileError(f"{path}: key 'bind_password' is not accepted in a file; "
                                "use bind_password_file or --bind-password-stdin")
    for key in data:
        if key not in SETTING_KEYS:
            raise SettingsFileError(f"{path}: unknown key '{key}'")
    return data
