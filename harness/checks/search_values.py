"""Does one value of a resource satisfy one search value? FHIR R4 search rules, per type.

Every function answers True, False or None (cannot tell), and leans towards "cannot tell"
wherever the FHIR specification leaves the server room: a failed search check must mean the
server returned a resource that certainly does not match. Choices made here:
- token codes and identifier values compare case-insensitively (FHIR lets the code system decide);
- strings compare accent- and case-insensitively, from the start (default), whole (`:exact`,
  which compares exactly) or anywhere (`:contains`);
- a date or dateTime without a time zone, compared with one that has one, matches if it would
  at some offset between -14:00 and +14:00;
- quantities: http and https unitsofmeasure.org are the same system; another unit than the one
  searched cannot be judged (the server may convert).
"""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

Verdict = bool | None
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$")
PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
_TZ_SPREAD = (timedelta(hours=-14), timedelta(0), timedelta(hours=14))
_UCUM = ("http://unitsofmeasure.org", "https://unitsofmeasure.org")


def any_of(verdicts: list[Verdict]) -> Verdict:
    """OR in three values: one True wins; else any None leaves it open."""
    if any(v is True for v in verdicts):
        return True
    return None if any(v is None for v in verdicts) else False


def split_prefix(value: str) -> tuple[str, str]:
    if len(value) > 2 and value[:2] in PREFIXES and (value[2].isdigit() or value[2] in "-."):
        return value[:2], value[2:]
    return "eq", value


# -- token -------------------------------------------------------------------------------------


def token_items(item: Any) -> list[tuple[str | None, str]]:
    """(system, code) pairs of a Coding, CodeableConcept, Identifier, ContactPoint or primitive."""
    if isinstance(item, dict):
        if "coding" in item:
            return [p for c in item.get("coding") or () for p in token_items(c)]
        if "code" in item:
            return [(item.get("system"), str(item["code"]))]
        if "value" in item:
            return [(item.get("system"), str(item["value"]))]
        return []
    if isinstance(item, bool):
        return [(None, "true" if item else "false")]
    return [(None, str(item))]


def token_match(item: Any, value: str) -> Verdict:
    if "|" in value:
        system, _, code = value.partition("|")
    else:
        system, code = None, value
    for item_system, item_code in token_items(item):
        if system == "" and item_system:
            continue
        if system and item_system != system:
            continue
        if code == "" or item_code.lower() == code.lower():
            return True
    return False


def of_type_match(item: Any, value: str) -> Verdict:
    """`identifier:of-type=typeSystem|typeCode|value` on an Identifier."""
    parts = value.split("|")
    if len(parts) != 3 or not isinstance(item, dict):
        return None
    type_system, type_code, wanted = parts
    typed = any(c.get("system") == type_system and c.get("code") == type_code
                for c in (item.get("type") or {}).get("coding") or ())
    return typed and str(item.get("value", "")).lower() == wanted.lower()


# -- string ------------------------------------------------------------------------------------


def fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()


def _strings(item: Any) -> list[str]:
    if isinstance(item, str):
        return [item]
    if isinstance(item, dict):
        return [s for key, v in item.items() if key not in ("extension", "id", "use", "type", "period")
                for s in _strings(v)]
    if isinstance(item, list):
        return [s for v in item for s in _strings(v)]
    return []


def string_match(item: Any, value: str, modifier: str | None) -> Verdict:
    """A string, HumanName or Address (any of its parts) against one search string."""
    for text in _strings(item):
        if modifier == "exact":
            if text == value:
                return True
        elif modifier == "contains":
            if fold(value) in fold(text):
                return True
        elif fold(text).startswith(fold(value)):
            return True
    return False


# -- dates -------------------------------------------------------------------------------------


class DateRange:
    """[low, high) in naive UTC, and whether the text carried a time zone."""

    def __init__(self, low: datetime, high: datetime, zoned: bool) -> None:
        self.low, self.high, self.zoned = low, high, zoned

    def shifted(self, delta: timedelta) -> DateRange:
        return DateRange(self.low + delta, self.high + delta, self.zoned)


def parse_date(text: str) -> DateRange | None:
    m = _DATE.match(text.strip()) if isinstance(text, str) else None
    if not m:
        return None
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    try:
        low = datetime(int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0), int(second or 0),
                       int(Decimal(fraction) * 1_000_000) if fraction else 0)
    except ValueError:
        return None
    if fraction:
        high = low + timedelta(microseconds=max(1, 10 ** (6 - min(len(fraction) - 1, 6))))
    elif second:
        high = low + timedelta(seconds=1)
    elif minute:
        high = low + timedelta(minutes=1)
    elif day:
        high = low + timedelta(days=1)
    elif month:
        high = low.replace(year=low.year + (low.month == 12), month=low.month % 12 + 1)
    else:
        high = low.replace(year=low.year + 1)
    if zone:
        offset = timedelta(0) if zone == "Z" else (1 if zone[0] == "+" else -1) * timedelta(
            hours=int(zone[1:3]), minutes=int(zone[4:6]))
        low, high = low - offset, high - offset
    return DateRange(low, high, bool(zone))


def date_target(item: Any) -> DateRange | None:
    """The range of a date, dateTime, instant or Period (an open end is unbounded)."""
    if isinstance(item, dict) and ("start" in item or "end" in item):
        start = parse_date(item["start"]) if item.get("start") else None
        end = parse_date(item["end"]) if item.get("end") else None
        if (item.get("start") and start is None) or (item.get("end") and end is None):
            return None
        return DateRange(start.low if start else datetime.min + timedelta(days=2),
                         end.high if end else datetime.max - timedelta(days=2),
                         bool((start and start.zoned) or (end and end.zoned)))
    return parse_date(item) if isinstance(item, str) else None


def _compare_ranges(prefix: str, s: DateRange, t: DateRange) -> bool:
    eq = s.low <= t.low and t.high <= s.high
    return {"eq": eq, "ne": not eq,
            "gt": t.high > s.high, "lt": t.low < s.low,
            "ge": t.high > s.high or eq, "le": t.low < s.low or eq,
            "sa": t.low >= s.high, "eb": t.high <= s.low}[prefix]


def date_match(item: Any, value: str) -> Verdict:
    prefix, text = split_prefix(value)
    searched, target = parse_date(text), date_target(item)
    if searched is None or target is None or prefix == "ap":
        return None
    if searched.zoned == target.zoned:
        return _compare_ranges(prefix, searched, target)
    naive_is_search = not searched.zoned
    for delta in _TZ_SPREAD:
        s = searched.shifted(delta) if naive_is_search else searched
        t = target if naive_is_search else target.shifted(delta)
        if _compare_ranges(prefix, s, t):
            return True
    return False


# -- numbers and quantities --------------------------------------------------------------------


def _decimal(text: Any) -> Decimal | None:
    try:
        return Decimal(str(text))
    except (InvalidOperation, ValueError):
        return None


def number_compare(prefix: str, searched: str, actual: Any) -> Verdict:
    """FHIR number semantics: `eq 100` is the range of the given precision [99.5, 100.5)."""
    value, number = _decimal(searched), _decimal(actual)
    if value is None or number is None or isinstance(actual, bool):
        return None
    exponent = value.as_tuple().exponent
    half = Decimal(5).scaleb(exponent - 1) if isinstance(exponent, int) else Decimal(0)
    in_range = value - half <= number < value + half
    return {"eq": in_range, "ne": not in_range, "gt": number > value, "lt": number < value,
            "ge": number >= value, "le": number <= value, "sa": number > value, "eb": number < value,
            "ap": abs(number - value) <= abs(value) * Decimal("0.1")}[prefix]


def number_match(item: Any, value: str) -> Verdict:
    prefix, text = split_prefix(value)
    return number_compare(prefix, text, item)


def quantity_match(item: Any, value: str) -> Verdict:
    prefix, text = split_prefix(value)
    number, _, unit_part = text.partition("|")
    system, _, code = unit_part.partition("|") if unit_part else ("", "", "")
    if not isinstance(item, dict) or "value" not in item:
        return None
    if code:
        same_system = not system or item.get("system") == system or (
            item.get("system") in _UCUM and system in _UCUM)
        if not same_system or code not in (item.get("code"), item.get("unit")):
            return None  # another unit: the server may have converted
    return number_compare(prefix, number, item["value"])


# -- references and uris -----------------------------------------------------------------------


def reference_key(text: str) -> str:
    """`http://base/Type/id/_history/2` -> `Type/id`; a bare id stays as it is."""
    text = text.split("/_history/")[0].rstrip("/")
    parts = text.split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else text


def reference_match(item: Any, value: str, type_modifier: str | None) -> Verdict:
    target = item.get("reference") if isinstance(item, dict) else item if isinstance(item, str) else None
    if not target:
        return None  # a logical (identifier-only) reference: cannot be compared
    wanted = f"{type_modifier}/{value}" if type_modifier and "/" not in value else value
    got = reference_key(target)
    if "/" in wanted:
        return got == reference_key(wanted)
    return got.split("/")[-1] == wanted


def uri_match(item: Any, value: str) -> Verdict:
    return item == value if isinstance(item, str) else None
