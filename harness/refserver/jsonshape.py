"""Which FHIR elements are JSON arrays, and of which type, from the FHIR core definitions.

FHIRPath Patch adds values by element name and builds anonymous values from `part`s; to write
them as FHIR JSON the server must know whether `HealthcareService.location` is an array
(base cardinality 0..*) and what type `Extension.extension` holds. The JSON shape follows the
base definition, never a profile, so the core StructureDefinitions are enough.
"""
from __future__ import annotations

from harness.fhir.packages import PackageSet

CORE = "http://hl7.org/fhir/StructureDefinition/"


class JsonShape:
    def __init__(self, packages: PackageSet) -> None:
        self._packages = packages
        self._elements: dict[str, dict[str, dict]] = {}

    def _definitions(self, root: str) -> dict[str, dict]:
        found = self._elements.get(root)
        if found is None:
            sd = self._packages.resolve(CORE + root, "StructureDefinition") or {}
            found = {e["path"]: e for e in sd.get("snapshot", {}).get("element", []) if ":" not in e.get("id", "")}
            self._elements[root] = found
        return found

    def element(self, type_path: str, name: str) -> dict | None:
        """The core element `name` under a node of type (or backbone path) `type_path`."""
        definitions = self._definitions(type_path.split(".")[0])
        path = f"{type_path}.{name}"
        if path in definitions:
            return definitions[path]
        for candidate, element in definitions.items():  # choice: valueString -> value[x]
            if candidate.endswith("[x]") and path.startswith(candidate[:-3]) \
                    and candidate.count(".") == path.count(".") and path[len(candidate) - 3:][:1].isupper():
                return element
        return None

    def is_array(self, type_path: str, name: str) -> bool | None:
        """True/False for a known element, None when FHIR defines no such element there."""
        element = self.element(type_path, name)
        if element is None:
            return None
        return element.get("max") != "1" and not element["path"].endswith("[x]")

    def child_type(self, type_path: str, name: str) -> str | None:
        """The type (or backbone path) of values of `name`, to shape their own children."""
        element = self.element(type_path, name)
        if element is None:
            return None
        if element["path"].endswith("[x]"):
            suffix = f"{type_path}.{name}"[len(element["path"]) - 3:]
            for candidate in (suffix, suffix[:1].lower() + suffix[1:]):  # CodeableConcept, string
                if self._definitions(candidate):
                    return candidate
            return None
        types = [t["code"] for t in element.get("type", [])]
        if not types:  # contentReference (e.g. Questionnaire.item.item)
            reference = element.get("contentReference", "")
            return reference.lstrip("#") or None
        if types[0] in ("BackboneElement", "Element") and element["path"].count("."):
            return element["path"]
        return types[0]
