"""Distances for `near` and `near-insee-code`: great-circle km and the commune points fixture.

Commune points come from `fixtures/geo/commune-centroids.json.gz` (GeoNames for communes of
1,000+ inhabitants, flagged synthetic points for the others: see tools/build_commune_centroids.py
and docs/refserver-search.md), so distances between small communes are approximate by design.
"""
from __future__ import annotations

import gzip
import json
import math
from functools import cache

from harness.fhir.packages import FIXTURES

CENTROIDS = FIXTURES / "geo" / "commune-centroids.json.gz"
EARTH_KM = 6371.0088


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance on the mean Earth sphere (good to ~0.5% at French scales)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


@cache
def communes() -> dict[str, tuple[float, float, bool]]:
    """INSEE code -> (lat, lon, synthetic?)."""
    data = json.loads(gzip.decompress(CENTROIDS.read_bytes()))
    return {code: (lat, lon, kind == "s") for code, (lat, lon, kind) in data["centroids"].items()}


def commune_point(code: str) -> tuple[float, float] | None:
    found = communes().get(code)
    return (found[0], found[1]) if found else None


def communes_within(lat: float, lon: float, km: float) -> dict[str, float]:
    """Commune code -> distance (km) for every commune point within `km` of (lat, lon)."""
    dlat = km / 111.0 + 1e-9
    out: dict[str, float] = {}
    for code, (clat, clon, _) in communes().items():
        if abs(clat - lat) > dlat:
            continue
        d = distance_km(lat, lon, clat, clon)
        if d <= km:
            out[code] = d
    return out
