"""The kinds of notification: what each says in the reader's language, and whether it reaches people off work.

A notification keeps the values its text is made of (`params`), never the text
itself, so each reader sees it in their own language, whenever they read it.
Every kind's params are plain strings; a missing one reads as empty.

| kind                     | params                          | sent by                          | urgent |
| ------------------------ | ------------------------------- | -------------------------------- | ------ |
| `ding`                   | sender, text                    | app.ding (email: escalation job) | yes    |
| `announcement`           | sender, title, text             | app.announce                     | no     |
| `important_announcement` | sender, title, text             | app.announce (emailed)           | no     |
| `mention`                | sender, conversation, text      | app.chat                         | no     |
| `approval_request`       | sender, what, text              | approvals (emailed)              | no     |
| `approval_decided`       | sender, what, outcome, text     | approvals                        | no     |
| `task_assigned`          | sender, title                   | tasks                            | no     |
| `task_reminder`          | sender, title, text, due        | tasks (emailed)                  | no     |
| `test`                   | (none)                          | the admin's test email           | yes    |

Approvals and tasks call, inside their own transaction, for example:

    notify(tenant, approver, "approval_request", {"sender": requester.display_name, "what": request.kind},
           link=f"/approvals/{request.id}", ref=f"approval:{request.id}", email=True)
    notify(tenant, assignee, "task_reminder", {"sender": chaser.display_name, "title": task.title,
           "due": due_text}, link=f"/tasks/{task.id}", ref=f"task:{task.id}", email=True)

and mark_read_by_ref(tenant, person, "approval:12") once the person has dealt with it. Params named in a
kind's `words` are codes (an approval's kind, a decision) shown in the reader's language. Urgent kinds reach
people off work; every other email waits for the person's working hours.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from app.brand.pack import LABEL_NAMES


@dataclass(frozen=True)
class Kind:
    title: object                       # lazy text with %(param)s placeholders
    urgent: bool = False                # reaches the person off work and in do-not-disturb
    email_title: object | None = None   # the email's subject when it differs from the title
    words: str | None = None            # a function's dotted path giving {param: {code: lazy text}}


KINDS: dict[str, Kind] = {
    "ding": Kind(_l("%(ding)s from %(sender)s"), urgent=True,
                 email_title=_l("Not yet confirmed: %(ding)s from %(sender)s")),
    "announcement": Kind(_l("Announcement: %(title)s")),
    "important_announcement": Kind(_l("Important announcement: %(title)s")),
    "mention": Kind(_l("%(sender)s mentioned you")),
    "approval_request": Kind(_l("%(sender)s asks for your approval: %(what)s"),
                             words="app.approvals.forms.notification_words"),
    "approval_decided": Kind(_l("%(what)s %(outcome)s by %(sender)s"),
                             words="app.approvals.forms.notification_words"),
    "task_assigned": Kind(_l("%(sender)s gave you a task: %(title)s")),
    "task_reminder": Kind(_l("Task reminder: %(title)s")),
    "test": Kind(_l("Test email"), urgent=True),
}
FALLBACK_TITLE = _l("Notification")


class _Values(dict):
    def __missing__(self, key):
        return ""


def is_urgent(kind: str) -> bool:
    """Whether a kind reaches people off work (DINGs do)."""
    found = KINDS.get(kind)
    return bool(found and found.urgent)


def _fill(text, params: dict, labels: dict, words: str | None = None) -> str:
    values = _Values({k: str(v) for k, v in (params or {}).items() if isinstance(v, (str, int))})
    if words:
        module, _dot, name = words.rpartition(".")
        for param, names in getattr(importlib.import_module(module), name)().items():
            if param in values:
                values[param] = str(names.get(values[param], values[param]))
    values.update(labels)
    return str(text) % values


def default_labels() -> dict:
    """Brand-dependent words in the current language when no brand is at hand."""
    return {"ding": str(LABEL_NAMES["ding"])}


def title(kind: str, params: dict, labels: dict | None = None) -> str:
    """The notification's one-line text in the current language; `labels` are the brand's words (the DING label)."""
    found = KINDS.get(kind)
    return _fill(found.title if found else FALLBACK_TITLE, params, labels or default_labels(),
                 found.words if found else None)


def email_subject(kind: str, params: dict, labels: dict | None = None) -> str:
    """The subject of the kind's email in the current language."""
    found = KINDS.get(kind)
    if found is None or found.email_title is None:
        return title(kind, params, labels)
    return _fill(found.email_title, params, labels or default_labels(), found.words)
