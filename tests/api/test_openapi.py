"""The OpenAPI document describes exactly the routes the app serves under /api/v1."""
from __future__ import annotations

import json
import re

import pytest

from tests.support import served

PREFIX = "/api/v1"
VERBS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def doc(client) -> dict:
    return client.get("/api/v1/openapi.json").get_json()


def documented(doc: dict) -> set[tuple[str, str]]:
    return {(path, verb) for path, item in doc["paths"].items() for verb in item if verb in VERBS}


def test_every_route_is_documented_and_vice_versa(app, doc):
    assert doc["servers"][0]["url"] == PREFIX
    routes, described = served(app), documented(doc)
    assert routes - described == set(), "served but not documented"
    assert described - routes == set(), "documented but not served"


def test_contract_endpoints_are_all_present(doc):
    # The contract's table, so a route missing from both the app and the document is caught too.
    contract = {
        ("/therapists", "post"), ("/therapists/{therapist_id}/availability", "put"),
        ("/therapists/{therapist_id}/slots", "get"), ("/therapists/{therapist_id}/calendar", "get"),
        ("/patients", "post"), ("/patients/{patient_id}", "get"), ("/patients/{patient_id}", "patch"),
        ("/patients/{patient_id}/messages", "get"), ("/appointments", "post"),
        ("/appointments/{appointment_id}", "get"), ("/appointments/{appointment_id}", "patch"),
        ("/appointments/{appointment_id}/cancel", "post"),
        ("/appointments/{appointment_id}/attendance", "post"), ("/groups", "post"),
        ("/groups/{group_id}", "get"), ("/groups/{group_id}/enrollments", "post"),
        ("/groups/{group_id}/enrollments/{patient_id}", "delete"),
        ("/groups/{group_id}/occurrences/{occurrence_id}/attendance", "post"),
        ("/reports/follow-up", "get"), ("/openapi.json", "get"),
    }
    assert contract <= documented(doc)


def operations(doc):
    for path, item in doc["paths"].items():
        for verb, op in item.items():
            if verb in VERBS:
                yield path, verb, op


def test_security_and_error_responses(doc):
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        **doc["components"]["securitySchemes"]["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert doc["security"] == [{"bearerAuth": []}]
    for path, verb, op in operations(doc):
        codes = set(op["responses"])
        if path == "/openapi.json":
            assert op["security"] == [] and "401" not in codes
            continue
        assert {"401", "403"} <= codes, (path, verb)
        if "requestBody" in op:
            assert {"400", "422"} <= codes, (path, verb)
        if "{" in path:
            assert "404" in codes, (path, verb)
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), (path, verb)
        assert any(c.startswith("2") for c in codes), (path, verb)


def test_every_reference_resolves(doc):
    text = json.dumps(doc)
    for section, name in re.findall(r'"#/components/(\w+)/(\w+)"', text):
        assert name in doc["components"][section], f"{section}/{name}"


def test_document_is_valid_openapi(doc):
    import openapi_spec_validator

    openapi_spec_validator.validate(doc)


def test_served_without_a_token(client, doc):
    r = client.get(f"{PREFIX}/openapi.json")
    assert r.status_code == 200
    assert r.get_json() == doc


# --- the document matches behaviour ---------------------------------------------------------


def _validator(doc: dict, schema: dict):
    from jsonschema import Draft202012Validator

    return Draft202012Validator({**schema, "components": doc["components"]})


def _body_schema(op: dict) -> dict:
    return op["requestBody"]["content"]["application/json"]["schema"]


def _answer_schema(op: dict, status: int) -> dict:
    return op["responses"][str(status)]["content"]["application/json"]["schema"]


def test_the_document_is_generated_for_this_app_and_served_unchanged(app, client):
    from scheduler.api import spec

    assert client.get(f"{PREFIX}/openapi.json").get_json() == json.loads(json.dumps(spec.build(app)))
    assert client.get(f"{PREFIX}/openapi.json?x=1").status_code == 422


# (method, path template, body, query, status); T = a therapist, P = a patient, A = an appointment.
TABLE = [
    ("post", "/therapists", {"name": "Ana", "timezone": "America/Chicago"}, None, 201),
    ("post", "/therapists", {"name": "Ana", "timezone": "America/Chicago", "email": None}, None, 201),
    ("post", "/therapists", {"name": "Ana", "timezone": "Mars/Base"}, None, 422),
    ("post", "/therapists", {"name": "Ana\x00", "timezone": "UTC"}, None, 422),
    ("put", "/therapists/{T}/availability", {"rules": [{"weekday": 0, "start": "09:00", "end": "17:00"}]},
     None, 200),
    ("put", "/therapists/{T}/availability", {"rules": [{"weekday": 0, "start": "25:00", "end": "26:00"}]},
     None, 422),
    ("put", "/therapists/{T}/availability", {"rules": [{"weekday": 0.0, "start": "09:00", "end": "17:00"}]},
     None, 422),
    ("get", "/therapists/{T}/slots", None, {"from": "2030-01-07T00:00", "to": "2030-01-08T00:00",
                                           "duration": "50"}, 200),
    ("get", "/therapists/{T}/slots", None, {"from": "2030-01-07", "to": "2030-01-08T00:00",
                                           "duration": "50"}, 422),
    ("get", "/therapists/{T}/slots", None, {"from": "20300107T0000", "to": "2030-01-08T00:00",
                                           "duration": "50"}, 422),
    ("get", "/therapists/{T}/calendar", None, {"from": "2030-01-07T00:00", "to": "2030-01-08T00:00"}, 200),
    ("get", "/therapists/{T}/calendar", None, {"from": "0001-01-01T00:00", "to": "9999-12-31T23:59"}, 422),
    ("post", "/patients", {"name": "Sam", "phone": "+12015550999", "timezone": "America/New_York",
                           "sms_consent": True}, None, 201),
    ("post", "/patients", {"name": "Sam", "phone": "+12015550998", "timezone": "America/New_York",
                           "sms_consent": 1}, None, 422),
    ("get", "/patients/{P}", None, None, 200),
    ("patch", "/patients/{P}", {"language": "es"}, None, 200),
    ("patch", "/patients/{P}", {"language": None}, None, 422),
    ("get", "/patients/{P}/messages", None, None, 200),
    ("post", "/appointments", {"therapist_id": "{T}", "patient_id": "{P}", "start": "{MONDAY10}",
                               "duration_minutes": 50}, None, 201),
    ("post", "/appointments", {"therapist_id": "{T}", "patient_id": "{P}", "start": "{MONDAY10}",
                               "duration_minutes": 50.0}, None, 422),
    ("post", "/appointments", {"therapist_id": 2**31, "patient_id": "{P}", "start": "{MONDAY10}",
                               "duration_minutes": 50}, None, 422),
    ("get", "/appointments/{A}", None, None, 200),
    ("get", "/appointments/{A}", None, {"verbose": "1"}, 422),
    ("get", "/appointments/99999999999", None, None, 404),
    ("post", "/appointments/{A}/cancel", {"reason": "ill"}, None, 200),
    ("get", "/reports/follow-up", None, {"from": "2026-01-01", "to": "2026-12-31"}, 200),
    ("get", "/reports/follow-up", None, {"from": "2026-02-30", "to": "2026-12-31"}, 422),
]


def _fill(value, ids: dict):
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, str):
        for key, real in ids.items():
            if value == "{" + key + "}":
                return real
            value = value.replace("{" + key + "}", str(real))
    return value


def _operation(doc: dict, method: str, path: str) -> dict:
    for template, item in doc["paths"].items():
        if re.fullmatch(re.sub(r"{\w+}", r"\\d+", template), path) and method in item:
            return item[method]
    raise LookupError(path)


def test_documented_schemas_match_behaviour(api, doc, make_therapist, make_patient):
    """Each request: the document's verdict on the body agrees with the answer, and every answer
    has its documented status and shape (a missing or extra field fails)."""
    from tests.support import at, book, next_monday

    t, p = make_therapist(), make_patient()
    monday = next_monday(2)
    ids = {"T": t, "P": p, "A": book(api, t, p, at(monday, 9)).json["id"], "MONDAY10": at(monday, 10)}
    for method, path, body, query, status in TABLE:
        path, body = _fill(path, ids), _fill(body, ids)
        op = _operation(doc, method, path)
        kwargs = {"json": body} if body is not None else {}
        r = getattr(api, method)(path, query_string=query or {}, **kwargs)
        assert r.status_code == status, (method, path, body, query, r.get_json())
        assert str(status) in op["responses"], (method, path, status)
        if status < 300:
            _validator(doc, _answer_schema(op, status)).validate(r.get_json())
        if body is not None and status != 422:
            _validator(doc, _body_schema(op)).validate(body)
        if status == 422:
            _validator(doc, _answer_schema(op, 422)).validate(r.get_json())
        if query is not None:
            params = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "query"}
            assert set(query) <= set(params) or status == 422, (path, query)


def test_schemas_refuse_what_the_document_refuses(doc):
    """Values the document's patterns and bounds refuse, checked against the document itself."""
    body = _body_schema(doc["paths"]["/appointments"]["post"])
    check = _validator(doc, body)
    good = {"therapist_id": 1, "patient_id": 1, "start": "2030-01-07T10:00", "duration_minutes": 50}
    assert not list(check.iter_errors(good))
    for field, value in [("start", "2030-01-07"), ("start", "20300107T1000"), ("start", "0001-01-01T10:00"),
                         ("start", "2030-01-07T25:00"), ("duration_minutes", 481), ("duration_minutes", "50"),
                         ("therapist_id", 0), ("therapist_id", 2**31), ("room", "3B")]:
        assert list(check.iter_errors({**good, field: value})), (field, value)


def _leaves(doc: dict, schema: dict, name: str = ""):
    """(name, schema) of every property, through $refs, anyOf, arrays and nested objects."""
    if "$ref" in schema:
        yield from _leaves(doc, doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]], name)
    elif "anyOf" in schema:
        for branch in schema["anyOf"]:
            yield from _leaves(doc, branch, name)
    elif schema.get("type") == "object" and "properties" in schema:
        for prop, sub in schema["properties"].items():
            yield from _leaves(doc, sub, f"{name}.{prop}" if name else prop)
    else:
        yield name, schema
        if schema.get("type") == "array":
            yield from _leaves(doc, schema.get("items", {}), f"{name}[]")


def test_the_document_states_every_rule_a_schema_can(doc):
    """Request fields: every string has a pattern, an enum or a length; every integer both bounds;
    every list a most. Answers: every id and count has its lower bound."""
    loose = []
    for path, verb, op in operations(doc):
        requests = [(f"{verb} {path} body", _body_schema(op))] if "requestBody" in op else []
        requests += [(f"{verb} {path} ?{p['name']}", p["schema"]) for p in op.get("parameters", [])]
        for where, schema in requests:
            for name, leaf in _leaves(doc, schema):
                kind = leaf.get("type")
                if (kind == "string" and not {"pattern", "enum", "maxLength"} & set(leaf)
                        or kind == "integer" and not {"minimum", "maximum"} <= set(leaf)
                        or kind == "array" and "maxItems" not in leaf):
                    loose.append((where, name, leaf))
        for status, answer in op["responses"].items():
            if status.startswith("2") and "content" in answer:
                for name, leaf in _leaves(doc, answer["content"]["application/json"]["schema"]):
                    if leaf.get("type") == "integer" and "minimum" not in leaf and not name.endswith("error_code"):
                        loose.append((f"{verb} {path} {status}", name, leaf))
    assert loose == []


def test_vocabularies_are_enums_built_from_the_models(doc):
    from scheduler.models import enums

    schemas = doc["components"]["schemas"]
    languages = {tuple(schemas[m]["properties"]["language"].get("enum", ()))
                 for m in ("PatientCreate", "Patient")}
    assert languages == {tuple(enums.LANGUAGES)}
    assert set(schemas["MessageStatus"]["enum"]) == set(enums.MESSAGE_STATUSES)
    assert set(schemas["Direction"]["enum"]) == set(enums.DIRECTIONS)
    assert set(schemas["SkipReason"]["enum"]) == set(enums.SkipReason)
    assert schemas["Patient"]["properties"]["discharges"]["items"]["format"] == "date"


def test_the_body_is_built_by_the_declared_response_model(app):
    """What a view hands over passes through its response model: a field the document lacks, or
    one it requires and the view forgot, is an error in the view, not a drifting answer."""
    from datetime import UTC, datetime

    from pydantic import ValidationError

    from scheduler.api import answer

    slot = {"start": datetime(2030, 1, 7, 15, tzinfo=UTC), "end": datetime(2030, 1, 7, 16, tzinfo=UTC)}
    with app.test_request_context("/api/v1/therapists/1/slots"):
        assert answer({"slots": [slot]}, "America/New_York").model_dump(mode="json") == {
            "slots": [{"start": "2030-01-07T10:00:00-05:00", "end": "2030-01-07T11:00:00-05:00"}]}
        for wrong in ({"slots": [{**slot, "room": "3B"}]}, {"slots": [{"start": slot["start"]}]}, {}):
            with pytest.raises(ValidationError):
                answer(wrong)
