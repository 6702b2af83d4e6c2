"""Apps that text through the real twilio client to the local stand-in (tests/support/twilio_standin.py)."""
from __future__ import annotations

import pytest


@pytest.fixture
def twilio_app(make_app, standin):
    """An app that sends through the real twilio client to the stand-in, unthrottled."""
    def build(**config):
        return make_app(**{"SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": standin.account_sid,
                           "TWILIO_AUTH_TOKEN": "x" * 32, "TWILIO_MESSAGING_SERVICE_SID": "MG" + "0" * 32,
                           "TWILIO_API_BASE_URL": standin.base_url, "SMS_TIMEOUT_SECONDS": 2,
                           "SMS_MAX_PER_SECOND": 1000, **config})
    return build


@pytest.fixture
def tapp(twilio_app):
    return twilio_app()
