"""Issue 17's "clear" and "complete" items by route: the week grid, an appointment's page, the
availability preview, the day at a glance with its printed day, and the phone menu.

The clock is pinned (frozen_clock) where the answer depends on today: NOW is Monday 2026-03-02,
7:00 AM in New York.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scheduler.core.settings import current
from scheduler.extensions import db
from scheduler.models import Appointment, AvailabilityException, GroupSeries, Message, Task, User
from scheduler.scheduling import appointments
from tests.support import NOW, add_group, ny

TUE = ny(3, 10)  # Tue Mar 3, 10:00 AM New York


@pytest.fixture
def patient(make_patient):
    return make_patient(name="Alex Morgan", phone="+12015550101")


def _user_id(app, role: str) -> int:
    with app.app_context():
        return db.session.query(User.id).filter(User.role == role).order_by(User.id).first()[0]


def _book(app, therapist_id, patient_id, start, user_id=None) -> int:
    with app.app_context():
        appt = appointments.book(db.session, therapist_id, patient_id, start, 50, NOW, user_id, settings=current())
        db.session.commit()
        return appt.id


# --- the week grid -------------------------------------------------------------------------

def test_a_cancelled_session_is_listed_apart_and_its_time_offered(app, staff, patient, frozen_clock):
    appt = _book(app, staff.therapist_id, patient, TUE)
    with app.app_context():
        appointments.cancel(db.session, appt, NOW, "patient asked", settings=current())
        db.session.commit()
    html = staff.therapist.text("/calendar?week=2026-03-03")
    grid, below = html.split('id="h-cancelled"')
    assert f'href="/appointments/{appt}"' not in grid  # not drawn over the slots it freed
    assert "Book Tue Mar 3, </span>10:00 AM</button>" in grid
    assert f'href="/appointments/{appt}">Tue Mar 3, 10:00 AM–10:50 AM Alex Morgan</a>' in below


@pytest.mark.parametrize("moment, monday", [
    (datetime(2026, 3, 4, 15, tzinfo=UTC), "Mon Mar 2"),  # a Wednesday: this week
    (datetime(2026, 3, 1, 17, tzinfo=UTC), "Mon Mar 2"),  # Sunday noon in New York: the coming week
    (datetime(2026, 3, 1, 3, tzinfo=UTC), "Mon Feb 23"),  # still Saturday evening in New York
])
def test_the_week_opens_on_this_week_in_the_therapists_zone(staff, frozen_clock, moment, monday):
    frozen_clock.move_to(moment, tick=False)
    html = staff.therapist.text("/calendar")
    assert f"week of {monday} –" in html


def test_next_free_time_jumps_to_the_week_of_the_next_free_slot(app, staff, frozen_clock):
    with app.app_context():  # away until Friday Mar 20: the next free half hour is that morning
        db.session.add(AvailabilityException(therapist_id=staff.therapist_id, start_dt=NOW,
                                             end_dt=ny(20, 0), reason="leave"))
        db.session.commit()
    html = staff.therapist.text("/calendar")
    assert 'href="/calendar?week=2026-03-20#week">Next free time</a>' in html


def test_no_free_time_says_so(make_therapist, staff, frozen_clock):
    idle = make_therapist(name="Idle Iris", hours=None)
    html = staff.coordinator.text(f"/calendar?therapist={idle}")
    assert "Next free time" not in html and "No free time in the next 12 weeks" in html


# --- an appointment's page -----------------------------------------------------------------

def test_the_appointment_page_tells_each_texts_state(app, staff, patient, frozen_clock):
    appt = _book(app, staff.therapist_id, patient, TUE, _user_id(app, "coordinator"))
    with app.app_context():
        for m in db.session.query(Message).filter_by(appointment_id=appt):
            if m.kind == "booked":
                m.status, m.sent_at = "sent", NOW
        db.session.add(Message(patient_id=patient, appointment_id=appt, kind="cancelled", status="failed",
                               error_code=30006, created_at=NOW, sent_at=NOW + timedelta(minutes=5)))
        db.session.add(Message(patient_id=patient, appointment_id=appt, kind="confirm", direction="in",
                               status="received", body="C", created_at=NOW + timedelta(minutes=9)))
        db.session.add(Message(patient_id=patient, appointment_id=appt, kind="reminder", status="withdrawn",
                               created_at=NOW, due_at=NOW))
        appointments.confirm(db.session, db.session.get(Appointment, appt), NOW + timedelta(minutes=9))
        db.session.commit()
    html = staff.therapist.text(f"/appointments/{appt}")
    texts = html.split('id="h-texts"')[1].split("</section>")[0]
    assert "Booking text sent, Mon Mar 2, 7:00 AM" in texts
    assert "Reminder text queued for Tue Mar 3, 8:00 AM" in texts  # in the therapist's 12-hour time
    assert "Cancelled text: delivery failed (" in texts and 'class="form-error"' in texts
    assert "Confirmed by the patient (replied C), Mon Mar 2, 7:09 AM" in texts
    assert texts.count("<li") == 4  # the withdrawn reminder is not noise on the page
    history = html.split('id="h-history"')[1]
    assert "Booked\n      by coordinator" in history or "Booked by coordinator" in " ".join(history.split())
    assert "Confirmed by the patient (replied C)" in " ".join(history.split())


def test_history_names_who_cancelled_and_why(app, staff, patient, frozen_clock):
    appt = _book(app, staff.therapist_id, patient, TUE)
    response = staff.therapist.post(f"/appointments/{appt}/cancel",
                                    {"reason": "The patient is travelling", "confirm": "yes"})
    assert response.status_code == 302
    history = " ".join(staff.therapist.text(f"/appointments/{appt}").split('id="h-history"')[1].split())
    assert "Booked by the system" in history
    assert "Cancelled by therapist" in history and "Reason: The patient is travelling" in history


def test_attendance_buttons_show_the_status_recorded(app, staff, patient, frozen_clock):
    start = NOW - timedelta(minutes=20)  # begun: attendance may be taken
    with app.app_context():
        row = Appointment(therapist_id=staff.therapist_id, patient_id=patient, start_dt=start,
                          end_dt=start + timedelta(minutes=50), status="scheduled", version=1,
                          created_at=start, updated_at=start)
        db.session.add(row)
        db.session.commit()
        appt = row.id
    page = staff.therapist.text(f"/appointments/{appt}")
    assert "Not recorded yet." in page and 'aria-pressed="true"' not in page
    assert staff.therapist.post(f"/appointments/{appt}/attendance", {"status": "no_show"}).status_code == 302
    page = staff.therapist.text(f"/appointments/{appt}")
    assert 'value="no_show" aria-pressed="true"' in page and 'value="attended" aria-pressed="false"' in page
    assert "Recorded: <strong>No-show</strong>" in page
    assert "Attendance: No-show" in page


# --- availability ----------------------------------------------------------------------------

def test_the_preview_shows_the_week_of_the_time_off_and_links_what_falls_in_it(app, staff, patient, frozen_clock):
    appt = _book(app, staff.therapist_id, patient, ny(18, 10))  # Wed Mar 18
    form = {"therapist": str(staff.therapist_id), "action": "preview", "off_count": "0",
            **{f"d{d}b1_{p}": t for d in range(5) for p, t in (("start", "09:00"), ("end", "17:00"))},
            "off0_start": "2026-03-17T00:00", "off0_end": "2026-03-19T00:00", "off0_reason": "course"}
    html = staff.therapist.post("/availability", form).get_data(as_text=True)
    assert "Preview (not saved yet) <small class=\"muted\">week of Mon Mar 16</small>" in html
    assert f'<a href="/appointments/{appt}">Alex Morgan, Wed Mar 18 10:00 AM</a>' in html
    form["action"] = "save"
    assert staff.therapist.post("/availability", form).status_code == 302
    html = staff.therapist.text("/availability")  # after saving, the page still names them
    assert "fall outside the hours or in the time off" in html
    assert f'<a href="/appointments/{appt}">Alex Morgan, Wed Mar 18 10:00 AM</a>' in html


# --- the day at a glance and the printed day ------------------------------------------------

def test_the_day_at_a_glance_lists_what_needs_action(app, staff, patient, make_patient, frozen_clock):
    later = _book(app, staff.therapist_id, patient, ny(2, 14))  # today, 2 PM, not confirmed
    other = make_patient(name="Jordan Price")
    missed = _book(app, staff.other_therapist_id, other, ny(2, 9))
    with app.app_context():
        db.session.get(Appointment, missed).status = "no_show"
        db.session.add(Message(patient_id=other, kind="reminder", status="undelivered", error_code=30003,
                               created_at=NOW, sent_at=NOW))
        db.session.add_all([Task(patient_id=patient, kind="reschedule_request", created_at=NOW),
                            Task(patient_id=other, kind="no_show", created_at=NOW),
                            Task(patient_id=other, kind="no_show", created_at=NOW, done_at=NOW)])
        db.session.commit()
    html = staff.coordinator.text("/")
    needs = html.split('id="h-needs"')[1].split('id="h-schedules"')[0]
    unconfirmed = needs.split('id="h-unconfirmed"')[1].split("</section>")[0]
    assert f'href="/appointments/{later}">Alex Morgan, Mon Mar 2, 2:00 PM</a>' in unconfirmed
    assert "Jordan Price" not in unconfirmed
    assert f'href="/appointments/{missed}">Jordan Price, Mon Mar 2, 9:00 AM</a>' in needs.split('id="h-noshows"')[1]
    failed = needs.split('id="h-failed"')[1].split("</section>")[0]
    assert f'href="/patients/{other}#messages-title">Jordan Price</a>' in failed and "Reminder text not delivered" in failed
    tasks = needs.split('id="h-open-tasks"')[1]
    assert "<summary>Asked to reschedule (1)</summary>" in tasks and "<summary>No-show (1)</summary>" in tasks
    assert 'href="/tasks">All open tasks</a>' in tasks
    assert f'href="/print/day?therapist={staff.therapist_id}&amp;day=2026-03-02">Print Dana Reyes' in html


def test_a_quiet_day_says_nothing_needs_action(staff, frozen_clock):
    assert "Nothing needs action today." in staff.admin.text("/")


def test_the_printed_day_has_no_menu_and_names_the_room(app, staff, patient, frozen_clock):
    _book(app, staff.therapist_id, patient, ny(2, 10))
    with app.app_context():
        group = add_group(db.session, staff.therapist_id, ny(2, 15))
        db.session.get(GroupSeries, group).location = "Room 4B"
        db.session.commit()
    html = staff.coordinator.text(f"/print/day?therapist={staff.therapist_id}&day=2026-03-02")
    assert 'aria-label="Main"' not in html and "Sign out" not in html
    assert "Alex Morgan" in html and "Evening circle" in html and "<td>Room 4B</td>" in html
    assert "<h1>Dana Reyes <small>Mon Mar 2, 2026</small></h1>" in html
    assert staff.therapist.text("/print/day?day=2026-03-02").count("Alex Morgan") == 1
    other = staff.therapist.get(f"/print/day?therapist={staff.other_therapist_id}")
    assert other.status_code == 404  # another therapist's day, as if it did not exist


# --- phone width -----------------------------------------------------------------------------

def test_every_page_has_a_compact_menu_for_a_phone(staff):
    html = staff.therapist.text("/")
    assert '<details class="menu-narrow">' in html and "<summary>Menu</summary>" in html
    assert html.count(">Sign out</button>") == 2  # the desk's row and the phone's menu; CSS shows one
