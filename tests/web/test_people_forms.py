"""Forms people fill in (issue 17, items 2 and 7): Date of birth and the possible-duplicate warning,
the Time zone pick-list, phones in the clinic's national form, and a save-time conflict said as one."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from scheduler import config
from scheduler.extensions import db
from scheduler.models import Appointment, Patient
from scheduler.web import posts
from tests.support import NOW, NY
from tests.support.web import Pages, add_user

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def form(**overrides) -> dict:
    return {"name": "Rosa Diaz", "phone": "(201) 555-0199", "timezone": NY, "language": "en",
            "date_of_birth": "1980-04-02", "consent": "on", "form_id": overrides.pop("form_id", "p1"), **overrides}


def born(app, patient_id: int, day: date | None) -> None:
    with app.app_context():
        db.session.get(Patient, patient_id).date_of_birth = day
        db.session.commit()


def patients_named(app, name: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Patient).where(Patient.name == name))


# --- item 2: Date of birth and duplicates ----------------------------------------------------


def test_date_of_birth_is_asked_kept_and_shown(staff, app):
    html = staff.coordinator.get("/patients/new").get_data(as_text=True)
    assert '<label for="f-date_of_birth">Date of birth</label>' in html and 'type="date"' in html
    assert staff.coordinator.post("/patients/new", data=form()).status_code == 302
    with app.app_context():
        rosa = db.session.scalar(select(Patient).where(Patient.name == "Rosa Diaz"))
        assert rosa.date_of_birth == date(1980, 4, 2)
    page = staff.coordinator.get(f"/patients/{rosa.id}").get_data(as_text=True)
    assert "Apr 2, 1980" in page
    edit = staff.coordinator.get(f"/patients/{rosa.id}/edit").get_data(as_text=True)
    assert 'value="1980-04-02"' in edit
    cleared = staff.coordinator.post(f"/patients/{rosa.id}/edit", data=form(date_of_birth=""))
    assert cleared.status_code == 302
    with app.app_context():
        assert db.session.get(Patient, rosa.id).date_of_birth is None


def test_the_same_name_and_birth_date_warns_before_saving_and_save_anyway_saves(staff, app, make_patient):
    first = make_patient(name="rosa  DIAZ", phone="+12015550123")
    born(app, first, date(1980, 4, 2))
    warned = staff.coordinator.post("/patients/new", data=form())
    html = warned.get_data(as_text=True)
    assert warned.status_code == 422 and patients_named(app, "Rosa Diaz") == 0  # nothing saved yet
    assert "This may be a patient who is already registered" in html
    assert f'href="/patients/{first}"' in html and "born Apr 2, 1980" in html and "phone ending 0123" in html
    assert "+12015550123" not in html  # masked
    button = re.search(r'<button[^>]*name="save_anyway" value="([^"]*)"[^>]*>Save anyway</button>', html)
    assert button and button.group(1) == str(first)
    assert 'value="Rosa Diaz"' in html  # what was typed is kept
    saved = staff.coordinator.post("/patients/new", data=form(save_anyway=button.group(1)))
    assert saved.status_code == 302 and patients_named(app, "Rosa Diaz") == 1


def test_save_anyway_covers_only_the_people_it_was_shown(staff, app, make_patient):
    first = make_patient(name="Rosa Diaz", phone="+12015550123")
    born(app, first, date(1980, 4, 2))
    stale = staff.coordinator.post("/patients/new", data=form(save_anyway="999999"))
    assert stale.status_code == 422 and "already registered" in stale.get_data(as_text=True)


def test_another_birth_date_or_none_is_not_a_match(staff, app, make_patient):
    born(app, make_patient(name="Rosa Diaz", phone="+12015550123"), date(1980, 4, 2))
    assert staff.coordinator.post("/patients/new", data=form(date_of_birth="1991-01-01")).status_code == 302
    assert staff.coordinator.post("/patients/new", data=form(date_of_birth="", phone="(201) 555-0177",
                                                             form_id="p2")).status_code == 302


def test_the_same_phone_is_refused_showing_the_match_without_save_anyway(staff, app, make_patient):
    make_patient(name="Other Person", phone="+12015550199")
    refused = staff.coordinator.post("/patients/new", data=form(save_anyway="1"))
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "another patient already has this phone number" in html
    assert "Other Person" in html and "Save anyway" not in html and patients_named(app, "Rosa Diaz") == 0


def test_editing_warns_only_when_the_details_that_tell_people_apart_change(staff, app, make_patient):
    ana, twin = make_patient(name="Ana Ruiz"), make_patient(name="Ana Ruiz", phone="+12015550166")
    born(app, ana, date(1975, 5, 5))
    details = {"name": "Ana Ruiz", "phone": "(201) 555-0166", "timezone": NY, "language": "en", "consent": "on"}
    warned = staff.coordinator.post(f"/patients/{twin}/edit", data={**details, "date_of_birth": "1975-05-05"})
    assert warned.status_code == 422 and f'href="/patients/{ana}"' in warned.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Patient, twin).date_of_birth is None
    ok = staff.coordinator.post(f"/patients/{twin}/edit", data={**details, "date_of_birth": "1975-05-05",
                                                                 "save_anyway": str(ana)})
    assert ok.status_code == 302
    again = staff.coordinator.post(f"/patients/{twin}/edit", data={**details, "date_of_birth": "1975-05-05",
                                                                    "language": "es"})
    assert again.status_code == 302  # nothing that tells them apart changed: no second warning


def test_date_of_birth_tells_namesakes_apart_where_a_patient_is_picked(staff, app, make_patient):
    ana = make_patient(name="Ana Twin", phone="+12015550140")
    make_patient(name="Ana Twin", phone="+12015550141")
    born(app, ana, date(1990, 7, 8))
    listing = staff.coordinator.get("/patients?q=ana").get_data(as_text=True)
    assert ">Date of birth</th>" in listing and "Jul 8, 1990" in listing
    pick = staff.coordinator.get("/patients/pick?patient=ana").get_data(as_text=True)
    assert "born Jul 8, 1990" in pick and "(201) 555-0141" in pick
    finder = staff.coordinator.post("/appointments/patients", data={"q": "ana"}).get_data(as_text=True)
    assert "born Jul 8, 1990, phone ending 0140" in finder and "phone ending 0141" in finder


# --- item 7: zones, phones, conflicts --------------------------------------------------------


def test_time_zone_is_a_pick_list_with_the_clinic_zone_first(make_app, make_therapist):
    app = make_app(CLINIC_TIMEZONE="America/Chicago")
    client = Pages(app.test_client())
    client.sign_in(add_user(app, "admin"))
    for path in ("/patients/new", "/groups/new", "/admin"):
        html = client.text(path)
        zone = re.search(r'<select id="f-timezone" name="timezone"[^>]*>(.*?)</select>', html, re.S)
        assert zone, path
        options = re.findall(r"<option( selected)?>([^<]+)</option>", zone.group(1))
        names = [name for _, name in options]
        assert names[0] == "America/Chicago" and options[0][0] == " selected", path
        assert names[1:4] == ["America/New_York", "America/Denver", "America/Phoenix"], path
        assert "Europe/Madrid" in names and len(names) == len(set(names)) > 300, path
        assert 'list="zones"' not in html and "IANA" not in html, path


def test_no_template_says_iana():
    assert [p.name for p in TEMPLATES.rglob("*.html") if "IANA" in p.read_text()] == []


def test_a_zone_not_on_the_list_is_refused_beside_the_field(staff):
    html = staff.coordinator.post("/patients/new", data=form(timezone="Moon/Base")).get_data(as_text=True)
    assert "Time zone must be a time zone from the list" in html and "IANA" not in html


@pytest.mark.parametrize(("env", "name"), [({"CLINIC_TIMEZONE": "Mars/Base"}, "CLINIC_TIMEZONE"),
                                           ({"CLINIC_REGION": "XX"}, "CLINIC_REGION")])
def test_clinic_zone_and_region_are_checked_at_start(tmp_path, env, name):
    with pytest.raises(config.ConfigError, match=name):
        config.load(str(tmp_path), env)
    assert config.load(str(tmp_path), {})["CLINIC_REGION"] == "US"


def test_phones_are_shown_in_the_clinics_national_form(staff, app, make_patient):
    home, abroad = make_patient(name="Ana Home", phone="+12015550111"), make_patient(
        name="Ben Abroad", phone="+442079460958")
    page = staff.coordinator.get(f"/patients/{home}").get_data(as_text=True)
    assert "(201) 555-0111" in page and "+12015550111" not in page
    assert "+44 20 7946 0958" in staff.coordinator.get(f"/patients/{abroad}").get_data(as_text=True)
    listing = staff.coordinator.get("/patients").get_data(as_text=True)
    assert "(201) 555-0111" in listing and "+44 20 7946 0958" in listing
    edit = staff.coordinator.get(f"/patients/{home}/edit").get_data(as_text=True)
    assert 'value="(201) 555-0111"' in edit  # and it reads back as the same number
    details = {"name": "Ana Home", "phone": "(201) 555-0111", "timezone": NY, "language": "en", "consent": "on"}
    assert staff.coordinator.post(f"/patients/{home}/edit", data=details).status_code == 302


def test_another_region_shows_us_numbers_internationally(make_app, make_patient):
    app = make_app(CLINIC_REGION="GB")
    with app.app_context():
        db.session.add(Patient(name="Ana Home", phone="+12015550111", timezone=NY, language="en",
                               sms_consent=False, created_at=NOW))
        db.session.add(Patient(name="Ben Abroad", phone="+442079460958", timezone=NY, language="en",
                               sms_consent=False, created_at=NOW))
        db.session.commit()
    client = Pages(app.test_client())
    client.sign_in(add_user(app, "coordinator"))
    listing = client.text("/patients")
    assert "+1 201-555-0111" in listing and "020 7946 0958" in listing


def test_a_phone_taken_at_save_time_says_so(ctx, app):
    ctx.add_all([Patient(name=n, phone="+12015550100", timezone=NY, language="en", sms_consent=False,
                         created_at=NOW) for n in ("One", "Two")])
    with pytest.raises(IntegrityError) as caught:
        ctx.flush()
    ctx.rollback()
    assert posts._what_was_taken(caught.value) == posts.PHONE_TAKEN


def test_a_time_taken_at_save_time_says_so(ctx, app, make_therapist, make_patient, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("the exclusion constraint is PostgreSQL's; SQLite serialises bookings instead")
    tid, pid, other = make_therapist(), make_patient(), make_patient()
    start = datetime(2030, 1, 7, 15, tzinfo=UTC)
    ctx.add_all([Appointment(therapist_id=tid, patient_id=p, start_dt=start, end_dt=start + timedelta(hours=1),
                             status="scheduled", version=1, created_at=NOW, updated_at=NOW) for p in (pid, other)])
    with pytest.raises(DBAPIError) as caught:
        ctx.flush()
    ctx.rollback()
    assert posts._what_was_taken(caught.value) == posts.TIME_TAKEN


def test_a_slot_booked_meanwhile_says_the_time_was_just_taken(staff, app, make_patient):
    first, second = make_patient(), make_patient(name="Second Person")
    with app.app_context():
        for pid in (first, second):
            care_team(pid, staff.therapist_id)
    day = date.today() + timedelta(days=7 - date.today().weekday() + 1)  # a Tuesday at least a week ahead
    slot = {"therapist": str(staff.therapist_id), "start": f"{day.isoformat()}T11:00", "duration": "50"}
    assert staff.coordinator.post("/appointments", data={**slot, "patient_id": str(first)}).status_code == 302
    clash = staff.coordinator.post("/appointments", data={**slot, "patient_id": str(second)})
    html = clash.get_data(as_text=True)
    assert clash.status_code == 409 and "This time was just taken" in html and "correct the field" not in html


def care_team(patient_id: int, therapist_id: int) -> None:
    from scheduler.scheduling import care_teams
    care_teams.set_team(db.session, db.session.get(Patient, patient_id), [therapist_id], NOW, None)
    db.session.commit()
