"""Sign-in, sign-out, the way back, throttling, CSRF and the session cookie."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from scheduler import config
from scheduler.extensions import db
from scheduler.models import AuditEvent, Patient, User
from scheduler.web.auth import safe_next
from tests.support.web import PASSWORD, Pages, csrf_token


def test_sign_in_page_names_its_fields(pages):
    html = pages.text("/login")
    assert '<label for="f-email">Email</label>' in html
    assert '<label for="f-password">Password</label>' in html
    assert ">Sign in</button>" in html


def test_right_password_signs_in_and_leads_to_today(app, pages, make_user):
    email = make_user("coordinator")
    response = pages.sign_in(email)
    assert response.status_code == 302 and response.location == "/"
    html = pages.text("/")
    assert ">Sign out</button>" in html and email in html
    with app.app_context():
        assert db.session.query(AuditEvent).filter_by(action="login").count() == 1


def test_email_is_matched_without_regard_to_case_and_spaces(pages, make_user):
    email = make_user("admin")
    assert pages.sign_in(f"  {email.upper()} ").status_code == 302


def test_wrong_password_says_so_and_keeps_the_email(pages, make_user):
    email = make_user("admin")
    response = pages.sign_in(email, "wrong")
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "Wrong email or password." in html
    assert f'value="{email}"' in html
    assert "wrong" not in html.replace("Wrong", "")  # the password typed is not echoed


def test_unknown_email_gets_the_same_answer(pages):
    response = pages.sign_in("nobody@clinic.test", "whatever")
    assert response.status_code == 401 and "Wrong email or password." in response.get_data(as_text=True)


def test_empty_fields_get_messages_beside_them(pages):
    token = csrf_token(pages.text("/login"))
    html = pages.client.post("/login", data={"csrf_token": token}).get_data(as_text=True)
    assert 'id="e-email"' in html and "Email is required" in html
    assert 'id="e-password"' in html and "Password is required" in html
    assert 'aria-invalid="true"' in html


def test_an_inactive_user_cannot_sign_in(pages, make_user):
    email = make_user("admin", active=False)
    assert pages.sign_in(email).status_code == 401


def test_deactivating_a_user_ends_their_session(app, pages, make_user):
    email = make_user("admin")
    pages.sign_in(email)
    assert pages.get("/").status_code == 200
    with app.app_context():
        db.session.query(User).filter_by(email=email).update({"active": False})
        db.session.commit()
    assert pages.get("/").status_code == 302


@pytest.mark.parametrize("path", ["/", "/calendar?week=2026-03-04", "/availability"])
def test_a_stranger_is_sent_to_sign_in_and_brought_back(pages, make_user, path):
    response = pages.get(path)
    assert response.status_code == 302 and response.location.startswith("/login")
    login_page = pages.client.get(response.location).get_data(as_text=True)
    token = csrf_token(login_page)
    email = make_user("admin")
    back = pages.client.post(response.location, data={"email": email, "password": PASSWORD,
                                                      "csrf_token": token})
    assert back.status_code == 302 and back.location == path


def test_an_htmx_request_from_a_stranger_is_told_where_to_sign_in(pages):
    response = pages.get("/calendar", headers={"HX-Request": "true"})
    assert response.status_code == 401 and response.headers["HX-Redirect"].startswith("/login")


@pytest.mark.parametrize("target, safe", [
    ("/calendar?week=2026-03-04", True), ("/", True), ("https://evil.test/", False),
    ("//evil.test/x", False), ("/\\evil.test", False), ("javascript:alert(1)", False), ("", False),
    ("calendar", False), ("/x\r\nLocation: https://evil.test", False),
])
def test_only_same_site_paths_are_followed_after_sign_in(target, safe):
    assert (safe_next(target) == target) is safe


def test_a_next_to_another_site_is_ignored(pages, make_user):
    email = make_user("admin")
    token = csrf_token(pages.text("/login"))
    response = pages.client.post("/login?next=https://evil.test/", data={
        "email": email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.location == "/"


def test_sign_out_is_a_post_and_ends_the_session(pages, make_user):
    pages.sign_in(make_user("admin"))
    refused = pages.get("/logout")
    assert refused.status_code == 405 and "POST" in refused.headers["Allow"]  # a link cannot sign out
    response = pages.post("/logout")
    assert response.status_code == 302 and response.location == "/login"
    assert pages.get("/").status_code == 302


def test_a_post_without_a_valid_csrf_token_is_refused_and_changes_nothing(app, pages, make_user):
    email = make_user("admin")
    pages.sign_in(email)
    for data in ({}, {"csrf_token": "forged"}):
        assert pages.post("/logout", data, csrf=False).status_code == 400
    assert pages.get("/").status_code == 200  # still signed in
    fresh = pages.client.application.test_client()
    refused = fresh.post("/login", data={"email": email, "password": PASSWORD})
    assert refused.status_code == 400 and "session" not in refused.headers.get("Set-Cookie", "")


def test_repeated_failures_are_slowed_down(pages, make_user):
    email = make_user("admin")
    codes = [pages.sign_in(email, "wrong").status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    assert "Too many failed sign-ins" in pages.sign_in(email, "wrong").get_data(as_text=True)
    # Even the right password waits now; another account from the same address does not.
    assert pages.sign_in(email).status_code == 429
    assert pages.sign_in(make_user("coordinator")).status_code == 302


def test_successful_sign_ins_do_not_count_as_failures(pages, make_user):
    email = make_user("admin")
    for _ in range(7):
        assert pages.sign_in(email).status_code == 302


def test_session_cookie_is_httponly_and_lax(pages, make_user):
    response = pages.sign_in(make_user("admin"))
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


@pytest.mark.parametrize("env, secure", [
    ({}, False), ({"PUBLIC_BASE_URL": "http://clinic.test"}, False),
    ({"PUBLIC_BASE_URL": "https://clinic.example.org"}, True),
    ({"PUBLIC_BASE_URL": "https://clinic.example.org", "SESSION_COOKIE_SECURE": "off"}, False),
    ({"SESSION_COOKIE_SECURE": "on"}, True), ({"SESSION_COOKIE_SECURE": "1"}, True),
])
def test_cookie_is_secure_when_served_over_https(tmp_path, env, secure):
    assert config.load(str(tmp_path), env=env)["SESSION_COOKIE_SECURE"] is secure


@pytest.mark.parametrize("name, value", [
    ("SESSION_COOKIE_SECURE", "maybe"), ("TRUSTED_PROXIES", "-1"), ("TRUSTED_PROXIES", "one"),
    ("TRUSTED_PROXIES", "²"), ("TRUSTED_PROXIES", "11"), ("SESSION_IDLE_MINUTES", "0"),
    ("SESSION_IDLE_MINUTES", "721"), ("SESSION_IDLE_MINUTES", "soon"),
])
def test_a_bad_session_or_proxy_setting_stops_start_up_naming_it(tmp_path, name, value):
    with pytest.raises(config.ConfigError) as raised:
        config.load(str(tmp_path), env={name: value})
    assert str(raised.value).startswith(f"{name}: ") and "\n" not in str(raised.value)


def test_a_secure_app_sends_a_secure_cookie(make_app):
    client = make_app(SESSION_COOKIE_SECURE=True).test_client()
    cookie = client.get("/login", base_url="https://localhost").headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_proxy_headers_are_believed_only_from_trusted_proxies(make_app):
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    direct = make_app().test_client().get("/login", headers=forged)
    assert "Strict-Transport-Security" not in direct.headers  # a forged header changes nothing
    proxied = make_app(TRUSTED_PROXIES=1).test_client().get("/login", headers=forged)
    assert "Strict-Transport-Security" in proxied.headers  # the proxy says the client used https


# --- throttling: failures are slowed, a right password keeps working (limiter on) ----------------

@pytest.fixture
def limited(make_app):
    """Pages on an app with the rate limiter switched on explicitly."""
    return Pages(make_app(RATELIMIT_ENABLED=True).test_client())


def test_failures_on_other_accounts_do_not_lock_out_a_right_password(limited, make_user):
    # 35 failures from one address (the whole clinic behind one proxy), over 7 accounts.
    for _ in range(7):
        email = make_user("coordinator")
        assert [limited.sign_in(email, "wrong").status_code for _ in range(5)] == [401] * 5
    assert limited.sign_in(make_user("admin")).status_code == 302


def test_over_the_address_ceiling_only_accounts_that_failed_are_refused(limited, make_user, monkeypatch):
    from limits import parse

    from scheduler.web import auth as web_auth

    monkeypatch.setattr(web_auth, "FAILURES_PER_ADDRESS", parse("6 per 15 minutes"))
    sprayed = [make_user("coordinator") for _ in range(3)]
    for email in sprayed:
        assert [limited.sign_in(email, "wrong").status_code for _ in range(2)] == [401, 401]
    # Over the ceiling: an account that failed from here waits, even with its right password...
    assert limited.sign_in(sprayed[0]).status_code == 429
    # ...one that did not still has its password checked: right signs in, wrong counts and waits.
    assert limited.sign_in(make_user("admin")).status_code == 302
    fresh = make_user("coordinator")
    assert limited.sign_in(fresh, "wrong").status_code == 401
    assert limited.sign_in(fresh).status_code == 429


def test_a_trusted_proxy_throttles_each_client_on_its_own(make_app, make_user):
    app = make_app(RATELIMIT_ENABLED=True, TRUSTED_PROXIES=1)
    email = make_user("admin")
    one, other = ({"X-Forwarded-For": ip} for ip in ("203.0.113.1", "203.0.113.2"))
    pages = Pages(app.test_client())
    for _ in range(5):
        assert pages.sign_in(email, "wrong", headers=one).status_code == 401
    assert pages.sign_in(email, headers=one).status_code == 429
    assert pages.sign_in(email, headers=other).status_code == 302


def test_error_pages_are_pages(pages, make_user):
    pages.sign_in(make_user("admin"))
    response = pages.get("/no-such-page")
    assert response.status_code == 404 and "Not found" in response.get_data(as_text=True)
    assert ">Sign out</button>" in response.get_data(as_text=True)


def test_the_demo_logins_work_on_the_pages(app, pages):
    output = app.test_cli_runner().invoke(args=["demo"]).output
    logins = [line.split() for line in output.splitlines() if "@demo.clinic" in line and "token" not in line]
    assert {role for role, _, _ in logins} == {"admin", "coordinator", "therapist"}
    role, email, password = next(login for login in logins if login[0] == "therapist")
    assert pages.sign_in(email, password).status_code == 302
    with app.app_context():
        assert db.session.query(User).filter_by(email=email).one().therapist_id is not None


def test_the_demo_fills_the_aftercare_pages(app, pages):
    """A new coordinator sees follow-up tasks, reports and a patient's Aftercare section filled."""
    output = app.test_cli_runner().invoke(args=["demo"]).output
    _, email, password = next(line.split() for line in output.splitlines() if "coordinator@demo.clinic" in line)
    assert pages.sign_in(email, password).status_code == 302
    tasks = pages.get("/tasks").get_data(as_text=True)
    assert "nothing booked after 3 days" in tasks and "Missed two sessions in a row" in tasks
    reports = pages.get("/reports")
    assert reports.status_code == 200
    rates = re.findall(r">\s*([1-9][0-9]?)%", reports.get_data(as_text=True))  # neither 0 % nor 100 %
    assert len(rates) >= 10, rates
    with app.app_context():
        patient_id = db.session.scalar(select(Patient.id).where(Patient.name == "Morgan Patel"))
    page = pages.get(f"/patients/{patient_id}").get_data(as_text=True)
    assert "Aftercare" in page and "End plan" in page
