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
from typing import NamedTuple

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
_PREFIX_MAX = 100  # matches of the name-prefix fact (ROR-SRV-032): 10 pages of 10 results


class _Offer(NamedTuple):
    """What the search-criteria facts need of one HealthcareService (tokens are `system|code`)."""
    id: str
    provider: str  # Organization id
    specialties: frozenset[str]
    categories: frozenset[str]
    characteristics: frozenset[str]
    locations: tuple[str, ...]  # Location ids
    zones: frozenset[str]  # intervention-zone commune tokens


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
        # search-criteria facts (ROR-SRV-038..054): per Organization, Location and HealthcareService
        self.offers: list[_Offer] = []
        self.org_types: dict[str, frozenset[str]] = {}
        self.types_above: dict[str, frozenset[str]] = {}  # the types of an Organization and of those above it
        self.org_prices: dict[str, list[tuple[str, float]]] = {}  # id -> [(price type token, amount)]
        self.capacity_of: dict[str, dict[str, set]] = {}  # Location id -> sub-extension -> codes (nbCapacity: numbers)
        #: Location id -> [(equipment type, [(feature, limit value, unit)])]
        self.equipment_of: dict[str, list[tuple[str, list[tuple[str, float, str]]]]] = {}
        self.functional_ids: list[tuple[str, str]] = []  # (Location id, functional identifier), the first three
        self.commune_system = ""
        self.limit_system = ""
        self.services_of: dict[str, set[str]] = collections.defaultdict(set)  # Practitioner id -> service refs
        self.type_regions: collections.Counter[tuple[str, str]] = collections.Counter()  # (region, type)
        self.facts: dict = {}
        self.roles_of: dict[str, str] = {}
        self.idnps: dict[str, str] = {}
        self.task_status: collections.Counter[str] = collections.Counter()
        self.sensitive: list[str] = []
        self.parent_of: dict[str, str] = {}  # Organization id -> its partOf id
        self.provider_of: dict[str, str] = {}  # HealthcareService id -> providedBy Organization id
        self.updated: dict[str, list[tuple[str, str]]] = {}  # type -> [(meta.lastUpdated, id)]
        self.hs_identifier_of: dict[str, str] = {}
        self.roles_per_service: collections.Counter[str] = collections.Counter()

    def add(self, r: dict) -> None:
        kind = r["resourceType"]
        self.counts[kind] += 1
        for tag in r.get("meta", {}).get("tag", ()):
            self.regions[tag["code"]] += 1
            self.type_regions[(tag["code"], kind)] += 1
        if r.get("meta", {}).get("lastUpdated") and kind in ("HealthcareService", "Location"):
            self.updated.setdefault(kind, []).append((r["meta"]["lastUpdated"], r["id"]))
        if kind == "Organization" and "partOf" in r:
            self.parent_of[r["id"]] = r["partOf"]["reference"].partition("/")[2]
        if kind == "HealthcareService" and "providedBy" in r:
            self.provider_of[r["id"]] = r["providedBy"]["reference"].partition("/")[2]
        if kind == "HealthcareService" and r.get("identifier"):
            self.hs_identifier_of[r["id"]] = r["identifier"][0]["value"]
        if kind == "PractitionerRole":
            for ref in r.get("healthcareService", ()):
                self.roles_per_service[ref["reference"].partition("/")[2]] += 1
        getattr(self, f"_{kind}", lambda _r: None)(r)

    def _Organization(self, r: dict) -> None:
        systems = {i.get("system"): i["value"] for i in r.get("identifier", ())}
        self.names[r["name"]] += 1
        self.org_types[r["id"]] = frozenset(_token(t) for t in r.get("type", ()))
        parent = r.get("partOf", {}).get("reference", "").partition("/")[2]  # yielded before its children
        self.types_above[r["id"]] = self.org_types[r["id"]] | self.types_above.get(parent, frozenset())
        self.org_prices[r["id"]] = [(_token(_sub(p, "priceType")["valueCodeableConcept"]),
                                     _sub(p, "amount")["valueMoney"]["value"]) for p in _ext(r, _PRICE)]
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
        self._search_location(r, capacities)
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
        self.offers.append(_Offer(
            r["id"], r["providedBy"]["reference"].partition("/")[2], frozenset(map(_token, r.get("specialty", ()))),
            frozenset(map(_token, r.get("category", ()))), frozenset(map(_token, r.get("characteristic", ()))),
            tuple(ref["reference"].partition("/")[2] for ref in r.get("location", ())),
            frozenset(_token(_sub(z, "codeTerritorialDivision")["valueCodeableConcept"]) for z in _ext(r, _TERRITORY))))
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
        self.services_of[practitioner].update(ref["reference"] for ref in r["healthcareService"])

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
                                     "service": self.roles_of[practitioner],
                                     "service_id": self.roles_of[practitioner].partition("/")[2]}
        facts["task_statuses"] = dict(self.task_status.most_common())
        if "ej" in facts:
            facts["ej"]["services"] = sum(1 for org in self.provider_of.values() if facts["ej"]["id"] in self._above(org))
        served = [(n, sid) for sid, n in self.roles_per_service.items() if sid in self.hs_identifier_of]
        if served:
            roles, sid = max(served, key=lambda item: (item[0], -list(self.hs_identifier_of).index(item[1])))
            facts["service_roles"] = {"service_id": sid, "identifier": self.hs_identifier_of[sid], "roles": roles}
        facts["delta"] = {kind: self._delta(stamps) for kind, stamps in sorted(self.updated.items()) if len(stamps) >= 4}
        self._search_facts(facts)
        return facts

    def _above(self, org: str) -> list[str]:
        """The Organization and every Organization above it (partOf), cycle-safe."""
        chain = [org]
        while chain[-1] in self.parent_of and self.parent_of[chain[-1]] not in chain:
            chain.append(self.parent_of[chain[-1]])
        return chain

    @staticmethod
    def _delta(stamps: list[tuple[str, str]]) -> dict:
        """Two exact meta.lastUpdated instants, each held by one resource only (at about 1/2 and 3/4 of
        the dates), with the counts on each side: a `_lastUpdated` boundary test (ge includes the
        resource on the boundary, gt excludes it) and consecutive sync windows [instant, next_instant)."""
        held = collections.Counter(stamp for stamp, _ in stamps)
        ordered = sorted(stamps)

        def unique_from(index: int) -> tuple[str, str]:
            return next(s for s in ordered[index:] + ordered[:index] if held[s[0]] == 1)

        (first, first_id), (second, second_id) = unique_from(len(ordered) // 2), unique_from(3 * len(ordered) // 4)
        if second < first:
            (first, first_id), (second, second_id) = (second, second_id), (first, first_id)
        return {"instant": first, "id": first_id, "before": sum(1 for s, _ in stamps if s < first),
                "on_or_after": sum(1 for s, _ in stamps if s >= first), "after": sum(1 for s, _ in stamps if s > first),
                "next_instant": second, "next_id": second_id,
                "between": sum(1 for s, _ in stamps if first <= s < second),
                "from_next": sum(1 for s, _ in stamps if s >= second)}

    # -- search-criteria facts (ROR-SRV-038..054) ----------------------------------------------
    def _search_location(self, r: dict, capacities: list[dict]) -> None:
        coding = _ext(r, _COMMUNE)[0]["valueCodeableConcept"]["coding"][0]
        self.commune_system = coding.get("system", "")
        caps: dict[str, set] = collections.defaultdict(set)
        for indicator in capacities:
            for part in indicator.get("extension", ()):
                if "valueCodeableConcept" in part:
                    caps[part["url"]].add(part["valueCodeableConcept"]["coding"][0]["code"])
                elif "valueInteger" in part:
                    caps[part["url"]].add(part["valueInteger"])
                elif "valueDateTime" in part:
                    caps[part["url"]].add(part["valueDateTime"][:10])
        self.capacity_of[r["id"]] = caps
        self.equipment_of[r["id"]] = [
            (_token(_sub(e, "equipmentType")["valueCodeableConcept"]),
             [(_token(_sub(lim, "equipmentFeature")["valueCodeableConcept"]),
               _sub(lim, "limitValue")["valueQuantity"]["value"], _sub(lim, "limitValue")["valueQuantity"]["code"])
              for lim in _ext(e, _LIMIT)])
            for e in _ext(r, _EQUIPMENT)]
        for e in _ext(r, _EQUIPMENT):
            for lim in _ext(e, _LIMIT):
                self.limit_system = _sub(lim, "limitValue")["valueQuantity"].get("system", self.limit_system)
        functional = next((i["value"] for i in r.get("identifier", ()) if i["type"]["coding"][0]["code"] == "25"), None)
        if functional and len(self.functional_ids) < 3:
            self.functional_ids.append((r["id"], functional))

    def _search_facts(self, facts: dict) -> None:
        """The facts of the search-criteria scenarios: each names a query and what it must find."""
        facts["category_characteristic"] = self._category_characteristic()
        facts["commune_search"] = self._commune_search()
        facts["capacity_search"] = self._capacity_search()
        facts["eg_category"] = self._eg_category()
        facts["exact_name"] = self._exact_name()
        facts["region_counts"] = {kind: n for (code, kind), n in sorted(self.type_regions.items())
                                  if code == facts["region"]}
        if "eg" in facts:
            facts["eg"]["finess_token"] = f"{FINESS_SYSTEM}|{facts['eg']['finess']}"
        if "location" in facts:
            second = next(((i, v) for i, v in self.functional_ids if i != facts["location"]["id"]), None)
            if second:
                facts["location"]["second_id"], facts["location"]["second_identifier"] = second
            days = self.capacity_of[facts["location"]["id"]].get("capacityUpdateDate")
            facts["location"]["capacity_update"] = max(days) if days else None
        if facts.get("practitioner"):
            facts["practitioner"]["services"] = len(self.services_of[facts["practitioner"]["id"]])
        token = facts["specialty"]["token"]
        facts["specialty"]["locations"] = len({loc for o in self.offers if token in o.specialties
                                               for loc in o.locations})
        if facts.get("intervention_zone"):
            zone = facts["intervention_zone"]
            offer = next(o for o in self.offers if o.id == zone["service_id"])
            zone["category"] = min(offer.categories)
            zone["services"] = sum(1 for o in self.offers if zone["commune"] in o.zones)
            zone["category_services"] = sum(1 for o in self.offers
                                            if zone["commune"] in o.zones and zone["category"] in o.categories)
        if facts.get("near"):
            facts["near"].update(self._near_offers(facts["near"]))
        if facts.get("equipment"):
            facts["equipment"].update(self._equipment_search(facts["equipment"]))
        if facts.get("price"):
            facts["price"].update(self._price_search(facts["price"]))

    def _category_characteristic(self) -> dict | None:
        """A category and a reception modality (J226) held together by services, the category also
        by services without that modality (IG ST3-S3: both criteria must count)."""
        system = nos.coding("J226", nos.codes("J226")[0])["system"] + "|"
        pairs: collections.Counter[tuple[str, str]] = collections.Counter()
        per_category: collections.Counter[str] = collections.Counter()
        for o in self.offers:
            per_category.update(o.categories)
            pairs.update((c, m) for c in o.categories for m in o.characteristics if m.startswith(system))
        found = [(n, c, m) for (c, m), n in pairs.items() if per_category[c] > n]
        if not found:
            return None
        n, category, modality = max(found)
        return {"category": category, "characteristic": modality, "services": n}

    def _commune_search(self) -> dict | None:
        """An activity and a care mode (J19) offered in several communes, two of those communes and
        the services there (IG ST3-S10, request 2: a list of communes)."""
        system = nos.coding("J19", nos.codes("J19")[0])["system"] + "|"
        activity = nos.coding("J17", nos.codes("J17")[0])["system"] + "|"
        groups: dict[tuple[str, str], collections.Counter[str]] = collections.defaultdict(collections.Counter)
        for o in self.offers:
            communes = {self.location_place[loc][1] for loc in o.locations if loc in self.location_place}
            for key in ((s, m) for s in o.specialties if s.startswith(activity)
                        for m in o.characteristics if m.startswith(system)):
                groups[key].update(communes)
        if not groups:
            return None
        key = max(groups, key=lambda k: (min(len(groups[k]), 3), sum(groups[k].values()), k))
        (first, _), (second, _) = (groups[key].most_common(2) + [("", 0)])[:2]
        wanted = {first, second}
        services = sum(1 for o in self.offers if key[0] in o.specialties and key[1] in o.characteristics
                       and any(self.location_place.get(loc, ("", ""))[1] in wanted for loc in o.locations))
        return {"system": self.commune_system, "first": first, "second": second, "specialty": key[0],
                "care_mode": key[1], "communes": len(groups[key]), "services": services}

    def _fits(self, location: str, wanted: dict[str, str]) -> bool:
        """Does a Location satisfy each capacity criterion, each on any of its indicators (FHIR: one
        search parameter at a time, not one indicator for all) and nb-capacity=gt0?"""
        caps = self.capacity_of.get(location, {})
        return all(code in caps.get(k, ()) for k, code in wanted.items()) and max(caps.get("nbCapacity", {0})) > 0

    def _capacity_search(self) -> dict | None:
        """IG ST4-S1 (available female bed) with an activity that some services match and others
        not, ST4-S2 (closed bed, reopenable) and Location-level counts: closed, nb-capacity, update date."""
        available = {"capacityType": "01", "genderCapacityAvailable": "01", "temporalityCapacity": "01",
                     "capacityStatus": "02"}
        closed = {"capacityType": "01", "capacityClosingType": "01", "capacityStatus": "05"}
        per_specialty: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
        for o in self.offers:
            fits = any(self._fits(loc, available) for loc in o.locations)
            for s in o.specialties:
                per_specialty[s][0] += fits
                per_specialty[s][1] += 1
        found = [(fit, s) for s, (fit, total) in per_specialty.items() if 0 < fit < total]
        maxima = sorted({max(c["nbCapacity"]) for c in self.capacity_of.values() if c.get("nbCapacity")})
        days = sorted(max(c["capacityUpdateDate"]) for c in self.capacity_of.values() if c.get("capacityUpdateDate"))
        if not found or len(maxima) < 2 or not days:
            return None
        fit, specialty = max(found)
        nb_value = maxima[(len(maxima) - 1) // 2]
        day = days[len(days) // 2]
        return {"specialty": specialty, "available_services": fit,
                "closed_services": sum(1 for o in self.offers if any(self._fits(loc, closed) for loc in o.locations)),
                "closed_locations": sum(1 for c in self.capacity_of.values() if "05" in c.get("capacityStatus", ())),
                "nb_value": nb_value,
                "nb_locations_above": sum(1 for c in self.capacity_of.values()
                                          if max(c.get("nbCapacity", {0})) > nb_value),
                "update_day": day, "updated_on_or_after": sum(1 for d in days if d >= day)}

    def _eg_category(self) -> dict | None:
        """The commonest establishment category (J55), its Organizations, and the services provided
        by an Organization of that category or below one (IG ST3-S5: organization.type:above)."""
        system = nos.coding("J55", nos.codes("J55")[0])["system"] + "|"
        counts = collections.Counter(t for types in self.org_types.values() for t in types if t.startswith(system))
        if not counts:
            return None
        token, organizations = max(counts.items(), key=lambda item: (item[1], item[0]))
        services = sum(1 for o in self.offers if token in self.types_above.get(o.provider, ()))
        return {"token": token, "organizations": organizations, "services": services}

    def _exact_name(self) -> dict | None:
        """An accented Organization name, preferably the start of a longer name (so that :exact and
        the default start-of-string search differ), with its lower-case accent-free form."""
        names = sorted(n for n in self.names if _fold(n) != n.lower())
        if not names:
            return None
        everything = sorted(self.names)
        position = {n: i for i, n in enumerate(everything)}

        def starts_another(name: str) -> bool:
            following = everything[position[name] + 1:position[name] + 2]
            return bool(following) and following[0].startswith(name)

        value = max(names, key=lambda n: (starts_another(n), self.names[n], n))
        return {"value": value, "folded": _fold(value), "organizations": self.names[value]}

    def _near_offers(self, near: dict) -> dict:
        """An activity of services within the near radius that other services offer further away."""
        centre = (near["latitude"], near["longitude"])
        inside = {lid for lid, place in self.location_place.items()
                  if place[2] and _km(centre, place[2]) <= near["distance_km"]}
        near_offers = [o for o in self.offers if inside.intersection(o.locations)]
        counts = collections.Counter(s for o in near_offers for s in o.specialties)
        totals = collections.Counter(s for o in self.offers for s in o.specialties)
        found = [(n, s) for s, n in counts.items() if totals[s] > n] or [(n, s) for s, n in counts.items()]
        if not found:
            return {"services": 0}
        n, specialty = max(found)
        return {"services": len(near_offers), "specialty": specialty, "specialty_services": n}

    def _equipment_search(self, equipment: dict) -> dict:
        """IG ST4-S3 on the fact's equipment: the services whose place has that type, that feature and
        a limit at least the fact's (each on any equipment), and the places with such a limit."""
        def at_least(location: str) -> bool:
            return any(value >= equipment["limit"] and unit == equipment["unit"]
                       for _, limits in self.equipment_of.get(location, ()) for _, value, unit in limits)

        def fits(location: str) -> bool:
            items = self.equipment_of.get(location, ())
            return any(t == equipment["type"] for t, _ in items) and at_least(location) and any(
                f == equipment["feature"] for _, limits in items for f, _, _ in limits)

        return {"system": self.limit_system,
                "services": sum(1 for o in self.offers if any(fits(loc) for loc in o.locations)),
                "locations_at_least": sum(1 for loc in self.equipment_of if at_least(loc))}

    def _price_search(self, price: dict) -> dict:
        """IG ST8-S1 on the fact's price type and amount (services provided by an Organization with
        that price type and any amount below), and a second-lowest amount for a strict `lt` test."""
        def priced(org: str, below: float) -> bool:
            prices = self.org_prices.get(org, ())
            return any(t == price["type"] for t, _ in prices) and any(a < below for _, a in prices)

        amounts = sorted({a for prices in self.org_prices.values() for _, a in prices})
        result = {"services": sum(1 for o in self.offers if priced(o.provider, price["amount"]))}
        if len(amounts) >= 2:
            result["below"] = {"value": amounts[1],
                               "organizations": sum(1 for org in self.org_prices if priced(org, amounts[1]))}
        return result

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
        """A prefix with an accented letter that starts at least two Organization names: the most
        shared one that starts at most _PREFIX_MAX names (else the least shared), so that a server
        paging by 10 returns every match within the default 20-page walk (at `medium` the most
        shared prefix, "Unité", starts 2,120 names: more than a walk can read). Among those, only a
        prefix whose count is exact under FHIR string matching (case- and accent-insensitive
        starts-with: "Maison de Santé Le" also starts "Maison de Santé Les ...")."""
        prefixes: collections.Counter[str] = collections.Counter()
        for name, count in self.names.items():
            words = name.split(" ")
            for n in range(1, len(words)):
                prefix = " ".join(words[:n])
                if _fold(prefix) != prefix.lower():
                    prefixes[prefix] += count
        folded_names = [(_fold(name), count) for name, count in self.names.items()]

        def exact(prefix: str) -> bool:  # no other name starts with it once folded ("Le" vs "Les")
            folded = _fold(prefix)
            return sum(count for name, count in folded_names if name.startswith(folded)) == prefixes[prefix]

        best = [p for p, c in prefixes.items() if c >= 2 and (c > _PREFIX_MAX or exact(p))]
        if not best:
            return None
        few = [p for p in best if prefixes[p] <= _PREFIX_MAX]
        prefix = (max(few, key=lambda p: (prefixes[p], -len(p), p)) if few
                  else min(best, key=lambda p: (prefixes[p], len(p), p)))
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
