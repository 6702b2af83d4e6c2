"""`/groups`: the list, new group with its preview, the group's page, enroll/drop, cancel, attendance."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from scheduler.extensions import db
from scheduler.models import Attendance, Enrollment, GroupSeries, Message, Occurrence
from tests.support import NY, add_group, at, next_dst_changes, next_monday

ROLES = ("admin", "coordinator", "therapist")


def new_group(client, therapist: int, **overrides):
    day = next_monday(2) + timedelta(days=1)  # a Tuesday two weeks ahead
    data = {"title": "Evening circle", "facilitator": str(therapist), "capacity": "2",
            "first_meeting": at(day, 18), "duration": "60", "timezone": NY, "meetings": "4",
            "location": "Room 2", "form_id": overrides.pop("form_id", "f1"), **overrides}
    return client.post("/groups/new", data=data)


def group_id_of(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(re.search(r"/groups/(\d+)", response.location).group(1))


@pytest.fixture
def group(staff):
    """A weekly group facilitated by the signed-in therapist."""
    return group_id_of(new_group(staff.coordinator, staff.therapist_id))


@pytest.mark.parametrize(("path", "allowed"), [
    ("/groups", ROLES), ("/groups/new", ("admin", "coordinator")),
    ("/groups/preview", ("admin", "coordinator")),
])
def test_pages_by_role(staff, pages, path, allowed):
    for role in ROLES:
        assert staff.__dict__[role].get(path).status_code == (200 if role in allowed else 403), role
    response = pages.get(path)
    assert response.status_code == 302 and "/login" in response.location


def test_group_page_by_role(staff, pages, group, make_therapist):
    for role in ROLES:
        assert staff.__dict__[role].get(f"/groups/{group}").status_code == 200
    assert pages.get(f"/groups/{group}").status_code == 302
    other = group_id_of(new_group(staff.coordinator, staff.other_therapist_id, form_id="f2"))
    assert staff.therapist.get(f"/groups/{other}").status_code == 404  # not theirs: not there
    assert staff.therapist.get("/groups/999999").status_code == 404
    listing = staff.therapist.get("/groups").get_data(as_text=True)
    assert f"/groups/{group}" in listing and f"/groups/{other}" not in listing


@pytest.mark.parametrize("path", ["/groups/{g}/edit", "/groups/{g}/enroll", "/groups/{g}/drop/1",
                                  "/groups/{g}/meetings/1/cancel", "/groups/new"])
def test_therapists_may_not_change_groups(staff, group, path):
    assert staff.therapist.post(path.format(g=group), data={}).status_code == 403


def test_a_post_without_csrf_is_refused(staff, app):
    response = new_group(staff.coordinator, staff.therapist_id, csrf_token="")
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(GroupSeries)) == 0


def test_new_group_form_names_its_fields(staff):
    html = staff.coordinator.get("/groups/new").get_data(as_text=True)
    for label in ("Title", "Facilitator", "Capacity", "First meeting", "Duration", "Time zone",
                  "Meetings", "Location"):
        assert f">{label}</label>" in html, label
    assert ">Create group</button>" in html


def test_create_group_keeps_the_local_hour_across_dst(staff, app):
    change = min(next_dst_changes())  # a Sunday
    first = change - timedelta(days=5)  # the Tuesday before it
    if first <= next_monday(1) - timedelta(days=6):
        pytest.skip("the next DST change is this week")
    response = new_group(staff.coordinator, staff.therapist_id, first_meeting=at(first, 18))
    gid = group_id_of(response)
    with app.app_context():
        starts = db.session.scalars(select(Occurrence.start_dt).where(Occurrence.group_id == gid)
                                    .order_by(Occurrence.start_dt)).all()
    offsets = {s.astimezone(ZoneInfo("America/New_York")).utcoffset() for s in starts}
    assert len(starts) == 4 and len(offsets) == 2  # the meetings straddle the change
    html = staff.coordinator.get(f"/groups/{gid}").get_data(as_text=True)
    assert len(re.findall(r"<td>\w{3} \w{3} \d+, 6:00 PM</td>", html)) == 4


def test_preview_shows_local_times_with_and_without_js(staff):
    day = next_monday(2) + timedelta(days=1)
    fragment = staff.coordinator.get("/groups/preview", query_string={
        "first_meeting": at(day, 18), "timezone": NY, "meetings": "3"}).get_data(as_text=True)
    assert fragment.count("6:00 PM") == 3 and "<html" not in fragment
    page = staff.coordinator.post("/groups/new", data={
        "first_meeting": at(day, 18), "timezone": NY, "meetings": "3", "action": "preview"})
    assert page.status_code == 200 and page.get_data(as_text=True).count("6:00 PM") == 3


@pytest.mark.parametrize(("field", "value", "message"), [
    ("title", "", "Title is required"),
    ("capacity", "0", "Capacity must be at least 1"),
    ("capacity", "many", "Capacity must be a whole number"),
    ("duration", "2", "Duration must be at least 5"),
    ("timezone", "Mars/Base", "Time zone must be a time zone from the list"),
    ("meetings", "0", "Meetings must be from 1 to 104"),
    ("first_meeting", "2020-01-07T18:00", "First meeting must be in the future"),
    ("first_meeting", "soon", "First meeting expected an ISO 8601 date-time"),
    ("facilitator", "999999", "Facilitator must be one of the therapists listed"),
])
def test_bad_input_is_answered_beside_the_field(staff, app, field, value, message):
    response = new_group(staff.coordinator, staff.therapist_id, **{field: value})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html
    assert f'id="e-{field}"' in html
    assert 'value="Room 2"' in html  # what was typed is kept
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(GroupSeries)) == 0


def test_a_double_submit_creates_one_group(staff, app):
    first = new_group(staff.coordinator, staff.therapist_id, form_id="same")
    second = new_group(staff.coordinator, staff.therapist_id, form_id="same")
    assert second.status_code == 302 and second.location == first.location
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(GroupSeries)) == 1


def test_enroll_past_capacity_goes_to_the_waitlist_and_drop_promotes(staff, app, group, make_patient):
    ana, bo, cy = (make_patient(name=n) for n in ("Ana Uno", "Bo Dos", "Cy Tres"))
    for n, pid in enumerate((ana, bo, cy)):
        assert staff.coordinator.post(f"/groups/{group}/enroll",
                                      data={"patient_id": str(pid), "form_id": f"e{n}"}).status_code == 302
    html = staff.coordinator.get(f"/groups/{group}").get_data(as_text=True)
    enrolled, waitlist = html.split("<h3>Enrolled</h3>")[1].split("<h3>Waitlist</h3>")
    assert "Ana Uno" in enrolled and "Bo Dos" in enrolled and "Cy Tres" in waitlist.split("</ol>")[0]
    drop = {"confirm": "yes"}
    assert staff.coordinator.post(f"/groups/{group}/drop/{ana}", data=drop).status_code == 302
    assert staff.coordinator.post(f"/groups/{group}/drop/{ana}", data=drop).status_code == 302  # twice: harmless
    with app.app_context():
        status = dict(db.session.execute(select(Enrollment.patient_id, Enrollment.status)).all())
        assert status == {ana: "dropped", bo: "enrolled", cy: "enrolled"}
        assert db.session.scalar(select(Message.kind).where(Message.patient_id == cy,
                                                            Message.kind == "waitlist_promoted"))


def test_enroll_by_typed_name_and_its_mistakes(staff, group, make_patient):
    make_patient(name="Ana Uno")
    make_patient(name="Ana Otra")
    html = staff.coordinator.post(f"/groups/{group}/enroll", data={"patient": "Ana", "form_id": "x1"}
                                  ).get_data(as_text=True)
    assert "Patient matches several patients: pick one" in html and html.count('name="patient_id"') == 2
    html = staff.coordinator.post(f"/groups/{group}/enroll", data={"patient": "Zed", "form_id": "x2"}
                                  ).get_data(as_text=True)
    assert "Patient matches nobody" in html
    assert staff.coordinator.post(f"/groups/{group}/enroll",
                                  data={"patient": "Ana Uno", "form_id": "x3"}).status_code == 302
    again = staff.coordinator.post(f"/groups/{group}/enroll", data={"patient": "Ana Uno", "form_id": "x4"})
    assert again.status_code == 409 and "already enrolled" in again.get_data(as_text=True)


def test_cancel_one_meeting_tells_the_enrolled(staff, app, group, make_patient):
    pid = make_patient()
    staff.coordinator.post(f"/groups/{group}/enroll", data={"patient_id": str(pid), "form_id": "c1"})
    with app.app_context():
        occ = db.session.scalars(select(Occurrence).where(Occurrence.group_id == group)
                                 .order_by(Occurrence.start_dt)).first().id
    yes = {"confirm": "yes"}
    assert staff.coordinator.post(f"/groups/{group}/meetings/{occ}/cancel", data=yes).status_code == 302
    again = staff.coordinator.post(f"/groups/{group}/meetings/{occ}/cancel", data=yes)
    assert again.status_code == 409
    with app.app_context():
        assert db.session.scalar(select(Message.kind).where(Message.occurrence_id == occ,
                                                            Message.kind == "cancelled"))
    assert "Cancelled" in staff.coordinator.get(f"/groups/{group}").get_data(as_text=True)


def test_attendance_for_a_meeting_on_one_screen(staff, app, make_patient):
    ana, bo = make_patient(name="Ana Uno"), make_patient(name="Bo Dos")
    with app.app_context():  # a meeting that began an hour ago (groups cannot be created in the past)
        start = datetime.now(UTC).replace(microsecond=0, second=0) - timedelta(hours=1)
        gid = add_group(db.session, staff.therapist_id, start, enrolled=(ana, bo))
        occ = db.session.scalar(select(Occurrence.id).where(Occurrence.group_id == gid))
    path = f"/groups/{gid}/meetings/{occ}"
    html = staff.therapist.get(path).get_data(as_text=True)
    assert "Ana Uno" in html and "Bo Dos" in html and html.count('value="no_show"') == 2
    bad = staff.therapist.post(path, data={f"status-{ana}": "maybe"})
    assert bad.status_code == 422 and "choose one of the options" in bad.get_data(as_text=True)
    assert staff.therapist.post(path, data={}).status_code == 422
    ok = staff.therapist.post(path, data={f"status-{ana}": "attended", f"status-{bo}": "no_show"})
    assert ok.status_code == 302
    with app.app_context():
        assert dict(db.session.execute(select(Attendance.patient_id, Attendance.status)).all()) == {
            ana: "attended", bo: "no_show"}


def test_edit_a_group(staff, app, group):
    html = staff.coordinator.get(f"/groups/{group}/edit").get_data(as_text=True)
    assert 'value="Evening circle"' in html
    bad = staff.coordinator.post(f"/groups/{group}/edit", data={"title": "", "facilitator": str(staff.therapist_id),
                                                               "capacity": "3"})
    assert bad.status_code == 422 and "Title is required" in bad.get_data(as_text=True)
    ok = staff.coordinator.post(f"/groups/{group}/edit", data={
        "title": "Tuesday circle", "facilitator": str(staff.therapist_id), "capacity": "3", "location": ""})
    assert ok.status_code == 302
    with app.app_context():
        g = db.session.get(GroupSeries, group)
        assert (g.title, g.capacity, g.location) == ("Tuesday circle", 3, None)

