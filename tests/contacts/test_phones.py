"""Phone numbers as the switchboard matches them: digits with the country code, whatever shape they come in."""
import pytest

from app.contacts.phones import normalise_phone, phone_label_guess, valid_country_code
from app.validation import ValidationError


@pytest.mark.parametrize("raw, code, expected", [
    ("+86 138-0013-8000", "86", "8613800138000"),
    ("0086 13800138000", "86", "8613800138000"),
    ("138 0013 8000", "86", "8613800138000"),
    ("8613800138000", "86", "8613800138000"),          # a telephone system that drops the plus
    ("(010) 6552-9988", "86", "861065529988"),         # trunk 0 before the area code
    ("1065529988", "86", "861065529988"),
    ("+86 10 6552 9988 ext. 123", "86", "861065529988"),
    ("010-65529988转808", "86", "861065529988"),
    ("+1 (212) 555-0100", "86", "12125550100"),
    ("212 555 0100", "1", "12125550100"),
    ("12125550100", "1", "12125550100"),
    ("+852 2123 4567", "86", "85221234567"),
])
def test_numbers_normalise_to_one_form(raw, code, expected):
    assert normalise_phone(raw, code) == expected


@pytest.mark.parametrize("raw, message", [
    ("", "Enter a phone number."), ("   ", "Enter a phone number."), (None, "Enter a phone number."),
    (13800138000, "Enter a phone number."),
    ("call me", "Not a valid phone number."), ("+86 138 <b>", "Not a valid phone number."),
    ("12", "Not a valid phone number."), ("+0 123 4567", "Not a valid phone number."),
    ("+86 1380013800012345678", "Not a valid phone number."), ("1" * 41, "At most 40 characters."),
    ("138\u202e0013", "Not a valid phone number."),
])
def test_bad_numbers_are_refused_with_a_clear_message(raw, message):
    with pytest.raises(ValidationError) as caught:
        normalise_phone(raw, "86", "phone_0")
    assert str(caught.value.message) == message and caught.value.field == "phone_0"


def test_country_codes_and_label_guess():
    assert valid_country_code("86") and valid_country_code("1") and valid_country_code("852")
    assert not any(valid_country_code(c) for c in ("", "0", "086", "1234", "+86", "八六"))
    assert phone_label_guess("8613800138000") == "mobile" and phone_label_guess("861065529988") == "work"
