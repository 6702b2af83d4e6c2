"""Schemathesis hooks (SCHEMATHESIS_HOOKS): schema-valid data may meet only the rules the document names.

The built-in positive-data check is told to let a 422 through; this check then insists that
every field such a 422 names carries `x-rules-in-code` in the document, i.e. that the refusal
is one of the rules no schema can express (a future start, a valid phone number, `to` after
`from`, ...) and not a rule the code has and the document forgot.
"""
from __future__ import annotations

import re

import schemathesis
from schemathesis import Case, CheckContext, Response

RULES = "x-rules-in-code"


def _resolve(doc: dict, node: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        node = doc["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _has_rules(doc: dict, schema: dict, path: list[str]) -> bool:
    """Whether the property at `path` (list indexes dropped) in `schema` names rules in code."""
    schema = _resolve(doc, schema)
    if not path:
        return RULES in schema or any(_has_rules(doc, s, []) for s in schema.get("anyOf", []))
    for branch in schema.get("anyOf", []):
        if _has_rules(doc, branch, path):
            return True
    if schema.get("type") == "array":
        return _has_rules(doc, schema.get("items", {}), path)
    prop = schema.get("properties", {}).get(path[0])
    return prop is not None and _has_rules(doc, prop, path[1:])


@schemathesis.check
def refusals_of_valid_data_are_documented(ctx: CheckContext, response: Response, case: Case):
    meta = case.meta
    if response.status_code != 422 or meta is None or not meta.generation.mode.is_positive:
        return None
    doc = case.operation.schema.raw_schema
    op = case.operation.definition.raw
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    query = {p["name"]: p["schema"] for p in op.get("parameters", []) if p["in"] == "query"}
    undocumented = []
    for field in response.json().get("errors", {}):
        parts = [p for p in re.split(r"\[\d+\]|\.", field) if p]
        if parts[0] in query and len(parts) == 1 and _has_rules(doc, query[parts[0]], []):
            continue
        if body and _has_rules(doc, body, parts):
            continue
        undocumented.append(field)
    if undocumented:
        raise AssertionError(f"schema-valid data refused for {undocumented}, a rule the document does "
                             f"not name (x-rules-in-code): {response.json()}")
    return None
