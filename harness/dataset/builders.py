"""The shapes of ROR 0.7.0 resources and of their recurring parts, built from plain values.

Why separate from the generator: the generator decides WHAT an establishment holds (with its
random draws); this module only knows HOW the ROR profiles want it written (extension URLs,
slices, nomenclatures), so a profile change touches one place, and every shape can be read
next to its StructureDefinition. Nothing here draws random numbers.
"""
from __future__ import annotations

import dataclasses

from harness.dataset import nomenclature as nos
from harness.dataset.geo import Commune

ROR_SD = "https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/"
PROFILES = {t: ROR_SD + p for t, p in (
    ("Organization", "ror-organization"), ("Location", "ror-location"),
    ("HealthcareService", "ror-healthcareservice"), ("Practitioner", "ror-practitioner"),
    ("PractitionerRole", "ror-practitionerrole"), ("Task", "ror-task"))}
FINESS_SYSTEM = "https://finess.esante.gouv.fr"
SIRENE_SYSTEM = "https://sirene.fr"
IDNST_SYSTEM = "urn:oid:1.2.250.1.71.4.2.2"
IDNPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
OI_SYSTEM = "https://oi.esante.gouv.fr"
INSEE_EXTENSION = "http://interopsante.org/fhir/StructureDefinition/FrAddressInseeCode"
UCUM = "http://unitsofmeasure.org"
ADXP = "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-"
TASK_INPUT = "https://interop.esante.gouv.fr/ig/fhir/ror/CodeSystem/input-task-ror-codesystem"
CLOSING_DESCRIPTION = "Période de fermeture et de réouverture prévisionnelle"


def ext(name: str, **value: object) -> dict:
    """A ROR extension (`name` is the last segment of its URL) with one value[x] or children."""
    return {"url": ROR_SD + name, **value}


def sub(url: str, **value: object) -> dict:
    """A sub-extension of a complex extension (relative url)."""
    return {"url": url, **value}


def meta(resource_type: str, last_updated: str, region: str) -> dict:
    """lastUpdated, the ROR profile claimed, the source region tag (J237)."""
    return {"lastUpdated": last_updated, "profile": [PROFILES[resource_type]],
            "tag": [nos.coding("J237", region)]}


def creation_date(when: str) -> dict:
    return ext("ror-meta-creation-date", valueDateTime=when)


def telecom(system: str, value: str, channel: str, confidentiality: str, usage: str = "") -> dict:
    """A ContactPoint with the channel (J225) and confidentiality (J222) extensions ROR requires."""
    extensions = [ext("ror-telecom-communication-channel", valueCodeableConcept=nos.concept("J225", channel))]
    if usage:
        extensions.append(ext("ror-telecom-usage", valueString=usage))
    extensions.append(ext("ror-telecom-confidentiality-level",
                          valueCodeableConcept=nos.concept("J222", confidentiality)))
    return {"extension": extensions, "system": system, "value": value}


@dataclasses.dataclass(frozen=True)
class Street:
    number: str
    kind: str  # J219 street type code
    kind_label: str  # as written on the line ("rue")
    name: str  # "de la République"


def address(street: Street, place: Commune, postal_code: str, *, insee: bool,
            position: tuple[float, float] | None = None) -> dict:
    """A French address: one line with its ADXP parts, real commune name and postal code.

    `insee`: add the FR Core INSEE-code extension (the Organization profile's inseeCode slice);
    `position`: add the geolocation extension (the Organization profile's geolocation slice).
    """
    result: dict = {}
    extensions = []
    if insee:
        extensions.append({"url": INSEE_EXTENSION, "valueCoding": {
            "system": nos.COMMUNE_SYSTEM, "code": place.code, "display": place.name}})
    if position:
        extensions.append({"url": "http://hl7.org/fhir/StructureDefinition/geolocation", "extension": [
            {"url": "latitude", "valueDecimal": position[0]}, {"url": "longitude", "valueDecimal": position[1]}]})
    if extensions:
        result["extension"] = extensions
    nos.coding("J219", street.kind)  # the street type must exist in the nomenclature
    result.update({
        "use": "work", "type": "both",
        "line": [f"{street.number} {street.kind_label} {street.name}"],
        "_line": [{"extension": [
            {"url": ADXP + "houseNumber", "valueString": street.number},
            {"url": ADXP + "streetNameType", "valueString": street.kind},
            {"url": ADXP + "streetNameBase", "valueString": street.name}]}],
        "city": place.name, "postalCode": postal_code, "country": "FR"})
    return result


def structure_identifier(type_code: str, system: str, value: str) -> dict:
    """An Organization identifier typed with TRE_G07 (idNatSt 40, FINESS 1, SIREN 2, SIRET 3)."""
    return {"type": {"coding": [{"system": nos.STRUCTURE_ID_TYPE, "code": type_code}]},
            "system": system, "value": value}


def reference(resource_type: str, resource_id: str) -> dict:
    return {"reference": f"{resource_type}/{resource_id}"}


def quantity(value: float, unit: str) -> dict:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def age(years: int) -> dict:
    """An age bound as the ROR writes it: NOS unit system TRE_R247, code "a" (years)."""
    return {"value": years, "unit": "an(s)", "system": nos.UCUM_NOS, "code": "a"}


def territorial_division(type_code: str, code: dict) -> dict:
    """ror-territorial-division: its type (J223) and the territory coded (commune, territoire de santé)."""
    return ext("ror-territorial-division", extension=[
        sub("typeTerritorialDivision", valueCodeableConcept=nos.concept("J223", type_code)),
        sub("codeTerritorialDivision", valueCodeableConcept={"coding": [code]})])


def supported_capacity(nature: str, status: str, temporality: str, count: int, source: str, updated: str,
                       *, gender: str = "", closing: str = "", additional: str = "", crisis: str = "",
                       assignment: str = "01") -> dict:
    """One capacity indicator (J187..J195), in the sub-extension order of the StructureDefinition."""
    parts = [sub("capacityType", valueCodeableConcept=nos.concept("J187", nature)),
             sub("capacityStatus", valueCodeableConcept=nos.concept("J188", status)),
             sub("temporalityCapacity", valueCodeableConcept=nos.concept("J189", temporality)),
             sub("nbCapacity", valueInteger=count),
             sub("capacitySourceType", valueCodeableConcept=nos.concept("J193", source))]
    if gender:
        parts.append(sub("genderCapacityAvailable", valueCodeableConcept=nos.concept("J190", gender)))
    parts.append(sub("capacityUpdateDate", valueDateTime=updated))
    if closing:
        parts.append(sub("capacityClosingType", valueCodeableConcept=nos.concept("J191", closing)))
    if additional:
        parts.append(sub("additionalBedType", valueCodeableConcept=nos.concept("J192", additional)))
    if crisis:
        parts.append(sub("crisisType", valueCodeableConcept=nos.concept("J194", crisis)))
    parts.append(sub("temporaryAssignement", valueCodeableConcept=nos.concept("J195", assignment)))
    return ext("ror-location-supported-capacity", extension=parts)


def equipment(kind: str, in_service: int, limits: tuple[tuple[str, float, str], ...]) -> dict:
    """ror-location-equipment (J18) with its limits (J228 feature, value, UCUM unit)."""
    parts = [sub("equipmentType", valueCodeableConcept=nos.concept("J18", kind)),
             sub("nbInService", valueInteger=in_service)]
    parts += [ext("ror-location-equipment-limit", extension=[
        sub("equipmentFeature", valueCodeableConcept=nos.concept(
            "J228", feature, nos.tre("TRE_R340-TypeCaracteristiqueEquipement"))),
        sub("limitValue", valueQuantity=quantity(value, unit))]) for feature, value, unit in limits]
    return ext("ror-location-equipment", extension=parts)


def residential_capacity(kind: str, count: int) -> dict:
    return ext("ror-location-residential-capacity", extension=[
        sub("residentialType", valueCodeableConcept=nos.concept("J32", kind)),
        sub("residentialNumber", valueInteger=count)])


@dataclasses.dataclass(frozen=True)
class Price:
    kind: str  # J36
    unit: str  # J205
    amount: float  # EUR
    start: str  # dateTime
    residential: str = ""  # J32
    condition: str = ""  # J39
    welcome: str = ""  # J30
    dependency: str = ""  # J27


def price(p: Price) -> dict:
    """ror-organization-price, sub-extensions in StructureDefinition order."""
    parts = [sub("priceType", valueCodeableConcept=nos.concept("J36", p.kind)),
             sub("priceUnit", valueCodeableConcept=nos.concept("J205", p.unit)),
             sub("amount", valueMoney={"value": p.amount, "currency": "EUR"}),
             sub("startDate", valueDateTime=p.start)]
    if p.residential:
        parts.append(sub("residentialType", valueCodeableConcept=nos.concept("J32", p.residential)))
    if p.condition:
        parts.append(sub("specialPrice", valueCodeableConcept=nos.concept("J39", p.condition)))
    if p.welcome:
        parts.append(sub("welcomeType", valueCodeableConcept=nos.concept("J30", p.welcome)))
    if p.dependency:
        parts.append(sub("dependencyLevel", valueCodeableConcept=nos.concept("J27", p.dependency)))
    return ext("ror-organization-price", extension=parts)


def opening_hours(day_index: int, start: str, end: str, effective: str) -> dict:
    """One availableTime entry: one day (the profile allows one daysOfWeek), typed opening hours."""
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return {"extension": [
        ext("ror-available-time-number-days-of-week", valueInteger=day_index + 1),
        ext("ror-available-time-effective-opening-closing-date", valuePeriod={"start": effective}),
        ext("ror-available-time-type-of-time", valueCodeableConcept=nos.concept("J41", "01"))],
        "daysOfWeek": [days[day_index]], "availableStartTime": start, "availableEndTime": end}


def service_contact(purpose: str, confidentiality: str, phone: str, function: str = "",
                    name: tuple[str, str] | None = None) -> dict:
    """ror-healthcareservice-contact: purpose (J221), level (J222), one phone, optional person."""
    parts = []
    if name:
        parts.append(sub("name", valueHumanName={"family": name[0], "given": [name[1]]}))
    if function:
        parts.append(ext("ror-contact-function-contact", valueCodeableConcept=nos.concept("J220", function)))
    parts += [sub("purposeContact", valueCodeableConcept=nos.concept("J221", purpose)),
              ext("ror-confidentiality-level", valueCodeableConcept=nos.concept("J222", confidentiality)),
              ext("ror-healthcareservice-contact-telecom", extension=[
                  ext("ror-telecom-communication-channel", valueCodeableConcept=nos.concept("J225", "2")),
                  ext("ror-telecom-confidentiality-level", valueCodeableConcept=nos.concept("J222", confidentiality)),
                  sub("telecomAddress", valueString=phone)])]
    return ext("ror-healthcareservice-contact", extension=parts)


def organization_contact(function: str, family: str, given: str, phone: str) -> dict:
    """Organization.contact with its function (J220) and confidentiality extensions."""
    return {"extension": [
        ext("ror-contact-function-contact", valueCodeableConcept=nos.concept("J220", function)),
        ext("ror-contact-confidentiality-level", valueCodeableConcept=nos.concept("J222", "2"))],
        "purpose": nos.concept("J221", "06"), "name": {"family": family, "given": [given]},
        "telecom": [telecom("phone", phone, "2", "2")]}


def characteristic(jdv: str, code: str, act_type: str = "") -> dict:
    """A HealthcareService.characteristic; acts (J16) carry the ror-act-type the slices require."""
    result = nos.concept(jdv, code)
    if act_type:
        result = {"extension": [ext("ror-act-type", valueCode=act_type)], **result}
    return result


def task_input(code: str, **value: object) -> dict:
    return {"type": {"coding": [{"system": TASK_INPUT, "code": code}]}, **value}
