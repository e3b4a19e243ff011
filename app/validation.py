"""Checking what people type, into one clear error per field."""
from __future__ import annotations

import re
import unicodedata

from flask_babel import lazy_gettext as _l


class ValidationError(Exception):
    """A value people typed is not acceptable; `field` names the form field, `message` says why."""

    def __init__(self, field: str, message):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


_EMAIL_RE = re.compile(r"^[^@\s<>\"']{1,64}@[a-z0-9.-]{1,253}\.[a-z]{2,63}$", re.IGNORECASE)
_MOBILE_RE = re.compile(r"^\+?[0-9][0-9 ()-]{4,30}$")
_LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,127}$")


def clean_text(value, field: str, *, required: bool = False, max_length: int = 200) -> str | None:
    """Trimmed single-line text, None when empty and optional; refuses control characters, overlong text and
    values that are not text at all (a number or a list sent in JSON)."""
    if value is not None and not isinstance(value, str):
        raise ValidationError(field, _l("Must be text."))
    text = (value or "").strip()
    if not text:
        if required:
            raise ValidationError(field, _l("This field is required."))
        return None
    if len(text) > max_length:
        raise ValidationError(field, _l("At most %(n)d characters.", n=max_length))
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text):
        raise ValidationError(field, _l("Contains characters that are not allowed."))
    return text


def clean_long_text(value, field: str, *, max_length: int, required: bool = False, missing=None) -> str:
    """Trimmed text of several lines (CRLF made LF), "" when empty and optional; refuses control characters other
    than newline and tab, overlong text and values that are not text at all. missing: what to say when a required
    text is empty (default: the field is required)."""
    if value is not None and not isinstance(value, str):
        raise ValidationError(field, _l("Must be text."))
    text = (value or "").replace("\r\n", "\n").strip()
    if not text:
        if required:
            raise ValidationError(field, missing if missing is not None else _l("This field is required."))
        return ""
    if len(text) > max_length:
        raise ValidationError(field, _l("At most %(n)d characters.", n=max_length))
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in text):
        raise ValidationError(field, _l("Contains characters that are not allowed."))
    return text


def clean_login(value, field: str = "login") -> str:
    login = (clean_text(value, field, required=True, max_length=128) or "").lower()
    if not _LOGIN_RE.match(login):
        raise ValidationError(field, _l("Use lower-case letters, digits and . _ @ - only."))
    return login


def clean_email(value, field: str = "email") -> str | None:
    email = clean_text(value, field, max_length=254)
    if email is not None and not _EMAIL_RE.match(email):
        raise ValidationError(field, _l("Not a valid email address."))
    return email.lower() if email else None


def clean_mobile(value, field: str = "mobile") -> str | None:
    mobile = clean_text(value, field, max_length=40)
    if mobile is not None and not _MOBILE_RE.match(mobile):
        raise ValidationError(field, _l("Not a valid phone number."))
    return mobile


MIN_PASSWORD_LENGTH = 10


def check_new_password(password: str, field: str = "password") -> str:
    """A new password must be long enough and not only spaces."""
    if not password or not password.strip():
        raise ValidationError(field, _l("Enter a password."))
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(field, _l("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH))
    if len(password) > 1024:
        raise ValidationError(field, _l("At most %(n)d characters.", n=1024))
    return password
