"""The one place that knows what a secret is, and how to blank it out of anything written down.

Every output of the harness (report attachments, JSON summary, JUnit XML, console, log lines,
curl replay lines) passes through here, so a new kind of secret is taught once and hidden
everywhere. Two layers, because either alone leaks:

- *shapes*: headers, field names and text patterns that are secrets whatever their value
  (an Authorization header, `client_secret=...` in a form, a PEM private key, a bearer token
  or a JWT inside an error message);
- *known values*: the literal secrets this process holds (the OAuth2 client secret, the access
  token it received, a key password), registered once and replaced wherever they turn up, even
  where no pattern would recognise them (a server echoing the token inside a diagnostic).

Redaction is idempotent: redacting redacted text changes nothing.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[REDACTED]"

SECRET_HEADERS = frozenset({
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key",
    "x-auth-token", "x-access-token", "x-csrf-token", "x-xsrf-token",
})
# Any header whose name speaks of one of these is treated as secret too (X-Session-Id, X-Client-Secret, ...).
_SECRET_HEADER_WORDS = re.compile(r"secret|token|passw|api-?key|session|credential|cookie", re.IGNORECASE)

SECRET_FIELDS = frozenset({
    "client_secret", "access_token", "refresh_token", "id_token", "password", "passwd",
    "client_assertion", "assertion", "api_key", "apikey", "private_key", "secret", "token",
})

# Known values shorter than this are not replaced literally: "abc" would blank half of a report.
_MIN_KNOWN_LENGTH = 6
_known: set[str] = set()
_known_lock = threading.Lock()
_known_pattern: re.Pattern[str] | None = None

_FIELD_ALTERNATION = "|".join(sorted(SECRET_FIELDS, key=len, reverse=True))
_PEM_PRIVATE_KEY = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?(?:-----END \1PRIVATE KEY-----|\Z)", re.DOTALL)
# "client_secret": "value" in JSON text, even truncated or invalid JSON the parser would refuse.
_JSON_FIELD = re.compile(rf'("(?:{_FIELD_ALTERNATION})"\s*:\s*)"(?:[^"\\]|\\.)*"?', re.IGNORECASE)
# The same inside a JSON string that holds JSON (\"access_token\": \"value\"), as servers echo it.
_ESCAPED_JSON_FIELD = re.compile(rf'(\\"(?:{_FIELD_ALTERNATION})\\"\s*:\s*\\")(?:[^"\\\n]|\\[^"])*', re.IGNORECASE)
# client_secret=value in a query string or a form body (the value ends at &, #, space or quote).
_FORM_FIELD = re.compile(rf"(?<![\w-])((?:{_FIELD_ALTERNATION})=)[^&#\s'\"]+", re.IGNORECASE)
# A credential after an auth scheme; not a challenge parameter (`Bearer realm="ror"`) nor a short word of prose.
_AUTH_SCHEME = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9\-._~+/]{8,}=*(?![A-Za-z0-9\-._~+/=\"])", re.IGNORECASE)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_URL_PASSWORD = re.compile(r"\b([a-z][a-z0-9+.-]*://[^/\s:@]+):[^@/\s]+@", re.IGNORECASE)


def register_secret(value: str | None) -> None:
    """Remember a literal secret so that every later redaction in this process blanks it."""
    global _known_pattern
    if not value or len(value) < _MIN_KNOWN_LENGTH or value == REDACTED:
        return
    with _known_lock:
        if value in _known:
            return
        _known.add(value)
        # Longest first, so a secret that contains another is blanked whole.
        alternation = "|".join(re.escape(v) for v in sorted(_known, key=len, reverse=True))
        _known_pattern = re.compile(alternation)


def register_header_secrets(headers: Iterable[tuple[str, str]]) -> None:
    """Register the secret parts of secret headers seen on the wire (a cookie's value, a credential).

    A session cookie set by the server has no recognisable shape: once registered, it is blanked
    even where it reappears in a free-text message.
    """
    for name, value in headers:
        if not is_secret_header(name):
            continue
        if name.strip().lower() in ("authorization", "proxy-authorization"):
            register_secret(value.strip().split(" ", 1)[-1].strip())
            continue
        for part in value.split(";")[0].split(","):  # a cookie: name=value; attributes
            register_secret(part.strip())
            register_secret(part.partition("=")[2].strip())


def is_secret_header(name: str) -> bool:
    lowered = name.strip().lower()
    return lowered in SECRET_HEADERS or bool(_SECRET_HEADER_WORDS.search(lowered))


def is_secret_field(name: str) -> bool:
    return name.strip().lower() in SECRET_FIELDS


def redact_header_value(name: str, value: str) -> str:
    """Blank a header's value if the header is secret; keep an auth scheme so a reader knows which one was used."""
    if not is_secret_header(name):
        return redact_text(value)
    scheme = value.strip().split(" ", 1)
    if name.strip().lower() in ("authorization", "proxy-authorization") and len(scheme) == 2:
        return f"{scheme[0]} {REDACTED}"
    return REDACTED


def redact_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {name: redact_header_value(name, value) for name, value in items}


def redact_text(text: str) -> str:
    """Blank every secret shape and every known secret value in free text (bodies, messages, URLs, logs).

    Each pattern runs only when a substring it cannot match without is present (a cheap exact
    pre-check): most response bodies hold no JWT, no PEM key and no URL password, and running
    the regular expressions over every megabyte-sized search page cost a quarter of a catalogue run.
    """
    if not text:
        return text
    lowered = text.lower()
    if "private key" in lowered:
        text = _PEM_PRIVATE_KEY.sub(f"{REDACTED} private key", text)
    text = _JSON_FIELD.sub(rf'\1"{REDACTED}"', text)
    if '\\"' in text:
        text = _ESCAPED_JSON_FIELD.sub(rf"\1{REDACTED}", text)
    if "=" in text:
        text = _FORM_FIELD.sub(rf"\1{REDACTED}", text)
    if "bearer" in lowered or "basic" in lowered:
        text = _AUTH_SCHEME.sub(rf"\1 {REDACTED}", text)
    if "eyJ" in text:
        text = _JWT.sub(REDACTED, text)
    if "://" in text and "@" in text:
        text = _URL_PASSWORD.sub(rf"\1:{REDACTED}@", text)
    pattern = _known_pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    return text


def redact_json(value: Any) -> Any:
    """Redact a parsed JSON value: secret-named fields blanked whole, every string redacted as text."""
    if isinstance(value, Mapping):
        return {key: REDACTED if isinstance(key, str) and is_secret_field(key) else redact_json(item)
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_json(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


class RedactingFilter(logging.Filter):
    """A logging filter that redacts each record's final message, so no handler ever formats a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())
        record.args = None
        return True
