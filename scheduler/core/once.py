"""One-time form ids: a form's second submit (a double-click, a resend) does not act twice.

The claim is a row inserted in the transaction of the change itself, keyed by the form id: a
second submit running at the same moment waits on that key until the first commits, then finds
where the first led (or, if the first was refused and rolled back, goes ahead itself).
"""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from scheduler.core.db import is_postgres
from scheduler.models import FormSubmission

_FORM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # helpers.new_form_id's alphabet


def valid(form_id: str | None) -> bool:
    """True for a form id this app could have issued (anything else claims nothing)."""
    return bool(form_id) and _FORM_ID.fullmatch(form_id) is not None


def claim(session: Session, form_id: str, user_id: int, now: datetime) -> tuple[bool, str | None]:
    """Claim `form_id` for this transaction: (True, None), or (False, where the first submit led).

    The location is None when another user's form has that id (never reveal where theirs led).
    """
    dialect = postgresql if is_postgres(session) else sqlite
    stmt = (dialect.insert(FormSubmission)
            .values(form_id=form_id, user_id=user_id, location=None, created_at=now)
            .on_conflict_do_nothing(index_elements=["form_id"]).returning(FormSubmission.form_id))
    if session.connection().execute(stmt).first() is not None:  # (rowcount is not told reliably)
        return True, None
    first = session.execute(select(FormSubmission.user_id, FormSubmission.location)
                            .where(FormSubmission.form_id == form_id)).one_or_none()
    if first is None:  # the first submit rolled back after we waited: go ahead
        return claim(session, form_id, user_id, now)
    return False, first.location if first.user_id == user_id else None


def settle(session: Session, form_id: str, location: str) -> None:
    """Record where the claimed form led, for any later submit of it."""
    session.execute(update(FormSubmission).where(FormSubmission.form_id == form_id).values(location=location))
