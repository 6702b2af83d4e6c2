"""Fixtures for the staff pages: users per role, signed-in clients, a live server and Chromium.

Browser tests (`@pytest.mark.browser`) drive Debian's chromium through PyPI's playwright
(never `playwright install`): `.ci/run` installs the browser when it is missing.
"""
from __future__ import annotations

import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from scheduler import create_app
from scheduler.extensions import db
from tests.support import BASE_CONFIG
from tests.support.browser import CHROMIUM, screenshot
from tests.support.web import PASSWORD, Pages, add_user


@pytest.fixture
def make_user(app):
    """Make a staff user of `role`; a therapist user gets a therapist record of their own."""
    def make(role: str = "admin", therapist_id: int | None = None, **kwargs) -> str:
        return add_user(app, role, therapist_id, **kwargs)
    return make


@pytest.fixture
def pages(app):
    """A test client that is not signed in (sign_in() / post() with CSRF)."""
    return Pages(app.test_client())


@pytest.fixture
def staff(app, make_therapist):
    """One signed-in Pages client per role; the therapist's record is `staff.therapist_id`."""
    class Staff:
        pass
    out = Staff()
    out.therapist_id = make_therapist(name="Dana Reyes", email="dana@clinic.test")
    out.other_therapist_id = make_therapist(name="Marcus Lee", email="marcus@clinic.test")
    for role, tid in (("admin", None), ("coordinator", None), ("therapist", out.therapist_id)):
        client = Pages(app.test_client())
        email = add_user(app, role, tid)
        assert client.sign_in(email).status_code == 302
        setattr(out, role, client)
    return out


# --- the browser ----------------------------------------------------------------------------

@pytest.fixture
def live_app(sqlite_template, tmp_path):
    """The app on its own SQLite copy, for a server thread and the test to share."""
    path = tmp_path / "live.sqlite3"
    shutil.copy(sqlite_template, path)
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def live_server(live_app):
    """The app served on 127.0.0.1 on a free port, in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the run (Debian's binary; Playwright adds the flags it needs)."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"no browser at {CHROMIUM} (CI must run the browser tests)")
        pytest.skip(f"no browser at {CHROMIUM}; apt-get install chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser tab (own cookies) at a desktop size; `page.base` is the server's URL."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, base_url=live_server)
    tab = context.new_page()
    tab.set_default_timeout(5000)
    tab.base = live_server
    problems = []
    tab.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    tab.on("pageerror", lambda exc: problems.append(str(exc)))
    yield tab
    context.close()
    # A refused inline style or script, or a script error, is a page that breaks under the CSP.
    assert not [p for p in problems if "status of 4" not in p], problems


@pytest.fixture
def signed_in(page, live_app):
    """Sign the tab in as a new user of `role` through the sign-in page; returns the page."""
    def sign_in(role: str = "therapist", therapist_id: int | None = None, email: str | None = None):
        email = email or add_user(live_app, role, therapist_id)
        page.goto("/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/login" not in url)
        return page
    return sign_in


@pytest.fixture
def shot(tmp_path):
    """shot(page, name): a full-page screenshot (docs/screenshots with UPDATE_SCREENSHOTS=1)."""
    return lambda page, name: screenshot(page, name, tmp_path)
