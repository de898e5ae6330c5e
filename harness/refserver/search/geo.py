"""Distances for `near` and `near-insee-code`: great-circle km and the commune points fixture.

Commune points come from `fixtures/geo/commune-centroids.json.gz` (GeoNames for communes of
1,000+ inhabitants, flagged synthetic points for the others: see tools/build_commune_centroids.py
and docs/refserver-search.md), so distances between small communes are approximate by design.
"""
from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from functools import cache

from harness.geo import commune_points as communes

EARTH_KM = 6371.0088


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance on the mean Earth sphere (good to ~0.5% at French scales)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


@cache
def _by_latitude() -> tuple[list[float], list[tuple[str, float, float]]]:
    """Commune points sorted by latitude, so a distance query scans one latitude band only."""
    rows = sorted((lat, code, lon) for code, (lat, lon, _) in communes().items())
    return [r[0] for r in rows], [(code, lat, lon) for lat, code, lon in rows]


#: Municipal arrondissements (Paris 751xx, Lyon 6938x, Marseille 132xx) are COG codes of their
#: own (TRE_R13 lists them) but have no point in the fixture: they take their city's point.
ARRONDISSEMENTS = (("751", "75056"), ("6938", "69123"), ("132", "13055"))
ARRONDISSEMENT_CODES = {"75056": [f"751{n:02d}" for n in range(1, 21)],
                        "69123": [f"6938{n}" for n in range(1, 10)],
                        "13055": [f"132{n:02d}" for n in range(1, 17)]}


def commune_point(code: str) -> tuple[float, float] | None:
    found = communes().get(code)
    if found is None:
        city = next((c for prefix, c in ARRONDISSEMENTS if code.startswith(prefix) and len(code) == 5), None)
        found = communes().get(city) if city else None
    return (found[0], found[1]) if found else None


def communes_within(lat: float, lon: float, km: float) -> dict[str, float]:
    """Commune code -> distance (km) for every commune point within `km` of (lat, lon)."""
    dlat = km / 110.5 + 1e-9  # one degree of latitude is at least 110.57 km
    lats, points = _by_latitude()
    out: dict[str, float] = {}
    for code, clat, clon in points[bisect_left(lats, lat - dlat):bisect_right(lats, lat + dlat)]:
        d = distance_km(lat, lon, clat, clon)
        if d <= km:
            out[code] = d
            for arrondissement in ARRONDISSEMENT_CODES.get(code, ()):
                out[arrondissement] = d
    return out
