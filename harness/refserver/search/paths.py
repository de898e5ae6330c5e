"""Native extraction for the FHIRPath shapes that SearchParameter expressions use.

Why not fhirpathpy for everything: indexing evaluates ~40 expressions on each of 100,000+
resources at load; fhirpathpy costs about a millisecond per evaluation, which alone would take
over an hour. SearchParameter expressions are nearly all of a few shapes (dotted paths,
`extension.where(url='...')`, `.extension('...')`, `.value.ofType(X)` / `.value.as(X)`,
`where(a='b')`, `where(resolve() is T)`, `|` unions, `(x as T)`), so they are compiled here into
plain Python walks over the JSON, typed with the core definitions (FhirTypes). Anything else
raises Unsupported at compile time and the caller falls back to fhirpathpy; a test checks that
both give the same index values.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from harness.refserver.search.fhirtypes import ElementInfo, FhirTypes

PRIMITIVES = frozenset({
    "boolean", "integer", "string", "decimal", "uri", "url", "canonical", "base64Binary", "instant",
    "date", "dateTime", "time", "code", "oid", "id", "markdown", "unsignedInt", "positiveInt", "uuid",
})


class Unsupported(Exception):
    """The expression uses FHIRPath this module does not compile: use fhirpathpy instead."""


@dataclass(frozen=True, slots=True)
class Item:
    """One value on the way: the JSON (object or primitive), its FHIR type when known, and for a
    `code` element the value set it is bound to (its implicit code system)."""

    value: object
    type: str | None
    binding: str | None = None


#: extract(resource, memo): `memo` (one dict per resource, shared by all its parameters) keeps
#: the values of common prefixes such as `Location.extension.where(url=...capacity)`.
Extractor = Callable[[dict, dict | None], list[Item]]

# --- tokenizer and parser -------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<name>[A-Za-z_][A-Za-z0-9_]*|`[^`]+`)|(?P<op>[().|=,]))")


def _tokens(text: str) -> list[tuple[str, str]]:
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise Unsupported(f"cannot read {text[pos:pos + 20]!r}")
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "str":
            value = value[1:-1].replace("\\'", "'")
        elif kind == "name":
            value = value.strip("`")
        out.append((kind, value))
        pos = match.end()
    return out


@dataclass
class _Step:
    kind: str  # "member" | "where" | "extension" | "oftype"
    arg: object = None


@dataclass
class _Term:
    root: str  # first identifier (a type name) or "" for a parenthesised union
    steps: list[_Step]
    inner: list[_Term] | None = None  # for "(union).steps" and "(path as T)"


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def take(self, value: str | None = None, kind: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value) or (kind is not None and tok[0] != kind):
            raise Unsupported(f"expected {value or kind} at token {self.i}")
        self.i += 1
        return tok[1]

    def union(self) -> list[_Term]:
        terms = [self.term()]
        while self.peek() == ("op", "|"):
            self.take("|")
            terms.append(self.term())
        return terms

    def term(self) -> _Term:
        if self.peek() == ("op", "("):
            self.take("(")
            inner = self.union()
            if self.peek() == ("name", "as"):  # (X.y as T): the infix type cast
                self.take("as")
                type_name = self.take(kind="name")
                inner = [_Term("", [_Step("oftype", type_name)], inner)]
            self.take(")")
            term = _Term("", [], inner)
        else:
            term = _Term(self.take(kind="name"), [])
        while self.peek() == ("op", "."):
            self.take(".")
            term.steps.append(self.step())
        return term

    def step(self) -> _Step:
        name = self.take(kind="name")
        if self.peek() != ("op", "("):
            return _Step("member", name)
        self.take("(")
        if name == "where":
            step = _Step("where", self.condition())
        elif name == "extension":
            step = _Step("extension", self.take(kind="str"))
        elif name in ("ofType", "as"):
            step = _Step("oftype", self.take(kind="name"))
        else:
            raise Unsupported(f"function {name}()")
        self.take(")")
        return step

    def condition(self) -> list[tuple]:
        """`a.b = 'x' and c = 'y'` or `resolve() is T`: a conjunction of simple tests."""
        tests = []
        while True:
            if self.peek() == ("name", "resolve"):
                self.take("resolve"), self.take("("), self.take(")")
                self.take("is")
                tests.append(("is", self.take(kind="name")))
            else:
                path = [self.take(kind="name")]
                while self.peek() == ("op", "."):
                    self.take(".")
                    path.append(self.take(kind="name"))
                self.take("=")
                tests.append(("eq", path, self.take(kind="str")))
            if self.peek() == ("name", "and"):
                self.take("and")
                continue
            return tests


def parse(expression: str) -> list[_Term]:
    """Parse the supported subset (raise Unsupported for anything else)."""
    parser = _Parser(expression)
    terms = parser.union()
    if parser.peek() is not None:
        raise Unsupported(f"unexpected {parser.peek()[1]!r}")
    return terms


# --- evaluation ----------------------------------------------------------------------------


_EXTENSION = ElementInfo(("Extension",))


def _system_type(info: ElementInfo) -> ElementInfo:
    """`Resource.id` and friends are typed `http://hl7.org/fhirpath/System.String`: a string."""
    if len(info.types) == 1 and info.types[0].startswith("http://hl7.org/fhirpath/System."):
        return ElementInfo(("string",), info.binding)
    return info


def _equals(node: object, name: str, literal: str) -> bool:
    """`where(name = 'literal')` on one JSON object (FHIRPath `=`: exactly one equal value)."""
    if not isinstance(node, dict):
        return False
    value = node.get(name)
    if isinstance(value, list):
        if len(value) != 1:
            return False
        value = value[0]
    return isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value) == literal


def _referenced_type(reference: object) -> str | None:
    """`resolve() is T` without resolving: the type named by Reference.type or its URL."""
    if not isinstance(reference, dict):
        return None
    parts = str(reference.get("reference", "")).split("/")
    return reference.get("type") or (parts[-2] if len(parts) >= 2 else None)


def _choice_type(suffix: str) -> str:
    lowered = suffix[0].lower() + suffix[1:]
    return lowered if lowered in PRIMITIVES else suffix


class Compiler:
    """Compiles expressions for one resource type into extractors."""

    def __init__(self, types: FhirTypes) -> None:
        self.types = types
        self._infos: dict[tuple[str | None, str | None, str], ElementInfo | None] = {}

    def compile(self, expression: str, resource_type: str) -> Extractor:
        """An extractor of the expression's terms that apply to `resource_type`.

        Terms rooted in another type (multi-base core parameters such as
        `Patient.address | Practitioner.address`) are dropped.
        """
        terms = [t for t in parse(expression) if self._applies(t, resource_type)]
        if not terms:
            raise Unsupported(f"no term of {expression!r} applies to {resource_type}")
        runners = [self._term(t, resource_type) for t in terms]

        def extract(resource: dict, memo: dict | None = None) -> list[Item]:
            out: list[Item] = []
            for run in runners:
                out.extend(run([Item(resource, resource_type)], memo))
            return out

        return extract

    def _applies(self, term: _Term, resource_type: str) -> bool:
        if term.inner is not None:
            return any(self._applies(t, resource_type) for t in term.inner)
        return term.root in (resource_type, "Resource", "DomainResource")

    def _term(self, term: _Term, resource_type: str) -> Callable[[list[Item], dict | None], list[Item]]:
        steps = [self._step(s) for s in term.steps]
        if term.inner is not None:
            inner = [self._term(t, resource_type) for t in term.inner if self._applies(t, resource_type)]

            def run_inner(items: list[Item], memo: dict | None) -> list[Item]:
                items = [x for run in inner for x in run(items, None)]
                for step in steps:
                    items = step(items) if items else items
                return items

            return run_inner
        # prefix keys: the same walk written in two parameters is computed once per resource
        keys = [(resource_type, *((s.kind, repr(s.arg)) for s in term.steps[:i + 1])) for i in range(len(steps))]

        def run(items: list[Item], memo: dict | None) -> list[Item]:
            start = 0
            if memo is not None:
                for i in range(len(keys) - 1, -1, -1):
                    found = memo.get(keys[i])
                    if found is not None:
                        items, start = found, i + 1
                        break
            for i in range(start, len(steps)):
                if not items:
                    return items
                items = steps[i](items)
                if memo is not None:
                    memo[keys[i]] = items
            return items

        return run

    def _step(self, step: _Step) -> Callable[[list[Item]], list[Item]]:
        if step.kind == "member":
            name = step.arg
            return lambda items: self.member(items, name)
        if step.kind == "extension":
            url = step.arg
            return lambda items: [x for x in self.member(items, "extension")
                                  if isinstance(x.value, dict) and x.value.get("url") == url]
        if step.kind == "oftype":
            wanted = step.arg.removeprefix("FHIR.")
            return lambda items: [x for x in items if x.type == wanted]
        tests = step.arg
        if len(tests) == 1 and tests[0][0] == "eq" and len(tests[0][1]) == 1:
            name, literal = tests[0][1][0], tests[0][2]
            return lambda items: [x for x in items if _equals(x.value, name, literal)]
        return lambda items: [x for x in items if self._holds(x, tests)]

    def member(self, items: Iterable[Item], name: str) -> list[Item]:
        """`.name` on each item: JSON children (lists flattened), typed; choice keys expanded."""
        out: list[Item] = []
        for item in items:
            node = item.value
            if not isinstance(node, dict):
                continue
            info = self._info(item, node, name)
            if name in node:
                child_type = info.types[0] if info and len(info.types) == 1 else None
                binding = info.binding if info else None
                value = node[name]
                for v in (value if isinstance(value, list) else [value]):
                    if v is not None:
                        out.append(Item(v, child_type, binding))
                continue
            if info is not None and len(info.types) == 1:
                continue  # not a choice element, and absent
            for key, value in node.items():  # choice element: valueCodeableConcept, ...
                if key.startswith(name) and len(key) > len(name) and key[len(name)].isupper():
                    for v in (value if isinstance(value, list) else [value]):
                        out.append(Item(v, _choice_type(key[len(name):])))
        return out

    def _info(self, item: Item, node: dict, name: str) -> ElementInfo | None:
        key = (item.type, node.get("resourceType"), name)
        try:
            return self._infos[key]
        except KeyError:
            info = self._infos[key] = self._lookup(item, node, name)
            return info

    def _lookup(self, item: Item, node: dict, name: str) -> ElementInfo | None:
        if name in ("extension", "modifierExtension"):
            return _EXTENSION
        parent = item.type
        if parent is None:
            return None
        if parent in ("Resource", "DomainResource") or parent == node.get("resourceType"):
            for owner in (node.get("resourceType"), "DomainResource", "Resource"):
                info = self.types.child(owner, name) if owner else None
                if info is not None:
                    return _system_type(info)
            return None
        info = self.types.child(parent, name)
        return _system_type(info) if info else None

    def _holds(self, item: Item, tests: list[tuple]) -> bool:
        for test in tests:
            if test[0] == "is":
                if _referenced_type(item.value) != test[1]:
                    return False
                continue
            _, path, literal = test
            values = [item]
            for name in path:
                values = self.member(values, name)
            plain = [v.value for v in values]
            # FHIRPath `=` compares whole collections: true only for exactly one equal item
            if len(plain) != 1 or not isinstance(plain[0], (str, bool, int, float)) or str(plain[0]) != literal:
                return False
        return True
