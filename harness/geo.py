"""French commune points, shared by the dataset generator and the reference server's distances.

One reader, so that a Location the dataset places "in" a commune is exactly at the point the
server measures `near-insee-code` distances from. Points come from
`fixtures/geo/commune-centroids.json.gz` (GeoNames for communes of 1,000+ inhabitants; flagged
synthetic points for the others: tools/build_commune_centroids.py, fixtures/PROVENANCE.md).
"""
from __future__ import annotations

import gzip
from functools import cache

import orjson

from harness.fhir.packages import FIXTURES

CENTROIDS = FIXTURES / "geo" / "commune-centroids.json.gz"


@cache
def commune_points() -> dict[str, tuple[float, float, bool]]:
    """INSEE code -> (latitude, longitude, synthetic?)."""
    data = orjson.loads(gzip.decompress(CENTROIDS.read_bytes()))
    return {code: (lat, lon, kind == "s") for code, (lat, lon, kind) in data["centroids"].items()}
