"""The watermark over chat and announcement pages: the viewer's name and the last four digits of their mobile.

It is drawn by the server as plain text spans (the CSP allows no inline style or
script); app/static/atrium.css tiles, rotates and fades them.
"""
from __future__ import annotations

import re

from flask import g, request

from app.security.policy import policy_for

WATERMARKED_BLUEPRINTS = frozenset({"chat", "announce"})
TILES = 240   # enough spans to cover a large screen at the stylesheet's spacing


def mark_for(person) -> str:
    """"Name 1234": the display name and the last four digits of the mobile, when there is one."""
    digits = re.sub(r"[^0-9]", "", person.mobile or "")
    return f"{person.display_name} {digits[-4:]}".strip() if digits else person.display_name


def text_for_page() -> list[str] | None:
    """The tiles of this page's watermark, or None when the page carries none."""
    person, tenant = g.get("person"), g.get("tenant")
    if person is None or tenant is None or request.blueprint not in WATERMARKED_BLUEPRINTS:
        return None
    if not policy_for(tenant).watermark.enabled:
        return None
    return [mark_for(person)] * TILES
