"""Importing discharges row by row: the rules the command and the /imports page share.

Each row is read by the API's own schema (schemas/imports.DischargeRow) and then:
- the same phone and the same name (case and spacing aside) is the same patient; a phone that
  belongs to a patient of another name is refused, never merged; a new phone whose name and date
  of birth match a patient with another phone is refused too (patients.possible_duplicates, the
  rule the patient form warns by);
- a patient is created, or a known one gets what the row adds: a discharge (same patient and
  date = the same discharge, left as it is), a therapist on the care team (never removed), the
  zone, language, date of birth and consent as typed; consent is recorded as coming from the import
  and an opt-out is never cleared (a STOP'd number stays opted out whatever the file says).
A dry run (`write=False`) decides every row the same way without writing, so Check only and the
import report the same outcomes. Rows are handled in chunks, each with a few prefetching queries,
so 20,000 rows take seconds; the caller owns the one transaction (and its rollback).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from types import SimpleNamespace

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, selectinload

from scheduler.aftercare import plans
from scheduler.aftercare.import_files import Row
from scheduler.core import timeutil
from scheduler.core.db import insert_ignore
from scheduler.core.settings import Settings
from scheduler.errors import Invalid
from scheduler.messaging import optouts, reminders
from scheduler.models import (
    ACTIVE_APPOINTMENT_STATUSES,
    Appointment,
    CareTeamMember,
    Discharge,
    Enrollment,
    EnrollmentStatus,
    Language,
    Message,
    MessageStatus,
    OptedOutNumber,
    Patient,
    Therapist,
)
from scheduler.schemas import parse
from scheduler.schemas.imports import COLUMNS, DischargeRow
from scheduler.scheduling import patients

CHUNK = 500
CREATED, UPDATED, UNCHANGED, REFUSED = "created", "updated", "unchanged", "refused"
OUTCOMES = (CREATED, UPDATED, UNCHANGED, REFUSED)
# What a new patient's row holds (the rest are defaults or filled in later).
NEW_PATIENT = ("name", "phone", "timezone", "language", "date_of_birth", "sms_consent", "consent_at",
               "consent_source", "created_at")
PHONE_TAKEN = "phone belongs to another patient"
NAMESAKE = "a patient with this name and date of birth has another phone"


@dataclass(frozen=True)
class Outcome:
    """What became of one row; a refusal names the column and the rule, never the value."""

    row: int
    result: str
    column: str | None = None
    rule: str | None = None

    def line(self) -> str:
        return f"row {self.row}: {self.result}" + (f": {self.column}: {self.rule}" if self.column else "")


def summary(outcomes: Iterable[Outcome]) -> str:
    """"N created, N updated, N unchanged, N refused"."""
    counts = Counter(o.result for o in outcomes)
    return ", ".join(f"{counts[name]} {name}" for name in OUTCOMES)


def counts(outcomes: Iterable[Outcome]) -> dict[str, int]:
    """Outcome -> how many rows had it (every outcome present)."""
    found = Counter(o.result for o in outcomes)
    return {name: found[name] for name in OUTCOMES}


@dataclass
class Known:
    """A patient as this run sees them: from the database, or created by an earlier row."""

    id: int | None
    name: str
    phone: str
    timezone: str
    language: str
    date_of_birth: date | None
    consent: bool
    dates: set[date] = field(default_factory=set)
    team: set[int] = field(default_factory=set)
    record: SimpleNamespace | None = None  # created by this row (write mode), until inserted with its chunk
    plan: dict | None = None  # and its discharge


def _first_error(errors: dict[str, str]) -> tuple[str, str]:
    """The first bad column in the file's column order (a refusal names one column)."""
    name = min(errors, key=lambda k: COLUMNS.index(k) if k in COLUMNS else len(COLUMNS))
    return name, errors[name]


def read_row(row: Row) -> DischargeRow | Outcome:
    """The row as typed values, or its refusal."""
    if row.extra:
        return Outcome(row.number, REFUSED, "row", "has more cells than the header has columns")
    try:
        return parse(DischargeRow, row.cells, strings=True)
    except Invalid as exc:
        return Outcome(row.number, REFUSED, *_first_error(exc.errors))


class Run:
    """One import (or dry run) of a file's rows, chunk by chunk, in the caller's transaction."""

    def __init__(self, session: Session, now: datetime, *, settings: Settings, source: str,
                 user_id: int | None, write: bool):
        self.session, self.now, self.settings = session, now, settings
        self.source, self.user_id, self.write = source[:100], user_id, write
        self.known: dict[str, Known] = {}  # phone -> patient
        self.made_by_birth: dict[date, list[Known]] = {}  # patients this run created, by date of birth
        self.therapists = {email.casefold(): tid for tid, email in session.execute(
            select(Therapist.id, Therapist.email).where(Therapist.email.is_not(None)))}

    def rows(self, rows: list[Row], progress: Callable[[int], None] | None = None) -> list[Outcome]:
        """Every row's outcome, in file order; `progress(rows handled)` after each chunk."""
        out: list[Outcome] = []
        for start in range(0, len(rows), CHUNK):
            out += self._chunk(rows[start:start + CHUNK])
            if progress:
                progress(min(start + CHUNK, len(rows)))
        return out

    # --- one chunk -------------------------------------------------------------------------

    def _chunk(self, rows: list[Row]) -> list[Outcome]:
        """Decide every row of the chunk (in order, on what earlier rows did), then write them together."""
        typed = [(row.number, read_row(row)) for row in rows]
        valid = [r for _, r in typed if isinstance(r, DischargeRow)]
        self._prefetch({r.phone for r in valid})
        birth_days = {r.date_of_birth for r in valid if r.date_of_birth and r.phone not in self.known}
        namesakes = self._namesakes(birth_days)
        created: list[tuple[Known, int | None]] = []
        changed: list[tuple[Known, DischargeRow, dict, bool, int | None]] = []
        out = [r if isinstance(r, Outcome) else self._one(number, r, namesakes, created, changed)
               for number, r in typed]
        if self.write:
            self._write_created(created)
            self._write_changed(changed)
            # Written: let the rows go, or every later flush (and the garbage collector) walks
            # tens of thousands of objects. `known` keeps what later rows need (ids, dates, teams).
            self.session.flush()
            self.session.expunge_all()
        return out

    def _prefetch(self, phones: set[str]) -> None:
        """Load the patients with these phones (not yet known), with their discharge dates and teams."""
        wanted = [p for p in phones if p not in self.known]
        if not wanted:
            return
        found = self.session.execute(select(
            Patient.id, Patient.name, Patient.phone, Patient.timezone, Patient.language, Patient.date_of_birth,
            Patient.sms_consent).where(Patient.phone.in_(wanted))).all()
        by_id = {row.id: Known(row.id, row.name, row.phone, row.timezone, row.language, row.date_of_birth,
                               row.sms_consent) for row in found}
        if not by_id:
            return
        for pid, day in self.session.execute(select(Discharge.patient_id, Discharge.discharge_date)
                                             .where(Discharge.patient_id.in_(by_id))):
            by_id[pid].dates.add(day)
        for pid, tid in self.session.execute(select(CareTeamMember.patient_id, CareTeamMember.therapist_id)
                                             .where(CareTeamMember.patient_id.in_(by_id))):
            by_id[pid].team.add(tid)
        self.known.update({k.phone: k for k in by_id.values()})

    def _namesakes(self, birth_days: set[date]) -> dict[date, list[str]]:
        """Names of patients already stored with these dates of birth: who may be a namesake twin."""
        if not birth_days:
            return {}
        out: dict[date, list[str]] = {}
        for name, day in self.session.execute(select(Patient.name, Patient.date_of_birth)
                                              .where(Patient.date_of_birth.in_(birth_days))):
            out.setdefault(day, []).append(name)
        return out

    def _one(self, number: int, r: DischargeRow, namesakes: dict, created: list, changed: list) -> Outcome:
        refused = self._field_rules(r)
        if refused:
            return Outcome(number, REFUSED, *refused)
        therapist = self.therapists.get(r.therapist_email) if r.therapist_email else None
        known = self.known.get(r.phone)
        if known is not None and not patients.same_name(known.name, r.name):
            return Outcome(number, REFUSED, "phone", PHONE_TAKEN)
        if known is None:
            if self._has_twin(r, namesakes):
                return Outcome(number, REFUSED, "phone", NAMESAKE)
            known = self._create(r, therapist)
            created.append((known, therapist))
            return Outcome(number, CREATED)
        return Outcome(number, UPDATED if self._update(known, r, therapist, changed) else UNCHANGED)

    def _field_rules(self, r: DischargeRow) -> tuple[str, str] | None:
        """The rules that need more than the row's own text: the clock and the therapist list."""
        today = timeutil.local_date_of(self.now, r.timezone)
        if r.discharge_date < plans.EARLIEST:
            return "discharge_date", "is too far in the past"
        if r.discharge_date > today + plans.MAX_AHEAD:
            return "discharge_date", "must not be more than 30 days ahead"
        try:
            patients.birth_date_valid(r.date_of_birth, self.now)
        except Invalid as exc:
            return "date_of_birth", exc.errors["date_of_birth"]
        if r.therapist_email and r.therapist_email not in self.therapists:
            return "therapist_email", "names no therapist"
        return None

    def _has_twin(self, r: DischargeRow, namesakes: dict) -> bool:
        """A patient of this name and date of birth already has another phone (the form's warning)."""
        day = r.date_of_birth
        if day is None:
            return False
        if any(patients.same_name(k.name, r.name) for k in self.made_by_birth.get(day, ())):
            return True
        if not any(patients.same_name(name, r.name) for name in namesakes.get(day, ())):
            return False  # the one rule, asked only where a namesake was seen
        return bool(patients.possible_duplicates(self.session, name=r.name, phone=r.phone, date_of_birth=day))

    # --- writing ---------------------------------------------------------------------------

    def _create(self, r: DischargeRow, therapist: int | None) -> Known:
        known = Known(None, r.name, r.phone, r.timezone, r.language or Language.EN, r.date_of_birth,
                      bool(r.sms_consent), {r.discharge_date}, {therapist} if therapist else set())
        self.known[r.phone] = known
        if r.date_of_birth:
            self.made_by_birth.setdefault(r.date_of_birth, []).append(known)
        if self.write:
            # The chunk's new patients are inserted in one statement: a plain record of the row's
            # values (no ORM object), with consent set by the one rule every patient's is set by.
            patient = SimpleNamespace(name=r.name, phone=r.phone, timezone=r.timezone, language=known.language,
                                      date_of_birth=r.date_of_birth, sms_consent=False, consent_at=None,
                                      consent_source=None, created_at=self.now)
            patients.set_consent(patient, bool(r.sms_consent), self.now, self.source)
            known.record = patient
            known.plan = {"discharge_date": r.discharge_date, "plan_days": r.plan_days,
                          "individual_per_week": r.individual_per_week, "groups_per_week": r.groups_per_week}
        return known

    def _write_created(self, created: list[tuple[Known, int | None]]) -> None:
        """Insert the chunk's new patients and their discharges (a statement or so each); then
        their care teams and any opt-out their number carries."""
        if not created:
            return
        # Core INSERTs with RETURNING: both engines batch the rows into multi-row statements (the
        # ORM's bulk insert would split them wherever a row leaves a column None, and psycopg sends
        # one statement per row without RETURNING). Ids come back matched by phone (unique).
        table = Patient.__table__
        ids = dict(self.session.execute(insert(table).returning(table.c.phone, table.c.id), [
            {name: getattr(k.record, name) for name in NEW_PATIENT} for k, _ in created]).all())
        for known, _ in created:
            known.id, known.record = ids[known.phone], None
        table = Discharge.__table__
        self.session.execute(insert(table).returning(table.c.id),
                             [{"patient_id": k.id, **k.plan} for k, _ in created]).all()
        members = [{"patient_id": k.id, "therapist_id": t, "added_at": self.now, "added_by": self.user_id}
                   for k, t in created if t]
        if members:  # new patients: no member to collide with
            table = CareTeamMember.__table__
            self.session.execute(insert(table).returning(table.c.patient_id), members).all()
        phones = [k.phone for k, _ in created]
        stopped = set(self.session.scalars(select(OptedOutNumber.phone).where(OptedOutNumber.phone.in_(phones))))
        for known, _ in created:
            if known.phone in stopped:  # starts opted out; staff get a task
                optouts.apply_to(self.session, self.session.get(Patient, known.id), self.now)

    def _add_to_teams(self, pairs: list[tuple[int, int]]) -> None:
        """Care-team members added, never removed (one statement for the chunk)."""
        if pairs:
            insert_ignore(self.session, CareTeamMember, [
                {"patient_id": p, "therapist_id": t, "added_at": self.now, "added_by": self.user_id}
                for p, t in dict.fromkeys(pairs)], ("patient_id", "therapist_id"))

    def _write_changed(self, changed: list) -> None:
        """What the chunk's rows add to known patients, in row order, the patients locked in one query."""
        if not changed:
            return
        ids = sorted({known.id for known, *_ in changed})
        people = {p.id: p for p in self.session.scalars(
            select(Patient).where(Patient.id.in_(ids)).order_by(Patient.id)
            .options(selectinload(Patient.discharges)).with_for_update(of=Patient))}
        texted = []
        for known, r, changes, new_date, _ in changed:
            patient = people[known.id]
            if changes:  # as patients.update_patient: consent keeps its source, an opt-out stays
                before = (patient.timezone, patient.language, patient.sms_consent)
                patient.timezone = changes.get("timezone", patient.timezone)
                patient.language = changes.get("language", patient.language)
                patient.date_of_birth = changes.get("date_of_birth", patient.date_of_birth)
                if "sms_consent" in changes:
                    patients.set_consent(patient, changes["sms_consent"], self.now, self.source)
                if (patient.timezone, patient.language, patient.sms_consent) != before:
                    texted.append(patient)
            if new_date:  # as plans.record, the date already checked and the patient already locked
                patient.discharges.append(Discharge(discharge_date=r.discharge_date, plan_days=r.plan_days,
                                                    individual_per_week=r.individual_per_week,
                                                    groups_per_week=r.groups_per_week))
                plans.readmit_older(patient, self.now)
        self._replan(texted)
        self.session.flush()
        self._add_to_teams([(k.id, t) for k, *_, t in changed if t])

    def _replan(self, texted: list[Patient]) -> None:
        """Quiet hours and consent decide a patient's texts: replan those with any text or session ahead."""
        if not texted:
            return
        ids = [p.id for p in texted]
        busy = set(self.session.scalars(select(Message.patient_id).where(
            Message.patient_id.in_(ids), Message.status == MessageStatus.PENDING)))
        busy |= set(self.session.scalars(select(Appointment.patient_id).where(
            Appointment.patient_id.in_(ids), Appointment.start_dt > self.now,
            Appointment.status.in_(ACTIVE_APPOINTMENT_STATUSES))))
        busy |= set(self.session.scalars(select(Enrollment.patient_id).where(
            Enrollment.patient_id.in_(ids), Enrollment.status == EnrollmentStatus.ENROLLED)))
        for patient in texted:
            if patient.id in busy:
                reminders.replan_patient(self.session, patient, self.now, settings=self.settings)

    def _update(self, known: Known, r: DischargeRow, therapist: int | None, changed: list) -> bool:
        """Decide what the row adds to a known patient (written with the chunk); False when nothing."""
        changes = {}
        if r.timezone != known.timezone:
            changes["timezone"] = r.timezone
        if r.language is not None and r.language != known.language:
            changes["language"] = r.language
        if r.date_of_birth is not None and r.date_of_birth != known.date_of_birth:
            changes["date_of_birth"] = r.date_of_birth
        if r.sms_consent is not None and r.sms_consent != known.consent:
            changes["sms_consent"] = r.sms_consent
        new_date = r.discharge_date not in known.dates
        new_member = therapist if therapist is not None and therapist not in known.team else None
        if not (changes or new_date or new_member):
            return False
        changed.append((known, r, changes, new_date, new_member))
        known.timezone, known.language = changes.get("timezone", known.timezone), changes.get("language", known.language)
        known.date_of_birth = changes.get("date_of_birth", known.date_of_birth)
        known.consent = changes.get("sms_consent", known.consent)
        known.dates.add(r.discharge_date)
        if new_member:
            known.team.add(new_member)
        return True

def run(session: Session, rows: list[Row], now: datetime, *, settings: Settings, source: str,
        user_id: int | None = None, write: bool = True,
        progress: Callable[[int], None] | None = None) -> list[Outcome]:
    """Import (or, with write=False, only decide) every row; the caller commits or rolls back."""
    return Run(session, now, settings=settings, source=source, user_id=user_id, write=write).rows(rows, progress)

