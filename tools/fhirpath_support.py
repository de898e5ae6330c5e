"""Survey every invariant the harness validates against, through harness.fhir.fhirpath.

Why: the validator must say "not checked" for an invariant it cannot run, so we need the exact
list of those, reviewed, and proof that the others run on real instances. This script:
1. collects every `constraint` of the StructureDefinitions ror-harness validates against
   (core datatypes and the core resources below, FR Core and Annuaire differentials, ROR 0.1.1
   snapshots, ROR 0.7.0 differentials), one row per (key, expression);
2. compiles each expression;
3. evaluates it wherever it applies in the IG examples (ROR 0.7.0 and FR Core 1.1.0), finding
   focus nodes with a typed walk of each example driven by fhirpathpy's R4 model;
4. writes docs/fhirpath-support.md (run: .venv/bin/python tools/fhirpath_support.py).
tests/test_fhirpath.py runs the same survey and compares it with a reviewed list.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fhirpathpy.models import models

from harness.fhir.fhirpath import R4_CORRECTIONS, FhirPath, NotEvaluable, correction_for
from harness.fhir.packages import PackageSet

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "fhirpath-support.md"
R4 = models["r4"]

#: Core resources ror-harness validates (their invariants include DomainResource's dom-*).
CORE_RESOURCES = ("Organization", "HealthcareService", "Location", "Practitioner", "PractitionerRole",
                  "Task", "Measure", "MeasureReport", "Questionnaire", "Bundle", "OperationOutcome",
                  "Parameters", "CapabilityStatement")


@dataclass(frozen=True)
class Context:
    """Where a constraint applies: a resource type, a datatype, or an extension url; and a path."""

    kind: str  # resource | datatype | extension
    target: str  # resource type, datatype name, or extension url
    path: str  # ElementDefinition.path


@dataclass
class Constraint:
    key: str
    expression: str
    severity: str
    sources: set[str] = field(default_factory=set)  # package labels
    contexts: set[Context] = field(default_factory=set)


@dataclass
class Focus:
    """One node of an example, with what the matching and the evaluation need."""

    element_path: str  # from the resource root, e.g. Location.address.line
    owner_path: str  # from the nearest type, e.g. Address.line, Extension.value[x]
    type_path: str  # fhirpathpy node type: type name or backbone path
    node: object
    extras: Mapping | None  # the JSON `_name` object of a primitive
    resource: Mapping
    root: Mapping
    ext_url: str | None  # url of this extension, or of the extension holding this node
    label: str  # example and element, for the report


CORE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/Extension"


def _contexts(sd: dict, path: str) -> list[Context]:
    """A profile of an extension also applies to instances carrying its base's url (the ROR
    ror-launchcontext profiles the SDC launchContext, whose url the instances keep)."""
    if sd.get("type") == "Extension" and sd.get("derivation") == "constraint":
        urls = {sd["url"], sd.get("baseDefinition", CORE_EXTENSION)} - {CORE_EXTENSION}
        return [Context("extension", url, path) for url in sorted(urls)]
    return [c for c in [_context(sd, path)] if c]


def _context(sd: dict, path: str) -> Context | None:
    if sd.get("kind") == "resource":
        return Context("resource", sd["type"], path)
    if sd.get("kind") in ("complex-type", "primitive-type"):
        return Context("datatype", sd["type"], path)
    return None


def _add(found: dict, sd: dict, part: str, label: str) -> None:
    for element in sd.get(part, {}).get("element", ()):
        for c in element.get("constraint", ()):
            if not c.get("expression"):
                continue
            row = found.setdefault((c["key"], c["expression"]),
                                   Constraint(c["key"], c["expression"], c.get("severity", "error")))
            row.sources.add(label)
            row.contexts.update(_contexts(sd, element["path"]))


def collect_constraints(ror: PackageSet, ror_011: PackageSet) -> list[Constraint]:
    """Every constraint, merged by (key, expression), in first-seen order."""
    found: dict[tuple[str, str], Constraint] = {}
    by_label = {p.name: p for p in ror.packages}
    core = by_label["hl7.fhir.r4.core"]
    for entry in core.index:
        if entry.get("resourceType") != "StructureDefinition":
            continue
        datatype = entry.get("kind") in ("primitive-type", "complex-type")
        if (datatype or entry.get("type") in CORE_RESOURCES) and entry.get("derivation") == "specialization":
            _add(found, core.load(entry["filename"]), "snapshot", core.label)
    for name in ("hl7.fhir.fr.core", "ans.annuaire.fhir.r4"):
        for sd in by_label[name].resources():
            if sd["resourceType"] == "StructureDefinition":
                _add(found, sd, "snapshot" if sd.get("snapshot") else "differential", by_label[name].label)
    for sd in ror_011.root.resources():
        if sd["resourceType"] == "StructureDefinition":
            _add(found, sd, "snapshot", ror_011.root.label)
    for sd in ror.root.resources():
        if sd["resourceType"] == "StructureDefinition":
            _add(found, sd, "differential", ror.root.label)
    return list(found.values())


# --- a typed walk of an instance -------------------------------------------------------------


def _choice_bases() -> dict[str, list[tuple[str, set[str]]]]:
    bases: dict[str, list[tuple[str, set[str]]]] = {}
    for path, types in R4["choiceTypePaths"].items():
        owner, _, base = path.rpartition(".")
        bases.setdefault(owner, []).append((base, set(types)))
    return bases


CHOICES = _choice_bases()


def _child(type_path: str, name: str, primitive_parent: bool) -> tuple[str, str] | None:
    """(element name as in ElementDefinition.path, fhirpathpy type) of a JSON property."""
    if primitive_parent:
        return {"extension": ("extension", "Extension"), "id": ("id", "System.String")}.get(name)
    path = R4["pathsDefinedElsewhere"].get(f"{type_path}.{name}", f"{type_path}.{name}")
    for base, types in CHOICES.get(type_path, ()):
        if name.startswith(base) and name[len(base):] in types:
            return f"{base}[x]", R4["path2Type"].get(path, name[len(base):])
    if path in R4["path2Type"]:
        return name, R4["path2Type"][path]
    if any(p.startswith(path + ".") for p in R4["path2Type"]):
        return name, path  # backbone element
    return None  # not in the R4 model: the structural validator reports it


def walk(resource: Mapping, root: Mapping | None = None, label: str = "") -> Iterator[Focus]:
    """Every node of a resource (contained and Bundle entries included) with its typing."""
    root = root if root is not None else resource
    rtype = resource["resourceType"]
    label = label or f"{rtype}/{resource.get('id', '?')}"
    yield Focus(rtype, rtype, rtype, resource, None, resource, root, None, label)
    yield from _walk_object(resource, rtype, rtype, resource, root, None, label)


def _walk_object(obj: Mapping, type_path: str, element_path: str, resource: Mapping, root: Mapping,
                 ext_url: str | None, label: str) -> Iterator[Focus]:
    primitive_parent = type_path in {t for t in R4["type2Parent"] if t[0].islower()}
    names = dict.fromkeys(k.removeprefix("_") for k in obj if k != "resourceType")
    for name in names:
        child = _child(type_path, name, primitive_parent)
        if child is None:
            continue
        element, child_type = child
        values, extras = obj.get(name), obj.get("_" + name)
        many = isinstance(values, list) or isinstance(extras, list)
        values = values if isinstance(values, list) else [values]
        extras = extras if isinstance(extras, list) else [extras]
        for i in range(max(len(values), len(extras))):
            value = values[i] if i < len(values) else None
            extra = extras[i] if i < len(extras) else None
            node = value if value is not None else extra
            if node is None:
                continue
            where = f"{element_path}.{element}" + (f"[{i}]" if many else "")
            if child_type == "Resource":
                yield from walk(node, node if name == "resource" else root, f"{label} {where}")
                continue
            url = node.get("url") if child_type == "Extension" and isinstance(node, Mapping) else ext_url
            yield Focus(f"{element_path}.{element}", f"{type_path}.{element}", child_type, node,
                        extra if value is not None else None, resource, root, url, f"{label} {where}")
            if isinstance(node, Mapping):
                yield from _walk_object(node, child_type, f"{element_path}.{element}", resource, root,
                                        url, label)


def applies(ctx: Context, focus: Focus) -> bool:
    """Whether a constraint declared at this context is checked on this node."""
    if ctx.kind == "resource":
        return focus.resource["resourceType"] == ctx.target and ctx.path in (focus.element_path, focus.type_path)
    if ctx.kind == "datatype":
        return ctx.path in (focus.type_path, focus.owner_path)
    if ctx.path == "Extension":
        return focus.type_path == "Extension" and focus.ext_url == ctx.target
    return focus.owner_path == ctx.path and focus.ext_url == ctx.target


# --- the survey ------------------------------------------------------------------------------


@dataclass
class Row:
    constraint: Constraint
    compile_error: str | None = None
    passed: int = 0
    failed: list[str] = field(default_factory=list)  # labels of failing nodes
    not_evaluable: dict[str, list[str]] = field(default_factory=dict)  # reason -> labels


def examples(ror: PackageSet) -> list[dict]:
    fr_core = next(p for p in ror.packages if p.name == "hl7.fhir.fr.core")
    return [*ror.root.examples(), *fr_core.examples()]


def survey(engine: FhirPath | None = None) -> list[Row]:
    ror, ror_011 = PackageSet("ans.fhir.fr.ror#0.7.0"), PackageSet("ans.fhir.fr.ror#0.1.1")
    engine = engine or FhirPath()
    nodes = [f for example in examples(ror) for f in walk(example)]
    rows = []
    for c in collect_constraints(ror, ror_011):
        row = Row(c)
        rows.append(row)
        try:
            engine.compile(c.expression)
        except NotEvaluable as exc:
            row.compile_error = exc.reason
            continue
        for focus in nodes:
            if not any(applies(ctx, focus) for ctx in c.contexts):
                continue
            resource_focus = focus.node is focus.resource
            try:
                ok = engine.check_invariant(c.expression, focus.node,
                                            type=None if resource_focus else focus.type_path,
                                            resource=focus.resource, root=focus.root,
                                            primitive_extras=focus.extras)
            except NotEvaluable as exc:
                row.not_evaluable.setdefault(exc.reason, []).append(focus.label)
                continue
            if ok:
                row.passed += 1
            else:
                row.failed.append(focus.label)
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(expression: str) -> str:
    """A Markdown code span that survives the backticks of `div`-style identifiers."""
    return f"`` {_cell(expression)} ``" if "`" in expression else f"`{_cell(expression)}`"


def render(rows: list[Row]) -> str:
    total = len(rows)
    not_compiled = [r for r in rows if r.compile_error]
    unused = [r for r in rows if not r.compile_error and not (r.passed or r.failed or r.not_evaluable)]
    lines = [
        "# FHIRPath support: every invariant of the bundled packages",
        "",
        "Generated by `tools/fhirpath_support.py` (do not edit); checked by `tests/test_fhirpath.py`.",
        "Engine: `harness.fhir.fhirpath` over fhirpathpy 2.2.4. Sources: core datatypes and the core",
        f"resources {', '.join(CORE_RESOURCES)} (hl7.fhir.r4.core#4.0.1, snapshots); FR Core 1.1.0 and",
        "Annuaire 0.2.0 (differentials); ROR 0.1.1 (snapshots); ROR 0.7.0 (differentials).",
        "Instances: the ROR 0.7.0 examples and the FR Core 1.1.0 examples, walked node by node; a",
        "constraint is evaluated on every node its element path (or type) designates.",
        "Cost per evaluation, compiled versus parsed each time: `benchmarks/fhirpath_cost.py`.",
        "",
        f"- distinct (key, expression): {total}; compiled: {total - len(not_compiled)}; "
        f"not evaluable at compile time: {len(not_compiled)}",
        f"- evaluations: {sum(r.passed + len(r.failed) for r in rows)} "
        f"({sum(r.passed for r in rows)} true, {sum(len(r.failed) for r in rows)} false), "
        f"not evaluable on an instance: {sum(len(v) for r in rows for v in r.not_evaluable.values())}",
        f"- compiled but never reached by an example: {len(unused)}",
        "",
        "| key | severity | expression | declared in | compiles | true | false | not evaluable |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        c = r.constraint
        ne = "; ".join(f"{len(v)}× {reason}" for reason, v in r.not_evaluable.items())
        compiles = "no: " + _cell(r.compile_error) if r.compile_error else "yes"
        if correction_for(c.expression):
            compiles += ", corrected (below)"
        lines.append(f"| {c.key} | {c.severity} | {_code(c.expression)} | {', '.join(sorted(c.sources))} "
                     f"| {compiles} | {r.passed} | {len(r.failed)} | {_cell(ne)} |")
    lines += ["", "## Published R4 invariants evaluated in a corrected form", ""]
    lines += [f"- {_code(published)} → {_code(fix.expression)}: {fix.reason}"
              for published, fix in R4_CORRECTIONS.items()]
    lines += ["", "## False results on the examples", ""]
    for r in rows:
        if r.failed:
            shown = ", ".join(sorted(set(r.failed))[:8])
            lines.append(f"- {r.constraint.key} ({r.constraint.severity}): {len(r.failed)} node(s): {shown}")
    return "\n".join(lines) + "\n"


def main() -> None:
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(render(survey()), encoding="utf-8")
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
