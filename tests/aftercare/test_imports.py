"""`flask import discharges`: a file full of realistic mistakes, in a dry run and for real, twice.

Each row's outcome is checked by number; no value from the file ever reaches the output; a file
that cannot be read, and a database error, write nothing.
"""
from __future__ import annotations

import hashlib
import re
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from scheduler.aftercare import import_files, imports
from scheduler.extensions import db
from scheduler.models import (
    AuditEvent,
    CareTeamMember,
    Discharge,
    DischargeImport,
    OptedOutNumber,
    Patient,
    Task,
)
from tests.support import NOW

HEADER = "\ufeffPhone,name,timezone,discharge_date,sms_consent,therapist_email,plan_days,date_of_birth"
# (line of the file, the outcome line expected for it: None for a blank line)
ROWS = [
    ("(201) 555-0101,Ana Ruiz,America/New_York,2026-02-20,yes,tess@clinic.test,90,1980-01-02", "created"),
    ("", None),  # a blank line between records
    ("+1 201 555 0102,Ben Ode,America/Chicago,2/25/2026,1,,60,", "created"),
    ("201.555.0101, ana  ruiz ,America/New_York,2/20/2026,Yes,TESS@clinic.test,90,1/2/1980", "unchanged"),
    ("2015550101,Carla Diaz,America/New_York,2026-02-21,yes,,,", "refused: phone: phone belongs to another patient"),
    ("201-555-0103,Dee Stop,America/New_York,2026-02-22,true,,,", "created"),
    ("2015550104,Eve Known,America/New_York,2026-02-23,yes,,,", "updated"),
    ("2015550108,Gil Two,America/New_York,03/04/26,,,,",
     "refused: discharge_date: expected a date like 2026-03-10 or 3/10/2026"),
    ("2015550109,Hal Serial,America/New_York,45992,,,,",
     "refused: discharge_date: expected a date like 2026-03-10 or 3/10/2026"),
    ("2015550110,Ida Dmy,America/New_York,13/02/2026,,,,",
     "refused: discharge_date: is not a real calendar date (dates are M/D/YYYY or YYYY-MM-DD)"),
    ('2015550105,"=HYPERLINK(""http://evil.test"",""x"")",America/New_York,2026-02-24,no,,,', "created"),
    ("=1+2,Jo Formula,America/New_York,2026-02-24,,,,",
     "refused: phone: must be a phone number, e.g. +1 201 555 0123"),
    ("2015550111,Kim Zone,Eastern,2026-02-24,,,,",
     "refused: timezone: must be a time zone from the list, such as America/New_York"),
    ("2015550112,Lee Plan,America/New_York,2026-02-24,,,0,", "refused: plan_days: must be at least 1"),
    ("2015550113,Mo Consent,America/New_York,2026-02-24,maybe,,,",
     "refused: sms_consent: must be true, false, yes, no, 1 or 0"),
    ("2015550114,Ned Who,America/New_York,2026-02-24,,nobody@clinic.test,,",
     "refused: therapist_email: names no therapist"),
    ("2015550115,Oz Ahead,America/New_York,2026-05-01,,,,",
     "refused: discharge_date: must not be more than 30 days ahead"),
    ("2015550107,Fay Twin,America/New_York,2026-02-24,,,,1975-05-05",
     "refused: phone: a patient with this name and date of birth has another phone"),
    ("2015550102,Ben Ode,America/Chicago,2026-02-27,,,,", "updated"),
    ("2015550116,Pat Extra,America/New_York,2026-02-24,,,,,surplus", "refused: row: has more cells than the header has columns"),
    (",Quinn Nophone,America/New_York,2026-02-24,,,,", "refused: phone: is required"),
    ("2015550117,,America/New_York,2026-02-24,,,,", "refused: name: is required"),
]
# Values typed in the file that no output line may repeat.
SECRETS = ["Ana Ruiz", "ana  ruiz", "Ruiz", "Carla", "5550101", "555-0101", "Eastern", "45992", "HYPERLINK", "evil", "maybe",
           "nobody@", "=1+2", "03/04/26", "13/02/2026", "1975-05-05", "Fay", "surplus", "Formula"]


def _file(rows=ROWS) -> bytes:
    return ("\r\n".join([HEADER, *(line for line, _ in rows)]) + "\r\n").encode("utf-8")


def _expected(rows=ROWS) -> list[str]:
    out = []
    for number, (_, outcome) in enumerate(rows, start=2):
        if outcome is not None:
            out.append(f"row {number}: {outcome}")
    return out


@pytest.fixture
def clinic_data(app, frozen_clock, make_therapist, make_patient):
    """Tess (by email), Eve (opted out, no consent), Fay Twin (with a date of birth), a STOP'd number."""
    make_therapist(name="Tess Care", email="Tess@Clinic.test")
    eve = make_patient(name="Eve Known", phone="+12015550104", consent=False)
    fay = make_patient(name="Fay Twin", phone="+12015550199")
    with app.app_context():
        db.session.get(Patient, eve).opted_out_at = NOW
        db.session.get(Patient, fay).date_of_birth = date(1975, 5, 5)
        db.session.add(OptedOutNumber(phone="+12015550103", opted_out_at=NOW))
        db.session.commit()
    return {"eve": eve}


def _run(runner, tmp_path, data: bytes, *extra: str):
    path = tmp_path / "discharges.csv"
    path.write_bytes(data)
    return runner.invoke(args=["import", "discharges", str(path), *extra])


def _counts(app) -> dict:
    with app.app_context():
        return {model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
                for model in (Patient, Discharge, CareTeamMember, DischargeImport, Task)} | {
            "imports_audited": db.session.scalar(select(func.count()).select_from(AuditEvent)
                                                 .where(AuditEvent.action == "import"))}


def _lines(result) -> list[str]:
    return result.output.splitlines()


def _never_echoes(result) -> None:
    for secret in SECRETS:
        assert secret.casefold() not in result.output.casefold(), secret


def test_a_dry_run_reports_every_row_and_writes_nothing(app, runner, tmp_path, clinic_data):
    before = _counts(app)
    result = _run(runner, tmp_path, _file(), "--dry-run")
    assert result.exit_code == 0, result.output
    lines = _lines(result)
    assert lines[:-1] == _expected()
    assert lines[-1] == "4 created, 2 updated, 1 unchanged, 14 refused (dry run: nothing was written)"
    _never_echoes(result)
    assert _counts(app) == before


def test_the_import_does_what_the_dry_run_said_and_a_second_run_changes_nothing(app, runner, tmp_path,
                                                                                clinic_data):
    dry = _lines(_run(runner, tmp_path, _file(), "--dry-run"))
    first = _run(runner, tmp_path, _file())
    assert first.exit_code == 0, first.output
    assert _lines(first)[:-1] == dry[:-1] == _expected()
    assert _lines(first)[-1] == "4 created, 2 updated, 1 unchanged, 14 refused"
    _never_echoes(first)
    with app.app_context():
        people = {p.phone: p for p in db.session.scalars(select(Patient))}
        ana = people["+12015550101"]
        assert ana.name == "Ana Ruiz" and ana.date_of_birth == date(1980, 1, 2) and ana.sms_consent
        assert ana.consent_source.startswith("import sha256:") and ana.therapist_ids
        assert [d.discharge_date for d in ana.discharges] == [date(2026, 2, 20)]
        # A STOP'd number marked consenting stays opted out, and staff are told.
        dee = people["+12015550103"]
        assert dee.sms_consent and dee.opted_out_at is not None and not dee.can_text
        assert db.session.scalar(select(func.count()).select_from(Task).where(Task.patient_id == dee.id)) == 1
        eve = people["+12015550104"]
        assert eve.sms_consent and eve.opted_out_at is not None  # consent recorded, the opt-out kept
        assert eve.consent_source.startswith("import sha256:")
        # Stored as typed: a formula-looking name is a name.
        assert people["+12015550105"].name == '=HYPERLINK("http://evil.test","x")'
        ben = people["+12015550102"]
        assert [(d.discharge_date, d.plan_days, d.ended_reason) for d in ben.discharges] == [
            (date(2026, 2, 25), 60, "readmitted"), (date(2026, 2, 27), 90, None)]
        assert "+12015550107" not in people
        record = db.session.scalar(select(DischargeImport))
        assert record.file_hash == hashlib.sha256(_file()).hexdigest()
        assert (record.created, record.updated, record.unchanged, record.refused) == (4, 2, 1, 14)
        assert record.content is None and record.user_id is None
        audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "import")).all()
        assert [(a.entity, a.entity_id, a.route) for a in audit] == [
            ("discharge_import", record.id, "cli import discharges")]
    after_first = _counts(app)
    second = _run(runner, tmp_path, _file())
    assert second.exit_code == 0
    outcomes = [line for line in _lines(second)[:-1] if "refused" not in line]
    assert outcomes and all(line.endswith(": unchanged") for line in outcomes)
    assert _lines(second)[-1] == "0 created, 0 updated, 7 unchanged, 14 refused"
    counts = _counts(app)
    assert counts == after_first | {"discharge_imports": 2, "imports_audited": 2}


@pytest.mark.parametrize("data, message", [
    (b"phone,name,timezone,discharge_date,diagnosis\r\n2015550101,A,America/New_York,2026-02-20,x\r\n",
     "unknown column 'diagnosis'"),
    (b"phone,name,discharge_date\r\n2015550101,A,2026-02-20\r\n", "missing required column timezone"),
    (b"phone,name,timezone,discharge_date,name\r\n", "column name appears more than once"),
    ("phone,name,timezone,discharge_date\r\n2015550101,José,America/New_York,2026-02-20\r\n".encode("latin-1"),
     "not UTF-8"),
    (b"PK\x03\x04\x00\x00binary", "not a CSV file"),
    (b"", "the file is empty"),
    (b'phone,name,timezone,discharge_date\r\n"2015550101,A\r\n', "not a valid CSV file"),
], ids=["unknown-column", "missing-column", "repeated-column", "latin-1", "binary", "empty", "open-quote"])
def test_a_file_that_cannot_be_read_is_refused_whole(app, runner, tmp_path, clinic_data, data, message):
    before = _counts(app)
    result = _run(runner, tmp_path, data)
    assert result.exit_code == 2
    assert message in result.output and "nothing was imported" in result.output
    assert not re.search(r"^row \d", result.output, re.M) and "José" not in result.output
    assert _counts(app) == before


def test_a_huge_file_is_refused_whole(app, runner, tmp_path, clinic_data):
    before = _counts(app)
    too_many = "phone,name,timezone,discharge_date\r\n" + "2015550101,A,America/New_York,2026-02-20\r\n" * 50_001
    result = _run(runner, tmp_path, too_many.encode())
    assert result.exit_code == 2 and "more than 50,000 rows" in result.output
    too_big = b"phone,name,timezone,discharge_date\r\n" + b"x" * (10 * 1024 * 1024)
    result = _run(runner, tmp_path, too_big)
    assert result.exit_code == 2 and "over 10 MB" in result.output
    assert _counts(app) == before


def test_a_database_error_rolls_the_whole_import_back(app, runner, tmp_path, clinic_data, monkeypatch):
    def broken(*args, **kwargs):  # after the chunk's new patients were inserted
        raise OperationalError("UPDATE patients", {}, RuntimeError("disk I/O error"))

    monkeypatch.setattr(imports.Run, "_write_changed", broken)
    before = _counts(app)
    result = _run(runner, tmp_path, _file())
    assert result.exit_code == 1
    assert "rolled back; nothing was saved" in result.output and not re.search(r"^row \d", result.output, re.M)
    assert _counts(app) == before


def test_a_missing_file_exits_2(runner, tmp_path):
    result = runner.invoke(args=["import", "discharges", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2


def test_rows_are_numbered_as_a_spreadsheet_shows_them_and_blank_ones_skipped():
    rows = import_files.read(b"name,phone,timezone,discharge_date,,\r\n\r\nA,1,Z,D,,\r\n  ,  ,,\r\nB,2,Z,D\r\n")
    assert [(r.number, r.cells) for r in rows] == [
        (3, {"name": "A", "phone": "1", "timezone": "Z", "discharge_date": "D"}),
        (5, {"name": "B", "phone": "2", "timezone": "Z", "discharge_date": "D"})]
