"""Languages and time zones: the person's choice, then the tenant's, then the browser's."""
from __future__ import annotations

import os
from pathlib import Path

from flask import current_app, g, has_request_context, request
from flask_babel import Babel

from app.config import LOCALES

TRANSLATIONS = Path(__file__).parent / "translations"


def _accept_language() -> str | None:
    for lang, _q in request.accept_languages:
        tag = lang.lower().replace("_", "-")
        if tag.startswith("zh"):
            return "zh_Hans"
        if tag.startswith("en"):
            return "en"
    return None


def select_locale() -> str:
    """zh_Hans or en for this request (or, on the command line, from LANG)."""
    if not has_request_context():
        return "zh_Hans" if os.environ.get("LANG", "").lower().startswith("zh") else "en"
    person = g.get("person")
    if person is not None and person.locale in LOCALES:
        return person.locale
    tenant = g.get("tenant")
    if tenant is not None and tenant.default_locale in LOCALES:
        return tenant.default_locale
    return _accept_language() or current_app.config["ATRIUM"].default_locale


def person_locale(person, tenant=None, default: str = "zh_Hans") -> str:
    """The language to write to a person in outside a request: theirs, then their tenant's, then `default`."""
    tenant = tenant if tenant is not None else person.tenant
    for choice in (person.locale, tenant.default_locale):
        if choice in LOCALES:
            return choice
    return default if default in LOCALES else LOCALES[0]


def select_timezone() -> str:
    if has_request_context():
        for holder in (g.get("person"), g.get("tenant")):
            if holder is not None and holder.timezone:
                return holder.timezone
    return current_app.config["ATRIUM"].default_timezone


def init_app(app) -> None:
    Babel(app, locale_selector=select_locale, timezone_selector=select_timezone,
          default_translation_directories=str(TRANSLATIONS))

    @app.context_processor
    def _language():
        from flask_babel import get_locale
        locale = get_locale()
        return {"html_lang": "zh-Hans" if locale and locale.language == "zh" else "en"}
