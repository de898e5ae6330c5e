"""French communes, departments and regions for the synthetic dataset, plus synthetic positions.

Why a module: every address of the dataset must be a real place (a commune INSEE code with one
of its real postal codes and its name, in its real department and region) so that searches by
postal code, commune code or region behave as on real data. The fixture (INSEE COG + La Poste,
`fixtures/geo/`) has no coordinates, so positions are SYNTHETIC: a fixed anchor per department
(its prefecture, approximately) plus an offset derived from the commune code; they are stable
(the same commune always gets the same point) and plausible at department scale, not exact.
The reference server can use `commune_position` to answer `near-insee-code` consistently with
the dataset. Only the 18 regions of the ROR nomenclature J237 are kept (no overseas
collectivities), and communes without a postal code are dropped.
"""
from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib

import orjson

from harness.fhir.packages import FIXTURES

GEO_DIR = FIXTURES / "geo"

#: Approximate coordinates (latitude, longitude, WGS84) of each department's prefecture.
DEPARTMENT_ANCHORS: dict[str, tuple[float, float]] = {
    "01": (46.205, 5.226), "02": (49.564, 3.620), "03": (46.566, 3.333), "04": (44.092, 6.236),
    "05": (44.559, 6.079), "06": (43.703, 7.266), "07": (44.735, 4.599), "08": (49.773, 4.720),
    "09": (42.965, 1.607), "10": (48.297, 4.074), "11": (43.213, 2.351), "12": (44.350, 2.575),
    "13": (43.296, 5.370), "14": (49.183, -0.370), "15": (44.927, 2.440), "16": (45.649, 0.156),
    "17": (46.160, -1.151), "18": (47.081, 2.399), "19": (45.267, 1.771), "21": (47.322, 5.041),
    "22": (48.514, -2.765), "23": (46.171, 1.871), "24": (45.184, 0.721), "25": (47.238, 6.024),
    "26": (44.933, 4.892), "27": (49.024, 1.151), "28": (48.446, 1.489), "29": (47.996, -4.102),
    "2A": (41.919, 8.738), "2B": (42.697, 9.450), "30": (43.837, 4.360), "31": (43.605, 1.444),
    "32": (43.646, 0.586), "33": (44.838, -0.579), "34": (43.611, 3.877), "35": (48.117, -1.678),
    "36": (46.811, 1.691), "37": (47.394, 0.685), "38": (45.188, 5.724), "39": (46.675, 5.555),
    "40": (43.890, -0.500), "41": (47.586, 1.336), "42": (45.439, 4.387), "43": (45.043, 3.885),
    "44": (47.218, -1.554), "45": (47.903, 1.909), "46": (44.448, 1.441), "47": (44.203, 0.616),
    "48": (44.518, 3.500), "49": (47.478, -0.563), "50": (49.116, -1.091), "51": (48.957, 4.365),
    "52": (48.111, 5.139), "53": (48.073, -0.770), "54": (48.692, 6.184), "55": (48.772, 5.160),
    "56": (47.658, -2.760), "57": (49.119, 6.176), "58": (46.990, 3.159), "59": (50.629, 3.057),
    "60": (49.430, 2.081), "61": (48.432, 0.091), "62": (50.291, 2.777), "63": (45.778, 3.087),
    "64": (43.295, -0.371), "65": (43.233, 0.078), "66": (42.699, 2.895), "67": (48.573, 7.752),
    "68": (48.079, 7.358), "69": (45.764, 4.836), "70": (47.622, 6.155), "71": (46.307, 4.828),
    "72": (48.006, 0.199), "73": (45.564, 5.918), "74": (45.899, 6.129), "75": (48.857, 2.352),
    "76": (49.443, 1.099), "77": (48.540, 2.660), "78": (48.801, 2.130), "79": (46.323, -0.465),
    "80": (49.894, 2.296), "81": (43.929, 2.148), "82": (44.018, 1.355), "83": (43.124, 5.928),
    "84": (43.949, 4.806), "85": (46.670, -1.426), "86": (46.580, 0.340), "87": (45.834, 1.261),
    "88": (48.172, 6.450), "89": (47.799, 3.567), "90": (47.640, 6.863), "91": (48.629, 2.441),
    "92": (48.892, 2.207), "93": (48.910, 2.439), "94": (48.790, 2.455), "95": (49.051, 2.101),
    "971": (15.998, -61.726), "972": (14.616, -61.059), "973": (4.922, -52.313),
    "974": (-20.882, 55.451), "976": (-12.780, 45.228),
}

#: Half-extent (degrees of latitude, longitude) of the synthetic spread around an anchor.
_SMALL_DEPARTMENTS = {"75": (0.03, 0.05), "92": (0.05, 0.05), "93": (0.05, 0.05), "94": (0.05, 0.05),
                      "90": (0.1, 0.1), "971": (0.12, 0.12), "972": (0.1, 0.1), "974": (0.15, 0.15),
                      "976": (0.06, 0.06)}
_DEFAULT_SPREAD = (0.3, 0.4)


@dataclasses.dataclass(frozen=True)
class Commune:
    code: str  # INSEE (COG) code
    name: str
    department: str
    region: str  # J237 / TRE_R30 code
    postal_codes: tuple[str, ...]
    population: int


@functools.cache
def regions() -> dict[str, str]:
    """J237 region code -> name, for the regions that have communes in the dataset."""
    names = {r["code"]: r["nom"] for r in orjson.loads((GEO_DIR / "regions.json").read_bytes())}
    return {code: names[code] for code in sorted({c.region for c in communes()})}


@functools.cache
def departments() -> dict[str, str]:
    """Department code -> name."""
    return {d["code"]: d["nom"] for d in orjson.loads((GEO_DIR / "departements.json").read_bytes())
            if d["code"] in DEPARTMENT_ANCHORS}


@functools.cache
def communes() -> tuple[Commune, ...]:
    """Every usable commune, in INSEE code order."""
    raw = orjson.loads(gzip.decompress((GEO_DIR / "communes.json.gz").read_bytes()))
    kept = (Commune(c["code"], c["nom"], c["departement"], c["region"], tuple(c["codesPostaux"]),
                    int(c.get("population") or 0))
            for c in raw if c.get("codesPostaux") and c["departement"] in DEPARTMENT_ANCHORS)
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
    """Synthetic (latitude, longitude) of a commune: department anchor + offset from its code."""
    found = commune(code)
    if found is None:
        return None
    lat0, lon0 = DEPARTMENT_ANCHORS[found.department]
    dlat, dlon = _SMALL_DEPARTMENTS.get(found.department, _DEFAULT_SPREAD)
    digest = hashlib.sha256(code.encode()).digest()
    u = int.from_bytes(digest[:4], "big") / 0xFFFFFFFF * 2 - 1
    v = int.from_bytes(digest[4:8], "big") / 0xFFFFFFFF * 2 - 1
    return round(lat0 + u * dlat, 5), round(lon0 + v * dlon, 5)
