"""Profiles compiled once into element trees the validator walks.

Why compile: a snapshot is a flat list of ElementDefinitions keyed by dotted ids; walking an
instance needs, at each object, "which JSON keys may appear and what do they mean". Building that
tree once per profile (and per datatype) is what makes validating thousands of resources cheap.
"""
from __future__ import annotations

from dataclasses import dataclass, field

PRIMITIVE_JSON: dict[str, tuple[type, ...]] = {
    "boolean": (bool,), "integer": (int,), "positiveInt": (int,), "unsignedInt": (int,),
    "decimal": (int, float),
}
FHIRPATH_STRING = "http://hl7.org/fhirpath/System.String"
BEST_PRACTICE = "http://hl7.org/fhir/StructureDefinition/elementdefinition-bestpractice"
FHIR_TYPE = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"


def _type_code(t: dict) -> str:
    """The FHIR type of a type entry: R4 snapshots type `Resource.id` and `Extension.url` as
    `System.String` and name the FHIR type (id, uri) in the fhir-type extension."""
    for ext in t.get("extension", ()):
        if ext.get("url") == FHIR_TYPE and ext.get("valueUrl"):
            return ext["valueUrl"]
    return t["code"]


@dataclass(frozen=True)
class TypeRef:
    code: str
    profiles: tuple[str, ...] = ()
    target_profiles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Constraint:
    key: str
    severity: str
    human: str
    expression: str | None
    source: str | None


@dataclass(frozen=True)
class Discriminator:
    type: str  # value | pattern | type | profile | exists
    path: str


@dataclass
class Slicing:
    discriminators: tuple[Discriminator, ...]
    rules: str  # closed | open | openAtEnd
    ordered: bool


@dataclass
class ElementNode:
    """One ElementDefinition of a snapshot, linked to its children and slices."""

    id: str
    path: str
    name: str  # the JSON name, `[x]` stripped for choice elements
    min: int
    max: int | None  # None = unbounded
    repeats: bool  # the base element repeats, so JSON carries an array
    types: tuple[TypeRef, ...]
    choice: bool
    fixed: object = None
    pattern: object = None
    binding: tuple[str, str] | None = None  # (strength, value set canonical)
    constraints: tuple[Constraint, ...] = ()
    max_length: int | None = None
    content_reference: str | None = None
    slice_name: str | None = None
    slicing: Slicing | None = None
    slices: list["ElementNode"] = field(default_factory=list)
    children: dict[str, "ElementNode"] = field(default_factory=dict)
    profile_url: str = ""  # the StructureDefinition this element comes from

    @property
    def label(self) -> str:
        return self.id

    def type_for_json_key(self, key: str) -> str | None:
        """For a choice element, the type code a JSON key such as `valueCodeableConcept` names."""
        suffix = key[len(self.name):]
        for t in self.types:
            if t.code[:1].upper() + t.code[1:] == suffix:
                return t.code
        return None


def _max(value: str | None) -> int | None:
    return None if value in (None, "*") else int(value)


def _fixed_or_pattern(el: dict, prefix: str) -> object:
    for key, value in el.items():
        if key.startswith(prefix) and key != prefix:
            return value
    return None


def _node(el: dict, profile_url: str) -> ElementNode:
    path = el["path"]
    last = path.rsplit(".", 1)[-1]
    choice = last.endswith("[x]")
    types = tuple(
        TypeRef(_type_code(t), tuple(t.get("profile", ())), tuple(t.get("targetProfile", ())))
        for t in el.get("type", ())
    )
    if el.get("base", {}).get("path") == "Resource.id":
        # R4 types Resource.id as string, yet the spec defines it as an `id` (as the HL7 validator checks)
        types = (TypeRef("id"),)
    base_max = el.get("base", {}).get("max", el.get("max", "1"))
    binding = el.get("binding")
    constraints = tuple(
        Constraint(
            c["key"],
            "information" if any(x.get("url") == BEST_PRACTICE and x.get("valueBoolean") for x in c.get("extension", ()))
            else c.get("severity", "error"),
            c.get("human", ""), c.get("expression"), c.get("source"),
        )
        for c in el.get("constraint", ())
    )
    slicing = el.get("slicing")
    return ElementNode(
        id=el.get("id", path), path=path, name=last[:-3] if choice else last,
        min=int(el.get("min", 0)), max=_max(el.get("max")),
        repeats=base_max != "1" and base_max != "0",
        types=types, choice=choice,
        fixed=_fixed_or_pattern(el, "fixed"), pattern=_fixed_or_pattern(el, "pattern"),
        binding=(binding.get("strength", "example"), binding["valueSet"]) if binding and binding.get("valueSet") else None,
        constraints=constraints, max_length=el.get("maxLength"),
        content_reference=el.get("contentReference"), slice_name=el.get("sliceName"),
        slicing=Slicing(
            tuple(Discriminator(d["type"], d["path"]) for d in slicing.get("discriminator", ())),
            slicing.get("rules", "open"), bool(slicing.get("ordered", False)),
        ) if slicing else None,
        profile_url=profile_url,
    )


def compile_snapshot(sd: dict) -> ElementNode:
    """Turn a snapshot into a tree: children by JSON name, slices under their sliced element."""
    elements = sd["snapshot"]["element"]
    url = sd.get("url", "")
    by_id: dict[str, ElementNode] = {}
    root = _node(elements[0], url)
    by_id[root.id] = root
    for el in elements[1:]:
        node = _node(el, url)
        by_id[node.id] = node
        parent_id, _, last = node.id.rpartition(".")
        name, sep, slice_name = last.partition(":")
        if sep:
            # `a.b:s` is a slice of `a.b`; `a.b:s/t` a re-slice of `a.b:s`
            base_slice, _, _ = slice_name.rpartition("/")
            sliced_id = f"{parent_id}.{name}" + (f":{base_slice}" if base_slice else "")
            sliced = by_id.get(sliced_id)
            if sliced is not None:
                sliced.slices.append(node)
                continue
        parent = by_id.get(parent_id)
        if parent is None:  # an orphan id (defective snapshot): attach by path
            parent = by_id.get(node.path.rpartition(".")[0])
        if parent is not None and node.name not in parent.children:
            parent.children[node.name] = node
    return root


def find_by_id(root: ElementNode, element_id: str) -> ElementNode | None:
    """Look an element up by id in a compiled tree (contentReference targets)."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.id == element_id:
            return node
        stack.extend(node.children.values())
        stack.extend(node.slices)
    return None
