"""Every visible string is marked for translation, and Simplified Chinese covers all of them."""
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

APP = Path(__file__).resolve().parents[1] / "app"
TRANSLATIONS = APP / "translations"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}


def _extracted_ids() -> set[str]:
    with open(APP / "babel.cfg") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    ids = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(APP), method_map, options_map,
                                                                        keywords=KEYWORDS):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def _catalog(locale):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale=locale)


def test_every_marked_string_has_a_chinese_translation():
    catalog = _catalog("zh_Hans")
    missing = []
    for msgid in sorted(_extracted_ids()):
        message = catalog.get(msgid)
        text = None if message is None else (message.string if isinstance(message.string, str) else message.string[0])
        if not text or message.fuzzy:
            missing.append(msgid)
    assert not missing, "run `sh deploy/i18n.sh` and translate in zh_Hans/messages.po:\n" + "\n".join(missing)


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
def test_catalogues_compile_and_the_shipped_mo_is_current(locale):
    catalog = _catalog(locale)
    errors = [(m.id, e) for m, e in catalog.check()]
    assert not errors, errors                       # placeholders agree with the source
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    fresh = _entries(read_mo(buffer))
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo", "rb") as fh:
        shipped = _entries(read_mo(fh))
    assert shipped == fresh, "messages.mo is stale: run `sh deploy/i18n.sh`"


def _entries(catalog) -> dict:
    as_key = lambda v: v if isinstance(v, str) else tuple(v)  # noqa: E731 - plural forms are lists
    return {as_key(m.id): as_key(m.string) for m in catalog if m.id}


# Text a template may show untranslated: symbols, numbers, and language names shown in their own language.
_ALLOWED = re.compile(r"^[\s\d☰·/:*()|,.\-–—%#✓✗📎←]*$|^(简体中文|English|https://)$")
_TRANSLATED_ATTRS = {"placeholder", "title", "aria-label", "alt"}


class _TextFinder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "code"):
            self._skip += 1
        for name, value in attrs:
            if name in _TRANSLATED_ATTRS and value and not _ALLOWED.match(value):
                self.found.append(f"{tag}[{name}]={value!r}")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "code"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and not _ALLOWED.match(data.strip()):
            self.found.append(repr(data.strip()))


def _untranslated_text(source: str) -> list[str]:
    # Everything Jinja computes is replaced by a neutral marker; what is left is literal text.
    stripped = re.sub(r"{#.*?#}", "", source, flags=re.S)
    # CSS class names handed to the layout are not text.
    stripped = re.sub(r"{% block (body_class|main_class) %}.*?{% endblock %}", "", stripped, flags=re.S)
    stripped = re.sub(r"{{.*?}}|{%.*?%}", "0", stripped, flags=re.S)
    finder = _TextFinder()
    finder.feed(stripped)
    return finder.found


def test_no_visible_template_text_is_left_unmarked():
    offenders = {}
    for path in sorted((APP / "templates").rglob("*.html")):
        found = _untranslated_text(path.read_text())
        if found:
            offenders[str(path.relative_to(APP))] = found
    assert not offenders, offenders


def test_the_checker_catches_unmarked_text():
    assert _untranslated_text("<p>{{ _('Fine') }}</p>") == []
    assert _untranslated_text("<p>Hello there</p>") == ["'Hello there'"]
    assert _untranslated_text('<input placeholder="Search">') == ["input[placeholder]='Search'"]


def test_pages_follow_the_persons_then_tenants_then_browsers_language(client, tenant):
    from tests.conftest import login, make_person

    page = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert "登录" in page and 'lang="zh-Hans"' in page
    page = client.get("/login", headers={"Accept-Language": "en-GB"}).get_data(as_text=True)
    assert "Log in" in page
    tenant.default_locale = "zh_Hans"
    tenant.save()
    assert "登录" in client.get("/login", headers={"Accept-Language": "en-GB"}).get_data(as_text=True)
    person = make_person(tenant, "wei")
    person.locale = "en"
    person.save()
    login(client, "wei")
    assert "People" in client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
