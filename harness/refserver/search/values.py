"""Value conversions shared by indexing (write time) and querying (read time).

Both sides must agree exactly: a string is normalised the same way when stored and when
searched, and a date becomes the same [low, high) range of epoch milliseconds. Keeping both in
one module is what guarantees it.
"""
from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache

#: Open ends of a Period (no start / no end): beyond any real date.
MIN_MS = -(2**62)
MAX_MS = 2**62

_PUNCTUATION = re.compile(r"[^\w]+")
_DATE_RE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})(?:T(?P<H>\d{2})(?::(?P<M>\d{2})(?::(?P<S>\d{2})(?P<f>\.\d+)?)?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$")


@lru_cache(maxsize=65536)
def normalise(text: str) -> str:
    """Lower case, accents stripped, spaces collapsed: how FHIR string search compares."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def words(text: str) -> str:
    """normalise() with punctuation as spaces: the form `:text` searches word starts in
    (`l'enfant` has a word `enfant`)."""
    return " ".join(_PUNCTUATION.sub(" ", normalise(text)).split())


def date_range(text: str) -> tuple[int, int] | None:
    """The [low, high) range in epoch milliseconds that a FHIR date/dateTime/instant covers.

    Precision gives the width: `2023` is the whole year, `2023-08-02T15:00` one minute. A value
    without a time zone is read as UTC (the server's zone; FHIR leaves it to the server).
    Returns None when the text is not a FHIR date.
    """
    match = _DATE_RE.match(text.strip()) if isinstance(text, str) else None
    if not match:
        return None
    g = match.groupdict()
    try:
        year = int(g["y"])
        month = int(g["m"] or 1)
        day = int(g["d"] or 1)
        hour = int(g["H"] or 0)
        minute = int(g["M"] or 0)
        second = int(g["S"] or 0)
        start = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError:
        return None
    if g["H"] is not None and g["M"] is None:
        return None  # `T15` alone is not a FHIR dateTime
    if g["tz"] and g["tz"] != "Z":
        sign = 1 if g["tz"][0] == "+" else -1
        start -= sign * timedelta(hours=int(g["tz"][1:3]), minutes=int(g["tz"][4:6]))
    if g["f"]:
        fraction = g["f"][1:]
        micros = int((fraction + "000000")[:6])
        start += timedelta(microseconds=micros)
        width = timedelta(microseconds=max(1, 10 ** (6 - min(len(fraction), 6))))
        if len(fraction) <= 3:
            width = timedelta(milliseconds=10 ** (3 - len(fraction)))
    elif g["S"] is not None:
        width = timedelta(seconds=1)
    elif g["M"] is not None:
        width = timedelta(minutes=1)
    elif g["d"] is not None:
        width = timedelta(days=1)
    elif g["m"] is not None:
        width = timedelta(days=calendar.monthrange(year, month)[1])
    else:
        width = timedelta(days=366 if calendar.isleap(year) else 365)
    low = _ms(start)
    return low, max(low + 1, _ms(start + width))


def _ms(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000


def parse_decimal(text: str) -> Decimal | None:
    """A FHIR decimal search value (`100`, `1.5e2`), or None."""
    if not isinstance(text, str) or not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", text.strip()):
        return None
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        return None


def precision_range(value: Decimal) -> tuple[float, float]:
    """The implicit range of a search number: `100` is [99.5, 100.5), `1e2` is [50, 150)."""
    exponent = value.as_tuple().exponent
    half = Decimal(5).scaleb(exponent - 1) if isinstance(exponent, int) else Decimal(0)
    return float(value - half), float(value + half)
