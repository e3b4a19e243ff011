"""Checking that rendered user text is inert: only the few tags the renderer makes, no script anywhere."""
import re
from html.parser import HTMLParser
from pathlib import Path

ALLOWED = {"a": {"href", "rel", "target"}, "span": {"class"}, "br": set()}
DATA = Path(__file__).resolve().parent / "data"


class _Inert(HTMLParser):
    def __init__(self):
        super().__init__()
        self.problems = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED:
            self.problems.append(f"<{tag}>")
            return
        for name, value in attrs:
            if name not in ALLOWED[tag] or name.startswith("on"):
                self.problems.append(f"<{tag} {name}>")
            if name == "href" and not (value or "").lower().startswith(("http://", "https://")):
                self.problems.append(f"href={value!r}")


def problems(html: str) -> list[str]:
    """What in this fragment could run or load: [] when it is inert."""
    checker = _Inert()
    checker.feed(html)
    return checker.problems


# --- whole pages --------------------------------------------------------------------------------

# Elements no page of ours has: any of them in a page came from someone's text.
_NEVER = {"iframe", "frame", "frameset", "object", "embed", "applet", "base", "svg", "math", "style", "template",
          "portal", "xmp", "plaintext", "noscript"}
_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "srcset", "poster", "data", "xlink:href", "background"}
_LINK_RELS = {"stylesheet", "icon", "apple-touch-icon", "manifest"}
# Our templates draw a few decorative icons inline (the notification bell): an <svg> hidden from assistive
# technology, sized, holding only <path d="..."> shapes. Any other <svg>, or anything else inside one, came from data.
_ICON_ATTRIBUTES = {"class", "viewbox", "width", "height", "aria-hidden", "focusable"}
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")


def _safe_url(tag: str, name: str, value: str) -> bool:
    url = _CONTROL.sub("", value or "").lower()
    if name == "srcset":
        return all(_safe_url(tag, "src", part.split()[0]) for part in url.split(",") if part.strip())
    if url.startswith(("/", "#", "?")) and not url.startswith("//"):
        return True
    if tag == "a" and name == "href" and url.startswith(("http://", "https://", "mailto:", "tel:")):
        return True
    return tag == "img" and name == "src" and url.startswith("data:image/") and not url.startswith("data:image/svg")


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []
        self.in_script = False
        self.in_icon = 0

    def _icon(self, tag, attrs) -> bool:
        """True for a tag of one of our inline icons (which is then not judged as data)."""
        names = {name for name, _value in attrs}
        if tag == "svg" and not self.in_icon:
            if names <= _ICON_ATTRIBUTES and dict(attrs).get("aria-hidden") == "true":
                self.in_icon = 1
                return True
            return False
        if self.in_icon and tag == "path" and names <= {"d"}:
            return True
        if self.in_icon:
            self.problems.append(f"<{tag}> in an icon")
            return True
        return False

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if self._icon(tag, attrs):
            return
        if tag in _NEVER:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}>")
            elif name == "style":
                self.problems.append(f"<{tag} style>")
            elif name in _URL_ATTRIBUTES and not _safe_url(tag, name, value):
                self.problems.append(f"<{tag} {name}={value!r}>")
        if tag == "script":
            self.in_script = True
            if not (values.get("src") or "").startswith("/static/"):
                self.problems.append(f"<script src={values.get('src')!r}>")
        elif tag == "meta" and "http-equiv" in values:
            self.problems.append("<meta http-equiv>")
        elif tag == "link" and not set((values.get("rel") or "").lower().split()) <= _LINK_RELS:
            self.problems.append(f"<link rel={values.get('rel')!r}>")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag == "svg" and self.in_icon:
            self.in_icon = 0

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False
        elif tag == "svg":
            self.in_icon = 0

    def handle_data(self, data):
        if self.in_script and data.strip():
            self.problems.append(f"inline script {data.strip()[:40]!r}")


def page_problems(html: str) -> list[str]:
    """What in a whole page could run, load or restyle it beyond what our templates make: [] when inert.

    Our pages load scripts only from /static/, have no inline script or style, no event
    handler attributes and only same-site or http(s) links; anything else came from data.
    """
    checker = _Page()
    checker.feed(html)
    checker.close()
    return checker.problems


# --- the corpus ---------------------------------------------------------------------------------

_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[nrt\\])")
_REPEAT = re.compile(r"^\{repeat (\d+)\}")


def _unescape(match: re.Match) -> str:
    code = match.group(1)
    if code[0] in "xuU":
        return chr(int(code[1:], 16))
    return {"n": "\n", "r": "\r", "t": "\t", "\\": "\\"}[code]


def hostile_texts() -> list[str]:
    """tests/data/hostile_text.txt: one text a line; \\n \\r \\t \\xHH \\uHHHH are decoded, {repeat N} repeats."""
    texts = []
    for line in (DATA / "hostile_text.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("# "):
            continue
        times = 1
        repeat = _REPEAT.match(line)
        if repeat:
            times, line = int(repeat.group(1)), line[repeat.end():]
        texts.append(_ESCAPE.sub(_unescape, line) * times)
    return texts
