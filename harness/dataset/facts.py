"""Sample values that scenarios need as variables, computed from the dataset itself.

Why computed, not hard-coded: a scenario that searches `identifier=52/100007` must keep working
when the generator changes or the seed differs; each fact below is chosen so that the search it
feeds has a known outcome (an identifier that exists and one that does not, a postal code shared
by two services, a date with resources on both sides, ...). One pass over the resources, so a
streamed dataset works; memory grows with the number of Locations and services only through
small per-key counters.
"""
from __future__ import annotations

import collections
import math
import unicodedata
from collections.abc import Iterable

from harness.dataset import geo
from harness.dataset import identifiers as ids
from harness.dataset import nomenclature as nos
from harness.dataset.builders import FINESS_SYSTEM, OI_SYSTEM, ROR_SD, SIRENE_SYSTEM

_CAPACITY = ROR_SD + "ror-location-supported-capacity"
_EQUIPMENT = ROR_SD + "ror-location-equipment"
_LIMIT = ROR_SD + "ror-location-equipment-limit"
_PRICE = ROR_SD + "ror-organization-price"
_PATIENT = ROR_SD + "ror-healthcareservice-patient-type"
_SENSITIVE = ROR_SD + "ror-healthcareservice-sensitive-unit"
_SECTOR = ROR_SD + "ror-healthcareservice-psychiatric-sector"
_TERRITORY = ROR_SD + "ror-territorial-division"
_COMMUNE = ROR_SD + "ror-commune-cog"
_NEAR_KM = 15


class FactsError(ValueError):
    """The resources lack something a fact needs (e.g. an empty dataset)."""


def _ext(node: dict, url: str) -> list[dict]:
    return [e for e in node.get("extension", ()) if e.get("url") == url]


def _code(concept: dict) -> tuple[str, str]:
    coding = concept["coding"][0]
    return coding.get("system", ""), coding["code"]


def _token(concept: dict) -> str:
    system, code = _code(concept)
    return f"{system}|{code}"


def _sub(node: dict, name: str) -> dict | None:
    return next((e for e in node.get("extension", ()) if e.get("url") == name), None)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine, mean Earth radius)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


class _Collector:
    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self.regions: collections.Counter[str] = collections.Counter()
        self.dates: list[str] = []
        self.first: dict[str, dict] = {}
        self.finess: set[str] = set()
        self.location_place: dict[str, tuple[str, str, tuple[float, float] | None]] = {}
        self.location_match: dict[str, bool] = {}
        self.hs_by_postal: collections.Counter[str] = collections.Counter()
        self.hs_by_insee: collections.Counter[str] = collections.Counter()
        self.specialties: collections.Counter[str] = collections.Counter()
        self.categories: collections.Counter[str] = collections.Counter()
        self.characteristics: collections.Counter[str] = collections.Counter()
        self.names: collections.Counter[str] = collections.Counter()
        self.hs_identifiers: set[str] = set()
        self.ages: list[tuple[float, float]] = []
        self.age_unit = ""
        self.facts: dict = {}
        self.roles_of: dict[str, str] = {}
        self.idnps: dict[str, str] = {}
        self.task_status: collections.Counter[str] = collections.Counter()
        self.sensitive: list[str] = []

    def add(self, r: dict) -> None:
        kind = r["resourceType"]
        self.counts[kind] += 1
        for tag in r.get("meta", {}).get("tag", ()):
            self.regions[tag["code"]] += 1
        if r.get("meta", {}).get("lastUpdated"):
            self.dates.append(r["meta"]["lastUpdated"][:10])
        getattr(self, f"_{kind}", lambda _r: None)(r)

    def _Organization(self, r: dict) -> None:
        systems = {i.get("system"): i["value"] for i in r.get("identifier", ())}
        self.names[r["name"]] += 1
        if FINESS_SYSTEM in systems:
            self.finess.add(systems[FINESS_SYSTEM])
        if "partOf" not in r:
            self.facts.setdefault("ej", {"id": r["id"], "finess": systems.get(FINESS_SYSTEM),
                                         "siren": systems.get(SIRENE_SYSTEM), "name": r["name"]})
        elif OI_SYSTEM in systems:
            self.facts.setdefault("oi", {"id": r["id"], "identifier": systems[OI_SYSTEM], "name": r["name"],
                                         "part_of": r["partOf"]["reference"]})
        else:
            self.facts.setdefault("eg", {"id": r["id"], "finess": systems.get(FINESS_SYSTEM),
                                         "siret": systems.get(SIRENE_SYSTEM), "name": r["name"],
                                         "part_of": r["partOf"]["reference"]})
            period = next((e["valuePeriod"] for e in r.get("extension", ())
                           if e["url"].endswith("/organization-period")), {})
            if "end" in period:
                self.facts.setdefault("closed_eg", {"id": r["id"], "period_end": period["end"]})
            prices = _ext(r, _PRICE)
            if prices and "price" not in self.facts:
                first = prices[0]
                self.facts["price"] = {
                    "organization_id": r["id"], "type": _token(_sub(first, "priceType")["valueCodeableConcept"]),
                    "amount": _sub(first, "amount")["valueMoney"]["value"],
                    "start_date": _sub(first, "startDate")["valueDateTime"]}

    def _Location(self, r: dict) -> None:
        commune = _ext(r, _COMMUNE)[0]["valueCodeableConcept"]["coding"][0]["code"]
        position = (r["position"]["latitude"], r["position"]["longitude"]) if "position" in r else None
        self.location_place[r["id"]] = (r["address"]["postalCode"], commune, position)
        capacities = _ext(r, _CAPACITY)
        if capacities and "location" not in self.facts:
            by_type = {i["type"]["coding"][0]["code"]: i["value"] for i in r.get("identifier", ())}
            self.facts["location"] = {"id": r["id"], "identifier": by_type.get("25"),
                                      "sync_identifier": by_type.get("26"), "capacities": len(capacities),
                                      "postal_code": r["address"]["postalCode"], "commune": commune}
        wanted = {"capacityType": "01", "capacityStatus": "02", "temporalityCapacity": "01",
                  "genderCapacityAvailable": "01"}
        self.location_match[r["id"]] = any(
            all((_sub(c, k) or {}).get("valueCodeableConcept", {"coding": [{"code": ""}]})["coding"][0]["code"] == v
                for k, v in wanted.items()) and _sub(c, "nbCapacity")["valueInteger"] > 0 for c in capacities)
        for equipment in _ext(r, _EQUIPMENT):
            limits = _ext(equipment, _LIMIT)
            if limits and "equipment" not in self.facts:
                value = _sub(limits[0], "limitValue")["valueQuantity"]
                self.facts["equipment"] = {
                    "location_id": r["id"], "type": _token(_sub(equipment, "equipmentType")["valueCodeableConcept"]),
                    "feature": _token(_sub(limits[0], "equipmentFeature")["valueCodeableConcept"]),
                    "limit": value["value"], "unit": value["code"]}

    def _HealthcareService(self, r: dict) -> None:
        identifier = r["identifier"][0]["value"]
        self.hs_identifiers.add(identifier)
        self.facts.setdefault("service", {"id": r["id"], "identifier": identifier, "name": r["name"],
                                          "provided_by": r["providedBy"]["reference"]})
        for concept in r.get("specialty", ()):
            self.specialties[_token(concept)] += 1
        for concept in r.get("category", ()):
            self.categories[_token(concept)] += 1
        for concept in r.get("characteristic", ()):
            self.characteristics[_token(concept)] += 1
        for ref in r.get("location", ()):
            postal, commune, _ = self.location_place.get(ref["reference"].partition("/")[2], ("", "", None))
            self.hs_by_postal[postal] += 1
            self.hs_by_insee[commune] += 1
            if self.location_match.get(ref["reference"].partition("/")[2]) and "capacity" not in self.facts:
                self.facts["capacity"] = {"service_id": r["id"], "location": ref["reference"],
                                          "specialty": _token(r["specialty"][0])}
        if _ext(r, _SENSITIVE) and _ext(r, _SENSITIVE)[0]["valueBoolean"]:
            self.sensitive.append(r["id"])
        for patient in _ext(r, _PATIENT):
            age = _sub(patient, "ageRange")["valueRange"]
            self.ages.append((age["low"]["value"], age["high"]["value"]))
            self.age_unit = f"{age['low']['system']}|{age['low']['code']}"
        for sector in _ext(r, _SECTOR):
            self.facts.setdefault("psychiatric_sector", {"service_id": r["id"], "value": sector["valueString"]})
        for zone in _ext(r, _TERRITORY):
            code = _sub(zone, "codeTerritorialDivision")["valueCodeableConcept"]
            self.facts.setdefault("intervention_zone", {"service_id": r["id"], "commune": _token(code)})
        for closure in r.get("notAvailable", ()):
            self.facts.setdefault("not_available", {"service_id": r["id"], **closure["during"]})

    def _Practitioner(self, r: dict) -> None:
        self.idnps[r["id"]] = r["identifier"][0]["value"]

    def _PractitionerRole(self, r: dict) -> None:
        practitioner = r["practitioner"]["reference"].partition("/")[2]
        self.roles_of.setdefault(practitioner, r["healthcareService"][0]["reference"])

    def _Task(self, r: dict) -> None:
        self.task_status[_token(r["businessStatus"])] += 1
        self.facts.setdefault("task", {"id": r["id"], "focus": r["focus"]["reference"],
                                       "business_status": _token(r["businessStatus"])})

    # -- derived facts ------------------------------------------------------------------------
    def result(self) -> dict:
        if not self.counts:
            raise FactsError("no resources: nothing to take facts from")
        facts = dict(self.facts)
        facts["counts"] = dict(sorted(self.counts.items()))
        facts["regions"] = dict(self.regions.most_common())
        facts["region"] = self.regions.most_common(1)[0][0]
        facts["region_absent"] = next((c for c in nos.codes("J237") if c not in self.regions), None)
        dates = sorted(self.dates)
        boundary = dates[len(dates) // 2]
        facts["last_updated"] = {"min": dates[0], "max": dates[-1], "boundary": boundary,
                                 "before": sum(1 for d in dates if d < boundary),
                                 "on_or_after": sum(1 for d in dates if d >= boundary)}
        if "eg" in facts:
            facts["eg"]["finess_absent"] = self._absent_finess(facts["eg"]["finess"])
        if "service" in facts:
            facts["service"]["identifier_absent"] = next(
                f"{facts['region']}/{n}" for n in range(999_999, 0, -1) if f"{facts['region']}/{n}" not in self.hs_identifiers)
        facts["specialty"] = self._most_and_absent(self.specialties, "J17")
        facts["category"] = self._most_and_absent(self.categories, "J238")
        facts["characteristic"] = self.characteristics.most_common(1)[0][0] if self.characteristics else None
        facts["postal_code"] = self._shared(self.hs_by_postal)
        facts["department"] = self._shared(_prefix_counts(self.hs_by_postal))
        facts["insee_code"] = self._shared(self.hs_by_insee)
        facts["name_prefix"] = self._name_prefix()
        facts["near"] = self._near()
        facts["age"] = self._age()
        facts["sensitive_services"] = self.sensitive
        practitioner = next(iter(self.roles_of), None)
        if practitioner:
            facts["practitioner"] = {"id": practitioner, "identifier": self.idnps.get(practitioner),
                                     "service": self.roles_of[practitioner]}
        facts["task_statuses"] = dict(self.task_status.most_common())
        return facts

    def _absent_finess(self, sample: str) -> str:
        """A FINESS with a valid key, in the sample's department, that no Organization carries."""
        department = "97" + sample[3] if sample.startswith("970") else sample[:2]
        serial_range = range(9_999, 0, -1) if len(department) == 3 else range(999_999, 0, -1)
        return next(f for f in (ids.finess(department, s) for s in serial_range) if f not in self.finess)

    @staticmethod
    def _most_and_absent(counter: collections.Counter[str], jdv: str) -> dict:
        """The most used code of value set `jdv` and one of its codes that nothing uses."""
        system = nos.coding(jdv, nos.codes(jdv)[0])["system"]
        own = collections.Counter({t: c for t, c in counter.items() if t.partition("|")[0] == system})
        token, count = own.most_common(1)[0]
        used = {t.partition("|")[2] for t in own}
        absent = next(c for c in nos.codes(jdv) if c not in used and nos.coding(jdv, c)["system"] == system)
        return {"token": token, "matches": count, "absent": f"{system}|{absent}"}

    @staticmethod
    def _shared(counter: collections.Counter[str]) -> dict | None:
        """The most shared key with at least two services."""
        if not counter:
            return None
        key, count = counter.most_common(1)[0]
        return {"value": key, "services": count} if count >= 2 else None

    def _name_prefix(self) -> dict | None:
        """A prefix with an accented letter that starts at least two Organization names."""
        prefixes: collections.Counter[str] = collections.Counter()
        for name, count in self.names.items():
            words = name.split(" ")
            for n in range(1, len(words)):
                prefix = " ".join(words[:n])
                if _fold(prefix) != prefix.lower():
                    prefixes[prefix] += count
        best = [p for p, c in prefixes.items() if c >= 2]
        if not best:
            return None
        prefix = max(best, key=lambda p: (prefixes[p], -len(p), p))
        return {"value": prefix, "folded": _fold(prefix), "organizations": prefixes[prefix]}

    def _near(self) -> dict | None:
        """A commune and a radius with Locations inside (ST3-S6), from the synthetic positions."""
        placed = [(lid, place[1], place[2]) for lid, place in self.location_place.items() if place[2]]
        communes = sorted({commune for _, commune, _ in placed}, key=lambda c: (geo.is_synthetic_point(c), c))
        for commune in communes:  # communes with a real (GeoNames) point first
            centre = geo.commune_position(commune)
            inside = [lid for lid, _, pos in placed if _km(centre, pos) <= _NEAR_KM]
            if len(inside) >= 2:
                return {"commune": commune, "latitude": centre[0], "longitude": centre[1],
                        "distance_km": _NEAR_KM, "locations": len(inside),
                        "synthetic_point": geo.is_synthetic_point(commune)}
        return None

    def _age(self) -> dict | None:
        """An age (years) inside some services' ranges and outside others'."""
        for years in (35, 10, 70, 5):
            inside = sum(1 for low, high in self.ages if low <= years <= high)
            if 0 < inside < len(self.ages):
                return {"years": years, "unit": self.age_unit, "services": inside}
        return None


def _prefix_counts(counter: collections.Counter[str]) -> collections.Counter[str]:
    """Services per metropolitan department, as the first two characters of their postal code."""
    result: collections.Counter[str] = collections.Counter()
    for key, count in counter.items():
        if not key.startswith("97"):  # overseas postal codes share "97": not one department
            result[key[:2]] += count
    return result


def collect_facts(resources: Iterable[dict]) -> dict:
    """One pass over the resources (in reference order) -> the facts scenarios use."""
    collector = _Collector()
    for resource in resources:
        collector.add(resource)
    return collector.result()
