"""The OpenAPI 3.1 document, generated from the routes and the schemas each view declares.

Paths come from the URL map, payloads from `endpoint(...)`, roles from `roles(...)`: nothing is
written twice, so the document and what the code does cannot drift apart.
"""
from __future__ import annotations

import re

from flask import current_app, jsonify, request
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from werkzeug.routing import IntegerConverter

from scheduler.api import PUBLIC_ENDPOINTS, Endpoint, Invalid, bp
from scheduler.schemas.common import MAX_ID

REF = "#/components/schemas/{model}"
VERBS = ("get", "post", "put", "patch", "delete")

DESCRIPTION = """\
Aftercare Scheduler's JSON API. Every call but this document needs `Authorization: Bearer <token>`.

Rules for every request:
- A body is a JSON object (else 400) of at most 1 MB (else 413). Unknown fields are refused, and so
  are unknown query parameters, on every route (422 naming them).
- 422 answers `{"errors": {field: message}}` naming every bad field at once; a field inside a list
  is named like `rules[0].start`.
- Types are strict: `50.0` and `true` are not integers, `"50"` is not a number in a body.
- `null` means "no value". It is accepted only on a field that may have none (its schema allows
  `null`: a group's rrule or location, a therapist's email, a reason, a new patient's discharge
  date), where it is the same as leaving the field out; on every other field it is refused (422),
  e.g. on every field of `PATCH /patients/{id}`, whose values always exist.
- Date-times are ISO 8601 (`pattern`); without an offset they are the wall time in the resource's
  zone (the therapist's for appointments and slots, the group's for groups); a wall time that does
  not exist there (a DST gap) is refused. Date-only and basic-format (20260310T1800) values are refused.
- Answers give instants with the resource zone's offset.
- Rules no schema can express are checked in code and named in the field's description and in
  `x-rules-in-code`: a real calendar date, a future start, a DST gap, a valid phone number, an
  RRULE's meaning, ranges where `to` must follow `from`.
"""

ERRORS = {
    "Error": {"type": "object", "required": ["error"], "additionalProperties": False,
              "properties": {"error": {"type": "string"},
                             "field": {"type": "string", "description": "The field at fault, when one is."},
                             "clashes": {"type": "array", "description": "Weekly sessions (repeat_weeks) that "
                                         "cannot be booked, each with why; nothing was booked.",
                                         "items": {"type": "object", "required": ["week", "start", "error", "field"],
                                                   "additionalProperties": False,
                                                   "properties": {
                                                       "week": {"type": "integer", "minimum": 1},
                                                       "start": {"type": "string",
                                                                 "description": "Its local wall time."},
                                                       "error": {"type": "string"},
                                                       "field": {"type": "string"}}}}}},
    "ValidationErrors": {"type": "object", "required": ["errors"], "additionalProperties": False,
                         "properties": {"errors": {"type": "object", "minProperties": 1,
                                                   "additionalProperties": {"type": "string"}}}},
}
ERROR_TEXT = {
    "400": "Malformed JSON, or the body is not a JSON object.",
    "401": "No or a bad bearer token.",
    "403": "The caller's role or calendar does not allow this.",
    "404": "No such record.",
    "409": "A conflict: double booking, a full group, a state that does not allow the change.",
    "413": "The body is over 1 MB.",
    "422": "Invalid fields or query parameters, each named.",
    "429": "This token failed too often from this address, or too many bad tokens came from it; "
           "try again later (a valid token is never refused for the failures of others).",
}


def _error(code: str) -> dict:
    name = "ValidationErrors" if code == "422" else "Error"
    return {"description": ERROR_TEXT[code],
            "content": {"application/json": {"schema": {"$ref": REF.format(model=name)}}}}


def _clean(node):
    """Drop pydantic's `default: null` (null is refused) and its per-field titles."""
    if isinstance(node, dict):
        return {k: _clean(v) for k, v in node.items()
                if not (k == "default" and v is None) and not (k == "title" and isinstance(v, str))}
    if isinstance(node, list):
        return [_clean(v) for v in node]
    return node


def _path(rule) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule[len(bp.url_prefix):])


def _path_parameters(rule) -> list[dict]:
    out = []
    for name in re.findall(r"<(?:[^:<>]+:)?([^<>]+)>", rule.rule):
        converter = rule._converters[name]
        schema = ({"type": "integer", "minimum": 1, "maximum": MAX_ID}
                  if isinstance(converter, IntegerConverter) else {"type": "string"})
        out.append({"name": name, "in": "path", "required": True, "schema": schema})
    return out


def _query_parameters(model: type[BaseModel], schema: dict) -> list[dict]:
    required = set(schema.get("required", ()))
    return [{"name": name, "in": "query", "required": name in required,
             **({"description": prop["description"]} if "description" in prop else {}),
             "schema": {k: v for k, v in prop.items() if k != "description"}}
            for name, prop in schema["properties"].items()]


def _operation(name: str, view, spec: Endpoint, rule, refs: dict, inline: dict) -> dict:
    doc = (view.__doc__ or name).strip()
    summary, _, rest = doc.partition("\n")
    allowed = getattr(view, "allowed_roles", None)
    description = rest.strip()
    if allowed:
        description = (description + "\n\n" if description else "") + f"Roles: {', '.join(allowed)}."
    op = {"operationId": name, "summary": summary.strip(), "tags": [rule.rule.split("/")[3]]}
    if description:
        op["description"] = description
    params = _path_parameters(rule)
    if spec.query is not None:
        params += _query_parameters(spec.query, inline[spec.query])
    if params:
        op["parameters"] = params
    codes = {"401", "403", "422", "429"}
    if spec.body is not None:
        op["requestBody"] = {"required": not spec.body_optional,
                             "content": {"application/json": {"schema": refs[(spec.body, "validation")]}}}
        codes |= {"400", "413"}
    if any(p["in"] == "path" for p in params) or (spec.body is not None and any(
            name.endswith("_id") for name in spec.body.model_fields)):
        codes.add("404")
    if spec.conflict:
        codes.add("409")
    ok = {"description": summary.strip()}
    if spec.response is not None:
        ok["content"] = {"application/json": {"schema": refs[(spec.response, "serialization")]}}
    op["responses"] = {str(spec.status): ok, **{c: _error(c) for c in sorted(codes)}}
    for code in getattr(view, "also_ok", ()):  # e.g. 200: a repeated create answers with what exists
        op["responses"][str(code)] = ok
    return op


def build(app) -> dict:
    """The whole document for `app`'s /api/v1 routes."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(f"{bp.name}.") and rule.endpoint not in PUBLIC_ENDPOINTS:
            view = app.view_functions[rule.endpoint]
            spec = getattr(view, "endpoint_spec", None)
            if spec is None:
                raise LookupError(f"{rule.endpoint} declares no endpoint(...)")
            routes.append((rule, view, spec))
    bodies = {s.body for _, _, s in routes if s.body} | {s.response for _, _, s in routes if s.response}
    queries = {s.query for _, _, s in routes if s.query}
    keyed = sorted({(m, "serialization" if m in {s.response for _, _, s in routes} else "validation")
                    for m in bodies}, key=lambda k: (k[0].__name__, k[1]))
    refs, defs = models_json_schema(keyed, ref_template=REF, by_alias=True)
    inline = {q: _clean(q.model_json_schema(by_alias=True, ref_template=REF)) for q in queries}
    paths: dict[str, dict] = {}
    for rule, view, spec in routes:
        for verb in sorted(m.lower() for m in rule.methods if m.lower() in VERBS):
            paths.setdefault(_path(rule), {})[verb] = _operation(
                rule.endpoint.split(".", 1)[1], view, spec, rule, refs, inline)
    paths["/openapi.json"] = {"get": {
        "operationId": "openapi", "summary": "This document.", "tags": ["openapi"], "security": [],
        "responses": {"200": {"description": "The OpenAPI 3.1 document of this API.",
                              "content": {"application/json": {"schema": {"type": "object"}}}},
                      "422": _error("422")}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Aftercare Scheduler API", "version": "1", "description": DESCRIPTION},
        "servers": [{"url": bp.url_prefix}],
        "security": [{"bearerAuth": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "description": "`flask --app wsgi users token --email E`"}},
            "schemas": {**_clean(defs.get("$defs", {})), **ERRORS},
        },
    }


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of this API."""
    if request.args:
        raise Invalid({name: "unknown parameter" for name in request.args})
    app = current_app._get_current_object()
    document = app.extensions.get("openapi")
    if document is None:
        document = app.extensions["openapi"] = build(app)
    return jsonify(document)
