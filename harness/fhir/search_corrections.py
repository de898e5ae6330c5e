"""The ROR IG 0.7.0 SearchParameters as the reference server runs them: each published defect
and what the server does instead, with the reason (listed in docs/refserver-search.md).

Why a table and not silent fixes: vendors compare their server with this one; every place
where the reference departs from the published JSON must be visible and argued.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.fhir.packages import PackageSet

ROR = "https://interop.esante.gouv.fr/ig/fhir/ror/"
SERVER_CAPABILITY = ROR + "CapabilityStatement/ror-serveur"
SP = ROR + "SearchParameter/"
EXT = ROR + "StructureDefinition/"
CAPACITY = f"Location.extension.where(url='{EXT}ror-location-supported-capacity')"
EQUIPMENT_LIMIT = (f"Location.extension.where(url='{EXT}ror-location-equipment')"
                   f".extension.where(url='{EXT}ror-location-equipment-limit')")
PRICE = f"Organization.extension.where(url='{EXT}ror-organization-price')"
FR_ADDRESS_INSEE = "http://interopsante.org/fhir/StructureDefinition/FrAddressInseeCode"


@dataclass(frozen=True)
class Correction:
    """What the server runs for one published SearchParameter (None = the parameter is off)."""

    expression: str | None
    reason: str
    strict_only: bool = False  # changes nothing for a lenient engine (fhirpathpy), only for strict ones


def _capacity(sub: str) -> Correction:
    return Correction(
        f"{CAPACITY}.extension.where(url='{sub}').value.ofType(CodeableConcept)",
        f"published `.value.as(code)`, but `{sub}` is a CodeableConcept in "
        "ror-location-supported-capacity: `as(code)` is always empty, the parameter would match nothing")


CORRECTIONS: dict[str, Correction] = {
    SP + "ror-sp-additional-bed-type": _capacity("additionalBedType"),
    SP + "ror-sp-capacity-closing-type": _capacity("capacityClosingType"),
    SP + "ror-sp-capacity-status": _capacity("capacityStatus"),
    SP + "ror-sp-capacity-type": _capacity("capacityType"),
    SP + "ror-sp-crisis-type": _capacity("crisisType"),
    SP + "ror-sp-gender-capacity-available": _capacity("genderCapacityAvailable"),
    SP + "ror-sp-temporality-capacity": _capacity("temporalityCapacity"),
    SP + "ror-sp-equipment-feature": Correction(
        f"{EQUIPMENT_LIMIT}.extension.where(url='equipmentFeature').value.ofType(CodeableConcept)",
        "published on `Location.extension.where(url=ror-location-equipment-limit)`, but that extension's "
        "context is the ror-location-equipment extension (it is nested there, never on Location)"),
    SP + "ror-sp-limit-value": Correction(
        f"{EQUIPMENT_LIMIT}.extension.where(url='limitValue').value.ofType(Quantity)",
        "same nesting defect as equipment-feature"),
    SP + "ror-sp-healthcareservice-equipment-type": Correction(
        None,
        "points to `http://interop.esante.gouv.fr/ig/fhir/ror30/StructureDefinition/ror-healthcareservice-equipement`,"
        " an extension that does not exist in 0.7.0 (equipment is on Location); not declared for "
        "HealthcareService by the CapabilityStatements: use `location.equipment-type`"),
    SP + "ror-sp-location-near-insee-code": Correction(
        f"Location.extension.where(url='{EXT}ror-commune-cog').value.ofType(CodeableConcept)"
        f" | Location.address.extension.where(url='{FR_ADDRESS_INSEE}').value.ofType(Coding)",
        "published URL `.../ror/structuredefinition/datatype/fr-address-insee-code` exists nowhere; the "
        "RORLocation commune is the ror-commune-cog extension (FR Core's FrAddressInseeCode on the address "
        "is read too)"),
    SP + "ror-sp-organization-special-price": Correction(
        f"{PRICE}.extension.where(url='specialPrice').value.ofType(CodeableConcept)",
        "published expression is a copy of price-dependency-level (`dependencyLevel`); the price extension's "
        "`specialPrice` holds the tariff condition (TRE_R250) that ST8-S2 searches"),
    SP + "ror-sp-organization-price-validity-start-date": Correction(
        f"{PRICE}.extension.where(url='startDate').value.ofType(dateTime)",
        "published on the extension `.../ror-organization` (no such extension) and `as(date)`; `startDate` is "
        "a dateTime in ror-organization-price"),
    SP + "ror-sp-organization-oi-name": Correction(
        None,
        "extension `ror-organization-oi-name` does not exist in 0.7.0 and the CapabilityStatements do not "
        "declare the parameter"),
}

#: Parameters whose URL name differs from the SearchParameter's `code`: the CapabilityStatement
#: name wins (CapabilityStatement.rest.resource.searchParam.name is "the name used in the interface").
RENAMES: dict[str, tuple[str, str]] = {
    SP + "ror-sp-organization-price-amount-value": (
        "price-amount-value",
        "SearchParameter.code is `amount-value`, both 0.7.0 CapabilityStatements and the ST8 examples say "
        "`price-amount-value`"),
}

#: Defects with no change of behaviour, listed so the documentation is complete.
NOTES: dict[str, str] = {
    SP + "ror-sp-gender-capacity-available":
        "code was `gender-capacity` in 0.1.1; only the 0.7.0 name `gender-capacity-available` is accepted",
}


def capability_names(packages: "PackageSet") -> dict[str, str]:
    """SearchParameter URL -> the name ror-serveur gives it (`definition` may carry `|version`):
    the CapabilityStatement's name wins over the SearchParameter's `code` (price-amount-value)."""
    cs = packages.resolve(SERVER_CAPABILITY, "CapabilityStatement") or {}
    names: dict[str, str] = {}
    for rest in cs.get("rest", []):
        for resource in rest.get("resource", []):
            for param in resource.get("searchParam", []):
                if param.get("definition"):
                    names.setdefault(param["definition"].partition("|")[0], param["name"])
    return names


_AS_FUNCTION = re.compile(r"\.as\((\w+)\)")
SINGLETON_REASON = ("published `.value.as(X)` on an extension that repeats (several capacities, prices, zones ... "
                    "per resource): FHIRPath's `as()` requires a single item, so a strict engine answers an error "
                    "(Medplum: 400 \"Expected singleton\"); `ofType(X)` is the same filter on any number of items")


def correction_for(sp: dict) -> Correction | None:
    """What runs for this published SearchParameter: its entry in CORRECTIONS, else, for a ROR
    parameter using the `as()` function, the same expression with `ofType()` (see SINGLETON_REASON)."""
    url = sp.get("url", "")
    if url in CORRECTIONS:
        return CORRECTIONS[url]
    expression = sp.get("expression") or ""
    if url.startswith(SP) and _AS_FUNCTION.search(expression):
        return Correction(_AS_FUNCTION.sub(r".ofType(\1)", expression), SINGLETON_REASON, strict_only=True)
    return None
