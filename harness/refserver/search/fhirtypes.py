"""Element types of the FHIR R4 core model, read from the bundled core StructureDefinitions.

Why: an index value is converted by its FHIR type (a Coding, an Identifier and a ContactPoint
are all JSON objects but index differently; a `code` element has an implicit code system).
Knowing the type statically from the SearchParameter expression avoids guessing from shapes.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from harness.fhir.packages import PackageError, PackageSet

CORE = "http://hl7.org/fhir/StructureDefinition/"


@dataclass(frozen=True)
class ElementInfo:
    """What indexing needs about one element: its type(s) and, for codes, the bound value set."""

    types: tuple[str, ...]
    binding: str | None = None


class FhirTypes:
    """Looks up `Type.child` element definitions across core resource and datatype definitions."""

    def __init__(self, packages: PackageSet) -> None:
        self._packages = packages
        self.child = lru_cache(maxsize=None)(self._child)
        self.code_system_of = lru_cache(maxsize=None)(self._code_system_of)

    def _elements(self, type_name: str) -> dict[str, dict] | None:
        try:
            sd = self._packages.structure_definition(CORE + type_name)
        except PackageError:
            return None
        return {e["path"]: e for e in sd.get("snapshot", {}).get("element", [])}

    def _child(self, path_type: str, name: str) -> ElementInfo | None:
        """The element `name` under a type or a backbone path (None if there is no such element).

        `path_type` is a type name (`Address`) or, for backbone elements, their path
        (`HealthcareService.availableTime`): children of a backbone live in the resource's own
        definition under that path.
        """
        elements = self._elements(path_type.split(".", 1)[0])
        if elements is None:
            return None
        element = elements.get(f"{path_type}.{name}") or elements.get(f"{path_type}.{name}[x]")
        if element is None:
            return None
        if element.get("contentReference"):  # Questionnaire.item.item -> #Questionnaire.item
            return ElementInfo((element["contentReference"].lstrip("#"),))
        types = tuple(t["code"] for t in element.get("type", []))
        if types in (("BackboneElement",), ("Element",)):
            return ElementInfo((f"{path_type}.{name}",))
        return ElementInfo(types, (element.get("binding") or {}).get("valueSet"))

    def _code_system_of(self, valueset_url: str) -> str | None:
        """The single code system of a required value set (Location.status -> location-status).

        FHIR search lets a client write `status=http://hl7.org/fhir/location-status|active`: the
        implicit system of a `code` element is the one its value set draws from, when unique.
        """
        vs = self._packages.resolve(valueset_url.partition("|")[0], "ValueSet")
        if not vs:
            return None
        systems = {inc.get("system") for inc in vs.get("compose", {}).get("include", [])}
        systems.discard(None)
        return systems.pop() if len(systems) == 1 else None
