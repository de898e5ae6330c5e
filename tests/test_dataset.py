"""The synthetic dataset: determinism, reference order and integrity, real places, valid identifiers,
every ROR search parameter populated, and every small resource valid against its ROR profile."""
from __future__ import annotations

import gzip
import hashlib
import io
import itertools
import json
import re
import time
import tracemalloc

import pytest

from harness.dataset import ScaleError, generate, resolve_scale, write_ndjson
from harness.dataset import geo
from harness.dataset import identifiers as ids
from harness.dataset.builders import FINESS_SYSTEM, IDNPS_SYSTEM, PROFILES, SIRENE_SYSTEM
from harness.fhir.fhirpath import FhirPath
from harness.fhir.search_corrections import correction_for
from harness.fhir.packages import FIXTURES, PackageSet
from harness.fhir.validation import Validator

ROR = "https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/"
REGION_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_R30-RegionOM/FHIR/TRE-R30-RegionOM"


@pytest.fixture(scope="module")
def small() -> list[dict]:
    return list(generate("small", 0))


@pytest.fixture(scope="module")
def by_ref(small: list[dict]) -> dict[str, dict]:
    return {f"{r['resourceType']}/{r['id']}": r for r in small}


def _digest(scale: str | int, seed: int) -> str:
    buffer = io.BytesIO()
    write_ndjson(buffer, scale, seed)
    return hashlib.sha256(buffer.getvalue()).hexdigest()


# -- scales and determinism ----------------------------------------------------------------------

def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    assert _digest("small", 0) == _digest("small", 0)
    assert _digest("small", 0) != _digest("small", 1)
    assert _digest(800, 5) == _digest(800, 5)


def test_scales() -> None:
    assert resolve_scale("small") == 300 and resolve_scale("medium") >= 100_000
    assert resolve_scale("national") >= 1_000_000 and resolve_scale("1234") == 1234 and resolve_scale(50) == 50
    for bad in ("tiny", "0", "-3", 0, "1e6", True, 5_000_001):
        with pytest.raises(ScaleError):
            resolve_scale(bad)


def test_small_size_and_regions(small: list[dict]) -> None:
    assert 300 <= len(small) < 1000
    regions = {r["meta"]["tag"][0]["code"] for r in small}
    assert len(regions) >= 3
    assert {r["resourceType"] for r in small} == set(PROFILES)


def test_national_is_streamed() -> None:
    """The first resources of the national scale come at once, without building the rest."""
    tracemalloc.start()
    started = time.perf_counter()
    first = list(itertools.islice(generate("national", 0), 3000))
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(first) == 3000 and elapsed < 30
    assert peak < 64 * 1024 * 1024  # a full national run in memory would be several GB


# -- order, references, meta -------------------------------------------------------------------

def _references(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return found + [ref for value in node.values() for ref in _references(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _references(value)]
    return []


def test_every_reference_points_backwards_inside_the_dataset(small: list[dict]) -> None:
    seen: set[str] = set()
    for resource in small:
        for ref in _references(resource):
            assert ref in seen, f"{resource['resourceType']}/{resource['id']} refers to {ref} before or outside it"
        key = f"{resource['resourceType']}/{resource['id']}"
        assert key not in seen, f"duplicate {key}"
        seen.add(key)


def test_tasks_come_last_and_each_kind_of_focus_is_used(small: list[dict]) -> None:
    kinds = [r["resourceType"] for r in small]
    first_task = kinds.index("Task")
    assert set(kinds[first_task:]) == {"Task"}
    assert {r["focus"]["reference"].split("/")[0] for r in small if r["resourceType"] == "Task"} == {
        "HealthcareService", "Organization", "Location"}


def test_organization_hierarchy(small: list[dict], by_ref: dict[str, dict]) -> None:
    """EJ (no partOf, FINESS + SIREN) -> EG (FINESS + SIRET of the EJ's SIREN) -> OI (identifierOI)."""
    orgs = [r for r in small if r["resourceType"] == "Organization"]
    levels = {"EJ": 0, "EG": 0, "OI": 0}
    for org in orgs:
        systems = {i["system"]: i["value"] for i in org["identifier"]}
        if "partOf" not in org:
            levels["EJ"] += 1
            assert ids.is_finess(systems[FINESS_SYSTEM]) and ids.is_siren(systems[SIRENE_SYSTEM])
        elif FINESS_SYSTEM in systems:
            levels["EG"] += 1
            parent = by_ref[org["partOf"]["reference"]]
            parent_siren = {i["system"]: i["value"] for i in parent["identifier"]}[SIRENE_SYSTEM]
            assert "partOf" not in parent and systems[SIRENE_SYSTEM][:9] == parent_siren
            assert ids.is_finess(systems[FINESS_SYSTEM]) and ids.is_siret(systems[SIRENE_SYSTEM])
        else:
            levels["OI"] += 1
            parent = by_ref[org["partOf"]["reference"]]
            assert FINESS_SYSTEM in {i["system"] for i in parent["identifier"]}
            assert org["identifier"][0]["system"] == "https://oi.esante.gouv.fr"
    assert all(levels.values()), levels
    finess = [i["value"] for o in orgs for i in o["identifier"] if i["system"] == FINESS_SYSTEM]
    assert len(finess) == len(set(finess))


def test_services_provided_by_units_and_by_establishments(small: list[dict], by_ref: dict[str, dict]) -> None:
    providers = {"OI" if "oi.esante" in json.dumps(by_ref[r["providedBy"]["reference"]]["identifier"]) else "EG"
                 for r in small if r["resourceType"] == "HealthcareService"}
    assert providers == {"OI", "EG"}


def test_meta_on_every_resource(small: list[dict]) -> None:
    dates = []
    for r in small:
        meta = r["meta"]
        assert meta["profile"] == [PROFILES[r["resourceType"]]]
        assert [t["system"] for t in meta["tag"]] == [REGION_SYSTEM]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["lastUpdated"])
        dates.append(meta["lastUpdated"])
    assert min(dates) >= "2023-07-01" and max(dates) < "2025-07-01"
    assert len({d[:7] for d in dates}) >= 18  # spread over the two years


def test_practitioners_have_valid_rpps(small: list[dict]) -> None:
    values = [r["identifier"][0] for r in small if r["resourceType"] == "Practitioner"]
    assert values and all(v["system"] == IDNPS_SYSTEM and v["value"][0] == "8" and ids.is_rpps(v["value"][1:])
                          for v in values)


def test_places_are_real_communes_with_their_postal_codes(small: list[dict]) -> None:
    raw = {c["code"]: c for c in json.loads(gzip.decompress((FIXTURES / "geo" / "communes.json.gz").read_bytes()))}
    checked = 0
    for r in small:
        addresses = r.get("address") or []
        for address in addresses if isinstance(addresses, list) else [addresses]:
            city = raw[_insee(r, address)]
            assert address["postalCode"] in city["codesPostaux"] and address["city"] == city["nom"]
            assert r["meta"]["tag"][0]["code"] == city["region"]
            checked += 1
    assert checked > 60


def _insee(resource: dict, address: dict) -> str:
    for e in address.get("extension", []) + resource.get("extension", []):
        if e["url"].endswith("FrAddressInseeCode"):
            return e["valueCoding"]["code"]
        if e["url"] == ROR + "ror-commune-cog":
            return e["valueCodeableConcept"]["coding"][0]["code"]
    raise AssertionError(f"{resource['id']}: address without commune code")


def test_location_positions_are_near_their_commune(small: list[dict]) -> None:
    for r in small:
        if r["resourceType"] == "Location":
            lat, lon = geo.commune_position(_insee(r, r["address"]))
            assert abs(r["position"]["latitude"] - lat) < 0.01 and abs(r["position"]["longitude"] - lon) < 0.01


def test_names_with_accents_and_shared_prefixes(small: list[dict]) -> None:
    names = [r["name"] for r in small if r["resourceType"] == "Organization"]
    assert any(ch in "".join(names) for ch in "éèêôâîÉ")
    firsts = [n.split(" ")[0] for n in names]
    assert max(firsts.count(f) for f in set(firsts)) >= 2


def test_sensitive_units_are_few(small: list[dict]) -> None:
    flags = [e["valueBoolean"] for r in small if r["resourceType"] == "HealthcareService"
             for e in r["extension"] if e["url"].endswith("sensitive-unit")]
    assert 0 < sum(flags) < len(flags) / 5


# -- search parameters -------------------------------------------------------------------------

def _search_parameters() -> list[dict]:
    return sorted((sp for sp in PackageSet("ans.fhir.fr.ror#0.7.0").all_of_type("SearchParameter")
                   if sp["url"].startswith("https://interop.esante.gouv.fr/ig/fhir/ror/")),
                  key=lambda sp: (sp["code"], sp["base"]))


def test_every_ror_search_parameter_has_matches_and_non_matches(small: list[dict], by_ref: dict[str, dict]) -> None:
    engine = FhirPath(resolver=lambda ref: by_ref.get(ref))
    parameters = _search_parameters()
    assert len(parameters) == 36
    uncovered, needless = [], []
    for sp in parameters:
        (base,) = sp["base"]
        targets = [r for r in small if r["resourceType"] == base]
        published = [engine.evaluate(sp["expression"], r) for r in targets]
        correction = correction_for(sp)  # the reference server's own table of IG defects
        if correction is not None and correction.expression is None:
            continue  # switched off on the server (its extension does not exist in 0.7.0)
        corrected = correction.expression if correction else None
        values = [engine.evaluate(corrected, r) for r in targets] if corrected else published
        if corrected and values == published and not correction.strict_only:
            needless.append(sp["code"])
        distinct = {json.dumps(v, sort_keys=True) for v in values}
        if not any(values) or len(distinct) < 2:  # nothing to find, or nothing to tell apart
            uncovered.append(sp["code"])
    assert not uncovered, f"search parameters without matches and non-matches: {uncovered}"
    assert not needless, f"corrections that change nothing (published expression fixed?): {needless}"


# -- validation ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def verdicts(small: list[dict]) -> list[tuple[dict, object]]:
    validator = Validator()
    return [(r, validator.validate(r)) for r in small]


def test_every_small_resource_validates_against_its_ror_profile(verdicts) -> None:
    errors = [f"{r['resourceType']}/{r['id']}: {i.message_id} at {i.expression}: {i.message}"
              for r, v in verdicts for i in v.issues if i.is_error]
    assert not errors, "\n".join(errors[:20])


def test_validation_is_not_vacuous(verdicts) -> None:
    """A broken resource of the same dataset does fail (the check above can fail)."""
    resource = json.loads(json.dumps(next(r for r, _ in verdicts if r["resourceType"] == "HealthcareService")))
    resource["characteristic"] = [c for c in resource["characteristic"]
                                  if "TRE_R213" not in c["coding"][0]["system"]]  # careMode is 1..1
    assert not Validator().validate(resource).ok
