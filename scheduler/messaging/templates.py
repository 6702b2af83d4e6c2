"""Admins' wording for texts: stored overrides of the built-in templates, checked against the rules.

A template is refused unless every text it can produce obeys the contract: GSM-7 only, one
160-character segment with the longest date and time and this clinic's name and phone filled
in, no word that reveals the kind of care, and no blanks but {clinic}, {when} (kinds that name
a date) and {phone}. texts.render checks each text again when it is sent, so a template that
later settings break falls back to the built-in wording instead of stopping a send.
"""
from __future__ import annotations

import math
import string
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.errors import Invalid
from scheduler.messaging import texts
from scheduler.models import TextTemplate

MAX_BODY = 500  # the column; anything near it is far past one segment anyway
GSM7_SEGMENT, GSM7_PART = texts.SEGMENT_SEPTETS, 153  # a longer text is split into 153-septet parts
UCS2_SEGMENT, UCS2_PART = 70, 67


@dataclass(frozen=True)
class Verdict:
    """What a template costs at its longest, and why it may not be used (no reasons: it may)."""

    characters: int
    segments: int
    reasons: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.reasons


def size(text: str) -> tuple[int, int]:
    """(characters, segments) as a phone counts them: GSM-7 septets, or UCS-2 when it must."""
    if texts.is_gsm7(text):
        n = texts.gsm7_length(text)
        return n, 1 if n <= GSM7_SEGMENT else math.ceil(n / GSM7_PART)
    n = len(text.encode("utf-16-le")) // 2
    return n, 1 if n <= UCS2_SEGMENT else math.ceil(n / UCS2_PART)


def _blanks(body: str) -> tuple[set[str], str | None]:
    """The blank names in `body`, or why its braces do not parse."""
    try:
        parts = list(string.Formatter().parse(body))
    except ValueError:
        return set(), "has a { or } that is not part of a blank such as {clinic}"
    names, problem = set(), None
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if spec or conversion:
            problem = f"write blanks plainly, e.g. {{{name.split(':')[0] or 'clinic'}}}"
        names.add(name)
    return names, problem


def check_template(kind: str, language: str, body: str, *, clinic_name: str,
                   clinic_phone: str) -> Verdict:
    """The size of the longest text `body` can produce, and every rule it breaks."""
    if kind not in texts.KINDS:
        return Verdict(0, 0, (f"there is no kind of text called {kind!r}",))
    if language not in texts.LANGUAGES:
        return Verdict(0, 0, (f"language must be one of: {', '.join(texts.LANGUAGES)}",))
    reasons: list[str] = []
    if not body.strip():
        return Verdict(0, 0, ("is empty",))
    if len(body) > MAX_BODY:
        reasons.append(f"is longer than {MAX_BODY} characters")
    allowed = {"clinic", "phone"} | ({"when"} if kind in texts.DATED_KINDS else set())
    names, problem = _blanks(body)
    if problem:
        reasons.append(problem)
    unknown = sorted(names - allowed)
    if unknown:
        shown = ", ".join("{" + n + "}" for n in unknown)
        reasons.append(f"{shown}: only {', '.join('{' + n + '}' for n in sorted(allowed))} may be used"
                       + ("" if "when" in allowed else " (this text has no date)"))
    if "clinic" not in names:
        reasons.append("must name the sender: put {clinic} in it")
    if kind not in texts.UNDATED_KINDS and "when" not in names:
        reasons.append("must give the date and time: put {when} in it")
    sample = body
    if not problem and not unknown:
        sample = body.format(clinic=clinic_name.strip(), phone=clinic_phone.strip(),
                             when=texts.longest_when(language))
    bad = sorted({ch for ch in sample if not texts.is_gsm7(ch)})
    if bad:
        reasons.append("has characters a text cannot carry in GSM-7: "
                       + " ".join(f"{ch} (U+{ord(ch):04X})" for ch in bad))
    characters, segments = size(sample)
    if texts.is_gsm7(sample) and characters > GSM7_SEGMENT:
        reasons.append(f"is {characters} characters with the longest date and the clinic's name and "
                       f"phone; one text holds {GSM7_SEGMENT}")
    words = texts.forbidden_words_in(sample)
    if words:
        reasons.append("reveals the kind of care: " + ", ".join(words))
    return Verdict(characters, segments, tuple(reasons))


def overrides(session: Session) -> dict[tuple[str, str], str]:
    """Every stored wording by (kind, language), for texts.render (a handful of rows)."""
    return {(t.kind, t.language): t.body for t in session.scalars(select(TextTemplate))}


def stored(session: Session, kind: str, language: str) -> TextTemplate | None:
    """The stored wording of one kind and language, or None when the built-in one is used."""
    return session.scalar(select(TextTemplate).where(TextTemplate.kind == kind,
                                                     TextTemplate.language == language))


def save(session: Session, kind: str, language: str, body: str, *, clinic_name: str,
         clinic_phone: str, user_id: int | None, now: datetime) -> TextTemplate:
    """Store an admin's wording; Invalid({'body': reasons}) when it breaks a rule (nothing saved)."""
    verdict = check_template(kind, language, body, clinic_name=clinic_name, clinic_phone=clinic_phone)
    if not verdict.ok:
        raise Invalid({"body": "; ".join(verdict.reasons)})
    row = session.scalar(select(TextTemplate).where(
        TextTemplate.kind == kind, TextTemplate.language == language).with_for_update())
    if row is None:
        row = TextTemplate(kind=kind, language=language)
        session.add(row)
    row.body, row.updated_by, row.updated_at = body, user_id, now
    session.flush()
    return row


def reset(session: Session, kind: str, language: str) -> bool:
    """Go back to the built-in wording; True when a stored one was removed."""
    row = stored(session, kind, language)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True
