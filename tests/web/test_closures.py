"""Clinic closed days: kept by admins on /admin, warned about (never refused) in the new-group preview."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from scheduler.extensions import db
from scheduler.models import AuditEvent, ClinicClosure, GroupSeries
from tests.support import NY, at, next_monday


def add(client, day: str, note: str = "Christmas Day", form_id: str = "c1"):
    return client.post("/admin/closures", data={"date": day, "note": note, "form_id": form_id})


def test_admins_add_list_and_remove_closed_days(staff, app):
    page = staff.admin.get("/admin").get_data(as_text=True)
    assert "Clinic closed days" in page and ">Date</label>" in page and ">Note</label>" in page
    assert ">Add closed day</button>" in page and "No closed days are marked." in page
    response = add(staff.admin, "2026-12-25")
    assert response.status_code == 302 and response.location.endswith("/admin#closures")
    page = staff.admin.get("/admin").get_data(as_text=True)
    assert "Fri Dec 25, 2026 is marked closed (Christmas Day)." in page
    assert re.search(r"<td>Fri Dec 25, 2026</td><td>Christmas Day</td>", page) and ">Remove</button>" in page
    with app.app_context():
        closure_id = db.session.scalar(select(ClinicClosure.id))
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.entity == "clinic_closure", AuditEvent.action == "create")) == 1
    assert staff.admin.post(f"/admin/closures/{closure_id}/remove", data={}).status_code == 302
    assert "No closed days are marked." in staff.admin.get("/admin").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ClinicClosure)) == 0
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.entity == "clinic_closure", AuditEvent.action == "delete")) == 1
    assert staff.admin.post(f"/admin/closures/{closure_id}/remove", data={}).status_code == 404


@pytest.mark.parametrize(("day", "note", "field", "message"), [
    ("2026-02-30", "Holiday", "date", "Date must be a real date"),
    ("soon", "Holiday", "date", "Date must be a real date"),
    ("2026-12-24", "", "note", "Note is required"),
    ("2026-12-24", "x" * 61, "note", "Note must be at most 60 characters"),
])
def test_bad_input_is_said_beside_the_field(staff, app, day, note, field, message):
    response = add(staff.admin, day, note)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html and f'id="e-{field}"' in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ClinicClosure)) == 0


def test_a_day_already_closed_is_refused_beside_the_date(staff, app):
    assert add(staff.admin, "2026-12-25", form_id="a").status_code == 302
    again = add(staff.admin, "2026-12-25", "Xmas", form_id="b")
    html = again.get_data(as_text=True)
    assert again.status_code == 409 and "Date is already marked closed (Christmas Day)" in html
    assert 'id="e-date"' in html and 'value="Xmas"' in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ClinicClosure)) == 1


def test_only_admins_change_closed_days(staff, app):
    add(staff.admin, "2026-12-25")
    with app.app_context():
        closure_id = db.session.scalar(select(ClinicClosure.id))
    for client in (staff.coordinator, staff.therapist):
        assert add(client, "2026-12-31", form_id="x").status_code == 403
        assert client.post(f"/admin/closures/{closure_id}/remove", data={}).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ClinicClosure)) == 1


def test_the_preview_warns_about_a_closed_day_and_the_group_can_still_be_created(staff, app):
    day = next_monday(2) + timedelta(days=1)  # the Tuesday new_group starts on
    closed = day + timedelta(weeks=2)  # its third meeting
    add(staff.admin, closed.isoformat(), "Staff training")
    label = f"{closed:%a %b} {closed.day}"
    fragment = staff.coordinator.get("/groups/preview", query_string={
        "first_meeting": at(day, 18), "timezone": NY, "meetings": "4"}).get_data(as_text=True)
    assert f"{label} — the clinic is closed (Staff training)" in fragment
    assert "warning only: you can still create the group" in fragment
    assert fragment.count("the clinic is closed (Staff training)") == 2  # the warning and the marked meeting
    page = staff.coordinator.post("/groups/new", data={
        "first_meeting": at(day, 18), "timezone": NY, "meetings": "4", "action": "preview"})
    assert "the clinic is closed (Staff training)" in page.get_data(as_text=True)
    created = staff.coordinator.post("/groups/new", data={
        "title": "Evening circle", "facilitator": str(staff.therapist_id), "capacity": "2",
        "first_meeting": at(day, 18), "duration": "60", "timezone": NY, "meetings": "4", "form_id": "g1"})
    assert created.status_code == 302 and re.search(r"/groups/\d+$", created.location)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(GroupSeries)) == 1
