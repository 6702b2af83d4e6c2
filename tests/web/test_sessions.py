"""The staff session is held on the server: the cookie is a random key that sign-out, the idle limit,
the 12-hour limit and an admin's password reset all end; nothing else is ever in a cookie."""
from __future__ import annotations

import hashlib
from datetime import timedelta
from http.cookies import SimpleCookie

import pytest

from scheduler.extensions import db
from scheduler.models import StaffSession, User
from tests.support import NOW
from tests.support.web import PASSWORD, Pages, csrf_token


def _cookie(client) -> str | None:
    found = client.get_cookie("session")
    return found.value if found else None


def _rows(app) -> list[StaffSession]:
    with app.app_context():
        return db.session.query(StaffSession).all()


def _set_cookies(response) -> dict[str, str]:
    out = {}
    for header in response.headers.getlist("Set-Cookie"):
        out.update({name: morsel.value for name, morsel in SimpleCookie(header).items()})
    return out


def _decoded(app, value: str) -> str:
    """A cookie value read as Flask's signed-cookie session would be ('' when it is no such thing)."""
    from flask.sessions import SecureCookieSessionInterface
    from itsdangerous import BadSignature

    try:
        return str(SecureCookieSessionInterface().get_signing_serializer(app).loads(value))
    except BadSignature:
        return ""


def test_the_cookie_is_only_a_random_key_and_the_server_holds_the_rest(app, pages, make_user):
    email = make_user("admin")
    assert pages.sign_in(email).status_code == 302
    key = _cookie(pages.client)
    assert len(key) >= 40 and "." not in key  # not a signed payload: nothing to decode
    rows = _rows(app)
    assert [row.key_hash for row in rows] == [hashlib.sha256(key.encode()).hexdigest()]
    with app.app_context():
        assert rows[0].user_id == db.session.query(User.id).filter_by(email=email).scalar()


def test_a_copy_of_the_cookie_opens_nothing_after_sign_out(app, pages, make_user):
    pages.sign_in(make_user("coordinator"))
    stolen = _cookie(pages.client)
    assert pages.post("/logout").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    response = thief.get("/patients")
    assert response.status_code == 302 and response.location.startswith("/login")
    assert _cookie(pages.client) != stolen  # the signed-out browser got a new key for its message
    assert "You are signed out." in pages.text("/login")


def test_signing_in_gives_a_new_key(pages, make_user):
    pages.get("/login")
    before = _cookie(pages.client)
    pages.sign_in(make_user("admin"))
    assert before and _cookie(pages.client) != before  # a key planted before sign-in is worthless


def _come_back(pages, response, path):
    """After being sent to sign-in from `path`, sign in and land on `path` again."""
    assert response.status_code == 302 and response.location.startswith("/login")
    login = pages.client.get(response.location).get_data(as_text=True)
    assert "Your session ended" in login
    email = pages.email
    back = pages.client.post(response.location, data={"email": email, "password": PASSWORD,
                                                      "csrf_token": csrf_token(login)})
    assert back.status_code == 302 and back.location == path


def test_an_idle_session_ends_and_sign_in_returns_to_the_page(app, make_user, time_machine):
    time_machine.move_to(NOW, tick=False)
    pages = Pages(app.test_client())
    pages.email = make_user("coordinator")
    pages.sign_in(pages.email)
    time_machine.move_to(NOW + timedelta(minutes=29))
    assert pages.get("/patients").status_code == 200
    time_machine.move_to(NOW + timedelta(minutes=29 + 29))  # 29 minutes after the last request
    assert pages.get("/patients").status_code == 200
    time_machine.move_to(NOW + timedelta(minutes=58 + 31))
    _come_back(pages, pages.get("/patients?q=x"), "/patients?q=x")


def test_the_idle_limit_is_a_setting(make_app, make_user, time_machine):
    time_machine.move_to(NOW, tick=False)
    app = make_app(SESSION_IDLE_MINUTES=5)
    pages = Pages(app.test_client())
    pages.sign_in(make_user("coordinator"))
    time_machine.move_to(NOW + timedelta(minutes=6))
    assert pages.get("/patients").status_code == 302


def test_a_session_ends_after_twelve_hours_however_busy(app, make_user, time_machine):
    time_machine.move_to(NOW, tick=False)
    pages = Pages(app.test_client())
    pages.email = make_user("coordinator")
    pages.sign_in(pages.email)
    for minutes in range(20, 12 * 60, 20):
        time_machine.move_to(NOW + timedelta(minutes=minutes))
        assert pages.get("/").status_code == 200, minutes
    time_machine.move_to(NOW + timedelta(hours=12, minutes=1))
    _come_back(pages, pages.get("/calendar"), "/calendar")


def test_requests_that_do_not_use_the_session_store_nothing(app, pages, make_user, api):
    pages.sign_in(make_user("admin"))
    [row] = _rows(app)
    key = _cookie(pages.client)
    for path in ("/healthz", "/static/app.css"):
        response = pages.get(path)
        response.close()
        assert response.status_code == 200 and "Set-Cookie" not in response.headers, path
    fresh = app.test_client()
    for response in (api.get("/patients/999999"), fresh.get("/healthz"), fresh.get("/api/v1/openapi.json")):
        assert "Set-Cookie" not in response.headers
    assert [(r.key_hash, r.seen_at, r.data) for r in _rows(app)] == [(row.key_hash, row.seen_at, row.data)]
    assert _cookie(pages.client) == key


def test_reading_pages_rewrites_the_row_at_most_once_a_minute(app, make_user, time_machine):
    time_machine.move_to(NOW, tick=False)
    pages = Pages(app.test_client())
    pages.sign_in(make_user("admin"))
    pages.get("/")  # the first page stores the CSRF secret
    seen = _rows(app)[0].seen_at
    time_machine.move_to(NOW + timedelta(seconds=50))
    response = pages.get("/calendar")
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    assert _rows(app)[0].seen_at == seen
    time_machine.move_to(NOW + timedelta(seconds=70))
    pages.get("/calendar")
    assert _rows(app)[0].seen_at == NOW + timedelta(seconds=70)


def test_a_booked_patients_name_is_never_in_a_cookie(app, staff, make_patient):
    from tests.support import next_monday

    patient = make_patient(name="Avery Collins", phone="+12015550199")
    slot = f"{(next_monday() + timedelta(days=2)).isoformat()}T11:00"
    response = staff.coordinator.post("/appointments", {
        "therapist": str(staff.therapist_id), "start": slot, "patient_id": str(patient), "duration": "50"})
    assert response.status_code == 302
    page = staff.coordinator.get(response.location)
    assert "Booked Avery Collins" in page.get_data(as_text=True)
    for answer in (response, page):
        for name, value in _set_cookies(answer).items():
            assert "Collins" not in value + _decoded(app, value)  # signed-cookie sessions held it here
            assert name == "session" and len(value) < 60 and "." not in value, value
    cookie = _cookie(staff.coordinator.client)
    assert "Avery" not in cookie and cookie == cookie.strip()
    with app.app_context():
        # The message lived in the server's row until it was shown, and is gone from it after.
        assert all("Avery" not in row.data for row in db.session.query(StaffSession))


@pytest.mark.parametrize("revoke", [False, True])
def test_an_admins_password_reset_ends_the_users_sessions(app, staff, revoke):
    from scheduler.core import auth, clock

    with app.app_context():
        coordinator = db.session.query(User).filter_by(role="coordinator").one()
        user_id, email = coordinator.id, coordinator.email
        token = auth.issue_token(db.session, coordinator, clock.now())
        db.session.commit()
    assert staff.coordinator.get("/patients").status_code == 200
    form = {"password": "a brand new password"} | ({"revoke_tokens": "1"} if revoke else {})
    assert staff.admin.post(f"/admin/users/{user_id}/password", form).status_code == 302
    response = staff.coordinator.get("/patients")
    assert response.status_code == 302 and response.location.startswith("/login")
    assert staff.admin.get("/admin").status_code == 200  # the admin's own session goes on
    api = app.test_client().get("/api/v1/patients/999999", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == (401 if revoke else 404)
    assert staff.coordinator.sign_in(email, "a brand new password").status_code == 302


def test_the_password_form_offers_to_revoke_tokens(staff):
    html = staff.admin.text("/admin")
    assert 'name="revoke_tokens"' in html and "Also revoke the API tokens of" in html


def test_a_form_posted_after_the_session_ended_leads_to_sign_in_and_back(app, make_user, time_machine):
    time_machine.move_to(NOW, tick=False)
    pages = Pages(app.test_client())
    pages.email = make_user("coordinator")
    pages.sign_in(pages.email)
    token = csrf_token(pages.text("/patients/new"))
    time_machine.move_to(NOW + timedelta(minutes=40))
    response = pages.client.post("/patients/new", data={"csrf_token": token, "name": "Jo"},
                                 headers={"Referer": "http://localhost/patients/new"})
    _come_back(pages, response, "/patients/new")
