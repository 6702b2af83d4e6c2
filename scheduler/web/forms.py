"""What a page needs to answer bad input on the same page: what was typed and a message per field.

A view builds `FormState(request.form)`, parses (the shared schemas raise `Invalid` naming every
bad field), and on a refusal re-renders with `state.fail(exc)`; the `field()` macro in
templates/macros.html shows each message beside its field with aria-invalid/aria-describedby.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel

from scheduler.errors import DomainError, Invalid, NotFound
from scheduler.schemas import parse
from scheduler.schemas.common import MAX_ID

M = TypeVar("M", bound=BaseModel)


class FormState:
    """The values as typed (strings) and the error message per field name."""

    def __init__(self, data: Mapping | None = None, aliases: Mapping[str, str] | None = None):
        self.data = {k: v for k, v in (data or {}).items() if k != "csrf_token"}
        self.errors: dict[str, str] = {}
        self.message: str | None = None  # a refusal that names no field on this form
        # The domain's field names (duration_minutes, rules[0].start...) -> this form's names.
        self.aliases = dict(aliases or {})

    def get(self, name: str, default: str = "") -> str:
        value = self.data.get(name, default)
        return "" if value is None else str(value)

    def values(self, name: str) -> list[str]:
        """Every value given for a field that repeats (the ticked boxes of one name)."""
        value = self.data.get(name) or []
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]

    def error(self, name: str) -> str | None:
        return self.errors.get(name)

    def add(self, name: str, message: str) -> None:
        """A message beside field `name` (a domain name aliased to "" has no field: the form's message)."""
        name = self.aliases.get(name, name)
        if name:
            self.errors.setdefault(name, message)
        elif self.message is None:
            self.message = message

    def fail(self, exc: DomainError) -> FormState:
        """Record a refusal: Invalid fills its fields; one naming a field goes beside it."""
        if isinstance(exc, Invalid):
            for name, message in exc.errors.items():
                self.add(name, message)
        elif exc.field:
            self.add(exc.field, exc.message)
        else:
            self.message = exc.message
        return self

    @property
    def ok(self) -> bool:
        return not self.errors and self.message is None


def parse_into(state: FormState, model: type[M], data: dict) -> M | None:
    """`data` (form strings, keyed as the API names them) read by the shared schema, or None
    with every bad field's message beside it (through the state's aliases)."""
    try:
        return parse(model, data, strings=True)
    except Invalid as exc:
        state.fail(exc)
        return None


def whole_number(raw: str | None) -> int | None:
    """ASCII digits as a number, else None (int() would also read "٣", " 1_0" or a 5,000-digit number)."""
    raw = (raw or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


def record_id(raw: str | None) -> int | None:
    """An id a query or form field names, if the id columns could hold it; else None."""
    value = whole_number(raw)
    return value if value is not None and 1 <= value <= MAX_ID else None


def require_id(raw: str | None, what: str) -> int:
    """The id a query names (`?therapist=`), or the 404 page: a bad one names no record."""
    value = record_id(raw)
    if value is None:
        raise NotFound(f"{what} not found")
    return value


def parse_int(state: FormState, name: str, low: int, high: int, required: bool = True) -> int | None:
    """A whole number typed into `name`, from `low` to `high`, or None with a message beside it."""
    raw = state.get(name).strip()
    if not raw:
        if required:
            state.add(name, "is required")
        return None
    value = whole_number(raw)
    if value is None:
        state.add(name, "must be a whole number")
    elif not low <= value <= high:
        state.add(name, f"must be from {low} to {high}")
    else:
        return value
    return None


def parse_id(state: FormState, name: str, required: bool = True) -> int | None:
    """An id chosen in `name` (a select or a radio), or None with a message beside it."""
    raw = state.get(name).strip()
    if not raw:
        if required:
            state.add(name, "is required")
        return None
    value = record_id(raw)
    if value is None:
        state.add(name, "choose one of the options listed")
    return value
