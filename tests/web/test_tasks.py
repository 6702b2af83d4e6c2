"""`/tasks`: open follow-ups by role, each naming its patient and why; Done and undo."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from scheduler.extensions import db
from scheduler.models import AuditEvent, Task
from tests.support import NOW, add_group, next_monday, ny

ROLES = ("admin", "coordinator", "therapist")


@pytest.fixture
def inbox(app, staff, make_patient):
    """An R reply from a patient in the therapist's care, a failed text to another, a group clash."""
    mine, other = make_patient(name="Ana Mine"), make_patient(name="Bo Other")
    with app.app_context():
        add_group(db.session, staff.therapist_id, ny(next_monday(2), 18), enrolled=(mine,))
        rows = [Task(patient_id=mine, kind="reschedule_request", detail="Replied R", created_at=NOW),
                Task(patient_id=other, kind="sms_failed", detail="Text not sent", created_at=NOW),
                Task(kind="group_clash", detail="Group 1: the facilitator is busy", created_at=NOW)]
        db.session.add_all(rows)
        db.session.commit()
        return [t.id for t in rows]


def test_page_by_role(staff, pages, inbox):
    for role in ROLES:
        assert getattr(staff, role).get("/tasks").status_code == 200
    assert "/login" in pages.get("/tasks").location


def test_each_task_names_its_patient_and_why(staff, inbox):
    html = staff.coordinator.get("/tasks").get_data(as_text=True)
    assert "Ana Mine" in html and "Asked to reschedule (replied R)" in html
    assert "Bo Other" in html and "A text could not be delivered" in html
    assert "facilitator&#39;s calendar" in html or "facilitator's calendar" in html
    assert html.count(">Done</button>") == 3


def test_a_therapist_sees_only_tasks_about_their_patients(app, staff, inbox):
    mine, other, clash = inbox
    html = staff.therapist.get("/tasks").get_data(as_text=True)
    assert "Ana Mine" in html and "Bo Other" not in html and "facilitator" not in html
    assert staff.therapist.post(f"/tasks/{other}/done").status_code == 404
    assert staff.therapist.post(f"/tasks/{clash}/done").status_code == 404
    assert staff.therapist.post(f"/tasks/{mine}/done").status_code == 302
    with app.app_context():  # each refusal audited as a look at that task
        refused = db.session.execute(select(AuditEvent.entity, AuditEvent.entity_id)
                                     .where(AuditEvent.action == "refused").order_by(AuditEvent.id)).all()
    assert refused == [("task", other), ("task", clash)]


def test_done_and_undo(staff, app, inbox):
    mine = inbox[0]
    assert staff.coordinator.post(f"/tasks/{mine}/done").status_code == 302
    assert staff.coordinator.post(f"/tasks/{mine}/done").status_code == 302  # a double submit
    html = staff.coordinator.get("/tasks").get_data(as_text=True)
    assert html.count(">Done</button>") == 2 and ">Undo</button>" in html
    assert staff.coordinator.post(f"/tasks/{mine}/undo").status_code == 302
    assert staff.coordinator.post(f"/tasks/{mine}/undo").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Task.done_at).where(Task.id == mine)) is None
    assert staff.coordinator.post("/tasks/999999/done").status_code == 404


def test_done_without_csrf_is_refused(staff, app, inbox):
    assert staff.coordinator.post(f"/tasks/{inbox[0]}/done", csrf=False).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(Task.done_at).where(Task.id == inbox[0])) is None


def test_the_inbox_shows_one_kind_and_each_patients_phone(staff, inbox):
    html = staff.coordinator.get("/tasks?kind=sms_failed").get_data(as_text=True)
    assert "Bo Other" in html and "Ana Mine" not in html and html.count(">Done</button>") == 1
    assert 'value="sms_failed" selected' in html and "Open: Text failed (1)" in html
    assert 'href="tel:+' in html  # the phone to call, beside the name
    refused = staff.coordinator.get("/tasks?kind=nonsense")
    assert refused.status_code == 400 and "Choose a kind from the list." in refused.get_data(as_text=True)
