"""Reading JSON request bodies into typed values, collecting every field's error."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from flask import request
from werkzeug.exceptions import BadRequest

from scheduler.core import timeutil
from scheduler.errors import Invalid

MISSING = object()


def json_body() -> dict:
    """The request's JSON object; 400 when it is not one."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


class Form:
    """Pull fields out of a dict; unknown fields and every bad value are reported together."""

    def __init__(self, data: dict, allowed: tuple[str, ...]):
        self.data = data
        self.errors: dict[str, str] = {}
        for key in data:
            if key not in allowed:
                self.errors[key] = "unknown field"

    def get(self, name: str, parse: Callable[[Any], Any], required: bool = True, default=None):
        """The parsed value of `name`, or `default`; records an error instead of raising."""
        value = self.data.get(name, MISSING)
        if value is MISSING or value is None:
            if required:
                self.errors[name] = "is required"
            return default
        try:
            return parse(value)
        except (ValueError, TypeError) as exc:
            self.errors[name] = str(exc) or "is invalid"
            return default

    def has(self, name: str) -> bool:
        return name in self.data

    def check(self) -> None:
        """Raise Invalid (422) when any field was wrong."""
        if self.errors:
            raise Invalid(self.errors)


def text(max_len: int = 200, min_len: int = 1) -> Callable[[Any], str]:
    def parse(value):
        if not isinstance(value, str):
            raise ValueError("must be a string")
        value = value.strip()
        if len(value) < min_len:
            raise ValueError("must not be empty")
        if len(value) > max_len:
            raise ValueError(f"must be at most {max_len} characters")
        return value
    return parse


def integer(lo: int | None = None, hi: int | None = None) -> Callable[[Any], int]:
    def parse(value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be a whole number")
        if lo is not None and value < lo:
            raise ValueError(f"must be at least {lo}")
        if hi is not None and value > hi:
            raise ValueError(f"must be at most {hi}")
        return value
    return parse


def boolean(value) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def timezone_name(value) -> str:
    if not isinstance(value, str):
        raise ValueError("must be an IANA time zone such as America/New_York")
    try:
        timeutil.zone(value)
    except ValueError:
        raise ValueError("must be an IANA time zone such as America/New_York") from None
    return value


def datetime_input(value) -> datetime:
    """Aware, or naive to be read later in the resource's zone (see timeutil.resolve)."""
    return timeutil.parse_datetime_input(value)


def a_date(value) -> date:
    return timeutil.parse_date(value) if isinstance(value, str) else _bad("must be a date YYYY-MM-DD")


def one_of(*choices: str) -> Callable[[Any], str]:
    def parse(value):
        if value not in choices:
            raise ValueError(f"must be one of: {', '.join(choices)}")
        return value
    return parse


def _bad(message: str):
    raise ValueError(message)


def query_instant(name: str, tz: str, required: bool = True) -> datetime | None:
    """A ?name= query parameter as aware UTC (local values read in `tz`); 422 when wrong."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        if required:
            raise Invalid({name: "is required"})
        return None
    try:
        return timeutil.resolve(timeutil.parse_datetime_input(raw), tz)
    except ValueError as exc:
        raise Invalid({name: str(exc)}) from None
