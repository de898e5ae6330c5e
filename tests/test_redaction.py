"""Redaction both ways: every secret shape is blanked, and ordinary FHIR content is left alone."""
from __future__ import annotations

import logging

import pytest

from harness.redaction import (REDACTED, RedactingFilter, is_secret_header, redact_headers, redact_json,
                               redact_text, register_secret)

PEM = ("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oXo9dtHmmJ1CoAoGCCqGSM49\n"
       "-----END EC PRIVATE KEY-----")
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyb3IifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


@pytest.mark.parametrize("name", ["Authorization", "proxy-authorization", "Cookie", "Set-Cookie", "X-Api-Key",
                                  "X-Client-Secret", "X-Session-Id", "X-Auth-Token"])
def test_secret_headers(name: str) -> None:
    assert is_secret_header(name)
    assert "hunter2-value" not in redact_headers({name: "hunter2-value"})[name]


@pytest.mark.parametrize("name", ["Content-Type", "Accept", "Ror-Profil-Utilisateur-Code", "Ror-Role-Metier-System",
                                  "ETag", "Location", "WWW-Authenticate", "X-Request-Id"])
def test_ordinary_headers_kept(name: str) -> None:
    assert not is_secret_header(name)
    assert redact_headers({name: "text/plain; v=1"}) == {name: "text/plain; v=1"}


def test_authorization_keeps_its_scheme() -> None:
    assert redact_headers({"Authorization": "Bearer abc.def.ghi"}) == {"Authorization": f"Bearer {REDACTED}"}
    assert redact_headers({"Authorization": "Basic dXNlcjpwYXNz"}) == {"Authorization": f"Basic {REDACTED}"}


@pytest.mark.parametrize("text, secret", [
    ("grant_type=client_credentials&client_secret=s3cr3t-v4lue&scope=x", "s3cr3t-v4lue"),
    ("https://ror.example/fhir/Organization?access_token=tok-123456&name=x", "tok-123456"),
    ('{"access_token": "tok-abcdef", "expires_in": 300}', "tok-abcdef"),
    ('{"refresh_token":"ref-\\"quoted\\"-x"}', "quoted"),
    ('{"password": "truncated-json-without-end', "truncated-json"),
    ("password=pa55word-x", "pa55word"),
    (f"key file content:\n{PEM}\nend", "MHcCAQEEIBkg4LVWM9nu"),
    ("-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqG (cut short", "MIGHAgEAMBMGByqGSM49"),
    ("invalid token: Bearer abcdefgh.ijklmnop-qrst", "abcdefgh.ijklmnop"),
    (f"diagnostics: token {JWT} expired", JWT),
    ("proxy http://user:proxy-pass-1@proxy.local:3128", "proxy-pass-1"),
])
def test_secret_shapes_in_text(text: str, secret: str) -> None:
    redacted = redact_text(text)
    assert secret not in redacted and REDACTED in redacted
    assert redact_text(redacted) == redacted  # idempotent


@pytest.mark.parametrize("text", [
    "Organization?name:contains=Hôpital&_count=5&code=http://x|1",
    '{"resourceType": "Organization", "identifier": [{"value": "330000000"}], "name": "Bearer & Co"}',
    'WWW-Authenticate: Bearer realm="ror", error="invalid_token"',
    "the Bearer token is missing",
    "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----",
    "tokenization=on&_security=x",
])
def test_ordinary_text_kept(text: str) -> None:
    assert redact_text(text) == text


def test_known_secret_values_are_blanked_anywhere() -> None:
    register_secret("opaque-Value-with-no-shape-42")
    register_secret("abc")  # too short to replace literally: left alone
    assert redact_text("server said: opaque-Value-with-no-shape-42!") == f"server said: {REDACTED}!"
    assert redact_text("abc") == "abc"


def test_redact_json_structure() -> None:
    value = {"client_secret": 42, "nested": [{"Token": {"a": 1}}, "Bearer abcdefghijkl"], "name": "ok"}
    assert redact_json(value) == {"client_secret": REDACTED, "nested": [{"Token": REDACTED}, f"Bearer {REDACTED}"],
                                  "name": "ok"}


def test_logging_filter(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("ror-harness-test-redaction")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info("token response %s", '{"access_token": "tok-from-log-123"}')
    assert "tok-from-log-123" not in caplog.text and REDACTED in caplog.text
