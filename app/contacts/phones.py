"""Phone numbers as the switchboard matches them: the digits with the country code, no plus, no extension.

"+86 138-0013-8000", "0086 13800138000", "138 0013 8000" and "8613800138000" are
one number, 8613800138000, in a tenant whose country code is 86; "010 6552 9988"
(a trunk 0 before the area code) becomes 861065529988. Caller numbers reach the
switchboard in any of these shapes, depending on the telephone system.
"""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l

from app.validation import ValidationError

# The longest national number (without the trunk 0) of some countries; the rest are assumed to allow 10 digits.
NATIONAL_DIGITS = {"1": 10, "7": 10, "33": 9, "44": 10, "49": 11, "61": 9, "65": 8, "81": 10, "82": 10, "852": 8,
                   "853": 8, "86": 11, "886": 9}
MIN_DIGITS, MAX_DIGITS = 7, 15          # E.164 allows at most 15 digits with the country code
_ALLOWED = re.compile(r"^\+?[0-9 ()./-]+$")
_EXTENSION = re.compile(r"\s*(?:ext\.?|extension|x|转|分机|#)\s*[0-9]{1,6}\s*$", re.IGNORECASE)
_COUNTRY_CODE = re.compile(r"^[1-9][0-9]{0,2}$")


def valid_country_code(value: str) -> bool:
    return bool(_COUNTRY_CODE.match(value or ""))


def normalise_phone(raw, country_code: str, field: str = "phone") -> str:
    """The number's digits with the country code, or ValidationError naming the field."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        raise ValidationError(field, _l("Enter a phone number."))
    if len(text) > 40:
        raise ValidationError(field, _l("At most %(n)d characters.", n=40))
    text = _EXTENSION.sub("", text)
    if not _ALLOWED.match(text):
        raise ValidationError(field, _l("Not a valid phone number."))
    digits = re.sub(r"[^0-9]", "", text)
    if text.startswith("+"):
        full = digits
    elif digits.startswith("00"):
        full = digits[2:]
    elif digits.startswith("0"):
        full = country_code + digits[1:]
    elif digits.startswith(country_code) and len(digits) > NATIONAL_DIGITS.get(country_code, 10):
        full = digits     # the country code without a plus, as some telephone systems send it
    else:
        full = country_code + digits
    if not MIN_DIGITS <= len(full) <= MAX_DIGITS or full.startswith("0"):
        raise ValidationError(field, _l("Not a valid phone number."))
    return full


def phone_label_guess(normalized: str) -> str:
    """mobile for a Chinese mobile number (86 1xx...), else work: what an imported number is called."""
    return "mobile" if re.fullmatch(r"861[3-9][0-9]{9}", normalized) else "work"
