"""Asking first (web/confirm.py): Cancel appointment, Drop, Cancel meeting and deactivating a user say
what will happen and who is texted; nothing changes and nothing is written to send until confirmed.
Also the group page's order, waitlist places and what enrolling says (issue 17, items 1 and 6)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from scheduler.core import clock
from scheduler.core.settings import current
from scheduler.extensions import db
from scheduler.models import Appointment, Enrollment, GroupSeries, Message, Occurrence, Patient, User
from scheduler.scheduling import appointments
from tests.support import add_group, at, next_monday, ny

WED = next_monday() + timedelta(days=2)
WED_LABEL = f"{WED:%a %b} {WED.day}"
HTMX = {"HX-Request": "true"}


def _book(app, therapist_id, patient_id, told=True) -> int:
    """An appointment on Wednesday at 10:00; `told`: its booking text went out."""
    with app.app_context():
        appt = appointments.book(db.session, therapist_id, patient_id, ny(WED, 10), 50, clock.now(),
                                 settings=current())
        if told:
            db.session.execute(update(Message).where(Message.appointment_id == appt.id, Message.kind == "booked")
                               .values(status="sent"))
        db.session.commit()
        return appt.id


def _texts(app, **where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Message).filter_by(**where))


def _status(app, appt) -> str:
    with app.app_context():
        return db.session.get(Appointment, appt).status


# --- Cancel appointment -------------------------------------------------------------------

def test_cancel_asks_first_saying_who_is_texted_then_does_it(app, staff, make_patient):
    alex = make_patient(name="Alex Morgan")
    appt = _book(app, staff.therapist_id, alex)
    asked = staff.therapist.post(f"/appointments/{appt}/cancel", {"reason": "patient asked"})
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "<h1" in html and "Cancel this appointment?" in html
    assert f"Alex Morgan will get a text that the session on {WED_LABEL}, 10:00 AM is cancelled." in html
    assert "the text does not include it" in html
    # The answer carries what was posted, and the confirmation; nothing happened yet.
    assert 'name="reason" value="patient asked"' in html and 'name="confirm" value="yes"' in html
    assert ">Yes, cancel appointment</button>" in html and f'href="/appointments/{appt}">Keep the appointment' in html
    assert _status(app, appt) == "scheduled" and _texts(app, appointment_id=appt, kind="cancelled") == 0
    done = staff.therapist.post(f"/appointments/{appt}/cancel", {"reason": "patient asked", "confirm": "yes"})
    assert done.status_code == 302 and _status(app, appt) == "cancelled"
    assert _texts(app, appointment_id=appt, kind="cancelled") == 1
    page = staff.therapist.text(done.location)
    assert "Alex Morgan will get a text that the session" in page


def test_cancel_says_when_nobody_is_texted(app, staff, make_patient):
    untold = _book(app, staff.therapist_id, make_patient(name="Alex Morgan"), told=False)
    html = staff.therapist.post(f"/appointments/{untold}/cancel", {"reason": ""}).get_data(as_text=True)
    assert "Alex Morgan is not texted: no text about this session had gone out yet." in html
    no_consent = make_patient(name="Jo Quiet")
    appt = _book(app, staff.other_therapist_id, no_consent)
    with app.app_context():
        db.session.get(Patient, no_consent).sms_consent = False
        db.session.commit()
    html = staff.coordinator.post(f"/appointments/{appt}/cancel", {"reason": ""}).get_data(as_text=True)
    assert "Jo Quiet will not be texted that the session on" in html and "they have not consented to texts" in html
    assert _status(app, appt) == "scheduled"


def test_cancel_in_the_dialog_and_a_refusal_there(app, staff, make_patient):
    appt = _book(app, staff.therapist_id, make_patient(name="Alex Morgan"))
    html = staff.therapist.post(f"/appointments/{appt}/cancel", {"reason": "x", "scope": "later"},
                                headers=HTMX).get_data(as_text=True)
    assert "<html" not in html and '<h2 id="dialog-title">Cancel this appointment?</h2>' in html
    assert "data-close-dialog autofocus>Keep the appointment</button>" in html
    assert 'name="scope" value="later"' in html  # whatever the form posts is carried to the confirmation
    refused = staff.therapist.post(f"/appointments/{appt}/cancel", {"reason": "x" * 501}, headers=HTMX)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 200 and "Not done" in html and "Reason must be at most 500 characters" in html
    assert _status(app, appt) == "scheduled"


def test_the_page_opens_the_question_in_the_dialog(app, staff, make_patient):
    appt = _book(app, staff.therapist_id, make_patient())
    html = staff.therapist.text(f"/appointments/{appt}")
    assert f'hx-post="/appointments/{appt}/cancel" hx-target="#dialog-body"' in html


# --- Drop, Cancel meeting -----------------------------------------------------------------

@pytest.fixture
def full_group(app, staff, make_patient):
    """One seat, held by Ana Uno; Cy Tres and Di Cuatro wait, in that order."""
    ana, cy, di = (make_patient(name=n) for n in ("Ana Uno", "Cy Tres", "Di Cuatro"))
    with app.app_context():
        start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=3)
        gid = add_group(db.session, staff.therapist_id, start, enrolled=(ana,))
        db.session.get(GroupSeries, gid).capacity = 1
        for n, pid in enumerate((cy, di)):
            db.session.add(Enrollment(group_id=gid, patient_id=pid, status="waitlisted", created_at=start,
                                      waitlisted_at=datetime(2026, 3, 2, 15 + n, tzinfo=UTC)))
        db.session.commit()
    return gid, ana, cy, di


def _statuses(app, gid):
    with app.app_context():
        return dict(db.session.execute(select(Enrollment.patient_id, Enrollment.status)
                                       .where(Enrollment.group_id == gid)).all())


def test_drop_asks_first_naming_who_moves_up_then_does_it(app, staff, full_group):
    gid, ana, cy, di = full_group
    before = _statuses(app, gid)
    html = staff.coordinator.post(f"/groups/{gid}/drop/{ana}").get_data(as_text=True)
    assert "Drop Ana Uno?" in html and "Ana Uno leaves Evening circle: their seat is freed" in html
    assert "Cy Tres moves up from the waitlist into the freed seat." in html
    assert "Cy Tres will get a text that a seat in Evening circle is theirs, from" in html
    assert ">Yes, drop Ana Uno</button>" in html
    assert _statuses(app, gid) == before and _texts(app, kind="waitlist_promoted") == 0
    done = staff.coordinator.post(f"/groups/{gid}/drop/{ana}", data={"confirm": "yes"})
    assert done.status_code == 302
    assert _statuses(app, gid) == {ana: "dropped", cy: "enrolled", di: "waitlisted"}
    assert _texts(app, kind="waitlist_promoted", patient_id=cy) == 1
    page = staff.coordinator.text(done.location)
    assert "Cy Tres moves up from the waitlist into the freed seat." in page
    assert "No. 1 in line, waiting since" in page  # Di Cuatro, now first


def test_drop_from_the_waitlist_and_with_nobody_waiting(app, staff, full_group):
    gid, ana, cy, di = full_group
    html = staff.coordinator.post(f"/groups/{gid}/drop/{di}").get_data(as_text=True)
    assert "Di Cuatro leaves the waitlist of Evening circle (No. 2 in line)" in html
    assert "moves up" not in html
    for pid in (cy, di):
        staff.coordinator.post(f"/groups/{gid}/drop/{pid}", data={"confirm": "yes"})
    html = staff.coordinator.post(f"/groups/{gid}/drop/{ana}", headers=HTMX).get_data(as_text=True)
    assert "Nobody moves up: the waitlist is empty." in html and "<html" not in html
    assert _statuses(app, gid)[ana] == "enrolled"


def test_cancel_meeting_asks_first_then_tells_the_enrolled(app, staff, full_group):
    gid, ana, cy, _ = full_group
    with app.app_context():
        occ = db.session.scalar(select(Occurrence.id).where(Occurrence.group_id == gid))
    html = staff.coordinator.post(f"/groups/{gid}/meetings/{occ}/cancel").get_data(as_text=True)
    assert "Cancel the meeting on" in html and "is called off and its reminders withdrawn" in html
    assert "Ana Uno will get a text that the group meeting on" in html and "Cy Tres will" not in html
    with app.app_context():
        assert db.session.get(Occurrence, occ).cancelled is False
    assert _texts(app, occurrence_id=occ, kind="cancelled") == 0
    assert staff.coordinator.post(f"/groups/{gid}/meetings/{occ}/cancel",
                                  data={"confirm": "yes"}).status_code == 302
    assert _texts(app, occurrence_id=occ, kind="cancelled") == 1
    again = staff.coordinator.post(f"/groups/{gid}/meetings/{occ}/cancel", headers=HTMX)
    assert again.status_code == 200 and "already cancelled" in again.get_data(as_text=True)


# --- the group page (item 6) --------------------------------------------------------------

def test_group_page_roster_first_with_places_and_what_enrolling_did(app, staff, full_group, make_patient):
    gid, *_ = full_group
    html = staff.coordinator.text(f"/groups/{gid}")
    assert html.index("Roster (") < html.index(">Enroll</button>") < html.index("Next meetings")
    assert "No. 1 in line, waiting since Mon Mar 2, 10:00 AM" in html and "No. 2 in line" in html
    eve = make_patient(name="Eve Cinco")
    done = staff.coordinator.post(f"/groups/{gid}/enroll", data={"patient_id": str(eve), "form_id": "e1"})
    assert "Evening circle is full: Eve Cinco is on the waitlist, No. 3 in line." in staff.coordinator.text(
        done.location)
    done = staff.coordinator.post(f"/groups/{gid}/edit", data={"title": "Evening circle", "facilitator": str(
        staff.therapist_id), "capacity": "2", "location": ""})
    page = staff.coordinator.text(done.location)
    assert "Group saved. Cy Tres moves up from the waitlist into the freed seat." in page
    fay = make_patient(name="Fay Seis")
    with app.app_context():
        db.session.get(GroupSeries, gid).capacity = 5
        db.session.commit()
    done = staff.coordinator.post(f"/groups/{gid}/enroll", data={"patient_id": str(fay), "form_id": "e2"})
    page = staff.coordinator.text(done.location)
    # Those already waiting go first: a newcomer never jumps the line.
    assert "Di Cuatro and Eve Cinco will each get a text that a seat in Evening circle is theirs" in page
    assert "Fay Seis is enrolled in Evening circle and will be reminded by text before each meeting." in page


def test_new_group_preview_warns_about_a_past_first_meeting(staff):
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    html = staff.coordinator.get("/groups/preview", query_string={
        "first_meeting": at(yesterday, 18), "timezone": "America/New_York", "meetings": "3"}).get_data(as_text=True)
    assert "The first meeting is in the past" in html and "(in the past)" in html
    html = staff.coordinator.get("/groups/preview", query_string={
        "first_meeting": at(next_monday(), 18), "timezone": "America/New_York", "meetings": "3"}).get_data(as_text=True)
    assert "in the past" not in html


# --- deactivating a user ------------------------------------------------------------------

def test_deactivate_asks_first_then_does_it_and_reactivate_is_one_press(app, staff):
    with app.app_context():
        uid, email = db.session.execute(select(User.id, User.email).where(User.role == "coordinator")).one()
    html = staff.admin.post(f"/admin/users/{uid}/active", data={"active": "0"}).get_data(as_text=True)
    assert f"Deactivate {email}?" in html and "signed out everywhere at once" in html and "nobody is texted" in html
    assert f">Yes, deactivate {email}</button>" in html
    assert staff.coordinator.get("/").status_code == 200  # still signed in: nothing changed
    with app.app_context():
        assert db.session.get(User, uid).active is True
    assert staff.admin.post(f"/admin/users/{uid}/active", data={"active": "0", "confirm": "yes"}).status_code == 302
    assert staff.coordinator.get("/").status_code == 302  # signed out
    assert staff.admin.post(f"/admin/users/{uid}/active", data={"active": "1"}).status_code == 302
    with app.app_context():
        assert db.session.get(User, uid).active is True
