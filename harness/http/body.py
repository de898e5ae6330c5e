"""Turning a response body into text and JSON, and saying in words what was wrong with it.

FHIR's JSON format is UTF-8, full stop (FHIR R4 http.html#mime-type), so the body is always
decoded as UTF-8 whatever charset the server declares; a declared charset that disagrees is
itself worth reporting. Nothing here raises: a broken body becomes notes a reader can act on.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from email.message import Message
from typing import Any

FHIR_JSON = "application/fhir+json"
_UTF8_NAMES = {"utf-8", "utf8"}
_BOM = "\ufeff"


@dataclass(frozen=True)
class DecodedBody:
    text: str
    json: Any | None
    json_error: str | None  # why `json` is None
    notes: tuple[str, ...]


def media_type(content_type: str | None) -> tuple[str, str | None]:
    """(`type/subtype` lower-cased, declared charset or None) of a Content-Type value."""
    if not content_type:
        return "", None
    message = Message()
    message["content-type"] = content_type
    charset = message.get_param("charset")
    return message.get_content_type(), charset if isinstance(charset, str) else None


def content_type_note(content_type: str | None) -> str | None:
    """Why a Content-Type is not the FHIR JSON one, or None when it is."""
    if not content_type:
        return "no Content-Type header (expected application/fhir+json)"
    kind, _ = media_type(content_type)
    if kind == FHIR_JSON:
        return None
    if kind == "application/json":
        return "Content-Type is application/json, not application/fhir+json"
    return f"Content-Type is {content_type!r}, not application/fhir+json"


def _first_bad_utf8_offset(raw: bytes) -> int | None:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return None


def _snippet(text: str, length: int = 60) -> str:
    head = text[:length].replace("\n", "\\n").replace("\r", "\\r")
    return head + ("..." if len(text) > length else "")


def _reject_constant(name: str) -> None:
    """Python's json accepts NaN and Infinity; RFC 8259 does not, so neither does a FHIR server's body."""
    raise ValueError(f"{name} is not a JSON value")


def decode(raw: bytes, content_type: str | None, *, truncated: bool) -> DecodedBody:
    """Decode as UTF-8 and parse as JSON when the body can be whole; every oddity becomes a note."""
    notes: list[str] = []
    _, charset = media_type(content_type)
    if charset and charset.lower() not in _UTF8_NAMES:
        notes.append(f"the server declares charset={charset} but FHIR JSON is UTF-8: the body was read as UTF-8")
    bad = _first_bad_utf8_offset(raw)
    if bad is not None:
        notes.append(f"the body is not valid UTF-8 (first invalid byte at offset {bad}): "
                     "invalid bytes shown as U+FFFD")
    text = raw.decode("utf-8", errors="replace")
    if text.startswith(_BOM):
        notes.append("the body starts with a UTF-8 byte order mark, which JSON forbids (RFC 8259 section 8.1)")
        text = text[1:]
    if truncated:
        return DecodedBody(text, None, f"the body was cut at {len(raw)} bytes (the size limit): not parsed",
                           tuple(notes))
    if not text.strip():
        return DecodedBody(text, None, "the body is empty", tuple(notes))
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        why = (f"the body is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
               f"it starts with {_snippet(text)!r}")
        return DecodedBody(text, None, why, tuple(notes))
    except (ValueError, RecursionError) as exc:  # NaN, a 5000-digit number, nesting deeper than Python's stack
        return DecodedBody(text, None, f"the body is not JSON the harness can read: {exc or 'nested too deeply'}",
                           tuple(notes))
    return DecodedBody(text, value, None, tuple(notes))
