"""Phone numbers read as E.164 (pure)."""
import pytest

from scheduler.core import phones


@pytest.mark.parametrize("raw, e164", [
    ("+12015550142", "+12015550142"),
    ("2015550142", "+12015550142"),
    ("(201) 555-0142", "+12015550142"),
    ("1-201-555-0142", "+12015550142"),
    ("+34 612 345 678", "+34612345678"),
    ("+44 20 7946 0958", "+442079460958"),
])
def test_normalize_phone_gives_e164(raw, e164):
    assert phones.normalize(raw) == e164


@pytest.mark.parametrize("raw", ["", "   ", "12345", "+1 555 555 5555", "call me", "+999 123",
                                 "2" * 41, 2015550142, None])
def test_normalize_phone_refuses_invalid(raw):
    with pytest.raises(ValueError):
        phones.normalize(raw)
