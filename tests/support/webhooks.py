"""Helpers for posting Twilio-signed webhook requests through the Flask test client."""
from __future__ import annotations

from collections.abc import Mapping

from twilio.request_validator import RequestValidator


def sign(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """The X-Twilio-Signature Twilio would send for a POST of `params` to `url`."""
    return RequestValidator(auth_token).compute_signature(url, dict(params))


def signed_post(client, path: str, params: Mapping[str, str], auth_token: str,
                base_url: str = "http://localhost"):
    """POST form `params` to `path` as Twilio would, signed for `base_url` + `path`."""
    url = base_url.rstrip("/") + path
    return client.post(
        path,
        data=dict(params),
        headers={"X-Twilio-Signature": sign(url, params, auth_token)},
        base_url=base_url,
    )
