"""Content negotiation and request bodies: what the server accepts and answers, and why.

The ROR API speaks FHIR JSON only (CapabilityStatement format: application/fhir+json and, for
$export, application/fhir+ndjson). So: `_format` overrides `Accept` (FHIR R4 http.html); JSON
media types (and `*/*`, as the national API's own Python samples send `Accept:
application/json`) are served; a request that accepts only XML or anything else is answered
406, never silently JSON. Request bodies must be JSON (415 otherwise), within the configured
size (413), and parse (400 naming the line and column).
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from harness.refserver.outcome import FhirError

FHIR_JSON = "application/fhir+json"
FHIR_NDJSON = "application/fhir+ndjson"
FORM = "application/x-www-form-urlencoded"
JSON_TYPES = frozenset({FHIR_JSON, "application/json", "application/*", "*/*"})
JSON_FORMATS = frozenset({"json", FHIR_JSON, "application/json"})
XML_FORMATS = frozenset({"xml", "application/fhir+xml", "application/xml", "text/xml"})


def _media_ranges(accept: str) -> list[tuple[str, float]]:
    ranges = []
    for item in accept.split(","):
        media, *params = [p.strip() for p in item.split(";")]
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media:
            ranges.append((media.lower(), quality))
    return ranges


def negotiate(format_param: str | None, accept: str | None) -> None:
    """Return when JSON may be answered, raise 406 otherwise."""
    if format_param is not None:
        wanted = format_param.strip().lower().split(";")[0].strip()
        if wanted in JSON_FORMATS:
            return
        kind = "XML" if wanted in XML_FORMATS else repr(format_param)
        raise FhirError(406, "not-supported", f"_format={format_param}: this server answers FHIR JSON only "
                                              f"({kind} is not served; use _format=json)")
    if not accept or not accept.strip():
        return
    if any(media in JSON_TYPES and quality > 0 for media, quality in _media_ranges(accept)):
        return
    raise FhirError(406, "not-supported", f"Accept: {accept} — this server answers {FHIR_JSON} only")


def body_kind(content_type: str | None, *, form_allowed: bool = False) -> str:
    """'json' or 'form' for an acceptable request Content-Type; 415 otherwise."""
    media, _, params = (content_type or "").partition(";")
    media = media.strip().lower()
    charset = next((p.split("=", 1)[1].strip().strip('"').lower() for p in params.split(";")
                    if p.strip().lower().startswith("charset=")), "utf-8")
    if charset not in ("utf-8", "utf8"):
        raise FhirError(415, "not-supported", f"charset {charset} is not supported: send UTF-8")
    if media in (FHIR_JSON, "application/json"):
        return "json"
    if form_allowed and media == FORM:
        return "form"
    expected = f"{FHIR_JSON}" + (f" (or {FORM} for _search)" if form_allowed else "")
    raise FhirError(415, "not-supported", f"Content-Type {content_type or '(none)'} is not accepted here: send "
                                          f"{expected}")


async def read_body(chunks: AsyncIterator[bytes], declared_length: str | None, limit: int) -> bytes:
    """The request body, refused with 413 beyond `limit` bytes (declared or streamed)."""
    if declared_length and declared_length.isdigit() and int(declared_length) > limit:
        raise FhirError(413, "too-costly", f"request body of {declared_length} bytes exceeds the limit of {limit}")
    body = bytearray()
    async for chunk in chunks:
        body.extend(chunk)
        if len(body) > limit:
            raise FhirError(413, "too-costly", f"request body exceeds the limit of {limit} bytes")
    return bytes(body)


def parse_json(body: bytes) -> Any:
    """The JSON document of a body, or 400 naming where it breaks."""
    if not body.strip():
        raise FhirError(400, "invalid", "the request has no body: a FHIR JSON resource is expected")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        line = body[:exc.pos].count(b"\n") + 1
        column = exc.pos - (body.rfind(b"\n", 0, exc.pos) + 1) + 1
        raise FhirError(400, "structure", f"the body is not valid JSON (line {line}, column {column}): "
                                          f"{exc.msg}") from None
