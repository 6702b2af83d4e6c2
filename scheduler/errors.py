"""Domain errors the views turn into 404, 409 and 422 answers."""
from __future__ import annotations


class DomainError(Exception):
    """Base for errors a user can act on."""

    status = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    """The caller's role or care team does not allow this."""

    status = 403


class Conflict(DomainError):
    """Double booking, a full group, a change the current state does not allow."""

    status = 409


class Taken(Conflict):
    """A time that was free when it was offered and that another booking took first."""


class Invalid(DomainError):
    """One or more fields are wrong; `errors` maps field -> message."""

    status = 422

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class Clashes(Conflict):
    """Sessions of a weekly series that cannot be booked, each listed; nothing was booked.

    `clashes` holds one {"week", "start" (local wall time), "error", "field"} per session refused.
    """

    def __init__(self, message: str, clashes: list[dict], field: str | None = "repeat_weeks"):
        super().__init__(message, field=field)
        self.clashes = clashes
