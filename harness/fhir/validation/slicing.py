"""Slicing: assign the items of a sliced element to slices, then check per-slice rules.

Discriminators value, pattern, type, profile and exists are supported. When a slice gives no
fixed/pattern value at the discriminator path (a defect of the profile, e.g. ROR 0.7.0 slices
`Location.alias`, a string, by `url`), items are matched by conformance to the slice instead and
an information issue says so: the slice's rules still apply, nothing passes silently.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from harness.fhir.packages import PackageError
from harness.fhir.validation import primitives
from harness.fhir.validation.messages import make_issue
from harness.fhir.validation.model import Discriminator, ElementNode, Slicing

if TYPE_CHECKING:
    from harness.fhir.validation.validator import Validator, _Run

_SEGMENT = re.compile(r"[^.(]+(?:\([^)]*\))?")
#: Discriminator paths that lead from a coded element to its code: there a required binding on
#: the slice itself tells the slices apart (ROR's `characteristic` and `specialty` slicings).
_CODED_PATHS = frozenset({"$this", "coding", "coding.system", "coding.code", "system", "code"})
_DEFAULT_EXTENSION_SLICING = Slicing((Discriminator("value", "url"),), "open", False)


def _segments(path: str) -> list[str]:
    return _SEGMENT.findall(path)


def values_at(value: object, path: str, full_urls: dict[str, dict]) -> list:
    """Evaluate the restricted FHIRPath of a discriminator on an instance item."""
    current = [value]
    for seg in _segments(path):
        nxt: list = []
        for v in current:
            if seg == "$this":
                nxt.append(v)
            elif seg.startswith("extension(") and isinstance(v, dict):
                url = seg[len("extension("):-1].strip("'\"")
                nxt += [e for e in v.get("extension") or () if isinstance(e, dict) and e.get("url") == url]
            elif seg == "resolve()" and isinstance(v, dict):
                target = full_urls.get(v.get("reference", ""))
                if target is not None:
                    nxt.append(target)
            elif seg.startswith("ofType(") or seg.startswith("as("):
                nxt.append(v)
            elif isinstance(v, dict):
                if seg in v:
                    child = v[seg]
                else:  # a choice element named without its type suffix (`value`)
                    child = next((v[k] for k in v if k.startswith(seg) and k[len(seg):][:1].isupper()), None)
                if child is None:
                    continue
                nxt += child if isinstance(child, list) else [child]
        current = nxt
    return current


class SliceMatcher:
    """Slicing logic, bound to a Validator for profile lookups and sub-validations."""

    def __init__(self, validator: "Validator") -> None:
        self.validator = validator
        self._rules: dict[tuple[str, str, str], tuple[str, object]] = {}

    # -- expected values -------------------------------------------------------------------
    def _node_at(self, node: ElementNode, path: str) -> ElementNode | None:
        for seg in _segments(path):
            if seg == "$this" or seg.startswith(("ofType(", "as(")):
                continue
            if seg.startswith("extension("):
                url = seg[len("extension("):-1].strip("'\"")
                ext = self._children(node).get("extension")
                node = next((s for s in (ext.slices if ext else ())
                             if url in (s.types[0].profiles if s.types else ()) or
                             getattr(s.children.get("url"), "fixed", None) == url), None)
            else:
                node = self._children(node).get(seg.removesuffix("[x]"))
            if node is None:
                return None
        return node

    def _children(self, node: ElementNode) -> dict[str, ElementNode]:
        if node.children:
            return node.children
        for t in node.types:
            for url in t.profiles:
                try:
                    return self.validator.compiled(url).children
                except PackageError:
                    continue
        return {}

    def rule(self, slice_node: ElementNode, disc: Discriminator) -> tuple[str, object]:
        """How a value/pattern discriminator tells this slice apart, computed once per slice:
        ("value", v) a fixed/pattern value at the path; ("one-of", [v]) values a fixed/pattern higher
        on the path gives; ("extension-value", v) the pattern of an extension's value; ("binding", vs) a required binding (the
        spec allows it, and ROR slices `specialty` and `characteristic` that way); ("exists", b)
        the path is required or forbidden in the slice; ("any", None) the path does not
        discriminate this slice; ("conformance", None) nothing usable (a profile defect)."""
        key = (slice_node.profile_url, slice_node.id, disc.path)
        if key not in self._rules:
            self._rules[key] = self._compute_rule(slice_node, disc)
        return self._rules[key]

    def _pattern_above(self, slice_node: ElementNode, path: str) -> list:
        """Values a fixed/pattern on an element *along* the path gives at its end: ROROrganization
        fixes `identifier:finess.type` as a whole and discriminates on `type.coding.code`."""
        segments = _segments(path)
        node: ElementNode | None = slice_node
        for depth, seg in enumerate(segments[:-1]):
            node = self._children(node).get(seg.removesuffix("[x]")) if node is not None else None
            if node is None or seg.startswith(("extension(", "$this", "ofType(", "as(", "resolve(")):
                return []
            fixed = node.fixed if node.fixed is not None else node.pattern
            if fixed is not None:
                return values_at(fixed, ".".join(segments[depth + 1:]), {})
        return []

    def _compute_rule(self, slice_node: ElementNode, disc: Discriminator) -> tuple[str, object]:
        target = self._node_at(slice_node, disc.path)
        if target is not None:
            if target.fixed is not None:
                return "value", target.fixed
            if target.pattern is not None:
                return "value", target.pattern
        above = self._pattern_above(slice_node, disc.path)
        if above:
            return "one-of", above
        if disc.path == "url" and slice_node.types and slice_node.types[0].profiles:
            return "value", slice_node.types[0].profiles[0]  # an extension slice: its profile's canonical
        if target is not None and target.max == 0:
            return "exists", False
        value_node = target.children.get("value") if target is not None else None
        if value_node is not None and (value_node.fixed is not None or value_node.pattern is not None):
            # `extension('url')` discriminators: the extension's fixed/pattern value tells the slices apart
            return "extension-value", value_node.fixed if value_node.fixed is not None else value_node.pattern
        # A required binding discriminates only where the path reaches the coded value itself.
        candidates = [target] + ([slice_node] if disc.path in _CODED_PATHS else [])
        for node in candidates:
            if node is not None and node.binding and node.binding[0] == "required":
                return "binding", node.binding[1]
        if target is not None:
            if target.min >= 1:
                return "exists", True
            if disc.path.startswith("extension("):
                return "any", None
        return "conformance", None

    # -- assignment ------------------------------------------------------------------------
    def _conforms(self, item: tuple, slice_node: ElementNode, run: "_Run") -> bool:
        from harness.fhir.validation.validator import _Run
        sub = _Run(root=run.root, top=run.top, full_urls=run.full_urls)
        self.validator._item(item, slice_node, sub)
        return not any(i.is_error for i in sub.issues)

    def _matches(self, item: tuple, slice_node: ElementNode, slicing: Slicing, sliced: ElementNode, run: "_Run") -> bool:
        value = item[0]
        for disc in slicing.discriminators:
            if disc.type in ("value", "pattern"):
                kind, expected = self.rule(slice_node, disc)
                if kind == "conformance":
                    run.add(make_issue("slicing-undiscriminable", "information", sliced.id,
                                       element=sliced.id, discriminator=disc.path, slice=slice_node.slice_name),
                            once_key=("slicing-undiscriminable", sliced.id, slice_node.slice_name))
                    if not self._conforms(item, slice_node, run):
                        return False
                elif kind == "binding":
                    type_code = item[2] or (slice_node.types[0].code if slice_node.types else "")
                    codes = primitives.codings(type_code, value) if isinstance(value, dict) else [(None, value)]
                    if not any(isinstance(c, str) and self.validator.terminology.check(expected, s, c).status == "member"
                               for s, c in codes):
                        return False
                elif kind == "one-of":
                    if not any(a in expected for a in values_at(value, disc.path, run.full_urls)):  # type: ignore[operator]
                        return False
                elif kind == "extension-value":
                    found = values_at(value, disc.path, run.full_urls)
                    if not any(primitives.matches_pattern(v, expected)
                               for ext in found if isinstance(ext, dict)
                               for k, v in ext.items() if k.startswith("value")):
                        return False
                elif kind == "exists":
                    if bool(values_at(value, disc.path, run.full_urls)) != expected:
                        return False
                elif kind == "value":
                    actual = values_at(value, disc.path, run.full_urls)
                    if not any(primitives.matches_pattern(a, expected) if isinstance(expected, (dict, list))
                               else a == expected for a in actual):
                        return False
            elif disc.type == "type":
                target = values_at(value, disc.path, run.full_urls) if disc.path != "$this" else [value]
                actual = item[2] if disc.path == "$this" and item[2] else (
                    target[0].get("resourceType") if target and isinstance(target[0], dict) else None)
                node = self._node_at(slice_node, disc.path) or slice_node
                if actual not in {t.code for t in node.types}:
                    return False
            elif disc.type == "profile":
                if not self._conforms(item, slice_node, run):
                    return False
            elif disc.type == "exists":
                node = self._node_at(slice_node, disc.path)
                present = bool(values_at(value, disc.path, run.full_urls))
                if node is not None and ((node.min >= 1 and not present) or (node.max == 0 and present)):
                    return False
        return True

    def assign(self, items: list[tuple], sliced: ElementNode, run: "_Run") -> list[ElementNode | None]:
        """For each item, the first slice it matches (None: unmatched)."""
        slicing = sliced.slicing or _DEFAULT_EXTENSION_SLICING
        return [next((s for s in sliced.slices if self._matches(item, s, slicing, sliced, run)), None)
                for item in items]

    def check_counts(self, items: list[tuple], assigned: list[ElementNode | None], sliced: ElementNode,
                     parent_path: str, run: "_Run") -> None:
        """Per-slice cardinality, closed slicing, ordered slices, openAtEnd."""
        slicing = sliced.slicing or _DEFAULT_EXTENSION_SLICING
        for s in sliced.slices:
            count = sum(1 for a in assigned if a is s)
            self.validator._cardinality(s, count, parent_path, f"{parent_path}.{sliced.name}", run)
        order = {s.id: i for i, s in enumerate(sliced.slices)}
        last = -1
        seen_unmatched = False
        for item, slice_node in zip(items, assigned):
            if slice_node is None:
                seen_unmatched = True
                if slicing.rules == "closed":
                    run.add(make_issue("slice-unmatched-closed", "error", item[3], element=sliced.id))
                continue
            if slicing.rules == "openAtEnd" and seen_unmatched:
                run.add(make_issue("slice-open-at-end", "error", item[3], element=sliced.id))
            if slicing.ordered:
                if order[slice_node.id] < last:
                    run.add(make_issue("slice-order", "error", item[3], element=sliced.id))
                last = max(last, order[slice_node.id])
