"""Reference server store and search timings on a generated dataset (prints one run's figures).

Run: python -m benchmarks.refserver_search [--scale medium] [--seed 1] [--db /tmp/ror-bench.db] [--repeat 50]

Measures the bulk load (generation excluded), then p50/p95 of representative searches taken
from the IG scenarios: an indexed token search, a chained search, the standard include set,
near-insee-code and a `_filter`. Figures vary with the machine's load: report them with it.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from harness.dataset.generator import generate
from harness.refserver.search import SearchEngine
from harness.refserver.store import Store

R211 = "https://mos.esante.gouv.fr/NOS/TRE_R211-ActiviteOperationnelle/FHIR/TRE-R211-ActiviteOperationnelle"
INCLUDES = [("_include", "HealthcareService:organization"), ("_include:iterate", "Organization:partof"),
            ("_include", "HealthcareService:location"), ("_revinclude", "PractitionerRole:service"),
            ("_include", "PractitionerRole:practitioner")]


def frequent_specialty(store: Store) -> str:
    row = store.reader().execute(
        "SELECT code FROM ix_token x JOIN params p USING (pid) WHERE p.rtype='HealthcareService' "
        "AND p.name='specialty' AND system=? GROUP BY code ORDER BY count(*) DESC LIMIT 1", (R211,)).fetchone()
    return row[0]


def timed(engine: SearchEngine, rtype: str, params: list[tuple[str, str]],
          repeat: int) -> tuple[float, float, int, int]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = engine.search(rtype, params, base_url="http://bench/fhir")
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], result.total, len(result.included)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="medium")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", type=Path, default=Path("/tmp/ror-bench.db"))
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    for suffix in ("", "-wal", "-shm"):
        Path(str(args.db) + suffix).unlink(missing_ok=True)
    resources = list(generate(args.scale, args.seed))
    store = Store(args.db)
    start = time.perf_counter()
    store.load(resources)
    load_s = time.perf_counter() - start
    print(f"load: {len(resources)} resources in {load_s:.1f} s ({len(resources) / load_s:.0f}/s), "
          f"database {args.db.stat().st_size / 1e6:.0f} MB, load average {os.getloadavg()[0]:.2f}")
    engine = SearchEngine(store)
    code = frequent_specialty(store)
    cases = {
        "token (specialty=system|code)": ("HealthcareService", [("specialty", f"{R211}|{code}")]),
        "token, _count=10": ("HealthcareService", [("specialty", f"{R211}|{code}"), ("_count", "10")]),
        "identifier (one match)": ("HealthcareService", [("identifier", resources_id(resources))]),
        "chain (location.address-postalcode=44)": ("HealthcareService", [("location.address-postalcode", "44"),
                                                                         ("specialty", code)]),
        "standard include set, _count=50": ("HealthcareService", [("specialty", code), ("_count", "50"), *INCLUDES]),
        "near-insee-code 44162|15|km": ("HealthcareService", [("location.near-insee-code", "44162|15|km")]),
        "_filter postal codes (ST1-S1bis)": ("Location", [("_filter", '(address-postalcode eq "22" or "29" or "35")')]),
        "_lastUpdated=ge, _sort=-_lastUpdated": ("Organization", [("_lastUpdated", "ge2024-06-01"),
                                                                  ("_sort", "-_lastUpdated")]),
    }
    for label, (rtype, params) in cases.items():
        p50, p95, total, included = timed(engine, rtype, params, args.repeat)
        print(f"{label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms (total {total}, included {included})")
    store.close()


def resources_id(resources: list[dict]) -> str:
    hs = next(r for r in reversed(resources) if r["resourceType"] == "HealthcareService")
    return hs["identifier"][0]["value"]


if __name__ == "__main__":
    main()
