"""The ROR capacity PATCH: bed/place indicators of a Location, as the national API handles them.

Sources: IG 0.7.0 specifications_techniques_10 (ST10-S2 add, S2bis replace, S3 delete) and the
national API documentation (patch-capacitaire/location.md) whose outcomes are reproduced
verbatim: 404 `not-found` when the indicator to replace does not exist (the client must then
`add`), 400 `business-rule` for an unknown code or an invalid combination of codes.

An indicator is one `ror-location-supported-capacity` extension; what identifies it (its key)
is the combination capacityType / capacityStatus / temporalityCapacity /
genderCapacityAvailable / capacityClosingType / additionalBedType / crisisType /
temporaryAssignement. The national API validates combinations against an indicator table that
is not published; the rules below are the harness's reading of the value sets (each documented
in docs/refserver.md):
  - capacityClosingType is given if and only if capacityStatus is 05 (Fermé);
  - additionalBedType is given if and only if capacityStatus is 06 (Supplémentaire);
  - crisisType only with capacityStatus 06 (beds mobilised for a crisis);
  - genderCapacityAvailable only with capacityStatus 02 (Disponible: "genre capacité disponible");
  - two indicators of one Location never share a key (a second one is an `add` that should
    have been a `replace`).
Only indicators that the PATCH creates or changes are checked, never the stored ones.

Accepted forms. The standard FHIRPath Patch form (`add` path `Location` name `extension`
valueExtension; `replace` path selecting the indicator, valueExtension) and the national API's
documented form: `add` with the path `Location.extension.where(url='…supported-capacity')` and
no name, the value given as a part holding `extension: [<indicator>]`.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from harness.refserver.jsonshape import JsonShape
from harness.refserver.outcome import FhirError
from harness.refserver.patch import MISSING, Operation, Patcher, build_value, locate

SUPPORTED_CAPACITY = "https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/ror-location-supported-capacity"
CAPACITY_PATH = f"Location.extension.where(url='{SUPPORTED_CAPACITY}')"
EXPRESSION_INDICATOR = f"Location.extension('{SUPPORTED_CAPACITY}')"
NOT_FOUND = ("Les données fournies ne permettent pas de déterminer l'indicateur à mettre à jour: "
             "Aucun indicateur présent en base ne correspond")

_NOS = "https://mos.esante.gouv.fr/NOS/"
#: sub-extension -> (value set of its binding, French attribute name, required)
CODED = {
    "capacityType": (_NOS + "JDV_J187-NatureCapacite-ROR/FHIR/JDV-J187-NatureCapacite-ROR", "natureCapacite", True),
    "capacityStatus": (_NOS + "JDV_J188-TypeStatutCapacite-ROR/FHIR/JDV-J188-TypeStatutCapacite-ROR",
                       "statutCapacite", True),
    "temporalityCapacity": (_NOS + "JDV_J189-TemporaliteCapacite-ROR/FHIR/JDV-J189-TemporaliteCapacite-ROR",
                            "temporaliteCapacite", True),
    "capacitySourceType": (_NOS + "JDV_J193-TypeSourceCapacite-ROR/FHIR/JDV-J193-TypeSourceCapacite-ROR",
                           "typeSourceCapacite", True),
    "genderCapacityAvailable": (_NOS + "JDV_J190-GenreCapacite-ROR/FHIR/JDV-J190-GenreCapacite-ROR",
                                "genreCapacite", False),
    "capacityClosingType": (_NOS + "JDV_J191-TypeFermetureCapacite-ROR/FHIR/JDV-J191-TypeFermetureCapacite-ROR",
                            "typeFermetureCapacite", False),
    "additionalBedType": (_NOS + "JDV_J192-TypeLitSupplementaire-ROR/FHIR/JDV-J192-TypeLitSupplementaire-ROR",
                          "typeLitSupplementaire", False),
    "crisisType": (_NOS + "JDV_J194-TypeCrise-ROR/FHIR/JDV-J194-TypeCrise-ROR", "typeCrise", False),
    "temporaryAssignement": (_NOS + "JDV_J195-AffectationTemporaire-ROR/FHIR/JDV-J195-AffectationTemporaire-ROR",
                             "affectationTemporaire", True),
}
OTHER = {"nbCapacity": "valueInteger", "capacityUpdateDate": "valueDateTime", "comment": "valueString"}
REQUIRED_OTHER = ("nbCapacity", "capacityUpdateDate")
#: The key of an indicator, in the order of the national API's messages.
KEY = ("capacityStatus", "temporalityCapacity", "genderCapacityAvailable", "capacityClosingType",
       "additionalBedType", "crisisType", "temporaryAssignement")
STATUS_AVAILABLE, STATUS_CLOSED, STATUS_ADDITIONAL = "02", "05", "06"

CodeCheck = Callable[[str, str | None, str], bool]  # (value set, system, code) -> member?

_SPACES = re.compile(r"\s+")


def _normal(path: str) -> str:
    return _SPACES.sub("", path).replace('"', "'")


def is_capacity_path(path: str) -> bool:
    """Does this PATCH path address the capacity indicators of a Location?"""
    return _normal(path).startswith(_normal(CAPACITY_PATH))


def _business(diagnostics: str, expression: str | None = None) -> FhirError:
    return FhirError(400, "business-rule", diagnostics, expression=[expression] if expression else None)


def _coded(indicator: dict, name: str) -> tuple[str | None, str | None] | None:
    """(system, code) of a coded sub-extension, None when absent."""
    for sub in indicator.get("extension", []):
        if sub.get("url") == name:
            coding = ((sub.get("valueCodeableConcept") or {}).get("coding") or [{}])[0]
            return coding.get("system"), coding.get("code")
    return None


def indicator_key(indicator: dict) -> tuple:
    return tuple((_coded(indicator, name) or (None, None))[1] for name in ("capacityType", *KEY))


def describe_key(indicator: dict) -> str:
    """The national API's rendering: `capacityStatus: 02 / … / temporaryAssignement: 01`."""
    return " / ".join(f"{name}: {(_coded(indicator, name) or (None, 'null'))[1]}" for name in KEY)


class CapacityRules:
    """Checks indicators and runs capacity operations on a Location."""

    def __init__(self, shape: JsonShape, code_check: CodeCheck, *, check_combinations: bool = True,
                 replace_creates: bool = False) -> None:
        self.shape = shape
        self.patcher = Patcher(shape)
        self._member = code_check
        self._check_combinations = check_combinations
        self._replace_creates = replace_creates

    # -- values ----------------------------------------------------------------------------
    def indicator_value(self, op: Operation) -> dict:
        """The indicator an add/replace carries, in any of the accepted forms."""
        part = op.value_part
        value: object = part.get("valueExtension", MISSING)
        if value is MISSING and isinstance(part.get("part"), list):
            holders = [p for p in part["part"] if isinstance(p, dict) and isinstance(p.get("extension"), list)]
            if len(holders) == 1 and len(holders[0]["extension"]) == 1 and "name" not in holders[0]:
                value = holders[0]["extension"][0]  # the national API's documented form
            else:
                value = build_value(op, self.shape, "Extension")
        if not isinstance(value, dict) or value.get("url") != SUPPORTED_CAPACITY:
            raise _business(f"la valeur doit être une extension {SUPPORTED_CAPACITY} (un indicateur capacitaire)",
                            EXPRESSION_INDICATOR)
        return value

    # -- checks ----------------------------------------------------------------------------
    def check_indicator(self, indicator: dict) -> None:
        """400 business-rule when an indicator is incomplete, uses unknown codes or an invalid
        combination (the national API's messages)."""
        subs = [s for s in indicator.get("extension", []) if isinstance(s, dict)]
        names = [s.get("url") for s in subs]
        for name in names:
            if name not in CODED and name not in OTHER:
                raise _business(f"Indicateur INDICATEUR_INCONNU : l'attribut '{name}' n'existe pas",
                                f"{EXPRESSION_INDICATOR}.extension('{name}')")
            if names.count(name) > 1:
                raise _business(f"Indicateur INDICATEUR_INCONNU : l'attribut '{name}' est donné plusieurs fois",
                                f"{EXPRESSION_INDICATOR}.extension('{name}')")
        for name, (valueset, french, required) in CODED.items():
            found = _coded(indicator, name)
            if found is None:
                if required:
                    raise _business(f"Indicateur INDICATEUR_INCONNU : l'attribut '{french}' est obligatoire",
                                    f"{EXPRESSION_INDICATOR}.extension('{name}')")
                continue
            system, code = found
            if not code or not self._member(valueset, system, code):
                raise _business(f"Indicateur INDICATEUR_INCONNU : L'attribut '{french}' a un code différent de "
                                "celui attendu", f"{EXPRESSION_INDICATOR}.extension('{name}')")
        for name in REQUIRED_OTHER:
            sub = next((s for s in subs if s.get("url") == name), None)
            if sub is None or OTHER[name] not in sub:
                raise _business(f"Indicateur INDICATEUR_INCONNU : l'attribut '{name}' ({OTHER[name]}) est obligatoire",
                                f"{EXPRESSION_INDICATOR}.extension('{name}')")
        nb = next(s for s in subs if s.get("url") == "nbCapacity")["valueInteger"]
        if not isinstance(nb, int) or isinstance(nb, bool) or nb < 0:
            raise _business("Indicateur INDICATEUR_INCONNU : l'attribut 'nbCapacity' doit être un entier "
                            "positif ou nul",
                            f"{EXPRESSION_INDICATOR}.extension('nbCapacity')")
        if self._check_combinations and not self._valid_combination(indicator):
            raise _business("Les valeurs du nouvel objet ne correspondent pas à un indicateur valide : "
                            + describe_key(indicator), EXPRESSION_INDICATOR)

    @staticmethod
    def _valid_combination(indicator: dict) -> bool:
        def has(name: str) -> bool:
            return _coded(indicator, name) is not None

        status = (_coded(indicator, "capacityStatus") or (None, None))[1]
        return (has("capacityClosingType") == (status == STATUS_CLOSED)
                and has("additionalBedType") == (status == STATUS_ADDITIONAL)
                and (not has("crisisType") or status == STATUS_ADDITIONAL)
                and (not has("genderCapacityAvailable") or status == STATUS_AVAILABLE))

    # -- operations ------------------------------------------------------------------------
    def apply(self, location: dict, operations: list[Operation]) -> dict:
        """The patched copy of a Location; capacity operations follow the ROR rules."""
        before = [e for e in location.get("extension", []) if e.get("url") == SUPPORTED_CAPACITY]
        patched = location
        for op in operations:
            patched = self.patcher.apply(patched, [self._standard(patched, op)])
        after = [e for e in patched.get("extension", []) if e.get("url") == SUPPORTED_CAPACITY]
        changed = list(after)
        for kept in before:  # what is left was created or changed by this PATCH
            if kept in changed:
                changed.remove(kept)
        for indicator in changed:
            self.check_indicator(indicator)
        keys = [indicator_key(i) for i in after]
        for indicator in changed:
            if keys.count(indicator_key(indicator)) > 1:
                raise _business("Un indicateur existe déjà pour : " + describe_key(indicator)
                                + " (mettre à jour avec 'replace')", EXPRESSION_INDICATOR)
        return patched

    def _standard(self, location: dict, op: Operation) -> Operation:
        """The operation in standard FHIRPath Patch form, after the ROR-specific outcomes."""
        if not is_capacity_path(op.path):
            return op  # a standard add of an indicator (path Location) is checked after the patch
        if op.type == "add":
            if op.name is not None:
                return op
            indicator = self.indicator_value(op)  # the national API's form: no name
            return Operation(op.index, "add", "Location", "extension", value_part={"valueExtension": indicator})
        if op.type != "replace":
            return op
        slots = locate(location, op.path, self.shape)
        selected = [s.container[s.key] for s in slots]  # type: ignore[index]
        whole = all(isinstance(v, dict) and v.get("url") == SUPPORTED_CAPACITY for v in selected)
        if not slots:
            if self._replace_creates and whole:
                return Operation(op.index, "add", "Location", "extension",
                                 value_part={"valueExtension": self.indicator_value(op)})
            raise FhirError(404, "not-found", NOT_FOUND, expression=[CAPACITY_PATH])
        if len(slots) > 1 and whole:
            raise _business(f"Les critères du FhirPath ne correspondent pas à un indicateur valide : "
                            f"{len(slots)} indicateurs correspondent")
        if whole:
            return Operation(op.index, "replace", op.path, value_part={"valueExtension": self.indicator_value(op)})
        return op
