"""The seeded synthetic ROR dataset: legal entities with their establishments, units, places,
services, professionals and a few anomaly reports, streamed in reference order.

Why streamed and seeded: the reference server is loaded with it, scenarios search it, and the
national scale (over a million resources) must go through a pipe without ever being held in
memory; the same seed must give the same bytes so that a failing scenario can be replayed.

Structure (one "group" per legal entity, drawn from its own random stream `seed:index`):
EJ Organization -> EG Organizations (partOf EJ) -> OI Organizations (partOf EG) -> Locations
(managed by the EG) -> HealthcareServices (provided by the OI, or the EG when it has no unit)
-> Practitioners -> PractitionerRoles; then, after every group, the Tasks (anomaly reports)
that point at resources already yielded. Features that scenarios need at least once (sensitive
units, closures, notAvailable, prices, equipment limits, ...) are placed by counters, not by
chance, so that even the small scale has them whatever the seed.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import itertools
import random
import unicodedata
from collections.abc import Iterator
from typing import IO

import orjson

from harness.dataset import builders as b
from harness.dataset import geo
from harness.dataset import identifiers as ids
from harness.dataset import nomenclature as nos
from harness.dataset.catalogue import (FAMILY_NAMES, GIVEN_FEMALE, GIVEN_MALE, KINDS, PLACES, SAINTS,
                                       STREETS, Kind, Offer)

#: Named scales -> minimum number of resources before the Tasks.
SCALES: dict[str, int] = {"small": 300, "medium": 100_000, "national": 1_000_000}
#: Largest scale: beyond it the 4-digit FINESS serials of La Réunion could run out.
MAX_SCALE = 5_000_000
#: Regions of the small scale, cycled (Pays de la Loire, Bretagne, Île-de-France, Corse, La Réunion):
#: the IG's own examples live in the first three; Corse and La Réunion exercise 2A/2B and overseas codes.
SMALL_REGIONS = ("52", "53", "11", "94", "04")
#: Below this many resources, regions and kinds are cycled rather than drawn (full coverage).
_CYCLE_BELOW = 5_000
#: meta.lastUpdated falls in this two-year window (fixed: the same seed gives the same bytes any day).
WINDOW_START = dt.datetime(2023, 7, 1, tzinfo=dt.timezone.utc)
WINDOW_DAYS = 730
_PHONE_PREFIX = {"11": "01", "24": "02", "28": "02", "52": "02", "53": "02", "27": "03", "32": "03",
                 "44": "03", "84": "04", "93": "04", "94": "04", "75": "05", "76": "05",
                 "01": "0590", "02": "0596", "03": "0594", "04": "0262", "06": "0269"}
#: First word of a unit name -> its J203 TypeOrganisationInterne (pôle, service, UF, unité élémentaire).
_UNIT_TYPES = {"Pôle": "1", "Service": "2", "Secteur": "2", "UF": "3", "Unité": "4"}
_FIELD_TAG = {"01": "MCO", "02": "SMR", "03": "PSY", "04": "MS", "05": "AMB"}


class ScaleError(ValueError):
    """The scale is neither a known name nor a positive number of resources."""


def resolve_scale(scale: str | int) -> int:
    """Minimum number of resources (before Tasks) for a scale name or a number."""
    if isinstance(scale, int) and not isinstance(scale, bool):
        value = scale
    elif isinstance(scale, str) and scale in SCALES:
        return SCALES[scale]
    elif isinstance(scale, str) and scale.isdigit():
        value = int(scale)
    else:
        raise ScaleError(f"unknown scale {scale!r}: use {', '.join(SCALES)} or a number of resources")
    if not 1 <= value <= MAX_SCALE:
        raise ScaleError(f"scale must be between 1 and {MAX_SCALE:,} resources, got {value:,}")
    return value


def generate(scale: str | int = "small", seed: int = 0) -> Iterator[dict]:
    """Yield the dataset's resources one by one, in reference order, deterministically for `seed`."""
    return _Generator(resolve_scale(scale), seed).run()


def write_ndjson(stream: IO[bytes], scale: str | int = "small", seed: int = 0) -> int:
    """Write the dataset as NDJSON (one resource per line) and return the number of resources."""
    count = 0
    for resource in generate(scale, seed):
        stream.write(orjson.dumps(resource) + b"\n")
        count += 1
    return count


@functools.cache
def _weighted_regions() -> tuple[tuple[str, ...], tuple[int, ...]]:
    population: dict[str, int] = {}
    for c in geo.communes():
        population[c.region] = population.get(c.region, 0) + c.population
    return tuple(population), tuple(population.values())


@functools.cache
def _departments_of(region: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    population: dict[str, int] = {}
    for c in geo.communes():
        if c.region == region:
            population[c.department] = population.get(c.department, 0) + c.population
    return tuple(population), tuple(population.values())


@functools.cache
def _cumulative_population(department: str) -> tuple[int, ...]:
    return tuple(itertools.accumulate(max(c.population, 1) for c in geo.communes_of_department(department)))


@functools.cache
def _health_territories() -> dict[str, str]:
    """Department name -> territoire de santé code (J249) where the territory bears that name."""
    return {nos.display("J249", code): code for code in nos.codes("J249")}


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch if ch.isalnum() else "-" for ch in folded.lower()).strip("-").replace("--", "-")


@dataclasses.dataclass
class _Site:
    """An establishment's place in the world, shared by the resources built for it."""

    commune: geo.Commune
    postal_code: str
    street: b.Street
    position: tuple[float, float]


@dataclasses.dataclass
class _Unit:
    """What a group knows of a unit (or of an EG serving directly) while it builds services."""

    org_id: str
    offer: Offer
    location_id: str


class _Generator:
    """One run: counters that make identifiers unique across groups, and the Task focus list."""

    def __init__(self, target: int, seed: int) -> None:
        self.target, self.seed = target, seed
        self.cycle = target < _CYCLE_BELOW
        self.counters: dict[str, int] = {}
        self.finess_serials: dict[str, int] = {}
        self.rotation: dict[str, int] = {}
        self.task_focus: list[tuple[str, str, str, str, str]] = []  # type, id, region, owner EG id, label

    def next(self, key: str) -> int:
        self.counters[key] = self.counters.get(key, 0) + 1
        return self.counters[key]

    def new_id(self, resource_type: str) -> str:
        prefix = {"Organization": "org", "Location": "loc", "HealthcareService": "hs", "Practitioner": "pra",
                  "PractitionerRole": "prr", "Task": "task"}[resource_type]
        return f"{prefix}-{self.next(resource_type)}"

    def run(self) -> Iterator[dict]:
        produced = 0
        for index in itertools.count():
            if produced >= self.target:
                break
            for resource in _Group(self, index).build():
                produced += 1
                yield resource
        yield from self._tasks()

    # -- choices that depend on the scale ----------------------------------------------------
    def region(self, index: int, rng: random.Random) -> str:
        if self.cycle:
            return SMALL_REGIONS[index % len(SMALL_REGIONS)]
        codes, weights = _weighted_regions()
        return rng.choices(codes, weights)[0]

    def kind(self, index: int, rng: random.Random) -> Kind:
        if self.cycle:
            return KINDS[index % len(KINDS)]
        return rng.choices(KINDS, [k.weight for k in KINDS])[0]

    def offer(self, kind: Kind) -> Offer:
        """Offers of a kind in rotation: every offer appears as soon as the kind has enough units."""
        turn = self.rotation.get(kind.key, 0)
        self.rotation[kind.key] = turn + 1
        return kind.offers[turn % len(kind.offers)]

    def finess(self, department: str) -> str:
        """The next FINESS of a department: spread out in mainland, consecutive overseas where
        only four digits are free (enough for MAX_SCALE)."""
        serial = self.finess_serials.get(department, 0) + 1
        self.finess_serials[department] = serial
        return ids.finess(department, 100 + serial if len(department) == 3 else 1000 + serial * 7)

    # -- Tasks --------------------------------------------------------------------------------
    def _tasks(self) -> Iterator[dict]:
        themes = nos.codes("J241")
        actions = nos.codes("J242")
        statuses = (("02", "in-progress"), ("10", "in-progress"), ("01", "requested"), ("08", "completed"),
                    ("03", "cancelled"), ("05", "in-progress"))
        for n, (focus_type, focus_id, region, owner, label) in enumerate(self.task_focus):
            rng = random.Random(f"ror-harness:{self.seed}:task:{n}")
            business, status = statuses[n % len(statuses)]
            theme = themes[n % len(themes)]
            authored = WINDOW_START + dt.timedelta(days=rng.randrange(WINDOW_DAYS - 60))
            modified = authored + dt.timedelta(days=rng.randrange(1, 30), seconds=rng.randrange(86_400))
            updated = modified + dt.timedelta(days=rng.randrange(0, 30), seconds=rng.randrange(86_400))
            path = {"HealthcareService": "HealthcareService.telecom", "Organization": "Organization.address",
                    "Location": "Location.extension.where(url='https://interop.esante.gouv.fr/ig/fhir/ror/"
                                "StructureDefinition/ror-location-supported-capacity')"}[focus_type]
            yield {
                "resourceType": "Task", "id": self.new_id("Task"),
                "meta": b.meta("Task", _instant(updated), region),
                "identifier": [{"system": "https://interop.esante.gouv.fr/ig/fhir/ror/anomalie",
                                "value": f"{region}/ANO{n + 1:06d}"}],
                "status": status,
                "businessStatus": nos.concept("J244", business),
                "intent": "order",
                "code": nos.concept("J241", theme, nos.TASK_THEME),
                "description": f"{nos.display('J241', theme)} : {label} à vérifier",
                "focus": b.reference(focus_type, focus_id),
                "authoredOn": authored.date().isoformat(),
                "lastModified": _instant(modified),
                "owner": b.reference("Organization", owner),
                "reasonCode": nos.concept("J242", actions[n % len(actions)], nos.TASK_ACTION),
                "input": [b.task_input("systemRequester", valueString=("IHM", "API")[n % 2]),
                          b.task_input("pathElementError",
                                       valueExpression={"language": "text/fhirpath", "expression": path})],
            }


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _instant(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Group:
    """One legal entity and everything under it, drawn from the random stream `seed:index`."""

    def __init__(self, run: _Generator, index: int) -> None:
        self.run = run
        self.rng = random.Random(f"ror-harness:{run.seed}:{index}")
        self.region = run.region(index, self.rng)
        self.kind = run.kind(index, self.rng)
        departments, weights = _departments_of(self.region)
        self.department = self.rng.choices(departments, weights)[0]
        self.ej: list[dict] = []
        self.egs: list[dict] = []
        self.units: list[dict] = []
        self.locations: list[dict] = []
        self.services: list[dict] = []
        self.practitioners: list[dict] = []
        self.roles: list[dict] = []

    def build(self) -> list[dict]:
        kind, rng = self.kind, self.rng
        site = self.site()
        ej_id = self.run.new_id("Organization")
        self.ej.append(self.legal_entity(ej_id, site))
        for n in range(rng.randint(*kind.egs)):
            eg_site = site if n == 0 else self.site()
            self.establishment(ej_id, eg_site)
        return self.ej + self.egs + self.units + self.locations + self.services + self.practitioners + self.roles

    # -- random helpers -----------------------------------------------------------------------
    def site(self) -> _Site:
        rng = self.rng
        communes = geo.communes_of_department(self.department)
        place = rng.choices(communes, cum_weights=_cumulative_population(self.department))[0]
        street = b.Street(str(rng.randint(1, 180)), *rng.choice(STREETS))
        lat, lon = geo.commune_position(place.code)
        jitter = (round(lat + rng.uniform(-0.004, 0.004), 5), round(lon + rng.uniform(-0.004, 0.004), 5))
        return _Site(place, rng.choice(place.postal_codes), street, jitter)

    def moment(self) -> dt.datetime:
        return WINDOW_START + dt.timedelta(days=self.rng.randrange(WINDOW_DAYS), seconds=self.rng.randrange(86_400))

    def created_before(self, moment: dt.datetime) -> str:
        return _instant(moment - dt.timedelta(days=self.rng.randrange(30, 3000)))

    def phone(self) -> str:
        prefix = _PHONE_PREFIX[self.region]
        digits = "".join(str(self.rng.randrange(10)) for _ in range(10 - len(prefix)))
        number = prefix + digits
        return " ".join(number[i:i + 2] for i in range(0, 10, 2)) if len(prefix) == 2 else \
            f"{number[:4]} {number[4:6]} {number[6:8]} {number[8:]}"

    def name(self, template: str, site: _Site) -> str:
        return template.format(city=site.commune.name, dept=geo.departments()[self.department],
                               saint=self.rng.choice(SAINTS), place=self.rng.choice(PLACES), label="")

    def person(self) -> tuple[str, str, str]:
        """(family, given, gender)."""
        female = self.rng.random() < 0.55
        given = self.rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
        return self.rng.choice(FAMILY_NAMES), given, "female" if female else "male"

    # -- Organizations ------------------------------------------------------------------------
    def legal_entity(self, ej_id: str, site: _Site) -> dict:
        kind, rng = self.kind, self.rng
        self.finess_ej = self.run.finess(self.department)
        public = kind.legal_group in ("1100", "1200")
        self.siren = ids.siren((20_000_000 if public else 30_000_000) + self.run.next("siren") * 37)
        status, template = rng.choice(kind.legal)
        self.ej_name = self.name(template, site)
        self.domain = _ascii(self.ej_name)[:40].strip("-") + ".example.fr"
        when = self.moment()
        return {
            "resourceType": "Organization", "id": ej_id,
            "meta": b.meta("Organization", _instant(when), self.region),
            "extension": [b.creation_date(self.created_before(when)),
                          b.ext("ror-organization-creation-date",
                                valueDate=f"{rng.randint(1950, 2015)}-{rng.randint(1, 12):02d}-01")],
            "identifier": [b.structure_identifier("40", b.IDNST_SYSTEM, ids.idnst(self.finess_ej)),
                           b.structure_identifier("1", b.FINESS_SYSTEM, self.finess_ej),
                           b.structure_identifier("2", b.SIRENE_SYSTEM, self.siren)],
            "type": [nos.concept("J199", status), nos.concept("J200", kind.legal_group)],
            "name": self.ej_name,
            "telecom": [b.telecom("phone", self.phone(), "2", "1")],
            "address": [b.address(site.street, site.commune, site.postal_code, insee=True)],
        }

    def establishment(self, ej_id: str, site: _Site) -> None:
        kind, rng, run = self.kind, self.rng, self.run
        eg_id = run.new_id("Organization")
        number = run.next("eg")
        finess = run.finess(self.department)
        idnst = ids.idnst(finess)
        when = self.moment()
        opened = f"{rng.randint(1960, 2018)}-{rng.randint(1, 12):02d}-01"
        extensions = [b.creation_date(self.created_before(when)),
                      b.ext("ror-organization-accessibility-location",
                            valueCodeableConcept=nos.concept("J50", ("1", "3", "5")[number % 3])),
                      b.ext("ror-organization-drop-zone", valueBoolean=kind.key == "hospital" and number % 2 == 1)]
        if kind.key in ("hospital", "clinic"):
            extensions.append(b.ext("ror-organization-level-recours-orsan",
                                    valueCodeableConcept=nos.concept("J204", ("1", "4")[number % 2])))
        territory = _health_territories().get(geo.departments()[self.department])
        if territory:
            extensions.append(b.territorial_division("4", nos.coding("J249", territory)))
        if kind.priced:
            extensions += self.prices(when)
            extensions += [b.ext("ror-organization-financial-help-type", valueCodeableConcept=nos.concept(
                               "J31", ("01", "02")[number % 2])),
                           b.ext("ror-organization-accomodation-family", valueBoolean=number % 3 == 0),
                           b.ext("ror-organization-nb-permanent-social-help-place", valueInteger=rng.randint(0, 40))]
        period: dict = {"start": opened}
        if number % 9 == 4:  # a closed establishment: closing period, closing type, reopening date
            period["end"] = (when - dt.timedelta(days=rng.randrange(10, 200))).date().isoformat()
            provisional = number % 18 == 4
            extensions.append(b.ext("ror-organization-closing-type",
                                    valueCodeableConcept=nos.concept("J201", "PRO" if provisional else "DEF")))
            if provisional:
                extensions.append(b.ext("ror-organization-reopening-date",
                                        valueDate=(when + dt.timedelta(days=rng.randrange(30, 300))).date().isoformat()))
        extensions.append({"url": "http://hl7.org/fhir/StructureDefinition/organization-period", "valuePeriod": period})
        types = [nos.concept("J55", rng.choice(kind.eg_categories))]
        if kind.espic:
            types.append(nos.concept("J202", kind.espic))
        name = self.name(rng.choice(kind.eg_names), site)
        family, given, _ = self.person()
        eg = {
            "resourceType": "Organization", "id": eg_id,
            "meta": b.meta("Organization", _instant(when), self.region),
            "extension": extensions,
            "identifier": [b.structure_identifier("40", b.IDNST_SYSTEM, idnst),
                           b.structure_identifier("1", b.FINESS_SYSTEM, finess),
                           b.structure_identifier("3", b.SIRENE_SYSTEM, ids.siret(self.siren, len(self.egs) + 1))],
            "type": types,
            "name": name,
            "telecom": [b.telecom("phone", self.phone(), "2", "1", "Standard"),
                        b.telecom("email", f"accueil@{self.domain}", "3", "2")],
            "address": [b.address(site.street, site.commune, site.postal_code, insee=True, position=site.position)],
            "partOf": b.reference("Organization", ej_id),
            "contact": [b.organization_contact("01", family, given, self.phone())],
        }
        if number % 4 == 0:
            eg["alias"] = [name.split(" de ")[0].upper()]
        self.egs.append(eg)
        if number % 13 == 2:
            run.task_focus.append(("Organization", eg_id, self.region, eg_id, "adresse de l'établissement"))
        unit_count = rng.randint(*kind.units)
        if unit_count == 0:
            offer = run.offer(kind)
            location_id = self.location(eg_id, idnst, site, offer)
            self.serve(_Unit(eg_id, offer, location_id), eg_id, site)
        for _ in range(unit_count):
            offer = run.offer(kind)
            unit_id = self.unit(eg_id, idnst, offer, rng.choice(kind.unit_names))
            unit_site = site if rng.random() < 0.8 else self.site()
            location_id = self.location(eg_id, idnst, unit_site, offer)
            self.serve(_Unit(unit_id, offer, location_id), eg_id, unit_site)

    def prices(self, when: dt.datetime) -> list[dict]:
        rng, start = self.rng, _instant(when - dt.timedelta(days=self.rng.randrange(30, 700)))
        return [b.price(b.Price("02", "2", round(rng.uniform(55, 95), 2), start, residential=rng.choice(("01", "02")),
                                condition=rng.choice(("01", "02", "03")), welcome="02")),
                b.price(b.Price("03", "2", round(rng.uniform(5, 25), 2), start, welcome=rng.choice(("01", "02")),
                                dependency=rng.choice(("01", "02", "03"))))]

    def unit(self, eg_id: str, idnst: str, offer: Offer, template: str) -> str:
        rng, run = self.rng, self.run
        unit_id = run.new_id("Organization")
        number = run.next("oi")
        code = f"{rng.randint(1000, 9999)}"
        when = self.moment()
        unit_type = _UNIT_TYPES.get(template.split(" ")[0], "2")
        extensions = [b.creation_date(self.created_before(when))]
        if number % 5 == 0:
            extensions.append(b.ext("ror-organization-comment", valueString=f"Unité {offer.label.lower()}, bâtiment "
                                                                             f"{'ABCDE'[number % 5]}"))
        self.units.append({
            "resourceType": "Organization", "id": unit_id,
            "meta": b.meta("Organization", _instant(when), self.region),
            "extension": extensions,
            "identifier": [{"type": {"coding": [{"system": nos.OTHER_ID_TYPE, "code": "42"}]},
                            "system": b.OI_SYSTEM, "value": f"{idnst}-UF{code}"}],
            "type": [nos.concept("J203", unit_type)],
            "name": template.format(label=offer.label),
            "partOf": b.reference("Organization", eg_id),
        })
        return unit_id

    # -- Locations ----------------------------------------------------------------------------
    def location(self, eg_id: str, idnst: str, site: _Site, offer: Offer) -> str:
        rng, run = self.rng, self.run
        location_id = run.new_id("Location")
        number = run.next("location")
        when = self.moment()
        extensions = [b.ext("ror-commune-cog", valueCodeableConcept={"coding": [{
                          "system": nos.COMMUNE_SYSTEM, "code": site.commune.code, "display": site.commune.name}]}),
                      b.creation_date(self.created_before(when))]
        if offer.capacity:
            extensions += self.capacities(offer, number, when)
        for equipment_type, feature, limit in offer.equipment:
            limits = ((feature, limit, "kg" if feature == "001" else "cm"),) if feature else ()
            extensions.append(b.equipment(equipment_type, rng.randint(0 if number % 6 == 0 else 1, 3), limits))
        for residential in offer.residential:
            extensions.append(b.residential_capacity(residential, rng.randint(5, 60)))
        if number % 7 == 0:
            extensions.append(b.ext("ror-comment", valueString="Accès par l'entrée principale, ascenseur à droite"))
        closed = number % 15 == 14
        location = {
            "resourceType": "Location", "id": location_id,
            "meta": b.meta("Location", _instant(when), self.region),
            "extension": extensions,
            "identifier": [{"type": {"coding": [{"code": "25"}]}, "value": f"{self.region}/{200_000 + number}"},
                           {"type": {"coding": [{"code": "26"}]},
                            "value": f"{idnst}/{_FIELD_TAG[offer.field]}{10_000 + number}"}],
            "status": "suspended" if closed else "active",
            "operationalStatus": nos.coding("J224", "2" if closed else "3"),
            "name": f"{offer.label} - bâtiment {'ABCDEFGH'[number % 8]}",
            "telecom": [b.telecom("phone", self.phone(), "2", "1")],
            "address": b.address(site.street, site.commune, site.postal_code, insee=False),
            "position": {"longitude": site.position[1], "latitude": site.position[0]},
            "managingOrganization": b.reference("Organization", eg_id),
        }
        if offer.capacity == "01" or offer.residential:
            location["type"] = [nos.concept("J198", "001")]
        if number % 19 == 5:
            self.run.task_focus.append(("Location", location_id, self.region, eg_id, "capacité du lieu"))
        self.locations.append(location)
        return location_id

    def capacities(self, offer: Offer, number: int, when: dt.datetime) -> list[dict]:
        """The capacity indicators of a place: installed, available by gender, occupied, plus closed,
        supplementary and forecast indicators on a rotation (each appears in any small dataset)."""
        rng, nature = self.rng, offer.capacity
        source = "02" if self.kind.key in ("hospital", "clinic") else "01"
        updated = _instant(when - dt.timedelta(hours=rng.randrange(1, 72)))
        assignment = "02" if number % 13 == 6 else "01"
        installed = rng.randint(8, 40) if nature == "01" else rng.randint(10, 90)
        women, men = rng.randint(0, 4), rng.randint(0, 4)
        cap = functools.partial(b.supported_capacity, nature, source=source, updated=updated, assignment=assignment)
        result = [cap("01", "01", installed)]
        if nature == "01":
            result += [cap("02", "01", women, gender="01"), cap("02", "01", men, gender="02")]
        else:
            result.append(cap("02", "01", women + men, gender="03"))
        result.append(cap("03", "01", max(installed - women - men, 0)))
        if number % 3 == 0:
            result.append(cap("05", "01", rng.randint(1, 4), closing=("01", "02")[(number // 3) % 2]))
        if number % 4 == 1:
            result.append(cap("06", "01", rng.randint(1, 3), additional=("01", "02", "03")[number % 3],
                              crisis="02" if number % 8 == 1 else ""))
        if number % 2 == 0:
            result.append(cap("02", "03", rng.randint(0, 5), gender="03"))
        return result

    # -- HealthcareServices -------------------------------------------------------------------
    def serve(self, unit: _Unit, eg_id: str, site: _Site) -> None:
        kind, rng = self.kind, self.rng
        for n in range(rng.randint(*kind.services)):
            service_id = self.service(unit, n, site)
            roles = 0 if unit.offer.home_care and n else rng.choice((0, 1, 1, 2))
            for r in range(roles):
                self.role(unit, service_id, r)
            if self.run.counters["HealthcareService"] % 19 == 7:
                self.run.task_focus.append(("HealthcareService", service_id, self.region, eg_id,
                                            "téléphone de l'offre"))

    def service(self, unit: _Unit, n: int, site: _Site) -> str:
        rng, run, offer = self.rng, self.run, unit.offer
        service_id = run.new_id("HealthcareService")
        number = run.counters["HealthcareService"]
        when = self.moment()
        activity = offer.activities[(number + n) % len(offer.activities)]
        mode = offer.care_modes[(number + n) % len(offer.care_modes)]
        low, high = offer.ages
        patient = [b.sub("supportedPatientInfo", valueCodeableConcept=nos.concept("J29", p)) for p in offer.publics]
        patient.append(b.sub("ageRange", valueRange={"low": b.age(low), "high": b.age(high)}))
        extensions = [b.ext("ror-healthcareservice-sensitive-unit", valueBoolean=number % 23 == 5),
                      b.ext("ror-healthcareservice-patient-type", extension=patient),
                      b.creation_date(self.created_before(when))]
        if offer.psychiatric_sector:
            # RG_RECH_10: department (2 characters, 3 overseas) + G (adults) or I (children) + sector number
            extensions.append(b.ext("ror-healthcareservice-psychiatric-sector",
                                    valueString=f"{self.department}{offer.psychiatric_sector}{rng.randint(1, 12):02d}"))
            if number % 4 == 0:
                extensions.append(b.ext("ror-healthcareservice-no-consent-habilitation", valueBoolean=True))
        if offer.home_care:
            neighbours = geo.communes_of_department(site.commune.department)
            zone = {site.commune.code: site.commune}
            for _ in range(rng.randint(2, 6)):
                other = rng.choice(neighbours)
                zone[other.code] = other
            extensions += [b.territorial_division("3", {"system": nos.COMMUNE_SYSTEM, "code": c.code, "display": c.name})
                           for c in sorted(zone.values(), key=lambda c: c.code)]
        family, given, _ = self.person()
        extensions.append(b.service_contact("01", "1", self.phone(), function="03" if number % 2 else "",
                                            name=(family, given) if number % 2 else None))
        specialties = [nos.concept("J17", activity)]
        if offer.family:
            specialties.append(nos.concept("J51", offer.family))
        characteristics = [b.characteristic("J19", mode)]
        characteristics += [b.characteristic("J226", r) for r in offer.reception[: 1 + number % 2]]
        if number % 3 == 0:
            characteristics.append(b.characteristic("J28", ("02", "03", "01")[number % 3]))
        characteristics += [b.characteristic("J16", a, "specificAct") for a in offer.acts]
        if offer.acts and number % 5 == 0:
            characteristics.append(b.characteristic("J16", "0628", "outsideOfficeAct"))
        characteristics += [b.characteristic("J35", s) for s in offer.specialisations[: 1 + number % 2]]
        characteristics += [b.characteristic("J33", c) for c in offer.competences]
        if offer.expertise:
            characteristics.append(b.characteristic("J227", offer.expertise[number % len(offer.expertise)]))
        characteristics += [b.characteristic("J26", m) for m in offer.management[: 1 + number % 2]]
        characteristics += [b.characteristic("J186", p) for p in offer.resources]
        if offer.field == "04":
            characteristics.append(b.characteristic("J30", ("02", "01")[number % 2]))
        service = {
            "resourceType": "HealthcareService", "id": service_id,
            "meta": b.meta("HealthcareService", _instant(when), self.region),
            "extension": extensions,
            "identifier": [{"type": {"coding": [{"system": nos.OFFER_ID_TYPE, "code": "35"}]},
                            "value": f"{self.region}/{100_000 + number}"}],
            "active": True,
            "providedBy": b.reference("Organization", unit.org_id),
            "category": [nos.concept("J238", offer.category)],
            "type": [nos.concept("J20", offer.field)],
            "specialty": specialties,
            "location": [b.reference("Location", unit.location_id)],
            "name": f"{offer.label} - {_lower_first(nos.display('J19', mode))}",
            "telecom": [b.telecom("phone", self.phone(), "2", "1", "Secrétariat")],
            "characteristic": characteristics,
            "availableTime": [b.opening_hours(d, "08:30:00" if offer.field in ("04", "05") else "00:00:00",
                                              "18:30:00" if offer.field in ("04", "05") else "23:59:00",
                                              self.created_before(when)[:10])
                              for d in range(5 if offer.field in ("04", "05") else 7)],
        }
        if number % 11 == 3:  # a planned closure with its reopening date
            start = when + dt.timedelta(days=rng.randrange(-60, 60))
            service["notAvailable"] = [{"id": "closingReopeningDate", "description": b.CLOSING_DESCRIPTION,
                                        "during": {"start": start.date().isoformat(),
                                                   "end": (start + dt.timedelta(days=rng.randrange(7, 90))).date().isoformat()}}]
            characteristics.append(b.characteristic("J185", "PRO"))
        if number % 6 == 0:
            service["comment"] = f"Offre {offer.label.lower()} ; admissions sur rendez-vous."
        self.services.append(service)
        return service_id

    # -- Practitioners ------------------------------------------------------------------------
    def role(self, unit: _Unit, service_id: str, index: int) -> None:
        rng, run, offer = self.rng, self.run, unit.offer
        profession, specialty = offer.professions[index % len(offer.professions)]
        if self.practitioners and rng.random() < 0.15:  # the same professional in a second service
            practitioner = rng.choice(self.practitioners)
        else:
            practitioner = self.practitioner()
        family = practitioner["name"][0]["family"]
        given = practitioner["name"][0]["given"][0]
        when = self.moment()
        name = [b.sub("exerciseLastName", valueString=family.upper()), b.sub("exerciseFirstName", valueString=given)]
        if profession == "10":
            name.insert(0, b.sub("exerciseTitle", valueCodeableConcept=nos.concept("J208", "DR")))
        specialties = [nos.concept("J209", "S" if specialty else "FQ")]
        if specialty:
            specialties.append(nos.concept("J210", specialty))
        self.roles.append({
            "resourceType": "PractitionerRole", "id": run.new_id("PractitionerRole"),
            "meta": b.meta("PractitionerRole", _instant(when), self.region),
            "extension": [b.ext("ror-practitionerrole-unit-exercise-mode", valueCodeableConcept=nos.concept(
                              "J217", "L" if self.kind.key == "primary-care" else "S")),
                          b.ext("ror-practitionerrole-name", extension=name),
                          b.creation_date(self.created_before(when))],
            "active": True,
            "practitioner": b.reference("Practitioner", practitioner["id"]),
            "organization": b.reference("Organization", unit.org_id),
            "code": [nos.concept("J229", profession)],
            "specialty": specialties,
            "location": [b.reference("Location", unit.location_id)],
            "healthcareService": [b.reference("HealthcareService", service_id)],
            "telecom": [b.telecom("phone", self.phone(), "2", "2")],
        })

    def practitioner(self) -> dict:
        run = self.run
        family, given, gender = self.person()
        rpps = ids.rpps(run.next("rpps") * 13 + 1_000_000)
        when = self.moment()
        practitioner = {
            "resourceType": "Practitioner", "id": run.new_id("Practitioner"),
            "meta": b.meta("Practitioner", _instant(when), self.region),
            "extension": [b.creation_date(self.created_before(when))],
            "identifier": [{"type": {"coding": [{"system": "http://interopsante.org/fhir/CodeSystem/fr-v2-0203",
                                                 "code": "IDNPS"}]},
                            "system": b.IDNPS_SYSTEM, "value": ids.idnps(rpps)}],
            "name": [{"use": "usual", "family": family, "given": [given], "prefix": ["MME" if gender == "female" else "M"]}],
            "telecom": [b.telecom("email", f"{_ascii(given)}.{_ascii(family)}@{self.domain}", "3", "2")],
            "gender": gender,
        }
        self.practitioners.append(practitioner)
        return practitioner
