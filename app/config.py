"""Settings: built-in defaults -> TOML config file -> ATRIUM_* environment -> a test mapping.

Every key is declared once below with its type and meaning; anything else is an
error that names the source, the key and the problem, so a typo in a config
file stops the process instead of being silently ignored.
"""
from __future__ import annotations

import dataclasses
import difflib
import os
import re
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping


class ConfigError(Exception):
    """A setting is malformed, unknown or inconsistent; the message is one line for the operator."""


@dataclass
class LoginSettings:
    max_failures: int = field(default=5, metadata={"doc": "failed logins per account within the window before throttling"})
    max_failures_per_address: int = field(default=30, metadata={"doc": "failed logins per client address within the window"})
    window_seconds: int = field(default=900, metadata={"doc": "length of the throttling window"})


@dataclass
class ResidencySettings:
    site: str = field(default="local", metadata={"doc": "the site this node runs in"})
    role: str = field(default="all", metadata={"doc": "all (serves and keeps data), storage (keeps data) or compute (serves, keeps no customer data)"})
    sites: list[str] = field(default_factory=list, metadata={"doc": "every site of the install, to catch misspelt names; empty = not checked"})
    allowed_sites: list[str] = field(default_factory=list, metadata={"doc": "sites that may hold data (rows and files); empty = this node's site only"})
    database_site: str = field(default="", metadata={"doc": "the site the database runs in; empty = this node's site"})
    default_blob_store: str = field(default="", metadata={"doc": "blob store of new tenants; empty = the only one configured (or 'local')"})


@dataclass
class BlobStoreSettings:
    kind: str = field(default="local", metadata={"doc": "local (a directory on this node) or sftp (a directory on a storage host over SSH)"})
    site: str = field(default="", metadata={"doc": "the site the store's disks are in; empty = this node's site (local stores only)"})
    path: str = field(default="", metadata={"doc": "directory of the files (on the storage host for sftp); empty = DATA_DIR/blobs for local"})
    host: str = field(default="", metadata={"doc": "sftp: the storage host"})
    port: int = field(default=22, metadata={"doc": "sftp: its SSH port"})
    user: str = field(default="", metadata={"doc": "sftp: the account to log in as"})
    private_key_file: str = field(default="", metadata={"doc": "sftp: file holding the unencrypted private key (its contents are never logged)"})
    host_key: str = field(default="", metadata={"doc": "sftp: the storage host's pinned public host key, e.g. 'ssh-ed25519 AAAA...'"})
    connect_timeout: int = field(default=10, metadata={"doc": "sftp: seconds to connect and log in"})
    operation_timeout: int = field(default=30, metadata={"doc": "sftp: seconds a read or write may wait for the host"})


@dataclass
class ServeSettings:
    bind: str = field(default="127.0.0.1:8000", metadata={"doc": "address gunicorn listens on"})
    workers: int = field(default=2, metadata={"doc": "gunicorn worker processes"})
    threads: int = field(default=8, metadata={"doc": "threads per worker"})
    timeout: int = field(default=60, metadata={"doc": "seconds before a silent worker is restarted"})


@dataclass
class ChatSettings:
    max_message_length: int = field(default=5000, metadata={"doc": "longest message in characters"})
    edit_minutes: int = field(default=15, metadata={"doc": "how long a message can be edited"})
    recall_minutes: int = field(default=120, metadata={"doc": "how long a message can be recalled"})
    rate_messages: int = field(default=30, metadata={"doc": "messages a person may send within rate_seconds"})
    rate_seconds: int = field(default=10, metadata={"doc": "the window of the per-person rate limit"})
    max_attachment_mb: int = field(default=20, metadata={"doc": "largest attachment in MB"})
    max_group_members: int = field(default=2000, metadata={"doc": "largest group conversation"})


@dataclass
class SmtpSettings:
    host: str = field(default="", metadata={"doc": "the customer's SMTP relay; empty = no email is sent"})
    port: int = field(default=587, metadata={"doc": "its port (587 for starttls, 465 for tls, 25 for none)"})
    security: str = field(default="starttls", metadata={"doc": "none, starttls (upgrade after connecting) or tls (TLS from the start)"})
    ca_file: str = field(default="", metadata={"doc": "CA certificates that sign the relay's certificate; empty = the system's"})
    username: str = field(default="", metadata={"doc": "account to log in to the relay as; empty = no login"})
    password: str = field(default="", repr=False, metadata={"doc": "its password (prefer password_file; never logged or shown)"})
    password_file: str = field(default="", metadata={"doc": "file holding the password (its contents are never logged or shown)"})
    timeout: int = field(default=30, metadata={"doc": "seconds to wait for the relay at each step"})
    from_address: str = field(default="", metadata={"doc": "sender address when the tenant sets none, e.g. atrium@example.com"})
    max_attempts: int = field(default=10, metadata={"doc": "tries of one email before it is given up as failed"})
    retry_seconds: int = field(default=60, metadata={"doc": "wait before the first retry; doubled each time, at most an hour"})

    def read_password(self) -> str:
        """The relay password from the setting or its file (read when needed, so a rotated file is picked up)."""
        if self.password_file:
            return Path(self.password_file).read_text().strip()
        return self.password


@dataclass
class Settings:
    data_dir: str = field(default="/var/lib/atrium", metadata={"doc": "directory holding everything the embedded default keeps"})
    database_url: str = field(default="", metadata={"doc": "sqlite:///PATH or postgresql://USER:PASS@HOST:PORT/DB; empty = SQLite in data_dir"})
    secret_key_file: str = field(default="", metadata={"doc": "file holding the secret key; empty = DATA_DIR/secret_key"})
    public_url: str = field(default="", metadata={"doc": "external base URL, e.g. https://atrium.example.com"})
    trusted_proxies: int = field(default=0, metadata={"doc": "number of reverse proxies whose X-Forwarded-* headers are trusted"})
    secure_cookies: bool = field(default=False, metadata={"doc": "always mark cookies Secure (they are anyway on HTTPS requests)"})
    session_lifetime_hours: int = field(default=12, metadata={"doc": "how long a login lasts"})
    default_locale: str = field(default="zh_Hans", metadata={"doc": "language when neither the person nor the browser says"})
    default_timezone: str = field(default="Asia/Shanghai", metadata={"doc": "time zone when neither the person nor the tenant says"})
    log_level: str = field(default="INFO", metadata={"doc": "DEBUG, INFO, WARNING or ERROR"})
    branding_dir: str = field(default="", metadata={"doc": "folder of shipped brand packs; empty = the one installed with Atrium"})
    max_field_length: int = field(default=200, metadata={"doc": "longest accepted single-line form field"})
    login: LoginSettings = field(default_factory=LoginSettings)
    chat: ChatSettings = field(default_factory=ChatSettings)
    serve: ServeSettings = field(default_factory=ServeSettings)
    residency: ResidencySettings = field(default_factory=ResidencySettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    blob_stores: dict[str, BlobStoreSettings] = field(default_factory=dict)

    # Derived, not settable.
    source: str = field(default="defaults", metadata={"internal": True})

    @property
    def database(self) -> str:
        """The effective database URL."""
        if self.database_url:
            return self.database_url
        return "sqlite:///" + str(Path(self.data_dir) / "atrium.db")

    @property
    def secret_key_path(self) -> Path:
        return Path(self.secret_key_file) if self.secret_key_file else Path(self.data_dir) / "secret_key"


LOCALES = ("zh_Hans", "en")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
ROLES = ("all", "storage", "compute")
BLOB_STORE_KINDS = ("local", "sftp")
SMTP_SECURITY = ("none", "starttls", "tls")
_EMAIL_RE = re.compile(r"^[^@\s<>\"']{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
_TABLE_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


def _public_fields(cls) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}


def _coerce(value: Any, typ: Any, where: str, from_text: bool) -> Any:
    """Convert one value to the declared type or raise a ConfigError naming where it came from."""
    if typ is bool:
        if isinstance(value, bool):
            return value
        if from_text and isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if typ is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if from_text and isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise ConfigError(f"{where}: expected a whole number, got {value!r}")
    if typ is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: expected text, got {value!r}")
    if typing.get_origin(typ) is list:
        if from_text and isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return list(value)
        raise ConfigError(f"{where}: expected a list of texts, got {value!r}")
    raise ConfigError(f"{where}: unsupported setting type")  # pragma: no cover - schema error


def _apply(target: Any, values: Mapping[str, Any], source: str, prefix: str = "", from_text: bool = False) -> None:
    """Set the keys of one layer onto the settings object, checking names and types."""
    fields = _public_fields(type(target))
    hints = typing.get_type_hints(type(target))
    for key, value in values.items():
        name = key.lower() if from_text else key
        where = f"{source}: {prefix}{key}"
        if name not in fields:
            close = difflib.get_close_matches(name, list(fields), n=1)
            hint = f" (did you mean '{prefix}{close[0]}'?)" if close else ""
            raise ConfigError(f"{source}: unknown key '{prefix}{key}'{hint}")
        typ = hints[name]
        if dataclasses.is_dataclass(typ):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{where}: expected a table of settings, got {value!r}")
            _apply(getattr(target, name), value, source, prefix=f"{prefix}{name}.", from_text=from_text)
        elif typing.get_origin(typ) is dict:
            _apply_tables(getattr(target, name), typing.get_args(typ)[1], value, source, f"{prefix}{name}", from_text)
        else:
            setattr(target, name, _coerce(value, typ, where, from_text))


def _apply_tables(tables: dict, cls: type, values: Any, source: str, prefix: str, from_text: bool) -> None:
    """[prefix.NAME] tables: each named table is checked like a nested table; a later layer adds or amends names."""
    if not isinstance(values, Mapping):
        raise ConfigError(f"{source}: {prefix}: expected named tables like [{prefix}.NAME], got {values!r}")
    for table_name, table in values.items():
        if not _TABLE_NAME_RE.match(table_name):
            raise ConfigError(f"{source}: {prefix}.{table_name}: a name is 1-64 lower-case letters, digits, '-' or '_',"
                              " starting with a letter")
        if not isinstance(table, Mapping):
            raise ConfigError(f"{source}: {prefix}.{table_name}: expected a table of settings, got {table!r}")
        _apply(tables.setdefault(table_name, cls()), table, source, prefix=f"{prefix}.{table_name}.", from_text=from_text)


def _env_layer(environ: Mapping[str, str]) -> dict[str, Any]:
    """ATRIUM_KEY=value and ATRIUM_SECTION__KEY=value, plus the conventional DATABASE_URL."""
    layer: dict[str, Any] = {}
    if environ.get("DATABASE_URL"):
        layer["database_url"] = environ["DATABASE_URL"]
    for name, value in environ.items():
        if not name.startswith("ATRIUM_") or name == "ATRIUM_CONFIG":
            continue
        parts = name[len("ATRIUM_"):].lower().split("__")
        node = layer
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"environment: {name} conflicts with another variable")
        node[parts[-1]] = value
    return layer


def _validate(settings: Settings) -> None:
    url = settings.database
    if not (url.startswith("sqlite:///") or url.startswith(("postgresql://", "postgres://"))):
        raise ConfigError(f"{settings.source}: database_url must start with sqlite:/// or postgresql://")
    if settings.default_locale not in LOCALES:
        raise ConfigError(f"{settings.source}: default_locale must be one of {', '.join(LOCALES)}, got {settings.default_locale!r}")
    if settings.log_level.upper() not in LOG_LEVELS:
        raise ConfigError(f"{settings.source}: log_level must be one of {', '.join(LOG_LEVELS)}")
    settings.log_level = settings.log_level.upper()
    try:
        import zoneinfo
        zoneinfo.ZoneInfo(settings.default_timezone)
    except (ValueError, KeyError, zoneinfo.ZoneInfoNotFoundError):
        raise ConfigError(f"{settings.source}: default_timezone {settings.default_timezone!r} is not a known time zone") from None
    for name, low in (("session_lifetime_hours", 1), ("max_field_length", 20), ("trusted_proxies", 0)):
        if getattr(settings, name) < low:
            raise ConfigError(f"{settings.source}: {name} must be at least {low}")
    for name, low in (("max_failures", 1), ("max_failures_per_address", 1), ("window_seconds", 1)):
        if getattr(settings.login, name) < low:
            raise ConfigError(f"{settings.source}: login.{name} must be at least {low}")
    for name in ("max_message_length", "edit_minutes", "recall_minutes", "rate_messages", "rate_seconds",
                 "max_attachment_mb", "max_group_members"):
        if getattr(settings.chat, name) < 1:
            raise ConfigError(f"{settings.source}: chat.{name} must be at least 1")
    if settings.serve.workers < 1 or settings.serve.threads < 1:
        raise ConfigError(f"{settings.source}: serve.workers and serve.threads must be at least 1")
    if settings.residency.role not in ROLES:
        raise ConfigError(f"{settings.source}: residency.role must be one of {', '.join(ROLES)}, got {settings.residency.role!r}")
    for name, store in settings.blob_stores.items():
        if store.kind not in BLOB_STORE_KINDS:
            raise ConfigError(f"{settings.source}: blob_stores.{name}.kind must be one of {', '.join(BLOB_STORE_KINDS)},"
                              f" got {store.kind!r}")
        for key in ("connect_timeout", "operation_timeout"):
            if getattr(store, key) < 1:
                raise ConfigError(f"{settings.source}: blob_stores.{name}.{key} must be at least 1")
        if not 0 < store.port < 65536:
            raise ConfigError(f"{settings.source}: blob_stores.{name}.port must be a TCP port (1-65535)")
    _validate_smtp(settings)


def _validate_smtp(settings: Settings) -> None:
    smtp, source = settings.smtp, settings.source
    if smtp.security not in SMTP_SECURITY:
        raise ConfigError(f"{source}: smtp.security must be one of {', '.join(SMTP_SECURITY)}, got {smtp.security!r}")
    if not 0 < smtp.port < 65536:
        raise ConfigError(f"{source}: smtp.port must be a TCP port (1-65535)")
    for name in ("timeout", "max_attempts", "retry_seconds"):
        if getattr(smtp, name) < 1:
            raise ConfigError(f"{source}: smtp.{name} must be at least 1")
    if smtp.from_address and not _EMAIL_RE.match(smtp.from_address):
        raise ConfigError(f"{source}: smtp.from_address is not an email address")
    if smtp.password and smtp.password_file:
        raise ConfigError(f"{source}: give smtp.password or smtp.password_file, not both")
    if (smtp.password or smtp.password_file) and not smtp.username:
        raise ConfigError(f"{source}: smtp.username is needed with a password")
    if smtp.host and smtp.password_file and not os.access(smtp.password_file, os.R_OK):
        raise ConfigError(f"{source}: smtp.password_file {smtp.password_file} is not a readable file")
    if smtp.ca_file and not os.access(smtp.ca_file, os.R_OK):
        raise ConfigError(f"{source}: smtp.ca_file {smtp.ca_file} is not a readable file")


def load_settings(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from every layer, raising ConfigError on the first problem."""
    environ = os.environ if environ is None else environ
    settings = Settings()
    sources = []
    path = environ.get("ATRIUM_CONFIG")
    if path:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found (ATRIUM_CONFIG)") from None
        except PermissionError:
            raise ConfigError(f"{path}: config file is not readable") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        _apply(settings, data, path)
        sources.append(path)
    _apply(settings, _env_layer(environ), "environment", from_text=True)
    if overrides:
        _apply(settings, overrides, "settings passed to create_app")
    settings.source = path or "settings"
    _validate(settings)
    return settings


def describe() -> list[tuple[str, str, str]]:
    """(key, default, meaning) for every setting, for the operator guide and `atrium config keys`."""
    rows = []

    def walk(cls, prefix):
        for name, f in _public_fields(cls).items():
            typ = typing.get_type_hints(cls)[name]
            if dataclasses.is_dataclass(typ):
                walk(typ, f"{prefix}{name}.")
            elif typing.get_origin(typ) is dict:
                walk(typing.get_args(typ)[1], f"{prefix}{name}.NAME.")
            else:
                default = f.default_factory() if f.default is dataclasses.MISSING else f.default
                rows.append((prefix + name, repr(default), f.metadata.get("doc", "")))

    walk(Settings, "")
    return rows
