"""Message text to safe HTML: everything escaped, then links, mentions and line breaks added."""
from __future__ import annotations

import re

from markupsafe import Markup, escape

_URL = re.compile(r"\bhttps?://[^\s<>\"']{1,2000}", re.IGNORECASE)
MENTION = re.compile(r"(?<![\w@])@([a-z0-9][a-z0-9._-]{0,127})", re.IGNORECASE)


def render_text(text: str, mentions: dict[str, str] | None = None) -> Markup:
    """Escaped text with http(s) links, @mentions of known logins highlighted, and line breaks."""
    mentions = mentions or {}
    out, pos = [], 0
    for match in _URL.finditer(text):
        out.append(_plain(text[pos:match.start()], mentions))
        url = match.group(0).rstrip(".,;:!?)")
        trailing = match.group(0)[len(url):]
        out.append(Markup('<a href="{0}" rel="noopener noreferrer nofollow" target="_blank">{0}</a>').format(url))
        out.append(_plain(trailing, mentions))
        pos = match.end()
    out.append(_plain(text[pos:], mentions))
    return Markup("").join(out)


def _plain(text: str, mentions: dict[str, str]) -> Markup:
    escaped = str(escape(text))

    def mention(match):
        login = match.group(1).lower()
        if login in mentions:
            return f'<span class="mention">@{escape(mentions[login])}</span>'
        return match.group(0)

    # Escaping never produces "@", so mentions are found in the escaped text safely.
    return Markup(MENTION.sub(mention, escaped).replace("\n", "<br>"))
