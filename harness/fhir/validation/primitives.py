"""Primitive datatypes: JSON type, lexical format, length; pattern matching; coded values.

The regular expressions are those of the FHIR 4.0.1 primitive type definitions (the `regex`
extension on `<type>.value`); tests/test_validation_primitives.py asserts they still equal the
ones in the bundled core package, so a refreshed core cannot drift silently.
"""
from __future__ import annotations

import datetime as _dt
import json
import re

REGEX: dict[str, str] = {
    "base64Binary": r"(\s*([0-9a-zA-Z\+/=]){4}\s*)+",
    "boolean": r"true|false",
    "canonical": r"\S*",
    "code": r"[^\s]+(\s[^\s]+)*",
    "date": r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?",
    "dateTime": r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])"
                r"(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?",
    "decimal": r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?",
    "id": r"[A-Za-z0-9\-\.]{1,64}",
    "instant": r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])"
               r"T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))",
    "integer": r"-?([0]|([1-9][0-9]*))",
    "markdown": r"[ \r\n\t\S]+",
    "oid": r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+",
    "positiveInt": r"[1-9][0-9]*",
    "string": r"[ \r\n\t\S]+",
    "time": r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?",
    "unsignedInt": r"[0]|([1-9][0-9]*)",
    "uri": r"\S*",
    "url": r"\S*",
    "uuid": r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
}
_COMPILED = {name: re.compile(rx) for name, rx in REGEX.items()}
PRIMITIVES = frozenset(REGEX) | {"xhtml"}
_JSON_NUMBER_TYPES = {"integer", "positiveInt", "unsignedInt", "decimal"}
_INT_RANGE = (-2**31, 2**31 - 1)
MAX_STRING = 1024 * 1024


def is_primitive(code: str) -> bool:
    return code in PRIMITIVES or code.startswith("http://hl7.org/fhirpath/System.")


def json_kind(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _expected_kind(type_code: str) -> str:
    if type_code == "boolean" or type_code.endswith("System.Boolean"):
        return "boolean"
    if type_code in _JSON_NUMBER_TYPES or type_code.endswith(("System.Integer", "System.Decimal")):
        return "number"
    return "string"


def _calendar_ok(text: str) -> bool:
    """The regexes accept 2023-02-30; the calendar does not."""
    if len(text) >= 10 and text[4] == "-" and text[7] == "-":
        try:
            _dt.date(int(text[:4]), int(text[5:7]), int(text[8:10]))
        except ValueError:
            return False
    return True


def check(type_code: str, value: object, max_length: int | None = None) -> tuple[str, dict] | None:
    """None when `value` is a valid JSON form of `type_code`, else (message id, template args)."""
    expected = _expected_kind(type_code)
    kind = json_kind(value)
    if kind != expected:
        return "json-type", {"expected": f"{expected} ({type_code})", "found": kind}
    name = type_code.rsplit(".", 1)[-1] if type_code.startswith("http") else type_code
    if expected == "number":
        if type_code in ("integer", "positiveInt", "unsignedInt") or name == "Integer":
            if isinstance(value, float) and not value.is_integer():
                return "primitive-format", {"value": show(value), "type": type_code}
            number = int(value)
            low = {"positiveInt": 1, "unsignedInt": 0}.get(type_code, _INT_RANGE[0])
            if not low <= number <= _INT_RANGE[1]:
                return "primitive-format", {"value": show(value), "type": type_code}
        return None
    if expected == "boolean":
        return None
    if value == "":
        return "empty", {}
    rx = _COMPILED.get(type_code)
    if rx is not None and not rx.fullmatch(value):
        return "primitive-format", {"value": value[:80], "type": type_code}
    if type_code in ("date", "dateTime", "instant") and not _calendar_ok(value):
        return "primitive-format", {"value": value[:80], "type": type_code}
    limit = max_length or (MAX_STRING if type_code in ("string", "markdown") else None)
    if limit is not None and len(value) > limit:
        return "max-length", {"length": len(value), "max": limit}
    return None


def show(value: object) -> str:
    """A short JSON rendering for messages."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= 120 else text[:117] + "..."


def matches_pattern(value: object, pattern: object) -> bool:
    """FHIR pattern[x] semantics: every element of the pattern appears in the value; arrays in
    the pattern need a matching item each, extra content in the value is allowed."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            k in value and matches_pattern(value[k], v) for k, v in pattern.items())
    if isinstance(pattern, list):
        items = value if isinstance(value, list) else [value]
        return all(any(matches_pattern(item, p) for item in items) for p in pattern)
    return value == pattern


def codings(type_code: str, value: object) -> list[tuple[str | None, object]]:
    """(system, code) pairs a coded value carries, for binding checks."""
    if not isinstance(value, dict):
        return []
    if type_code == "CodeableConcept":
        return [(c.get("system"), c.get("code")) for c in value.get("coding") or () if isinstance(c, dict)]
    if type_code in ("Coding", "Quantity"):
        if type_code == "Quantity" and "system" not in value:
            return []
        return [(value.get("system"), value.get("code"))]
    return []
