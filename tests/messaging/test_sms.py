"""The SMS backends, driven through the real twilio client against a real HTTP stand-in."""
from __future__ import annotations

import logging
import re
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest

from scheduler.core.settings import SmsSettings
from scheduler.messaging import sms
from scheduler.messaging.sms import ConsoleBackend, SmsError, TwilioBackend, make_backend
from tests.support.twilio_standin import TwilioStandin

TO = "+15555550123"
SERVICE = "MG" + "1" * 32
SENDER = "+15550001111"


def twilio_config(standin: TwilioStandin, **overrides) -> SmsSettings:
    config = {
        "SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": standin.account_sid,
        "TWILIO_AUTH_TOKEN": "secret-token",
        "TWILIO_MESSAGING_SERVICE_SID": SERVICE,
        "TWILIO_FROM_NUMBER": "",
        "TWILIO_API_BASE_URL": standin.base_url,
        "SMS_TIMEOUT_SECONDS": 0.5,
    }
    config.update(overrides)
    return SmsSettings.from_config(config)


@pytest.fixture
def backend(standin) -> TwilioBackend:
    return make_backend(twilio_config(standin))


def test_send_with_messaging_service_passes_status_callback(standin, backend):
    result = backend.send(TO, "Hello there", status_callback="https://example.org/sms/status")
    assert re.fullmatch(r"SM[0-9a-f]{32}", result.sid)
    assert result.status == "accepted"
    [message] = standin.accepted
    assert message["sid"] == result.sid
    assert (message["to"], message["body"]) == (TO, "Hello there")
    assert message["messaging_service_sid"] == SERVICE and message["from"] is None
    assert message["status_callback"] == "https://example.org/sms/status"


def test_send_with_from_number_and_no_callback(standin):
    backend = make_backend(twilio_config(standin, TWILIO_MESSAGING_SERVICE_SID="",
                                         TWILIO_FROM_NUMBER=SENDER))
    result = backend.send(TO, "Hi")
    assert result.status == "queued"
    [message] = standin.accepted
    assert message["from"] == SENDER and message["messaging_service_sid"] is None
    assert message["status_callback"] is None


def test_messaging_service_wins_when_both_senders_are_set(standin):
    make_backend(twilio_config(standin, TWILIO_FROM_NUMBER=SENDER)).send(TO, "Hi")
    assert standin.accepted[0]["messaging_service_sid"] == SERVICE
    assert standin.accepted[0]["from"] is None


@pytest.mark.parametrize(("status", "code", "kind"), [
    (500, 20500, "transient"),
    (503, 20503, "transient"),
    (429, 20429, "transient"),
    (400, 21610, "opted_out"),
    (400, 21211, "permanent"),
    (400, 21614, "permanent"),
    (400, 21408, "permanent"),
    (404, 20404, "permanent"),
    (504, 20504, "ambiguous"),
])
def test_error_answers_map_to_kinds(standin, backend, status, code, kind):
    standin.script(("error", status, code))
    with pytest.raises(SmsError) as caught:
        backend.send(TO, "Hello")
    assert caught.value.kind == kind
    assert caught.value.code == code
    assert TO not in str(caught.value) and "Hello" not in caught.value.detail
    assert standin.accepted == [] and standin.requests == 1


def test_standin_validation_errors_come_through(standin, backend):
    standin.opted_out.add(TO)
    with pytest.raises(SmsError) as caught:
        backend.send(TO, "Hi")
    assert (caught.value.kind, caught.value.code) == ("opted_out", 21610)
    with pytest.raises(SmsError) as caught:
        backend.send("12345", "Hi")
    assert (caught.value.kind, caught.value.code) == ("permanent", 21211)


def test_wrong_credentials_are_permanent(standin):
    backend = make_backend(twilio_config(standin, TWILIO_ACCOUNT_SID="AC" + "9" * 32))
    with pytest.raises(SmsError) as caught:
        backend.send(TO, "Hi")
    assert (caught.value.kind, caught.value.code) == ("permanent", 20003)


def test_connection_refused_is_transient(standin):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = make_backend(twilio_config(standin, TWILIO_API_BASE_URL=f"http://127.0.0.1:{port}"))
    with pytest.raises(SmsError) as caught:
        backend.send(TO, "Hi")
    assert caught.value.kind == "transient" and caught.value.retryable


def test_connection_dropped_after_request_is_ambiguous_and_nothing_was_sent(standin, backend):
    standin.script(("refuse",))
    since = datetime.now(UTC)
    with pytest.raises(SmsError) as caught:
        backend.send(TO, "Hi")
    assert caught.value.kind == "ambiguous"
    assert backend.find_sent(TO, "Hi", since) is None  # so a retry cannot double-text
    assert backend.send(TO, "Hi").sid == standin.accepted[0]["sid"]


def test_read_timeout_is_ambiguous_then_find_sent_finds_the_message(standin, backend):
    standin.script(("accept_then_hang", 3))
    since = datetime.now(UTC)
    started = time.monotonic()
    with pytest.raises(SmsError) as caught:
        backend.send(TO, "Your appointment")
    assert time.monotonic() - started < 2
    assert caught.value.kind == "ambiguous" and caught.value.code is None
    [accepted] = standin.accepted
    assert backend.find_sent(TO, "Your appointment", since) == accepted["sid"]
    assert backend.find_sent(TO, "Another text", since) is None
    assert backend.find_sent("+15555550199", "Your appointment", since) is None


def test_find_sent_ignores_older_messages_and_reads_every_page(standin, backend):
    old = backend.send(TO, "Same text").sid
    standin.accepted[0]["date_created"] -= timedelta(days=1)
    assert backend.find_sent(TO, "Same text", datetime.now(UTC)) is None
    for n in range(120):
        backend.send(TO, f"text {n}")
    newest = datetime.now(UTC)
    assert backend.find_sent(TO, "text 0", newest - timedelta(minutes=1)) == standin.accepted[1]["sid"]
    assert old != standin.accepted[1]["sid"]


def test_find_sent_refuses_naive_datetimes(backend):
    with pytest.raises(ValueError):
        backend.find_sent(TO, "x", datetime.now())


def test_twilio_edge_and_region_are_ignored(standin, monkeypatch):
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    monkeypatch.setenv("TWILIO_REGION", "au1")
    make_backend(twilio_config(standin)).send(TO, "Hi")
    assert len(standin.accepted) == 1


PROXY_VARS = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture
def clean_proxy_env(monkeypatch):
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def test_proxy_settings_are_read_once_at_construction(standin, clean_proxy_env):
    clean_proxy_env.setenv("HTTPS_PROXY", "http://proxy.clinic.example:3128")
    clean_proxy_env.setenv("HTTP_PROXY", "http://proxy.clinic.example:8080")
    clean_proxy_env.setenv("REQUESTS_CA_BUNDLE", "/etc/clinic/ca.pem")
    http = make_backend(twilio_config(standin, TWILIO_API_BASE_URL="https://api.twilio.com")).client.http_client
    assert http.proxy["https"] == "http://proxy.clinic.example:3128"
    assert http.proxy["http"] == "http://proxy.clinic.example:8080"
    assert http.session.verify == "/etc/clinic/ca.pem"
    assert http.session.trust_env is False  # not re-read on every request


def test_requests_go_through_the_configured_proxy(standin, clean_proxy_env):
    # The stand-in answers absolute-URI requests as a plain HTTP proxy would forward them.
    clean_proxy_env.setenv("HTTP_PROXY", standin.base_url)
    backend = make_backend(twilio_config(standin, TWILIO_API_BASE_URL="http://api.twilio.invalid"))
    clean_proxy_env.delenv("HTTP_PROXY")  # read at construction: later changes do not matter
    result = backend.send(TO, "Hi")
    assert standin.accepted[0]["sid"] == result.sid
    assert backend.find_sent(TO, "Hi", datetime.now(UTC) - timedelta(minutes=1)) == result.sid


def test_no_proxy_host_is_reached_directly(standin, clean_proxy_env):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    clean_proxy_env.setenv("HTTP_PROXY", dead)
    clean_proxy_env.setenv("HTTPS_PROXY", dead)
    clean_proxy_env.setenv("NO_PROXY", "127.0.0.1,localhost")
    backend = make_backend(twilio_config(standin))
    assert backend.client.http_client.proxy == {}
    assert backend.send(TO, "Hi").sid == standin.accepted[0]["sid"]


def test_no_phone_number_or_body_in_logs(standin, backend, caplog):
    caplog.set_level(logging.DEBUG)
    backend.send(TO, "Private words")
    backend.find_sent(TO, "Private words", datetime.now(UTC))
    standin.script(("error", 400, 21211))
    with pytest.raises(SmsError):
        backend.send(TO, "Private words")
    assert TO not in caplog.text and "Private words" not in caplog.text
    assert "5550123" not in caplog.text


@pytest.mark.parametrize(("missing", "named"), [
    ({"TWILIO_ACCOUNT_SID": ""}, "TWILIO_ACCOUNT_SID"),
    ({"TWILIO_AUTH_TOKEN": ""}, "TWILIO_AUTH_TOKEN"),
    ({"TWILIO_MESSAGING_SERVICE_SID": "", "TWILIO_FROM_NUMBER": ""}, "TWILIO_FROM_NUMBER"),
])
def test_twilio_backend_names_a_missing_setting(standin, missing, named):
    with pytest.raises(ValueError, match=named):
        make_backend(twilio_config(standin, **missing))


def test_make_backend_defaults_to_console_and_rejects_unknown():
    assert isinstance(make_backend(SmsSettings()), ConsoleBackend)
    assert isinstance(make_backend(SmsSettings.from_config({"SMS_BACKEND": "console"})), ConsoleBackend)
    assert sms.SMS_BACKENDS["twilio"] is TwilioBackend
    with pytest.raises(ValueError, match="SMS_BACKEND"):
        make_backend(SmsSettings(backend="carrier-pigeon"))


def test_both_backends_are_sms_backends_and_the_token_never_shows(standin):
    """The dispatcher's seam: each backend has send and find_sent; a logged setting hides the token."""
    for backend in (ConsoleBackend(), make_backend(twilio_config(standin))):
        assert isinstance(backend, sms.SmsBackend)
    assert "secret-token" not in repr(twilio_config(standin))


def test_console_backend_records_and_masks(capsys):
    backend = ConsoleBackend()
    since = datetime.now(UTC)
    result = backend.send(TO, "Northside: see you", status_callback="https://x/sms/status")
    assert result.status == "sent" and re.fullmatch(r"SM[0-9a-f]{32}", result.sid)
    assert backend.outbox == [(TO, "Northside: see you", result.sid)]
    to, body, sid = backend.outbox[0]
    assert backend.outbox[0].body == body and sid == result.sid and to == TO
    printed = capsys.readouterr().out
    assert "+1******0123" in printed and TO not in printed and "Northside: see you" in printed
    assert backend.find_sent(TO, "Northside: see you", since) == result.sid
    assert backend.find_sent(TO, "other", since) is None
    assert backend.find_sent(TO, "Northside: see you", since + timedelta(hours=1)) is None


def test_error_descriptions_and_kinds():
    assert {30003, 30004, 30005, 30006, 30007, 30008, 21610} <= sms.PERMANENT_DELIVERY_CODES
    assert sms.describe_error(21610).startswith("Patient opted out")
    assert sms.describe_error(30005) == "Unknown or inactive number"
    assert sms.describe_error(99999) == "Twilio error 99999"
    assert sms.describe_error(None) == "Unknown error"
    assert sms.mask_number("+15555550123") == "+1******0123"
    assert not SmsError("permanent", "x", 21211).retryable
    with pytest.raises(ValueError):
        SmsError("maybe", "x")


def test_console_outbox_is_bounded(monkeypatch, capsys):
    monkeypatch.setattr(sms, "OUTBOX_LIMIT", 4)
    backend = ConsoleBackend()
    sids = [backend.send(TO, f"text {n}").sid for n in range(5)]
    assert [entry.sid for entry in backend.outbox] == sids[2:]
    assert backend.find_sent(TO, "text 4", datetime.now(UTC) - timedelta(minutes=1)) == sids[4]
