"""One row of a discharge file (`flask import discharges`, /imports), read with the API's own field types.

A cell arrives as text: `parse(DischargeRow, row, strings=True)` reads "90" as a number and an
empty cell as a column left out. Dates may also be written M/D/YYYY (what US spreadsheets export);
a spreadsheet's serial number (45992) or a two-digit year is refused rather than guessed.
"""
from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

from scheduler.schemas.aftercare import DischargeDay, PerWeek, PlanDays
from scheduler.schemas.common import Language, Request, TimeZone, text
from scheduler.schemas.patients import BirthDate, Phone

COLUMNS = ("name", "phone", "timezone", "discharge_date", "plan_days", "language", "sms_consent",
           "therapist_email", "individual_per_week", "groups_per_week", "date_of_birth")
REQUIRED = COLUMNS[:4]
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATE_RULE = "expected a date like 2026-03-10 or 3/10/2026"
_CONSENT = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _either_date(value):
    """M/D/YYYY as YYYY-MM-DD; anything but the two forms is refused here with one message."""
    if not isinstance(value, str):
        return value
    value = value.strip()
    us = _US_DATE.match(value)
    if us:
        month, day, year = (int(part) for part in us.groups())
        if not (1 <= month <= 12 and 1 <= day <= 31):
            raise PydanticCustomError("date", "is not a real calendar date (dates are M/D/YYYY or YYYY-MM-DD)")
        return f"{year:04d}-{month:02d}-{day:02d}"
    if not _ISO_DATE.match(value):
        raise PydanticCustomError("date", DATE_RULE)
    return value


def _consent(value):
    if isinstance(value, bool):
        return value
    answer = _CONSENT.get(str(value).strip().casefold())
    if answer is None:
        raise PydanticCustomError("consent", "must be true, false, yes, no, 1 or 0")
    return answer


def _email(value: str) -> str:
    if value.count("@") != 1 or value.startswith("@") or value.endswith("@") or " " in value:
        raise PydanticCustomError("email", "must be an email address")
    return value.casefold()


ImportDischargeDate = Annotated[DischargeDay, BeforeValidator(_either_date)]
ImportBirthDate = Annotated[BirthDate, BeforeValidator(_either_date)]
Consent = Annotated[bool, BeforeValidator(_consent)]
TherapistEmail = Annotated[text(254), AfterValidator(_email)]


class DischargeRow(Request):
    """A discharge to record, and the patient it belongs to (found by phone and name, or created)."""

    name: text(200)
    phone: Phone
    timezone: TimeZone
    discharge_date: ImportDischargeDate
    plan_days: PlanDays = 90
    individual_per_week: PerWeek = 1
    groups_per_week: PerWeek = 1
    # Left out, these leave a known patient as they are (a new one: English, no consent).
    language: Language | None = None
    sms_consent: Consent | None = None
    therapist_email: TherapistEmail | None = None
    date_of_birth: ImportBirthDate | None = None
