"""Bad input to every staff page and form, generated from the URL map: never a 500.

Every `web` route is called signed in as an admin, with each bad value in each path parameter,
in every query field any page uses, and in every field of every form the pages render (each
field in turn, the others as the page filled them). A crash under the test client's
propagation counts as a 500. One test per engine, so thousands of requests stay fast.
"""
from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

from werkzeug.exceptions import MethodNotAllowed, NotFound

from scheduler.aftercare import plans
from scheduler.core import clock
from scheduler.extensions import db
from scheduler.models import Task
from tests.support import add_group, book, next_monday, ny
from tests.support.web import Pages, add_user

# Every value int() or a date parser refuses or overflows on, and text PostgreSQL cannot store.
BAD = ("99999999999999999999", str(2**63), str(2**31), "²", "٣", "-1", "0", "\x00", "a\x00b",
       "0001-01-01", "9999-12-31", "0001-01-01T10:00", "9999-12-31T23:59", "", " ", "x" * 5000)
IN_PATHS = ("99999999999999999999", str(2**63), str(2**31), "²", "٣", "-1", "0", "\x00")
IN_FIELDS = ("99999999999999999999", str(2**31), "²", "-1", "a\x00b", "0001-01-01T10:00", "9999-12-31",
             "", "x" * 5000)  # each field of each form in turn: the kinds above, once each
SKIP = {"web.logout"}  # signs the client out: tested in test_auth
PARAM = re.compile(r"<(?:([^:<>]+):)?([^<>]+)>")


class Forms(HTMLParser):
    """Every form of a page: (method, action, [(name, value)]) with the values as filled."""

    def __init__(self, base: str):
        super().__init__()
        self.base, self.forms, self.names, self._form, self._select = base, [], set(), None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("hx-get", "hx-post"):
            if a.get(key):
                self.names.add(("hx", a[key]))
        if tag == "form":
            self._form = [(a.get("method") or "get").lower(), a.get("action") or self.base, []]
            self.forms.append(self._form)
        elif self._form is not None and a.get("name"):
            name = a["name"]
            if tag == "input":
                kind = a.get("type", "text")
                if kind in ("checkbox", "radio") and "checked" not in a:
                    self._form[2].append((name, None))
                else:
                    self._form[2].append((name, a.get("value", "on" if kind in ("checkbox", "radio") else "")))
            elif tag == "textarea":
                self._form[2].append((name, ""))
            elif tag == "select":
                self._select = [name, None]
                self._form[2].append(self._select)
        elif tag == "option" and self._select is not None:
            if self._select[1] is None or "selected" in a:
                self._select[1] = a.get("value", "")
        elif tag == "button" and self._form is not None and a.get("name"):
            self._form[2].append((a["name"], a.get("value", "")))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def _world(app, make_therapist, make_patient, api) -> dict:
    """A therapist, a patient on her team, an upcoming and a past appointment, a group, a task."""
    tid = make_therapist(name="Dana Reyes")
    pid = make_patient(name="Alex Morgan")
    make_patient(name="Sam Other")
    monday = next_monday()
    appt = book(api, tid, pid, ny(monday, 10).isoformat(), 50).get_json()["id"]
    with app.app_context():
        past = clock.now() - timedelta(days=1)
        group = add_group(db.session, tid, past, enrolled=(pid,))
        db.session.add(Task(patient_id=pid, kind="reschedule_request", created_at=past))
        discharge, _ = plans.record(db.session, pid, clock.now().date(), clock.now())  # its Aftercare forms
        db.session.commit()
        discharge_id = discharge.id
    return {"therapist": tid, "patient": pid, "appointment": appt, "group": group, "discharge": discharge_id}


def _signed_in(app) -> Pages:
    client = Pages(app.test_client())
    client.email = add_user(app, "admin")
    assert client.sign_in(client.email).status_code == 302
    return client


def _call(pages: Pages, method: str, path: str, **kwargs):
    """(status, location), or the exception a crash propagated (TESTING propagates them)."""
    try:
        response = pages.get(path, **kwargs) if method == "GET" else pages.post(path, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the crash is the finding
        return f"{type(exc).__name__}: {str(exc)[:120]}", ""
    return response.status_code, response.location or ""


def _harvest(pages: Pages, paths: list[str]) -> tuple[list, set[str]]:
    """The post forms the pages render, and every field name any page or form uses."""
    forms, names = [], set()
    for path in paths:
        response = pages.get(path)
        if response.status_code != 200:
            continue
        parser = Forms(path.split("?")[0])
        parser.feed(response.get_data(as_text=True))
        for method, action, fields in parser.forms:
            named = [(n, v) for n, v in fields if n != "csrf_token"]
            names |= {n for n, _ in named}
            if method == "post":
                forms.append((urlsplit(action).path, named))
    return forms, names


def test_no_bad_input_gives_a_500(app, make_therapist, make_patient, api):
    w = _world(app, make_therapist, make_patient, api)
    ids = {"therapist_id": w["therapist"], "patient_id": w["patient"], "appointment_id": w["appointment"],
           "group_id": w["group"], "user_id": 1, "token_id": 1, "task_id": 1, "closure_id": 1, "kind": "reminder", "discharge_id": w["discharge"],
           "language": "en"}
    with app.app_context():
        from scheduler.models import Occurrence
        ids["occurrence_id"] = db.session.query(Occurrence.id).filter_by(group_id=w["group"]).scalar()
    pages = _signed_in(app)
    rules = sorted((r for r in app.url_map.iter_rules() if r.endpoint.startswith("web.") and r.endpoint not in SKIP),
                   key=lambda r: r.rule)
    assert len(rules) >= 30
    good = {r.rule: PARAM.sub(lambda m: quote(str(ids[m.group(2)])), r.rule) for r in rules}
    gets = [good[r.rule] for r in rules if "GET" in r.methods]
    forms, names = _harvest(pages, [*gets, f"/appointments/new?therapist={w['therapist']}"
                                    f"&start={next_monday()}T14:00"])
    assert len(forms) >= 15 and len(names) >= 30
    failures, calls = [], 0

    def check(method, path, **kwargs):
        nonlocal calls
        calls += 1
        got, location = _call(pages, method, path, **kwargs)
        if not isinstance(got, int) or got >= 500:
            failures.append((method, path[:80], {k: str(v)[:80] for k, v in kwargs.items()}, got))
        if location.startswith("/login") and not path.startswith("/login"):
            pages.sign_in(pages.email)  # a post that ended this session (its password was reset)

    for rule in rules:
        methods = sorted(rule.methods & {"GET", "POST"})
        for bad in BAD:
            # Each path parameter bad in turn, the others good.
            for name in PARAM.findall(rule.rule) if bad in IN_PATHS else ():
                path = PARAM.sub(lambda m, n=name[1], bad=bad: quote(bad if m.group(2) == n else str(ids[m.group(2)]),
                                                                     safe=""), rule.rule)
                for method in methods:
                    check(method, path or "/")
            if "GET" in methods:
                check("GET", good[rule.rule], query_string={n: bad for n in names})
            if "POST" in methods:
                check("POST", good[rule.rule], data={n: bad for n in names})
    adapter = app.url_map.bind("localhost")
    seen = set()
    for action, fields in forms:
        try:
            endpoint, _ = adapter.match(action, method="POST")
        except (NotFound, MethodNotAllowed):
            continue
        if endpoint in SKIP or endpoint in seen:
            continue  # one form per endpoint (the admin page has one per user)
        seen.add(endpoint)
        base = {n: v for n, v in fields if v is not None}
        shapes = {}
        for name, _ in fields:  # d0b1_start, d3b2_start...: one field of each shape
            shapes.setdefault(re.sub(r"\d+", "#", name), name)
        for name in shapes.values():
            for bad in IN_FIELDS:
                check("POST", action, data={**base, name: bad})
    assert calls > 1000
    assert failures == [], f"{len(failures)} of {calls} requests crashed, e.g. {failures[:5]}"

