"""Request limits and the security headers, on the API, the webhooks, pages and errors."""
from __future__ import annotations

import pytest

from scheduler import headers
from tests.support.webhooks import signed_post

BIG = b"x" * (headers.MAX_BODY + 1)


def test_a_body_over_one_megabyte_is_413_before_it_is_read(client, api):
    for path in ("/api/v1/patients", "/api/v1/appointments"):
        for auth in ({}, api.headers):
            r = client.post(path, data=BIG, content_type="application/json", headers=auth)
            assert (r.status_code, r.is_json) == (413, True), path
    r = client.post("/sms/inbound", data=BIG, content_type="application/x-www-form-urlencoded")
    assert r.status_code == 413
    # Exactly the limit still reaches the parser (and is malformed JSON there: 400).
    r = api.post("/patients", data=b" " * (headers.MAX_BODY - 2) + b"{]", content_type="application/json")
    assert r.status_code == 400


@pytest.mark.parametrize("depth", [100_000])
def test_deeply_nested_json_is_400_not_500(api, depth):
    for path in ("/patients", "/appointments", "/groups"):
        r = api.post(path, data="[" * depth, content_type="application/json")
        assert r.status_code == 400, (path, r.status_code)
        r = api.post(path, data='{"a":' * depth + "1" + "}" * depth, content_type="application/json")
        assert r.status_code == 400, (path, r.status_code)


def responses(client, api, make_patient, app):
    """One of each kind: JSON read, JSON error, 401, 404 route, webhook refusal, health, static."""
    pid = make_patient()
    yield "api read", api.get(f"/patients/{pid}")
    yield "api 422", api.post("/patients", json={})
    yield "api 401", client.get(f"/api/v1/patients/{pid}")
    yield "api 404", api.get("/nowhere")
    yield "webhook 403", signed_post(client, "/sms/inbound", {"Body": "x"}, "wrong")
    yield "health", client.get("/healthz")
    yield "page 404", client.get("/no-such-page")


def test_every_response_has_nosniff_and_no_store(client, api, make_patient, app):
    for name, r in responses(client, api, make_patient, app):
        assert r.headers["X-Content-Type-Options"] == "nosniff", name
        assert r.headers["Cache-Control"] == "no-store", name
        assert "Strict-Transport-Security" not in r.headers, name


def test_html_gets_the_page_headers_and_https_gets_hsts(client):
    r = client.get("/no-such-page", base_url="https://clinic.example.org")
    assert r.mimetype == "text/html"
    assert r.headers["Content-Security-Policy"] == headers.CSP
    assert "frame-ancestors 'none'" in headers.CSP and "object-src 'none'" in headers.CSP
    assert r.headers["Referrer-Policy"] == "same-origin"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")


def test_the_development_server_banner_names_no_versions(tmp_path):
    """Through a real socket: what `flask run` answers with (gunicorn's own is a bare "gunicorn")."""
    import threading
    import urllib.request

    from werkzeug.serving import make_server

    from scheduler import create_app
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/s.db"})
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/healthz", timeout=10) as r:
            banner = r.headers.get_all("Server")
    finally:
        server.shutdown()
    assert banner == ["aftercare"]
