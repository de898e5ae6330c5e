"""Generate a StructureDefinition snapshot from its differential and its base's snapshot.

Why: the ROR IG 0.7.0 (and FR Core / Annuaire, its dependencies) ship differentials only, and the
validator needs every element spelled out (cardinality, types, bindings, slices...). The official
generator (the HL7 Java `ProfileUtilities`) cannot run here, so this module does the part of the FHIR
snapshot algorithm that carries validation meaning, and is checked against the official 0.1.1
snapshots (see docs/snapshot-generation.md).

How: the base snapshot is read into a tree (children, and slices hanging on their sliced element)
that is never modified; the result is a structural copy of it. Each differential element, addressed
by its `id` (`Location.identifier:idLocation.type.coding.code`), is located in that copy, expanding a
complex element into its datatype's (or type profile's) children, and creating slices, only when the
differential goes there. New slices start from the *base* definition of the sliced element (not from
what the differential made of it), as the official generator does. Element paths and ids are rebuilt
from the tree when the snapshot is written, so expanded and sliced content is always consistent.
"""
from __future__ import annotations

from collections.abc import Iterator

import orjson

from harness.fhir.packages import PackageError, PackageSet

CORE_SD = "http://hl7.org/fhir/StructureDefinition/"
#: The slicing the official generator gives an `extension` element sliced without one.
EXTENSION_SLICING = {"discriminator": [{"type": "value", "path": "url"}], "ordered": False, "rules": "open"}
#: Type slicing of a choice element: always closed (an open differential only leaves types unconstrained).
TYPE_SLICING = {"discriminator": [{"type": "type", "path": "$this"}], "ordered": False, "rules": "closed"}
#: Differential fields that are not simply copied over the base definition.
_MERGED_APART = frozenset({"id", "path", "base", "sliceName", "slicing", "alias", "constraint", "mapping"})
#: Type codes whose profile constrains the target, not the element itself: never a template.
_REFERENCE_TYPES = frozenset({"Reference", "canonical", "CodeableReference"})


class _Node:
    """One element of the tree: its definition, its children (None: not expanded), its slices.

    `el` is shared with the base tree until the node is first changed (`own`); `origin` is the
    node of the base tree this one copies, the template of any new slice of it.
    """

    __slots__ = ("name", "el", "owned", "children", "slices", "origin")

    def __init__(self, name: str, el: dict, origin: _Node | None = None) -> None:
        self.name = name
        self.el = el
        self.owned = False
        self.children: list[_Node] | None = None
        self.slices: list[_Node] = []
        self.origin = origin

    def own(self) -> dict:
        if not self.owned:
            self.el = dict(self.el)
            self.owned = True
        return self.el

    def clone(self, with_slices: bool = True) -> _Node:
        """A structural copy whose `origin` is this node (definitions shared until changed)."""
        copy = _Node(self.name, self.el, self)
        if self.children is not None:
            copy.children = [c.clone() for c in self.children]
        if with_slices:
            copy.slices = [s.clone() for s in self.slices]
        return copy


def _tail(path: str) -> str:
    return path.rpartition(".")[2]


def _tree(elements: list[dict], where: str) -> _Node:
    """Read a snapshot element list into a tree; `where` names the source in error messages."""
    root = _Node(_tail(elements[0]["path"]), elements[0])
    stack: list[tuple[str, _Node, _Node | None]] = [(elements[0]["path"], root, None)]  # path, node, slicer
    for el in elements[1:]:
        path, slice_name = el.get("path", ""), el.get("sliceName")
        parent_path = path.rpartition(".")[0]
        while stack and stack[-1][0] not in (parent_path, path if slice_name else None):
            stack.pop()
        if not stack:
            raise PackageError(f"{where}: snapshot element {el.get('id', path)} is out of order")
        top_path, top, top_slicer = stack[-1]
        node = _Node(_tail(path), el)
        if top_path == path:  # a slice: of the sliced element, or (re-slice) of one of its slices
            slicer = top_slicer or top
            stack.pop()
            _slice_host(slicer, slice_name, where).slices.append(node)
            stack.append((path, node, slicer))
        else:
            if top.children is None:
                top.children = []
            top.children.append(node)
            stack.append((path, node, None))
    return root


def _slice_host(slicer: _Node, slice_name: str, where: str) -> _Node:
    """The node whose `slices` hold `slice_name`: the slicer, or for `a/b` the slice `a`."""
    host = slicer
    for part in slice_name.split("/")[:-1]:
        prefix = part if host is slicer else f"{host.el['sliceName']}/{part}"
        found = next((s for s in host.slices if s.el.get("sliceName") == prefix), None)
        if found is None:
            raise PackageError(f"{where}: re-slice {slice_name} of a slice that does not exist")
        host = found
    return host


def _id_segments(el: dict) -> list[tuple[str, str | None]]:
    """`A.b:s.c` -> [(A, None), (b, s), (c, None)]; the id names the slices the path cannot."""
    ident = el.get("id") or el["path"]
    segments = [(name, slice_ or None) for name, _, slice_ in (s.partition(":") for s in ident.split("."))]
    if el.get("sliceName") and segments[-1][1] is None:
        segments[-1] = (segments[-1][0], el["sliceName"])
    return segments


class _Generator:
    """One snapshot generation: the result tree and the lookups it needs."""

    def __init__(self, sd: dict, packages: PackageSet) -> None:
        self.sd = sd
        self.packages = packages
        self.url = sd.get("url", sd.get("id", "?"))
        self.type_trees: dict[str, _Node] = {}
        self.base_tree = _Node("", {})  # the base snapshot, read by run(): content references point there

    def fail(self, message: str) -> PackageError:
        return PackageError(f"cannot generate the snapshot of {self.url}: {message}")

    def snapshot_of(self, url: str, why: str) -> list[dict]:
        try:
            elements = self.packages.structure_definition(url).get("snapshot", {}).get("element") or []
        except PackageError as exc:
            raise self.fail(f"{why} {url} is not available ({exc})") from exc
        if not elements:
            raise self.fail(f"{why} {url} has an empty snapshot")
        return elements

    def run(self) -> dict:
        base_url = self.sd.get("baseDefinition")
        if not base_url:
            raise self.fail("it has neither a snapshot nor a baseDefinition")
        self.base_tree = _tree(self.snapshot_of(base_url, "its base"), base_url)
        root = self.base_tree.clone()
        for d in self.sd.get("differential", {}).get("element", []):
            node = self.locate(root, d)
            self.merge(node, d)
        _fix_slicings(root)
        elements = list(_emit(root, "", ""))
        result = dict(self.sd)
        result["snapshot"] = {"element": orjson.loads(orjson.dumps(elements))}  # deep copy: never alias inputs
        return result

    # --- locating a differential element ---------------------------------------------------

    def locate(self, root: _Node, d: dict) -> _Node:
        segments = _id_segments(d)
        if segments[0][0] != root.name:
            raise self.fail(f"differential element {d.get('id')} is not under {root.name}")
        node, path = root, root.name
        for name, slice_name in segments[1:]:
            children = self.expand(node, path, d)
            child = next((c for c in children if c.name == name), None)
            if child is None:  # `valueString` for `value[x]`: a type slice named after the type
                child = _choice_of(children, name)
                if child is None:
                    raise self.fail(f"differential element {d.get('id')}: {path} has no element {name}")
                if slice_name is None:
                    slice_name = name
            path = f"{path}.{child.name}"
            node = self.slice_of(child, slice_name, path) if slice_name else child
        return node

    def slice_of(self, slicer: _Node, slice_name: str, path: str) -> _Node:
        """The slice `slice_name` of `slicer`, created from the base sliced element if new."""
        host = _slice_host(slicer, slice_name, f"{self.url} at {path}")
        found = next((s for s in host.slices if s.el.get("sliceName") == slice_name), None)
        if found is not None:
            return found
        template = host.origin if host.origin is not None else host
        node = template.clone(with_slices=False)
        el = node.own()
        el.pop("slicing", None)
        el["sliceName"] = slice_name
        if slicer.name.endswith("[x]"):
            el["type"] = self.slice_type(slicer, slice_name)
        host.slices.append(node)
        return node

    def slice_type(self, slicer: _Node, slice_name: str) -> list[dict]:
        """The type of the type slice `valueString`: the matching type of `value[x]`."""
        suffix = slice_name[len(slicer.name) - 3:]
        types = [t for t in slicer.el.get("type", []) if _capitalised(t.get("code", "")) == suffix]
        if types:
            return types
        lower = suffix[:1].lower() + suffix[1:]
        primitive = (self.packages.resolve(CORE_SD + lower, "StructureDefinition") or {}).get("kind")
        return [{"code": lower if primitive == "primitive-type" else suffix}]

    def expand(self, node: _Node, path: str, d: dict) -> list[_Node]:
        """The children of `node`, read from its type (or content reference) the first time."""
        if node.children is not None:
            return node.children
        el = node.el
        ref = el.get("contentReference")
        if ref:  # spelled out, the element no longer refers elsewhere: its constraints are here
            target = _find_by_id(self.base_tree, ref.partition("#")[2])
            if target is None or target.children is None:
                raise self.fail(f"{path}: content reference {ref} not found in the base")
            el = node.own()
            del el["contentReference"]
            el["type"] = target.el.get("type", [])
            node.children = [c.clone() for c in target.children]
            return node.children
        types = el.get("type") or []
        codes = {t.get("code") for t in types}
        if not codes:
            raise self.fail(f"differential element {d.get('id')} goes below {path}, which has no type")
        if len(codes) > 1:
            url = CORE_SD + "Element"
        else:
            first = types[0]
            profiles = first.get("profile") or []
            url = profiles[0] if profiles and first.get("code") not in _REFERENCE_TYPES else CORE_SD + first["code"]
        node.children = [c.clone() for c in (self.type_tree(url, path).children or [])]
        return node.children

    def type_tree(self, url: str, path: str) -> _Node:
        if url not in self.type_trees:
            self.type_trees[url] = _tree(self.snapshot_of(url, f"the type of {path},"), url)
        return self.type_trees[url]

    # --- merging a differential element ----------------------------------------------------

    def merge(self, node: _Node, d: dict) -> None:
        """Apply the differential element `d` on the node's current definition."""
        types = d.get("type") or []
        if (len(types) == 1 and types[0].get("profile") and types[0].get("code") not in _REFERENCE_TYPES
                and node.el.get("type") != types):  # a base that already says so keeps what it tightened
            self.start_from_profile(node, types[0])
        el = node.own()
        for key, value in d.items():
            kind = next((k for k in ("fixed", "pattern") if key.startswith(k)), None)
            if kind:  # one fixed[x] and one pattern[x] per element, whatever its type
                for previous in [k for k in el if k.startswith(kind)]:
                    del el[previous]
            if key not in _MERGED_APART:
                el[key] = value
        if "sliceName" in d:
            el["sliceName"] = d["sliceName"]
        if "slicing" in d:
            el["slicing"] = {**el.get("slicing", {}), **d["slicing"]}
        if d.get("alias"):
            el["alias"] = list(dict.fromkeys([*el.get("alias", []), *d["alias"]]))
        if d.get("constraint"):
            known = {(c.get("key"), c.get("expression")) for c in el.get("constraint", [])}
            el["constraint"] = [*el.get("constraint", []),
                                *(c for c in d["constraint"] if (c.get("key"), c.get("expression")) not in known)]

    def start_from_profile(self, node: _Node, type_ref: dict) -> None:
        """An element given a type profile takes that profile's root definition as its start.

        The base fills in what the profile root does not say. An extension keeps the cardinality
        of its definition's root (`0..1` for a single-valued extension), any other type keeps the
        base cardinality, as the HL7 generator does. A profile that cannot be read leaves the base
        as it is: the element still names it, and validating against it will report it missing.
        """
        try:
            root = self.packages.structure_definition(type_ref["profile"][0])["snapshot"]["element"][0]
        except (PackageError, KeyError, IndexError):
            return
        base = node.el
        el = {k: v for k, v in root.items() if k not in ("id", "path", "base", "sliceName", "slicing", "type")}
        if type_ref.get("code") != "Extension":
            el["min"], el["max"] = base.get("min"), base.get("max")
        for key, value in base.items():
            if key not in el and key != "slicing":
                el[key] = value
        keys = {c.get("key") for c in el.get("constraint", [])}
        el["constraint"] = [*el.get("constraint", []),
                            *(c for c in base.get("constraint", []) if c.get("key") not in keys)]
        node.el, node.owned = el, True


def _capitalised(code: str) -> str:
    return code[:1].upper() + code[1:]


def _choice_of(children: list[_Node], name: str) -> _Node | None:
    """The choice element `x[x]` that `name` (`xString`) renames, if any."""
    for child in children:
        stem = child.name[:-3]
        if child.name.endswith("[x]") and name.startswith(stem) and name[len(stem):][:1].isupper():
            return child
    return None


def _find_by_id(root: _Node, ident: str) -> _Node | None:
    """Find the node of `ident` (`Questionnaire.item`) in the base tree, slices excluded."""
    names = ident.split(".")
    if names[0] != root.name:
        return None
    node = root
    for name in names[1:]:
        node = next((c for c in node.children or () if c.name == name), None)
        if node is None:
            return None
    return node


def _fix_slicings(node: _Node) -> None:
    """Give each sliced element the slicing the official generator implies.

    A choice element with type slices is type-sliced and closed, so only its sliced types remain
    allowed; an `extension` element sliced by the differential without a `slicing` (0.7.0 does
    this) gets the by-url slicing. Any other element sliced without `slicing` keeps none, as the
    source says.
    """
    if node.slices:
        if node.name.endswith("[x]"):
            el = node.own()
            el["slicing"] = dict(TYPE_SLICING)
            sliced = {s.el.get("sliceName", "")[len(node.name) - 3:] for s in node.slices}
            kept = [t for t in el.get("type", []) if _capitalised(t.get("code", "")) in sliced]
            if kept:
                el["type"] = kept
        elif "slicing" not in node.el and node.name in ("extension", "modifierExtension"):
            node.own()["slicing"] = dict(EXTENSION_SLICING)
    for child in node.children or ():
        _fix_slicings(child)
    for slice_ in node.slices:
        _fix_slicings(slice_)


def _emit(node: _Node, parent_path: str, parent_id: str, slicer_id: str | None = None) -> Iterator[dict]:
    """Write the tree in snapshot order: element, its children, then its slices."""
    path = f"{parent_path}.{node.name}" if parent_path else node.name
    slice_name = node.el.get("sliceName")
    own_id = f"{slicer_id}:{slice_name}" if slicer_id is not None and slice_name else (
        f"{parent_id}.{node.name}" if parent_id else node.name)
    if node.el.get("id") != own_id or node.el.get("path") != path:
        node.own().update(id=own_id, path=path)
    yield node.el
    for child in node.children or ():
        yield from _emit(child, path, own_id)
    unsliced_id = slicer_id if slicer_id is not None and slice_name else own_id
    for slice_ in node.slices:
        yield from _emit(slice_, parent_path, parent_id, unsliced_id)


def generate_snapshot(sd: dict, packages: PackageSet) -> dict:
    """A copy of `sd` with `snapshot.element` generated from its differential and its base.

    Raises PackageError when the base, a type to expand or a differential path cannot be found:
    a profile that cannot be expanded must fail loudly, never validate as something else.
    """
    return _Generator(sd, packages).run()
