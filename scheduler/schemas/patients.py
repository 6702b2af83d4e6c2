"""Patients: register and change, and the record and SMS log staff see."""
from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from scheduler.core import phones
from scheduler.models.enums import Direction, MessageStatus, SkipReason
from scheduler.scheduling import care_teams
from scheduler.schemas.common import (
    MAX_ID,
    Date,
    Instant,
    Language,
    RecordId,
    Request,
    Response,
    TimeZone,
    ZoneName,
    text,
)


def _phone(value: str) -> str:
    try:
        return phones.normalize(value)
    except ValueError as exc:
        raise PydanticCustomError("phone", str(exc)) from None


Phone = Annotated[str, Field(max_length=40, pattern=r"^[^\x00]*$",
                             json_schema_extra={"format": "phone", "x-rules-in-code": ["a valid phone number"]},
                             description="A valid phone number (checked in code); without + it is read as "
                                         "a US number. Stored as E.164; unique among patients, else 409."),
                 AfterValidator(_phone)]
DischargeDate = Annotated[Date, Field(
    json_schema_extra={"x-rules-in-code": ["from 2000-01-01 to 30 days after today in the patient's zone"]},
    description="Records a discharge (a person may have several; the same date twice is one). From "
                "2000-01-01 to at most 30 days ahead (checked in code).")]
BirthDate = Annotated[Date, Field(
    json_schema_extra={"x-rules-in-code": ["from 1900-01-01 to today"]},
    description="Optional; tells namesakes apart. From 1900-01-01 to today (checked in code).")]


def _team(value):
    """One error for the whole list, named `therapist_ids`, as the domain words it."""
    try:
        ids = care_teams.parse_ids(value)
    except ValueError as exc:
        raise PydanticCustomError("therapist_ids", str(exc)) from None
    if any(i > MAX_ID for i in ids):
        raise PydanticCustomError("therapist_ids", "no therapist has such an id")
    return ids


TherapistIds = Annotated[list[Annotated[int, Field(ge=1, le=MAX_ID)]], Field(
    max_length=care_teams.MAX_TEAM, json_schema_extra={"x-rules-in-code": ["every id names a therapist"]},
    description="The patient's care team: the therapists who may see and book them (set by coordinators "
                "and admins). Given, it replaces the team; each id must name a therapist (422 otherwise)."),
    BeforeValidator(_team)]


class PatientCreate(Request):
    name: text(200)
    phone: Phone
    timezone: TimeZone
    sms_consent: bool
    discharge_date: DischargeDate | None = None
    language: Language = "en"
    therapist_ids: TherapistIds | None = None
    date_of_birth: BirthDate | None = None


class PatientUpdate(Request):
    """Only the fields given change; a STOP the patient texted stays in force whatever sms_consent says."""

    name: text(200) = None
    phone: Phone = None
    timezone: TimeZone = None
    sms_consent: bool = None
    discharge_date: DischargeDate = None
    language: Language = None
    therapist_ids: TherapistIds = None
    date_of_birth: BirthDate | None = None


# --- answers --------------------------------------------------------------------------------


class Patient(Response):
    from_record = {"opted_out": lambda p: p.opted_out_at is not None,
                   "discharges": lambda p: [d.discharge_date for d in p.discharges]}

    id: RecordId
    name: str
    phone: Annotated[str, Field(description="E.164, e.g. +12015550123.")]
    timezone: ZoneName
    date_of_birth: date | None
    language: Language
    sms_consent: bool
    consent_at: Instant | None
    opted_out: Annotated[bool, Field(description="The patient texted STOP (or the carrier said so).")]
    opted_out_at: Instant | None
    discharges: Annotated[list[date], Field(description="Every discharge date recorded, oldest first.")]
    therapist_ids: Annotated[list[RecordId], Field(description="The care team.")]


class Message(Response):
    from_record = {"to": lambda m: m.to_phone, "history": lambda m: m.history or []}

    id: RecordId
    direction: Direction
    kind: str
    status: MessageStatus
    body: str | None
    to: str | None
    due_at: Instant | None
    sent_at: Instant | None
    created_at: Instant
    twilio_sid: str | None
    error_code: int | None
    error: str | None
    skip_reason: SkipReason | None
    history: list[dict]
    appointment_id: RecordId | None
    occurrence_id: RecordId | None
    simulated: Annotated[bool, Field(description="Sent by staff as the patient (DEMO_REPLIES), or the answer "
                                                 "to such a text: no phone took part.")]


class Messages(Response):
    messages: list[Message]
