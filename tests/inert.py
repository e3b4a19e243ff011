"""Checking that rendered user text is inert: only the few tags the renderer makes, no script anywhere."""
from html.parser import HTMLParser

ALLOWED = {"a": {"href", "rel", "target"}, "span": {"class"}, "br": set()}


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
