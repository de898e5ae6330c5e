"""Which search parameters the reference server knows, per resource type, and how each indexes.

Sources: FHIR R4 core SearchParameters of the resource types the ROR API serves (plus the
`Resource` ones: `_id`, `_lastUpdated`, `_tag`, `_profile`, ...) and the ROR IG's own 36, as
bundled in the packages; IG defects are handled by `corrections.py`, names follow the
CapabilityStatement `ror-serveur`. Parameters without an expression that the engine implements
itself (`_has`, `_filter`, `near`, ...) are listed in SPECIAL.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from harness.fhir.packages import PackageSet
from harness.fhir.search_corrections import RENAMES, capability_names, correction_for

#: The resource types the ROR API serves (IG profiles), indexed and searchable.
RESOURCE_TYPES = ("Organization", "HealthcareService", "Location", "Practitioner", "PractitionerRole",
                  "Task", "Measure", "MeasureReport", "Questionnaire")
CORE_PACKAGE = "hl7.fhir.r4.core"
ROR_PACKAGE = "ans.fhir.fr.ror"
#: Types the engine can index and search (composite parameters are not supported).
SUPPORTED_TYPES = frozenset({"token", "string", "date", "number", "quantity", "reference", "uri", "special"})
#: Special parameters implemented by the engine itself.
SPECIAL = frozenset({"_has", "_filter", "near", "near-insee-code"})


@dataclass
class SearchParam:
    """One parameter as the server runs it on one resource type."""

    name: str                    # as written in the URL
    resource_type: str
    type: str                    # token | string | date | number | quantity | reference | uri | special
    expression: str | None       # the expression indexed (corrected when the IG's is wrong)
    url: str
    published_expression: str | None = None
    targets: tuple[str, ...] = ()
    correction: str | None = None  # why `expression` differs from the published one
    key: str = field(init=False)

    def __post_init__(self) -> None:
        self.key = f"{self.resource_type}.{self.name}"


@dataclass
class Disabled:
    """A published parameter the server refuses, with the reason (an IG defect)."""

    name: str
    resource_type: str
    url: str
    reason: str


class Registry:
    """The parameters per resource type; `get(type, name)`; `disabled` lists refused IG ones."""

    def __init__(self, packages: PackageSet, resource_types: tuple[str, ...] = RESOURCE_TYPES) -> None:
        self.resource_types = resource_types
        self._params: dict[str, dict[str, SearchParam]] = {t: {} for t in resource_types}
        self.disabled: dict[tuple[str, str], Disabled] = {}
        self.unimplemented: set[str] = set()
        names = capability_names(packages)
        for pkg in packages.packages:
            if pkg.name not in (CORE_PACKAGE, ROR_PACKAGE):
                continue
            for entry in pkg.index:
                if entry.get("resourceType") == "SearchParameter":
                    self._add(pkg.load(entry["filename"]), names, from_ig=pkg.name == ROR_PACKAGE)

    def _add(self, sp: dict, names: dict[str, str], *, from_ig: bool) -> None:
        if sp.get("type") not in SUPPORTED_TYPES:
            return
        url = sp["url"]
        name = RENAMES.get(url, (names.get(url) or sp["code"],))[0]
        expression = sp.get("expression")
        correction = correction_for(sp)
        for base in sp.get("base", []):
            targets = [base] if base not in ("Resource", "DomainResource") else list(self.resource_types)
            for rtype in targets:
                if rtype not in self._params:
                    continue
                if correction is not None and correction.expression is None:
                    self.disabled[(rtype, name)] = Disabled(name, rtype, url, correction.reason)
                    continue
                if not expression and name not in SPECIAL:
                    self.unimplemented.add(name)  # _content, _text, _query, _list: no expression
                    continue
                if not from_ig and name in self._params[rtype]:
                    continue
                self._params[rtype][name] = SearchParam(
                    name=name, resource_type=rtype, type=sp["type"],
                    expression=correction.expression if correction else expression, url=url,
                    published_expression=expression, targets=tuple(sp.get("target", ())),
                    correction="; ".join(r for r in (RENAMES.get(url, (None, None))[1],
                                                         correction.reason if correction else None) if r) or None)

    def get(self, resource_type: str, name: str) -> SearchParam | None:
        return self._params.get(resource_type, {}).get(name)

    def params(self, resource_type: str) -> dict[str, SearchParam]:
        return dict(self._params.get(resource_type, {}))

    def all(self) -> list[SearchParam]:
        return [p for per_type in self._params.values() for p in per_type.values()]


