"""The search parameters the harness judges results with: FHIR R4 core and the ROR IG's own.

Each (resource type, name) gives the parameter's type, its FHIRPath expression and its
reference targets, read from the SearchParameter resources of the loaded packages, named as
the IG's `ror-serveur` CapabilityStatement names them. Published expressions that cannot be
right (IG defects) are evaluated in their corrected form, from the one corrections table the
reference server also runs (so a vendor and the reference read the IG the same way; the
evaluation itself, FHIRPath on the returned JSON, is the harness's own).
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from harness.fhir.packages import PackageSet

# The corrections table is data (IG defects and their argued reading), not server logic.
from harness.fhir.search_corrections import RENAMES, capability_names, correction_for

ROR_PACKAGE = "ans.fhir.fr.ror"
CORE_PACKAGE = "hl7.fhir.r4.core"
#: Parameters that shape the result instead of selecting resources.
CONTROL = frozenset({"_sort", "_count", "_include", "_revinclude", "_page", "_total", "_summary", "_elements",
                     "_format", "_pretty", "_contained", "_containedType", "_getpagesoffset"})

_ABSTRACT_ROOT = re.compile(r"(?<![\w.])(?:DomainResource|Resource)\.")


@dataclass(frozen=True)
class Definition:
    name: str
    resource_type: str
    type: str  # token | string | date | number | quantity | reference | uri | composite | special
    expression: str | None  # None: the IG's parameter is unusable (reason in `note`)
    targets: tuple[str, ...] = ()
    note: str = ""  # why the expression differs from the published one, or why there is none


class SearchParameters:
    """Lookup of search parameter definitions by resource type and URL name."""

    def __init__(self, packages: PackageSet) -> None:
        self._defs: dict[tuple[str, str], Definition] = {}
        names = capability_names(packages)
        ordered = sorted(packages.packages, key=lambda p: p.name == ROR_PACKAGE)  # the IG last: it wins
        for pkg in ordered:
            if pkg.name not in (CORE_PACKAGE, ROR_PACKAGE):
                continue
            for entry in pkg.index:
                if entry.get("resourceType") == "SearchParameter":
                    self._add(pkg.load(entry["filename"]), names)


    def _add(self, sp: dict, names: dict[str, str]) -> None:
        url = sp.get("url", "")
        name = RENAMES[url][0] if url in RENAMES else names.get(url) or sp.get("code")
        if not name:
            return
        correction = correction_for(sp)
        expression = correction.expression if correction else sp.get("expression")
        note = correction.reason if correction else ""
        for base in sp.get("base", ()):
            self._defs[(base, name)] = Definition(name, base, sp.get("type", ""), expression,
                                                  tuple(sp.get("target", ())), note)

    def get(self, resource_type: str, name: str) -> Definition | None:
        """The definition for this type, else one declared on Resource / DomainResource.

        The latter are written `Resource.meta.lastUpdated`; FHIRPath engines (fhirpathpy
        included) only match a type name exactly, so the path is rewritten to the concrete type.
        """
        found = self._defs.get((resource_type, name))
        if found is not None:
            return found
        for base in ("DomainResource", "Resource"):
            found = self._defs.get((base, name))
            if found is not None:
                expression = _ABSTRACT_ROOT.sub(resource_type + ".", found.expression) if found.expression else None
                return dataclasses.replace(found, resource_type=resource_type, expression=expression)
        return None
