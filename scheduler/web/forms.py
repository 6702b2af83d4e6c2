"""What a page needs to answer bad input on the same page: what was typed and a message per field.

A view builds `FormState(request.form)`, parses (the shared schemas raise `Invalid` naming every
bad field), and on a refusal re-renders with `state.fail(exc)`; the `field()` macro in
templates/macros.html shows each message beside its field with aria-invalid/aria-describedby.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel

from scheduler.errors import Conflict, DomainError, Invalid
from scheduler.schemas import parse

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
        self.errors.setdefault(self.aliases.get(name, name), message)

    def fail(self, exc: DomainError) -> FormState:
        """Record a refusal: Invalid fills its fields; a Conflict with a field goes beside it."""
        if isinstance(exc, Invalid):
            for name, message in exc.errors.items():
                self.add(name, message)
        elif isinstance(exc, Conflict) and exc.field:
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


def parse_int(state: FormState, name: str, low: int | None = None, high: int | None = None,
              required: bool = True) -> int | None:
    """A whole number typed into `name`, or None with a message beside the field."""
    raw = state.get(name).strip()
    if not raw:
        if required:
            state.add(name, "is required")
        return None
    try:
        value = int(raw)
    except ValueError:
        state.add(name, "must be a whole number")
        return None
    if (low is not None and value < low) or (high is not None and value > high):
        state.add(name, f"must be from {low} to {high}")
        return None
    return value
