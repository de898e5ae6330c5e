"""French communes, departments and regions for the synthetic dataset, with a point per commune.

Why a module: every address of the dataset must be a real place (a commune INSEE code with one
of its real postal codes and its name, in its real department and region) so that searches by
postal code, commune code or region behave as on real data. Points come from the commune
points fixture the reference server also uses for `near-insee-code`
(`fixtures/geo/commune-centroids.json.gz`: GeoNames for communes of 1,000+ inhabitants,
flagged synthetic points near the department's places for the others), so that `near` on a
Location and `near-insee-code` on its commune agree. Only the 18 regions of the ROR
nomenclature J237 are kept (no overseas collectivities), and communes without a postal code
or a point are dropped.
"""
from __future__ import annotations

import dataclasses
import functools
import gzip

import orjson

from harness.fhir.packages import FIXTURES
from harness.geo import commune_points

GEO_DIR = FIXTURES / "geo"


@dataclasses.dataclass(frozen=True)
class Commune:
    code: str  # INSEE (COG) code
    name: str
    department: str
    region: str  # J237 / TRE_R30 code
    postal_codes: tuple[str, ...]
    population: int


@functools.cache
def departments() -> dict[str, str]:
    """Department code -> name, for the departments that have communes in the dataset."""
    kept = {c.department for c in communes()}
    return {d["code"]: d["nom"] for d in orjson.loads((GEO_DIR / "departements.json").read_bytes())
            if d["code"] in kept}


@functools.cache
def communes() -> tuple[Commune, ...]:
    """Every usable commune, in INSEE code order."""
    raw = orjson.loads(gzip.decompress((GEO_DIR / "communes.json.gz").read_bytes()))
    points = commune_points()
    kept = (Commune(c["code"], c["nom"], c["departement"], c["region"], tuple(c["codesPostaux"]),
                    int(c.get("population") or 0))
            for c in raw if c.get("codesPostaux") and len(c["region"]) == 2 and c["code"] in points)
    return tuple(sorted(kept, key=lambda c: c.code))


@functools.cache
def _by_code() -> dict[str, Commune]:
    return {c.code: c for c in communes()}


def commune(code: str) -> Commune | None:
    return _by_code().get(code)


@functools.cache
def communes_of_department(department: str) -> tuple[Commune, ...]:
    return tuple(c for c in communes() if c.department == department)


def commune_position(code: str) -> tuple[float, float] | None:
    """(latitude, longitude) of a commune's point, None for an unknown commune."""
    found = commune_points().get(code)
    return (found[0], found[1]) if found else None


def is_synthetic_point(code: str) -> bool:
    """True when the commune's point is synthetic (a commune under 1,000 inhabitants)."""
    return commune_points().get(code, (0, 0, False))[2]
