"""Named mutations of valid ROR resources, one check kind each, for the agreement table.

Why: agreement on valid resources says nothing about what a validator catches. Each mutation
breaks exactly one rule of FHIR R4 or of a ROR 0.7.0 profile in an otherwise valid resource (a
seed of benchmarks/corpus.py) and names the ror-harness message id expected, so the table can
show, check kind by check kind, what each validator reports.

ROR 0.7.0 declares no closed slicing (none of its generated snapshots has `rules: closed`), so
no mutation can exercise `slice-unmatched-closed` on a ROR profile.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.corpus import EXAMPLES, ROR_EXT, load_json, record

EJ = "harness/Organization-ror-harness-ej.json"
EG = "harness/Organization-ror-harness-eg.json"
PRACTITIONER = "harness/Practitioner-ror-harness-practitioner.json"
ROLE = "harness/PractitionerRole-ror-harness-practitionerrole.json"
SERVICE = "harness/HealthcareService-ror-harness-healthcareservice.json"
TASK = "ror-0.7.0/Task-ror-task-exemple.json"


@dataclass(frozen=True)
class Mutation:
    name: str
    kind: str  # the check kind, as the agreement table shows it
    seed: str  # file under fixtures/examples/
    apply: Callable[[dict], None]  # edits the copy in place
    expected: str  # the ror-harness message id expected
    invalid: bool = True  # False: only a warning is expected, the resource stays valid


def _ext(res: dict, name: str) -> dict:
    return next(e for e in res["extension"] if e["url"] == ROR_EXT + name)


def _set(path: str, value: object) -> Callable[[dict], None]:
    """An edit that sets a dotted path (`a.b.0.c`; list indexes as numbers)."""
    *parents, last = path.split(".")

    def apply(res: dict) -> None:
        node: object = res
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]  # type: ignore[index]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value  # type: ignore[index]
    return apply


def _drop(path: str) -> Callable[[dict], None]:
    *parents, last = path.split(".")

    def apply(res: dict) -> None:
        node: object = res
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]  # type: ignore[index]
        del node[int(last) if isinstance(node, list) else last]  # type: ignore[arg-type]
    return apply


def _drop_extension(name: str) -> Callable[[dict], None]:
    def apply(res: dict) -> None:
        res["extension"] = [e for e in res["extension"] if e["url"] != ROR_EXT + name]
    return apply


def _edit_extension(name: str, edit: Callable[[dict], None]) -> Callable[[dict], None]:
    def apply(res: dict) -> None:
        edit(_ext(res, name))
    return apply


def _replace_value(ext: dict, key: str, value: object) -> None:
    for k in [k for k in ext if k.startswith("value")]:
        del ext[k]
    ext[key] = value


def _second_address(res: dict) -> None:
    res["address"].append(copy.deepcopy(res["address"][0]))


def _add_unknown_extension(res: dict) -> None:
    res["extension"].append({"url": "https://example.org/fhir/StructureDefinition/not-in-any-package", "valueString": "x"})


def _add_modifier_extension(res: dict) -> None:
    res["modifierExtension"] = [{"url": "https://example.org/fhir/StructureDefinition/unknown-modifier", "valueBoolean": True}]


def _value_and_children(ext: dict) -> None:
    ext["extension"] = [{"url": "part", "valueString": "x"}]


def _period_reversed(res: dict) -> None:
    ext = next(e for e in res["availableTime"][0]["extension"] if e["url"].endswith("effective-opening-closing-date"))
    ext["valuePeriod"] = {"start": "2025-06-30", "end": "2025-01-01"}


def _outside_nos(res: dict) -> None:
    channel = res["telecom"][0]["extension"][0]
    channel["valueCodeableConcept"] = {"coding": [dict(channel["valueCodeableConcept"]["coding"][0], code="99", display="Pigeon voyageur")]}


def _choice_not_allowed(res: dict) -> None:
    item = next(i for i in res["input"] if i["type"]["coding"][0]["code"] == "systemRequester")
    del item["valueString"]
    item["valueInteger"] = 42


def _two_choice_types(res: dict) -> None:
    res["input"].append({"type": {"text": "commentaire"}, "valueString": "à revoir", "valueInteger": 1})


def _use_period_reversed(res: dict) -> None:
    res["extension"].append({"url": "http://hl7.org/fhir/StructureDefinition/organization-period",
                             "valuePeriod": {"start": "2025-06-30", "end": "2025-01-01"}})


MUTATIONS: tuple[Mutation, ...] = (
    Mutation("unknown-element", "unknown element", EJ, _set("colour", "blue"), "unknown-element"),
    Mutation("wrong-json-type", "wrong JSON type (number for a string)", EJ, _set("name", 42), "json-type"),
    Mutation("null-value", "JSON null as a value", EJ, _set("name", None), "json-null"),
    Mutation("bad-date-format", "bad date format (month 13)", EJ,
             _edit_extension("ror-organization-creation-date", lambda e: _replace_value(e, "valueDate", "1972-13-01")),
             "primitive-format"),
    Mutation("bad-date-calendar", "impossible calendar date (30 February)", EJ,
             _edit_extension("ror-organization-creation-date", lambda e: _replace_value(e, "valueDate", "2023-02-30")),
             "primitive-format"),
    Mutation("bad-instant", "instant without time zone", EJ, _set("meta.lastUpdated", "2025-03-14T09:12:45"),
             "primitive-format"),
    Mutation("bad-id", "id with a space", EJ, _set("id", "ror harness ej"), "primitive-format"),
    Mutation("bad-code-format", "code with a trailing space", PRACTITIONER, _set("gender", "female "), "primitive-format"),
    Mutation("bad-integer", "decimal where an integer is expected", EG,
             lambda r: r["extension"].append({"url": ROR_EXT + "ror-organization-nb-permanent-social-help-place",
                                              "valueInteger": 3.5}),
             "primitive-format"),
    Mutation("empty-string", "empty string", EJ, _set("name", ""), "empty"),
    Mutation("empty-object", "empty object", EG, _set("partOf", {}), "empty"),
    Mutation("missing-required", "missing required element (meta.lastUpdated 1..1)", EJ, _drop("meta.lastUpdated"),
             "cardinality-min"),
    Mutation("missing-required-core", "missing element required by the core (PractitionerRole.practitioner 1..1 in ROR)",
             ROLE, _drop("practitioner"), "cardinality-min"),
    Mutation("cardinality-over-max", "cardinality over max (2 addresses, max 1)", EJ, _second_address, "cardinality-max"),
    Mutation("pattern-violation", "pattern violation (identifier.system of the RPPS)", PRACTITIONER,
             _set("identifier.0.system", "urn:oid:1.2.250.1.71.4.2.2"), "pattern-value"),
    Mutation("pattern-codeableconcept", "pattern violation in a complex extension (territorial division type)", EG,
             lambda r: _ext(r, "ror-territorial-division")["extension"][0]["valueCodeableConcept"]["coding"][0]
             .update(code="2", display="Département"),
             "pattern-value"),
    Mutation("slice-min-missing", "required slice missing (ror-meta-creation-date 1..1)", EJ,
             _drop_extension("ror-meta-creation-date"), "cardinality-min"),
    Mutation("slice-over-max", "slice over its max (ror-meta-creation-date twice)", PRACTITIONER,
             lambda r: r["extension"].append(copy.deepcopy(_ext(r, "ror-meta-creation-date"))), "cardinality-max"),
    Mutation("unknown-extension", "extension of unknown url (warning only)", EJ, _add_unknown_extension,
             "extension-unknown", invalid=False),
    Mutation("unknown-modifier-extension", "modifier extension of unknown url", EJ, _add_modifier_extension,
             "modifier-extension-unknown"),
    Mutation("extension-value-and-children", "extension with a value and sub-extensions (ext-1)", EJ,
             _edit_extension("ror-meta-creation-date", _value_and_children), "extension-value-and-children"),
    Mutation("extension-wrong-value-type", "extension value of a type its definition forbids", EJ,
             _edit_extension("ror-meta-creation-date", lambda e: _replace_value(e, "valueString", "2018-06-02")),
             "unknown-element"),
    Mutation("two-choice-types", "two types given for one choice element (Task.input value[x])", TASK,
             _two_choice_types, "choice-multiple"),
    Mutation("choice-type-not-allowed", "choice type the profile does not allow (Task.input valueInteger)", TASK,
             _choice_not_allowed, "unknown-element"),
    Mutation("code-outside-nos", "code outside a required NOS value set (J225 channel '99')", EJ, _outside_nos,
             "binding-required"),
    Mutation("bad-reference-format", "reference that is not a literal reference", EG,
             _set("partOf.reference", "Organization/ror harness ej"), "reference-format"),
    Mutation("reference-wrong-target", "reference to a type the element does not allow", ROLE,
             _set("practitioner.reference", "Organization/ror-harness-ej"), "reference-target"),
    Mutation("invariant-per-1", "invariant failure (per-1: Period start after end, organization-period)", EJ,
             _use_period_reversed, "invariant-failed"),
    Mutation("invariant-per-1-profiled-period", "per-1 on a Period whose children the extension profiles "
             "(availableTime effective dates)", ROLE, _period_reversed, "invariant-failed"),
    Mutation("array-for-single", "array where a single value is expected", EJ, _set("name", ["CH DE L'ESTUAIRE"]),
             "json-array-unexpected"),
    Mutation("single-for-array", "single value where an array is expected", EG, _set("alias", "CH Estuaire"),
             "json-array-expected"),
    Mutation("missing-resource-type", "resourceType missing", SERVICE, _drop("resourceType"), "resource-type-missing"),
)


def mutated(mutation: Mutation) -> dict:
    """The seed with the mutation applied (a fresh copy each call)."""
    res = load_json(EXAMPLES / mutation.seed)
    mutation.apply(res)
    return res


def mutation_records() -> list[dict]:
    """One corpus record per mutation; the profile is the seed's, even when the edit removed it."""
    out = []
    for m in MUTATIONS:
        res = mutated(m)
        rec = record(f"mutation/{m.name}", res)
        rec["profile"] = record("", load_json(EXAMPLES / m.seed))["profile"]
        out.append(rec)
    return out
