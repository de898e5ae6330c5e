"""Codings taken from the vendored NOS value sets, so that every code in the dataset is one the
ROR profiles accept, with its official display.

Why not literal codings in the generator: a typo in a code or a system would only show up as a
validation error far away; here a code that is not in its value set fails at once with the value
set named. Value sets are named by their JDV number ("J17"); systems that no vendored value set
carries (identifier types, communes, ...) are the constants below.
"""
from __future__ import annotations

import functools

import orjson

from harness.fhir.nos_fixtures import NOS_DIR, NosStore

NOS = "https://mos.esante.gouv.fr/NOS/"


def tre(name: str) -> str:
    """Canonical of a NOS code system, from its name ("TRE_R30-RegionOM")."""
    return f"{NOS}{name}/FHIR/{name.replace('_', '-')}"


COMMUNE_SYSTEM = tre("TRE_R13-CommuneOM")
STRUCTURE_ID_TYPE = tre("TRE_G07-TypeIdentifiantStructure")
#: The ROR profile spells this one with an underscore in its last segment: kept as the profile says.
OTHER_ID_TYPE = f"{NOS}TRE_R345-TypeIdentifiantAutre/FHIR/TRE_R345-TypeIdentifiantAutre"
OFFER_ID_TYPE = tre("TRE_R355-TypeIdentifiantOffre")
UCUM_NOS = tre("TRE_R247-UcumUniteMesure")
TASK_THEME = tre("TRE_R350-ThematiqueAnomalie")
TASK_ACTION = tre("TRE_R349-ActionAnomalie")


class UnknownCode(LookupError):
    """A code the generator asked for is not in the named NOS value set."""


@functools.cache
def _store() -> NosStore:
    return NosStore()


@functools.cache
def _table(jdv: str) -> dict[str, tuple[str, str]]:
    """code -> (system, display) of the vendored value set JDV_<jdv>."""
    store = _store()
    prefix = f"ValueSet-JDV-{jdv}-"
    manifest = orjson.loads((NOS_DIR / "manifest.json").read_bytes())["valueSets"]
    urls = [e["url"] for e in manifest if e["file"].startswith(prefix)]
    entry = store.entry(urls[0]) if len(urls) == 1 else None
    if entry is None:
        raise UnknownCode(f"no single vendored NOS value set {jdv}")
    table: dict[str, tuple[str, str]] = {}
    for include in store.load(entry)["compose"]["include"]:
        for concept in include.get("concept", []):
            table.setdefault(concept["code"], (include.get("system", ""), concept.get("display", "").strip()))
    return table


def codes(jdv: str) -> tuple[str, ...]:
    """Every code of the value set, in file order."""
    return tuple(_table(jdv))


def display(jdv: str, code: str) -> str:
    try:
        return _table(jdv)[code][1]
    except KeyError:
        raise UnknownCode(f"code {code!r} is not in NOS value set {jdv}") from None


def coding(jdv: str, code: str, system: str | None = None) -> dict:
    """A Coding for `code` of value set JDV_<jdv>; `system` overrides a value set without one."""
    try:
        own_system, label = _table(jdv)[code]
    except KeyError:
        raise UnknownCode(f"code {code!r} is not in NOS value set {jdv}") from None
    chosen = system or own_system
    if not chosen:
        raise UnknownCode(f"NOS value set {jdv} gives no system for {code!r}: pass one")
    return {"system": chosen, "code": code, "display": label}


def concept(jdv: str, code: str, system: str | None = None) -> dict:
    """A CodeableConcept holding `coding(jdv, code)`."""
    return {"coding": [coding(jdv, code, system)]}
