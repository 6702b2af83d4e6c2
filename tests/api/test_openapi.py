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
