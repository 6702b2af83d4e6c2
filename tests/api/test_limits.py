"""The longest session is one limit: the clash queries, the domain checks and the document follow it."""
from __future__ import annotations

from datetime import timedelta

from scheduler.scheduling import appointments, busy, groups, limits, therapists
from tests.support import at, book, next_monday


def test_every_use_derives_from_the_one_limit(client):
    assert limits.MAX_SESSION == timedelta(minutes=limits.MAX_SESSION_MINUTES)
    assert busy.MAX_SESSION is limits.MAX_SESSION and therapists.MAX_SESSION is limits.MAX_SESSION
    assert appointments.MAX_MINUTES == groups.MAX_MINUTES == limits.MAX_SESSION_MINUTES
    doc = client.get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    slots = doc["paths"]["/therapists/{therapist_id}/slots"]["get"]["parameters"]
    maxima = {schemas[name]["properties"]["duration_minutes"]["maximum"]
              for name in ("AppointmentCreate", "AppointmentUpdate", "GroupCreate")}
    maxima |= {p["schema"]["maximum"] for p in slots if p["name"] == "duration"}
    assert maxima == {limits.MAX_SESSION_MINUTES}


def test_the_clash_query_sees_the_longest_session(api, make_therapist, make_patient):
    """A session of the longest length still blocks a booking that starts just before it ends."""
    t = make_therapist(hours=((0, 1, 2, 3, 4, 5, 6), "00:00", "23:59"))
    p = make_patient()
    day = next_monday()
    assert book(api, t, p, at(day, 8), limits.MAX_SESSION_MINUTES).status_code == 201
    last_minute = 8 * 60 + limits.MAX_SESSION_MINUTES - 1
    r = book(api, t, make_patient(), at(day, last_minute // 60, last_minute % 60), 30)
    assert r.status_code == 409 and r.json["field"] == "therapist_id"
    assert book(api, t, p, at(day, 8), limits.MAX_SESSION_MINUTES + 1).status_code == 422
