"""Text for full-text search: Chinese characters become single tokens, so words need no segmenter.

Both SQLite FTS5 (unicode61) and PostgreSQL ('simple' configuration) split on
spaces; with a space around every CJK character, "项目进度" is indexed as four
tokens and the query becomes the phrase of the same four, which matches the
substring and nothing else.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from pypinyin import lazy_pinyin

_CJK = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")
_WORD = re.compile(r"[\w\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def normalise(text: str) -> str:
    """Lower-case, width-folded text with every CJK character standing alone."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return " ".join(_CJK.sub(r" \1 ", text).split())


def query_tokens(query: str) -> list[str]:
    """The words of a search query, CJK characters one by one; punctuation dropped."""
    return _WORD.findall(normalise(query))[:32]


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text or ""))


@lru_cache(maxsize=20000)
def _syllable(char: str) -> str:
    # Names are read character by character (a directory sync keys 100,000 people; names share characters).
    return (lazy_pinyin(char, errors="ignore") or [""])[0]


def person_search_key(display_name: str, *extra: str | None) -> str:
    """What a person is found by: the name, its pinyin with and without spaces, the initials, and extras."""
    parts = [display_name or ""]
    if has_cjk(display_name):
        syllables = [s for s in (_syllable(ch) for ch in display_name if _CJK.match(ch)) if s]
        parts += [" ".join(syllables), "".join(syllables), "".join(s[0] for s in syllables)]
    parts += [e for e in extra if e]
    return unicodedata.normalize("NFKC", " | ".join(parts)).lower()[:400]
