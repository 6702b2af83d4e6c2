"""Phone numbers: one reading of what a person typed or a carrier sent, as E.164."""
from __future__ import annotations

from functools import lru_cache

import phonenumbers


def normalize(raw) -> str:
    """A phone number as E.164; numbers without + are read as US. ValueError when not valid."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("must be a phone number")
    if len(raw) > 40:
        raise ValueError("must be a phone number")
    return _e164(raw)


@lru_cache(maxsize=65_536)  # an import reads each number at least twice (Check only, then Import)
def _e164(raw: str) -> str:
    try:
        number = phonenumbers.parse(raw, "US")
    except phonenumbers.NumberParseException:
        raise ValueError("must be a phone number, e.g. +1 201 555 0123") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_or_none(raw) -> str | None:
    """normalize(), or None for anything that is not a valid number."""
    try:
        return normalize(raw)
    except ValueError:
        return None


def display(e164: str | None, region: str = "US") -> str:
    """A stored number as people of `region` write it: national form for their own numbers
    ((201) 555-0123 in the US), international for others (+44 20 7946 0958)."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, region)
    except phonenumbers.NumberParseException:
        return e164
    same = phonenumbers.region_code_for_number(number) == region
    style = phonenumbers.PhoneNumberFormat.NATIONAL if same else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, style)
