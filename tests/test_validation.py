"""The shared checks of what people type: several lines of text."""
from __future__ import annotations

import pytest

from app.validation import ValidationError, clean_long_text


def refusal(value, **kwargs) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        clean_long_text(value, "body", **{"max_length": 20, **kwargs})
    return caught.value.field, str(caught.value.message)


def test_long_text_keeps_lines_and_tabs_and_trims_the_ends():
    assert clean_long_text("  first\r\nsecond\tcolumn \n", "body", max_length=20) == "first\nsecond\tcolumn"
    assert clean_long_text("", "body", max_length=20) == "" and clean_long_text(None, "body", max_length=20) == ""


@pytest.mark.parametrize("value, message", [
    ("a" * 21, "At most 20 characters."),
    ("bell\x07", "Contains characters that are not allowed."),
    ("nul\x00", "Contains characters that are not allowed."),
    (["a list"], "Must be text."),
    (42, "Must be text."),
    ("   \r\n ", "This field is required."),
])
def test_long_text_refuses_with_the_fields_name(app, value, message):
    with app.test_request_context():
        assert refusal(value, required=True) == ("body", message)


def test_long_text_says_what_is_missing_in_the_callers_words(app):
    with app.test_request_context():
        assert refusal(" ", required=True, missing="Write what happened.") == ("body", "Write what happened.")
        assert clean_long_text(" ", "body", max_length=20, missing="Write what happened.") == ""
