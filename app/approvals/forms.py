"""The fields of approval forms: the built-in ones each kind needs, the admins' extra ones, and checking answers.

A form's fields are a list of plain dicts (key, type, label, required, options, core), kept as JSON on the
template (the admins' extra fields) and on each request (every field, as the request was made), so a template
changed later still shows old requests as they were filled in.
"""
from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l

from app.validation import ValidationError, clean_text

CUSTOM_TYPES = ("text", "textarea", "number", "date", "choice")
MAX_CUSTOM_FIELDS = 20
MAX_OPTIONS = 30
MAX_TEXTAREA = 2000
MAX_ATTACHMENTS = 5
MAX_LEAVE_DAYS = 366
CORRECTION_DAYS = 60                 # how far back a check-in or check-out can be corrected
MAX_AMOUNT = Decimal("9999999999")   # per request, in the currency's major unit
# ISO 4217 currencies offered for expenses, with their minor units (decimal places).
CURRENCIES = {"CNY": 2, "HKD": 2, "TWD": 2, "USD": 2, "EUR": 2, "GBP": 2, "JPY": 0, "KRW": 0, "SGD": 2}
DEFAULT_CURRENCY = "CNY"

KIND_NAMES = {"leave": _l("Leave"), "expense": _l("Expense"), "general": _l("General request"),
              "attendance_correction": _l("Attendance correction")}
KIND_DESCRIPTIONS = {"leave": _l("Time off: annual, sick or personal leave."),
                     "expense": _l("Money you spent for work, with the receipts."),
                     "general": _l("Anything else that needs a yes from your managers."),
                     "attendance_correction": _l("A check-in or check-out that is missing or wrong.")}
DECISION_NAMES = {"approved": _l("approved"), "rejected": _l("rejected"), "returned": _l("returned for changes"),
                  "withdrawn": _l("withdrawn")}


def notification_words() -> dict:
    """Codes in approval notifications, shown in the reader's language (see app.notify.kinds)."""
    return {"what": KIND_NAMES, "outcome": DECISION_NAMES}


CORE_LABELS = {"leave_type": _l("Type of leave"), "starts_on": _l("First day"), "ends_on": _l("Last day"),
               "reason": _l("Reason"), "amount": _l("Amount"), "currency": _l("Currency"),
               "purpose": _l("What it was for"), "attachments": _l("Receipts and other files"),
               "title": _l("Subject"), "details": _l("Details"), "day": _l("Day"), "punch": _l("What to correct"),
               "time": _l("Correct time")}
OPTION_LABELS = {"annual": _l("Annual leave"), "sick": _l("Sick leave"), "personal": _l("Personal leave"),
                 "other": _l("Other"), "check_in": _l("Check-in"), "check_out": _l("Check-out")}
TYPE_NAMES = {"text": _l("Short text"), "textarea": _l("Long text"), "number": _l("Number"), "date": _l("Date"),
              "choice": _l("Choice from a list")}


def _core(key: str, type_: str, required: bool = True, options: tuple[str, ...] = ()) -> dict:
    return {"key": key, "type": type_, "label": None, "required": required, "options": list(options), "core": True}


CORE_FIELDS = {
    "leave": [_core("leave_type", "choice", options=("annual", "sick", "personal", "other")),
              _core("starts_on", "date"), _core("ends_on", "date"), _core("reason", "textarea")],
    "expense": [_core("amount", "money"), _core("currency", "currency"), _core("purpose", "textarea"),
                _core("attachments", "files", required=False)],
    "general": [_core("title", "text"), _core("details", "textarea")],
    "attendance_correction": [_core("day", "date"), _core("punch", "choice", options=("check_in", "check_out")),
                              _core("time", "time"), _core("reason", "textarea")],
}
_CUSTOM_KEY = re.compile(r"x[0-9]{1,3}")
_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
_NUMBER = re.compile(r"[+-]?[0-9]{1,15}(\.[0-9]{1,6})?")
_MONEY = re.compile(r"[0-9]{1,13}(\.[0-9]{1,4})?")


def field_label(field: dict) -> str:
    """What the form calls a field, in the reader's language for built-in ones."""
    return field["label"] if field.get("label") else str(CORE_LABELS.get(field["key"], field["key"]))


def option_label(field: dict, value: str) -> str:
    """How a choice is shown: built-in choices are translated, the admins' are shown as typed."""
    return str(OPTION_LABELS.get(value, value)) if field.get("core") else value


def form_fields(kind: str, custom: list[dict]) -> list[dict]:
    """Every field of a kind's form: its built-in fields, then the admins' extra ones."""
    return [dict(f) for f in CORE_FIELDS[kind]] + [dict(f) for f in custom]


# --- checking what the applicant typed -------------------------------------------------------

@dataclass
class Answers:
    """A form's checked answers, and the values the product works with."""

    answers: dict
    title: str | None = None
    amount_minor: int | None = None
    currency: str | None = None
    starts_on: datetime.date | None = None
    ends_on: datetime.date | None = None


def _multiline(value, key: str, required: bool) -> str | None:
    text = (value if isinstance(value, str) else "").replace("\r\n", "\n").strip()
    if not text:
        if required:
            raise ValidationError(key, _l("This field is required."))
        return None
    if len(text) > MAX_TEXTAREA:
        raise ValidationError(key, _l("At most %(n)d characters.", n=MAX_TEXTAREA))
    if any(unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\n\t" for ch in text):
        raise ValidationError(key, _l("Contains characters that are not allowed."))
    return text


def parse_date(value, key: str) -> datetime.date:
    """A date given as 2025-03-01."""
    text = value.strip() if isinstance(value, str) else ""
    try:
        day = datetime.date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None or not 2000 <= day.year <= 2100:
        raise ValidationError(key, _l("Give a date like 2025-03-01."))
    return day


def _answer(field: dict, raw) -> str | None:
    """One field's answer as text, checked against its type; None when left empty."""
    key, kind = field["key"], field["type"]
    if kind == "textarea":
        return _multiline(raw, key, field["required"])
    if raw is not None and not isinstance(raw, str):
        raw = str(raw) if isinstance(raw, (int, float, Decimal)) and not isinstance(raw, bool) else None
        if raw is None:
            raise ValidationError(key, _l("Give this as text."))
    text = (raw or "").strip()
    if not text:
        if field["required"]:
            raise ValidationError(key, _l("This field is required."))
        return None
    if kind == "text":
        return clean_text(text, key, max_length=200)
    if kind == "number":
        if not _NUMBER.fullmatch(text):
            raise ValidationError(key, _l("Give a number like 12 or 3.5."))
        return text
    if kind == "date":
        return parse_date(text, key).isoformat()
    if kind == "time":
        if not _TIME.fullmatch(text):
            raise ValidationError(key, _l("Use the form 09:00."))
        return text
    if kind in ("choice", "currency"):
        allowed = CURRENCIES if kind == "currency" else field["options"]
        if text not in allowed:
            raise ValidationError(key, _l("Choose from the list."))
        return text
    if kind == "money":
        return text
    raise ValidationError(key, _l("Choose from the list."))


def parse_amount(text: str, currency: str, key: str = "amount") -> int:
    """An amount typed as 1234.50 in the currency's minor unit (cents, fen); refuses more decimals than it has."""
    cleaned = text.replace(",", "").replace(" ", "")
    if not _MONEY.fullmatch(cleaned):
        raise ValidationError(key, _l("Give an amount like 1234.50."))
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise ValidationError(key, _l("Give an amount like 1234.50.")) from None
    places = CURRENCIES[currency]
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise ValidationError(key, _l("%(currency)s amounts have at most %(n)d decimal places.",
                                      currency=currency, n=places))
    if amount <= 0:
        raise ValidationError(key, _l("The amount must be more than zero."))
    if amount > MAX_AMOUNT:
        raise ValidationError(key, _l("The amount is too large."))
    return int(amount.scaleb(places))


def format_amount(amount_minor: int, currency: str) -> Decimal:
    """An amount in minor units back as a Decimal in the currency's major unit."""
    return Decimal(amount_minor).scaleb(-CURRENCIES.get(currency, 2))


def check_answers(kind: str, fields: list[dict], form, today: datetime.date) -> Answers:
    """Check a form's answers against its fields; ValidationError names the first field that is wrong."""
    answers: dict = {}
    for field in fields:
        if field["type"] == "files":
            continue
        raw = form.get(field["key"]) if hasattr(form, "get") else None
        value = _answer(field, raw)
        if value is not None:
            answers[field["key"]] = value
    checked = Answers(answers)
    if kind == "leave":
        checked.starts_on = datetime.date.fromisoformat(answers["starts_on"])
        checked.ends_on = datetime.date.fromisoformat(answers["ends_on"])
        if checked.ends_on < checked.starts_on:
            raise ValidationError("ends_on", _l("The last day cannot be before the first day."))
        if (checked.ends_on - checked.starts_on).days + 1 > MAX_LEAVE_DAYS:
            raise ValidationError("ends_on", _l("At most %(n)d days at once.", n=MAX_LEAVE_DAYS))
    elif kind == "expense":
        checked.currency = answers["currency"]
        checked.amount_minor = parse_amount(answers["amount"], checked.currency)
        answers["amount"] = str(format_amount(checked.amount_minor, checked.currency))
    elif kind == "general":
        checked.title = answers["title"]
    elif kind == "attendance_correction":
        day = datetime.date.fromisoformat(answers["day"])
        if day > today:
            raise ValidationError("day", _l("You can only correct a day that has begun."))
        if day < today - datetime.timedelta(days=CORRECTION_DAYS):
            raise ValidationError("day", _l("Only the last %(n)d days can be corrected.", n=CORRECTION_DAYS))
        checked.starts_on = checked.ends_on = day
    return checked


# --- the admins' extra fields ---------------------------------------------------------------

def _options(raw, key: str) -> list[str]:
    lines = [line.strip() for line in (raw or "").replace("\r\n", "\n").split("\n") if line.strip()]
    if len(lines) < 2:
        raise ValidationError(key, _l("Give at least two choices, one per line."))
    if len(lines) > MAX_OPTIONS:
        raise ValidationError(key, _l("At most %(n)d choices.", n=MAX_OPTIONS))
    options = []
    for line in lines:
        option = clean_text(line, key, required=True, max_length=100)
        if option in options:
            raise ValidationError(key, _l("A choice is listed twice."))
        options.append(option)
    return options


def check_custom_fields(form, existing: list[dict]) -> list[dict]:
    """The admins' extra fields from the editor's rows f0_*, f1_*, ...; a row left empty or ticked for removal drops out.

    Each field keeps its key (x1, x2, ...) for life, so answers given before a change still find their field.
    """
    known = {f["key"] for f in existing}
    used = [int(k[1:]) for k in known if _CUSTOM_KEY.fullmatch(k)]
    next_number = max(used, default=0) + 1
    try:
        rows = int(form.get("field_rows") or 0)
    except (TypeError, ValueError):
        rows = 0
    fields, labels = [], set()
    for i in range(min(max(rows, 0), MAX_CUSTOM_FIELDS + 5)):
        prefix = f"f{i}_"
        key = (form.get(prefix + "key") or "").strip()
        if key and key not in known:
            raise ValidationError(prefix + "label", _l("This field is not one of this form's; reload the page."))
        label = clean_text(form.get(prefix + "label"), prefix + "label", max_length=100)
        if form.get(prefix + "remove") or label is None:
            if label is None and key:
                raise ValidationError(prefix + "label", _l("Give the field a name, or tick Remove."))
            continue
        if label.casefold() in labels:
            raise ValidationError(prefix + "label", _l("Two fields have the same name."))
        labels.add(label.casefold())
        type_ = form.get(prefix + "type") or "text"
        if type_ not in CUSTOM_TYPES:
            raise ValidationError(prefix + "type", _l("Choose from the list."))
        options = _options(form.get(prefix + "options"), prefix + "options") if type_ == "choice" else []
        if not key:
            key = f"x{next_number}"
            next_number += 1
        fields.append({"key": key, "type": type_, "label": label, "required": bool(form.get(prefix + "required")),
                       "options": options, "core": False})
    if len(fields) > MAX_CUSTOM_FIELDS:
        raise ValidationError("fields", _l("At most %(n)d extra fields.", n=MAX_CUSTOM_FIELDS))
    return fields
