"""The therapist's pages by route: who may open what, what is shown, and every form's answers."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from scheduler.core import clock
from scheduler.core.settings import current
from scheduler.extensions import db
from scheduler.models import Appointment, Message, Patient, Therapist
from scheduler.scheduling import appointments, care_teams
from tests.support import add_group, next_monday, ny

MON = next_monday()
WED = MON + timedelta(days=2)
SLOT = f"{WED.isoformat()}T11:00"
WED_LABEL = f"{WED:%a %b} {WED.day}"


@pytest.fixture
def patient(make_patient):
    return make_patient(name="Alex Morgan", phone="+12015550101")


def _book_domain(app, therapist_id, patient_id, start, minutes=50) -> int:
    with app.app_context():
        appt = appointments.book(db.session, therapist_id, patient_id, start, minutes, clock.now(), settings=current())
        db.session.commit()
        return appt.id


def _count(app) -> int:
    with app.app_context():
        return db.session.query(Appointment).filter(Appointment.status != "cancelled").count()


# --- who may open what -------------------------------------------------------------------

PAGES = ["/", "/calendar", f"/calendar?week={WED.isoformat()}", "/availability"]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("role", ["admin", "coordinator", "therapist"])
def test_every_role_opens_the_therapist_pages(staff, role, path):
    response = getattr(staff, role).get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert ">Sign out</button>" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", PAGES + ["/appointments/new?therapist=1&start=" + SLOT, "/appointments/1"])
def test_a_stranger_is_sent_to_sign_in(pages, path):
    response = pages.get(path)
    assert response.status_code == 302 and response.location.startswith("/login")


@pytest.mark.parametrize("path", ["/calendar?therapist={other}", "/availability?therapist={other}",
                                  "/appointments/new?therapist={other}&start=" + SLOT])
def test_a_therapist_may_not_open_another_therapists_calendar(staff, path):
    # As if it did not exist (the shared policy: no answer reveals a record the caller may not see).
    response = staff.therapist.get(path.format(other=staff.other_therapist_id))
    assert response.status_code == 404 and "nothing you may see" in response.get_data(as_text=True)
    assert staff.coordinator.get(path.format(other=staff.other_therapist_id)).status_code == 200


def test_an_appointment_page_follows_the_calendar_rule(app, staff, patient):
    mine = _book_domain(app, staff.therapist_id, patient, ny(WED, 10))
    theirs = _book_domain(app, staff.other_therapist_id, patient, ny(WED, 14))
    assert staff.therapist.get(f"/appointments/{mine}").status_code == 200
    assert staff.therapist.get(f"/appointments/{theirs}").status_code == 404  # as if missing
    assert staff.admin.get(f"/appointments/{theirs}").status_code == 200
    assert staff.admin.get("/appointments/99999").status_code == 404


def test_unknown_therapist_is_404_for_staff(staff):
    assert staff.coordinator.get("/calendar?therapist=99999").status_code == 404
    assert staff.coordinator.get("/calendar?therapist=abc").status_code == 404


# --- the week ------------------------------------------------------------------------------

def test_the_week_shows_appointments_groups_and_named_free_slots(app, staff, patient):
    appt = _book_domain(app, staff.therapist_id, patient, ny(WED, 10))
    with app.app_context():
        group = add_group(db.session, staff.therapist_id, ny(MON + timedelta(days=1), 15))
    html = staff.therapist.text(f"/calendar?week={WED.isoformat()}")
    assert f'href="/appointments/{appt}"' in html and "Alex Morgan" in html
    assert "10:00 AM–10:50 AM" in html and "texts: booked" in html
    assert f'href="/groups/{group}"' in html and "Evening circle" in html
    assert f'<span class="visually-hidden">Book {WED_LABEL}, </span>11:00 AM</button>' in html
    assert f"Book {WED_LABEL}, </span>10:00 AM" not in html  # taken
    assert "Book" in html and "Previous week" in html and "Next week" in html


def test_text_status_follows_the_patients_texts(app, staff, patient):
    appt = _book_domain(app, staff.therapist_id, patient, ny(WED, 10))
    with app.app_context():
        db.session.add(Message(patient_id=patient, appointment_id=appt, kind="reminder", status="sent",
                               created_at=datetime.now(UTC)))
        db.session.commit()
    assert "texts: reminded" in staff.therapist.text(f"/calendar?week={WED.isoformat()}")
    with app.app_context():
        db.session.get(Appointment, appt).status = "confirmed"
        db.session.commit()
    assert "texts: confirmed by the patient" in staff.therapist.text(f"/calendar?week={WED.isoformat()}")
    with app.app_context():
        db.session.get(Patient, patient).opted_out_at = datetime.now(UTC)
        db.session.commit()
    assert "<dt>Texts</dt><dd>opted out</dd>" in staff.therapist.text(f"/appointments/{appt}")


@pytest.mark.parametrize("week", ["2026-02-31", "9999-12-31", "0001-01-01", "yesterday"])
def test_a_bad_week_is_answered_beside_the_field(staff, week):
    response = staff.therapist.get(f"/calendar?week={week}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="e-week"' in html
    glance = staff.coordinator.get(f"/?day={week}")
    assert glance.status_code == 200 and "Day " in glance.get_data(as_text=True)


def test_a_week_across_the_dst_change_keeps_local_hours(app, staff, patient):
    from tests.support import next_dst_changes
    spring, _ = next_dst_changes()
    monday = spring + timedelta(days=1)  # the Monday after clocks go forward
    before = spring - timedelta(days=2)  # the Friday before
    _book_domain(app, staff.therapist_id, patient, ny(before, 10))
    _book_domain(app, staff.therapist_id, patient, ny(monday, 10))
    for day in (before, monday):
        html = staff.therapist.text(f"/calendar?week={day.isoformat()}")
        assert "10:00 AM–10:50 AM" in html and "rs10 re14" in html  # the 10 AM row either side


def test_week_runs_monday_to_sunday_in_the_therapists_zone(app, staff, make_therapist):
    tokyo = make_therapist(name="Kenji Sato", tz="Asia/Tokyo")
    html = staff.admin.text(f"/calendar?therapist={tokyo}&week={WED.isoformat()}")
    assert f"{MON:%a %b} {MON.day}" in html and "Asia/Tokyo" in html
    sunday = MON + timedelta(days=6)
    assert f"{sunday:%a %b} {sunday.day}" in html


def test_coordinators_see_the_day_at_a_glance(app, staff, patient):
    _book_domain(app, staff.other_therapist_id, patient, ny(WED, 14))
    html = staff.coordinator.text(f"/?day={WED.isoformat()}")
    assert "Dana Reyes" in html and "Marcus Lee" in html and "Alex Morgan" in html
    assert 'class="timegrid day"' in html


def test_a_therapist_sees_their_own_day(app, staff, patient):
    _book_domain(app, staff.therapist_id, patient, ny(WED, 10))
    html = staff.therapist.text(f"/?day={WED.isoformat()}")
    assert "Alex Morgan" in html and "10:00 AM–10:50 AM" in html


# --- booking ---------------------------------------------------------------------------------

def _book_form(staff, patient, **extra):
    return {"therapist": str(staff.therapist_id), "start": SLOT, "patient_id": str(patient),
            "duration": "50", **extra}


def test_the_booking_form_names_its_fields(staff):
    html = staff.coordinator.text(f"/appointments/new?therapist={staff.therapist_id}&start={SLOT}")
    assert '<label for="f-patient">Patient</label>' in html
    assert '<label for="f-duration">Duration</label>' in html
    assert ">Book</button>" in html and f"{WED_LABEL} at 11:00 AM" in html
    fragment = staff.coordinator.get(f"/appointments/new?therapist={staff.therapist_id}&start={SLOT}",
                                     headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and 'id="dialog-title"' in fragment


def test_book_from_a_slot(app, staff, patient):
    response = staff.coordinator.post("/appointments", _book_form(staff, patient))
    assert response.status_code == 302 and f"week={WED.isoformat()}" in response.location
    with app.app_context():
        appt = db.session.query(Appointment).one()
        assert appt.start_dt == ny(WED, 11).astimezone(UTC) and appt.end_dt - appt.start_dt == timedelta(minutes=50)
    assert "Booked Alex Morgan" in staff.coordinator.text(response.location)


def test_a_double_submitted_form_books_once(app, staff, patient):
    first = staff.coordinator.post("/appointments", _book_form(staff, patient))
    second = staff.coordinator.post("/appointments", _book_form(staff, patient))
    assert first.status_code == 302
    with app.app_context():
        appt_id = db.session.query(Appointment.id).scalar()
    assert second.status_code == 302 and second.location == f"/appointments/{appt_id}"
    assert _count(app) == 1
    assert "already booked" in staff.coordinator.text(second.location)


def test_htmx_booking_redirects_through_the_header(app, staff, patient):
    response = staff.coordinator.post("/appointments", _book_form(staff, patient),
                                      headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.headers["HX-Redirect"].startswith("/calendar")


@pytest.mark.parametrize("change, field, message", [
    ({"duration": "abc"}, "duration", "Duration must be a whole number"),
    ({"duration": "2"}, "duration", "Duration must be at least 5"),
    ({"duration": "9999"}, "duration", "Duration must be at most 480"),
    ({"patient_id": "", "q": ""}, "patient", "Patient is required"),
    ({"patient_id": "", "q": "Nobody Here"}, "patient", "Patient matches nobody"),
    ({"start": "2026-02-31T11:00"}, "start", "Time is not a real date"),
    ({"start": f"{WED.isoformat()}T07:00"}, "start", "outside the therapist"),
    ({"duration": "400"}, "start", "outside the therapist"),
])
def test_bad_booking_input_is_answered_beside_the_field(app, staff, patient, change, field, message):
    response = staff.coordinator.post("/appointments", _book_form(staff, patient, **change))
    html = response.get_data(as_text=True)
    assert response.status_code in (409, 422), html[:500]
    assert f'id="e-{field}"' in html or (field == "start" and "Time " in html), html
    assert message in html
    assert _count(app) == 0
    assert 'value="Alex Morgan"' in html or change.get("q") is not None or "patient_id" in html


def test_bad_input_in_the_dialog_stays_in_the_dialog(app, staff, patient):
    response = staff.coordinator.post("/appointments", _book_form(staff, patient, duration="abc"),
                                      headers={"HX-Request": "true"})
    assert response.status_code == 200 and "<html" not in response.get_data(as_text=True)
    assert "Duration must be a whole number" in response.get_data(as_text=True)


def test_typed_name_with_one_match_books_that_person(app, staff, patient, make_patient):
    make_patient(name="Jordan Price")
    response = staff.coordinator.post("/appointments", _book_form(staff, patient, patient_id="", q="alex"))
    assert response.status_code == 302 and _count(app) == 1


def test_patient_search_finds_by_name_or_phone_only_visible_patients(app, staff, patient, make_patient):
    other = make_patient(name="Alexis Stone", phone="+12015550999")
    html = staff.coordinator.post("/appointments/patients", {"q": "alex"}).get_data(as_text=True)
    assert "Alex Morgan" in html and "Alexis Stone" in html
    assert "Alex Morgan" in staff.coordinator.post("/appointments/patients", {"q": "555-0101"}).get_data(as_text=True)
    with app.app_context():  # a coordinator puts Alex on the therapist's care team
        care_teams.add(db.session, patient, [staff.therapist_id], clock.now(), None)
        db.session.commit()
    html = staff.therapist.post("/appointments/patients", {"q": "alex"}).get_data(as_text=True)
    assert "Alex Morgan" in html and "Alexis Stone" not in html
    # Nor may a therapist book them by id.
    response = staff.therapist.post("/appointments", _book_form(staff, other))
    assert response.status_code == 409 and "not a patient in your care" in response.get_data(as_text=True)


def test_a_booking_post_without_csrf_is_refused_and_books_nothing(app, staff, patient):
    response = staff.coordinator.post("/appointments", _book_form(staff, patient), csrf=False)
    assert response.status_code == 400 and _count(app) == 0


# --- one appointment -----------------------------------------------------------------------

def test_appointment_page_shows_time_patient_status_and_actions(app, staff, patient):
    appt = _book_domain(app, staff.therapist_id, patient, ny(WED, 10))
    html = staff.therapist.text(f"/appointments/{appt}")
    assert f"{WED_LABEL}, 10:00 AM–10:50 AM" in html and "Alex Morgan" in html and "booked" in html
    assert ">Reschedule</button>" in html and '<label for="f-reason">Reason</label>' in html
    assert ">Cancel appointment</button>" in html and ">Attended</button>" not in html


def test_reschedule_to_a_free_time(app, staff, patient):
    appt = _book_domain(app, staff.therapist_id, patient, ny(WED, 10))
    response = staff.therapist.post(f"/appointments/{appt}/reschedule", {"new_start": f"{WED.isoformat()}T14:00"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Appointment, appt).start_dt == ny(WED, 14).astimezone(UTC)
    assert "Moved to" in staff.therapist.text(response.location)


def test_reschedule_refusals_are_beside_the_field(app, staff, patient, make_patient):
    appt = _book_domain(app, staff.therapist_id, patient, ny(WED, 10))
    _book_domain(app, staff.therapist_id, make_patient(name="Jordan Price"), ny(WED, 14))
    for value, message in (("", "New time is required"), ("nonsense", "New time expected an ISO"),
                           (f"{WED.isoformat()}T14:00", "already has a session")):
        response = staff.therapist.post(f"/appointments/{appt}/reschedule", {"new_start": value})
        html = response.get_data(as_text=True)
        assert response.status_code in (409, 422) and message in html and 'id="e-new_start"' in html
    with app.app_context():
        assert db.session.get(Appointment, appt).start_dt == ny(WED, 10).astimezone(UTC)


def test_cancel_with_a_reason(app, staff, patient):
    appt = _book_domain(app, staff.therapist_id, patient, ny(WED, 10))
    asked = staff.therapist.post(f"/appointments/{appt}/cancel", {"reason": "patient asked"})
    assert asked.status_code == 200 and "Yes, cancel appointment" in asked.get_data(as_text=True)
    response = staff.therapist.post(f"/appointments/{appt}/cancel", {"reason": "patient asked", "confirm": "yes"})
    assert response.status_code == 302
    with app.app_context():
        row = db.session.get(Appointment, appt)
        assert row.status == "cancelled" and row.cancel_reason == "patient asked"
    html = staff.therapist.text(f"/appointments/{appt}")
    assert "is cancelled" in html and ">Cancel appointment</button>" not in html
    again = staff.therapist.post(f"/appointments/{appt}/cancel", {"reason": "again"})
    assert again.status_code == 409 and "cannot be cancelled" in again.get_data(as_text=True)


def test_a_too_long_reason_is_refused_beside_the_field(app, staff, patient):
    appt = _book_domain(app, staff.therapist_id, patient, ny(WED, 10))
    response = staff.therapist.post(f"/appointments/{appt}/cancel", {"reason": "x" * 501})
    assert response.status_code == 422 and "Reason must be at most 500 characters" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Appointment, appt).status == "scheduled"


def test_attendance_after_the_start(app, staff, patient):
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    with app.app_context():
        db.session.add(Appointment(therapist_id=staff.therapist_id, patient_id=patient, start_dt=start,
                                   end_dt=start + timedelta(minutes=50), status="scheduled", version=1,
                                   created_at=start, updated_at=start))
        db.session.commit()
        appt = db.session.query(Appointment.id).scalar()
    html = staff.therapist.text(f"/appointments/{appt}")
    assert ">Attended</button>" in html and ">No-show</button>" in html and ">Late cancel</button>" in html
    assert ">Reschedule</button>" not in html
    assert staff.therapist.post(f"/appointments/{appt}/attendance", {"status": "no_show"}).status_code == 302
    with app.app_context():
        assert db.session.get(Appointment, appt).status == "no_show"
    bad = staff.therapist.post(f"/appointments/{appt}/attendance", {"status": "present"})
    assert bad.status_code == 422 and "must be one of" in bad.get_data(as_text=True)


def test_attendance_before_the_start_is_refused(app, staff, patient):
    appt = _book_domain(app, staff.therapist_id, patient, ny(WED, 10))
    response = staff.therapist.post(f"/appointments/{appt}/attendance", {"status": "attended"})
    assert response.status_code == 409 and "once the appointment has started" in response.get_data(as_text=True)


def test_another_therapists_appointment_cannot_be_changed(app, staff, patient):
    appt = _book_domain(app, staff.other_therapist_id, patient, ny(WED, 10))
    assert staff.therapist.post(f"/appointments/{appt}/cancel", {"reason": "x"}).status_code == 404  # as if missing
    with app.app_context():
        assert db.session.get(Appointment, appt).status == "scheduled"


# --- availability --------------------------------------------------------------------------

def _hours(app, therapist_id):
    with app.app_context():
        return sorted((r.weekday, f"{r.start_time:%H:%M}", f"{r.end_time:%H:%M}")
                      for r in db.session.get(Therapist, therapist_id).rules)


def test_availability_form_is_filled_from_the_stored_hours(staff):
    html = staff.therapist.text("/availability")
    assert 'id="f-d0b1_start" name="d0b1_start" type="time" value="09:00"' in html
    assert "Monday from" in html and ">Save hours</button>" in html and ">Preview</button>" in html


def test_save_weekly_hours_and_time_off(app, staff):
    form = {"therapist": str(staff.therapist_id), "action": "save", "off_count": "0",
            "d0b1_start": "09:00", "d0b1_end": "12:00", "d0b2_start": "13:00", "d0b2_end": "17:00",
            "d5b1_start": "10:00", "d5b1_end": "14:00",
            "off0_start": f"{WED.isoformat()}T09:00", "off0_end": f"{WED.isoformat()}T17:00",
            "off0_reason": "training"}
    response = staff.therapist.post("/availability", form)
    assert response.status_code == 302
    assert _hours(app, staff.therapist_id) == [(0, "09:00", "12:00"), (0, "13:00", "17:00"), (5, "10:00", "14:00")]
    html = staff.therapist.text(f"/calendar?week={WED.isoformat()}")
    assert f"Book {WED_LABEL}" not in html and "Time off" in html


def test_preview_saves_nothing(app, staff):
    before = _hours(app, staff.therapist_id)
    response = staff.therapist.post("/availability", {"therapist": str(staff.therapist_id), "action": "preview",
                                                      "off_count": "0", "d6b1_start": "10:00", "d6b1_end": "12:00"})
    assert response.status_code == 200 and "Preview (not saved yet)" in response.get_data(as_text=True)
    assert _hours(app, staff.therapist_id) == before


@pytest.mark.parametrize("change, field, message", [
    ({"d0b1_start": "25:00"}, "d0b1_start", "expected a time like 09:30"),
    ({"d0b1_end": ""}, "d0b1_end", "is required"),
    ({"d0b1_end": "08:00"}, "d0b1_end", "must be after start"),
    ({"d0b2_start": "11:00", "d0b2_end": "13:00"}, "d0b2_start", "overlaps"),
    ({"off0_start": "2026-13-01T09:00", "off0_end": "2026-12-01T10:00"}, "off0_start", "expected an ISO"),
])
def test_bad_hours_are_answered_beside_the_field(app, staff, change, field, message):
    before = _hours(app, staff.therapist_id)
    form = {"therapist": str(staff.therapist_id), "action": "save", "off_count": "0",
            "d0b1_start": "09:00", "d0b1_end": "12:00", **change}
    response = staff.therapist.post("/availability", form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and f'id="e-{field}"' in html and message in html, html[-3000:]
    assert f'value="{change.get(field, "")}"' in html  # what was typed is kept
    assert _hours(app, staff.therapist_id) == before


def test_a_therapist_may_not_change_anothers_hours(app, staff):
    before = _hours(app, staff.other_therapist_id)
    response = staff.therapist.post("/availability", {"therapist": str(staff.other_therapist_id), "action": "save",
                                                      "off_count": "0"})
    assert response.status_code == 404 and _hours(app, staff.other_therapist_id) == before  # as if missing




def test_a_change_of_hours_must_name_its_therapist(app, staff):
    before = _hours(app, staff.therapist_id)
    response = staff.coordinator.post("/availability", {"action": "save", "off_count": "0"})
    assert response.status_code == 404 and _hours(app, staff.therapist_id) == before


@pytest.mark.parametrize("path, form", [
    ("/appointments", {"therapist": "abc"}),
    ("/appointments", {"therapist": "1", "start": "x" * 5000, "patient_id": "99999999999999", "duration": "1e9"}),
    ("/appointments", {"therapist": "1", "start": "2026-12-09T11:00+05:00", "patient_id": "424242", "duration": "50"}),
    ("/appointments", {"therapist": "1", "start": "\x00", "q": "\x00%_", "duration": "-1"}),
    ("/availability", {"therapist": "1", "off_count": "99999999999", "action": "save"}),
    ("/availability", {"therapist": "1", "off_count": "x", "d0b1_start": "\x00", "d0b1_end": "9", "action": "preview"}),
    ("/appointments/1/reschedule", {"new_start": "9999-12-31T23:59"}),
    ("/appointments/1/attendance", {"status": ""}),
    ("/appointments/1/cancel", {"reason": "\x00"}),
    ("/appointments/patients", {"q": "%" * 300}),
])
def test_odd_input_is_never_a_server_error(app, staff, patient, path, form):
    _book_domain(app, staff.therapist_id, patient, ny(WED, 10))
    response = staff.coordinator.post(path, form)
    assert response.status_code < 500, response.get_data(as_text=True)[:500]


def test_each_repeated_hour_slot_on_a_fall_back_night_books_the_instant_it_shows(app, staff, patient,
                                                                               make_therapist):
    import re

    from tests.support import next_dst_changes
    _, fall = next_dst_changes()
    night = make_therapist(name="Night Owl", hours=((fall.weekday(),), "00:00", "04:00"))
    html = staff.admin.text(f"/calendar?therapist={night}&week={fall.isoformat()}")
    values = re.findall(rf'name="start" value="({fall.isoformat()}T01:30[^"]*)"', html)
    assert len(set(values)) == 2, values  # the 01:30 before and after the clocks go back
    booked = []
    for value in sorted(set(values)):
        form = staff.admin.text(f"/appointments/new?therapist={night}&start={quote(value)}")
        assert "1:30 AM" in form
        response = staff.admin.post("/appointments", {"therapist": str(night), "start": value,
                                                      "patient_id": str(patient), "duration": "30"})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        with app.app_context():
            booked = [a.start_dt.astimezone(UTC) for a in db.session.query(Appointment)
                      .filter(Appointment.therapist_id == night).order_by(Appointment.start_dt)]
    first = datetime(fall.year, fall.month, fall.day, 5, 30, tzinfo=UTC)
    assert booked == [first, first + timedelta(hours=1)]


def _resubmit(client, path):
    """Post a page's form back exactly as shown: what an unchanged Save sends."""
    import html as markup
    import re
    page = client.text(path)
    form = page[page.index('<form method="post" action="/availability"'):]
    form = form[:form.index("</form>")]
    data = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and not ('type="checkbox"' in tag and " checked" not in tag):
            data[markup.unescape(name.group(1))] = markup.unescape(value.group(1)) if value else ""
    return data


def test_saving_the_availability_page_unchanged_keeps_every_block_and_time_off_instant(app, staff):
    from scheduler.scheduling import therapists
    from tests.support import next_dst_changes
    _, fall = next_dst_changes()
    blocks = [(0, "08:00", "10:00"), (0, "11:00", "13:00"), (0, "14:00", "16:00"), (0, "17:00", "19:00")]
    # 01:30 after the clocks go back (EST), until 03:00: the repeated hour's second reading.
    off_start = datetime(fall.year, fall.month, fall.day, 6, 30, tzinfo=UTC)
    off_end = datetime(fall.year, fall.month, fall.day, 8, tzinfo=UTC)
    with app.app_context():
        therapists.set_availability(db.session, staff.therapist_id,
                                    [(d, datetime.strptime(s, "%H:%M").time(), datetime.strptime(e, "%H:%M").time())
                                     for d, s, e in blocks],
                                    [therapists.TimeOff(off_start, off_end, "away")], clock.now())
        db.session.commit()
    form = _resubmit(staff.therapist, "/availability")
    form["action"] = "save"
    response = staff.therapist.post("/availability", form)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert _hours(app, staff.therapist_id) == blocks
    with app.app_context():
        kept = [(o.start_dt.astimezone(UTC), o.end_dt.astimezone(UTC))
                for o in db.session.get(Therapist, staff.therapist_id).exceptions]
    assert kept == [(off_start, off_end)]
    html = staff.therapist.text("/availability")
    assert 'name="d0b5_start"' in html  # an empty block to add one more


def test_weekly_hours_until_24_00_let_a_session_cross_midnight(app, staff, patient):
    form = {"therapist": str(staff.therapist_id), "action": "save", "off_count": "0",
            "d0b1_start": "18:00", "d0b1_end": "24:00", "d1b1_start": "00:00", "d1b1_end": "02:00"}
    response = staff.therapist.post("/availability", form)
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    assert _hours(app, staff.therapist_id) == [(0, "18:00", "00:00"), (1, "00:00", "02:00")]
    assert 'name="d0b1_end" type="time" value="00:00"' in staff.therapist.text("/availability")
    appt = _book_domain(app, staff.therapist_id, patient, ny(MON, 23, 30), minutes=60)
    with app.app_context():
        booked = db.session.get(Appointment, appt)
        assert booked.end_dt.astimezone(UTC) - booked.start_dt.astimezone(UTC) == timedelta(hours=1)
