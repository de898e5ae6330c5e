"""The prose of docs/agreement.md: corpus description and the explanation of each disagreement.

Kept apart from benchmarks/agreement.py so the reasoning can be read and reviewed as text; the
script refuses (exit 1) a disagreement that has no entry here. References are to the FHIR R4
(4.0.1) specification pages, paraphrased.
"""
from __future__ import annotations

CORPUS_NOTE = """\
- **Examples**: the four ROR 0.7.0 IG examples (`fixtures/examples/ror-0.7.0/`, as published) and six
  hand-written ones (`fixtures/examples/harness/`): Organization as entité juridique (FINESS EJ,
  SIREN, statut juridique J199 / J200), as établissement géographique (FINESS ET, SIRET, catégorie,
  ESPIC J202, address with INSEE code, geolocation, contact, territorial division, `partOf` the EJ) and
  as organisation interne (identifiant OI, type J203, `partOf` the EG); Practitioner (IDNPS = 8 + RPPS
  with its Luhn key); PractitionerRole (profession J229, savoir-faire J209 + spécialité ordinale J210,
  exercise mode J217, exercise name); HealthcareService (the IG example completed with the mandatory
  careMode J19, modalité d'accueil J226, niveau d'expertise J227). The hand-written ones have zero
  ror-harness errors (warnings: FR Core's extensible identifier-type bindings, which the NOS
  identifier types are not in).
- **Multiplied valid corpus** ({count} resources, `benchmarks/corpus.py`, seed 20250314): the eight
  valid seeds in turn (IG Location and Task, the six above), each copy with its own id, dates,
  names, a real commune (INSEE code, postal code, region tag from JDV_J237), FINESS / SIREN / SIRET /
  RPPS numbers with valid Luhn keys and codes drawn from the value sets their slices bind (J17, J19,
  J20, J199, J200, J202, J203, J208, J210, J217, J220, J226, J229, J241, J242, J244 ...).
- **Mutations** ({mutations}, `benchmarks/mutations.py`): one rule broken in one valid seed each, with
  the ror-harness message id expected. No ROR 0.7.0 profile declares a closed slicing, so closed
  slicing is not exercised.
- **Both validators get the same profile**: the one the resource claims in `meta.profile`. Medplum
  reads the snapshots ror-harness generates (exported by `benchmarks/medplum_bundle.py` with two
  adaptations to its parser: a `url` child fixed to the extension's canonical under each extension
  slice, because Medplum discriminates extension slices only by the slice's own children; slices
  nested in a slice left out, because its parser keeps one slicing context and would count them as
  slices of the outer element)."""

_VALUE_SLICE_BY_BINDING = (
    "Medplum: slices `operationalActivity` and `careMode` found 0 times. ROR 0.7.0 slices "
    "`HealthcareService.specialty` and `HealthcareService.characteristic` by value on `coding.system`, and "
    "these slices fix no system: each only binds the element (required) to a NOS value set (J17, J19). FHIR R4 profiling (Slicing, Discriminator) allows exactly "
    "that: for a `value` or `pattern` discriminator, each slice differentiates itself by a fixed value, a "
    "pattern, or a required binding to an extensional value set. ror-harness discriminates by the binding; "
    "Medplum 4.5.2 matches a value discriminator only by fixed/pattern values (by a binding only when the "
    "discriminator path is `$this`), so no item ever falls in these slices and their minimum of 1 fails. "
    "Medplum false positive.")

EXPLANATIONS: dict[str, str] = {
    "harness/PractitionerRole-ror-harness-practitionerrole.json": (
        "Medplum: slice `expertiseType` of `PractitionerRole.specialty` found 0 times. ROR 0.7.0 slices "
        "`PractitionerRole.specialty` (a CodeableConcept) by value on `url`, an element CodeableConcept does "
        "not have: an IG defect (FHIR R4 profiling requires the discriminator path to name an element of the "
        "sliced type, with a value fixed in each slice). No item can ever be discriminated by it, so Medplum "
        "matches none and the slice's minimum of 1 fails on every PractitionerRole. ror-harness reports the "
        "slicing as undiscriminable (information) and assigns items to slices by conformance (here the J209 "
        "binding of `expertiseType`), so the rule the IG meant is still checked. Neither validator is wrong "
        "about FHIR; the IG is."),
    "harness/HealthcareService-ror-harness-healthcareservice.json": (
        _VALUE_SLICE_BY_BINDING),
    "null-value": (
        "`\"name\": null`. FHIR R4 JSON (json.html, null values): properties never carry a JSON null, except "
        "inside an array of primitives aligned with its `_` array. Both reject it (ror-harness: `json-null`; "
        "it used to read the null as an absent element, found by this check and fixed)."),
    "bad-date-calendar": (
        "`2023-02-30`. FHIR R4 datatypes (date, dateTime): the value must be a valid date, the regular "
        "expression being only the lexical part. ror-harness checks the calendar; Medplum applies the regex only."),
    "bad-id": (
        "`\"id\": \"ror harness ej\"`. FHIR R4 resource.html: `Resource.id` is of type `id` "
        "(`[A-Za-z0-9\\-\\.]{1,64}`). The 4.0.1 core StructureDefinitions type `Resource.id` as "
        "`System.String` with the fhir-type extension `string` (an R4 quirk), so Medplum checks it as a string; "
        "ror-harness applies the `id` rule."),
    "empty-string": (
        "`\"name\": \"\"`. FHIR R4 json.html: a string property is either absent or has at least one "
        "character (datatypes: strings SHALL contain non-whitespace content). ror-harness reports `empty`; "
        "Medplum's property getter reads `\"\"` as absent, so its string checks never run on it."),
    "empty-object": (
        "`\"partOf\": {}`. FHIR R4 json.html: JSON objects are never empty, and ele-1 requires a value or "
        "children. ror-harness reports `empty`; Medplum flags `{}` only as an array item (`Invalid empty "
        "non-primitive value`), a single-valued `{}` reads as absent (checked: `\"practitioner\": {}` on a core "
        "PractitionerRole passes too)."),
    "pattern-codeableconcept": (
        "The pattern (TRE_R201 code 4) sits on `typeTerritorialDivision`, a slice of the complex extension "
        "slice `ror-territorial-division`: slicing nested in a slice. Medplum's snapshot parser keeps one "
        "slicing context, so the export leaves these nested elements out (kept in, they make Medplum report "
        "the sub-extension slices missing on every Organization). Without them Medplum cannot see the pattern; "
        "FHIR (profiling: pattern[x]) applies it wherever the element sits, and ror-harness does. Medplum "
        "limitation."),
    "unknown-modifier-extension": (
        "FHIR R4 extensibility.html (modifierExtension): a modifier extension changes the meaning of its "
        "element, so an application that does not know it must not ignore it (refuse the resource or report it "
        "as not understood). ror-harness reports an unknown modifier extension as an error; Medplum checks "
        "`modifierExtension` only as a base Extension."),
    "extension-wrong-value-type": (
        "`ror-meta-creation-date` with `valueString`. The extension's StructureDefinition restricts `value[x]` "
        "to dateTime. Medplum validates an extension against base Extension (every value type allowed): it "
        "reads only the profile's own snapshot, where the extension slice has no `value[x]` child, and never "
        "opens the extension's definition. ror-harness validates each extension against its definition."),
    "two-choice-types": (
        "`valueString` and `valueInteger` on one Task.input. FHIR R4 json.html (choice elements) and "
        "`value[x]` 0..1: only one type may be present. Medplum reports `Conflicting choice of type "
        "properties` as a warning only (its source says it should be an error, kept a warning for "
        "compatibility); ror-harness reports `choice-multiple` as an error."),
    "choice-type-not-allowed": (
        "The slice `Task.input:systemRequester` restricts `value[x]` to string; the mutation gives "
        "`valueInteger`. Medplum uses a slice's child definitions only to assign items to slices and count "
        "them, never to validate the items, so a type narrowed inside a slice is not enforced. ror-harness "
        "validates the item against the slice (`unknown-element` for valueInteger, `cardinality-min` for the "
        "slice's mandatory value)."),
    "code-outside-nos": (
        "Channel code `99` is not in JDV_J225 (required binding). FHIR R4 terminologies.html: with a required "
        "binding the code SHALL be from the value set. Medplum's synchronous validator checks no bindings; "
        "ror-harness checks them against the vendored NOS value sets."),
    "bad-reference-format": (
        "`Organization/ror harness ej`. FHIR R4 references.html: a literal reference is a relative "
        "`[type]/[id]` (id per the `id` type), an absolute URL or a `#` fragment; a space is none of these. "
        "Medplum does not check the format (it only splits it to read the target type); ror-harness reports "
        "`reference-format`."),
    "reference-wrong-target": (
        "`PractitionerRole.practitioner` points to an Organization; the element's `targetProfile` is "
        "ror-practitioner / Practitioner. FHIR R4 (ElementDefinition.type.targetProfile): the target must be "
        "of one of the listed profiles. Medplum skips the check when a target profile is not an hl7.org or "
        "medplum.com base URL (here a ROR canonical), and reports mismatches as warnings anyway; ror-harness "
        "checks the target's type."),
    "invariant-per-1": (
        "A Period with start after end (per-1). The invariant is declared on the Period datatype (FHIR R4 "
        "datatypes.html#Period) and applies to every Period. Medplum evaluates the constraints listed on each "
        "element of the schema and the root resource's own constraints, not those of the datatypes below it "
        "(checked: a reversed `Practitioner.qualification.period` on a core Practitioner passes too); "
        "ror-harness evaluates the datatype's invariants."),
    "invariant-per-1-profiled-period": (
        "The same per-1 rule on a Period whose children the extension's profile constrains "
        "(ror-available-time-effective-opening-closing-date). Medplum misses it for the reason above; "
        "ror-harness missed it too until this check found it (it walked the profile's inline children and "
        "skipped the Period definition's own invariants) and now evaluates the datatype's invariants there as well."),
}

VALID_CORPUS_NOTES: dict[str, str] = {
    "Incorrect number of values provided for slice 'expertiseType': expected 1..1, but found 0":
        "every PractitionerRole: ROR slices specialty by `url` (IG defect), see the PractitionerRole example.",
    "Incorrect number of values provided for slice 'careMode': expected 1..1, but found 0":
        "every HealthcareService: slice by required binding, which Medplum cannot match (Medplum false positive).",
    "Incorrect number of values provided for slice 'operationalActivity': expected 1..1, but found 0":
        "every HealthcareService: same cause as careMode.",
}

OPEN_FINDINGS: list[str] = [
    "Fixed after the first run of this check (each now has a test in tests/test_validation_checks.py): "
    "JSON null accepted as an absent element; datatype invariants (per-1) skipped when a profile expands "
    "the datatype's children; value discriminators on a path below a pattern (ROROrganization "
    "`identifier` by `type.coding.code`) reported as undiscriminable.",
    "Not findings, for the record: the IG's HealthcareService example (1234564) lacks the mandatory `careMode` "
    "characteristic (J19), an IG example defect both validators report (Medplum adds its `operationalActivity` "
    "false positive); the IG's Questionnaire example cannot be checked by either, its profile's base "
    "(`sdc-questionnaire-pop-exp`, package hl7.fhir.uv.sdc) not being bundled.",
]
